//go:build cgo

package duckdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/store"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("VIGIL_LOCK_HELPER_DIR"); dir != "" {
		lockHelper(dir)
		return
	}
	goleak.VerifyTestMain(m)
}

// testLogger logs to the test.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// openAt opens the store in dir (two DuckDB threads unless opts says);
// the caller closes it, and may open the directory again.
func openAt(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	if opts.Threads == 0 {
		opts.Threads = 2
	}
	db, err := Open(context.Background(), dir, opts, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// openTest opens a store in a temporary directory, closed at the end of
// the test.
func openTest(t testing.TB, opts Options) *DB {
	t.Helper()
	db := openAt(t, t.TempDir(), opts)
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// at is 2026-01-10 00:00 UTC in epoch ms, the test documents' base time.
var at = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC).UnixMilli()

// fixture returns a small, hand-made set of documents.
func fixture() []store.Doc {
	doc := func(id, lt string, ts int64, src string) store.Doc {
		return store.Doc{ID: id, Index: "log-" + lt + "-2026-01", LogType: lt, TimestampMs: ts, Source: []byte(src)}
	}
	return []store.Doc{
		doc("ct1", "cloudtrail", at, `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","@message":"{\"eventName\": \"ConsoleLogin\", \"note\": \"Access DENIED\"}","@timestamp":"2026-01-10T00:00:00Z","event":{"action":"ConsoleLogin","module":"signin.amazonaws.com","outcome":"failure","category":["authentication"]},"cloud":{"region":"us-east-1","account":{"id":"111122223333"}},"source":{"ip":"198.51.100.7","geo":{"country_iso_code":"DE"}},"user":{"name":"alice"},"related":{"ip":["198.51.100.7"]},"requestParameters":{"items":[{"instanceId":"i-1"},{"instanceId":"i-2"}]}}`),
		doc("ct2", "cloudtrail", at+60_000, `{"eventName":"AssumeRole","eventSource":"sts.amazonaws.com","@message":"AssumeRole by bob","event":{"action":"AssumeRole","module":"sts.amazonaws.com","outcome":"success"},"cloud":{"region":"eu-west-1","account":{"id":"111122223333"}},"source":{"ip":"10.1.2.3"},"user":{"name":"bob"},"related":{"ip":["10.1.2.3"]}}`),
		doc("ct3", "cloudtrail", at+120_000, `{"eventName":"ConsoleLogin","@message":"ConsoleLogin by carol","event":{"action":"ConsoleLogin","outcome":"success"},"cloud":{"region":"us-east-1"},"source":{"ip":"2001:db8::1"},"user":{"name":"carol"}}`),
		doc("vpc1", "vpcflowlogs", at+30_000, `{"@message":"2 123 eni-1 10.0.0.5 203.0.113.9 443 51000 6 10 8400 1 2 ACCEPT OK","event":{"action":"ACCEPT","outcome":"success"},"source":{"ip":"10.0.0.5","port":443,"bytes":8400},"destination":{"ip":"203.0.113.9","port":"51000","geo":{"country_iso_code":"US"}},"network":{"bytes":8400,"packets":10},"related":{"ip":["10.0.0.5","203.0.113.9"]}}`),
		doc("vpc2", "vpcflowlogs", at+90_000, `{"@message":"2 123 eni-1 10.0.0.6 203.0.113.9 22 52000 6 1 40 1 2 REJECT OK","event":{"action":"REJECT","outcome":"failure"},"source":{"ip":"10.0.0.6","port":22,"bytes":40},"destination":{"ip":"203.0.113.9","port":52000},"network":{"bytes":40,"packets":1}}`),
	}
}

func TestWriteUpsertsByID(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	docs := fixture()
	for range 2 {
		if err := db.Write(ctx, docs); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, store.Filter{}); n != int64(len(docs)) {
		t.Fatalf("after writing twice: %d documents, want %d", n, len(docs))
	}
	// A changed document replaces the stored one; duplicates within one
	// call keep the last.
	changed := docs[1]
	changed.Source = []byte(`{"event":{"action":"AssumeRoleWithSAML"},"@message":"changed"}`)
	first := changed
	first.Source = []byte(`{"event":{"action":"ignored"}}`)
	if err := db.Write(ctx, []store.Doc{first, changed}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, store.Filter{}); n != int64(len(docs)) {
		t.Fatalf("after replacing: %d documents, want %d", n, len(docs))
	}
	h, err := db.Get(ctx, "ct2")
	if err != nil {
		t.Fatal(err)
	}
	if string(h.Source) != string(changed.Source) {
		t.Fatalf("Get after replace = %s, want %s", h.Source, changed.Source)
	}
	if n := count(t, db, store.Filter{Query: "event.action:AssumeRole"}); n != 0 {
		t.Fatalf("the replaced document still matches its old action (%d)", n)
	}
}

func count(t testing.TB, db *DB, f store.Filter) int64 {
	t.Helper()
	r, err := db.Aggregate(context.Background(), store.AggRequest{Filter: f, Kind: store.AggCount})
	if err != nil {
		t.Fatal(err)
	}
	return int64(r.Value)
}

func TestUpsertAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for range 2 {
		db, err := Open(ctx, dir, Options{Threads: 2}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, fixture()); err != nil {
			t.Fatal(err)
		}
		n := count(t, db, store.Filter{})
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if n != int64(len(fixture())) {
			t.Fatalf("%d documents after reopening and writing again, want %d", n, len(fixture()))
		}
	}
}

func TestGetRestoresTheDocument(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	docs := append(fixture(),
		store.Doc{ID: "last", Index: "x", LogType: "x", Source: []byte(`{"a":1,"@message":"at the end"}`)},
		store.Doc{ID: "only", Index: "x", LogType: "x", Source: []byte(`{"@message":"alone \"quoted\" \\ tab\t nl\n ctl\u0001 é"}`)},
		store.Doc{ID: "none", Index: "x", LogType: "x", Source: []byte(`{"a":{"b":[1,2,{"c":null}]}}`)},
		store.Doc{ID: "nested", Index: "x", LogType: "x", Source: []byte(`{"x":{"@message":"not top level"},"@message":{"an":"object"}}`)},
	)
	if err := db.Write(ctx, docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		h, err := db.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(h.Source) != string(d.Source) {
			t.Errorf("%s: Get returned\n%s\nwant\n%s", d.ID, h.Source, d.Source)
		}
		if h.Index != d.Index || h.LogType != d.LogType || h.TimestampMs != d.TimestampMs {
			t.Errorf("%s: Get returned %+v", d.ID, h)
		}
	}
	if _, err := db.Get(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
}

func TestSearch(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	if err := db.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  store.SearchRequest
		want []string // ids in order
		err  string
	}{
		{name: "all, newest first", req: store.SearchRequest{}, want: []string{"ct3", "vpc2", "ct2", "vpc1", "ct1"}},
		{name: "ascending", req: store.SearchRequest{Asc: true, Limit: 2}, want: []string{"ct1", "vpc1"}},
		{name: "offset", req: store.SearchRequest{Offset: 3}, want: []string{"vpc1", "ct1"}},
		{name: "offset and limit", req: store.SearchRequest{Offset: 1, Limit: 2}, want: []string{"vpc2", "ct2"}},
		{name: "offset and limit ascending", req: store.SearchRequest{Offset: 1, Limit: 3, Asc: true}, want: []string{"vpc1", "ct2", "vpc2"}},
		{name: "typed field", req: store.SearchRequest{Filter: store.Filter{Query: "event.action:ConsoleLogin"}}, want: []string{"ct3", "ct1"}},
		{name: "raw JSON field", req: store.SearchRequest{Filter: store.Filter{Query: "eventSource:sts.amazonaws.com"}}, want: []string{"ct2"}},
		{name: "JSON field in an array", req: store.SearchRequest{Filter: store.Filter{Query: "requestParameters.items.instanceId:i-2"}}, want: []string{"ct1"}},
		{name: "free text any case", req: store.SearchRequest{Filter: store.Filter{Query: "denied"}}, want: []string{"ct1"}},
		{name: "free text after a bound JSON path", req: store.SearchRequest{Filter: store.Filter{Query: "eventSource:signin.amazonaws.com AND DENIED"}}, want: []string{"ct1"}},
		{name: "free text wildcard", req: store.SearchRequest{Filter: store.Filter{Query: "ACC*denied OR nothing*here"}}, want: []string{"ct1"}},
		{name: "@message field", req: store.SearchRequest{Filter: store.Filter{Query: `@message:"by CAROL"`}}, want: []string{"ct3"}},
		{name: "free text phrase", req: store.SearchRequest{Filter: store.Filter{Query: `"by bob"`}}, want: []string{"ct2"}},
		{name: "CIDR on typed IP", req: store.SearchRequest{Filter: store.Filter{Query: "source.ip:10.0.0.0/8"}}, want: []string{"vpc2", "ct2", "vpc1"}},
		{name: "IPv6 CIDR", req: store.SearchRequest{Filter: store.Filter{Query: "source.ip:2001:db8::/32"}}, want: []string{"ct3"}},
		{name: "exact IP", req: store.SearchRequest{Filter: store.Filter{Query: "destination.ip:203.0.113.9"}}, want: []string{"vpc2", "vpc1"}},
		{name: "CIDR on a list", req: store.SearchRequest{Filter: store.Filter{Query: "related.ip:203.0.113.0/24"}}, want: []string{"vpc1"}},
		{name: "port range, string-typed port", req: store.SearchRequest{Filter: store.Filter{Query: "destination.port:[51000 TO 51999]"}}, want: []string{"vpc1"}},
		{name: "number", req: store.SearchRequest{Filter: store.Filter{Query: "network.bytes:>1000"}}, want: []string{"vpc1"}},
		{name: "list keyword", req: store.SearchRequest{Filter: store.Filter{Query: "event.category:authentication"}}, want: []string{"ct1"}},
		{name: "negation", req: store.SearchRequest{Filter: store.Filter{Query: "NOT user.name:alice", LogTypes: []string{"cloudtrail"}}}, want: []string{"ct3", "ct2"}},
		{name: "time range", req: store.SearchRequest{Filter: store.Filter{From: at + 30_000, To: at + 90_000}}, want: []string{"ct2", "vpc1"}},
		{name: "@timestamp in the query", req: store.SearchRequest{Filter: store.Filter{Query: "@timestamp:>=2026-01-10T00:01:00Z"}}, want: []string{"ct3", "vpc2", "ct2"}},
		{name: "log types", req: store.SearchRequest{Filter: store.Filter{LogTypes: []string{"vpcflowlogs"}}}, want: []string{"vpc2", "vpc1"}},
		{name: "sort by a field", req: store.SearchRequest{Sort: "network.bytes", Filter: store.Filter{LogTypes: []string{"vpcflowlogs"}}}, want: []string{"vpc1", "vpc2"}},
		{name: "unknown field", req: store.SearchRequest{Filter: store.Filter{Query: "nosuch.field:x"}}, err: `no such field`},
		{name: "syntax error", req: store.SearchRequest{Filter: store.Filter{Query: "(a"}}, err: `position`},
		{name: "limit too large", req: store.SearchRequest{Limit: 20000}, err: `maximum`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := db.Search(ctx, tt.req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range res.Hits {
				got = append(got, h.ID)
				if !json.Valid(h.Source) {
					t.Errorf("hit %s: invalid JSON %s", h.ID, h.Source)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("hits %v, want %v", got, tt.want)
			}
			wantTotal := int64(len(tt.want)) + int64(tt.req.Offset)
			if tt.req.Limit > 0 {
				wantTotal = res.Total // limited: checked elsewhere
			}
			if res.Total != wantTotal {
				t.Fatalf("total %d, want %d", res.Total, wantTotal)
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	if err := db.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		req   store.AggRequest
		want  []store.Bucket
		value float64
		err   string
	}{
		{name: "count", req: store.AggRequest{Kind: store.AggCount, Filter: store.Filter{Query: "event.outcome:success"}}, value: 3},
		{name: "terms", req: store.AggRequest{Kind: store.AggTerms, Field: "event.action"}, want: []store.Bucket{{Key: "ConsoleLogin", Count: 2}, {Key: "ACCEPT", Count: 1}, {Key: "AssumeRole", Count: 1}, {Key: "REJECT", Count: 1}}},
		{name: "terms size", req: store.AggRequest{Kind: store.AggTerms, Field: "cloud.region", Size: 1}, want: []store.Bucket{{Key: "us-east-1", Count: 2}}},
		{name: "terms on a JSON field", req: store.AggRequest{Kind: store.AggTerms, Field: "eventName"}, want: []store.Bucket{{Key: "ConsoleLogin", Count: 2}, {Key: "AssumeRole", Count: 1}}},
		{name: "terms on a list", req: store.AggRequest{Kind: store.AggTerms, Field: "related.ip", Size: 1}, want: []store.Bucket{{Key: "10.0.0.5", Count: 1}}},
		{name: "terms by a sum", req: store.AggRequest{Kind: store.AggTerms, Field: "source.ip", Metric: "network.bytes"}, want: []store.Bucket{{Key: "10.0.0.5", Count: 1, Value: 8400}, {Key: "10.0.0.6", Count: 1, Value: 40}, {Key: "10.1.2.3", Count: 1}, {Key: "198.51.100.7", Count: 1}, {Key: "2001:db8::1", Count: 1}}},
		{name: "terms of a number", req: store.AggRequest{Kind: store.AggTerms, Field: "destination.port"}, want: []store.Bucket{{Key: "51000", Count: 1}, {Key: "52000", Count: 1}}},
		{name: "terms2", req: store.AggRequest{Kind: store.AggTerms2, Field: "cloud.region", Field2: "event.action"}, want: []store.Bucket{{Key: "us-east-1", Key2: "ConsoleLogin", Count: 2}, {Key: "eu-west-1", Key2: "AssumeRole", Count: 1}}},
		{name: "cardinality", req: store.AggRequest{Kind: store.AggCardinality, Field: "user.name"}, value: 3},
		{name: "histogram", req: store.AggRequest{Kind: store.AggDateHistogram, Interval: time.Minute, Filter: store.Filter{LogTypes: []string{"cloudtrail"}}},
			want: []store.Bucket{{Key: fmt.Sprint(at), Count: 1}, {Key: fmt.Sprint(at + 60_000), Count: 1}, {Key: fmt.Sprint(at + 120_000), Count: 1}}},
		{name: "histogram fills gaps", req: store.AggRequest{Kind: store.AggDateHistogram, Interval: 30 * time.Second, Filter: store.Filter{LogTypes: []string{"cloudtrail"}}},
			want: []store.Bucket{{Key: fmt.Sprint(at), Count: 1}, {Key: fmt.Sprint(at + 30_000)}, {Key: fmt.Sprint(at + 60_000), Count: 1}, {Key: fmt.Sprint(at + 90_000)}, {Key: fmt.Sprint(at + 120_000), Count: 1}}},
		{name: "histogram split", req: store.AggRequest{Kind: store.AggDateHistogram, Interval: time.Hour, Field: "event.outcome", Size: 1},
			want: []store.Bucket{{Key: fmt.Sprint(at), Key2: "success", Count: 3}}},
		{name: "unknown field", req: store.AggRequest{Kind: store.AggTerms, Field: "nope"}, err: `no field "nope"`},
		{name: "sum of a keyword", req: store.AggRequest{Kind: store.AggTerms, Field: "source.ip", Metric: "user.name"}, err: "not a numeric field"},
		{name: "unknown kind", req: store.AggRequest{Kind: "median"}, err: "unknown aggregation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := db.Aggregate(ctx, tt.req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !reflect.DeepEqual(res.Buckets, tt.want) {
				t.Fatalf("buckets\n%+v\nwant\n%+v", res.Buckets, tt.want)
			}
			if res.Value != tt.value {
				t.Fatalf("value %v, want %v", res.Value, tt.value)
			}
		})
	}
	// An automatic interval gives about 60 buckets over the filter's range.
	res, err := db.Aggregate(ctx, store.AggRequest{Kind: store.AggDateHistogram, Filter: store.Filter{From: at, To: at + 3_600_000}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Interval != time.Minute {
		t.Fatalf("automatic interval over an hour = %v, want 1m", res.Interval)
	}
}

func TestFieldsAndIndices(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	if err := db.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	fields, err := db.Fields(ctx, "vpcflowlogs")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]store.Field{}
	seenPlain := false
	for _, f := range fields {
		byName[f.Name] = f
		if !f.Indexed {
			seenPlain = true
		} else if seenPlain {
			t.Fatalf("typed field %s listed after plain ones: %+v", f.Name, fields)
		}
	}
	for name, want := range map[string]store.Field{
		"source.ip":        {Name: "source.ip", Type: "ip", Indexed: true},
		"network.bytes":    {Name: "network.bytes", Type: "long", Indexed: true},
		"@message":         {Name: "@message", Type: "text", Indexed: true},
		"destination.port": {Name: "destination.port", Type: "long", Indexed: true},
	} {
		if byName[name] != want {
			t.Errorf("field %s = %+v, want %+v", name, byName[name], want)
		}
	}
	if _, ok := byName["eventName"]; ok {
		t.Error("a CloudTrail field is listed for vpcflowlogs")
	}
	all, err := db.Fields(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range all {
		if f.Name == "requestParameters.items.instanceId" {
			found = f.Type == "keyword" && !f.Indexed
		}
	}
	if !found {
		t.Errorf("requestParameters.items.instanceId missing from %+v", all)
	}

	idx, err := db.Indices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != 2 || idx[0].Name != "log-cloudtrail-2026-01" || idx[0].Docs != 3 || idx[0].MinMs != at || idx[0].MaxMs != at+120_000 || idx[1].Docs != 2 || idx[1].LogType != "vpcflowlogs" {
		t.Fatalf("indices %+v", idx)
	}
	if idx[0].Bytes <= 0 {
		t.Fatalf("index size %d", idx[0].Bytes)
	}
}

func TestDeleteBefore(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	if err := db.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteBefore(ctx, "cloudtrail", time.UnixMilli(at+60_001))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("deleted %d cloudtrail documents, want 2", n)
	}
	if c := count(t, db, store.Filter{}); c != 3 {
		t.Fatalf("%d left, want 3", c)
	}
	n, err = db.DeleteBefore(ctx, "", time.UnixMilli(at+100_000))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("deleted %d documents of every type, want 2", n)
	}
	if _, err := db.Get(ctx, "ct3"); err != nil {
		t.Fatalf("the newest document is gone: %v", err)
	}
	// A deleted document can be written again.
	if err := db.Write(ctx, fixture()[:1]); err != nil {
		t.Fatal(err)
	}
	if c := count(t, db, store.Filter{}); c != 2 {
		t.Fatalf("%d after rewriting a deleted document, want 2", c)
	}
}

func TestRejectsMalformedDocuments(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	good := fixture()[0]
	docs := []store.Doc{
		{ID: "bad1", Index: "i", LogType: "x", Source: []byte(`{"a":`)},
		good,
		{ID: "bad2", Index: "i", LogType: "x", Source: []byte("{\"a\":\"\xff\"}")},
		{ID: "bad3", Index: "i", LogType: "x", Source: []byte(`[1,2]`)},
		{ID: "", Index: "i", LogType: "x", Source: []byte(`{}`)},
	}
	err := db.Write(ctx, docs)
	var rej *RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want a *RejectedError", err)
	}
	got := rej.Rejections()
	if len(got) != 4 || got[1] != nil {
		t.Fatalf("rejections %v", got)
	}
	for _, want := range []string{`_id "bad1" in i: invalid JSON at byte 5`, `_id "bad2"`, "and 1 more"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if c := count(t, db, store.Filter{}); c != 1 {
		t.Fatalf("%d stored, want the 1 good document", c)
	}
	// A malformed replacement leaves the stored document alone.
	bad := good
	bad.Source = []byte(`{"broken"`)
	if err := db.Write(ctx, []store.Doc{bad}); !errors.As(err, &rej) {
		t.Fatalf("err = %v, want a *RejectedError", err)
	}
	if h, err := db.Get(ctx, good.ID); err != nil || string(h.Source) != string(good.Source) {
		t.Fatalf("stored document after a bad replacement: %v %v", h, err)
	}
}

func TestConcurrentReadersWhileWriting(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	g := newDocGen(7, time.UnixMilli(at), time.Second)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := db.Aggregate(ctx, store.AggRequest{Kind: store.AggCount})
				if err != nil {
					errs <- err
					return
				}
				// Each write commits whole: counts only grow, in steps
				// of a batch.
				if n := int64(r.Value); n < last || n%500 != 0 {
					errs <- fmt.Errorf("count went from %d to %d", last, n)
					return
				}
				last = int64(r.Value)
				if _, err := db.Search(ctx, store.SearchRequest{Limit: 5, Filter: store.Filter{Query: "event.outcome:failure"}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 10 {
		if err := db.Write(ctx, dedupIDs(g.batch(500))); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// dedupIDs gives generated documents unique ids (the generator repeats
// Security Hub finding ids on purpose).
func dedupIDs(docs []store.Doc) []store.Doc {
	for i := range docs {
		docs[i].ID = fmt.Sprintf("%s-%d", docs[i].ID, i)
	}
	return docs
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := Open(ctx, dir, Options{ReadOnly: true}, nil); err == nil {
		t.Fatal("read-only open of a missing store succeeded")
	}
	w, err := Open(ctx, dir, Options{Threads: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, fixture()); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dir, Options{ReadOnly: true}, nil)
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("read-only open while a writer holds the store: %v, want ErrLocked", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r1, err := Open(ctx, dir, Options{ReadOnly: true, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(ctx, dir, Options{ReadOnly: true, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	res, err := r2.Search(ctx, store.SearchRequest{Filter: store.Filter{Query: "source.ip:10.0.0.0/8 OR related.ip:198.51.100.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 4 {
		t.Fatalf("read-only search found %d, want 4", res.Total)
	}
	if err := r1.Write(ctx, fixture()); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("write to a read-only store: %v", err)
	}
}
