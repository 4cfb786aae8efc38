//go:build cgo

package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/query"
	"github.com/vigil-siem/vigil/internal/store"
)

// keyRows reads the grouped fields of an aggregation, one row per value
// (lists unnested, two lists crossed), as the plain SQL does.
type keyRows struct {
	f1, f2, m *query.SQLField // f2 and m may be nil
}

func (d *DB) keyRowsFor(field, field2, metric string) (keyRows, error) {
	var k keyRows
	f1, err := d.aggField(field)
	if err != nil {
		return k, err
	}
	k.f1 = &f1
	if field2 != "" {
		f2, err := d.aggField(field2)
		if err != nil {
			return k, err
		}
		k.f2 = &f2
	}
	if metric != "" {
		m, err := d.fieldExpr(metric)
		if err != nil {
			return k, fmt.Errorf("summing %q: %w", metric, err)
		}
		if m.List || m.Kind != query.Long {
			return k, fmt.Errorf("summing %q: not a long field", metric)
		}
		k.m = &m
	}
	return k, nil
}

func unnested(f *query.SQLField) string {
	if f.List {
		return "unnest(" + f.Expr + ")"
	}
	return f.Expr
}

// sql returns "SELECT ts, k1[, k2][, m] FROM docs WHERE where".
func (k keyRows) sql(where string, wargs []any) (string, []any) {
	args := append([]any(nil), k.f1.Args...)
	if k.f2 != nil && k.f1.List && k.f2.List {
		// Two unnests in one SELECT pair elements up; cross them instead.
		args = append(append(args, k.f2.Args...), wargs...)
		return "SELECT ts, k1, unnest(l2) AS k2 FROM (SELECT ts, unnest(" + k.f1.Expr + ") AS k1, " + k.f2.Expr + " AS l2 FROM docs WHERE " + where + ")", args
	}
	q := "SELECT ts, " + unnested(k.f1) + " AS k1"
	if k.f2 != nil {
		q += ", " + unnested(k.f2) + " AS k2"
		args = append(args, k.f2.Args...)
	}
	if k.m != nil {
		q += ", " + k.m.Expr + " AS m"
		args = append(args, k.m.Args...)
	}
	return q + " FROM docs WHERE " + where, append(args, wargs...)
}

func (k keyRows) k2Cast() string {
	if k.f2 == nil {
		return "NULL"
	}
	return "CAST(k2 AS VARCHAR)"
}

func (k keyRows) k2Group() string {
	if k.f2 == nil {
		return ""
	}
	return ", k2"
}

func (k keyRows) notNull() string {
	if k.f2 == nil {
		return "k1 IS NOT NULL"
	}
	return "k1 IS NOT NULL AND k2 IS NOT NULL"
}

// order returns how the plain SQL orders a field's keys, applied to the
// key's text in col: numbers as numbers.
func order(f *query.SQLField, col string) string {
	switch f.Kind {
	case query.Long, query.Date:
		return "TRY_CAST(" + col + " AS BIGINT)"
	case query.Double:
		return "TRY_CAST(" + col + " AS DOUBLE)"
	}
	return col
}

// rollupScope is where every answer from the rollups starts: the
// request's filter as a view spec (no fields yet), its range with open
// ends closed by the stored hours, and the documents per hour.
type rollupScope struct {
	want       rollupSpec
	lo, hi     int64
	hours      hourCounts
	minH, maxH int64
}

// rollupScope returns r's scope; ok is false when the rollups cannot
// answer r: a query with relative dates (the answer moves with the clock),
// a range under rollupMinSpan, rollups off or an empty store.
func (d *DB) rollupScope(ctx context.Context, r store.AggRequest) (sc rollupScope, ok bool, err error) {
	q := strings.TrimSpace(r.Query)
	if n, err := query.Parse(q); err != nil || query.Relative(n) {
		// The plain SQL reports a malformed query.
		return sc, false, nil
	}
	if (r.From != 0 && r.To != 0 && r.To-r.From < rollupMinSpan) || d.roll.ensure(ctx, d) != nil {
		return sc, false, nil
	}
	hours, minH, maxH, have, err := d.totals(ctx)
	if err != nil || !have {
		return sc, false, err
	}
	lo, hi := r.From, r.To
	if lo == 0 {
		lo = minH
	}
	if hi == 0 {
		hi = maxH + hourMs
	}
	if hi-lo < rollupMinSpan {
		return sc, false, nil
	}
	lts := slices.Clone(r.LogTypes)
	slices.Sort(lts)
	return rollupScope{want: rollupSpec{LogTypes: slices.Compact(lts), Query: q}, lo: lo, hi: hi, hours: hours, minH: minH, maxH: maxH}, true, nil
}

// rollupAggregate answers r from a rollup view when one can: ok false
// means it cannot and the caller runs the plain SQL. The answer is the
// plain SQL's, except for cardinality, which is exact here (the plain SQL
// estimates it).
func (d *DB) rollupAggregate(ctx context.Context, r store.AggRequest, size int) (res *store.AggResult, ok bool, err error) {
	switch r.Kind {
	case store.AggCount, store.AggTerms, store.AggTerms2, store.AggDateHistogram, store.AggCardinality:
	default:
		return nil, false, nil
	}
	sc, ok, err := d.rollupScope(ctx, r)
	if !ok || err != nil {
		return nil, false, err
	}
	hours, minH, maxH, lo, hi, want := sc.hours, sc.minH, sc.maxH, sc.lo, sc.hi, sc.want
	// The grouped fields must resolve as the plain SQL resolves them.
	var kr keyRows
	if r.Kind != store.AggCount && (r.Kind != store.AggDateHistogram || r.Field != "") {
		metric := ""
		if r.Kind == store.AggTerms {
			metric = r.Metric
		}
		f2 := ""
		if r.Kind == store.AggTerms2 {
			f2 = r.Field2
		}
		if kr, err = d.keyRowsFor(r.Field, f2, metric); err != nil {
			return nil, false, nil // the plain SQL reports it
		}
	}
	filterOf := func(s rollupSpec) bool { return s.sameFilter(want) }
	var iv int64 // histogram interval, ms
	var match func(rollupSpec) bool
	probe := func() (int64, bool) { return d.probeUnit(ctx, kr, want, lo, hi, false) }
	switch {
	case r.Kind == store.AggCount || (r.Kind == store.AggDateHistogram && r.Field == ""):
		match = func(s rollupSpec) bool { return filterOf(s) && s.Field == "" }
		probe = func() (int64, bool) { return hourMs, true }
	case r.Kind == store.AggTerms && r.Metric != "":
		want.Field, want.Metric = r.Field, r.Metric
		match = func(s rollupSpec) bool {
			return filterOf(s) && s.Field == r.Field && s.Field2 == "" && s.Metric == r.Metric
		}
	case r.Kind == store.AggTerms2:
		want.Field, want.Field2 = r.Field, r.Field2
		match = func(s rollupSpec) bool {
			return filterOf(s) && ((s.Field == r.Field && s.Field2 == r.Field2) || (s.Field == r.Field2 && s.Field2 == r.Field))
		}
	default: // terms by count, cardinality, histogram split by a field
		hist := r.Kind == store.AggDateHistogram
		want.Field = r.Field
		if hist {
			want.Unit = hourMs // only hours will do: remember that separately
			probe = func() (int64, bool) { return d.probeUnit(ctx, kr, want, lo, hi, true) }
		}
		match = func(s rollupSpec) bool {
			return filterOf(s) && s.Field == r.Field && s.Field2 == "" && (!hist || s.Unit == hourMs)
		}
	}
	v, err := d.view(ctx, want, match, probe)
	if err != nil || v == nil {
		return nil, false, err
	}
	u := v.spec.Unit
	views := []*rollView{v}
	if r.Kind == store.AggTerms || r.Kind == store.AggCardinality {
		// A shape may have a view of hours and one of days: whole days
		// from the one, the hours around them from the other. Not pairs:
		// their pruning reads one view, built whole (pairs.go).
		other, err := d.secondWidth(ctx, want, match, v, kr, lo, hi)
		if err != nil {
			return nil, false, err
		}
		if other != nil {
			views = append(views, other)
			if other.spec.Unit > v.spec.Unit {
				views[0], views[1] = other, v
			}
		}
	}
	if r.Kind == store.AggDateHistogram {
		dur := r.Interval
		if dur < 0 || (dur > 0 && dur < time.Millisecond) {
			return nil, false, nil // the plain SQL reports it
		}
		if dur == 0 {
			from, to := r.From, r.To
			if from == 0 || to == 0 {
				return nil, false, nil // the bounds of the matching documents: the plain SQL finds them
			}
			dur = autoInterval(to - from)
		}
		iv = dur.Milliseconds()
		if iv%u != 0 {
			return nil, false, nil
		}
	}
	// Whole buckets inside the range, and only where documents are: the
	// rest of the range (nothing, or what was written since the count) is
	// read from the documents.
	if first, last := max(ceilTo(lo, u), floorTo(minH, u)), min(floorTo(hi, u), ceilTo(maxH+hourMs, u)); last-first < u {
		return nil, false, nil
	}
	pl := planner{d: d, views: views, lo: lo, hi: hi, minH: minH, maxH: maxH, hours: hours}
	if d.w != nil {
		// Build what is missing or stale, then answer from one snapshot.
		if _, err := pl.plan(ctx, d.db, true); err != nil {
			return nil, false, err
		}
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("reading rollup view %d: %w", v.id, err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to keep
	parts, err := pl.plan(ctx, tx, false)
	if err != nil {
		return nil, false, err
	}
	if len(parts) == 0 {
		return nil, false, nil
	}
	// The documents outside the valid buckets: the edges and stale runs.
	var covered []span
	for i := range parts {
		parts[i].v.used.Store(time.Now().UnixNano())
		parts[i].swap = r.Kind == store.AggTerms2 && parts[i].v.spec.Field != r.Field
		covered = union(covered, parts[i].valid)
	}
	c := combiner{d: d, r: r, parts: parts, raw: rawSpans(r.From, r.To, covered), kr: kr, iv: iv, size: size}
	res, err = c.run(ctx, tx)
	if err != nil {
		return nil, false, err
	}
	return res, true, nil
}

// rollPart is the buckets of one view a request is answered from.
type rollPart struct {
	v     *rollView
	valid []span // whole valid buckets, in order
	swap  bool   // the view has the request's two fields the other way round
}

// planner splits a request's range [lo, hi) between its views: the
// widest buckets first, then the narrower ones for what the wider leave
// (the edges, stale buckets), and the documents for the rest.
type planner struct {
	d          *DB
	views      []*rollView // widest buckets first
	lo, hi     int64
	minH, maxH int64
	hours      hourCounts
}

// plan returns the valid buckets of each view that answer the range, read
// with q. With build, it first builds the missing or stale buckets it
// would use (not those of the newest bucket: the stream is still writing
// into it, and reading it costs no more than building it again after
// every write); the caller holds no lock.
func (p *planner) plan(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, build bool) ([]rollPart, error) {
	need := []span{{p.lo, p.hi}}
	var parts []rollPart
	for _, v := range p.views {
		u := v.spec.Unit
		// Whole buckets of what is left, where documents are.
		dataLo, dataHi := floorTo(p.minH, u), ceilTo(p.maxH+hourMs, u)
		var whole []span
		for _, s := range need {
			if a, b := max(ceilTo(s.lo, u), dataLo), min(floorTo(s.hi, u), dataHi); b > a {
				whole = append(whole, span{a, b})
			}
		}
		if len(whole) == 0 {
			continue
		}
		first, last := whole[0].lo, whole[len(whole)-1].hi
		if build {
			newest := floorTo(p.maxH, u)
			buildable := func(stale []span) []span {
				stale = intersect(stale, whole)
				out := stale[:0:0]
				for _, s := range stale {
					s.hi = min(s.hi, newest)
					if s.lo < s.hi {
						out = append(out, s)
					}
				}
				return out
			}
			_, stale, err := p.d.validRuns(ctx, q, v, first, last, p.hours)
			if err != nil {
				return nil, err
			}
			if len(buildable(stale)) > 0 {
				v.build.Lock()
				if v.dropped {
					v.build.Unlock()
					continue
				}
				_, stale, err = p.d.validRuns(ctx, q, v, first, last, p.hours)
				if stale = buildable(stale); err == nil && len(stale) > 0 {
					err = p.d.refresh(ctx, v, stale)
				}
				v.build.Unlock()
				if err != nil {
					return nil, err
				}
			}
		}
		valid, _, err := p.d.validRuns(ctx, q, v, first, last, p.hours)
		if err != nil {
			return nil, err
		}
		if valid = intersect(valid, whole); len(valid) > 0 {
			parts = append(parts, rollPart{v: v, valid: valid})
			need = subtract(need, valid)
		}
	}
	return parts, nil
}

// intersect returns the parts of a that are in b; both are in order and
// without overlaps.
func intersect(a, b []span) []span {
	var out []span
	for i, j := 0, 0; i < len(a) && j < len(b); {
		if lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi); lo < hi {
			out = append(out, span{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// subtract returns the parts of a that are not in b; both are in order
// and without overlaps.
func subtract(a, b []span) []span {
	var out []span
	for _, s := range a {
		lo := s.lo
		for _, t := range b {
			if t.hi <= lo || t.lo >= s.hi {
				continue
			}
			if t.lo > lo {
				out = append(out, span{lo, t.lo})
			}
			lo = max(lo, t.hi)
		}
		if lo < s.hi {
			out = append(out, span{lo, s.hi})
		}
	}
	return out
}

// union merges two lists of spans without overlaps into one in order.
func union(a, b []span) []span {
	all := append(slices.Clone(a), b...)
	slices.SortFunc(all, func(x, y span) int { return cmp.Compare(x.lo, y.lo) })
	var out []span
	for _, s := range all {
		if n := len(out); n > 0 && out[n-1].hi >= s.lo {
			out[n-1].hi = max(out[n-1].hi, s.hi)
			continue
		}
		out = append(out, s)
	}
	return out
}

// rawSpans returns the parts of the request's range [from, to) (0: open)
// that covered leaves to the documents, with math.MinInt64 and
// math.MaxInt64 for open bounds (0 is a real bound there: the edge of a
// bucket at the epoch).
func rawSpans(from, to int64, covered []span) []span {
	lo, hi := from, to
	if from == 0 {
		lo = math.MinInt64
	}
	if to == 0 {
		hi = math.MaxInt64
	}
	return subtract([]span{{lo, hi}}, covered)
}

// widthStats is what the buckets of each width hold, from the last whole
// hour and day of a range: the view's distinct keys and every document.
type widthStats struct {
	hkeys, hall int64
	dkeys, dall int64 // dall < 0: no whole day in the range
}

// probeStats counts the keys and documents of the last whole hour and day
// of [lo, hi); ok false when the range holds no whole hour or the counts
// failed.
func (d *DB) probeStats(ctx context.Context, kr keyRows, s rollupSpec, lo, hi int64, hourOnly bool) (st widthStats, ok bool) {
	// keys counts the distinct keys of the view in [from, to), and every
	// document there.
	keys := func(from, to int64) (keys, all int64, err error) {
		where, wargs, err := d.where(store.Filter{Query: s.Query, LogTypes: s.LogTypes, From: from, To: to})
		if err != nil {
			return 0, 0, err
		}
		inner, args := kr.sql(where, wargs)
		q := "SELECT (SELECT count(DISTINCT (k1" + kr.k2Group() + ")) FROM (" + inner + ") WHERE " + kr.notNull() + "), (SELECT count(*) FROM docs WHERE ts >= ? AND ts < ?)"
		err = d.db.QueryRowContext(ctx, q, append(args, from, to)...).Scan(&keys, &all)
		return keys, all, err
	}
	h := floorTo(hi, hourMs)
	if h-hourMs < lo {
		return st, false
	}
	var err error
	if st.hkeys, st.hall, err = keys(h-hourMs, h); err != nil {
		return st, false
	}
	st.dall = -1
	if dd := floorTo(hi, dayMs); !hourOnly && dd-dayMs >= lo {
		if dkeys, dall, err := keys(dd-dayMs, dd); err == nil {
			st.dkeys, st.dall = dkeys, dall
		}
	}
	return st, true
}

// plain is roughly how many documents the plain SQL reads over [lo, hi).
func (st widthStats) plain(lo, hi int64) int64 { return (hi - lo) / hourMs * st.hall }

// cost is roughly how many rows a request over [lo, hi) reads from views
// of hours, of days, or both (whole days from the days, the hours around
// them from the hours), plus the documents of the partial buckets at the
// edges. The documents of the edges count whatever their log type, as the
// plain SQL reads them all. It is -1 when unknown.
func (st widthStats) cost(lo, hi int64, hours, days bool) int64 {
	nh := (hi - lo) / hourMs
	if days && st.dall < 0 {
		return -1
	}
	switch {
	case hours && days:
		nd := max(0, (floorTo(hi, dayMs)-ceilTo(lo, dayMs))/dayMs)
		return nd*st.dkeys + (nh-24*nd)*st.hkeys + 2*st.hall
	case days:
		return (hi-lo)/dayMs*st.dkeys + 2*st.dall
	default:
		return nh*st.hkeys + 2*st.hall
	}
}

// probeUnit decides a new view's bucket width from the last whole hour
// and day of the requested range, by what a request over the range would
// read: with hours, the rollup rows of every hour (the distinct keys of an
// hour, times the hours) plus the documents of up to two partial hours;
// with days, the same in days. The cheaper width wins, if it reads at most
// half as many rows as the plain SQL (every document of the range); else
// there is no view (pairs of addresses: nearly every flow is a pair of its
// own). Histograms need hours.
func (d *DB) probeUnit(ctx context.Context, kr keyRows, s rollupSpec, lo, hi int64, hourOnly bool) (int64, bool) {
	st, ok := d.probeStats(ctx, kr, s, lo, hi, hourOnly)
	if !ok {
		return 0, false
	}
	plain := st.plain(lo, hi)
	costH := st.cost(lo, hi, true, false)
	if costD := st.cost(lo, hi, false, true); costD >= 0 && costD < costH {
		return dayMs, 2*costD <= plain
	}
	return hourMs, 2*costH <= plain
}

// secondWidth returns the view of the other bucket width of have's shape
// (match), registering it when it pays: when a request over [lo, hi)
// answered from both (whole days from the days, the hours around them from
// the hours) would read at most half the rows it reads from have alone.
// A view of the other width is registered on the second request that would
// use it, as a new shape's view is; what each width reads is measured once
// per shape and process, as probeUnit measures it. It returns nil when no
// view of the other width is there or worth it.
func (d *DB) secondWidth(ctx context.Context, want rollupSpec, match func(rollupSpec) bool, have *rollView, kr keyRows, lo, hi int64) (*rollView, error) {
	r := &d.roll
	other := dayMs
	if have.spec.Unit == dayMs {
		other = hourMs
	}
	matchOther := func(s rollupSpec) bool { return s.Unit == other && match(s) }
	shape := want.key()
	r.vmu.RLock()
	v := findView(r.views, matchOther)
	st, measured := r.widths[shape]
	r.vmu.RUnlock()
	if v != nil || d.w == nil || hi-lo < dayMs+2*hourMs {
		return v, nil
	}
	if !measured {
		var ok bool
		if st, ok = d.probeStats(ctx, kr, want, lo, hi, false); !ok {
			st.dall = -1 // not measurable: never a second width
		}
		r.vmu.Lock()
		if len(r.widths) > 10000 {
			clear(r.widths)
		}
		r.widths[shape] = st
		r.vmu.Unlock()
	}
	both, alone := st.cost(lo, hi, true, true), st.cost(lo, hi, have.spec.Unit == hourMs, have.spec.Unit == dayMs)
	if both < 0 || alone < 0 || 2*both > alone {
		return nil, nil
	}
	want.Unit = other
	key := "width " + want.key()
	if !r.askedAgain(key) {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v := r.find(matchOther); v != nil {
		return v, nil
	}
	if have.dropped {
		return nil, nil // the shape's view has just been dropped to make room
	}
	return d.register(ctx, want)
}

// combiner merges views' valid buckets with the documents of the other
// runs into one answer.
type combiner struct {
	d *DB
	r store.AggRequest
	// One view's valid buckets (v, valid, swap), or several views' (parts).
	v     *rollView
	valid []span
	swap  bool
	parts []rollPart
	kr    keyRows
	raw   []span // answered from the documents (0 bounds are open)
	iv    int64
	size  int
}

// views returns the views' valid buckets.
func (c *combiner) views() []rollPart {
	if len(c.parts) > 0 {
		return c.parts
	}
	return []rollPart{{v: c.v, valid: c.valid, swap: c.swap}}
}

// rollRows returns the views' rows of the valid buckets as (b, k1, k2, n,
// s), k1 and k2 swapped where a view has the request's fields the other
// way round.
func (c *combiner) rollRows() (string, []any) { return c.rollRowsIn(0) }

// rollRowsIn is rollRows with buckets of width unit (a multiple of the
// views'; 0: as the views hold them). Each view is its own scan: a filter
// on one view lets DuckDB skip the row groups of the others.
func (c *combiner) rollRowsIn(unit int64) (string, []any) {
	var sels []string
	var args []any
	for _, p := range c.views() {
		var bs []string
		args = append(args, p.v.id)
		for _, s := range p.valid {
			bs = append(bs, "(b >= ? AND b < ?)")
			args = append(args, s.lo, s.hi)
		}
		k1, k2 := "k1", "k2"
		if p.swap {
			k1, k2 = "k2", "k1"
		}
		b := "b"
		if unit != 0 && unit != p.v.spec.Unit {
			least := int64(math.MinInt64)
			if len(p.valid) > 0 {
				least = p.valid[0].lo // the spans are in order
			}
			b = floorSQL("b", unit, least)
		}
		sels = append(sels, "SELECT "+b+" AS b, "+k1+" AS k1, "+k2+" AS k2, n, s FROM vigil_rollup WHERE view = ? AND ("+strings.Join(bs, " OR ")+")")
	}
	return strings.Join(sels, " UNION ALL "), args
}

// spanWhere returns the request's WHERE clause and its arguments with the
// time range of s, a run answered from the documents.
func (c *combiner) spanWhere(s span) (string, []any, error) {
	f := c.r.Filter
	f.From, f.To = 0, 0 // a Filter's 0 is open; the span's bounds are written here
	where, args, err := c.d.where(f)
	if err != nil {
		return "", nil, err
	}
	var conds []string
	var bounds []any
	if s.lo != math.MinInt64 {
		conds, bounds = append(conds, "ts >= ?"), append(bounds, s.lo)
	}
	if s.hi != math.MaxInt64 {
		conds, bounds = append(conds, "ts < ?"), append(bounds, s.hi)
	}
	return strings.Join(append(conds, where), " AND "), append(bounds, args...), nil
}

// rawRows returns the documents' rows of the other runs grouped as the
// view groups them, with b the bucket of width unit: (b, k1, k2, n, s).
func (c *combiner) rawRows(unit int64) (string, []any, error) {
	var parts []string
	var args []any
	for _, s := range c.raw {
		where, wargs, err := c.spanWhere(s)
		if err != nil {
			return "", nil, err
		}
		b := floorSQL("ts", unit, s.lo)
		if c.kr.f1 == nil {
			parts = append(parts, "SELECT "+b+" AS b, NULL AS k1, NULL AS k2, count(*) AS n, NULL AS s FROM docs WHERE "+where+" GROUP BY 1")
			args = append(args, wargs...)
			continue
		}
		inner, iargs := c.kr.sql(where, wargs)
		m := "NULL"
		if c.kr.m != nil {
			m = "sum(m)"
		}
		parts = append(parts, "SELECT "+b+" AS b, CAST(k1 AS VARCHAR) AS k1, "+c.kr.k2Cast()+" AS k2, count(*) AS n, "+m+" AS s FROM ("+inner+") WHERE "+c.kr.notNull()+" GROUP BY b, k1"+c.kr.k2Group())
		args = append(args, iargs...)
	}
	return strings.Join(parts, " UNION ALL "), args, nil
}

// all returns every row, the views' and the documents', with buckets of
// width unit for a histogram.
func (c *combiner) all(unit int64) (string, []any, error) {
	ru := int64(0)
	if c.r.Kind == store.AggDateHistogram {
		ru = unit
	}
	roll, args := c.rollRowsIn(ru)
	if len(c.raw) == 0 {
		return roll, args, nil
	}
	raw, rargs, err := c.rawRows(unit)
	if err != nil {
		return "", nil, err
	}
	return roll + " UNION ALL " + raw, append(args, rargs...), nil
}

func (c *combiner) run(ctx context.Context, tx *sql.Tx) (*store.AggResult, error) {
	r := c.r
	parts := c.views()
	unit := parts[len(parts)-1].v.spec.Unit // the narrowest
	if r.Kind == store.AggDateHistogram {
		unit = c.iv
	}
	rows, args, err := c.all(unit)
	if err != nil {
		return nil, err
	}
	res := &store.AggResult{}
	switch {
	case r.Kind == store.AggCount:
		var n sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT sum(n) FROM ("+rows+")", args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting: %w", err)
		}
		res.Value = float64(n.Int64)
	case r.Kind == store.AggCardinality:
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT count(DISTINCT k1) FROM ("+rows+")", args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting distinct values of %s: %w", r.Field, err)
		}
		res.Value = float64(n)
	case r.Kind == store.AggTerms:
		q := "SELECT k1, sum(n) AS c, sum(s) AS s FROM (" + rows + ") GROUP BY k1 ORDER BY "
		if r.Metric != "" {
			q += "s DESC NULLS LAST, "
		}
		q += "c DESC, " + order(c.kr.f1, "k1") + " LIMIT ?"
		if err := c.buckets(ctx, tx, q, append(args, c.size), res, func(rs *sql.Rows, b *store.Bucket) error {
			var s sql.NullFloat64
			if err := rs.Scan(&b.Key, &b.Count, &s); err != nil {
				return err
			}
			if r.Metric != "" {
				b.Value = s.Float64
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("terms of %s: %w", r.Field, err)
		}
	case r.Kind == store.AggTerms2:
		q := "SELECT k1, k2, sum(n) AS c FROM (" + rows + ") GROUP BY k1, k2 ORDER BY c DESC, " + order(c.kr.f1, "k1") + ", " + order(c.kr.f2, "k2") + " LIMIT ?"
		if err := c.buckets(ctx, tx, q, append(args, c.size), res, func(rs *sql.Rows, b *store.Bucket) error {
			return rs.Scan(&b.Key, &b.Key2, &b.Count)
		}); err != nil {
			return nil, fmt.Errorf("terms of %s and %s: %w", r.Field, r.Field2, err)
		}
	case r.Field == "": // histogram
		res.Interval = time.Duration(c.iv) * time.Millisecond
		q := "SELECT b, sum(n) FROM (" + rows + ") GROUP BY b ORDER BY b"
		if err := c.buckets(ctx, tx, q, args, res, func(rs *sql.Rows, b *store.Bucket) error {
			var start int64
			err := rs.Scan(&start, &b.Count)
			b.Key = strconv.FormatInt(start, 10)
			return err
		}); err != nil {
			return nil, fmt.Errorf("histogram: %w", err)
		}
		res.Buckets = fillGaps(res.Buckets, c.iv)
	default: // histogram split by a field
		res.Interval = time.Duration(c.iv) * time.Millisecond
		ord := order(c.kr.f1, "k1")
		q := "WITH g AS MATERIALIZED (SELECT b, k1, sum(n) AS c FROM (" + rows + ") GROUP BY b, k1), " +
			"top AS (SELECT k1 FROM g GROUP BY k1 ORDER BY sum(c) DESC, " + ord + " LIMIT ?) " +
			"SELECT b, k1, c FROM g SEMI JOIN top USING (k1) ORDER BY b, c DESC, " + ord
		if err := c.buckets(ctx, tx, q, append(args, c.size), res, func(rs *sql.Rows, b *store.Bucket) error {
			var start int64
			err := rs.Scan(&start, &b.Key2, &b.Count)
			b.Key = strconv.FormatInt(start, 10)
			return err
		}); err != nil {
			return nil, fmt.Errorf("histogram: %w", err)
		}
	}
	return res, nil
}

// buckets runs q and appends a bucket per row, read by scan.
func (c *combiner) buckets(ctx context.Context, tx *sql.Tx, q string, args []any, res *store.AggResult, scan func(*sql.Rows, *store.Bucket) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	res.Buckets = []store.Bucket{}
	for rows.Next() {
		var b store.Bucket
		if err := scan(rows, &b); err != nil {
			return err
		}
		res.Buckets = append(res.Buckets, b)
	}
	return rows.Err()
}
