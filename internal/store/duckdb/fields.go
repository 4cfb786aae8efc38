//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"sync"

	"github.com/vigil-siem/vigil/internal/store"
)

// fieldRow is one field of a log type's documents, as kept in the
// vigil_fields table.
type fieldRow struct {
	logType, name, jsonPath, typ string
}

// fieldSet remembers which fields each log type has, for Fields and for
// the query resolver (the JSON path and type of fields without a typed
// column). Writers discover fields through a fieldLane each.
type fieldSet struct {
	mu    sync.RWMutex
	known map[uint64]struct{} // path hash ^ log type hash
	paths map[string]string   // field name -> JSON path (first seen)
	types map[string]string   // field name -> type (first seen)
}

func newFieldSet() *fieldSet {
	return &fieldSet{known: map[uint64]struct{}{}, paths: map[string]string{}, types: map[string]string{}}
}

// logTypeHash is mixed into path hashes so each log type has its own set.
func logTypeHash(lt string) uint64 {
	return hashBytes(fnvOffset^0x5bd1e995, []byte(lt)) | 1
}

// add makes committed fields known and resolvable.
func (f *fieldSet) add(rows []fieldRow, hs []uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range rows {
		f.known[hs[i]] = struct{}{}
		if _, ok := f.paths[r.name]; !ok {
			f.paths[r.name] = r.jsonPath
			f.types[r.name] = r.typ
		}
	}
}

// fieldLane is one writer's view of the field set: the scanner asks it
// whether a leaf path is known (a local cache in front of the shared set)
// and hands it new fields, kept until the write commits. A lane is used by
// one goroutine at a time.
type fieldLane struct {
	set     *fieldSet
	local   map[uint64]struct{}
	lt      uint64 // hash of the current document's log type
	ltName  string
	pending []fieldRow
	pendH   []uint64
}

func newFieldLane(set *fieldSet) *fieldLane {
	return &fieldLane{set: set, local: map[uint64]struct{}{}}
}

// setLogType says which log type the next scanned documents have.
func (f *fieldLane) setLogType(lt string) {
	if lt == f.ltName && f.lt != 0 {
		return
	}
	f.ltName = lt
	f.lt = logTypeHash(lt)
}

// seen implements fieldSink.
func (f *fieldLane) seen(h uint64) bool {
	h ^= f.lt
	if _, ok := f.local[h]; ok {
		return true
	}
	f.set.mu.RLock()
	_, ok := f.set.known[h]
	f.set.mu.RUnlock()
	if ok {
		f.local[h] = struct{}{}
	}
	return ok
}

// add implements fieldSink.
func (f *fieldLane) add(h uint64, path, jsonPath string, typ byte) {
	h ^= f.lt
	f.local[h] = struct{}{}
	f.pending = append(f.pending, fieldRow{logType: f.ltName, name: path, jsonPath: jsonPath, typ: leafType(typ)})
	f.pendH = append(f.pendH, h)
}

// leafType names the type Fields reports for a JSON value kind.
func leafType(typ byte) string {
	switch typ {
	case vNumber:
		return "long"
	case vNumber | 0x80:
		return "double"
	case vTrue, vFalse:
		return "boolean"
	}
	return "keyword"
}

// take returns the pending fields and forgets them.
func (f *fieldLane) take() ([]fieldRow, []uint64) {
	rows, hs := f.pending, f.pendH
	f.pending, f.pendH = nil, nil
	return rows, hs
}

// rollback forgets the pending fields after a failed write, so they are
// reported again.
func (f *fieldLane) rollback() {
	for _, h := range f.pendH {
		delete(f.local, h)
	}
	f.pending, f.pendH = f.pending[:0], f.pendH[:0]
}

// typeOf returns the type of a field seen in some document.
func (f *fieldSet) typeOf(name string) (string, bool) {
	f.mu.RLock()
	t, ok := f.types[name]
	f.mu.RUnlock()
	return t, ok
}

// jsonPath returns the JSON path of a field without a typed column: the one
// recorded when it was first seen (with [*] where it crosses arrays), else
// the plain dotted path.
func (f *fieldSet) jsonPath(name string) (path string, list bool) {
	f.mu.RLock()
	p, ok := f.paths[name]
	f.mu.RUnlock()
	if !ok {
		p = plainJSONPath(name)
	}
	return p, containsArray(p)
}

func containsArray(p string) bool {
	for i := 0; i+2 < len(p); i++ {
		if p[i] == '[' && p[i+1] == '*' && p[i+2] == ']' {
			return true
		}
	}
	return false
}

// plainJSONPath turns a dotted field name into a JSON path with quoted
// keys.
func plainJSONPath(name string) string {
	b := []byte{'$', '.', '"'}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '.':
			b = append(b, '"', '.', '"')
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

// load reads the fields table.
func (f *fieldSet) load(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT log_type, name, path, type FROM vigil_fields`)
	if err != nil {
		return fmt.Errorf("reading the field list: %w", err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	f.mu.Lock()
	defer f.mu.Unlock()
	for rows.Next() {
		var lt, name, path, typ string
		if err := rows.Scan(&lt, &name, &path, &typ); err != nil {
			return fmt.Errorf("reading the field list: %w", err)
		}
		// The path hash chain of the scanner: FNV over the dotted name.
		f.known[hashBytes(fnvOffset, []byte(name))^logTypeHash(lt)] = struct{}{}
		if _, ok := f.paths[name]; !ok {
			f.paths[name] = path
			f.types[name] = typ
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the field list: %w", err)
	}
	return nil
}

// Fields lists the fields of a log type's documents (all types when logType
// is empty): the fixed fields and the typed columns first, then the rest
// by name.
func (db *DB) Fields(ctx context.Context, logType string) ([]store.Field, error) {
	q := `SELECT name, min(type) FROM vigil_fields GROUP BY name`
	var args []any
	if logType != "" {
		q = `SELECT name, min(type) FROM vigil_fields WHERE log_type = ? GROUP BY name`
		args = append(args, logType)
	}
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing fields: %w", err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	var out []store.Field
	for rows.Next() {
		var f store.Field
		if err := rows.Scan(&f.Name, &f.Type); err != nil {
			return nil, fmt.Errorf("listing fields: %w", err)
		}
		if i, ok := db.sch.byField[f.Name]; ok {
			f.Type = db.sch.cols[i].kind.fieldType()
			f.Indexed = true
		}
		switch f.Name {
		case "@timestamp":
			f.Type, f.Indexed = "date", true
		case "@message":
			f.Type, f.Indexed = "text", true
		case "@log_type":
			f.Indexed = true
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing fields: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Indexed != out[j].Indexed {
			return out[i].Indexed
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
