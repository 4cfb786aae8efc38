//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// Rollups: pre-aggregated counts per hour (or per day) of the aggregations
// the console asks for again and again (its dashboard panels), so that a
// panel over a month reads a few hundred thousand rollup rows instead of
// every document of the month.
//
// A rollup view is one aggregation shape: log types, query, and either
// nothing (a count) or one or two grouped fields with an optional summed
// metric. Its rows hold, per bucket (an hour or a day, epoch ms) and per
// distinct key (or pair of keys), the document count and the metric's sum:
// full value counts, not a per-bucket top-N, so that a top-N over many
// buckets is exact. Views are made on demand: the second request of a
// shape over at least rollupMinSpan registers it (a query typed once is not
// worth one), and each request builds the buckets it needs that are
// missing or stale. A request is answered from
// the view's whole buckets plus the documents of the partial buckets at
// the edges of its time range (and of any stale bucket), read from the
// docs table: the answer is the one the plain SQL gives.
//
// Staleness. Every Write marks the hours and days its documents fall in,
// per log type (vigil_rollup_marks, one row per bucket and log type with
// the sequence number of the last write that touched it); a bucket of a
// view is valid when the marks of its log types it was built under are the
// newest, and when the bucket still holds the
// number of documents of its log types it held then. The count check
// catches what the marks cannot see: a replacement whose stored copy was
// in another hour, a retention delete, a write committed by a process that
// ended before it could mark. DeleteBefore also drops the rollup rows of
// the buckets it emptied.

// Tables of the rollups.
const (
	rollupViewsDDL = `CREATE TABLE IF NOT EXISTS vigil_rollup_views (id BIGINT NOT NULL, spec VARCHAR NOT NULL)`
	rollupDDL      = `CREATE TABLE IF NOT EXISTS vigil_rollup (view BIGINT NOT NULL, b BIGINT NOT NULL, k1 VARCHAR, k2 VARCHAR, n BIGINT NOT NULL, s BIGINT)`
	rollupStateDDL = `CREATE TABLE IF NOT EXISTS vigil_rollup_state (view BIGINT NOT NULL, b BIGINT NOT NULL, n BIGINT NOT NULL, seq BIGINT NOT NULL)`
	rollupMarksDDL = `CREATE TABLE IF NOT EXISTS vigil_rollup_marks (unit BIGINT NOT NULL, b BIGINT NOT NULL, log_type VARCHAR NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (unit, b, log_type))`
)

const (
	hourMs = int64(time.Hour / time.Millisecond)
	dayMs  = 24 * hourMs
	// rollupMinSpan is the shortest time range answered from rollups;
	// shorter ranges read few documents and the plain SQL is as fast.
	rollupMinSpan = 48 * hourMs
	// maxRollupViews caps the views kept; the least recently used one is
	// dropped to make room.
	maxRollupViews = 128
	// refreshChunk is how many milliseconds of documents one build
	// transaction reads at most.
	refreshChunk = 2 * dayMs
	// rollupAsks is how many requests of one shape make it a view.
	rollupAsks = 2
)

// rollupSpec is the shape of the aggregations a view answers.
type rollupSpec struct {
	LogTypes []string `json:"lt,omitempty"` // sorted, without duplicates; empty: all
	Query    string   `json:"q,omitempty"`  // the filter query, trimmed
	Field    string   `json:"f,omitempty"`  // empty: a count per bucket
	Field2   string   `json:"f2,omitempty"` // second field (pairs)
	Metric   string   `json:"m,omitempty"`  // a long field summed per key
	Unit     int64    `json:"u"`            // bucket width, ms: hourMs or dayMs
}

// key identifies the spec in vigil_rollup_views.
func (s rollupSpec) key() string {
	b, _ := json.Marshal(s) // plain strings and numbers: cannot fail
	return string(b)
}

// sameFilter says whether two specs select the same documents.
func (s rollupSpec) sameFilter(o rollupSpec) bool {
	return s.Query == o.Query && slices.Equal(s.LogTypes, o.LogTypes)
}

// rollView is one registered view.
type rollView struct {
	id   int64
	spec rollupSpec
	used atomic.Int64 // when it last answered a request, unix ns

	// build is held while the view's rows change (building, retention,
	// dropping), so that two changes never conflict; views build in
	// parallel.
	build   sync.Mutex
	dropped bool // under build: the view is gone
}

// rollups is the store's rollup state, a field of DB. Its zero value is
// ready: the tables are made and loaded on first use.
type rollups struct {
	// mu serialises registering and dropping views and retention; the
	// rows of one view change under its own build lock.
	mu sync.Mutex

	initMu sync.Mutex
	inited bool
	off    error // why rollups are not used in this process; nil: used

	vmu    sync.RWMutex
	views  map[string]*rollView // by spec key
	nextID int64
	none   map[string]bool       // specs found not worth a view (keys change little per bucket)
	asked  map[string]int        // specs without a view: how often asked
	widths map[string]widthStats // shapes with a view of one width: what each width reads

	seq atomic.Int64  // the last write mark's sequence number
	gen atomic.Uint64 // bumped by every write and delete

	totMu  sync.Mutex
	totGen uint64
	totOK  bool
	hours  hourCounts // documents per log type and hour, as of totGen; never changed in place (requests read it unlocked)
	minH   int64      // first and last hour holding documents
	maxH   int64
	fullN  int // under totMu: how many times the whole table was counted

	// dmu guards the hours whose counts changed since the last count
	// began, so that the next count reads only those. tracking is false
	// until the first count, and after a change whose hours are not known
	// (a write that failed, a retention delete, too many hours): the next
	// count then reads the whole table.
	dmu      sync.Mutex
	tracking bool
	dirty    map[int64]struct{} // hour keys (hourOf)
}

// errRollupsOff says why a store has no rollups.
var errRollupsOff = errors.New("rollups are not available")

// ensure makes the rollup tables (unless read-only) and loads the views,
// once. It returns why rollups cannot be used, if they cannot.
func (r *rollups) ensure(ctx context.Context, d *DB) error {
	r.initMu.Lock()
	defer r.initMu.Unlock()
	if r.inited {
		return r.off
	}
	r.inited = true
	r.off = r.load(context.WithoutCancel(ctx), d)
	if r.off != nil && !errors.Is(r.off, errRollupsOff) {
		d.logger.Warn("dashboard rollups are off; aggregations read the documents", "store", d.dir, "err", r.off)
	}
	return r.off
}

func (r *rollups) load(ctx context.Context, d *DB) error {
	if d.w != nil {
		var old int
		if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'vigil_rollup_dirty'`).Scan(&old); err != nil {
			return fmt.Errorf("looking for the rollup tables: %w", err)
		}
		if old > 0 {
			// Marks of an earlier layout, not per log type: build again.
			for _, q := range []string{`DROP TABLE vigil_rollup_dirty`, `DROP TABLE IF EXISTS vigil_rollup_state`} {
				if _, err := d.db.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("replacing the rollup marks: %w", err)
				}
			}
		}
		for _, q := range []string{rollupViewsDDL, rollupDDL, rollupStateDDL, rollupMarksDDL} {
			if _, err := d.db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("creating the rollup tables: %w", err)
			}
		}
	} else {
		var n int
		if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name IN ('vigil_rollup_views', 'vigil_rollup', 'vigil_rollup_state', 'vigil_rollup_marks')`).Scan(&n); err != nil {
			return fmt.Errorf("looking for the rollup tables: %w", err)
		}
		if n != 4 {
			return errRollupsOff
		}
	}
	r.views = map[string]*rollView{}
	r.none = map[string]bool{}
	r.asked = map[string]int{}
	r.widths = map[string]widthStats{}
	rows, err := d.db.QueryContext(ctx, `SELECT id, spec FROM vigil_rollup_views ORDER BY id`)
	if err != nil {
		return fmt.Errorf("reading the rollup views: %w", err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	now := time.Now().UnixNano()
	for rows.Next() {
		var id int64
		var spec string
		if err := rows.Scan(&id, &spec); err != nil {
			return fmt.Errorf("reading the rollup views: %w", err)
		}
		v := &rollView{id: id}
		if err := json.Unmarshal([]byte(spec), &v.spec); err != nil {
			return fmt.Errorf("reading rollup view %d %q: %w", id, spec, err)
		}
		v.used.Store(now - int64(maxRollupViews) + int64(len(r.views))) // older views first out
		r.views[v.spec.key()] = v
		r.nextID = max(r.nextID, id+1)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the rollup views: %w", err)
	}
	var seq sql.NullInt64
	if err := d.db.QueryRowContext(ctx, `SELECT greatest((SELECT max(seq) FROM vigil_rollup_marks), (SELECT max(seq) FROM vigil_rollup_state))`).Scan(&seq); err != nil {
		return fmt.Errorf("reading the rollup marks: %w", err)
	}
	r.seq.Store(seq.Int64)
	return nil
}

// turnOff stops using rollups in this process after an error that may
// have left them stale, and forgets the built buckets so that a later
// process rebuilds them.
func (r *rollups) turnOff(ctx context.Context, d *DB, err error) {
	r.initMu.Lock()
	r.off = err
	r.initMu.Unlock()
	r.untrack()
	d.logger.Warn("dashboard rollups are off; aggregations read the documents", "store", d.dir, "err", err)
	if _, err := d.db.ExecContext(ctx, `DELETE FROM vigil_rollup_state`); err != nil {
		d.logger.Warn("forgetting the built rollups failed", "store", d.dir, "err", err)
	}
}

// floorTo rounds ms down to a multiple of unit.
func floorTo(ms, unit int64) int64 {
	q := ms / unit
	if ms%unit != 0 && ms < 0 {
		q--
	}
	return q * unit
}

// ceilTo rounds ms up to a multiple of unit.
func ceilTo(ms, unit int64) int64 {
	f := floorTo(ms, unit)
	if f == ms {
		return f
	}
	return f + unit
}

// mark is one bucket of one log type that a write changed.
type mark struct {
	unit, b int64
	logType string
}

// rollupWritten marks the hours and days the written documents fall in as
// changed, so the rollups rebuild them before using them, and notes the
// hours whose document counts changed: those of docs and those of the
// stored copies the write replaced (replaced, hour keys). exact says that
// these are all the hours the write changed; false (a write that failed,
// perhaps after some of its transactions committed) makes the next count
// read the whole table. marked says the marks were committed with the
// documents (writer.markInTx). Write calls it with the write lock held,
// after writing, whether or not the write (or a part of it) failed.
func (d *DB) rollupWritten(ctx context.Context, docs []store.Doc, replaced []int64, exact, marked bool) {
	r := &d.roll
	// The hours before the generation: a count that sees the new
	// generation sees them.
	r.touched(docs, replaced, exact)
	r.gen.Add(1)
	if marked {
		return
	}
	ctx = context.WithoutCancel(ctx) // a write that was cancelled may still have stored some documents
	if err := r.ensure(ctx, d); err != nil {
		return
	}
	q, args := r.marks(docs)
	if q == "" {
		return
	}
	if _, err := d.db.ExecContext(ctx, q, args...); err != nil {
		r.turnOff(ctx, d, fmt.Errorf("marking the hours of %d written documents: %w", len(docs), err))
	}
}

// marks returns the statement that marks the hours and days of docs, per
// log type, with a new sequence number ("" when docs is empty).
//
// Every write marks its buckets again, even those an earlier write
// marked: whether a build has read them since cannot be known here
// without racing the build's snapshot, and a mark costs about 0.3 µs a
// document.
func (r *rollups) marks(docs []store.Doc) (string, []any) {
	var todo []mark // each bucket once: one statement cannot update a row twice
	seen := map[mark]bool{}
	for i := range docs {
		h, lt := floorTo(docs[i].TimestampMs, hourMs), docs[i].LogType
		if n := len(todo); n > 0 && todo[n-1].b == h && todo[n-1].logType == lt {
			continue // documents in time order: mostly the bucket just seen
		}
		for _, m := range []mark{{dayMs, floorTo(h, dayMs), lt}, {hourMs, h, lt}} {
			if !seen[m] {
				seen[m] = true
				todo = append(todo, m)
			}
		}
	}
	if len(todo) == 0 {
		return "", nil
	}
	seq := r.seq.Add(1)
	var q strings.Builder
	q.WriteString(`INSERT INTO vigil_rollup_marks VALUES `)
	args := make([]any, 0, 4*len(todo))
	for _, m := range todo {
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?)")
		args = append(args, m.unit, m.b, m.logType, seq)
	}
	q.WriteString(` ON CONFLICT (unit, b, log_type) DO UPDATE SET seq = excluded.seq`)
	return q.String(), args
}

// rollupDeleted drops the rollup rows of the buckets a retention delete
// emptied (documents of logType, every type when empty, before t). The
// buckets it left partly filled fail the count check and are rebuilt.
// DeleteBefore calls it with the write lock held.
func (d *DB) rollupDeleted(ctx context.Context, logType string, t int64) {
	r := &d.roll
	r.untrack() // rare: the next count reads the whole table
	r.gen.Add(1)
	ctx = context.WithoutCancel(ctx)
	if err := r.ensure(ctx, d); err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vmu.RLock()
	var views []*rollView
	for _, v := range r.views {
		if logType == "" || (len(v.spec.LogTypes) == 1 && v.spec.LogTypes[0] == logType) {
			views = append(views, v)
		}
	}
	r.vmu.RUnlock()
	drop := func(v *rollView) error {
		v.build.Lock()
		defer v.build.Unlock()
		end := floorTo(t, v.spec.Unit) // buckets before it are empty now
		tx, err := d.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }() // after Commit: a no-op
		for _, q := range []string{`DELETE FROM vigil_rollup WHERE view = ? AND b < ?`, `DELETE FROM vigil_rollup_state WHERE view = ? AND b < ?`} {
			if _, err := tx.ExecContext(ctx, q, v.id, end); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
	for _, v := range views {
		if err := drop(v); err != nil {
			r.turnOff(ctx, d, fmt.Errorf("dropping the rollups of deleted documents: %w", err))
			return
		}
	}
	// No bucket before t holds documents of the type: forget their marks.
	q, args := `DELETE FROM vigil_rollup_marks WHERE b + unit <= ?`, []any{t}
	if logType != "" {
		q += ` AND log_type = ?`
		args = append(args, logType)
	}
	if _, err := d.db.ExecContext(ctx, q, args...); err != nil {
		r.turnOff(ctx, d, fmt.Errorf("dropping the rollup marks of deleted documents: %w", err))
	}
}

// hourCounts is the number of documents per log type and hour. A map
// handed out by totals is never changed: an update copies what it changes.
type hourCounts map[string]map[int64]int64

// hourOf is the key of the hour ts falls in, as the counts use it: ts
// rounded down to the hour, as floorSQL writes it for DuckDB.
func hourOf(ts int64) int64 { return floorTo(ts, hourMs) }

// Bounds of the incremental counts.
const (
	// maxDirtyHours is how many changed hours are remembered; beyond it
	// the next count reads the whole table (a backfill of months).
	maxDirtyHours = 4096
	// maxCountRuns is how many runs of consecutive changed hours one
	// count reads separately; beyond it, it reads from the first changed
	// hour to the last in one range.
	maxCountRuns = 32
)

// touched notes the hours of a write (see rollupWritten).
func (r *rollups) touched(docs []store.Doc, replaced []int64, exact bool) {
	r.dmu.Lock()
	defer r.dmu.Unlock()
	if !r.tracking {
		return
	}
	if !exact {
		r.tracking, r.dirty = false, nil
		return
	}
	last := int64(-1) // not an hour key; docs come mostly in time order: skip repeats cheaply
	for i := range docs {
		if h := hourOf(docs[i].TimestampMs); h != last {
			r.dirty[h] = struct{}{}
			last = h
		}
	}
	for _, h := range replaced {
		r.dirty[h] = struct{}{}
	}
	if len(r.dirty) > maxDirtyHours {
		r.tracking, r.dirty = false, nil
	}
}

// untrack makes the next count read the whole table.
func (r *rollups) untrack() {
	r.dmu.Lock()
	r.tracking, r.dirty = false, nil
	r.dmu.Unlock()
}

// totals returns the number of documents per log type and hour, as of the
// last write or delete, and the first and last hour holding documents (ok
// false when the store is empty).
//
// The first count of a process reads the whole table (another process may
// have written before); later ones recount only the hours the writes since
// the previous count began have touched, unless a change could not be
// pinned down. A write notes its hours after it commits and before it
// bumps gen, so a count taken while it commits (which may see part of it)
// is taken again for its hours once it is done.
func (d *DB) totals(ctx context.Context) (hours hourCounts, minH, maxH int64, ok bool, err error) {
	r := &d.roll
	r.totMu.Lock()
	defer r.totMu.Unlock()
	g := r.gen.Load()
	if r.hours != nil && r.totGen == g {
		return r.hours, r.minH, r.maxH, r.totOK, nil
	}
	r.dmu.Lock()
	dirty, incr := r.dirty, r.tracking && r.hours != nil
	r.tracking, r.dirty = true, map[int64]struct{}{}
	r.dmu.Unlock()
	if incr {
		hours, minH, maxH, ok, err = d.recountHours(ctx, dirty)
	} else {
		hours, err = d.countHours(ctx, nil)
		minH, maxH, ok = hours.bounds()
	}
	if err != nil {
		// What was taken is still to count.
		r.dmu.Lock()
		switch {
		case !incr:
			r.tracking, r.dirty = false, nil
		case r.tracking:
			for h := range dirty {
				r.dirty[h] = struct{}{}
			}
			if len(r.dirty) > maxDirtyHours {
				r.tracking, r.dirty = false, nil
			}
		}
		r.dmu.Unlock()
		return nil, 0, 0, false, err
	}
	if !incr {
		r.fullN++
	}
	r.hours, r.minH, r.maxH, r.totOK, r.totGen = hours, minH, maxH, ok, g
	return hours, minH, maxH, ok, nil
}

// hourRun is a run of consecutive hour keys, first and last included.
type hourRun struct{ first, last int64 }

// tsRange returns the timestamps [lo, hi) whose hour keys are in the run.
func (u hourRun) tsRange() (lo, hi int64) { return u.first, u.last + hourMs }

// recountHours counts the documents of the dirty hours again and returns
// the cached counts updated with them. The caller holds totMu and
// r.hours is set.
func (d *DB) recountHours(ctx context.Context, dirty map[int64]struct{}) (hourCounts, int64, int64, bool, error) {
	r := &d.roll
	old := r.hours
	if len(dirty) == 0 {
		return old, r.minH, r.maxH, r.totOK, nil
	}
	hs := make([]int64, 0, len(dirty))
	for h := range dirty {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	var runs []hourRun
	for _, h := range hs {
		if n := len(runs); n > 0 && runs[n-1].last+hourMs == h {
			runs[n-1].last = h
		} else {
			runs = append(runs, hourRun{h, h})
		}
	}
	if len(runs) > maxCountRuns {
		runs = []hourRun{{hs[0], hs[len(hs)-1]}}
	}
	// One scan per run, each over a time range: the table is in time
	// order, so DuckDB skips the row groups outside it by their zone maps.
	var q strings.Builder
	for i, u := range runs {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		lo, hi := u.tsRange()
		fmt.Fprintf(&q, "SELECT log_type, %s, count(*) FROM docs WHERE ts >= %d AND ts < %d GROUP BY 1, 2", floorSQL("ts", hourMs, lo), lo, hi)
	}
	counted, err := d.countHours(ctx, &q)
	if err != nil {
		return nil, 0, 0, false, err
	}
	// A copy of the cache with the runs' hours replaced: the maps of the
	// log types that change are copied, the others shared.
	m := maps.Clone(old)
	copied := map[string]bool{}
	own := func(lt string) map[int64]int64 {
		if !copied[lt] {
			copied[lt] = true
			m[lt] = maps.Clone(m[lt])
			if m[lt] == nil {
				m[lt] = map[int64]int64{}
			}
		}
		return m[lt]
	}
	for lt, hm := range old {
		for _, u := range runs {
			if span := (u.last-u.first)/hourMs + 1; span > int64(len(hm)) {
				for h := range hm {
					if h >= u.first && h <= u.last {
						delete(own(lt), h)
					}
				}
				continue
			}
			for h := u.first; h <= u.last; h += hourMs {
				if _, ok := hm[h]; ok {
					delete(own(lt), h)
				}
			}
		}
	}
	for lt, hm := range counted {
		for h, n := range hm {
			own(lt)[h] = n
		}
	}
	for lt := range copied {
		if len(m[lt]) == 0 {
			delete(m, lt)
		}
	}
	// The bounds move out to the counted hours, or, when an hour at
	// either end lost its documents, are found again.
	minH, maxH, ok := r.minH, r.maxH, r.totOK
	if ok && (emptied(m, runs, minH) || emptied(m, runs, maxH)) {
		minH, maxH, ok = m.bounds()
		return m, minH, maxH, ok, nil
	}
	for _, hm := range counted {
		for h := range hm {
			if !ok {
				minH, maxH, ok = h, h, true
			}
			minH, maxH = min(minH, h), max(maxH, h)
		}
	}
	return m, minH, maxH, ok, nil
}

// emptied says whether hour h, recounted in runs, holds no documents now.
func emptied(m hourCounts, runs []hourRun, h int64) bool {
	in := false
	for _, u := range runs {
		in = in || (h >= u.first && h <= u.last)
	}
	if !in {
		return false
	}
	for _, hm := range m {
		if _, ok := hm[h]; ok {
			return false
		}
	}
	return true
}

// countHours runs q (a query of log type, hour key (hourOf) and count;
// nil: every document's) and returns its counts.
func (d *DB) countHours(ctx context.Context, q *strings.Builder) (hourCounts, error) {
	query := `SELECT log_type, ` + floorSQL("ts", hourMs, math.MinInt64) + `, count(*) FROM docs GROUP BY 1, 2`
	if q != nil {
		query = q.String()
	}
	rows, err := d.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("counting documents per hour: %w", err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	m := hourCounts{}
	for rows.Next() {
		var lt string
		var h, n int64
		if err := rows.Scan(&lt, &h, &n); err != nil {
			return nil, fmt.Errorf("counting documents per hour: %w", err)
		}
		if m[lt] == nil {
			m[lt] = map[int64]int64{}
		}
		m[lt][h] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting documents per hour: %w", err)
	}
	return m, nil
}

// bounds returns the first and last hour holding documents (ok false when
// there are none).
func (hc hourCounts) bounds() (minH, maxH int64, ok bool) {
	for _, hm := range hc {
		for h := range hm {
			if !ok || h < minH {
				minH = h
			}
			if !ok || h > maxH {
				maxH = h
			}
			ok = true
		}
	}
	return minH, maxH, ok
}

// bucketTotal is the number of documents of the log types (all when
// empty) in the bucket [b, b+unit).
func (hc hourCounts) bucketTotal(lts []string, b, unit int64) int64 {
	var n int64
	add := func(m map[int64]int64) {
		for h := b; h < b+unit; h += hourMs {
			n += m[h]
		}
	}
	if len(lts) == 0 {
		for _, m := range hc {
			add(m)
		}
		return n
	}
	for _, lt := range lts {
		add(hc[lt])
	}
	return n
}

// span is a time range [lo, hi), epoch ms.
type span struct{ lo, hi int64 }

// validRuns splits the whole buckets [first, last) of view v into the runs
// it can answer from and the runs that need the documents. q is a query
// runner (the pool or a transaction) so that the check can share the
// snapshot of the query that follows.
func (d *DB) validRuns(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, v *rollView, first, last int64, hours hourCounts) (valid, stale []span, err error) {
	u := v.spec.Unit
	marks, margs := marksOf(v, first, last)
	rows, err := q.QueryContext(ctx, `SELECT s.b, s.n, s.seq, coalesce(m.seq, 0) FROM vigil_rollup_state s LEFT JOIN (`+marks+`) m ON m.b = s.b WHERE s.view = ? AND s.b >= ? AND s.b < ?`, append(margs, v.id, first, last)...)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the state of rollup view %d: %w", v.id, err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	ok := make(map[int64]bool, (last-first)/u)
	for rows.Next() {
		var b, n, seq, mark int64
		if err := rows.Scan(&b, &n, &seq, &mark); err != nil {
			return nil, nil, fmt.Errorf("reading the state of rollup view %d: %w", v.id, err)
		}
		ok[b] = mark <= seq && n == hours.bucketTotal(v.spec.LogTypes, b, u)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading the state of rollup view %d: %w", v.id, err)
	}
	add := func(runs []span, b int64) []span {
		if n := len(runs); n > 0 && runs[n-1].hi == b {
			runs[n-1].hi = b + u
			return runs
		}
		return append(runs, span{b, b + u})
	}
	for b := first; b < last; b += u {
		if ok[b] {
			valid = add(valid, b)
		} else {
			stale = add(stale, b)
		}
	}
	return valid, stale, nil
}

// marksOf returns a query of the newest mark of each bucket of v in
// [first, last), over the view's log types: (b, seq).
func marksOf(v *rollView, first, last int64) (string, []any) {
	q := `SELECT b, max(seq) AS seq FROM vigil_rollup_marks WHERE unit = ? AND b >= ? AND b < ?`
	args := []any{v.spec.Unit, first, last}
	if lts := v.spec.LogTypes; len(lts) > 0 {
		q += ` AND log_type IN (?` + strings.Repeat(`, ?`, len(lts)-1) + `)`
		for _, lt := range lts {
			args = append(args, lt)
		}
	}
	return q + ` GROUP BY b`, args
}

// refresh rebuilds view v's buckets in runs from the documents, in
// transactions of at most refreshChunk of documents each (scattered stale
// buckets share one), so that a build cut short by its request's deadline
// keeps what it finished and the next request goes on from there. The
// caller holds v.build.
func (d *DB) refresh(ctx context.Context, v *rollView, runs []span) error {
	var tx *sql.Tx
	var done int64 // milliseconds of documents read in tx
	commit := func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx, done = nil, 0
		if err != nil {
			return fmt.Errorf("building rollup view %d: %w", v.id, err)
		}
		return nil
	}
	defer func() {
		if tx != nil {
			_ = tx.Rollback() // an error is being returned
		}
	}()
	for _, run := range runs {
		for lo := run.lo; lo < run.hi; lo += refreshChunk {
			hi := min(lo+refreshChunk, run.hi)
			if done+hi-lo > refreshChunk {
				if err := commit(); err != nil {
					return err
				}
			}
			if tx == nil {
				var err error
				if tx, err = d.db.BeginTx(ctx, nil); err != nil {
					return fmt.Errorf("building rollup view %d: %w", v.id, err)
				}
			}
			if err := d.refreshChunk(ctx, tx, v, lo, hi); err != nil {
				return err
			}
			done += hi - lo
		}
	}
	return commit()
}

func (d *DB) refreshChunk(ctx context.Context, tx *sql.Tx, v *rollView, lo, hi int64) error {
	u := v.spec.Unit
	sel, args, err := d.viewRows(v, lo, hi)
	if err != nil {
		return err
	}
	// The documents of the view's log types per bucket, for the count check.
	cwhere, cargs, err := d.where(store.Filter{LogTypes: v.spec.LogTypes, From: lo, To: hi})
	if err != nil {
		return err
	}
	marks, margs := marksOf(v, lo, hi)
	stmts := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM vigil_rollup WHERE view = ? AND b >= ? AND b < ?`, []any{v.id, lo, hi}},
		{`DELETE FROM vigil_rollup_state WHERE view = ? AND b >= ? AND b < ?`, []any{v.id, lo, hi}},
		{`INSERT INTO vigil_rollup ` + sel, args},
		{`INSERT INTO vigil_rollup_state SELECT ?, r.b, coalesce(c.n, 0), coalesce(m.seq, 0) FROM range(?, ?, ?) r(b) ` +
			`LEFT JOIN (SELECT ` + floorSQL("ts", u, lo) + ` AS b, count(*) AS n FROM docs WHERE ` + cwhere + ` GROUP BY 1) c ON c.b = r.b ` +
			`LEFT JOIN (` + marks + `) m ON m.b = r.b`, append(append([]any{v.id, lo, hi, u}, cargs...), margs...)},
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("building rollup view %d: %w", v.id, err)
		}
	}
	return nil
}

// viewRows returns the SELECT that computes view v's rows for [lo, hi)
// (whole buckets) from the documents: view id, bucket, keys, count, sum.
func (d *DB) viewRows(v *rollView, lo, hi int64) (string, []any, error) {
	s := v.spec
	where, wargs, err := d.where(store.Filter{Query: s.Query, LogTypes: s.LogTypes, From: lo, To: hi})
	if err != nil {
		return "", nil, err
	}
	if s.Field == "" {
		return "SELECT ?, " + floorSQL("ts", s.Unit, lo) + ", NULL, NULL, count(*), NULL FROM docs WHERE " + where + " GROUP BY 2",
			append([]any{v.id}, wargs...), nil
	}
	kr, err := d.keyRowsFor(s.Field, s.Field2, s.Metric)
	if err != nil {
		return "", nil, err
	}
	inner, iargs := kr.sql(where, wargs)
	m := "NULL"
	if s.Metric != "" {
		m = "sum(m)"
	}
	q := "SELECT ?, " + floorSQL("ts", s.Unit, lo) + " AS b, CAST(k1 AS VARCHAR), " + kr.k2Cast() + ", count(*), " + m +
		" FROM (" + inner + ") WHERE " + kr.notNull() + " GROUP BY b, k1" + kr.k2Group()
	return q, append([]any{v.id}, iargs...), nil
}

// view finds or registers the view that answers spec's aggregations:
// match says whether a registered view will do. It returns nil when the
// shape is not worth a view.
func (d *DB) view(ctx context.Context, want rollupSpec, match func(rollupSpec) bool, probe func() (int64, bool)) (*rollView, error) {
	r := &d.roll
	r.vmu.RLock()
	v := findView(r.views, match)
	none := r.none[want.key()]
	r.vmu.RUnlock()
	if v != nil || none || d.w == nil {
		return v, nil
	}
	// A shape asked once (a query typed once, a value clicked once) is
	// not worth building; one asked again (a dashboard reloaded, a panel
	// refreshed) is.
	if !r.askedAgain(want.key()) {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v := r.find(match); v != nil {
		return v, nil
	}
	unit, ok := probe()
	if !ok {
		r.vmu.Lock()
		r.none[want.key()] = true
		r.vmu.Unlock()
		return nil, nil
	}
	want.Unit = unit
	return d.register(ctx, want)
}

// register adds a view of spec want. The caller holds r.mu and has
// checked that no registered view answers its requests.
func (d *DB) register(ctx context.Context, want rollupSpec) (*rollView, error) {
	r := &d.roll
	if err := d.dropOldViews(ctx); err != nil {
		return nil, err
	}
	r.vmu.Lock()
	id := r.nextID
	r.nextID++
	r.vmu.Unlock()
	if _, err := d.db.ExecContext(ctx, `INSERT INTO vigil_rollup_views VALUES (?, ?)`, id, want.key()); err != nil {
		return nil, fmt.Errorf("registering a rollup view: %w", err)
	}
	v := &rollView{id: id, spec: want}
	v.used.Store(time.Now().UnixNano())
	r.vmu.Lock()
	r.views[want.key()] = v
	r.vmu.Unlock()
	return v, nil
}

// askedAgain counts a request of the shape key and says whether the
// shape has now been asked for rollupAsks times.
func (r *rollups) askedAgain(key string) bool {
	r.vmu.Lock()
	defer r.vmu.Unlock()
	if len(r.asked) > 10000 {
		clear(r.asked)
	}
	r.asked[key]++
	return r.asked[key] >= rollupAsks
}

// find returns a registered view that match accepts, or nil.
func (r *rollups) find(match func(rollupSpec) bool) *rollView {
	r.vmu.RLock()
	defer r.vmu.RUnlock()
	return findView(r.views, match)
}

// findView returns the view that matches, the narrowest buckets first,
// then the oldest.
func findView(views map[string]*rollView, match func(rollupSpec) bool) *rollView {
	var best *rollView
	for _, v := range views {
		if match(v.spec) && (best == nil || v.spec.Unit < best.spec.Unit || (v.spec.Unit == best.spec.Unit && v.id < best.id)) {
			best = v
		}
	}
	return best
}

// dropOldViews drops the least recently used views until there is room
// for one more. The caller holds r.mu.
func (d *DB) dropOldViews(ctx context.Context) error {
	r := &d.roll
	for {
		r.vmu.RLock()
		var old *rollView
		if len(r.views) >= maxRollupViews {
			for _, v := range r.views {
				if old == nil || v.used.Load() < old.used.Load() {
					old = v
				}
			}
		}
		r.vmu.RUnlock()
		if old == nil {
			return nil
		}
		if err := d.dropView(ctx, old); err != nil {
			return err
		}
		r.vmu.Lock()
		delete(r.views, old.spec.key())
		r.vmu.Unlock()
	}
}

// dropView deletes a view and its rows.
func (d *DB) dropView(ctx context.Context, v *rollView) error {
	v.build.Lock()
	defer v.build.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dropping rollup view %d: %w", v.id, err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit: a no-op
	for _, q := range []string{`DELETE FROM vigil_rollup_views WHERE id = ?`, `DELETE FROM vigil_rollup WHERE view = ?`, `DELETE FROM vigil_rollup_state WHERE view = ?`} {
		if _, err := tx.ExecContext(ctx, q, v.id); err != nil {
			return fmt.Errorf("dropping rollup view %d: %w", v.id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dropping rollup view %d: %w", v.id, err)
	}
	v.dropped = true
	return nil
}
