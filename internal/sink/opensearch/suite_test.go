package opensearch_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/pipeline"
	ossink "github.com/vigil-siem/vigil/internal/sink/opensearch"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

// The suite below runs against the in-process server in every test run and
// against a real cluster with the live build tag (live_test.go). It checks
// through the REST API only, so both answer the same questions.

// suiteDL is an in-memory dead letter.
type suiteDL struct {
	mu   sync.Mutex
	list []pipeline.Failure
}

func (d *suiteDL) Add(f pipeline.Failure) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f.Raw = append([]byte(nil), f.Raw...)
	d.list = append(d.list, f)
	return nil
}

// outcomes records how each document's ack ended.
type outcomes struct {
	mu sync.Mutex
	m  map[string][]event.Outcome
}

func (o *outcomes) ack(id string) *event.Ack {
	a := event.NewAck(func(s event.Summary) {
		o.mu.Lock()
		defer o.mu.Unlock()
		for range s.Delivered {
			o.m[id] = append(o.m[id], event.Delivered)
		}
		for range s.DeadLettered {
			o.m[id] = append(o.m[id], event.DeadLettered)
		}
	})
	a.Add(1)
	a.Close()
	return a
}

// suiteDocs makes n documents for index; with conflict, those with
// i%10 == 3 carry source.port as a string where the others have a number.
func suiteDocs(o *outcomes, index, prefix string, n int, conflict bool) []event.Document {
	out := make([]event.Document, n)
	for i := range out {
		id := fmt.Sprintf("%s-%05d", prefix, i)
		src := fmt.Sprintf(`{"@timestamp":"2024-01-02T03:04:05Z","event":{"id":%q},"source":{"port":%d},"message":"live suite document %d"}`, id, 1000+i, i)
		if conflict && i%10 == 3 {
			src = fmt.Sprintf(`{"@timestamp":"2024-01-02T03:04:05Z","event":{"id":%q},"source":{"port":"p%d"}}`, id, i)
		}
		out[i] = event.Document{Index: index, ID: id, Source: []byte(src), LogType: "suite", Ack: o.ack(id)}
	}
	return out
}

// suiteTarget is a cluster the suite runs against.
type suiteTarget struct {
	conn opensearch.Config
	// prefix starts every index the suite creates; all are deleted after.
	prefix string
	// proxy, when set, returns a fault-injecting proxy URL in front of the
	// cluster (not with SigV4).
	proxy func(t *testing.T, f opensearchtest.Faults) string
}

// suiteLoad writes documents through a new sink and closes it.
func suiteLoad(t *testing.T, cfg ossink.Config, dl pipeline.DeadLetter, ds []event.Document) *ossink.Sink {
	t.Helper()
	ctx := context.Background()
	s, err := ossink.New(ctx, cfg, dl, nil)
	if err != nil {
		t.Fatalf("sink: %v", err)
	}
	for i := 0; i < len(ds); i += 250 {
		if err := s.Write(ctx, &pipeline.Batch{Docs: ds[i:min(i+250, len(ds))]}); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	return s
}

// countByID asks the cluster how many documents each id has across the
// indices matching pattern.
func countByID(t *testing.T, c *opensearch.Client, pattern string, ids []string) map[string]int {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Do(ctx, http.MethodPost, "/"+pattern+"/_refresh", nil, nil); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	out := map[string]int{}
	for i := 0; i < len(ids); i += 500 {
		part := ids[i:min(i+500, len(ids))]
		var res struct {
			Hits struct {
				Hits []struct {
					ID string `json:"_id"`
				} `json:"hits"`
			} `json:"hits"`
		}
		q := map[string]any{"size": 4 * len(part), "_source": false, "query": map[string]any{"ids": map[string]any{"values": part}}}
		if err := c.DoJSON(ctx, http.MethodPost, "/"+pattern+"/_search", q, &res); err != nil {
			t.Fatalf("search: %v", err)
		}
		for _, h := range res.Hits.Hits {
			out[h.ID]++
		}
	}
	return out
}

// expectOnce checks every document ended once, delivered ones are stored
// once, dead-lettered ones not at all.
func expectOnce(t *testing.T, c *opensearch.Client, pattern string, o *outcomes, ds []event.Document, dead func(i int) bool) {
	t.Helper()
	ids := make([]string, len(ds))
	for i := range ds {
		ids[i] = ds[i].ID
	}
	counts := countByID(t, c, pattern, ids)
	o.mu.Lock()
	defer o.mu.Unlock()
	bad := 0
	for i, d := range ds {
		want, wantN := event.Delivered, 1
		if dead != nil && dead(i) {
			want, wantN = event.DeadLettered, 0
		}
		got := o.m[d.ID]
		if len(got) != 1 || got[0] != want || counts[d.ID] != wantN {
			bad++
			if bad <= 10 {
				t.Errorf("%s: outcomes %v stored %d; want %v stored %d", d.ID, got, counts[d.ID], want, wantN)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d documents wrong in all", bad)
	}
}

// runSuite runs the sink assertions against a target.
func runSuite(t *testing.T, tg suiteTarget) {
	ctx := context.Background()
	c, err := opensearch.New(ctx, tg.conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Cleanup(func() { cleanup(t, tg) })
	fast := func(cfg ossink.Config) ossink.Config {
		cfg.InitialBackoff, cfg.MaxBackoff, cfg.MaxAttempts = 5*time.Millisecond, 200*time.Millisecond, 40
		cfg.MaxBulkBytes = 32 << 10
		cfg.Concurrency = 3
		return cfg
	}
	p := tg.prefix

	t.Run("deliver", func(t *testing.T) {
		o := &outcomes{m: map[string][]event.Outcome{}}
		ds := suiteDocs(o, p+"-deliver", "d", 2000, false)
		dl := &suiteDL{}
		suiteLoad(t, fast(ossink.Config{OpenSearch: tg.conn}), dl, ds)
		expectOnce(t, c, p+"-deliver*", o, ds, nil)
	})

	if tg.proxy != nil {
		t.Run("faults", func(t *testing.T) {
			url := tg.proxy(t, opensearchtest.Faults{Item429Rate: 0.3, ResetRate: 0.1, ResetAfterRate: 0.05, Status503Rate: 0.05})
			o := &outcomes{m: map[string][]event.Outcome{}}
			ds := suiteDocs(o, p+"-faults", "f", 2000, false)
			conn := tg.conn
			conn.URL = url
			dl := &suiteDL{}
			s := suiteLoad(t, fast(ossink.Config{OpenSearch: conn, NoReadOnlyCheck: true}), dl, ds)
			expectOnce(t, c, p+"-faults*", o, ds, nil)
			if st := s.Stats(); st.Retried == 0 || st.RequestRetries == 0 {
				t.Errorf("no retries through the faults: %+v", st)
			}
		})
	}

	t.Run("mapping", func(t *testing.T) {
		ix := p + "-mapping"
		mapping := map[string]any{"mappings": map[string]any{"properties": map[string]any{
			"source": map[string]any{"properties": map[string]any{"port": map[string]any{"type": "long"}}}}}}
		if err := c.DoJSON(ctx, http.MethodPut, "/"+ix, mapping, nil); err != nil {
			t.Fatal(err)
		}
		o := &outcomes{m: map[string][]event.Outcome{}}
		ds := suiteDocs(o, ix, "m", 500, true)
		dl := &suiteDL{}
		suiteLoad(t, fast(ossink.Config{OpenSearch: tg.conn}), dl, ds)
		dead := func(i int) bool { return i%10 == 3 }
		expectOnce(t, c, ix+"*", o, ds, dead)
		if len(dl.list) != 50 {
			t.Errorf("%d dead letters, want 50", len(dl.list))
		}
		for _, f := range dl.list {
			d, err := ossink.ParseDocumentLine(f.Raw)
			if err != nil || !strings.Contains(f.Reason, "mapper_parsing_exception") || f.LogType != "suite" || d.Index != ix {
				t.Errorf("dead letter %q (%s): %v %+v", f.Reason, f.Raw, err, d)
			}
		}
	})

	t.Run("read-only", func(t *testing.T) {
		ix := p + "-ro"
		if err := c.DoJSON(ctx, http.MethodPut, "/"+ix, map[string]any{}, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.DoJSON(ctx, http.MethodPut, "/"+ix+"/_settings", map[string]any{"index.blocks.write": true}, nil); err != nil {
			t.Fatal(err)
		}
		o := &outcomes{m: map[string][]event.Outcome{}}
		ds := suiteDocs(o, ix, "r", 100, false)
		for i := range ds {
			ds[i].Source = []byte(fmt.Sprintf(`{"n":%d}`, i))
		}
		suiteLoad(t, fast(ossink.Config{OpenSearch: tg.conn}), &suiteDL{}, ds)
		expectOnce(t, c, ix+"_01", o, ds, nil)
	})

	t.Run("create duplicates", func(t *testing.T) {
		ix := p + "-create"
		o := &outcomes{m: map[string][]event.Outcome{}}
		ds := suiteDocs(o, ix, "c", 100, false)
		for i := range ds {
			ds[i].Source = []byte(fmt.Sprintf(`{"n":%d}`, i))
		}
		cfg := fast(ossink.Config{OpenSearch: tg.conn, OpType: ossink.OpCreate})
		suiteLoad(t, cfg, &suiteDL{}, ds[:50])
		o2 := &outcomes{m: map[string][]event.Outcome{}}
		again := suiteDocs(o2, ix, "c", 100, false)
		for i := range again {
			again[i].Source = ds[i].Source
		}
		s := suiteLoad(t, cfg, &suiteDL{}, again)
		if st := s.Stats(); st.Duplicates != 50 || st.Delivered != 100 {
			t.Errorf("stats %+v, want 50 duplicates of 100", st)
		}
		expectOnce(t, c, ix+"*", o2, again, nil)
	})
}

// cleanup deletes the suite's indices, lifting write blocks first.
func cleanup(t *testing.T, tg suiteTarget) {
	ctx := context.Background()
	c, err := opensearch.New(ctx, tg.conn, nil)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer c.Close()
	var rows []struct {
		Index string `json:"index"`
	}
	if err := c.DoJSON(ctx, http.MethodGet, "/_cat/indices/"+tg.prefix+"-*?format=json", nil, &rows); err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, r := range rows {
		_ = c.DoJSON(ctx, http.MethodPut, "/"+r.Index+"/_settings", map[string]any{"index.blocks.write": false}, nil)
		if err := c.DoJSON(ctx, http.MethodDelete, "/"+r.Index, nil, nil); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// TestSuiteInProcess runs the suite against the in-process server, with
// the fault proxy in front of a second one.
func TestSuiteInProcess(t *testing.T) {
	srv := opensearchtest.New(t, opensearchtest.Options{DynamicMapping: true})
	runSuite(t, suiteTarget{
		conn:   opensearch.Config{URL: srv.URL()},
		prefix: "vigil-suite",
		proxy: func(t *testing.T, f opensearchtest.Faults) string {
			return opensearchtest.NewProxy(t, srv.URL(), 3, f, nil).URL()
		},
	})
}
