//go:build cgo

package duckdb

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// TestSpanSets checks the arithmetic of the runs a request is split into.
func TestSpanSets(t *testing.T) {
	tests := []struct {
		name                       string
		a, b                       []span
		intersect, subtract, union []span
	}{
		{
			name:      "disjoint",
			a:         []span{{0, 10}},
			b:         []span{{20, 30}},
			subtract:  []span{{0, 10}},
			union:     []span{{0, 10}, {20, 30}},
			intersect: nil,
		},
		{
			name:      "inside",
			a:         []span{{0, 100}},
			b:         []span{{10, 20}, {40, 50}},
			intersect: []span{{10, 20}, {40, 50}},
			subtract:  []span{{0, 10}, {20, 40}, {50, 100}},
			union:     []span{{0, 100}},
		},
		{
			name:      "overlapping ends",
			a:         []span{{0, 15}, {30, 45}},
			b:         []span{{10, 35}},
			intersect: []span{{10, 15}, {30, 35}},
			subtract:  []span{{0, 10}, {35, 45}},
			union:     []span{{0, 45}},
		},
		{
			name:      "touching",
			a:         []span{{0, 10}},
			b:         []span{{10, 20}},
			intersect: nil,
			subtract:  []span{{0, 10}},
			union:     []span{{0, 20}},
		},
		{
			name:      "covered",
			a:         []span{{5, 10}},
			b:         []span{{0, 20}},
			intersect: []span{{5, 10}},
			subtract:  nil,
			union:     []span{{0, 20}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := intersect(tt.a, tt.b); !reflect.DeepEqual(got, tt.intersect) {
				t.Errorf("intersect = %v, want %v", got, tt.intersect)
			}
			if got := subtract(tt.a, tt.b); !reflect.DeepEqual(got, tt.subtract) {
				t.Errorf("subtract = %v, want %v", got, tt.subtract)
			}
			if got := union(tt.a, tt.b); !reflect.DeepEqual(got, tt.union) {
				t.Errorf("union = %v, want %v", got, tt.union)
			}
		})
	}
}

// TestRawSpans checks the runs left to the documents, open bounds included.
func TestRawSpans(t *testing.T) {
	tests := []struct {
		name     string
		from, to int64
		covered  []span
		want     []span
	}{
		{name: "both edges", from: 5, to: 95, covered: []span{{10, 90}}, want: []span{{5, 10}, {90, 95}}},
		{name: "aligned", from: 10, to: 90, covered: []span{{10, 90}}, want: nil},
		{name: "open", from: 0, to: 0, covered: []span{{10, 50}, {60, 90}}, want: []span{{math.MinInt64, 10}, {50, 60}, {90, math.MaxInt64}}},
		{name: "open end", from: 7, to: 0, covered: []span{{10, 90}}, want: []span{{7, 10}, {90, math.MaxInt64}}},
		{name: "covered from the epoch", from: 0, to: 0, covered: []span{{0, 90}}, want: []span{{math.MinInt64, 0}, {90, math.MaxInt64}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawSpans(tt.from, tt.to, tt.covered); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rawSpans(%d, %d, %v) = %v, want %v", tt.from, tt.to, tt.covered, got, tt.want)
			}
		})
	}
}

// TestWidthCosts checks the estimates that pick the bucket widths.
func TestWidthCosts(t *testing.T) {
	// Many keys per hour, few more per day (source addresses of flows).
	st := widthStats{hkeys: 5000, hall: 8000, dkeys: 20000, dall: 190000}
	lo := int64(1000*dayMs + 10*hourMs + 123)
	hi := lo + 30*dayMs
	hours, days, both := st.cost(lo, hi, true, false), st.cost(lo, hi, false, true), st.cost(lo, hi, true, true)
	if both >= days || days >= hours {
		t.Errorf("costs over 30 days: hours %d, days %d, both %d; want both < days < hours", hours, days, both)
	}
	if 2*both > hours {
		t.Errorf("30 days: both widths (%d) should read under half of the hours (%d)", both, hours)
	}
	// Two days: the hours around the one whole day dominate.
	if h, b := st.cost(lo, lo+2*dayMs, true, false), st.cost(lo, lo+2*dayMs, true, true); b >= h {
		t.Errorf("two days: both %d, hours %d; want fewer with both", b, h)
	}
	if c := (widthStats{hkeys: 1, hall: 1, dall: -1}).cost(lo, hi, true, true); c != -1 {
		t.Errorf("without a day measured, the cost with days is %d, want -1", c)
	}
}

// viewOf returns the registered view of spec s (its unit included).
func viewOf(db *DB, s rollupSpec) *rollView {
	db.roll.vmu.RLock()
	defer db.roll.vmu.RUnlock()
	return db.roll.views[s.key()]
}

// TestRollupsBothWidths gives shapes a view of hours and one of days and
// compares their answers with the plain SQL's after each kind of change,
// and checks that a request over days reads whole days from the view of
// days and the hours around them from the view of hours.
func TestRollupsBothWidths(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	docs, _ := genDocs(21, start, 60*time.Second, 12000) // about 8.3 days
	end := docs[len(docs)-1].TimestampMs + 1
	open := func(ro bool) *DB { return openAt(t, dir, Options{ReadOnly: ro}) }
	db := open(false)
	defer func() { _ = db.Close() }() // closed again below: a no-op then
	writeAll(t, db, docs, 4000)

	vpc, ct := []string{"vpcflowlogs"}, []string{"cloudtrail"}
	shapes := []rollupSpec{
		{LogTypes: vpc, Field: "source.ip", Metric: "network.bytes"},
		{LogTypes: vpc, Field: "source.ip"},
		{LogTypes: ct, Field: "event.action"},
		{LogTypes: ct, Field: "cloud.region", Field2: "event.module"},
		{LogTypes: ct, Field: "event.module", Field2: "cloud.region"}, // days with the fields the other way round
	}
	for i, s := range shapes {
		if i != 3 {
			d := s
			d.Unit = dayMs
			forceView(t, db, d)
		}
		if i != 4 {
			h := s
			h.Unit = hourMs
			forceView(t, db, h)
		}
	}
	f := func(from, to int64, lts []string) store.Filter {
		return store.Filter{From: from, To: to, LogTypes: lts}
	}
	reqs := func(from, to int64) []store.AggRequest {
		return []store.AggRequest{
			{Kind: store.AggTerms, Field: "source.ip", Metric: "network.bytes", Size: 10, Filter: f(from, to, vpc)},
			{Kind: store.AggTerms, Field: "source.ip", Size: 10, Filter: f(from, to, vpc)},
			{Kind: store.AggCardinality, Field: "source.ip", Filter: f(from, to, vpc)},
			{Kind: store.AggTerms, Field: "event.action", Size: 5, Filter: f(from, to, ct)},
			{Kind: store.AggTerms2, Field: "cloud.region", Field2: "event.module", Size: 20, Filter: f(from, to, ct)},
			{Kind: store.AggTerms2, Field: "event.module", Field2: "cloud.region", Size: 20, Filter: f(from, to, ct)},
			{Kind: store.AggDateHistogram, Field: "source.ip", Size: 3, Filter: f(from, to, vpc)},
		}
	}
	ranges := [][2]int64{
		{start.UnixMilli() + 5*hourMs + 17*60000 + 123, end - 3*hourMs - 11*60000}, // unaligned
		{start.UnixMilli() + dayMs, start.UnixMilli() + 6*dayMs},                   // whole days
		{start.UnixMilli() + 20*hourMs, start.UnixMilli() + 3*dayMs + 4*hourMs},    // whole hours, one day inside
		{0, 0},                                // open
		{start.UnixMilli() + 7*hourMs + 1, 0}, // open end
		{start.UnixMilli() - 400*dayMs, end + 400*dayMs},
	}
	check := func(step string, wantServed int) {
		t.Helper()
		served := 0
		for _, rg := range ranges {
			served += rollupCheck(t, db, reqs(rg[0], rg[1]))
		}
		t.Logf("%s: %d requests answered from the rollups", step, served)
		if served < wantServed {
			t.Errorf("%s: only %d requests answered from the rollups, want %d", step, served, wantServed)
		}
	}
	check("written", 40)

	// The unaligned month-like range reads whole days from the days and
	// the hours around them from the hours.
	hours, minH, maxH, _, err := db.totals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	talkers := shapes[0]
	talkers.Unit = dayMs
	vd := viewOf(db, talkers)
	talkers.Unit = hourMs
	vh := viewOf(db, talkers)
	if vd == nil || vh == nil {
		t.Fatalf("the talkers have no view of days (%v) or of hours (%v)", vd, vh)
	}
	lo, hi := ranges[0][0], ranges[0][1]
	pl := planner{d: db, views: []*rollView{vd, vh}, lo: lo, hi: hi, minH: minH, maxH: maxH, hours: hours}
	parts, err := pl.plan(ctx, db.db, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].v != vd || parts[1].v != vh {
		t.Fatalf("the plan has %d parts, want the days then the hours", len(parts))
	}
	if got, want := parts[0].valid[0].lo, ceilTo(lo, dayMs); got != want {
		t.Errorf("the days start at %d, want %d", got, want)
	}
	if got, want := parts[1].valid[0], (span{ceilTo(lo, hourMs), ceilTo(lo, dayMs)}); got != want {
		t.Errorf("the first hours are %v, want %v", got, want)
	}
	if raw := rawSpans(lo, hi, union(parts[0].valid, parts[1].valid)); len(raw) != 2 || raw[0].hi-raw[0].lo >= hourMs || raw[1].hi-raw[1].lo >= hourMs {
		t.Errorf("the documents read are %v, want two partial hours", raw)
	}

	// Late documents in built days, replacements, retention deletes.
	late, _ := genDocs(22, start.Add(30*time.Hour), 90*time.Second, 2000)
	writeAll(t, db, late, 500)
	check("late documents", 40)
	repl, _ := genDocs(23, start.Add(50*time.Hour), 20*time.Second, 2000)
	for i := range repl {
		orig := docs[i*5]
		repl[i].ID = orig.ID
		if i%2 == 0 {
			repl[i].TimestampMs = orig.TimestampMs
		}
	}
	writeAll(t, db, repl, 2000)
	check("replaced", 40)
	if _, err := db.DeleteBefore(ctx, "vpcflowlogs", time.UnixMilli(start.UnixMilli()+2*dayMs+5*hourMs+99)); err != nil {
		t.Fatal(err)
	}
	check("vpc deleted", 40)
	if _, err := db.DeleteBefore(ctx, "", time.UnixMilli(start.UnixMilli()+dayMs+13*hourMs)); err != nil {
		t.Fatal(err)
	}
	check("all deleted", 40)

	// One width dropped (as the cap drops the least recently used): the
	// other answers alone.
	db.roll.mu.Lock()
	err = db.dropView(ctx, vd)
	if err == nil {
		db.roll.vmu.Lock()
		delete(db.roll.views, vd.spec.key())
		db.roll.vmu.Unlock()
	}
	db.roll.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	check("days dropped", 40)

	// Reopened, then read-only after a write: valid buckets of both
	// widths answer, nothing is built.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(false)
	check("reopened", 40)
	late2, _ := genDocs(24, start.Add(80*time.Hour), 60*time.Second, 1000)
	writeAll(t, db, late2, 1000)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(true)
	check("read-only", 0)
}

// TestRollupSecondWidth checks that a shape whose view has the other
// width gets one of days (or hours) on the second request over a range
// where both would read under half the rows, and not before.
func TestRollupSecondWidth(t *testing.T) {
	db := openTest(t, Options{})
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	docs, _ := genDocs(25, start, 60*time.Second, 12000)
	writeAll(t, db, docs, 4000)
	end := docs[len(docs)-1].TimestampMs
	vpc := []string{"vpcflowlogs"}
	tests := []struct {
		name  string
		have  int64 // the width registered first
		other int64
		req   store.AggRequest
	}{
		{
			name: "hours, then days", have: hourMs, other: dayMs,
			req: store.AggRequest{Kind: store.AggTerms, Field: "destination.port", Metric: "network.bytes", Size: 10,
				Filter: store.Filter{LogTypes: vpc, From: start.UnixMilli() + 90*60000, To: end - 20*60000}},
		},
		{
			name: "days, then hours", have: dayMs, other: hourMs,
			req: store.AggRequest{Kind: store.AggCardinality, Field: "source.geo.country_iso_code",
				Filter: store.Filter{LogTypes: vpc, From: start.UnixMilli() + 90*60000, To: end - 20*60000}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rollupSpec{LogTypes: vpc, Field: tt.req.Field, Metric: tt.req.Metric, Unit: tt.have}
			forceView(t, db, s)
			o := s
			o.Unit = tt.other
			for i := range rollupAsks {
				if viewOf(db, o) != nil {
					t.Fatalf("a view of the other width after %d requests", i)
				}
				if n := rollupCheck(t, db, []store.AggRequest{tt.req}); n != 1 {
					t.Fatalf("request %d not answered from the rollups", i+1)
				}
			}
			st := db.roll.widths[rollupSpec{LogTypes: vpc, Field: tt.req.Field, Metric: tt.req.Metric}.key()]
			lo, hi := tt.req.From, tt.req.To
			alone := st.cost(lo, hi, tt.have == hourMs, tt.have == dayMs)
			both := st.cost(lo, hi, true, true)
			registered := viewOf(db, o) != nil
			if registered != (both >= 0 && 2*both <= alone) {
				t.Errorf("registered %v; estimates: %d rows with both widths, %d alone (%+v)", registered, both, alone, st)
			}
			if !registered {
				t.Fatalf("at this density both widths would not pay: %+v", st)
			}
			if n := rollupCheck(t, db, []store.AggRequest{tt.req}); n != 1 {
				t.Errorf("not answered from the rollups with both widths")
			}
		})
	}
}
