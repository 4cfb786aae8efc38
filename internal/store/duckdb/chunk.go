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
// Strings longer than 12 bytes are copied into a C buffer the chunk's
// string headers point to; DuckDB copies them into its own storage when the
// chunk is appended, after which the buffer is reused. A chunkAppender is
// used by one goroutine and must be closed.
type chunkAppender struct {
	app   mapping.Appender
	types []mapping.LogicalType
	chunk mapping.DataChunk
	cols  []ckCol
	size  int // rows per chunk
	n     int // rows in the current chunk

	arena    unsafe.Pointer // C memory for long strings
	arenaCap int
	arenaN   int
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
		a.cols = append(a.cols, ckCol{typ: got})
	}
	a.chunk = mapping.CreateDataChunk(a.types)
	a.arenaCap = ckArenaSize
	a.arena = C.malloc(C.size_t(a.arenaCap))
	if a.arena == nil {
		return fail(fmt.Errorf("creating an appender for %s: out of memory", table))
	}
	a.reset()
	return a, nil
}

// reset empties the chunk and looks up its buffers.
func (a *chunkAppender) reset() {
	mapping.DataChunkReset(a.chunk)
	for i := range a.cols {
		c := &a.cols[i]
		c.vec = mapping.DataChunkGetVector(a.chunk, mapping.IdxT(i))
		mapping.VectorEnsureValidityWritable(c.vec)
		c.valid = mapping.VectorGetValidity(c.vec)
		c.data = mapping.VectorGetData(c.vec)
		if c.typ == mapping.TypeList {
			// Resetting the chunk gives the child vector a new buffer.
			c.child = mapping.ListVectorGetChild(c.vec)
			c.childN, c.childCap, c.childData = 0, 0, nil
			c.reserve(a.size * 2)
		}
	}
	a.n = 0
	a.arenaN = 0
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

// room makes sure the long strings of a row of up to n bytes fit the
// buffer, appending the rows so far when they do not. It returns an error
// only from appending.
func (a *chunkAppender) room(n int) error {
	if a.arenaN+n <= a.arenaCap {
		return nil
	}
	if err := a.flush(); err != nil {
		return err
	}
	if n > a.arenaCap {
		C.free(a.arena)
		a.arenaCap = n + n/4
		a.arena = C.malloc(C.size_t(a.arenaCap))
		if a.arena == nil {
			a.arenaCap = 0
			return errors.New("appending documents: out of memory")
		}
	}
	return nil
}

// endRow finishes the current row, appending the chunk when it is full.
func (a *chunkAppender) endRow() error {
	a.n++
	if a.n == a.size {
		return a.flush()
	}
	return nil
}

// setNull makes column p of the current row NULL.
func (a *chunkAppender) setNull(p int) {
	w := (*uint64)(unsafe.Add(a.cols[p].valid, (a.n/64)*8))
	*w &^= 1 << (a.n % 64)
}

func (a *chunkAppender) setInt64(p int, v int64) {
	*(*int64)(unsafe.Add(a.cols[p].data, a.n*8)) = v
}

func (a *chunkAppender) setInt32(p int, v int32) {
	*(*int32)(unsafe.Add(a.cols[p].data, a.n*4)) = v
}

func (a *chunkAppender) setFloat64(p int, v float64) {
	*(*float64)(unsafe.Add(a.cols[p].data, a.n*8)) = v
}

func (a *chunkAppender) setBool(p int, v bool) {
	*(*bool)(unsafe.Add(a.cols[p].data, a.n)) = v
}

// setUint128 stores a UHUGEINT (DuckDB's layout: the low 64 bits first).
func (a *chunkAppender) setUint128(p int, hi, lo uint64) {
	u := (*[2]uint64)(unsafe.Add(a.cols[p].data, a.n*16))
	u[0], u[1] = lo, hi
}

func (a *chunkAppender) setString(p int, s []byte) {
	c := &a.cols[p]
	a.putString(c.vec, c.data, a.n, s)
}

// setList stores a LIST(VARCHAR); an empty list is stored as NULL.
func (a *chunkAppender) setList(p int, items [][]byte) {
	if len(items) == 0 {
		a.setNull(p)
		return
	}
	c := &a.cols[p]
	if c.childN+len(items) > c.childCap {
		c.reserve(max(2*c.childCap, c.childN+len(items)))
	}
	e := (*[2]uint64)(unsafe.Add(c.data, a.n*16)) // list_entry_t: offset, length
	e[0], e[1] = uint64(c.childN), uint64(len(items))
	for _, it := range items {
		a.putString(c.child, c.childData, c.childN, it)
		c.childN++
	}
}

// putString writes the string header of row i of a VARCHAR vector: short
// strings inline, longer ones pointing into the arena (or, should the
// arena be full, copied by DuckDB).
func (a *chunkAppender) putString(vec mapping.Vector, data unsafe.Pointer, i int, s []byte) {
	h := (*[16]byte)(unsafe.Add(data, i*16))
	binary.LittleEndian.PutUint32(h[:4], uint32(len(s)))
	if len(s) <= 12 {
		n := copy(h[4:], s)
		clear(h[4+n:])
		return
	}
	if a.arenaN+len(s) > a.arenaCap {
		mapping.VectorAssignStringElementLen(vec, mapping.IdxT(i), s)
		return
	}
	copy(h[4:8], s)
	dst := unsafe.Add(a.arena, a.arenaN)
	copy(unsafe.Slice((*byte)(dst), len(s)), s)
	*(*uintptr)(unsafe.Pointer(&h[8])) = uintptr(dst)
	a.arenaN += len(s)
}

// flush appends the rows of the current chunk.
func (a *chunkAppender) flush() error {
	if a.n == 0 {
		return nil
	}
	for i := range a.cols {
		c := &a.cols[i]
		if c.typ == mapping.TypeList {
			mapping.ListVectorSetSize(c.vec, mapping.IdxT(c.childN))
		}
	}
	mapping.DataChunkSetSize(a.chunk, mapping.IdxT(a.n))
	if mapping.AppendDataChunk(a.app, a.chunk) == mapping.StateError {
		return fmt.Errorf("appending documents: %s", mapping.AppenderError(a.app))
	}
	a.reset()
	return nil
}

// close appends what is left and releases the appender.
func (a *chunkAppender) close() error {
	err := a.flush()
	if err == nil && mapping.AppenderFlush(a.app) == mapping.StateError {
		err = fmt.Errorf("appending documents: %s", mapping.AppenderError(a.app))
	}
	a.free()
	return err
}

// free releases the appender's memory without appending.
func (a *chunkAppender) free() {
	if a.chunk.Ptr != nil {
		mapping.DestroyDataChunk(&a.chunk)
	}
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
	if a.arena != nil {
		C.free(a.arena)
		a.arena = nil
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
