//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/klauspost/compress/s2"

	"github.com/vigil-siem/vigil/internal/store"
)

// The stored document (without @message) is compressed by Vigil, not by
// DuckDB: the doc_z column holds it as a BLOB, S2-compressed against a
// dictionary of sample documents kept in the vigil_dicts table, and the
// doc column is computed from it by the vigil_doc function when a query
// reads it. DuckDB's own compression of the JSON (FSST) was the largest
// part of the cost of ingestion, and compressed it less.
//
// A doc_z value is one codec byte followed by the codec's data:
//
//	0  the document as is
//	1  S2 without a dictionary
//	2  a uvarint dictionary id, then S2 against that dictionary
//
// @message is stored once, in lower case (message_lc, what free text
// searches); msg_case holds what restores its capitals, and the message
// column is computed by vigil_message(message_lc, msg_case):
//
//	empty      the message has no capital letters
//	0 …        uvarint pairs (gap, length): runs of ASCII capitals, each
//	           gap counted from the end of the previous run
//	1 …        the message itself (lower case would not give it back)

// Codec bytes of doc_z.
const (
	codecRaw    = 0
	codecS2     = 1
	codecS2Dict = 2
)

// Kinds of msg_case.
const (
	caseRuns     = 0
	caseVerbatim = 1
)

// dictMaxBytes is the size of a document dictionary (S2's maximum).
const dictMaxBytes = 64 << 10

// maxCompressBytes is the largest document compressed; larger ones (rare)
// are stored as they are.
const maxCompressBytes = 4 << 20

// dictMinDocs is the smallest write a dictionary is built from: a smaller
// one would not show the variety of the documents.
const dictMinDocs = 256

// docCodec compresses and decompresses stored documents. Encoding happens
// under the store's write lock; decoding runs on DuckDB's threads, which
// read the dictionaries without locking.
type docCodec struct {
	st atomic.Pointer[codecState]
}

// codecState is an immutable set of dictionaries.
type codecState struct {
	dicts map[uint64]*s2.Dict
	cur   uint64 // the dictionary new documents use; 0: none
}

func newDocCodec() *docCodec {
	c := &docCodec{}
	c.st.Store(&codecState{dicts: map[uint64]*s2.Dict{}})
	return c
}

// hasDict says whether new documents are compressed against a dictionary.
func (c *docCodec) hasDict() bool { return c.st.Load().cur != 0 }

// addDict makes dict, stored under id, the one new documents use.
func (c *docCodec) addDict(id uint64, dict []byte) error {
	d := s2.NewDict(dict)
	if d == nil {
		return fmt.Errorf("document dictionary %d (%d bytes) is not usable", id, len(dict))
	}
	old := c.st.Load()
	st := &codecState{dicts: make(map[uint64]*s2.Dict, len(old.dicts)+1), cur: id}
	for k, v := range old.dicts {
		st.dicts[k] = v
	}
	st.dicts[id] = d
	c.st.Store(st)
	return nil
}

// appendEncoded appends the doc_z form of doc to dst.
func (c *docCodec) appendEncoded(dst, doc []byte) []byte {
	st := c.st.Load()
	start := len(dst)
	var bound int
	if st.cur != 0 {
		dst = append(dst, codecS2Dict)
		dst = binary.AppendUvarint(dst, st.cur)
		bound = s2.MaxEncodedLen(len(doc))
	} else {
		dst = append(dst, codecS2)
		bound = s2.MaxEncodedLen(len(doc))
	}
	if bound < 0 || len(doc) > maxCompressBytes {
		return append(append(dst[:start], codecRaw), doc...)
	}
	head := len(dst)
	dst = grow(dst, bound)
	var enc []byte
	if st.cur != 0 {
		enc = st.dicts[st.cur].Encode(dst[head:head+bound], doc)
	} else {
		enc = s2.Encode(dst[head:head+bound], doc)
	}
	if len(enc) >= len(doc) {
		return append(append(dst[:start], codecRaw), doc...)
	}
	return dst[:head+len(enc)]
}

// grow extends b by n bytes (contents undefined).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// decode appends the document stored as z to dst.
func (c *docCodec) decode(dst, z []byte) ([]byte, error) {
	if len(z) == 0 {
		return nil, errors.New("empty stored document")
	}
	switch z[0] {
	case codecRaw:
		return append(dst, z[1:]...), nil
	case codecS2:
		n, err := s2.DecodedLen(z[1:])
		if err != nil {
			return nil, fmt.Errorf("decompressing a stored document: %w", err)
		}
		start := len(dst)
		dst = grow(dst, n)
		if _, err := s2.Decode(dst[start:], z[1:]); err != nil {
			return nil, fmt.Errorf("decompressing a stored document: %w", err)
		}
		return dst, nil
	case codecS2Dict:
		id, k := binary.Uvarint(z[1:])
		if k <= 0 {
			return nil, errors.New("stored document has a malformed dictionary id")
		}
		d := c.st.Load().dicts[id]
		if d == nil {
			return nil, fmt.Errorf("stored document uses dictionary %d, which the store lacks", id)
		}
		n, err := s2.DecodedLen(z[1+k:])
		if err != nil {
			return nil, fmt.Errorf("decompressing a stored document: %w", err)
		}
		start := len(dst)
		dst = grow(dst, n)
		if _, err := d.Decode(dst[start:], z[1+k:]); err != nil {
			return nil, fmt.Errorf("decompressing a stored document: %w", err)
		}
		return dst, nil
	}
	return nil, fmt.Errorf("stored document has unknown codec %d", z[0])
}

// buildDict makes a dictionary of sample documents, serialised: as many as
// fit, taken across the list so that every kind of document has a part.
// It returns nil when the samples are too small for a dictionary.
func buildDict(samples [][]byte) []byte {
	total := 0
	for _, s := range samples {
		total += len(s)
	}
	step := 1
	if total > dictMaxBytes {
		step = (total + dictMaxBytes - 1) / dictMaxBytes
	}
	var d []byte
	for i := 0; i < len(samples); i += step {
		d = append(d, samples[i]...)
	}
	if len(d) > dictMaxBytes {
		d = d[len(d)-dictMaxBytes:]
	}
	dict := s2.MakeDict(d, []byte(`{"`))
	if dict == nil {
		return nil // too little to be of use
	}
	return dict.Bytes()
}

// appendLowerCase appends msg in lower case to lower and what restores it
// to cs (see msg_case above).
func appendLowerCase(lower, cs, msg []byte) ([]byte, []byte) {
	start := len(lower)
	lower = appendLower(lower, msg)
	lc := lower[start:]
	if len(lc) != len(msg) {
		return lower, append(append(cs, caseVerbatim), msg...)
	}
	csStart := len(cs)
	last := 0 // end of the previous run
	for i := 0; i < len(msg); {
		c := msg[i]
		if c == lc[i] {
			i++
			continue
		}
		if c < 'A' || c > 'Z' {
			// A change other than an ASCII capital (bytes.ToLower on
			// non-ASCII text): keep the message itself.
			return lower, append(append(cs[:csStart], caseVerbatim), msg...)
		}
		j := i + 1
		for j < len(msg) && msg[j] >= 'A' && msg[j] <= 'Z' {
			j++
		}
		if len(cs) == csStart {
			cs = append(cs, caseRuns)
		}
		cs = binary.AppendUvarint(cs, uint64(i-last))
		cs = binary.AppendUvarint(cs, uint64(j-i))
		last, i = j, j
	}
	return lower, cs
}

// appendRecased appends the message whose lower case is lc and whose case
// information is cs.
func appendRecased(dst, lc, cs []byte) ([]byte, error) {
	if len(cs) == 0 {
		return append(dst, lc...), nil
	}
	switch cs[0] {
	case caseVerbatim:
		return append(dst, cs[1:]...), nil
	case caseRuns:
	default:
		return nil, fmt.Errorf("message case information has unknown kind %d", cs[0])
	}
	start := len(dst)
	dst = append(dst, lc...)
	out := dst[start:]
	at := 0
	for p := cs[1:]; len(p) > 0; {
		gap, k := binary.Uvarint(p)
		if k <= 0 {
			return nil, errors.New("malformed message case information")
		}
		p = p[k:]
		n, k := binary.Uvarint(p)
		if k <= 0 {
			return nil, errors.New("malformed message case information")
		}
		p = p[k:]
		if gap > uint64(len(out)-at) || n > uint64(len(out)-at)-gap {
			return nil, errors.New("message case information runs past the message")
		}
		at += int(gap)
		for i := at; i < at+int(n); i++ {
			if c := out[i]; 'a' <= c && c <= 'z' {
				out[i] = c - ('a' - 'A')
			}
		}
		at += int(n)
	}
	return dst, nil
}

// SQL functions the schema's computed columns and the migration use.
const (
	fnDoc     = "vigil_doc"     // vigil_doc(doc_z BLOB) -> VARCHAR
	fnMessage = "vigil_message" // vigil_message(message_lc VARCHAR, msg_case BLOB) -> VARCHAR
	fnPack    = "vigil_pack"    // vigil_pack(doc VARCHAR) -> BLOB: doc_z
	fnLower   = "vigil_lower"   // vigil_lower(message VARCHAR) -> VARCHAR: message_lc
	fnCase    = "vigil_case"    // vigil_case(message VARCHAR) -> BLOB: msg_case
)

// udf is a scalar SQL function implemented in Go.
type udf struct {
	in  []duck.Type
	out duck.Type
	fn  func(args []driver.Value) (any, error)
	cfg duck.ScalarFuncConfig // made from in and out by registerFunctions
}

// Config implements duck.ScalarFunc.
func (u *udf) Config() duck.ScalarFuncConfig { return u.cfg }

// config fills u.cfg from u.in and u.out.
func (u *udf) config() error {
	for _, t := range u.in {
		ti, err := duck.NewTypeInfo(t)
		if err != nil {
			return err
		}
		u.cfg.InputTypeInfos = append(u.cfg.InputTypeInfos, ti)
	}
	ti, err := duck.NewTypeInfo(u.out)
	if err != nil {
		return err
	}
	u.cfg.ResultTypeInfo = ti
	return nil
}

// Executor implements duck.ScalarFunc.
func (u *udf) Executor() duck.ScalarFuncExecutor {
	return duck.ScalarFuncExecutor{RowExecutor: u.fn}
}

// argBytes returns a VARCHAR or BLOB argument's bytes.
func argBytes(v driver.Value) []byte {
	switch v := v.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	return nil
}

// registerFunctions defines the store's SQL functions in the database
// (for every connection of it).
func registerFunctions(ctx context.Context, db *sql.DB, codec *docCodec) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("registering the store's SQL functions: %w", err)
	}
	defer func() { _ = c.Close() }() // nothing to flush
	fns := map[string]*udf{
		// The functions return []byte, which the driver copies into the
		// result as it is (a string would be copied twice more).
		fnDoc: {in: []duck.Type{duck.TYPE_BLOB}, out: duck.TYPE_VARCHAR, fn: func(a []driver.Value) (any, error) {
			z := argBytes(a[0])
			if len(z) > 0 && z[0] == codecRaw {
				return z[1:], nil // the driver's copy of the value
			}
			return codec.decode(nil, z)
		}},
		fnMessage: {in: []duck.Type{duck.TYPE_VARCHAR, duck.TYPE_BLOB}, out: duck.TYPE_VARCHAR, fn: func(a []driver.Value) (any, error) {
			return appendRecased(nil, argBytes(a[0]), argBytes(a[1]))
		}},
		fnPack: {in: []duck.Type{duck.TYPE_VARCHAR}, out: duck.TYPE_BLOB, fn: func(a []driver.Value) (any, error) {
			return codec.appendEncoded(nil, argBytes(a[0])), nil
		}},
		fnLower: {in: []duck.Type{duck.TYPE_VARCHAR}, out: duck.TYPE_VARCHAR, fn: func(a []driver.Value) (any, error) {
			return string(appendLower(nil, argBytes(a[0]))), nil
		}},
		fnCase: {in: []duck.Type{duck.TYPE_VARCHAR}, out: duck.TYPE_BLOB, fn: func(a []driver.Value) (any, error) {
			_, cs := appendLowerCase(nil, []byte{}, argBytes(a[0]))
			return cs, nil
		}},
	}
	for _, name := range []string{fnDoc, fnMessage, fnPack, fnLower, fnCase} {
		if err := fns[name].config(); err != nil {
			return fmt.Errorf("registering SQL function %s: %w", name, err)
		}
		if err := duck.RegisterScalarUDF(c, name, fns[name]); err != nil {
			return fmt.Errorf("registering SQL function %s: %w", name, err)
		}
	}
	return nil
}

// load reads the stored dictionaries; the newest is the one new
// documents use.
func (c *docCodec) load(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT id, dict FROM vigil_dicts ORDER BY id`)
	if err != nil {
		return fmt.Errorf("reading the document dictionaries: %w", err)
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	for rows.Next() {
		var id int64
		var dict []byte
		if err := rows.Scan(&id, &dict); err != nil {
			return fmt.Errorf("reading the document dictionaries: %w", err)
		}
		if err := c.addDict(uint64(id), dict); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the document dictionaries: %w", err)
	}
	return nil
}

// execer runs a statement: a *sql.DB, *sql.Conn or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// saveDict stores a new document dictionary and makes it the one new
// documents use.
func (d *DB) saveDict(ctx context.Context, ex execer, dict []byte) error {
	if len(dict) == 0 {
		return nil
	}
	var id int64
	if err := ex.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM vigil_dicts`).Scan(&id); err != nil {
		return fmt.Errorf("storing a document dictionary: %w", err)
	}
	if _, err := ex.ExecContext(ctx, `INSERT INTO vigil_dicts VALUES (?, ?)`, id, dict); err != nil {
		return fmt.Errorf("storing a document dictionary: %w", err)
	}
	return d.codec.addDict(uint64(id), dict)
}

// dictSamples is how many documents of a write a dictionary is made of.
const dictSamples = 64

// makeDict builds the store's document dictionary from a sample of docs
// (without their @message, as they are stored).
func (w *writer) makeDict(ctx context.Context, docs []store.Doc) error {
	sc := newScanner(w.d.sch)
	var samples [][]byte
	step := max(1, len(docs)/dictSamples)
	for i := 0; i < len(docs); i += step {
		src := docs[i].Source
		if sc.scan(src) != nil {
			continue // rejected later, with its reason
		}
		if sc.cutStart >= 0 {
			samples = append(samples, append(append([]byte(nil), src[:sc.cutStart]...), src[sc.cutEnd:]...))
		} else {
			samples = append(samples, src)
		}
	}
	return w.d.saveDict(ctx, w.conn(), buildDict(samples))
}
