//go:build cgo

package duckdb

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// checkCounts compares the counts per log type and hour the rollups use
// with a count of the whole table, and returns how many times the store
// has counted the whole table so far.
func checkCounts(t *testing.T, db *DB, step string) int {
	t.Helper()
	ctx := context.Background()
	got, gotMin, gotMax, gotOK, err := db.totals(ctx)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	want, err := db.countHours(ctx, nil)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	wantMin, wantMax, wantOK := want.bounds()
	if !maps.EqualFunc(got, want, func(a, b map[int64]int64) bool { return maps.Equal(a, b) }) {
		for lt := range mergedKeys(got, want) {
			for h := range mergedKeys(got[lt], want[lt]) {
				if got[lt][h] != want[lt][h] {
					t.Errorf("%s: %s hour %s: %d documents counted, the table holds %d", step, lt, time.UnixMilli(h).UTC().Format(time.RFC3339), got[lt][h], want[lt][h])
				}
			}
			if (got[lt] == nil) != (want[lt] == nil) || len(got[lt]) != len(want[lt]) {
				t.Errorf("%s: %s: %d hours counted, the table has %d", step, lt, len(got[lt]), len(want[lt]))
			}
		}
	}
	if gotMin != wantMin || gotMax != wantMax || gotOK != wantOK {
		t.Errorf("%s: hours [%d, %d] ok=%v, the table's [%d, %d] ok=%v", step, gotMin, gotMax, gotOK, wantMin, wantMax, wantOK)
	}
	db.roll.totMu.Lock()
	defer db.roll.totMu.Unlock()
	return db.roll.fullN
}

// mergedKeys returns the keys of both maps.
func mergedKeys[K comparable, V any](a, b map[K]V) map[K]bool {
	out := make(map[K]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// TestCountsFollowTheWrites checks, after each kind of change, that the
// counts per log type and hour kept from what the writes touched equal a
// count of the whole table, that only the changes whose hours are not
// known make the store count the whole table again, and that the rollups
// still answer as the plain SQL does.
func TestCountsFollowTheWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	open := func(ro bool) *DB { return openAt(t, dir, Options{Writers: 2, ReadOnly: ro}) }
	db := open(false)
	defer func() { _ = db.Close() }() // closed again below: a no-op then

	docs, _ := genDocs(21, start, 60*time.Second, 6000) // about 4.2 days
	writeAll(t, db, docs, 3000)
	end := docs[len(docs)-1].TimestampMs + 1
	sample := rollupSample(start.UnixMilli()+3*hourMs+1234, end-2*hourMs)
	if n := checkCounts(t, db, "first count"); n != 1 {
		t.Errorf("first count: the table was counted %d times, want 1", n)
	}
	rollupCheck(t, db, sample) // registers the views
	if n := rollupCheck(t, db, sample); n < 10 {
		t.Errorf("written: only %d of %d requests answered from the rollups", n, len(sample))
	}

	// steps change the documents; minFull and maxFull bound how many
	// times the store counts the whole table afterwards, check says
	// whether the rollups' answers are compared too.
	steps := []struct {
		name             string
		change           func(t *testing.T)
		minFull, maxFull int
		check            bool
	}{
		{
			name: "new documents",
			change: func(t *testing.T) {
				more, _ := genDocs(22, time.UnixMilli(end), 30*time.Second, 1500)
				writeAll(t, db, more, 500)
			},
		},
		{
			name: "late documents",
			change: func(t *testing.T) {
				late, _ := genDocs(23, start.Add(20*time.Hour), 90*time.Second, 800)
				writeAll(t, db, late, 800)
				writeAll(t, db, late[:300], 300) // replayed: same ids, same hours
			},
			check: true,
		},
		{
			name: "before and after every document",
			change: func(t *testing.T) {
				early, _ := genDocs(24, start.Add(-3*time.Hour), time.Minute, 10)
				later, _ := genDocs(25, time.UnixMilli(end).Add(72*time.Hour), time.Minute, 10)
				writeAll(t, db, append(early, later...), 20)
			},
		},
		{
			name: "replaced into other hours and log types",
			change: func(t *testing.T) {
				src, _ := genDocs(26, start.Add(60*time.Hour), 45*time.Second, 1200)
				var repl []store.Doc
				for i, d := range src {
					orig := docs[i*5]
					switch i % 3 {
					case 0: // the same hour, another log type
						if d.LogType == orig.LogType {
							continue
						}
						d.TimestampMs = orig.TimestampMs
					case 1: // another hour, another log type
						if d.LogType == orig.LogType {
							continue
						}
					}
					d.ID = orig.ID
					repl = append(repl, d)
				}
				writeAll(t, db, repl, 2500) // two transactions
			},
			check: true,
		},
		{
			name: "the first hour emptied",
			change: func(t *testing.T) {
				// Every document of the earliest hour moves to the last one.
				_, minH, maxH, ok, err := db.totals(ctx)
				if err != nil || !ok {
					t.Fatalf("counting: %v", err)
				}
				rows, err := db.db.QueryContext(ctx, `SELECT _id FROM docs WHERE ts >= ? AND ts < ?`, minH, minH+hourMs)
				if err != nil {
					t.Fatal(err)
				}
				var moved []store.Doc
				for rows.Next() {
					var id string
					if err := rows.Scan(&id); err != nil {
						t.Fatal(err)
					}
					d, _ := genDocs(uint64(27+len(moved)), time.UnixMilli(maxH+hourMs/2), time.Second, 1)
					d[0].ID = id
					moved = append(moved, d[0])
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				if len(moved) == 0 {
					t.Fatal("no documents in the first hour")
				}
				writeAll(t, db, moved, len(moved))
			},
		},
		{
			name: "rejected documents",
			change: func(t *testing.T) {
				src, _ := genDocs(28, start.Add(30*time.Hour), time.Minute, 40)
				for i := range src {
					if i%2 == 0 {
						src[i].ID = docs[1000+i].ID // would move it, but is refused: the stored copy stays
						src[i].Source = []byte(`{"broken`)
					}
				}
				err := db.Write(ctx, src)
				var rej *RejectedError
				if !errors.As(err, &rej) || len(rej.Docs) != 20 {
					t.Fatalf("got %v, want 20 rejected documents", err)
				}
			},
			check: true,
		},
		{
			name: "a write cancelled before it began",
			change: func(t *testing.T) {
				src, _ := genDocs(29, start.Add(40*time.Hour), time.Minute, 100)
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				if err := db.Write(cctx, src); err == nil {
					t.Fatal("a cancelled write succeeded")
				}
			},
			minFull: 1, maxFull: 1,
		},
		{
			name: "writes cut short by their deadline",
			change: func(t *testing.T) {
				// Two transactions each; either may commit or not.
				for i, d := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond, time.Second, 10 * time.Second} {
					src, _ := genDocs(uint64(30+i), start.Add(time.Duration(10+20*i)*time.Hour), 20*time.Second, 5000)
					for j := 0; j < len(src); j += 4 {
						src[j].ID = docs[j].ID // replacements, some into other hours
					}
					dctx, cancel := context.WithTimeout(ctx, d)
					err := db.Write(dctx, src)
					cancel()
					t.Logf("deadline %v: %v", d, err)
				}
			},
			maxFull: 1, // none when both writes beat the deadline
			check:   true,
		},
		{
			name: "retention",
			change: func(t *testing.T) {
				if _, err := db.DeleteBefore(ctx, "cloudtrail", start.Add(26*time.Hour+17*time.Minute)); err != nil {
					t.Fatal(err)
				}
			},
			minFull: 1, maxFull: 1,
			check: true,
		},
		{
			name: "after retention",
			change: func(t *testing.T) {
				more, _ := genDocs(35, start.Add(29*time.Hour), 2*time.Minute, 300)
				writeAll(t, db, more, 100)
			},
			check: true,
		},
	}
	for _, s := range steps {
		before := checkCounts(t, db, s.name+" (before)")
		s.change(t)
		after := checkCounts(t, db, s.name)
		if n := after - before; n < s.minFull || n > s.maxFull {
			t.Errorf("%s: the table was counted whole %d times, want %d to %d", s.name, n, s.minFull, s.maxFull)
		}
		if s.check {
			if n := rollupCheck(t, db, sample); n < 10 {
				t.Errorf("%s: only %d of %d requests answered from the rollups", s.name, n, len(sample))
			}
		}
	}

	// Reopened: counted whole once, then kept again.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(false)
	if n := checkCounts(t, db, "reopened"); n != 1 {
		t.Errorf("reopened: the table was counted %d times, want 1", n)
	}
	more, _ := genDocs(36, start.Add(50*time.Hour), time.Minute, 200)
	writeAll(t, db, more, 200)
	if n := checkCounts(t, db, "reopened and written"); n != 1 {
		t.Errorf("reopened and written: the table was counted %d times, want 1", n)
	}
	if n := rollupCheck(t, db, sample); n < 10 {
		t.Errorf("reopened: only %d of %d requests answered from the rollups", n, len(sample))
	}

	// Read-only: one count, the snapshot's.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(true)
	checkCounts(t, db, "read-only")
}

// TestCountsNearTheEpoch checks the hour keys of documents around 1970,
// where DuckDB's integer division would truncate toward zero: the
// incremental counts must key them as the whole-table count does.
func TestCountsNearTheEpoch(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Options{})
	doc := func(id string, ts int64) store.Doc {
		return store.Doc{ID: id, Index: "log-test-1970-01", LogType: "test", TimestampMs: ts, Source: []byte(`{"a":1}`)}
	}
	writes := [][]store.Doc{
		{doc("a", 5*hourMs+1), doc("b", 7*hourMs)},
		{doc("c", 0), doc("d", 1), doc("e", -1), doc("f", hourMs-1), doc("g", -hourMs+1)},
		{doc("h", -hourMs), doc("i", -hourMs-1), doc("j", -2*hourMs+1), doc("k", -5*hourMs)},
		{doc("a", -3*hourMs), doc("e", 3*hourMs+5)}, // moved across zero both ways
		{doc("k", 2*hourMs)}, // the first hour emptied
	}
	for i, w := range writes {
		if err := db.Write(ctx, w); err != nil {
			t.Fatal(err)
		}
		checkCounts(t, db, "write "+string(rune('1'+i)))
	}
	if n := checkCounts(t, db, "end"); n != 1 {
		t.Errorf("the table was counted whole %d times, want once", n)
	}
}

// TestHourRunRange checks the timestamps a run of hour keys covers.
func TestHourRunRange(t *testing.T) {
	tests := []struct {
		name        string
		run         hourRun
		lo, hi      int64
		insideKeyed []int64 // timestamps that must fall in [lo, hi)
	}{
		{name: "positive", run: hourRun{2 * hourMs, 3 * hourMs}, lo: 2 * hourMs, hi: 4 * hourMs},
		{name: "zero", run: hourRun{0, 0}, lo: 0, hi: hourMs},
		{name: "negative", run: hourRun{-hourMs, -hourMs}, lo: -hourMs, hi: 0},
		{name: "across zero", run: hourRun{-hourMs, hourMs}, lo: -hourMs, hi: 2 * hourMs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := tt.run.tsRange()
			if lo != tt.lo || hi != tt.hi {
				t.Errorf("tsRange = [%d, %d), want [%d, %d)", lo, hi, tt.lo, tt.hi)
			}
			for _, ts := range []int64{lo, hi - 1} {
				if h := hourOf(ts); h < tt.run.first || h > tt.run.last {
					t.Errorf("ts %d: hour key %d outside the run", ts, h)
				}
			}
			for _, ts := range []int64{lo - 1, hi} {
				if h := hourOf(ts); h >= tt.run.first && h <= tt.run.last {
					t.Errorf("ts %d, outside the range: hour key %d inside the run", ts, h)
				}
			}
		})
	}
}

// TestCountsConcurrentWrites counts and answers panels from two readers
// while documents are written, replaced and moved, and checks that the
// counts left when the writes end are the table's: a count taken while a
// write commits is taken again for that write's hours.
func TestCountsConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, Options{Writers: 2})
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	docs, _ := genDocs(40, start, 40*time.Second, 8000)
	writeAll(t, db, docs, 4000)
	checkCounts(t, db, "written")
	reqs := rollupSample(start.UnixMilli()+hourMs/2, docs[len(docs)-1].TimestampMs)
	done := make(chan struct{})
	werr := make(chan error, 1)
	go func() {
		defer close(done)
		defer close(werr)
		for i := range 12 {
			src, _ := genDocs(uint64(41+i), start.Add(time.Duration(7*i)*time.Hour), 25*time.Second, 600)
			for j := range src {
				if j%3 == 0 {
					src[j].ID = docs[(i*600+j*7)%len(docs)].ID // moves a stored document
				}
			}
			if err := db.Write(ctx, src); err != nil {
				werr <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for k := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if k == 0 {
					if _, _, _, _, err := db.totals(ctx); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				r := reqs[i%len(reqs)]
				if _, err := db.Aggregate(ctx, r); err != nil {
					t.Errorf("%s %s: %v", r.Kind, r.Field, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if n := checkCounts(t, db, "after the writes"); n != 1 {
		t.Errorf("the table was counted whole %d times, want once", n)
	}
	if n := rollupCheck(t, db, reqs); n < 10 {
		t.Errorf("only %d of %d requests answered from the rollups", n, len(reqs))
	}
}

// BenchmarkTotalsAfterWrite measures the count per log type and hour that
// the first request after a write of 1,000 documents (late by up to three
// hours, as a stream's) waits for: "hours" counts the hours the write
// touched, "whole" the whole table (as after a failed write). It uses the
// store of BenchmarkQueries (VIGIL_BENCH_DIR, VIGIL_BENCH_DOCS).
func BenchmarkTotalsAfterWrite(b *testing.B) {
	db, _ := openBenchStore(b)
	defer func() { _ = db.Close() }() // a benchmark: nothing to report
	ctx := context.Background()
	if _, _, _, _, err := db.totals(ctx); err != nil {
		b.Fatal(err)
	}
	g := newDocGen(uint64(time.Now().UnixNano()), benchEnd.Add(-3*time.Hour), 3*time.Second)
	for _, whole := range []bool{false, true} {
		b.Run(map[bool]string{false: "hours", true: "whole"}[whole], func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				if err := db.Write(ctx, g.batch(1000)); err != nil {
					b.Fatal(err)
				}
				if whole {
					db.roll.untrack()
				}
				b.StartTimer()
				if _, _, _, _, err := db.totals(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
