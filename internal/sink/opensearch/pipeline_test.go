package opensearch_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/sink/ndjson"
	ossink "github.com/vigil-siem/vigil/internal/sink/opensearch"
	"github.com/vigil-siem/vigil/internal/source/file"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

// writeCloudTrail writes a CloudTrail object of n records under a bucket
// directory and returns the directory and the event ids of the records
// that have requestParameters.bucketName.
func writeCloudTrail(t *testing.T, n int) (string, map[string]bool) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "bucket")
	dir := filepath.Join(root, "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	withField := map[string]bool{}
	var recs []map[string]any
	for i := range n {
		id := fmt.Sprintf("ev-%05d", i)
		r := map[string]any{
			"eventVersion": "1.08", "eventTime": fmt.Sprintf("2024-01-02T03:%02d:%02dZ", i/60%60, i%60),
			"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1",
			"sourceIPAddress": fmt.Sprintf("203.0.113.%d", i%250), "userAgent": "aws-cli/2.15.0",
			"eventID": id, "recipientAccountId": "123456789012",
			"userIdentity": map[string]any{"type": "IAMUser", "userName": fmt.Sprintf("user%d", i%7)},
		}
		if i%9 == 4 {
			r["requestParameters"] = map[string]any{"bucketName": fmt.Sprintf("b%d", i), "key": "a/b.txt"}
			withField[id] = true
		}
		recs = append(recs, r)
	}
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "123456789012_CloudTrail_us-east-1_20240102T0000Z_x.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return root, withField
}

// run loads paths through proc into an OpenSearch sink as vigil load does,
// and returns the documents delivered and dead-lettered per the ack
// summaries.
func run(t *testing.T, srv *opensearchtest.Server, dl pipeline.DeadLetter, newProc func() pipeline.Processor, paths ...string) (delivered, dead int64) {
	t.Helper()
	ctx := context.Background()
	cfg := ossink.Config{OpenSearch: opensearch.Config{URL: srv.URL()}, MaxBulkBytes: 64 << 10, Concurrency: 3,
		InitialBackoff: 1e6, MaxBackoff: 2e7, MaxAttempts: 40}
	sink, err := ossink.New(ctx, cfg, dl, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	src := &file.Source{Paths: paths, NewAck: func(event.Origin) *event.Ack {
		return event.NewAck(func(s event.Summary) {
			mu.Lock()
			defer mu.Unlock()
			delivered += s.Delivered
			dead += s.DeadLettered
		})
	}}
	if err := pipeline.Run(ctx, pipeline.Config{Workers: 2}, src, newProc, sink, nil); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return delivered, dead
}

func objectProcessor(t *testing.T, dl pipeline.DeadLetter) func() pipeline.Processor {
	reg, err := logtype.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &pipeline.ObjectConfig{Registry: reg, Scripts: map[string]normalize.Script{"cloudtrail": cloudtrail.Script{}}, DeadLetter: dl}
	return func() pipeline.Processor { return pipeline.NewObjectProcessor(cfg) }
}

// TestLoadThroughFaults: 30% of items answered 429 and 10% of connections
// reset; every document is delivered exactly once.
func TestLoadThroughFaults(t *testing.T) {
	root, _ := writeCloudTrail(t, 3000)
	srv := opensearchtest.New(t, opensearchtest.Options{Seed: 42, Faults: opensearchtest.Faults{Item429Rate: 0.3, ResetRate: 0.1}})
	dl := ndjson.NewDeadLetter(filepath.Join(t.TempDir(), "dead.ndjson"))
	delivered, dead := run(t, srv, dl, objectProcessor(t, dl), root)
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	if delivered != 3000 || dead != 0 || dl.Count() != 0 {
		t.Errorf("delivered %d, dead-lettered %d (file %d), want 3000 and 0", delivered, dead, dl.Count())
	}
	counts := srv.CountByID()
	for i := range 3000 {
		if id := fmt.Sprintf("ev-%05d", i); counts[id] != 1 {
			t.Errorf("%s stored %d times", id, counts[id])
		}
	}
	if srv.Count() != 3000 {
		t.Errorf("server holds %d documents", srv.Count())
	}
}

// TestLoadMappingRejectAndReplay: a cluster refusing one field's mapping
// dead-letters exactly the documents with that field, with the error;
// replaying the dead-letter file into a cluster that accepts the field
// delivers them with the same index and id.
func TestLoadMappingRejectAndReplay(t *testing.T) {
	root, withField := writeCloudTrail(t, 900)
	srv := opensearchtest.New(t, opensearchtest.Options{})
	srv.MappingReject("requestParameters.bucketName")
	deadPath := filepath.Join(t.TempDir(), "dead.ndjson")
	dl := ndjson.NewDeadLetter(deadPath)
	delivered, dead := run(t, srv, dl, objectProcessor(t, dl), root)
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	if int(dead) != len(withField) || int(delivered) != 900-len(withField) {
		t.Errorf("delivered %d, dead-lettered %d; want %d dead-lettered", delivered, dead, len(withField))
	}
	f, err := os.Open(deadPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	got := map[string]bool{}
	for sc.Scan() {
		var e struct {
			LogType string `json:"log_type"`
			Reason  string `json:"reason"`
			Raw     string `json:"raw"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.LogType != "cloudtrail" || !strings.Contains(e.Reason, "mapper_parsing_exception") || !strings.Contains(e.Reason, "requestParameters.bucketName") {
			t.Errorf("entry log_type %q reason %q", e.LogType, e.Reason)
		}
		d, err := ossink.ParseDocumentLine([]byte(e.Raw))
		if err != nil {
			t.Fatal(err)
		}
		got[d.ID] = true
	}
	for id := range withField {
		if !got[id] {
			t.Errorf("%s has the field but was not dead-lettered", id)
		}
		if srv.CountByID()[id] != 0 {
			t.Errorf("%s has the field but was stored", id)
		}
	}
	if len(got) != len(withField) {
		t.Errorf("%d dead-lettered, want %d", len(got), len(withField))
	}

	// Replay the file into a cluster that takes the field.
	srv2 := opensearchtest.New(t, opensearchtest.Options{Faults: opensearchtest.Faults{Item429Rate: 0.3}})
	dl2 := ndjson.NewDeadLetter(filepath.Join(t.TempDir(), "dead2.ndjson"))
	delivered, dead = run(t, srv2, dl2, func() pipeline.Processor { return &ossink.DocumentProcessor{DeadLetter: dl2} }, deadPath)
	dl2.Close()
	if int(delivered) != len(withField) || dead != 0 {
		t.Errorf("replay: delivered %d, dead %d, want %d and 0", delivered, dead, len(withField))
	}
	for id := range withField {
		if srv2.CountByID()[id] != 1 {
			t.Errorf("replay: %s stored %d times", id, srv2.CountByID()[id])
		}
	}
	for _, ix := range srv2.Indices() {
		if !strings.HasPrefix(ix, "log-aws-cloudtrail-") {
			t.Errorf("replay wrote to index %s", ix)
		}
	}
}

// hasField reports whether a JSON document has a dotted path (nested
// objects or dotted keys).
func hasField(doc []byte, field string) bool {
	var m map[string]any
	if json.Unmarshal(doc, &m) != nil {
		return false
	}
	var find func(m map[string]any, f string) bool
	find = func(m map[string]any, f string) bool {
		if _, ok := m[f]; ok {
			return true
		}
		for i := range len(f) {
			if f[i] == '.' {
				if sub, ok := m[f[:i]].(map[string]any); ok && find(sub, f[i+1:]) {
					return true
				}
			}
		}
		return false
	}
	return find(m, field)
}
