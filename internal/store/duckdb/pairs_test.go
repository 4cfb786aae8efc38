//go:build cgo

package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// pairDocs returns n documents over days days from start, half VPC flows
// and half CloudTrail calls, whose pairs of addresses come from pick.
// Every document has a list of addresses (with the source twice in one in
// seven) and a list of categories.
func pairDocs(seed uint64, start time.Time, days, n int, pick func(r *rand.Rand, i int) (src, dst string, port int)) []store.Doc {
	r := rand.New(rand.NewPCG(seed, seed+1))
	span := int64(days) * dayMs
	docs := make([]store.Doc, n)
	for i := range docs {
		src, dst, port := pick(r, i)
		lt := "vpcflowlogs"
		if i%2 == 1 {
			lt = "cloudtrail"
		}
		action := []string{"ACCEPT", "ACCEPT", "REJECT"}[r.IntN(3)]
		related := `"` + dst + `","` + src + `"`
		if i%7 == 0 {
			related += `,"` + src + `"`
		}
		cats := []string{`"network"`, `"network","iam"`, `"web","network","web"`}[r.IntN(3)]
		src2 := fmt.Sprintf(`{"event":{"action":%q,"category":[%s]},"source":{"ip":%q},"destination":{"ip":%q,"port":%d},"related":{"ip":[%s]}}`,
			action, cats, src, dst, port, related)
		docs[i] = store.Doc{ID: fmt.Sprintf("p%d-%d", seed, i), Index: "log-" + lt, LogType: lt,
			TimestampMs: start.UnixMilli() + r.Int64N(span), Source: []byte(src2)}
	}
	return docs
}

// pairShapes are the kinds of data the pruning must answer exactly.
func pairShapes() map[string]func(r *rand.Rand, i int) (string, string, int) {
	ports := []int{443, 80, 8080, 22, 3389, 53}
	convs := make([][2]string, 300)
	for i := range convs {
		convs[i] = [2]string{fmt.Sprintf("10.0.%d.%d", i%7, i%250+1), fmt.Sprintf("10.1.%d.%d", i%5, i%90+1)}
	}
	return map[string]func(r *rand.Rand, i int) (string, string, int){
		// A few conversations hold most flows, as on a real network.
		"heavy": func(r *rand.Rand, i int) (string, string, int) {
			if r.IntN(5) == 0 { // noise: pairs of their own
				return fmt.Sprintf("203.0.%d.%d", r.IntN(256), r.IntN(256)), fmt.Sprintf("10.1.0.%d", r.IntN(200)), ports[r.IntN(len(ports))]
			}
			f := r.Float64()
			c := convs[int(float64(len(convs))*f*f*f)]
			return c[0], c[1], ports[int(float64(len(ports))*f*f)]
		},
		// Uniformly random pairs: nearly every pair is rare.
		"flat": func(r *rand.Rand, i int) (string, string, int) {
			return fmt.Sprintf("10.2.0.%d", r.IntN(120)), fmt.Sprintf("10.3.0.%d", r.IntN(120)), ports[r.IntN(len(ports))]
		},
		// Of 2,320 documents, each log type's: forty pairs of 24, five of
		// 40: ties at every size from 6 to 45, broken by the addresses
		// (v4 and v6 mixed).
		"ties": func(r *rand.Rand, i int) (string, string, int) {
			j := (i / 2) % 1160
			if j < 200 {
				return fmt.Sprintf("2001:db8::%x", j%5), "10.9.9.9", 80
			}
			j = (j - 200) % 40
			return fmt.Sprintf("10.%d.0.1", j%9), fmt.Sprintf("10.8.%d.%d", j/9, j%3), ports[j%len(ports)]
		},
		// Three pairs: fewer than most sizes asked for.
		"few": func(r *rand.Rand, i int) (string, string, int) {
			return []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}[i%3], "10.0.0.9", 443
		},
	}
}

// pairRequests are the terms2 requests the pruning is checked on over
// [from, to): pairs of addresses by several sizes and in both orders, with
// a query (one matching nothing), over two log types, pairs with lists
// (one or two) and with a number.
func pairRequests(from, to int64) []store.AggRequest {
	f := func(q string, lts ...string) store.Filter {
		return store.Filter{From: from, To: to, Query: q, LogTypes: lts}
	}
	var out []store.AggRequest
	for _, size := range []int{1, 3, 10, 25, 10000} {
		out = append(out, store.AggRequest{Kind: store.AggTerms2, Field: "source.ip", Field2: "destination.ip", Size: size, Filter: f("", "vpcflowlogs")})
	}
	return append(out,
		store.AggRequest{Kind: store.AggTerms2, Field: "destination.ip", Field2: "source.ip", Size: 10, Filter: f("", "vpcflowlogs")},
		store.AggRequest{Kind: store.AggTerms2, Field: "source.ip", Field2: "destination.ip", Size: 10, Filter: f("event.action:ACCEPT", "vpcflowlogs")},
		store.AggRequest{Kind: store.AggTerms2, Field: "source.ip", Field2: "destination.ip", Size: 10, Filter: f("event.action:NONE", "vpcflowlogs")}, // no pair at all
		store.AggRequest{Kind: store.AggTerms2, Field: "source.ip", Field2: "destination.ip", Size: 7, Filter: f("", "vpcflowlogs", "cloudtrail")},
		store.AggRequest{Kind: store.AggTerms2, Field: "source.ip", Field2: "destination.port", Size: 10, Filter: f("")},
		store.AggRequest{Kind: store.AggTerms2, Field: "related.ip", Field2: "event.action", Size: 10, Filter: f("", "cloudtrail")},
		store.AggRequest{Kind: store.AggTerms2, Field: "event.category", Field2: "related.ip", Size: 10, Filter: f("")},
		store.AggRequest{Kind: store.AggTerms2, Field: "related.ip", Field2: "event.category", Size: 4, Filter: f("", "vpcflowlogs")},
	)
}

// pairViewSpec is the view a pair request is answered from.
func pairViewSpec(r store.AggRequest, unit int64) rollupSpec {
	lts := slices.Clone(r.LogTypes)
	slices.Sort(lts)
	s := rollupSpec{LogTypes: lts, Query: r.Query, Field: r.Field, Field2: r.Field2, Unit: unit}
	if r.Field == "destination.ip" { // registered the other way round
		s.Field, s.Field2 = s.Field2, s.Field
	}
	return s
}

// TestPrunedPairsMatchTheSQL answers terms2 requests by pruning, within
// limits that force every path (first try, lower thresholds, pairs added
// up, giving up), on heavy-tailed, flat, tied and tiny data, from daily
// and hourly views, and compares each answer with the plain SQL's.
func TestPrunedPairsMatchTheSQL(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	end := start.UnixMilli() + 6*dayMs
	ranges := []struct {
		name     string
		from, to int64
		answered bool // by pruning, with the default limits
	}{
		{name: "unaligned", from: start.UnixMilli() + 5*hourMs + 17*60000 + 123, to: end - 3*hourMs - 11*60000, answered: true},
		{name: "whole days", from: start.UnixMilli() + dayMs, to: start.UnixMilli() + 5*dayMs, answered: true},
		{name: "open", answered: true},
		{name: "open end", from: start.UnixMilli() + 7*hourMs + 1, answered: true},
		{name: "beyond the documents", from: start.UnixMilli() - 400*dayMs, to: end + 400*dayMs, answered: true},
		{name: "nothing in it", from: start.UnixMilli() - 40*dayMs, to: start.UnixMilli() - 30*dayMs},
		{name: "too short", from: start.UnixMilli() + dayMs, to: start.UnixMilli() + 30*hourMs},
	}
	limits := []struct {
		name string
		lim  pruneLimits
	}{
		{name: "default", lim: pruneLimits{perBucket: pairsPerBucket, maxLookups: pairsMaxLookups, readShare: 1}},
		{name: "one row", lim: pruneLimits{perBucket: 0, maxLookups: pairsMaxLookups, readShare: 1}},
		{name: "no lookups", lim: pruneLimits{perBucket: 0, maxLookups: 0, readShare: 1}},
		{name: "big views", lim: pruneLimits{perBucket: 1, maxLookups: 3, readShare: pairsReadShare}},
		{name: "small views", lim: pruneLimits{perBucket: pairsPerBucket, maxLookups: pairsMaxLookups, minRows: pairsMinRows, readShare: pairsReadShare}},
	}
	var served, retried, looked, gaveUp int
	for name, pick := range pairShapes() {
		for _, unit := range []int64{dayMs, hourMs} {
			t.Run(fmt.Sprintf("%s/%dh", name, unit/hourMs), func(t *testing.T) {
				db := openTest(t, Options{})
				n := 5000
				if name == "ties" {
					n = 2320
				}
				writeAll(t, db, pairDocs(uint64(len(name))+uint64(unit), start, 6, n, pick), 2500)
				for _, r := range pairRequests(0, 0) {
					forceView(t, db, pairViewSpec(r, unit))
					if _, _, err := db.rollupAggregate(ctx, r, r.Size); err != nil { // builds the view
						t.Fatal(err)
					}
				}
				for _, rg := range ranges {
					for _, r := range pairRequests(rg.from, rg.to) {
						where, args, err := db.where(r.Filter)
						if err != nil {
							t.Fatal(err)
						}
						want, err := db.aggregateSQL(ctx, r, r.Size, where, args)
						if err != nil {
							t.Fatal(err)
						}
						for _, l := range limits {
							what := fmt.Sprintf("%s: %s %s/%s size %d q=%q lt=%v, limits %s", rg.name, r.Kind, r.Field, r.Field2, r.Size, r.Query, r.LogTypes, l.name)
							got, st, ok, err := db.prunePairs(ctx, r, r.Size, l.lim)
							if err != nil {
								t.Fatalf("%s: %v", what, err)
							}
							if l.name == "small views" {
								if ok {
									t.Errorf("%s: a small view answered by pruning", what)
								}
								continue
							}
							if !ok {
								if l.name == "default" && rg.answered {
									t.Errorf("%s: not answered by pruning", what)
								}
								if l.name == "big views" {
									gaveUp++
								}
								continue
							}
							served++
							if st.tries > 1 {
								retried++
							}
							if st.lookups > 0 {
								looked++
							}
							if !reflect.DeepEqual(got.Buckets, want.Buckets) {
								t.Errorf("%s (tries %d, lookups %d):\npruned %+v\nSQL    %+v", what, st.tries, st.lookups, got.Buckets, want.Buckets)
							}
						}
					}
				}
			})
		}
	}
	t.Logf("%d answers by pruning, %d after lowering the threshold, %d adding up pairs' rows; %d given up", served, retried, looked, gaveUp)
	if retried == 0 || looked == 0 || gaveUp == 0 {
		t.Errorf("a path was never taken: %d retried, %d looked up, %d given up", retried, looked, gaveUp)
	}
}

// TestAggregatePairsByPruning follows a pair panel through Aggregate and
// checks when the pruning answers: not without a view, nor before the
// rollups built it, then yes; not after a write into built buckets until
// the rollups rebuilt them; never for a query with "now" or a short range;
// and from a read-only store's valid buckets. Every answer of Aggregate
// is the plain SQL's.
func TestAggregatePairsByPruning(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func(ro bool) *DB { return openAt(t, dir, Options{ReadOnly: ro}) }
	db := open(false)
	defer func() { _ = db.Close() }() // closed again below: a no-op then
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	docs, _ := genDocs(21, start, 40*time.Second, 16000) // about 7.4 days
	writeAll(t, db, docs, 4000)
	end := docs[len(docs)-1].TimestampMs
	panel := store.AggRequest{Kind: store.AggTerms2, Field: "source.ip", Field2: "destination.ip", Size: 10,
		Filter: store.Filter{LogTypes: []string{"vpcflowlogs"}, From: start.UnixMilli() + 3*hourMs + 5, To: end - 2*hourMs}}
	check := func(step string, r store.AggRequest, wantPruned bool) {
		t.Helper()
		where, args, err := db.where(r.Filter)
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.aggregateSQL(ctx, r, r.Size, where, args)
		if err != nil {
			t.Fatal(err)
		}
		// The test's views are small: the pruning, as for large ones.
		_, _, pruned, err := db.prunePairs(ctx, r, r.Size, pruneLimits{perBucket: pairsPerBucket, maxLookups: pairsMaxLookups, readShare: 1})
		if err != nil {
			t.Fatal(err)
		}
		if pruned != wantPruned {
			t.Errorf("%s: answered by pruning %v, want %v", step, pruned, wantPruned)
		}
		got, err := db.Aggregate(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if got.Took, want.Took = 0, 0; !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nAggregate %+v\nSQL       %+v", step, got, want)
		}
	}
	check("no view", panel, false)
	forceView(t, db, pairViewSpec(panel, dayMs))
	check("not built", panel, false) // the rollups build it
	check("built", panel, true)
	// The view for the fields the other way round.
	swapped := panel
	swapped.Field, swapped.Field2 = panel.Field2, panel.Field
	check("swapped", swapped, true)

	// Late documents in a built day: the rollups rebuild it, then it
	// prunes again.
	late, _ := genDocs(22, start.Add(50*time.Hour), 30*time.Second, 3000)
	writeAll(t, db, late, 3000)
	check("after a late write", panel, false)
	check("rebuilt", panel, true)

	now := panel
	now.Query = "now"
	check("now", now, false)
	short := panel
	short.To = short.From + dayMs
	check("short", short, false)

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(true)
	check("read-only", panel, true)
}

// BenchmarkPrunedPairs measures the pairs panel answered by pruning and by
// adding up the view's rows, on generated documents (VIGIL_BENCH_PAIRS of
// them, default 200,000, over 30 days).
func BenchmarkPrunedPairs(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, Options{})
	n := envInt("VIGIL_BENCH_PAIRS", 200000)
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	g := newDocGen(5, start, 30*24*time.Hour/time.Duration(n))
	for off := 0; off < n; off += 20000 {
		if err := db.Write(ctx, g.batch(min(20000, n-off))); err != nil {
			b.Fatal(err)
		}
	}
	r := store.AggRequest{Kind: store.AggTerms2, Field: "source.ip", Field2: "destination.ip", Size: 10,
		Filter: store.Filter{LogTypes: []string{"vpcflowlogs"}, From: start.UnixMilli() + 23*hourMs, To: start.UnixMilli() + 29*dayMs + 37*60000}}
	forceView(b, db, pairViewSpec(r, dayMs))
	if _, _, err := db.rollupAggregate(ctx, r, r.Size); err != nil {
		b.Fatal(err)
	}
	for _, pruned := range []bool{true, false} {
		b.Run("pruned="+strconv.FormatBool(pruned), func(b *testing.B) {
			for b.Loop() {
				var ok bool
				var err error
				if pruned {
					_, ok, err = db.prunedPairs(ctx, r, r.Size)
				} else {
					_, ok, err = db.rollupAggregate(ctx, r, r.Size)
				}
				if err != nil || !ok {
					b.Fatalf("answered %v, %v", ok, err)
				}
			}
		})
	}
}
