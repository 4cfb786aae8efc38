//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-siem/vigil/internal/store"
)

// RejectedError is returned by Write when some documents were not stored
// because they are malformed (not a JSON object, invalid UTF-8, an empty
// _id); every other document of the call was written. Rejections maps the
// position of each rejected document in the slice given to Write to the
// reason, so a caller can dead-letter exactly those.
type RejectedError struct {
	Docs []Rejected
}

// Rejected is one document Write refused.
type Rejected struct {
	Pos   int    // position in the slice given to Write
	ID    string // its _id
	Index string // its index
	Err   error  // what is wrong with it
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d document(s) rejected", len(e.Docs))
	for i, r := range e.Docs {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Docs)-3)
			break
		}
		fmt.Fprintf(&b, "; _id %q in %s: %v", r.ID, r.Index, r.Err)
	}
	return b.String()
}

// Rejections returns the reason for each rejected document by its position
// in the slice given to Write.
func (e *RejectedError) Rejections() map[int]error {
	m := make(map[int]error, len(e.Docs))
	for _, r := range e.Docs {
		m[r.Pos] = r.Err
	}
	return m
}

// writer owns the write connections: one lane per connection, each with
// its own row builder, so a large write is split across lanes that build
// and append in parallel. Its methods run under DB.wmu.
type writer struct {
	d     *DB
	lanes []*lane
	bloom *bloom

	hs    []uint64
	keep  []bool
	byID  map[string]int
	cands []bool
	// replaced holds the hour keys (hourOf) of the stored copies the last
	// write replaced, in the transactions that committed, for the
	// rollups' counts per hour.
	replaced []int64
	// markInTx asks a write in one transaction to commit the rollups'
	// marks of its hours with its documents (rollups.marks), so that no
	// reader and no crash sees the documents without the marks; marked
	// says the last write did. A write split across lanes marks after
	// committing: the lanes' transactions would conflict on the marks of
	// the hours they share.
	markInTx, marked bool
	markQ            string
	markArgs         []any

	driverAppend bool // append through the driver's appender (for tests)
}

// lane is one write connection and what it needs to turn documents into
// rows: one builder per goroutine that fills chunks for it (rb and fields
// are the first builder's).
type lane struct {
	conn   *sql.Conn
	rb     *rowBuilder
	fields *fieldLane
	bs     []builder
}

// builder turns documents into rows in one goroutine.
type builder struct {
	rb     *rowBuilder
	fields *fieldLane
}

// minLaneDocs is the smallest share of a write worth a lane of its own.
const minLaneDocs = 2048

func newWriter(ctx context.Context, d *DB, lanes int) (*writer, error) {
	w := &writer{d: d, byID: map[string]int{}}
	for range max(lanes, 1) {
		conn, err := d.db.Conn(ctx)
		if err != nil {
			_ = w.closeConns() // the open error is the one to report
			return nil, fmt.Errorf("opening a write connection: %w", err)
		}
		l := &lane{conn: conn}
		for range max(d.opts.Builders, 1) {
			b := builder{rb: newRowBuilder(d.sch, d.codec), fields: newFieldLane(d.fields)}
			b.rb.sc.fields = b.fields
			l.bs = append(l.bs, b)
		}
		l.rb, l.fields = l.bs[0].rb, l.bs[0].fields
		w.lanes = append(w.lanes, l)
		// The writer works on the table itself, not on the view that
		// adds the computed columns.
		if _, err := conn.ExecContext(ctx, `DROP VIEW IF EXISTS temp.docs; CREATE TEMP TABLE IF NOT EXISTS cand (h BIGINT)`); err != nil {
			_ = w.closeConns() // the open error is the one to report
			return nil, fmt.Errorf("preparing a write connection: %w", err)
		}
	}
	if err := w.loadBloom(ctx, 0); err != nil {
		_ = w.closeConns() // the load error is the one to report
		return nil, err
	}
	return w, nil
}

func (w *writer) closeConns() error {
	var errs []error
	for _, l := range w.lanes {
		errs = append(errs, l.conn.Close())
	}
	return errors.Join(errs...)
}

// conn is the connection for statements outside Write.
func (w *writer) conn() *sql.Conn { return w.lanes[0].conn }

// loadBloom rebuilds the id filter from the h column, sized for at least
// twice the stored documents.
func (w *writer) loadBloom(ctx context.Context, minCap int) error {
	t0 := time.Now()
	var n int64
	if err := w.conn().QueryRowContext(ctx, `SELECT count(*) FROM docs`).Scan(&n); err != nil {
		return fmt.Errorf("counting documents: %w", err)
	}
	b := newBloom(max(int(2*n), minCap, 1<<20))
	rows, err := w.conn().QueryContext(ctx, `SELECT h FROM docs`)
	if err != nil {
		return fmt.Errorf("reading document ids: %w", err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	var h int64
	for rows.Next() {
		if err := rows.Scan(&h); err != nil {
			return fmt.Errorf("reading document ids: %w", err)
		}
		b.add(uint64(h))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading document ids: %w", err)
	}
	w.bloom = b
	if n > 0 {
		w.d.logger.Debug("loaded the id filter", "docs", n, "took", time.Since(t0))
	}
	return nil
}

// exec runs a statement on the lane's connection.
func (l *lane) exec(ctx context.Context, q string, args ...any) error {
	if _, err := l.conn.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("%s: %w", strings.SplitN(q, " ", 2)[0], err)
	}
	return nil
}

// appender returns an appender for a table on the lane's connection,
// taking the columns in the given order (all of them, in table order, when
// columns is nil). The docs table's order on disk may differ from the
// schema's: columns added to an older store come last.
func (l *lane) appender(catalog, table string, columns []string) (*duck.Appender, error) {
	var a *duck.Appender
	err := l.conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		var err error
		if columns == nil {
			a, err = duck.NewAppender(c, catalog, "", table)
		} else {
			a, err = duck.NewAppenderWithColumns(c, catalog, "", table, columns)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating an appender for %s: %w", table, err)
	}
	return a, nil
}

// Write upserts docs by _id: stored documents with the same ids are
// replaced, and of several documents with one id in docs the last wins.
// Malformed documents are left out and reported in a *RejectedError; the
// others are written. Write returns once they are committed (durable in
// the write-ahead log). A large write is split into parallel
// transactions; if one fails, Write returns its error and the documents of
// the others may be stored (writing the same documents again is safe).
func (d *DB) Write(ctx context.Context, docs []store.Doc) error {
	if len(docs) == 0 {
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return fmt.Errorf("writing to store %s: the store is closed", d.dir)
	}
	if d.w == nil {
		return fmt.Errorf("writing to store %s: opened read-only", d.dir)
	}
	// Mark the hours written for the rollups, whatever the outcome. Only
	// a write that returned, with no error but rejections, knows every
	// hour it changed; after any other, the counts per hour are taken
	// again from the whole table.
	exact := false
	defer func() { d.rollupWritten(ctx, docs, d.w.replaced, exact, d.w.marked) }()
	d.w.markInTx = d.roll.ensure(ctx, d) == nil
	err := d.w.write(ctx, docs)
	var rej *RejectedError
	exact = err == nil || errors.As(err, &rej)
	if err != nil && rej == nil {
		return fmt.Errorf("writing %d documents to store %s: %w", len(docs), d.dir, err)
	}
	return err
}

// laneResult is what one lane did.
type laneResult struct {
	committed bool
	rejected  []Rejected
	fields    []fieldRow
	fieldH    []uint64
	replaced  []int64 // hour keys of the stored copies deleted
	err       error
}

func (w *writer) write(ctx context.Context, docs []store.Doc) error {
	// Which documents to write: the last of each id. Which may replace a
	// stored one: those the filter does not rule out.
	n := len(docs)
	w.hs = w.hs[:0]
	w.keep = w.keep[:0]
	w.cands = w.cands[:0]
	w.replaced = w.replaced[:0]
	clear(w.byID)
	for i := range docs {
		w.hs = append(w.hs, idHash(docs[i].ID))
		w.keep = append(w.keep, true)
		if j, dup := w.byID[docs[i].ID]; dup {
			w.keep[j] = false
		}
		w.byID[docs[i].ID] = i
	}
	for i, h := range w.hs {
		w.cands = append(w.cands, w.keep[i] && w.bloom.has(h))
	}

	if !w.d.codec.hasDict() && n >= dictMinDocs {
		if err := w.makeDict(ctx, docs); err != nil {
			// Documents are compressed without a dictionary meanwhile.
			w.d.logger.Warn("could not make a document dictionary", "err", err)
		}
	}

	// Split into contiguous shares, one per lane, so that each lane's rows
	// stay in time order in the table.
	nl := min(len(w.lanes), max(1, n/minLaneDocs))
	w.marked, w.markQ, w.markArgs = false, "", nil
	if w.markInTx && nl == 1 {
		w.markQ, w.markArgs = w.d.roll.marks(docs)
	}
	results := make([]laneResult, nl)
	var wg sync.WaitGroup
	for k := range nl {
		lo, hi := k*n/nl, (k+1)*n/nl
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k] = w.lanes[k].write(ctx, docs, lo, hi, w)
		}()
	}
	wg.Wait()

	var rejected []Rejected
	var errs []error
	var fields []fieldRow
	var fieldH []uint64
	for k, r := range results {
		if r.committed {
			lo, hi := k*n/nl, (k+1)*n/nl
			for i := lo; i < hi; i++ {
				if w.keep[i] {
					w.bloom.add(w.hs[i])
				}
			}
			fields = append(fields, r.fields...)
			fieldH = append(fieldH, r.fieldH...)
			w.replaced = append(w.replaced, r.replaced...)
		}
		rejected = append(rejected, r.rejected...)
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	if len(fields) > 0 {
		if err := w.saveFields(ctx, fields); err != nil {
			errs = append(errs, err)
		} else {
			w.d.fields.add(fields, fieldH)
		}
	}
	w.marked = w.markInTx && nl == 1 && results[0].committed
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if w.bloom.full() {
		if err := w.loadBloom(ctx, 4*w.bloom.cap); err != nil {
			// Keep the old, overfull filter: still correct, only slower.
			w.d.logger.Warn("could not grow the id filter", "err", err)
		}
	}
	if len(rejected) > 0 {
		return &RejectedError{Docs: rejected}
	}
	return nil
}

// write stores docs[lo:hi] (those w.keep marks) in one transaction. It
// only reads the writer's per-document slices.
func (l *lane) write(ctx context.Context, docs []store.Doc, lo, hi int, w *writer) (res laneResult) {
	var cands []int
	for i := lo; i < hi; i++ {
		if w.cands[i] {
			cands = append(cands, i)
		}
	}
	if err := l.exec(ctx, "BEGIN TRANSACTION"); err != nil {
		res.err = err
		return res
	}
	defer func() {
		if !res.committed {
			// The context may be done; roll back regardless.
			_, _ = l.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			for _, b := range l.bs {
				b.fields.rollback()
			}
			res.fields, res.fieldH = nil, nil
		}
	}()
	// The stored copies of the documents that may replace one are found
	// before the new rows are appended, and deleted after, only for the
	// documents that were well-formed and appended: a broken replacement
	// never deletes the stored copy, and no document is scanned twice.
	var stored map[string][]storedRow
	if len(cands) > 0 {
		if stored, res.err = l.findStored(ctx, docs, cands, w.hs); res.err != nil {
			return res
		}
	}
	if res.err = l.appendRows(docs, lo, hi, w, &res); res.err != nil {
		return res
	}
	if len(stored) > 0 {
		rejected := make(map[int]bool, len(res.rejected))
		for _, r := range res.rejected {
			rejected[r.Pos] = true
		}
		var del []int64
		for _, i := range cands {
			if rejected[i] {
				continue
			}
			for _, s := range stored[docs[i].ID] {
				del = append(del, s.rowid)
				if h := hourOf(s.ts); len(res.replaced) == 0 || res.replaced[len(res.replaced)-1] != h {
					res.replaced = append(res.replaced, h)
				}
			}
		}
		if len(del) > 0 {
			if res.err = l.exec(ctx, `DELETE FROM docs WHERE rowid = ANY(`+int64List(del)+`)`); res.err != nil {
				return res
			}
		}
	}
	if w.markQ != "" {
		if res.err = l.exec(ctx, w.markQ, w.markArgs...); res.err != nil {
			res.err = fmt.Errorf("marking the written hours for the rollups: %w", res.err)
			return res
		}
	}
	if res.err = ctx.Err(); res.err != nil {
		return res
	}
	if res.err = l.exec(ctx, "COMMIT"); res.err != nil {
		return res
	}
	res.committed = true
	for _, b := range l.bs {
		f, h := b.fields.take()
		res.fields = append(res.fields, f...)
		res.fieldH = append(res.fieldH, h...)
	}
	// Rejected documents are not stored: keep them out of the id filter.
	for _, r := range res.rejected {
		w.keep[r.Pos] = false
	}
	return res
}

// appendRows appends the rows of docs[lo:hi] that w.keep marks, adding
// the malformed ones to res.rejected. It writes the rows
// straight into DuckDB's data chunks, or through the driver's appender
// when the driver's connection handle is not accessible.
func (l *lane) appendRows(docs []store.Doc, lo, hi int, w *writer, res *laneResult) error {
	if w.driverAppend {
		return l.appendRowsDriver(docs, lo, hi, w, res)
	}
	var ck *chunkAppender
	err := l.conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return errNoChunkAppender
		}
		var err error
		ck, err = newChunkAppender(c, "docs", w.d.sch.names, w.d.sch.types)
		return err
	})
	if errors.Is(err, errNoChunkAppender) {
		return l.appendRowsDriver(docs, lo, hi, w, res)
	}
	if err != nil {
		return err
	}
	var idx []int
	for i := lo; i < hi; i++ {
		if w.keep[i] {
			idx = append(idx, i)
		}
	}
	if err := l.appendChunks(ck, docs, idx, res); err != nil {
		ck.free()
		return err
	}
	return ck.close()
}

// piece is a filled chunk of one range of rows; the last piece of a range
// may be empty.
type piece struct {
	buf  *chunkBuf
	last bool
}

// chunkBufs is how many chunks each builder fills ahead of the appender.
const chunkBufs = 2

// appendChunks builds the rows of docs[i] for i in idx and appends them
// through ck, in that order. The rows are cut into ranges of one chunk
// each; the lane's builders (when there are two ranges or more) take the
// ranges in turn and fill chunks in parallel, while this goroutine appends
// them in order. A range whose long strings overflow the chunk's buffer
// is appended in several pieces.
func (l *lane) appendChunks(ck *chunkAppender, docs []store.Doc, idx []int, res *laneResult) error {
	if len(idx) == 0 {
		return nil
	}
	size := ck.size
	nr := (len(idx) + size - 1) / size
	nb := min(len(l.bs), nr)
	pools := make([]chan *chunkBuf, nb)
	defer func() {
		for _, p := range pools {
			for len(p) > 0 {
				(<-p).free()
			}
		}
	}()
	for k := range pools {
		pools[k] = make(chan *chunkBuf, chunkBufs)
		for range chunkBufs {
			b, err := ck.newBuf()
			if err != nil {
				return err
			}
			b.owner = k
			pools[k] <- b
		}
	}
	ranges := make([]chan piece, nr)
	for r := range ranges {
		ranges[r] = make(chan piece, chunkBufs)
	}
	var stop atomic.Bool
	rejected := make([][]Rejected, nb)
	errs := make([]error, nb)
	var wg sync.WaitGroup
	for k := range nb {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := l.bs[k]
			defer func() { b.rb.ck = nil }()
			for r := k; r < nr; r += nb {
				buf := <-pools[k]
				for _, i := range idx[r*size : min((r+1)*size, len(idx))] {
					if stop.Load() {
						break
					}
					d := &docs[i]
					b.fields.setLogType(d.LogType)
					if err := b.rb.validate(d); err != nil {
						rejected[k] = append(rejected[k], Rejected{Pos: i, ID: d.ID, Index: d.Index, Err: err})
						continue
					}
					need := rowBytes(d)
					if !buf.fits(need) {
						if buf.n > 0 {
							ranges[r] <- piece{buf: buf}
							buf = <-pools[k]
						}
						if err := buf.growArena(need); err != nil {
							errs[k] = err
							stop.Store(true)
							break
						}
					}
					b.rb.ck = buf
					_ = b.rb.fill(d) // with a chunk with room, fill never fails
					buf.endRow()     // a range is at most one chunk
				}
				ranges[r] <- piece{buf: buf, last: true}
			}
		}()
	}
	var aerr error
	for r := range ranges {
		for {
			p := <-ranges[r]
			if aerr == nil && !stop.Load() {
				if err := ck.append(p.buf); err != nil {
					aerr = err
					stop.Store(true)
				}
			}
			p.buf.reset()
			pools[p.buf.owner] <- p.buf
			if p.last {
				break
			}
		}
	}
	wg.Wait()
	if err := errors.Join(append(errs, aerr)...); err != nil {
		return err
	}
	for _, rs := range rejected {
		res.rejected = append(res.rejected, rs...)
	}
	slices.SortFunc(res.rejected, func(a, b Rejected) int { return a.Pos - b.Pos })
	return nil
}

// appendRowsDriver is appendRows through the driver's appender.
func (l *lane) appendRowsDriver(docs []store.Doc, lo, hi int, w *writer, res *laneResult) error {
	app, err := l.appender("", "docs", w.d.sch.names)
	if err != nil {
		return err
	}
	for i := lo; i < hi; i++ {
		if !w.keep[i] {
			continue
		}
		d := &docs[i]
		l.fields.setLogType(d.LogType)
		if err := l.rb.build(d); err != nil {
			res.rejected = append(res.rejected, Rejected{Pos: i, ID: d.ID, Index: d.Index, Err: err})
			continue
		}
		if err := app.AppendRow(l.rb.vals...); err != nil {
			_ = app.Close() // the append error is the one to report
			return fmt.Errorf("appending _id %q: %w", d.ID, err)
		}
	}
	if err := app.Close(); err != nil {
		return fmt.Errorf("appending documents: %w", err)
	}
	return nil
}

// storedRow is a stored copy that a document of a write may replace.
type storedRow struct {
	rowid int64
	ts    int64 // its timestamp: the hour whose count the replacement changes
}

// findStored returns the row ids and timestamps of the stored documents
// with the candidates' ids, by id, inside the lane's transaction. It reads
// the h column of the whole table once, then only the rows whose hash
// matches: joining on _id directly would read every stored id.
func (l *lane) findStored(ctx context.Context, docs []store.Doc, cands []int, hs []uint64) (map[string][]storedRow, error) {
	app, err := l.appender("temp", "cand", nil)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]bool, len(cands))
	for _, i := range cands {
		ids[docs[i].ID] = true
		if err := app.AppendRow(int64(hs[i])); err != nil {
			_ = app.Close()
			return nil, fmt.Errorf("appending candidate ids: %w", err)
		}
	}
	if err := app.Close(); err != nil {
		return nil, fmt.Errorf("appending candidate ids: %w", err)
	}
	rowids, err := l.int64s(ctx, `SELECT rowid FROM docs WHERE h IN (SELECT h FROM temp.cand)`)
	if err != nil {
		return nil, err
	}
	if err := l.exec(ctx, `DELETE FROM temp.cand`); err != nil {
		return nil, err
	}
	if len(rowids) == 0 {
		return nil, nil
	}
	// Of the rows whose hash matches, those whose id matches too (a
	// 64-bit hash may collide). rowid = ANY(list) fetches rows by id;
	// rowid IN (...) would scan.
	rows, err := l.conn.QueryContext(ctx, `SELECT rowid, _id, ts FROM docs WHERE rowid = ANY(`+int64List(rowids)+`)`)
	if err != nil {
		return nil, fmt.Errorf("reading stored ids: %w", err)
	}
	stored := map[string][]storedRow{}
	for rows.Next() {
		var r storedRow
		var id string
		if err := rows.Scan(&r.rowid, &id, &r.ts); err != nil {
			_ = rows.Close() // the scan error is the one to report
			return nil, fmt.Errorf("reading stored ids: %w", err)
		}
		if ids[id] {
			stored[id] = append(stored[id], r)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("reading stored ids: %w", err)
	}
	return stored, nil
}

// int64s runs a query returning one BIGINT column.
func (l *lane) int64s(ctx context.Context, q string) ([]int64, error) {
	rows, err := l.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("finding stored ids: %w", err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("finding stored ids: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finding stored ids: %w", err)
	}
	return out, nil
}

// int64List writes numbers as a SQL list literal, [1, 2, 3].
func int64List(vs []int64) string {
	b := make([]byte, 0, 12*len(vs)+2)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, ']'))
}

// saveFields records the fields first seen in this write, in a
// transaction of their own (lanes may discover the same field at once).
func (w *writer) saveFields(ctx context.Context, rows []fieldRow) error {
	l := w.lanes[0]
	for len(rows) > 0 {
		n := min(len(rows), 200)
		var b strings.Builder
		b.WriteString(`INSERT INTO vigil_fields VALUES `)
		args := make([]any, 0, 4*n)
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?)")
			args = append(args, r.logType, r.name, r.typ, r.jsonPath)
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		if err := l.exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("recording new fields: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// close checkpoints and closes the write connections.
func (w *writer) close() error {
	_, cerr := w.conn().ExecContext(context.Background(), "CHECKPOINT")
	if cerr != nil {
		cerr = fmt.Errorf("checkpointing: %w", cerr)
	}
	return errors.Join(cerr, w.closeConns())
}
