//go:build cgo

package duckdb

/*
#include <stdlib.h>
*/
import "C"

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// chunkAppender appends rows to a table by writing them straight into
// DuckDB's data chunks: numbers, validity bits and string headers are
// stored from Go into the chunk's memory, and DuckDB is called once per
// chunk of 2,048 rows. The driver's appender instead calls into C for every
// value (NULLs included) and boxes each value in an interface.
//
// The chunks are chunkBufs, which several goroutines may fill at once (one
// each); the appender appends them one at a time. A chunkAppender must be
// closed.
type chunkAppender struct {
	app   mapping.Appender
	types []mapping.LogicalType
	typ   []mapping.Type // each column's type (TypeList: VARCHAR[])
	size  int            // rows per chunk
}

// chunkBuf is one data chunk being filled. Strings longer than 12 bytes
// are copied into a C buffer the chunk's string headers point to; DuckDB
// copies them into its own storage when the chunk is appended, after which
// the buffer is reused. A chunkBuf is filled by one goroutine at a time and
// must be freed.
type chunkBuf struct {
	chunk mapping.DataChunk
	cols  []ckCol
	size  int // rows per chunk
	n     int // rows in the chunk

	arena    unsafe.Pointer // C memory for long strings
	arenaCap int
	arenaN   int

	owner int // which builder fills it (write.go)
}

// ckCol is one column of the chunk being filled.
type ckCol struct {
	typ   mapping.Type
	vec   mapping.Vector
	data  unsafe.Pointer
	valid unsafe.Pointer // the validity mask: one bit per row, 1 = valid

	// LIST(VARCHAR) columns: the child vector holding the elements.
	child     mapping.Vector
	childData unsafe.Pointer
	childCap  int
	childN    int
}

// ckArenaSize is the initial size of the long-string buffer.
const ckArenaSize = 8 << 20

// errNoChunkAppender says the driver connection does not expose the
// handle the chunk appender needs; the caller falls back to the driver's
// appender.
var errNoChunkAppender = errors.New("the DuckDB driver's connection handle is not accessible")

// connHandle returns the DuckDB connection handle of a driver connection.
// The driver keeps it unexported; it is read by reflection, and a driver
// whose connection has another shape yields errNoChunkAppender.
func connHandle(dc driver.Conn) (mapping.Connection, error) {
	c, ok := dc.(*duck.Conn)
	if !ok || c == nil {
		return mapping.Connection{}, errNoChunkAppender
	}
	f := reflect.ValueOf(c).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[mapping.Connection]() {
		return mapping.Connection{}, errNoChunkAppender
	}
	h := *(*mapping.Connection)(unsafe.Pointer(f.UnsafeAddr()))
	if h.Ptr == nil {
		return mapping.Connection{}, errNoChunkAppender
	}
	return h, nil
}

// newChunkAppender opens an appender on table for the given columns, in
// that order. want gives each column's expected type; a table whose
// columns have other types is an error.
func newChunkAppender(dc driver.Conn, table string, columns []string, want []mapping.Type) (*chunkAppender, error) {
	h, err := connHandle(dc)
	if err != nil {
		return nil, err
	}
	a := &chunkAppender{size: int(mapping.VectorSize())}
	if mapping.AppenderCreateExt(h, "", "", table, &a.app) == mapping.StateError {
		msg := mapping.ErrorDataMessage(mapping.AppenderErrorData(a.app))
		mapping.AppenderDestroy(&a.app)
		return nil, fmt.Errorf("creating an appender for %s: %s", table, msg)
	}
	fail := func(err error) (*chunkAppender, error) {
		a.free()
		return nil, err
	}
	for i, name := range columns {
		if mapping.AppenderAddColumn(a.app, name) == mapping.StateError {
			return fail(fmt.Errorf("creating an appender for %s: column %s: %s", table, name, mapping.AppenderError(a.app)))
		}
		t := mapping.AppenderColumnType(a.app, mapping.IdxT(i))
		a.types = append(a.types, t)
		got := mapping.GetTypeId(t)
		if got == mapping.TypeList {
			ct := mapping.ListTypeChildType(t)
			if mapping.GetTypeId(ct) != mapping.TypeVarchar {
				got = mapping.TypeInvalid
			}
			mapping.DestroyLogicalType(&ct)
		}
		if got != want[i] {
			return fail(fmt.Errorf("creating an appender for %s: column %s has type %d, want %d", table, name, got, want[i]))
		}
		a.typ = append(a.typ, got)
	}
	return a, nil
}

// newBuf returns an empty chunk for the appender's columns.
func (a *chunkAppender) newBuf() (*chunkBuf, error) {
	b := &chunkBuf{size: a.size, chunk: mapping.CreateDataChunk(a.types)}
	for _, t := range a.typ {
		b.cols = append(b.cols, ckCol{typ: t})
	}
	b.arenaCap = ckArenaSize
	b.arena = C.malloc(C.size_t(b.arenaCap))
	if b.arena == nil {
		b.free()
		return nil, errors.New("appending documents: out of memory")
	}
	b.reset()
	return b, nil
}

// reset empties the chunk and looks up its buffers.
func (b *chunkBuf) reset() {
	mapping.DataChunkReset(b.chunk)
	for i := range b.cols {
		c := &b.cols[i]
		c.vec = mapping.DataChunkGetVector(b.chunk, mapping.IdxT(i))
		mapping.VectorEnsureValidityWritable(c.vec)
		c.valid = mapping.VectorGetValidity(c.vec)
		c.data = mapping.VectorGetData(c.vec)
		if c.typ == mapping.TypeList {
			// Resetting the chunk gives the child vector a new buffer.
			c.child = mapping.ListVectorGetChild(c.vec)
			c.childN, c.childCap, c.childData = 0, 0, nil
			c.reserve(b.size * 2)
		}
	}
	b.n = 0
	b.arenaN = 0
}

// reserve makes room for n list elements in a list column's child vector.
func (c *ckCol) reserve(n int) {
	if n <= c.childCap && c.childData != nil {
		return
	}
	mapping.ListVectorReserve(c.vec, mapping.IdxT(n))
	c.childCap = n
	c.childData = mapping.VectorGetData(c.child)
}

// fits says whether the long strings of a row of up to n bytes fit the
// chunk's buffer.
func (b *chunkBuf) fits(n int) bool { return b.arenaN+n <= b.arenaCap }

// growArena makes the buffer of an empty chunk hold at least n bytes.
func (b *chunkBuf) growArena(n int) error {
	if n <= b.arenaCap {
		return nil
	}
	C.free(b.arena)
	b.arenaCap = n + n/4
	b.arena = C.malloc(C.size_t(b.arenaCap))
	if b.arena == nil {
		b.arenaCap = 0
		return errors.New("appending documents: out of memory")
	}
	return nil
}

// endRow finishes the current row and says whether the chunk is full.
func (b *chunkBuf) endRow() bool {
	b.n++
	return b.n == b.size
}

// setNull makes column p of the current row NULL.
func (b *chunkBuf) setNull(p int) {
	w := (*uint64)(unsafe.Add(b.cols[p].valid, (b.n/64)*8))
	*w &^= 1 << (b.n % 64)
}

func (b *chunkBuf) setInt64(p int, v int64) {
	*(*int64)(unsafe.Add(b.cols[p].data, b.n*8)) = v
}

func (b *chunkBuf) setInt32(p int, v int32) {
	*(*int32)(unsafe.Add(b.cols[p].data, b.n*4)) = v
}

func (b *chunkBuf) setFloat64(p int, v float64) {
	*(*float64)(unsafe.Add(b.cols[p].data, b.n*8)) = v
}

func (b *chunkBuf) setBool(p int, v bool) {
	*(*bool)(unsafe.Add(b.cols[p].data, b.n)) = v
}

// setUint128 stores a UHUGEINT (DuckDB's layout: the low 64 bits first).
func (b *chunkBuf) setUint128(p int, hi, lo uint64) {
	u := (*[2]uint64)(unsafe.Add(b.cols[p].data, b.n*16))
	u[0], u[1] = lo, hi
}

func (b *chunkBuf) setString(p int, s []byte) {
	c := &b.cols[p]
	b.putString(c.vec, c.data, b.n, s)
}

// setList stores a LIST(VARCHAR); an empty list is stored as NULL.
func (b *chunkBuf) setList(p int, items [][]byte) {
	if len(items) == 0 {
		b.setNull(p)
		return
	}
	c := &b.cols[p]
	if c.childN+len(items) > c.childCap {
		c.reserve(max(2*c.childCap, c.childN+len(items)))
	}
	e := (*[2]uint64)(unsafe.Add(c.data, b.n*16)) // list_entry_t: offset, length
	e[0], e[1] = uint64(c.childN), uint64(len(items))
	for _, it := range items {
		b.putString(c.child, c.childData, c.childN, it)
		c.childN++
	}
}

// putString writes the string header of row i of a VARCHAR vector: short
// strings inline, longer ones pointing into the arena (or, should the
// arena be full, copied by DuckDB).
func (b *chunkBuf) putString(vec mapping.Vector, data unsafe.Pointer, i int, s []byte) {
	h := (*[16]byte)(unsafe.Add(data, i*16))
	binary.LittleEndian.PutUint32(h[:4], uint32(len(s)))
	if len(s) <= 12 {
		n := copy(h[4:], s)
		clear(h[4+n:])
		return
	}
	if b.arenaN+len(s) > b.arenaCap {
		mapping.VectorAssignStringElementLen(vec, mapping.IdxT(i), s)
		return
	}
	copy(h[4:8], s)
	dst := unsafe.Add(b.arena, b.arenaN)
	copy(unsafe.Slice((*byte)(dst), len(s)), s)
	*(*uintptr)(unsafe.Pointer(&h[8])) = uintptr(dst)
	b.arenaN += len(s)
}

// append appends the rows of b; the caller then resets b for reuse.
func (a *chunkAppender) append(b *chunkBuf) error {
	if b.n == 0 {
		return nil
	}
	for i := range b.cols {
		c := &b.cols[i]
		if c.typ == mapping.TypeList {
			mapping.ListVectorSetSize(c.vec, mapping.IdxT(c.childN))
		}
	}
	mapping.DataChunkSetSize(b.chunk, mapping.IdxT(b.n))
	if mapping.AppendDataChunk(a.app, b.chunk) == mapping.StateError {
		return fmt.Errorf("appending documents: %s", mapping.AppenderError(a.app))
	}
	return nil
}

// close flushes the appender and releases it.
func (a *chunkAppender) close() error {
	var err error
	if mapping.AppenderFlush(a.app) == mapping.StateError {
		err = fmt.Errorf("appending documents: %s", mapping.AppenderError(a.app))
	}
	a.free()
	return err
}

// free releases the appender without appending what it still holds.
func (a *chunkAppender) free() {
	for i := range a.types {
		mapping.DestroyLogicalType(&a.types[i])
	}
	a.types = nil
	if a.app.Ptr != nil {
		// Destroying an appender flushes it: drop what it still holds
		// (nothing after a successful close).
		mapping.AppenderClear(a.app)
		mapping.AppenderDestroy(&a.app)
	}
}

// free releases the chunk's memory.
func (b *chunkBuf) free() {
	if b.chunk.Ptr != nil {
		mapping.DestroyDataChunk(&b.chunk)
	}
	if b.arena != nil {
		C.free(b.arena)
		b.arena = nil
	}
}

// tableTypes returns the DuckDB type of each column of the docs table, in
// the schema's order (TypeList stands for VARCHAR[]).
func tableTypes(sch *schema) []mapping.Type {
	fixed := map[string]mapping.Type{
		"_id": mapping.TypeVarchar, "h": mapping.TypeBigInt, "_index": mapping.TypeVarchar,
		"log_type": mapping.TypeVarchar, "ts": mapping.TypeBigInt, "doc_z": mapping.TypeBlob,
		"msg_case": mapping.TypeBlob, "msg_pos": mapping.TypeInteger, "message_lc": mapping.TypeVarchar,
	}
	out := make([]mapping.Type, len(sch.table))
	for i, t := range sch.table {
		switch {
		case t.ecs < 0:
			out[i] = fixed[t.name]
		case t.num:
			out[i] = mapping.TypeUHugeInt
		case sch.cols[t.ecs].list:
			out[i] = mapping.TypeList
		default:
			switch sch.cols[t.ecs].kind {
			case kindLong:
				out[i] = mapping.TypeBigInt
			case kindDouble:
				out[i] = mapping.TypeDouble
			case kindBool:
				out[i] = mapping.TypeBoolean
			default:
				out[i] = mapping.TypeVarchar
			}
		}
	}
	return out
}
