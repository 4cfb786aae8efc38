package opensearch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memDL is an in-memory dead letter.
type memDL struct {
	mu   sync.Mutex
	list []pipeline.Failure
	err  error
}

func (d *memDL) Add(f pipeline.Failure) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	f.Raw = append([]byte(nil), f.Raw...)
	d.list = append(d.list, f)
	return nil
}

func (d *memDL) entries() []pipeline.Failure {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]pipeline.Failure(nil), d.list...)
}

// tracker records how each document's ack ended.
type tracker struct {
	mu       sync.Mutex
	outcomes map[string][]event.Outcome
}

func newTracker() *tracker { return &tracker{outcomes: map[string][]event.Outcome{}} }

// ack returns a token for one document id that records its outcomes.
func (tr *tracker) ack(id string) *event.Ack {
	a := event.NewAck(func(s event.Summary) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for range s.Delivered {
			tr.outcomes[id] = append(tr.outcomes[id], event.Delivered)
		}
		for range s.DeadLettered {
			tr.outcomes[id] = append(tr.outcomes[id], event.DeadLettered)
		}
	})
	a.Add(1)
	a.Close()
	return a
}

func (tr *tracker) get() map[string][]event.Outcome {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make(map[string][]event.Outcome, len(tr.outcomes))
	for k, v := range tr.outcomes {
		out[k] = v
	}
	return out
}

// docs makes n documents for index, ids "<prefix>-<i>"; every tenth has a
// source.port string (for mapping rejections).
func docs(tr *tracker, index, prefix string, n int) []event.Document {
	out := make([]event.Document, 0, n)
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		src := fmt.Sprintf(`{"@timestamp":"2024-01-02T03:04:05Z","event":{"id":%q},"message":"document number %d %s"}`, id, i, strings.Repeat("x", i%50))
		if i%10 == 3 {
			src = fmt.Sprintf(`{"@timestamp":"2024-01-02T03:04:05Z","event":{"id":%q},"source":{"port":"p%d"}}`, id, i)
		}
		out = append(out, event.Document{Index: index, ID: id, Source: []byte(src), LogType: "test", Ack: tr.ack(id)})
	}
	return out
}

// load writes documents through a sink in batches of 100 and closes it.
func load(t *testing.T, cfg Config, dl pipeline.DeadLetter, ds []event.Document) (*Sink, error) {
	t.Helper()
	ctx := context.Background()
	s, err := New(ctx, cfg, dl, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for i := 0; i < len(ds); i += 100 {
		b := &pipeline.Batch{Docs: ds[i:min(i+100, len(ds))]}
		if err := s.Write(ctx, b); err != nil {
			_ = s.Close(ctx)
			return s, err
		}
	}
	return s, s.Close(ctx)
}

// fastRetries keeps tests quick.
func fastRetries(c Config) Config {
	c.InitialBackoff, c.MaxBackoff = time.Millisecond, 20*time.Millisecond
	return c
}

// checkExactlyOnce asserts every document ended exactly once, delivered
// documents are stored once (count by _id) and dead-lettered ones are not.
func checkExactlyOnce(t *testing.T, srv *opensearchtest.Server, tr *tracker, ds []event.Document, wantDead func(id string) bool) {
	t.Helper()
	out := tr.get()
	counts := srv.CountByID()
	for _, d := range ds {
		o := out[d.ID]
		if len(o) != 1 {
			t.Errorf("document %s ended %d times (%v), want once", d.ID, len(o), o)
			continue
		}
		dead := wantDead != nil && wantDead(d.ID)
		switch {
		case dead && o[0] != event.DeadLettered:
			t.Errorf("document %s: outcome %v, want dead-lettered", d.ID, o[0])
		case !dead && o[0] != event.Delivered:
			t.Errorf("document %s: outcome %v, want delivered", d.ID, o[0])
		}
		want := 1
		if dead {
			want = 0
		}
		if counts[d.ID] != want {
			t.Errorf("document %s stored %d times, want %d", d.ID, counts[d.ID], want)
		}
	}
	if n := srv.Count(); n > len(ds) {
		t.Errorf("server holds %d documents for %d sent", n, len(ds))
	}
}

func TestDeliver(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{})
	tr := newTracker()
	ds := docs(tr, "log-test-2024-01", "a", 2500)
	dl := &memDL{}
	cfg := Config{OpenSearch: opensearch.Config{URL: srv.URL()}, MaxBulkBytes: 64 << 10}
	s, err := load(t, cfg, dl, ds)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, srv, tr, ds, nil)
	st := s.Stats()
	if st.Delivered != 2500 || st.Requests < 3 || st.BytesSent >= st.BytesRaw {
		t.Errorf("stats %+v", st)
	}
	for _, r := range srv.WriteRequests() {
		if !r.Gzip || r.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Errorf("bulk request not gzip NDJSON: gzip %v, %v", r.Gzip, r.Header)
		}
		if len(r.Body) > 64<<10+1024 {
			t.Errorf("bulk body of %d bytes, limit 64 KiB", len(r.Body))
		}
	}
	if d := srv.Docs("log-test-2024-01")["a-7"]; string(d.Source) != string(ds[7].Source) {
		t.Errorf("stored source %s, want %s", d.Source, ds[7].Source)
	}
	if len(dl.entries()) != 0 {
		t.Errorf("dead letters: %+v", dl.entries())
	}
}

// TestFaults sends through 429 storms, 503s and reset connections: every
// document is delivered, once.
func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults opensearchtest.Faults
	}{
		{name: "30% items 429, 10% resets", faults: opensearchtest.Faults{Item429Rate: 0.3, ResetRate: 0.1}},
		{name: "resets after applying", faults: opensearchtest.Faults{ResetAfterRate: 0.3}},
		{name: "whole-request 503 and 429", faults: opensearchtest.Faults{Status503Rate: 0.2, Status429Rate: 0.2}},
		{name: "item 503 and latency", faults: opensearchtest.Faults{Item503Rate: 0.2, Latency: 5 * time.Millisecond}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := opensearchtest.New(t, opensearchtest.Options{Seed: uint64(i + 1), Faults: tc.faults})
			tr := newTracker()
			ds := docs(tr, "log-f", "f", 3000)
			dl := &memDL{}
			cfg := fastRetries(Config{OpenSearch: opensearch.Config{URL: srv.URL()}, MaxBulkBytes: 32 << 10, Concurrency: 4, MaxAttempts: 30})
			s, err := load(t, cfg, dl, ds)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, srv, tr, ds, nil)
			if len(dl.entries()) != 0 {
				t.Errorf("%d dead letters, first %+v", len(dl.entries()), dl.entries()[0])
			}
			if st := s.Stats(); st.Retried+st.RequestRetries == 0 {
				t.Errorf("no retries: %+v", st)
			}
		})
	}
}

// TestMappingErrors dead-letters exactly the documents whose field the
// cluster refuses, with OpenSearch's error, in a form that replays.
func TestMappingErrors(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{Faults: opensearchtest.Faults{Item429Rate: 0.2}})
	srv.MappingReject("source.port")
	tr := newTracker()
	ds := docs(tr, "log-m", "m", 500)
	dl := &memDL{}
	if _, err := load(t, fastRetries(Config{OpenSearch: opensearch.Config{URL: srv.URL()}, MaxBulkBytes: 16 << 10}), dl, ds); err != nil {
		t.Fatal(err)
	}
	isDead := func(id string) bool {
		var n int
		fmt.Sscanf(id, "m-%d", &n)
		return n%10 == 3
	}
	checkExactlyOnce(t, srv, tr, ds, isDead)
	entries := dl.entries()
	if len(entries) != 50 {
		t.Fatalf("%d dead letters, want 50", len(entries))
	}
	for _, e := range entries {
		if !strings.Contains(e.Reason, "HTTP 400 mapper_parsing_exception") || !strings.Contains(e.Reason, "source.port") {
			t.Errorf("reason %q lacks the mapping error", e.Reason)
		}
		if e.LogType != "test" || e.Origin.Key != "log-m" {
			t.Errorf("entry %+v: want log type test and key log-m", e)
		}
		d, err := ParseDocumentLine(e.Raw)
		if err != nil {
			t.Fatalf("dead letter not replayable: %v: %s", err, e.Raw)
		}
		if !isDead(d.ID) || d.Index != "log-m" || !strings.Contains(string(d.Source), `"port":"p`) {
			t.Errorf("replayed document %+v", d)
		}
	}
}

func TestRetryBudgetDeadLetters(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{Faults: opensearchtest.Faults{Item429Rate: 1}})
	tr := newTracker()
	ds := docs(tr, "log-b", "b", 50)
	dl := &memDL{}
	cfg := fastRetries(Config{OpenSearch: opensearch.Config{URL: srv.URL()}, MaxAttempts: 3})
	if _, err := load(t, cfg, dl, ds); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, srv, tr, ds, func(string) bool { return true })
	for _, e := range dl.entries() {
		if !strings.Contains(e.Reason, "gave up after 3 attempts") || !strings.Contains(e.Reason, "429") {
			t.Errorf("reason %q", e.Reason)
		}
	}
	if bulks := len(srv.WriteRequests()); bulks != 3 {
		t.Errorf("%d bulk requests, want 3 (one per attempt)", bulks)
	}
}

func TestRetryAfter(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{Faults: opensearchtest.Faults{Status429Rate: 1, RetryAfter: time.Second}})
	tr := newTracker()
	ds := docs(tr, "log-r", "r", 5)
	dl := &memDL{}
	start := time.Now()
	if _, err := load(t, fastRetries(Config{OpenSearch: opensearch.Config{URL: srv.URL()}, MaxAttempts: 2}), dl, ds); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, the server asked for 1s", d)
	}
	checkExactlyOnce(t, srv, tr, ds, func(string) bool { return true })
}

// TestSplit413 splits requests the cluster finds too large, and
// dead-letters a document that is too large alone.
func TestSplit413(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{MaxContentLength: 8 << 10})
	tr := newTracker()
	ds := docs(tr, "log-s", "s", 400)
	big := event.Document{Index: "log-s", ID: "big", Source: []byte(`{"m":"` + strings.Repeat("y", 10<<10) + `"}`), Ack: tr.ack("big")}
	ds = append(ds[:200], append([]event.Document{big}, ds[200:]...)...)
	dl := &memDL{}
	s, err := load(t, Config{OpenSearch: opensearch.Config{URL: srv.URL()}, MaxBulkBytes: 64 << 10}, dl, ds)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, srv, tr, ds, func(id string) bool { return id == "big" })
	if e := dl.entries(); len(e) != 1 || !strings.Contains(e[0].Reason, "413") {
		t.Errorf("dead letters %+v", e)
	}
	if s.Stats().Splits == 0 {
		t.Error("no splits")
	}
}

// TestReadOnlySuffix writes to <index>_01 (then _02) when the index is
// read-only, whether known at start or learnt from a refused write.
func TestReadOnlySuffix(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{})
	srv.ReadOnly("log-ro-2024-01", true)
	srv.ReadOnly("log-ro-2024-01_01", true)
	tr := newTracker()
	ds := docs(tr, "log-ro-2024-01", "ro", 30)
	if _, err := load(t, Config{OpenSearch: opensearch.Config{URL: srv.URL()}}, &memDL{}, ds); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Docs("log-ro-2024-01_02")); n != 30 {
		t.Errorf("log-ro-2024-01_02 holds %d documents, want 30 (indices %v)", n, srv.Indices())
	}
	checkExactlyOnce(t, srv, tr, ds, nil)

	// Learnt at run time: the block comes after the sink started.
	srv2 := opensearchtest.New(t, opensearchtest.Options{})
	ctx := context.Background()
	s, err := New(ctx, Config{OpenSearch: opensearch.Config{URL: srv2.URL()}}, &memDL{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv2.ReadOnly("log-late", true)
	tr2 := newTracker()
	ds2 := docs(tr2, "log-late", "late", 20)
	if err := s.Write(ctx, &pipeline.Batch{Docs: ds2}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv2.Docs("log-late_01")); n != 20 {
		t.Errorf("log-late_01 holds %d documents, want 20 (indices %v)", n, srv2.Indices())
	}
	checkExactlyOnce(t, srv2, tr2, ds2, nil)
}

func TestCreateConflictIsDuplicate(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{})
	tr := newTracker()
	ds := docs(tr, "log-c", "c", 20)
	cfg := Config{OpenSearch: opensearch.Config{URL: srv.URL()}, OpType: OpCreate}
	if _, err := load(t, cfg, &memDL{}, ds[:10]); err != nil {
		t.Fatal(err)
	}
	s, err := load(t, cfg, &memDL{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Duplicates != 10 || st.Delivered != 20 {
		t.Errorf("stats %+v, want 10 duplicates of 20 delivered", st)
	}
	for id, d := range srv.Docs("log-c") {
		if d.Version != 1 {
			t.Errorf("%s written %d times with create", id, d.Version)
		}
	}
}

func TestWriteAliases(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{})
	tr := newTracker()
	ds := docs(tr, "log-auto", "w", 10)
	if _, err := load(t, Config{OpenSearch: opensearch.Config{URL: srv.URL()}, WriteAliases: []string{"log-auto"}}, &memDL{}, ds); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Docs("log-auto-000001")); n != 10 {
		t.Errorf("log-auto-000001 holds %d documents (indices %v)", n, srv.Indices())
	}
	// A second start leaves the existing alias alone.
	if _, err := load(t, Config{OpenSearch: opensearch.Config{URL: srv.URL()}, WriteAliases: []string{"log-auto"}}, &memDL{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := srv.Indices(); len(got) != 1 {
		t.Errorf("indices %v", got)
	}
}

func TestServerlessTimeSeries(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{})
	tr := newTracker()
	ds := docs(tr, "log-ts", "ts", 10)
	ctx := context.Background()
	s, err := New(ctx, Config{OpenSearch: opensearch.Config{URL: srv.URL()}, ServerlessTimeSeries: true, FlushInterval: 50 * time.Millisecond}, &memDL{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, &pipeline.Batch{Docs: ds}); err != nil {
		t.Fatal(err)
	}
	// The flush interval sends them.
	for deadline := time.Now().Add(10 * time.Second); srv.Count() < 10 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	for deadline := time.Now().Add(10 * time.Second); s.Stats().Delivered < 10 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	tr2 := newTracker()
	again := docs(tr2, "log-ts", "ts", 10)
	if err := s.Write(ctx, &pipeline.Batch{Docs: again}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(); n != 10 {
		t.Errorf("%d documents stored, want 10 (the second send is skipped in-process)", n)
	}
	for _, r := range srv.WriteRequests() {
		if strings.Contains(string(r.Body), `"_id"`) {
			t.Errorf("an _id was sent to a time-series collection: %.200s", r.Body)
		}
	}
	if st := s.Stats(); st.Duplicates != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestFlushInterval(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{})
	tr := newTracker()
	ds := docs(tr, "log-i", "i", 5)
	ctx := context.Background()
	s, err := New(ctx, Config{OpenSearch: opensearch.Config{URL: srv.URL()}, FlushInterval: 50 * time.Millisecond}, &memDL{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.Write(ctx, &pipeline.Batch{Docs: ds}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Count() < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Count() != 5 {
		t.Fatalf("%d documents after the flush interval, want 5", srv.Count())
	}
}

// TestRefusedIsFatal stops on an authentication failure and leaves the
// documents unresolved for their source to keep.
func TestRefusedIsFatal(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{BasicAuth: "u:right"})
	ctx := context.Background()
	if _, err := New(ctx, Config{OpenSearch: opensearch.Config{URL: srv.URL(), Username: "u", Password: "wrong"}}, &memDL{}, nil); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("New with bad credentials: %v", err)
	}
	tr := newTracker()
	ds := docs(tr, "log-x", "x", 10)
	cfg := Config{OpenSearch: opensearch.Config{URL: srv.URL(), Username: "u", Password: "wrong"}, NoReadOnlyCheck: true}
	_, err := load(t, cfg, &memDL{}, ds)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("load: %v, want a 401 error", err)
	}
	if n := len(tr.get()); n != 0 {
		t.Errorf("%d documents resolved after a refused request", n)
	}
}

// TestDeadLetterFailureIsFatal: a document that can be neither delivered
// nor kept stops the sink unresolved.
func TestDeadLetterFailureIsFatal(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{})
	srv.MappingReject("source.port")
	tr := newTracker()
	ds := docs(tr, "log-d", "d", 20)
	_, err := load(t, Config{OpenSearch: opensearch.Config{URL: srv.URL()}}, &memDL{err: fmt.Errorf("disk full")}, ds)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("load: %v", err)
	}
	for id, o := range tr.get() {
		if o[0] != event.Delivered {
			t.Errorf("%s: %v", id, o)
		}
	}
}

func TestCloseAbandonsOnDeadline(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{Faults: opensearchtest.Faults{Latency: 2 * time.Second}})
	ctx := context.Background()
	s, err := New(ctx, Config{OpenSearch: opensearch.Config{URL: srv.URL()}, NoReadOnlyCheck: true}, &memDL{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var resolved atomic.Int64
	a := event.NewAck(func(event.Summary) { resolved.Add(1) })
	a.Add(1)
	a.Close()
	if err := s.Write(ctx, &pipeline.Batch{Docs: []event.Document{{Index: "log-z", ID: "1", Source: []byte(`{}`), Ack: a}}}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Close(cctx); err == nil {
		t.Error("Close returned no error on its deadline")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if resolved.Load() != 0 {
		t.Error("an abandoned document was resolved")
	}
}

func TestInvalidDocuments(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{})
	tr := newTracker()
	ds := []event.Document{
		{Index: "log-v", ID: "empty", Source: nil, Ack: tr.ack("empty")},
		{Index: "log-v", ID: "pretty", Source: []byte("{\n  \"a\": 1\n}"), Ack: tr.ack("pretty")},
		{Index: "log-v", ID: "broken", Source: []byte("{\n  \"a\": "), Ack: tr.ack("broken")},
		{Index: "log-v", ID: "notjson", Source: []byte("{nope}"), Ack: tr.ack("notjson")},
	}
	dl := &memDL{}
	if _, err := load(t, Config{OpenSearch: opensearch.Config{URL: srv.URL()}}, dl, ds); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, srv, tr, ds, func(id string) bool { return id != "pretty" })
	if got := string(srv.Docs("log-v")["pretty"].Source); got != `{"a":1}` {
		t.Errorf("pretty document stored as %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Config
		wantErr string
	}{
		{name: "defaults", in: Config{}},
		{name: "op", in: Config{OpType: "update"}, wantErr: "op type"},
		{name: "negative", in: Config{Concurrency: -1}, wantErr: "concurrency"},
		{name: "small bulk", in: Config{MaxBulkBytes: 10}, wantErr: "1024"},
		{name: "backoff", in: Config{InitialBackoff: time.Minute, MaxBackoff: time.Second}, wantErr: "backoff"},
		{name: "alias", in: Config{WriteAliases: []string{""}}, wantErr: "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil || c.MaxBulkBytes != DefaultMaxBulkBytes || c.OpType != OpIndex {
					t.Errorf("%v %+v", err, c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// stub answers bulk requests with fn(body) and everything else with {}.
func stub(t *testing.T, fn func(body string) (int, string)) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(200)
			w.Write([]byte(`{}`))
			return
		}
		b, _ := io.ReadAll(zr)
		status, out := fn(string(b))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(out))
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// okItems answers every item of a bulk body with 201.
func okItems(body string) string {
	n := strings.Count(body, "\n") / 2
	return `{"errors":false,"items":[` + strings.TrimSuffix(strings.Repeat(`{"index":{"status":201}},`, n), ",") + `]}`
}

func TestWholeRequestRefusals(t *testing.T) {
	tests := []struct {
		name     string
		fn       func(string) (int, string)
		wantErr  string
		wantDead []string
	}{
		{
			name: "400 without an OpenSearch error stops",
			fn: func(string) (int, string) {
				return 400, `{"error":"no handler found for uri [/_bulk] and method [POST]","status":400}`
			},
			wantErr: "no handler found",
		},
		{
			name: "400 for a malformed line splits down to the document",
			fn: func(body string) (int, string) {
				if strings.Contains(body, "BAD") {
					return 400, `{"error":{"type":"illegal_argument_exception","reason":"Malformed content, found extra data after parsing: START_OBJECT"},"status":400}`
				}
				return 200, okItems(body)
			},
			wantDead: []string{"q-5"},
		},
		{
			name: "403 security_exception on items stops",
			fn: func(body string) (int, string) {
				n := strings.Count(body, "\n") / 2
				return 200, `{"errors":true,"items":[` + strings.TrimSuffix(strings.Repeat(`{"index":{"status":403,"error":{"type":"security_exception","reason":"no permissions for [indices:data/write/bulk[s]]"}}},`, n), ",") + `]}`
			},
			wantErr: "security_exception",
		},
		{
			name: "unreadable answer is retried, then dead-lettered",
			fn: func(string) (int, string) {
				return 200, `{"errors":true,"items":[`
			},
			wantDead: []string{"q-0", "q-1", "q-2", "q-3", "q-4", "q-5", "q-6", "q-7"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := stub(t, tc.fn)
			tr := newTracker()
			ds := docs(tr, "log-q", "q", 8)
			ds[5].Source = []byte(`{"BAD":1}`)
			dl := &memDL{}
			cfg := fastRetries(Config{OpenSearch: opensearch.Config{URL: url}, NoReadOnlyCheck: true, MaxAttempts: 3})
			_, err := load(t, cfg, dl, ds)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if n := len(tr.get()); n != 0 {
					t.Errorf("%d documents resolved", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var dead []string
			for _, e := range dl.entries() {
				d, _ := ParseDocumentLine(e.Raw)
				dead = append(dead, d.ID)
			}
			sort.Strings(dead)
			if strings.Join(dead, ",") != strings.Join(tc.wantDead, ",") {
				t.Errorf("dead-lettered %v, want %v", dead, tc.wantDead)
			}
			if got := len(tr.get()); got != len(ds) {
				t.Errorf("%d of %d documents resolved", got, len(ds))
			}
		})
	}
}

func TestConfigFromURL(t *testing.T) {
	env := map[string]string{"ENDPOINT": "search-x.us-east-1.aoss.amazonaws.com", "AOSS_TYPE": "TIMESERIES"}
	c := ConfigFromURL("", func(k string) string { return env[k] })
	if c.OpenSearch.URL != env["ENDPOINT"] || !c.ServerlessTimeSeries {
		t.Errorf("got %+v", c)
	}
	if c := ConfigFromURL("http://h:9200", func(string) string { return "" }); c.OpenSearch.URL != "http://h:9200" || c.ServerlessTimeSeries {
		t.Errorf("got %+v", c)
	}
}
