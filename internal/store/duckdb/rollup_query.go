//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"fmt"
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
	q := strings.TrimSpace(r.Query)
	if strings.Contains(strings.ToLower(q), "now") {
		return nil, false, nil // relative dates: the answer moves with the clock
	}
	if (r.From != 0 && r.To != 0 && r.To-r.From < rollupMinSpan) || d.roll.ensure(ctx, d) != nil {
		return nil, false, nil
	}
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
	hours, minH, maxH, have, err := d.totals(ctx)
	if err != nil || !have {
		return nil, false, err
	}
	lo, hi := r.From, r.To
	if lo == 0 {
		lo = minH
	}
	if hi == 0 {
		hi = maxH + hourMs
	}
	if hi-lo < rollupMinSpan {
		return nil, false, nil
	}
	lts := slices.Clone(r.LogTypes)
	slices.Sort(lts)
	lts = slices.Compact(lts)
	want := rollupSpec{LogTypes: lts, Query: q}
	filterOf := func(s rollupSpec) bool { return s.sameFilter(want) }
	var iv int64 // histogram interval, ms
	swap := false
	var v *rollView
	switch {
	case r.Kind == store.AggCount || (r.Kind == store.AggDateHistogram && r.Field == ""):
		v, err = d.view(ctx, want, func(s rollupSpec) bool { return filterOf(s) && s.Field == "" }, func() (int64, bool) { return hourMs, true })
	case r.Kind == store.AggTerms && r.Metric != "":
		want.Field, want.Metric = r.Field, r.Metric
		v, err = d.view(ctx, want, func(s rollupSpec) bool {
			return filterOf(s) && s.Field == r.Field && s.Field2 == "" && s.Metric == r.Metric
		}, func() (int64, bool) { return d.probeUnit(ctx, kr, want, lo, hi, false) })
	case r.Kind == store.AggTerms2:
		want.Field, want.Field2 = r.Field, r.Field2
		v, err = d.view(ctx, want, func(s rollupSpec) bool {
			return filterOf(s) && ((s.Field == r.Field && s.Field2 == r.Field2) || (s.Field == r.Field2 && s.Field2 == r.Field))
		}, func() (int64, bool) { return d.probeUnit(ctx, kr, want, lo, hi, false) })
		swap = v != nil && v.spec.Field != r.Field
	default: // terms by count, cardinality, histogram split by a field
		hist := r.Kind == store.AggDateHistogram
		want.Field = r.Field
		if hist {
			want.Unit = hourMs // only hours will do: remember that separately
		}
		v, err = d.view(ctx, want, func(s rollupSpec) bool {
			return filterOf(s) && s.Field == r.Field && s.Field2 == "" && (!hist || s.Unit == hourMs)
		}, func() (int64, bool) { return d.probeUnit(ctx, kr, want, lo, hi, hist) })
	}
	if err != nil || v == nil {
		return nil, false, err
	}
	u := v.spec.Unit
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
	first := max(ceilTo(lo, u), floorTo(minH, u))
	last := min(floorTo(hi, u), ceilTo(maxH+hourMs, u))
	if last-first < u {
		return nil, false, nil
	}
	// Build what is missing or stale, then answer from one snapshot. The
	// bucket holding the newest documents is not built while stale: the
	// stream is still writing into it, and reading it costs no more than
	// building it again after every write.
	newest := floorTo(maxH, u)
	buildable := func(runs []span) []span {
		out := runs[:0:0]
		for _, s := range runs {
			if s.hi > newest {
				s.hi = newest
			}
			if s.lo < s.hi {
				out = append(out, s)
			}
		}
		return out
	}
	if d.w != nil {
		_, stale, err := d.validRuns(ctx, d.db, v, first, last, hours)
		if err != nil {
			return nil, false, err
		}
		if len(buildable(stale)) > 0 {
			v.build.Lock()
			if v.dropped {
				v.build.Unlock()
				return nil, false, nil
			}
			_, stale, err = d.validRuns(ctx, d.db, v, first, last, hours)
			if stale = buildable(stale); err == nil && len(stale) > 0 {
				err = d.refresh(ctx, v, stale)
			}
			v.build.Unlock()
			if err != nil {
				return nil, false, err
			}
		}
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("reading rollup view %d: %w", v.id, err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to keep
	valid, stale, err := d.validRuns(ctx, tx, v, first, last, hours)
	if err != nil {
		return nil, false, err
	}
	if len(valid) == 0 {
		return nil, false, nil
	}
	v.used.Store(time.Now().UnixNano())
	// The documents outside the valid buckets: the edges and stale runs.
	var raw []span
	if r.From < first || r.From == 0 {
		raw = append(raw, span{r.From, first})
	}
	raw = append(raw, stale...)
	if r.To > last || r.To == 0 {
		raw = append(raw, span{last, r.To})
	}
	c := combiner{d: d, r: r, v: v, kr: kr, valid: valid, raw: raw, iv: iv, swap: swap, size: size}
	res, err = c.run(ctx, tx)
	if err != nil {
		return nil, false, err
	}
	return res, true, nil
}

// probeUnit decides a new view's bucket width from the last whole hour
// and day of the requested range, by what a request over the range would
// read: with hours, the rollup rows of every hour (the distinct keys of an
// hour, times the hours) plus the documents of up to two partial hours;
// with days, the same in days. The documents of the edges count whatever
// their log type, as the plain SQL reads them all. The cheaper width wins,
// if it reads at most half as many rows as the plain SQL (every document
// of the range); else there is no view (pairs of addresses: nearly every
// flow is a pair of its own). Histograms need hours.
func (d *DB) probeUnit(ctx context.Context, kr keyRows, s rollupSpec, lo, hi int64, hourOnly bool) (int64, bool) {
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
		return 0, false
	}
	hkeys, hall, err := keys(h-hourMs, h)
	if err != nil {
		return 0, false
	}
	hours := (hi - lo) / hourMs
	plain := hours * hall // the documents of the range, roughly
	costH := hours*hkeys + 2*hall
	if hourOnly {
		return hourMs, 2*costH <= plain
	}
	costD := int64(-1)
	if dd := floorTo(hi, dayMs); dd-dayMs >= lo {
		dkeys, dall, err := keys(dd-dayMs, dd)
		if err == nil {
			costD = (hi-lo)/dayMs*dkeys + 2*dall
		}
	}
	switch {
	case costD >= 0 && costD < costH:
		return dayMs, 2*costD <= plain
	default:
		return hourMs, 2*costH <= plain
	}
}

// combiner merges a view's valid buckets with the documents of the other
// runs into one answer.
type combiner struct {
	d     *DB
	r     store.AggRequest
	v     *rollView
	kr    keyRows
	valid []span // answered from the view
	raw   []span // answered from the documents (0 bounds are open)
	iv    int64
	swap  bool
	size  int
}

// rollRows returns the view's rows of the valid buckets as (b, k1, k2, n,
// s), k1 and k2 swapped when the view has the request's fields the other
// way round.
func (c *combiner) rollRows() (string, []any) {
	var cond []string
	args := []any{c.v.id}
	for _, s := range c.valid {
		cond = append(cond, "(b >= ? AND b < ?)")
		args = append(args, s.lo, s.hi)
	}
	k1, k2 := "k1", "k2"
	if c.swap {
		k1, k2 = "k2", "k1"
	}
	return "SELECT b, " + k1 + " AS k1, " + k2 + " AS k2, n, s FROM vigil_rollup WHERE view = ? AND (" + strings.Join(cond, " OR ") + ")", args
}

// rawRows returns the documents' rows of the other runs grouped as the
// view groups them, with b the bucket of width unit: (b, k1, k2, n, s).
func (c *combiner) rawRows(unit int64) (string, []any, error) {
	var parts []string
	var args []any
	for _, s := range c.raw {
		f := c.r.Filter
		f.From, f.To = s.lo, s.hi
		where, wargs, err := c.d.where(f)
		if err != nil {
			return "", nil, err
		}
		b := "ts // " + strconv.FormatInt(unit, 10) + " * " + strconv.FormatInt(unit, 10)
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

// all returns every row, the view's and the documents', with buckets of
// width unit (a multiple of the view's).
func (c *combiner) all(unit int64) (string, []any, error) {
	roll, args := c.rollRows()
	if unit != c.v.spec.Unit {
		u := strconv.FormatInt(unit, 10)
		roll = "SELECT b // " + u + " * " + u + " AS b, k1, k2, n, s FROM (" + roll + ")"
	}
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
	unit := c.v.spec.Unit
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
