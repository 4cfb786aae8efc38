//go:build cgo

package duckdb

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/web"
)

// rollupRequests returns the aggregations the rollup tests compare over
// [from, to): every panel of the console's dashboards and the month-wide
// requests of BenchmarkQueries, some with explicit histogram intervals.
func rollupRequests(from, to int64) []store.AggRequest {
	var out []store.AggRequest
	for _, d := range web.Dashboards() {
		for _, p := range d.Panels {
			a := p.Agg
			a.From, a.To = from, to
			out = append(out, a)
		}
	}
	all := store.Filter{From: from, To: to}
	ct := all
	ct.LogTypes = []string{"cloudtrail"}
	vpc := all
	vpc.LogTypes = []string{"vpcflowlogs"}
	out = append(out,
		store.AggRequest{Kind: store.AggTerms, Field: "event.action", Size: 10, Filter: ct},
		store.AggRequest{Kind: store.AggDateHistogram, Filter: all},
		store.AggRequest{Kind: store.AggDateHistogram, Field: "event.outcome", Size: 5, Filter: all},
		store.AggRequest{Kind: store.AggTerms, Field: "source.geo.country_iso_code", Size: 20, Filter: all},
		store.AggRequest{Kind: store.AggTerms2, Field: "cloud.region", Field2: "event.module", Size: 50, Filter: ct},
		store.AggRequest{Kind: store.AggTerms, Field: "source.ip", Metric: "network.bytes", Size: 10, Filter: vpc},
		store.AggRequest{Kind: store.AggCount, Filter: store.Filter{From: from, To: to, Query: "event.action:REJECT AND NOT source.ip:10.0.0.0/8"}},
		store.AggRequest{Kind: store.AggCardinality, Field: "user.name", Filter: all},
		store.AggRequest{Kind: store.AggDateHistogram, Interval: 6 * time.Hour, Filter: vpc},
		store.AggRequest{Kind: store.AggDateHistogram, Interval: 24 * time.Hour, Field: "event.action", Size: 3, Filter: vpc},
		store.AggRequest{Kind: store.AggDateHistogram, Interval: 30 * time.Minute, Filter: ct},                      // not whole hours: the SQL
		store.AggRequest{Kind: store.AggTerms, Field: "destination.port", Size: 5, Filter: vpc},                     // numbers sort as numbers
		store.AggRequest{Kind: store.AggTerms, Field: "event.category", Size: 5, Filter: all},                       // a list
		store.AggRequest{Kind: store.AggTerms2, Field: "related.ip", Field2: "event.category", Size: 5, Filter: ct}, // two lists
		store.AggRequest{Kind: store.AggTerms, Field: "user.name", Size: 10, Filter: store.Filter{From: from, To: to, Query: "now"}},
	)
	return out
}

// rollupSample is a few requests of every kind the rollups answer, for the
// steps that change the documents.
func rollupSample(from, to int64) []store.AggRequest {
	f := func(q string, lts ...string) store.Filter {
		return store.Filter{From: from, To: to, Query: q, LogTypes: lts}
	}
	return []store.AggRequest{
		{Kind: store.AggCount, Filter: f("", "cloudtrail")},
		{Kind: store.AggCount, Filter: f("event.action:REJECT", "vpcflowlogs")},
		{Kind: store.AggTerms, Field: "event.action", Size: 10, Filter: f("", "cloudtrail")},
		{Kind: store.AggTerms, Field: "source.ip", Metric: "network.bytes", Size: 10, Filter: f("", "vpcflowlogs")},
		{Kind: store.AggTerms, Field: "destination.port", Size: 5, Filter: f("", "vpcflowlogs")},
		{Kind: store.AggTerms, Field: "event.category", Size: 5, Filter: f("")},
		{Kind: store.AggTerms, Field: "vpc_id", Size: 10, Filter: f("", "route53resolver")},
		{Kind: store.AggTerms2, Field: "cloud.region", Field2: "event.module", Size: 50, Filter: f("", "cloudtrail")},
		{Kind: store.AggTerms2, Field: "user.name", Field2: "error.code", Size: 10, Filter: f("_exists_:error.code", "cloudtrail")},
		{Kind: store.AggDateHistogram, Filter: f("")},
		{Kind: store.AggDateHistogram, Interval: 6 * time.Hour, Filter: f("", "vpcflowlogs")},
		{Kind: store.AggDateHistogram, Field: "event.action", Size: 2, Filter: f("", "vpcflowlogs")},
		{Kind: store.AggCardinality, Field: "source.ip", Filter: f("", "vpcflowlogs")},
		{Kind: store.AggCardinality, Field: "source.ip", Filter: f("", "cloudtrail")},
		{Kind: store.AggCardinality, Field: "user.name", Filter: f("")},
	}
}

// rollupCheck compares every request answered from the rollups with the
// plain SQL's answer, and returns how many the rollups answered.
func rollupCheck(t *testing.T, db *DB, reqs []store.AggRequest) int {
	t.Helper()
	ctx := context.Background()
	served := 0
	for _, r := range reqs {
		name := fmt.Sprintf("%s %s/%s metric=%s q=%q lt=%v [%d,%d) iv=%v", r.Kind, r.Field, r.Field2, r.Metric, r.Query, r.LogTypes, r.From, r.To, r.Interval)
		size := r.Size
		if size <= 0 {
			size = 10
		}
		where, args, err := db.where(r.Filter)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, wantErr := db.aggregateSQL(ctx, r, size, where, args)
		got, ok, err := db.rollupAggregate(ctx, r, size)
		if err == nil && !ok {
			// The first request of a shape reads the documents; the
			// second makes a view.
			got, ok, err = db.rollupAggregate(ctx, r, size)
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if wantErr != nil {
			if ok {
				t.Errorf("%s: the rollups answered a request the SQL refuses (%v)", name, wantErr)
			}
			continue
		}
		if !ok {
			t.Logf("%s: the SQL", name)
			continue
		}
		served++
		want.Took, got.Took = 0, 0
		if r.Kind == store.AggCardinality {
			exact := exactDistinct(t, db, r)
			if got.Value != exact {
				t.Errorf("%s: the rollups count %v distinct values, there are %v", name, got.Value, exact)
			}
			if e := math.Abs(want.Value-exact) / max(exact, 1); e > 0.3 {
				t.Errorf("%s: the SQL's estimate %v is %.0f%% from %v", name, want.Value, 100*e, exact)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nrollups %+v\nSQL     %+v", name, got, want)
		}
	}
	return served
}

// exactDistinct counts the distinct values of r.Field exactly.
func exactDistinct(t *testing.T, db *DB, r store.AggRequest) float64 {
	t.Helper()
	where, args, err := db.where(r.Filter)
	if err != nil {
		t.Fatal(err)
	}
	f, err := db.aggField(r.Field)
	if err != nil {
		t.Fatal(err)
	}
	src, srcArgs := db.source(f, where, args)
	var n int64
	if err := db.db.QueryRowContext(context.Background(), "SELECT count(DISTINCT k) FROM "+src, srcArgs...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return float64(n)
}

func writeAll(t *testing.T, db *DB, docs []store.Doc, batch int) {
	t.Helper()
	for off := 0; off < len(docs); off += batch {
		if err := db.Write(context.Background(), docs[off:min(off+batch, len(docs))]); err != nil {
			t.Fatal(err)
		}
	}
}

// forceView registers a view with the given bucket width, as if the probe
// had chosen it.
func forceView(t testing.TB, db *DB, s rollupSpec) {
	t.Helper()
	if err := db.roll.ensure(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	for range rollupAsks {
		if _, err := db.view(context.Background(), s, func(o rollupSpec) bool { return o.key() == s.key() }, func() (int64, bool) { return s.Unit, true }); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRollupsMatchTheDocuments answers every dashboard panel from the
// rollups and from the documents and compares, after each kind of change:
// writes, late documents in built hours, replacements (in the same hour
// and moving to another), retention deletes, reopening, documents changed
// behind the store's back, and a read-only open.
func TestRollupsMatchTheDocuments(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	docs, _ := genDocs(7, start, 50*time.Second, 15000) // about 8.7 days
	end := docs[len(docs)-1].TimestampMs + 1
	open := func(ro bool) *DB { return openAt(t, dir, Options{ReadOnly: ro}) }
	db := open(false)
	defer func() { _ = db.Close() }() // closed again below: a no-op then
	writeAll(t, db, docs, 4000)

	// Day buckets for the talkers (the probe picks hours at this density).
	forceView(t, db, rollupSpec{LogTypes: []string{"vpcflowlogs"}, Field: "source.ip", Metric: "network.bytes", Unit: dayMs})
	forceView(t, db, rollupSpec{LogTypes: []string{"cloudtrail"}, Field: "source.ip", Unit: dayMs})

	unaligned := [2]int64{start.UnixMilli() + 5*hourMs + 17*60000 + 123, end - 3*hourMs - 11*60000}
	ranges := [][2]int64{
		unaligned,
		{start.UnixMilli() + dayMs, start.UnixMilli() + 6*dayMs}, // whole days
		{0, 0},                                // open
		{start.UnixMilli() + 7*hourMs + 1, 0}, // open end
		{start.UnixMilli(), start.UnixMilli() + 30*hourMs}, // too short: the SQL
		{start.UnixMilli() - 400*dayMs, end + 400*dayMs},   // far beyond the documents
	}
	check := func(step string, full bool, wantServed int) {
		t.Helper()
		served := 0
		for i, rg := range ranges {
			if full && i < 5 {
				served += rollupCheck(t, db, rollupRequests(rg[0], rg[1]))
			} else if i == 0 || i == 2 || i == 5 {
				served += rollupCheck(t, db, rollupSample(rg[0], rg[1]))
			}
		}
		t.Logf("%s: %d requests answered from the rollups", step, served)
		if served < wantServed {
			t.Errorf("%s: only %d requests answered from the rollups, want %d", step, served, wantServed)
		}
	}
	check("written", true, 230)

	// Late documents in built hours, and the same again (replays).
	late, _ := genDocs(8, start.Add(30*time.Hour), 90*time.Second, 2000)
	writeAll(t, db, late, 500)
	writeAll(t, db, late[:700], 700)
	check("late documents", false, 25)

	// Replacements: same ids, other content; half keep their hour, half
	// move to another day.
	repl, _ := genDocs(9, start.Add(50*time.Hour), 20*time.Second, 2000)
	for i := range repl {
		orig := docs[i*7]
		repl[i].ID = orig.ID
		if i%2 == 0 {
			repl[i].TimestampMs = orig.TimestampMs
		}
	}
	writeAll(t, db, repl, 2000)
	check("replaced", false, 25)

	// Retention: one type, then all.
	if _, err := db.DeleteBefore(ctx, "vpcflowlogs", time.UnixMilli(start.UnixMilli()+2*dayMs+5*hourMs+99)); err != nil {
		t.Fatal(err)
	}
	check("vpc deleted", false, 25)
	if _, err := db.DeleteBefore(ctx, "", time.UnixMilli(start.UnixMilli()+dayMs+13*hourMs)); err != nil {
		t.Fatal(err)
	}
	check("all deleted", false, 25)

	// Reopened: the built buckets are still valid.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(false)
	check("reopened", true, 230)

	// Documents changed without the store's marks (as when a process ends
	// between a write and its mark): the counts per hour give them away.
	if _, err := db.db.ExecContext(ctx, `DELETE FROM vigil.main.docs WHERE log_type = 'cloudtrail' AND ts % 7 = 0`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(false)
	check("changed behind its back", false, 25)

	// Read-only: valid buckets answer, nothing is built.
	late2, _ := genDocs(10, start.Add(80*time.Hour), 60*time.Second, 1000)
	writeAll(t, db, late2, 1000)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(true)
	check("read-only", false, 0)
}

// TestRollupsConcurrentWrites runs panels from two readers while
// documents are written into the hours they read, and checks the answers
// once the writes end.
func TestRollupsConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Options{})
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	docs, _ := genDocs(11, start, 30*time.Second, 12000)
	writeAll(t, db, docs, 3000)
	from, to := start.UnixMilli()+hourMs/2, docs[len(docs)-1].TimestampMs
	reqs := rollupSample(from, to)
	more, _ := genDocs(12, start.Add(3*time.Hour), 40*time.Second, 6000)
	done := make(chan error, 1)
	go func() {
		for off := 0; off < len(more); off += 500 {
			if err := db.Write(ctx, more[off:off+500]); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var wg sync.WaitGroup
	for range 2 { // two readers: builds, counts and registrations race
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				for _, r := range reqs {
					if _, err := db.Aggregate(ctx, r); err != nil {
						t.Errorf("%s %s: %v", r.Kind, r.Field, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := rollupCheck(t, db, reqs); n < 10 {
		t.Errorf("only %d of %d requests answered from the rollups", n, len(reqs))
	}
}

// TestRollupUnits checks the bucket arithmetic.
func TestRollupUnits(t *testing.T) {
	tests := []struct {
		name        string
		ms, unit    int64
		floor, ceil int64
	}{
		{name: "on a boundary", ms: 7200000, unit: hourMs, floor: 7200000, ceil: 7200000},
		{name: "inside", ms: 7200001, unit: hourMs, floor: 7200000, ceil: 10800000},
		{name: "a day", ms: dayMs + 5, unit: dayMs, floor: dayMs, ceil: 2 * dayMs},
		{name: "negative", ms: -1, unit: hourMs, floor: -hourMs, ceil: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := floorTo(tt.ms, tt.unit); got != tt.floor {
				t.Errorf("floorTo(%d, %d) = %d, want %d", tt.ms, tt.unit, got, tt.floor)
			}
			if got := ceilTo(tt.ms, tt.unit); got != tt.ceil {
				t.Errorf("ceilTo(%d, %d) = %d, want %d", tt.ms, tt.unit, got, tt.ceil)
			}
		})
	}
}

// BenchmarkRollupWritten measures what a write of 20,000 documents (the
// store sink's size) spends marking its hours for the rollups.
func BenchmarkRollupWritten(b *testing.B) {
	db := openTest(b, Options{})
	docs, _ := genDocs(13, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 250*time.Millisecond, 20000)
	if err := db.Write(context.Background(), docs); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		db.wmu.Lock()
		db.rollupWritten(context.Background(), docs, nil, true, false)
		db.wmu.Unlock()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(docs)), "ns/doc")
}

// TestRollupViewsAreCapped registers more views than the cap and checks
// that the least recently used one is dropped with its rows, and that its
// request is still answered right.
func TestRollupViewsAreCapped(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Options{})
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	docs, _ := genDocs(14, start, 2*time.Minute, 3000)
	writeAll(t, db, docs, 3000)
	first := store.AggRequest{Kind: store.AggTerms, Field: "event.action", Filter: store.Filter{From: start.UnixMilli(), To: docs[len(docs)-1].TimestampMs, LogTypes: []string{"cloudtrail"}}}
	if n := rollupCheck(t, db, []store.AggRequest{first}); n != 1 {
		t.Fatalf("the first request was not answered from a rollup")
	}
	var id int64 = -1
	for _, v := range db.roll.views {
		id = v.id
	}
	for i := range maxRollupViews {
		forceView(t, db, rollupSpec{Query: fmt.Sprintf("event.action:x%d", i), Unit: hourMs})
	}
	if len(db.roll.views) != maxRollupViews {
		t.Errorf("%d views, want %d", len(db.roll.views), maxRollupViews)
	}
	var rows int64
	if err := db.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM vigil_rollup WHERE view = ?) + (SELECT count(*) FROM vigil_rollup_state WHERE view = ?) + (SELECT count(*) FROM vigil_rollup_views WHERE id = ?)`, id, id, id).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("view %d, dropped, still has %d rows", id, rows)
	}
	if n := rollupCheck(t, db, []store.AggRequest{first}); n != 1 {
		t.Errorf("the first request was not answered from a rollup after its view was dropped")
	}
}
