//go:build cgo

package duckdb

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// convertV1 converts a store made before documents were compressed by
// Vigil: its doc and message columns hold text. The table is copied into
// the current layout (doc_z, msg_case and message_lc computed from doc and
// message, every other column as it is, in the same order), in one
// transaction, so an interrupted conversion leaves the old table. have
// lists the old table's columns.
func (d *DB) convertV1(ctx context.Context, have map[string]bool) error {
	t0 := time.Now()
	var n int64
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM docs`).Scan(&n); err != nil {
		return fmt.Errorf("converting the store to compressed documents: %w", err)
	}
	d.logger.Info("converting the store to compressed documents (once; this takes about a minute per million documents)", "store", d.dir, "docs", n)
	if n > 0 && !d.codec.hasDict() {
		var samples [][]byte
		rows, err := d.db.QueryContext(ctx, `SELECT doc FROM docs USING SAMPLE 64 ROWS`)
		if err != nil {
			return fmt.Errorf("sampling documents for a dictionary: %w", err)
		}
		for rows.Next() {
			var s []byte
			if err := rows.Scan(&s); err != nil {
				_ = rows.Close() // the scan error is the one to report
				return fmt.Errorf("sampling documents for a dictionary: %w", err)
			}
			samples = append(samples, s)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sampling documents for a dictionary: %w", err)
		}
		if err := d.saveDict(ctx, d.db, buildDict(samples)); err != nil {
			return err
		}
	}
	var cols, sel []string
	for _, c := range d.sch.table {
		cols = append(cols, quoteIdent(c.name))
		switch c.name {
		case "doc_z":
			sel = append(sel, fnPack+"(doc)")
		case "msg_case":
			sel = append(sel, fnCase+"(message)")
		case "message_lc":
			sel = append(sel, fnLower+"(message)")
		default:
			if !have[c.name] {
				return fmt.Errorf("converting the store: column %s is missing", c.name)
			}
			sel = append(sel, quoteIdent(c.name))
		}
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("converting the store to compressed documents: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op
	for _, q := range []string{
		`DROP TABLE IF EXISTS docs_v2`,
		d.sch.createTableSQL("docs_v2", false),
		`INSERT INTO docs_v2 (` + strings.Join(cols, ", ") + `) SELECT ` + strings.Join(sel, ", ") + ` FROM docs`,
		`DROP TABLE docs`,
		`ALTER TABLE docs_v2 RENAME TO docs`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("converting the store to compressed documents: %s: %w", strings.SplitN(q, " (", 2)[0], err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("converting the store to compressed documents: %w", err)
	}
	if _, err := d.db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return fmt.Errorf("converting the store to compressed documents: %w", err)
	}
	d.logger.Info("converted the store to compressed documents", "store", d.dir, "docs", n, "took", time.Since(t0))
	return nil
}
