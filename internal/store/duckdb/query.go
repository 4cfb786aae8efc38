//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/query"
	"github.com/vigil-siem/vigil/internal/store"
)

// sqlSchema tells the query renderer how each field is read: typed columns
// by name, the fixed fields from their columns, any other field the store
// has seen from the JSON document.
type sqlSchema struct{ d *DB }

// ipFields are ECS address fields without a typed column, compared as
// addresses when read from the JSON document.
var ipFields = map[string]bool{
	"client.ip": true, "server.ip": true, "host.ip": true,
	"source.nat.ip": true, "destination.nat.ip": true,
	"client.nat.ip": true, "server.nat.ip": true,
}

// Field implements query.SQLSchema.
func (s sqlSchema) Field(name string) (query.SQLField, bool) {
	sch := s.d.sch
	switch name {
	case "@timestamp":
		return query.SQLField{Expr: "ts", Kind: query.Date}, true
	case "@message":
		return query.SQLField{Expr: lowerMessage, Kind: query.Text}, true
	case "_id":
		return query.SQLField{Expr: "_id", Kind: query.Keyword}, true
	case "_index":
		return query.SQLField{Expr: "_index", Kind: query.Keyword}, true
	case "@log_type":
		return query.SQLField{Expr: "log_type", Kind: query.Keyword}, true
	}
	if i, ok := sch.byField[name]; ok {
		c := sch.cols[i]
		f := query.SQLField{Expr: quoteIdent(c.name), List: c.list}
		switch c.kind {
		case kindText:
			f.Kind = query.Text
		case kindLong:
			f.Kind = query.Long
		case kindDouble:
			f.Kind = query.Double
		case kindBool:
			f.Kind = query.Bool
		case kindIP:
			f.Kind = query.IP
			if !c.list {
				f.Num = quoteIdent(c.name + "_num")
			}
		}
		return f, true
	}
	typ, ok := s.d.fields.typeOf(name)
	if !ok {
		return query.SQLField{}, false
	}
	path, list := s.d.fields.jsonPath(name)
	f := query.SQLField{Expr: "json_extract_string(doc, ?)", Args: []any{path}, List: list}
	if list {
		// Lists compare their elements as text.
		if ipFields[name] || strings.HasSuffix(name, ".ip") {
			f.Kind = query.IP
		}
		return f, true
	}
	switch {
	case ipFields[name]:
		f.Kind = query.IP
	case typ == "long":
		f.Kind, f.Expr = query.Long, "TRY_CAST(json_extract_string(doc, ?) AS BIGINT)"
	case typ == "double":
		f.Kind, f.Expr = query.Double, "TRY_CAST(json_extract_string(doc, ?) AS DOUBLE)"
	case typ == "boolean":
		f.Kind, f.Expr = query.Bool, "TRY_CAST(json_extract_string(doc, ?) AS BOOLEAN)"
	}
	return f, true
}

// FreeText implements query.SQLSchema: free text searches @message, the raw
// record.
func (s sqlSchema) FreeText() []query.SQLField {
	return []query.SQLField{{Expr: lowerMessage, Kind: query.Text}}
}

// lowerMessage is the column @message is searched in: the message in lower
// case, so that a case-insensitive match is a plain LIKE (DuckDB's ILIKE
// is several times slower). where turns the renderer's ILIKE on it into
// LIKE with a lower-case pattern.
const lowerMessage = `"message_lc"`

// ilikeLower is how the query renderer writes a text match on lowerMessage.
const ilikeLower = lowerMessage + ` ILIKE ? ESCAPE '\'`

// likeLower rewrites the renderer's case-insensitive matches on the
// lower-case message into case-sensitive ones with lower-case patterns.
func likeLower(where string, args []any) (string, []any) {
	if !strings.Contains(where, ilikeLower) {
		return where, args
	}
	var b strings.Builder
	arg := 0 // index of the next placeholder's argument
	for i := 0; i < len(where); {
		if strings.HasPrefix(where[i:], ilikeLower) {
			pat, _ := args[arg].(string)
			args[arg] = strings.ToLower(pat)
			b.WriteString(lowerMessage + ` LIKE ?`)
			if strings.Contains(pat, `\`) {
				b.WriteString(` ESCAPE '\'`)
			}
			i += len(ilikeLower)
			arg++
			continue
		}
		if where[i] == '?' {
			arg++
		}
		b.WriteByte(where[i])
		i++
	}
	return b.String(), args
}

// fieldExpr returns the SQL of a field for grouping and sorting.
func (d *DB) fieldExpr(name string) (query.SQLField, error) {
	if name == "@message" {
		return query.SQLField{Expr: "message", Kind: query.Text}, nil
	}
	f, ok := sqlSchema{d}.Field(name)
	if !ok {
		return f, fmt.Errorf("no field %q in the store", name)
	}
	return f, nil
}

// where renders a filter as a WHERE clause with its arguments.
func (d *DB) where(f store.Filter) (string, []any, error) {
	var parts []string
	var args []any
	if f.From != 0 {
		parts = append(parts, "ts >= ?")
		args = append(args, f.From)
	}
	if f.To != 0 {
		parts = append(parts, "ts < ?")
		args = append(args, f.To)
	}
	if len(f.LogTypes) > 0 {
		parts = append(parts, "log_type IN (?"+strings.Repeat(", ?", len(f.LogTypes)-1)+")")
		for _, lt := range f.LogTypes {
			args = append(args, lt)
		}
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		n, err := query.Parse(q)
		if err != nil {
			return "", nil, err
		}
		w, wargs, err := query.ToSQL(n, sqlSchema{d})
		if err != nil {
			return "", nil, err
		}
		w, wargs = likeLower(w, wargs)
		if w != "TRUE" {
			parts = append(parts, "("+w+")")
			args = append(args, wargs...)
		}
	}
	if len(parts) == 0 {
		return "TRUE", nil, nil
	}
	return strings.Join(parts, " AND "), args, nil
}

// hitColumns are the columns a Hit is read from.
const hitColumns = `_id, _index, log_type, ts, doc, message, msg_pos`

// scanHit reads one hit and puts @message back into its document.
func scanHit(sc interface{ Scan(...any) error }) (store.Hit, error) {
	var h store.Hit
	var doc string
	var msg sql.NullString
	var pos sql.NullInt32
	if err := sc.Scan(&h.ID, &h.Index, &h.LogType, &h.TimestampMs, &doc, &msg, &pos); err != nil {
		return h, err
	}
	h.Source = restoreMessage(doc, msg, pos)
	return h, nil
}

// restoreMessage splices @message back where the writer cut it out.
func restoreMessage(doc string, msg sql.NullString, pos sql.NullInt32) []byte {
	if !msg.Valid || !pos.Valid {
		return []byte(doc)
	}
	at, mode := int(pos.Int32/4), int(pos.Int32%4)
	if at < 0 || at > len(doc) {
		at, mode = 1, spliceBefore
		if strings.TrimSpace(doc) == "{}" {
			mode = spliceOnly
		}
	}
	out := make([]byte, 0, len(doc)+len(msg.String)+16)
	out = append(out, doc[:at]...)
	if mode == spliceAfter {
		out = append(out, ',')
	}
	out = append(out, `"@message":`...)
	out = normalize.AppendQuoted(out, msg.String) // as the pipeline wrote it
	if mode == spliceBefore {
		out = append(out, ',')
	}
	return append(out, doc[at:]...)
}

// maxLimit caps SearchRequest.Limit.
const maxLimit = 10000

// Search returns a page of matching documents and the number of matches.
func (d *DB) Search(ctx context.Context, r store.SearchRequest) (*store.SearchResult, error) {
	t0 := time.Now()
	where, args, err := d.where(r.Filter)
	if err != nil {
		return nil, err
	}
	limit := r.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > maxLimit {
		return nil, fmt.Errorf("search limit %d is above the maximum of %d", limit, maxLimit)
	}
	if r.Offset < 0 {
		return nil, fmt.Errorf("search offset %d is negative", r.Offset)
	}
	order := "ts"
	var orderArgs []any
	if r.Sort != "" && r.Sort != "@timestamp" {
		f, err := d.fieldExpr(r.Sort)
		if err != nil {
			return nil, fmt.Errorf("sorting by %q: %w", r.Sort, err)
		}
		order, orderArgs = f.Expr, f.Args
	}
	dir := " DESC"
	if r.Asc {
		dir = " ASC"
	}
	res := &store.SearchResult{Hits: []store.Hit{}}
	if err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM docs WHERE "+where, args...).Scan(&res.Total); err != nil {
		return nil, fmt.Errorf("counting matches: %w", err)
	}
	pageWhere, pageArgs := where, args
	if order == "ts" && res.Total > int64(r.Offset+limit) {
		// DuckDB reads every column of every match to sort them; find the
		// time of the page's last hit from the ts column first (a top-N
		// that skips row groups by their time range), so the page query
		// reads only the row groups from there on.
		edge := "SELECT ts FROM docs WHERE " + where + " ORDER BY ts" + dir + " LIMIT 1 OFFSET ?"
		var bound int64
		if err := d.db.QueryRowContext(ctx, edge, append(append([]any(nil), args...), r.Offset+limit-1)...).Scan(&bound); err != nil {
			return nil, fmt.Errorf("searching: %w", err)
		}
		op := " AND ts >= ?"
		if r.Asc {
			op = " AND ts <= ?"
		}
		pageWhere = where + op
		pageArgs = append(append([]any(nil), args...), bound)
	}
	if res.Total > int64(r.Offset) {
		q := "SELECT " + hitColumns + " FROM docs WHERE " + pageWhere + " ORDER BY " + order + dir + " NULLS LAST"
		if order != "ts" {
			q += ", ts DESC"
		}
		q += " LIMIT ? OFFSET ?"
		qargs := append(append(append([]any(nil), pageArgs...), orderArgs...), limit, r.Offset)
		rows, err := d.db.QueryContext(ctx, q, qargs...)
		if err != nil {
			return nil, fmt.Errorf("searching: %w", err)
		}
		defer func() { _ = rows.Close() }() // a result set: nothing to flush
		for rows.Next() {
			h, err := scanHit(rows)
			if err != nil {
				return nil, fmt.Errorf("reading a hit: %w", err)
			}
			res.Hits = append(res.Hits, h)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("searching: %w", err)
		}
	}
	res.Took = time.Since(t0)
	return res, nil
}

// Get returns the document with the id.
func (d *DB) Get(ctx context.Context, id string) (*store.Hit, error) {
	row := d.db.QueryRowContext(ctx, "SELECT "+hitColumns+" FROM docs WHERE h = ? AND _id = ? LIMIT 1", int64(idHash(id)), id)
	h, err := scanHit(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("getting _id %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("getting _id %q: %w", id, err)
	}
	return &h, nil
}

// Indices lists the indices with their document counts, time spans and
// approximate sizes (their share of the database file, by document count).
func (d *DB) Indices(ctx context.Context) ([]store.IndexInfo, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT _index, min(log_type), count(*), min(ts), max(ts) FROM docs GROUP BY _index ORDER BY _index`)
	if err != nil {
		return nil, fmt.Errorf("listing indices: %w", err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	var out []store.IndexInfo
	var total int64
	for rows.Next() {
		var ii store.IndexInfo
		if err := rows.Scan(&ii.Name, &ii.LogType, &ii.Docs, &ii.MinMs, &ii.MaxMs); err != nil {
			return nil, fmt.Errorf("listing indices: %w", err)
		}
		total += ii.Docs
		out = append(out, ii)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing indices: %w", err)
	}
	if size, err := d.dataBytes(ctx); err == nil && total > 0 {
		for i := range out {
			out[i].Bytes = size * out[i].Docs / total
		}
	}
	return out, nil
}

// dataBytes returns the bytes the database uses (blocks in use plus the
// write-ahead log).
func (d *DB) dataBytes(ctx context.Context) (int64, error) {
	var used, blockSize int64
	var walSize string
	err := d.db.QueryRowContext(ctx, `SELECT used_blocks, block_size, wal_size FROM pragma_database_size() WHERE database_name = current_database()`).Scan(&used, &blockSize, &walSize)
	if err != nil {
		return 0, fmt.Errorf("reading the database size: %w", err)
	}
	return used*blockSize + parseSize(walSize), nil
}

// parseSize reads DuckDB's human-readable sizes ("12.5 MiB").
func parseSize(s string) int64 {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), " ")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	mult := map[string]float64{"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
	if mult == 0 {
		mult = 1
	}
	return int64(f * mult)
}

// DeleteBefore deletes the documents of logType (every type when empty)
// older than t and returns how many it deleted.
func (d *DB) DeleteBefore(ctx context.Context, logType string, t time.Time) (int64, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return 0, fmt.Errorf("deleting from store %s: the store is closed", d.dir)
	}
	if d.w == nil {
		return 0, fmt.Errorf("deleting from store %s: opened read-only", d.dir)
	}
	q := "DELETE FROM docs WHERE ts < ?"
	args := []any{t.UnixMilli()}
	if logType != "" {
		q += " AND log_type = ?"
		args = append(args, logType)
	}
	res, err := d.w.conn().ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("deleting %s documents before %s: %w", orAll(logType), t.UTC().Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("deleting %s documents: %w", orAll(logType), err)
	}
	if n > 0 {
		d.rollupDeleted(ctx, logType, t.UnixMilli())
		// Give the space of emptied row groups back now rather than at
		// the next automatic checkpoint.
		if _, err := d.w.conn().ExecContext(ctx, "CHECKPOINT"); err != nil {
			d.logger.Warn("checkpoint after deleting old documents failed", "err", err)
		}
	}
	return n, nil
}

func orAll(logType string) string {
	if logType == "" {
		return "all"
	}
	return logType
}
