//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
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

// writer owns the write connection. Its methods run under DB.wmu.
type writer struct {
	d     *DB
	conn  *sql.Conn
	rb    *rowBuilder
	bloom *bloom

	hs    []uint64
	keep  []bool
	byID  map[string]int
	cands []int
}

func newWriter(ctx context.Context, d *DB) (*writer, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening the write connection: %w", err)
	}
	w := &writer{d: d, conn: conn, rb: newRowBuilder(d.sch), byID: map[string]int{}}
	w.rb.sc.fields = d.fields
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS cand (h BIGINT, _id VARCHAR)`); err != nil {
		conn.Close()
		return nil, fmt.Errorf("preparing the write connection: %w", err)
	}
	if err := w.loadBloom(ctx, 0); err != nil {
		conn.Close()
		return nil, err
	}
	return w, nil
}

// loadBloom rebuilds the id filter from the h column, sized for at least
// twice the stored documents.
func (w *writer) loadBloom(ctx context.Context, minCap int) error {
	t0 := time.Now()
	var n int64
	if err := w.conn.QueryRowContext(ctx, `SELECT count(*) FROM docs`).Scan(&n); err != nil {
		return fmt.Errorf("counting documents: %w", err)
	}
	b := newBloom(max(int(2*n), minCap, 1<<20))
	rows, err := w.conn.QueryContext(ctx, `SELECT h FROM docs`)
	if err != nil {
		return fmt.Errorf("reading document ids: %w", err)
	}
	defer rows.Close()
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

func (w *writer) exec(ctx context.Context, q string, args ...any) error {
	if _, err := w.conn.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("%s: %w", strings.SplitN(q, " ", 2)[0], err)
	}
	return nil
}

// appender returns an appender for a table on the write connection.
func (w *writer) appender(catalog, table string) (*duck.Appender, error) {
	var a *duck.Appender
	err := w.conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		var err error
		a, err = duck.NewAppender(c, catalog, "", table)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating an appender for %s: %w", table, err)
	}
	return a, nil
}

// Write upserts docs by _id in one transaction: stored documents with the
// same ids are replaced, and of several documents with one id in docs the
// last wins. Malformed documents are left out and reported in a
// *RejectedError; the others are written. Write returns once the
// transaction is committed (durable in the write-ahead log).
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
	if err := d.w.write(ctx, docs); err != nil {
		var rej *RejectedError
		if errors.As(err, &rej) {
			return err
		}
		return fmt.Errorf("writing %d documents to store %s: %w", len(docs), d.dir, err)
	}
	return nil
}

func (w *writer) write(ctx context.Context, docs []store.Doc) (err error) {
	// Which documents to write: the last of each id. Which may replace a
	// stored one: those the filter does not rule out.
	w.hs = w.hs[:0]
	w.keep = w.keep[:0]
	w.cands = w.cands[:0]
	clear(w.byID)
	for i := range docs {
		h := idHash(docs[i].ID)
		w.hs = append(w.hs, h)
		w.keep = append(w.keep, true)
		if j, dup := w.byID[docs[i].ID]; dup {
			w.keep[j] = false
		}
		w.byID[docs[i].ID] = i
	}
	var rejected []Rejected
	for i, h := range w.hs {
		if w.keep[i] && w.bloom.has(h) {
			// It replaces a stored document only if it is well-formed:
			// check now, before the stored one is deleted.
			d := &docs[i]
			w.d.fields.setLogType(d.LogType)
			if err := w.rb.build(d); err != nil {
				rejected = append(rejected, Rejected{Pos: i, ID: d.ID, Index: d.Index, Err: err})
				w.keep[i] = false
				continue
			}
			w.cands = append(w.cands, i)
		}
	}

	if err := w.exec(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			// The connection's context may be done; roll back regardless.
			_, _ = w.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			w.d.fields.rollback()
		}
	}()
	if len(w.cands) > 0 {
		if err := w.deleteStored(ctx, docs); err != nil {
			return err
		}
	}
	app, err := w.appender("", "docs")
	if err != nil {
		return err
	}
	for i := range docs {
		if !w.keep[i] {
			continue
		}
		d := &docs[i]
		w.d.fields.setLogType(d.LogType)
		if err := w.rb.build(d); err != nil {
			rejected = append(rejected, Rejected{Pos: i, ID: d.ID, Index: d.Index, Err: err})
			w.keep[i] = false
			continue
		}
		if err := app.AppendRow(w.rb.vals...); err != nil {
			_ = app.Close()
			return fmt.Errorf("appending _id %q: %w", d.ID, err)
		}
	}
	if err := app.Close(); err != nil {
		return fmt.Errorf("appending documents: %w", err)
	}
	if err := w.saveFields(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.exec(ctx, "COMMIT"); err != nil {
		return err
	}
	committed = true
	w.d.fields.commit()
	for i, h := range w.hs {
		if w.keep[i] {
			w.bloom.add(h)
		}
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

// deleteStored deletes the stored documents whose ids the candidates
// have, inside the write transaction.
func (w *writer) deleteStored(ctx context.Context, docs []store.Doc) error {
	app, err := w.appender("temp", "cand")
	if err != nil {
		return err
	}
	for _, i := range w.cands {
		if err := app.AppendRow(int64(w.hs[i]), docs[i].ID); err != nil {
			_ = app.Close()
			return fmt.Errorf("appending candidate ids: %w", err)
		}
	}
	if err := app.Close(); err != nil {
		return fmt.Errorf("appending candidate ids: %w", err)
	}
	if err := w.exec(ctx, `DELETE FROM docs USING temp.cand c WHERE docs.h = c.h AND docs._id = c._id`); err != nil {
		return err
	}
	return w.exec(ctx, `DELETE FROM temp.cand`)
}

// saveFields records the fields first seen in this write.
func (w *writer) saveFields(ctx context.Context) error {
	p := w.d.fields.pending
	for len(p) > 0 {
		n := min(len(p), 200)
		var b strings.Builder
		b.WriteString(`INSERT INTO vigil_fields VALUES `)
		args := make([]any, 0, 4*n)
		for i, r := range p[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?)")
			args = append(args, r.logType, r.name, r.typ, r.jsonPath)
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		if err := w.exec(ctx, b.String(), args...); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// close checkpoints and closes the write connection.
func (w *writer) close() error {
	_, cerr := w.conn.ExecContext(context.Background(), "CHECKPOINT")
	if err := w.conn.Close(); cerr == nil {
		cerr = err
	}
	if cerr != nil {
		return fmt.Errorf("checkpointing: %w", cerr)
	}
	return nil
}
