//go:build cgo

package duckdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// edgeDocs makes n documents of log type lt from startMs, stepMs apart,
// with actions that vary so that the counts per hour are not uniform.
func edgeDocs(prefix, lt string, startMs, stepMs int64, n int) []store.Doc {
	acts := []string{"x", "x", "x", "y", "y", "z"}
	out := make([]store.Doc, n)
	for i := range out {
		out[i] = store.Doc{
			ID: fmt.Sprintf("%s-%d", prefix, i), Index: "idx", LogType: lt,
			TimestampMs: startMs + int64(i)*stepMs,
			Source:      fmt.Appendf(nil, `{"event":{"action":%q},"user":{"name":"u%d"}}`, acts[(i*7/3)%len(acts)], i%13),
		}
	}
	return out
}

// sameAsSQL fails unless the rollups answer r (rollupCheck asks twice: a
// view is registered on the second request) and their answer is the plain
// SQL's.
func sameAsSQL(t *testing.T, name string, db *DB, r store.AggRequest) {
	t.Helper()
	if rollupCheck(t, db, []store.AggRequest{r}) != 1 {
		t.Fatalf("%s: not answered from the rollups", name)
	}
}

// TestRollupsAtTheEpoch has documents in the first hour after the epoch,
// so that the buckets answered from the view start at 0: the documents
// before them must not be read as an open range (counted twice).
func TestRollupsAtTheEpoch(t *testing.T) {
	db := openTest(t, Options{})
	docs := edgeDocs("e", "a", 1000, 7*60*1000, 4*24*60/7)
	writeAll(t, db, docs, len(docs))
	sameAsSQL(t, "count, open range", db, store.AggRequest{Kind: store.AggCount})
	sameAsSQL(t, "count from -1", db, store.AggRequest{Kind: store.AggCount, Filter: store.Filter{From: -1, To: 4 * dayMs}})
	sameAsSQL(t, "terms, open range", db, store.AggRequest{Kind: store.AggTerms, Field: "event.action"})
}

// TestRollupsBeforeTheEpoch has negative timestamps, which DuckDB's //
// would round toward zero into the wrong hour.
func TestRollupsBeforeTheEpoch(t *testing.T) {
	db := openTest(t, Options{})
	var docs []store.Doc
	for h := range int64(5*24 - 1) { // hour h holds 1 + h%5 documents, from -5 days to -1 hour
		base := -5*dayMs + h*hourMs
		for j := int64(0); j <= h%5; j++ {
			docs = append(docs, edgeDocs(fmt.Sprintf("n%d-%d", h, j), "a", base+1+j*600000, 1, 1)...)
		}
	}
	writeAll(t, db, docs, len(docs))
	f := store.Filter{From: -5*dayMs + 1234567, To: -hourMs - 777}
	sameAsSQL(t, "count", db, store.AggRequest{Kind: store.AggCount, Filter: f})
	sameAsSQL(t, "hourly histogram", db, store.AggRequest{Kind: store.AggDateHistogram, Interval: time.Hour, Filter: f})
	sameAsSQL(t, "terms", db, store.AggRequest{Kind: store.AggTerms, Field: "event.action", Filter: f})
}

// TestRollupsSkipRelativeDates checks that a query whose documents move
// with the clock is never answered from the rollups, however "now" is
// written.
func TestRollupsSkipRelativeDates(t *testing.T) {
	db := openTest(t, Options{})
	base := time.Now().UnixMilli()
	writeAll(t, db, edgeDocs("s", "a", base-3*dayMs, 5*60*1000, 6*24*12), 10000)
	for _, q := range []string{`@timestamp:<now`, `@timestamp:<n\ow`, `NOT @timestamp:>=now-1h`} {
		r := store.AggRequest{Kind: store.AggCount, Filter: store.Filter{From: base - 3*dayMs + 1, To: base + 3*dayMs - 1, Query: q}}
		for range 3 {
			if _, ok, err := db.rollupAggregate(context.Background(), r, 10); err != nil || ok {
				t.Fatalf("%s: answered from the rollups (%v)", q, err)
			}
		}
	}
}

// TestRollupsSeeAReplacementAfterABuild builds an hour between two
// writes to it, the second replacing a document in place (same id, hour
// and log type, so the hour's count does not change): the second write
// must mark the hour again.
func TestRollupsSeeAReplacementAfterABuild(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Options{})
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	docs := edgeDocs("b", "a", start, 10*60*1000, 4*24*6)
	writeAll(t, db, docs, len(docs))
	spec := rollupSpec{LogTypes: []string{"a"}, Field: "event.action", Unit: hourMs}
	forceView(t, db, spec)
	db.roll.widths[rollupSpec{LogTypes: []string{"a"}, Field: "event.action"}.key()] = widthStats{dall: -1} // hours only
	r := store.AggRequest{Kind: store.AggTerms, Field: "event.action", Filter: store.Filter{From: start, To: start + 4*dayMs, LogTypes: []string{"a"}}}
	sameAsSQL(t, "built", db, r)
	v := db.roll.find(func(s rollupSpec) bool { return s.key() == spec.key() })
	hour := start + 30*hourMs
	if err := db.Write(ctx, edgeDocs("w0", "a", hour+5, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := db.refresh(ctx, v, []span{{hour, hour + hourMs}}); err != nil {
		t.Fatal(err)
	}
	repl := docs[30*6]
	repl.Source = []byte(`{"event":{"action":"REPLACED"}}`)
	if err := db.Write(ctx, []store.Doc{repl}); err != nil {
		t.Fatal(err)
	}
	sameAsSQL(t, "after the replacement", db, r)
}

// TestRollupMarksCommitWithTheDocuments checks that a write's marks are
// committed with its documents: a reader right after the commit, and a
// process that ends before anything else runs, see the write's hours as
// changed.
func TestRollupMarksCommitWithTheDocuments(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openAt(t, dir, Options{})
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	docs := edgeDocs("b", "a", start, 10*60*1000, 4*24*6)
	writeAll(t, db, docs, len(docs))
	forceView(t, db, rollupSpec{LogTypes: []string{"a"}, Field: "event.action", Unit: hourMs})
	terms := store.AggRequest{Kind: store.AggTerms, Field: "event.action", Filter: store.Filter{From: start, To: start + 4*dayMs, LogTypes: []string{"a"}}}
	count := store.AggRequest{Kind: store.AggCount, Filter: store.Filter{From: start + hourMs/2, To: start + 4*dayMs - hourMs/2, LogTypes: []string{"a"}}}
	sameAsSQL(t, "terms built", db, terms)
	sameAsSQL(t, "count built", db, count)

	// The writer's part of Write alone: committed, nothing after it.
	repl := docs[30*6]
	repl.Source = []byte(`{"event":{"action":"REPLACED"}}`)
	more := append([]store.Doc{repl}, edgeDocs("edge", "a", start+hourMs/2+5, 1, 1)...)
	db.wmu.Lock()
	db.w.markInTx = true
	err := db.w.write(ctx, more)
	db.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	sameAsSQL(t, "terms between the commit and the rest of Write", db, terms)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dir, Options{})
	defer func() { _ = db.Close() }()
	sameAsSQL(t, "terms reopened", db, terms)
	sameAsSQL(t, "count reopened", db, count)
}

// TestHistogramIntervalOfWholeMilliseconds checks that an interval with
// a part below a millisecond is reported as the whole milliseconds its
// buckets use, from the rollups and from the documents alike.
func TestHistogramIntervalOfWholeMilliseconds(t *testing.T) {
	db := openTest(t, Options{})
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	writeAll(t, db, edgeDocs("b", "a", start, 10*60*1000, 4*24*6), 10000)
	sameAsSQL(t, "1h and 500µs", db, store.AggRequest{Kind: store.AggDateHistogram, Interval: time.Hour + 500*time.Microsecond, Filter: store.Filter{From: start, To: start + 4*dayMs}})
}

// TestRollupsOneKeyForZero checks that -0.0 and 0.0 of a double field
// are one key, in the rollups (which add up buckets by text) as in the
// plain SQL.
func TestRollupsOneKeyForZero(t *testing.T) {
	db := openTest(t, Options{})
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	docs := edgeDocs("b", "a", start, 10*60*1000, 4*24*6)
	for i := range docs {
		sev := "0.0"
		if (docs[i].TimestampMs/hourMs)%2 == 0 {
			sev = "-0.0"
		}
		if i%3 == 0 {
			sev = "5.5"
		}
		docs[i].Source = fmt.Appendf(nil, `{"event":{"action":"x","severity":%s}}`, sev)
	}
	writeAll(t, db, docs, len(docs))
	forceView(t, db, rollupSpec{Field: "event.severity", Unit: hourMs})
	r := store.AggRequest{Kind: store.AggTerms, Field: "event.severity", Filter: store.Filter{From: start, To: start + 4*dayMs}}
	sameAsSQL(t, "terms", db, r)
	res, err := db.Aggregate(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Buckets) != 2 {
		t.Errorf("buckets %+v, want two: 0 and 5.5", res.Buckets)
	}
}
