package ndjson_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/sink/ndjson"
)

// countCloser counts Close calls.
type countCloser struct{ n int }

func (c *countCloser) Close() error { c.n++; return nil }

// line is one NDJSON output line.
type line struct {
	Index  string          `json:"_index"`
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
}

// batchOf builds a batch whose document sources point into its Buf, as the
// processor builds them.
func batchOf(ack *event.Ack, docs ...[3]string) *pipeline.Batch {
	b := &pipeline.Batch{}
	var spans [][2]int
	for _, d := range docs {
		start := len(b.Buf)
		b.Buf = append(b.Buf, d[2]...)
		spans = append(spans, [2]int{start, len(b.Buf)})
	}
	for i, d := range docs {
		ack.Add(1)
		b.Docs = append(b.Docs, event.Document{Index: d[0], ID: d[1], Source: b.Buf[spans[i][0]:spans[i][1]], Ack: ack})
	}
	return b
}

func TestSinkWrite(t *testing.T) {
	tests := []struct {
		name string
		docs [][3]string // index, id, source
	}{
		{name: "one document", docs: [][3]string{{"log-aws-cloudtrail-2024-01", "id-1", `{"a":1}`}}},
		{name: "several documents", docs: [][3]string{
			{"log-aws-cloudtrail-2024-01", "id-1", `{"a":1,"b":{"c":[1,2]}}`},
			{"log-aws-vpcflowlogs-2024-01", "0123456789abcdef", `{"message":"x\ny"}`},
			{"log-aws-guardduty-2024-01", "abc_3", `{"s":"\u00e9\u65e5"}`},
		}},
		{name: "index and id that need escaping", docs: [][3]string{{`we"ird\index`, "id\twith\u0001controls", `{}`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := &countCloser{}
			s := ndjson.New(&buf, c)
			var resolved []event.Summary
			ack := event.NewAck(func(sum event.Summary) { resolved = append(resolved, sum) })
			b := batchOf(ack, tc.docs...)
			ack.Close()
			if len(resolved) != 0 {
				t.Fatalf("ack resolved before Write")
			}
			if err := s.Write(context.Background(), b); err != nil {
				t.Fatalf("Write: %v", err)
			}
			// Write flushes before acknowledging: the bytes are in buf now.
			if len(resolved) != 1 || resolved[0] != (event.Summary{Delivered: int64(len(tc.docs))}) {
				t.Errorf("after Write the ack resolved %v, want once with %d delivered", resolved, len(tc.docs))
			}
			out := buf.String()
			if int64(len(out)) != s.BytesWritten() {
				t.Errorf("BytesWritten = %d, buffer has %d bytes", s.BytesWritten(), len(out))
			}
			if !strings.HasSuffix(out, "\n") {
				t.Errorf("output does not end with a newline: %q", out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(tc.docs) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(tc.docs), out)
			}
			for i, l := range lines {
				if !json.Valid([]byte(l)) {
					t.Errorf("line %d is not valid JSON: %s", i+1, l)
					continue
				}
				var got line
				if err := json.Unmarshal([]byte(l), &got); err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if got.Index != tc.docs[i][0] || got.ID != tc.docs[i][1] {
					t.Errorf("line %d: _index/_id = %q/%q, want %q/%q", i+1, got.Index, got.ID, tc.docs[i][0], tc.docs[i][1])
				}
				if string(got.Source) != tc.docs[i][2] {
					t.Errorf("line %d: _source = %s, want %s", i+1, got.Source, tc.docs[i][2])
				}
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if c.n != 1 {
				t.Errorf("Close closed the output %d times, want 1", c.n)
			}
		})
	}
}

func TestSinkWriteManyBatches(t *testing.T) {
	var buf bytes.Buffer
	s := ndjson.New(&buf, nil)
	total := 0
	for i := range 50 {
		ack := event.NewAck(nil)
		var docs [][3]string
		for j := range i % 7 {
			docs = append(docs, [3]string{"idx", fmt.Sprintf("%d-%d", i, j), fmt.Sprintf(`{"n":%d,"pad":%q}`, j, strings.Repeat("x", 5000))})
		}
		total += len(docs)
		if err := s.Write(context.Background(), batchOf(ack, docs...)); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close with a nil closer: %v", err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("line %d is not valid JSON", n+1)
		}
		n++
	}
	if n != total {
		t.Errorf("got %d lines, want %d", n, total)
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSinkWriteErrorDoesNotAck(t *testing.T) {
	s := ndjson.New(failWriter{}, nil)
	resolved := false
	ack := event.NewAck(func(event.Summary) { resolved = true })
	b := batchOf(ack, [3]string{"idx", "1", `{}`})
	ack.Close()
	if err := s.Write(context.Background(), b); err == nil {
		t.Fatal("Write to a failing writer returned nil")
	}
	if resolved {
		t.Error("a document that was not written was acknowledged as delivered")
	}
}

func TestOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	s, err := ndjson.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ack := event.NewAck(nil)
	if err := s.Write(context.Background(), batchOf(ack, [3]string{"i", "d", `{"k":"v"}`})); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"_index":"i","_id":"d","_source":{"k":"v"}}` + "\n"; string(got) != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	if _, err := ndjson.Open(filepath.Join(t.TempDir(), "missing", "dir", "out.ndjson")); err == nil {
		t.Error("Open in a missing directory returned no error")
	}
}

// dlEntry is one dead-letter line.
type dlEntry struct {
	Bucket    string  `json:"bucket"`
	Key       string  `json:"key"`
	Path      string  `json:"path"`
	LogType   string  `json:"log_type"`
	Line      int     `json:"line"`
	Reason    string  `json:"reason"`
	Raw       *string `json:"raw"`
	RawBase64 *string `json:"raw_base64"`
}

func TestDeadLetter(t *testing.T) {
	tests := []struct {
		name       string
		raw        []byte
		wantBase64 bool
	}{
		{name: "plain JSON", raw: []byte(`{"a":1,"b":"x"}`)},
		{name: "UTF-8 with quotes, backslashes and controls", raw: []byte("日本\"語\\\x01\ttab\nnl")},
		{name: "empty raw", raw: nil},
		{name: "invalid UTF-8", raw: []byte{'o', 'k', 0xff, 0xfe, '"'}, wantBase64: true},
		{name: "truncated multi-byte rune", raw: []byte("abc\xe6\x97"), wantBase64: true},
	}
	path := filepath.Join(t.TempDir(), "dead.ndjson")
	d := ndjson.NewDeadLetter(path)
	if d.Path() != path {
		t.Errorf("Path() = %q, want %q", d.Path(), path)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dead-letter file exists before any failure (stat: %v)", err)
	}
	for i, tc := range tests {
		f := pipeline.Failure{
			Origin:  event.Origin{Bucket: "bkt", Key: "AWSLogs/k" + tc.name, Path: "/tmp/p"},
			LogType: "cloudtrail", Line: i + 1, Reason: "bad \"record\" " + tc.name, Raw: tc.raw,
		}
		if err := d.Add(f); err != nil {
			t.Fatalf("Add(%s): %v", tc.name, err)
		}
	}
	if n := d.Count(); n != int64(len(tests)) {
		t.Errorf("Count = %d, want %d", n, len(tests))
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("dead-letter file has %d lines, want %d:\n%s", len(lines), len(tests), data)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := lines[i]
			if !json.Valid([]byte(l)) {
				t.Fatalf("line is not valid JSON: %s", l)
			}
			var e dlEntry
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatal(err)
			}
			if e.Bucket != "bkt" || e.Key != "AWSLogs/k"+tc.name || e.Path != "/tmp/p" || e.LogType != "cloudtrail" || e.Line != i+1 {
				t.Errorf("entry = %+v", e)
			}
			if e.Reason != "bad \"record\" "+tc.name {
				t.Errorf("reason = %q", e.Reason)
			}
			switch {
			case tc.wantBase64:
				if e.Raw != nil || e.RawBase64 == nil {
					t.Fatalf("want only raw_base64, got raw=%v raw_base64=%v: %s", e.Raw != nil, e.RawBase64 != nil, l)
				}
				got, err := base64.StdEncoding.DecodeString(*e.RawBase64)
				if err != nil || !bytes.Equal(got, tc.raw) {
					t.Errorf("raw_base64 decodes to %q (%v), want %q", got, err, tc.raw)
				}
			default:
				if e.RawBase64 != nil || e.Raw == nil {
					t.Fatalf("want only raw, got raw=%v raw_base64=%v: %s", e.Raw != nil, e.RawBase64 != nil, l)
				}
				if *e.Raw != string(tc.raw) {
					t.Errorf("raw = %q, want %q", *e.Raw, tc.raw)
				}
			}
		})
	}
}

func TestDeadLetterNoFailuresNoFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.ndjson")
	d := ndjson.NewDeadLetter(path)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := d.Count(); n != 0 {
		t.Errorf("Count = %d, want 0", n)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dead-letter file was created although nothing failed (stat: %v)", err)
	}
}

func TestDeadLetterUnwritablePath(t *testing.T) {
	d := ndjson.NewDeadLetter(filepath.Join(t.TempDir(), "no", "such", "dir", "dead.ndjson"))
	if err := d.Add(pipeline.Failure{Reason: "x"}); err == nil {
		t.Error("Add with an unwritable path returned nil")
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close after a failed open: %v", err)
	}
}

func TestDeadLetterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.ndjson")
	d := ndjson.NewDeadLetter(path)
	const workers, per = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				raw := fmt.Appendf(nil, `{"w":%d,"i":%d,"pad":%q}`, w, i, strings.Repeat("y", 100*(i%5)))
				if err := d.Add(pipeline.Failure{LogType: "t", Line: i, Reason: "r", Raw: raw}); err != nil {
					t.Errorf("Add: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if n := d.Count(); n != workers*per {
		t.Errorf("Count = %d, want %d", n, workers*per)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen := map[string]bool{}
	for sc.Scan() {
		var e dlEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Raw == nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		seen[*e.Raw] = true
	}
	if len(seen) != workers*per {
		t.Errorf("file has %d distinct entries, want %d", len(seen), workers*per)
	}
}
