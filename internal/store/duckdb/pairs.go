//go:build cgo

package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// Top pairs by pruning.
//
// A rollup view of pairs (terms2) holds a row per bucket and pair. Most
// pairs are rare, so the view's rows are a large share of the documents
// (1.7 million rows for the 5.6 million VPC flows of a month), and adding
// them all up, or only the rows of a few pairs, reads and hashes the text
// of both keys of every row: about as slow as reading the documents. The
// rows' counts are cheap to read and to filter, and they bound the pairs'
// totals, which is enough to find the top pairs reading the keys of few
// rows:
//
//  1. The rows counting t or more are read with their keys, t being the
//     lowest count such that these are at most 32 rows per bucket and pair
//     asked for (from the number of rows of each count). A pair has at
//     most one row per bucket, and each of its rows not read counts less
//     than t: its total over the view lies between the sum of its rows
//     read and that plus t-1 for each bucket holding rows where none of its
//     rows was read. A pair with a row read in every bucket holding rows
//     has its exact total.
//  2. The documents outside the view's valid buckets (the partial buckets
//     at either end of the range, stale ones) are grouped by pair: the
//     pairs of step 1 get their exact counts there, and the pairs counting
//     t or more there are read too. A pair read in neither step counts at
//     most (buckets+1)(t-1).
//  3. X is the size-th largest lower bound, at most the count of the
//     size-th pair of the answer. If a pair never read could reach X, t is
//     too high (below). Otherwise every pair that can reach X has been
//     read; the few of them whose total is not exact have all their rows
//     added up (the only step that reads every row's keys, and only when
//     some pair needs it). The top size of the exact totals reaching X,
//     ordered as the plain SQL orders (counts, then values, numbers as
//     numbers), is the plain SQL's answer: a pair tied with the size-th
//     counts at least X, so it is among them.
//
// Steps 1 and 2 and X are one statement, run once X of the view's rows
// alone (a lower bound of X) rules out the pairs not read. When t is too
// high, or too many pairs would need their rows added up, t is lowered:
// at once to where a pair never read cannot reach the X found (X only
// grows as t is lowered), and further while the rows read stay within
// eight times the last budget. When a quarter of the view's rows would be
// read (uniformly random pairs), the request goes on to the rollups, which
// add up every row; so do requests with a view of fewer than 65,536 rows
// (added up faster in one statement), with no pair view, or with buckets
// to build first (the rollups register, build and read views as for any
// other aggregation). Of several views of the shape, the one with the
// widest buckets whose buckets are valid answers. Everything after the
// check of their validity runs in one transaction.

// pruneLimits bound the pruning's work.
type pruneLimits struct {
	// perBucket is how many rows per bucket and pair asked for step 1
	// reads at first.
	perBucket int64
	// maxLookups is how many pairs step 3 adds up the rows of at most;
	// beyond that, t is lowered.
	maxLookups int
	// minRows is how many rows a view needs for the pruning: a smaller
	// view is added up faster in one statement.
	minRows int64
	// readShare: the pruning gives up when step 1 would read more than
	// 1/readShare of the view's rows.
	readShare int64
}

// The limits requests use.
const (
	pairsPerBucket  = 32
	pairsMaxLookups = 256
	pairsMinRows    = 65536
	pairsReadShare  = 4
)

// pruneStats says what the pruning did, for the tests.
type pruneStats struct {
	tries   int // the thresholds tried
	lookups int // the pairs whose rows were all added up
}

// querier runs a query on the database or in a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// prunedPairs answers a terms2 request from its rollup view by pruning
// (see above): ok false means it cannot, and the caller goes on to the
// rollups and the plain SQL.
func (d *DB) prunedPairs(ctx context.Context, r store.AggRequest, size int) (*store.AggResult, bool, error) {
	lim := pruneLimits{perBucket: pairsPerBucket, maxLookups: pairsMaxLookups, minRows: pairsMinRows, readShare: pairsReadShare}
	res, _, ok, err := d.prunePairs(ctx, r, size, lim)
	return res, ok, err
}

// prunePairs is prunedPairs within the limits lim.
func (d *DB) prunePairs(ctx context.Context, r store.AggRequest, size int, lim pruneLimits) (res *store.AggResult, st pruneStats, ok bool, err error) {
	if r.Kind != store.AggTerms2 {
		return nil, st, false, nil
	}
	sc, ok, err := d.rollupScope(ctx, r)
	if !ok || err != nil {
		return nil, st, false, err
	}
	hours, minH, maxH, lo, hi, want := sc.hours, sc.minH, sc.maxH, sc.lo, sc.hi, sc.want
	kr, err := d.keyRowsFor(r.Field, r.Field2, "")
	if err != nil {
		return nil, st, false, nil // the plain SQL reports it
	}
	// Only views that exist (registering one is the rollups' decision),
	// the widest buckets first: the fewest rows.
	d.roll.vmu.RLock()
	var views []*rollView
	for _, v := range d.roll.views {
		if s := v.spec; s.sameFilter(want) && ((s.Field == r.Field && s.Field2 == r.Field2) || (s.Field == r.Field2 && s.Field2 == r.Field)) {
			views = append(views, v)
		}
	}
	d.roll.vmu.RUnlock()
	slices.SortFunc(views, func(a, b *rollView) int {
		return cmp.Or(cmp.Compare(b.spec.Unit, a.spec.Unit), cmp.Compare(a.id, b.id))
	})
	if len(views) == 0 {
		return nil, st, false, nil
	}
	// A small view is added up faster in one statement, and so is one
	// whose rows are few for the buckets and the size asked for (step 1
	// would read a good share of them).
	w := views[0]
	var n int64
	wlo, whi := floorTo(lo, w.spec.Unit), ceilTo(hi, w.spec.Unit)
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM vigil_rollup WHERE view = ? AND b >= ? AND b < ?`, w.id, wlo, whi).Scan(&n); err != nil ||
		n < lim.minRows || min(lim.perBucket*int64(size)*((whi-wlo)/w.spec.Unit), n)*lim.readShare > n {
		return nil, st, false, err
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, st, false, fmt.Errorf("reading rollup views: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to keep
	var v *rollView
	var valid []span
	for _, w := range views {
		u := w.spec.Unit
		first, last := max(ceilTo(lo, u), floorTo(minH, u)), min(floorTo(hi, u), ceilTo(maxH+hourMs, u))
		if last-first < u {
			continue
		}
		var stale []span
		if valid, stale, err = d.validRuns(ctx, tx, w, first, last, hours); err != nil {
			return nil, st, false, err
		}
		if len(valid) > 0 && (d.w == nil || !staleToBuild(stale, floorTo(maxH, u))) {
			v = w
			break
		}
	}
	if v == nil {
		return nil, st, false, nil // the rollups build what is missing
	}
	v.used.Store(time.Now().UnixNano())
	// The documents outside the valid buckets: the edges and stale runs.
	c := combiner{d: d, r: r, v: v, kr: kr, valid: valid, raw: rawSpans(r.From, r.To, valid), swap: v.spec.Field != r.Field, size: size}
	bs, ok, err := c.prunedPairs(ctx, tx, lim, &st)
	if err != nil {
		return nil, st, false, fmt.Errorf("terms of %s and %s: %w", r.Field, r.Field2, err)
	}
	if !ok {
		return nil, st, false, nil
	}
	return &store.AggResult{Buckets: bs}, st, true, nil
}

// staleToBuild says whether stale holds buckets the rollups would build: all
// but the newest, left to the documents while a stream writes into it.
func staleToBuild(stale []span, newest int64) bool {
	for _, s := range stale {
		if s.lo < min(s.hi, newest) {
			return true
		}
	}
	return false
}

// pair is a pair of keys as the rows hold them (text).
type pair struct{ k1, k2 string }

// pairBound is what the rows read say of a pair's total.
type pairBound struct {
	roll    int64 // the sum of the view's rows read
	rows    int64 // how many
	outside int64 // its documents outside the view's valid buckets
	look    bool  // all its rows are being added up
}

// countRows is how many of a view's rows have a count.
type countRows struct{ n, rows int64 }

// prunedPairs runs the steps of the pruning over the view's valid buckets
// and the documents of the other runs; ok false means that it gave up.
func (c *combiner) prunedPairs(ctx context.Context, tx querier, lim pruneLimits, st *pruneStats) (bs []store.Bucket, ok bool, err error) {
	roll, rargs := c.rollRows()
	// The view's rows per count, largest first, and the buckets holding
	// rows.
	var hist []countRows
	var rows, buckets int64
	err = queryEach(ctx, tx, "SELECT n, count(*), (SELECT count(DISTINCT b) FROM ("+roll+")) FROM ("+roll+") GROUP BY n ORDER BY n DESC",
		append(slices.Clone(rargs), rargs...), func(rs *sql.Rows) error {
			var h countRows
			err := rs.Scan(&h.n, &h.rows, &buckets)
			hist, rows = append(hist, h), rows+h.rows
			return err
		})
	if err != nil {
		return nil, false, err
	}
	raw, wargs, err := c.rawPairs()
	if err != nil {
		return nil, false, err
	}
	parts := max(buckets, 1) // where a pair never read counts less than t
	if raw != "" {
		parts++
	}
	// The rows of the largest counts, about budget of them, bound the
	// pairs' totals; if that is not enough, t is lowered.
	budget := max(lim.perBucket*int64(c.size)*max(buckets, 1), 1)
	t, above := pairsThreshold(hist, rows, math.MaxInt64, budget)
	for {
		if above*lim.readShare > rows {
			return nil, false, nil // a good share of the rows would be read: the rollups add them all up
		}
		st.tries++
		var bs []store.Bucket
		var x int64
		ok := false
		if raw != "" && t > 1 {
			// X of the view's rows alone, a lower bound of X: if no pair
			// unread can be ruled out with it, t is lowered before the
			// documents are read (with uniformly random pairs, t falls to
			// 1 and the rollups answer).
			err := tx.QueryRowContext(ctx, "SELECT coalesce((SELECT sum(n) AS s FROM ("+roll+") WHERE n >= ? GROUP BY k1, k2 ORDER BY s DESC LIMIT 1 OFFSET ?), 1)",
				append(slices.Clone(rargs), t, c.size-1)...).Scan(&x)
			if err != nil {
				return nil, false, err
			}
		}
		if x == 0 || parts*(t-1) < x {
			bs, x, ok, err = c.pruneOnce(ctx, tx, roll, rargs, raw, wargs, buckets, parts, t, lim, st)
			if err != nil || ok || t == 1 {
				return bs, ok, err
			}
		}
		// Low enough that a pair never read cannot reach X (X only grows
		// as t is lowered), and for eight times the rows.
		budget *= 8
		t, above = pairsThreshold(hist, rows, min(t-1, (x-1)/parts+1), budget)
	}
}

// pairsThreshold returns the lowest count t, at most most, such that the
// rows counting t or more are at most budget (or are those counting most
// or more, or the largest count's), and how many rows count t or more: 1
// and all rows when they all fit. hist is the rows per count, largest
// first.
func pairsThreshold(hist []countRows, rows, most, budget int64) (t, above int64) {
	t = most
	for _, h := range hist {
		if h.n < most {
			if above > 0 && above+h.rows > budget {
				break
			}
			t = h.n
		}
		above += h.rows
	}
	if above == rows {
		t = 1
	}
	return max(t, 1), above
}

// rawPairs returns the documents of the runs outside the view's valid
// buckets grouped by pair, (k1, k2, n) with the keys as text; "" when
// there are none.
func (c *combiner) rawPairs() (string, []any, error) {
	if len(c.raw) == 0 {
		return "", nil, nil
	}
	parts := make([]string, 0, len(c.raw))
	var args []any
	for _, s := range c.raw {
		where, wargs, err := c.spanWhere(s)
		if err != nil {
			return "", nil, err
		}
		inner, iargs := c.kr.sql(where, wargs)
		parts = append(parts, inner)
		args = append(args, iargs...)
	}
	return "SELECT CAST(k1 AS VARCHAR) AS k1, CAST(k2 AS VARCHAR) AS k2, count(*) AS n FROM (" +
		strings.Join(parts, " UNION ALL ") + ") WHERE " + c.kr.notNull() + " GROUP BY 1, 2", args, nil
}

// pruneOnce runs the steps with threshold t, parts being the buckets plus
// one for the documents outside the view, if any. It returns X, and ok
// false when t is too high to decide.
func (c *combiner) pruneOnce(ctx context.Context, tx querier, roll string, rargs []any, raw string, wargs []any, buckets, parts, t int64, lim pruneLimits, st *pruneStats) ([]store.Bucket, int64, bool, error) {
	// Steps 1 and 2: the view's rows counting t or more, by pair (the
	// threshold is a value: DuckDB filters the counts as it reads them and
	// reads the keys of the rows that pass only); the documents outside
	// the view, for those pairs and the pairs counting t or more there;
	// X; and the pairs that can reach X, with their lower bound, rows read
	// and count outside.
	var q strings.Builder
	var args []any
	q.WriteString("WITH h AS (SELECT k1, k2, sum(n) AS s, count(*) AS c FROM (" + roll + ") WHERE n >= ? GROUP BY k1, k2), ")
	args = append(append(args, rargs...), t)
	if raw != "" {
		q.WriteString("g AS (" + raw + "), p AS (SELECT coalesce(h.k1, g.k1) AS k1, coalesce(h.k2, g.k2) AS k2, coalesce(h.s, 0) AS s, coalesce(h.c, 0) AS c, coalesce(g.n, 0) AS o " +
			"FROM h FULL JOIN g ON h.k1 = g.k1 AND h.k2 = g.k2 WHERE h.k1 IS NOT NULL OR g.n >= ?), ")
		args = append(append(args, wargs...), t)
	} else {
		q.WriteString("p AS (SELECT k1, k2, s, c, 0 AS o FROM h), ")
	}
	q.WriteString("x AS (SELECT coalesce((SELECT s + o FROM p ORDER BY s + o DESC LIMIT 1 OFFSET ?), 1) AS x) " +
		"SELECT k1, k2, s, c, o, x FROM x LEFT JOIN p ON s + o + (? - c) * ? >= x")
	args = append(args, c.size-1, buckets, t-1)
	seen := map[pair]*pairBound{}
	x := int64(1)
	err := queryEach(ctx, tx, q.String(), args, func(rs *sql.Rows) error {
		var k1, k2 sql.NullString
		var s, n, o sql.NullInt64
		if err := rs.Scan(&k1, &k2, &s, &n, &o, &x); err != nil {
			return err
		}
		if k1.Valid {
			seen[pair{k1.String, k2.String}] = &pairBound{roll: s.Int64, rows: n.Int64, outside: o.Int64}
		}
		return nil
	})
	if err != nil {
		return nil, 0, false, err
	}
	// Step 3.
	if parts*(t-1) >= x {
		return nil, x, false, nil // a pair never read may reach X
	}
	var keep, look []pair
	for p, b := range seen {
		if b.rows == buckets || t == 1 {
			keep = append(keep, p)
		} else {
			look = append(look, p)
		}
	}
	if len(look) > lim.maxLookups {
		return nil, x, false, nil
	}
	if len(look) > 0 {
		st.lookups += len(look)
		// All the view's rows of these pairs (and of the other pairs of
		// their keys, left out).
		l1, l2 := make([]string, len(look)), make([]string, len(look))
		for i, p := range look {
			l1[i], l2[i] = p.k1, p.k2
			seen[p].roll, seen[p].look = 0, true
		}
		slices.Sort(l1)
		slices.Sort(l2)
		q := "SELECT k1, k2, sum(n) FROM (" + roll + ") WHERE list_contains(?::VARCHAR[], k1) AND list_contains(?::VARCHAR[], k2) GROUP BY k1, k2"
		err := queryEach(ctx, tx, q, append(slices.Clone(rargs), slices.Compact(l1), slices.Compact(l2)), func(rs *sql.Rows) error {
			var p pair
			var n int64
			if err := rs.Scan(&p.k1, &p.k2, &n); err != nil {
				return err
			}
			if b := seen[p]; b != nil && b.look {
				b.roll = n
			}
			return nil
		})
		if err != nil {
			return nil, x, false, err
		}
		keep = append(keep, look...)
	}
	// The exact totals reaching X, ordered as the plain SQL orders.
	var k1s, k2s []string
	var ns []int64
	for _, p := range keep {
		if n := seen[p].roll + seen[p].outside; n >= x {
			k1s, k2s, ns = append(k1s, p.k1), append(k2s, p.k2), append(ns, n)
		}
	}
	bs := []store.Bucket{}
	oq := "SELECT k1, k2, c FROM (SELECT unnest(?::VARCHAR[]) AS k1, unnest(?::VARCHAR[]) AS k2, unnest(?::BIGINT[]) AS c) ORDER BY c DESC, " +
		order(c.kr.f1, "k1") + ", " + order(c.kr.f2, "k2") + " LIMIT ?"
	err = queryEach(ctx, tx, oq, []any{k1s, k2s, ns, c.size}, func(rs *sql.Rows) error {
		var b store.Bucket
		err := rs.Scan(&b.Key, &b.Key2, &b.Count)
		bs = append(bs, b)
		return err
	})
	if err != nil {
		return nil, x, false, err
	}
	return bs, x, true, nil
}

// queryEach runs q and calls scan for each row.
func queryEach(ctx context.Context, tx querier, q string, args []any, scan func(*sql.Rows) error) error {
	rs, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer func() { _ = rs.Close() }() // a result set: nothing to flush
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}
