//go:build cgo

package duckdb

import (
	"bytes"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/vigil-siem/vigil/internal/store"
)

// rowBuilder turns documents into rows of the docs table. It is used by
// one goroutine. Without a chunk (ck) it fills vals, whose values are
// valid until the next call; with one, it writes each row straight into
// the chunk and the caller ends the row.
type rowBuilder struct {
	sch   *schema
	codec *docCodec
	sc    *scanner
	cs    []byte // the current row's msg_case
	vals  []driver.Value
	ck    *chunkBuf
	arena []byte
	lists [][]any
	items [][]byte
}

func newRowBuilder(sch *schema, codec *docCodec) *rowBuilder {
	return &rowBuilder{sch: sch, codec: codec, sc: newScanner(sch), vals: make([]driver.Value, len(sch.table)), lists: make([][]any, len(sch.cols))}
}

// msgPos encodes where @message goes back into the stored document: the
// byte offset times 4 plus how it is spliced in.
const (
	spliceBefore = 0 // `"@message":"…",` at the offset
	spliceAfter  = 1 // `,"@message":"…"` at the offset (it was the last member)
	spliceOnly   = 2 // `"@message":"…"` (it was the only member)
)

// check returns an error naming what is wrong with d's id, index or log
// type.
func check(d *store.Doc) error {
	switch {
	case d.ID == "":
		return fmt.Errorf("document has an empty _id")
	case !utf8.ValidString(d.ID):
		return fmt.Errorf("document _id is not valid UTF-8")
	case !utf8.ValidString(d.Index):
		return fmt.Errorf("index name %q is not valid UTF-8", d.Index)
	case !utf8.ValidString(d.LogType):
		return fmt.Errorf("log type %q is not valid UTF-8", d.LogType)
	}
	return nil
}

// validate checks d as build does, without building its row.
func (b *rowBuilder) validate(d *store.Doc) error {
	if err := check(d); err != nil {
		return err
	}
	return b.sc.scan(d.Source)
}

// build scans d and fills b.vals, or the appender's current row. It
// returns an error naming what is wrong with the document; the row is
// then unusable (and, with an appender, nothing of it was written).
func (b *rowBuilder) build(d *store.Doc) error {
	if err := b.validate(d); err != nil {
		return err
	}
	return b.fill(d)
}

// rowBytes bounds the bytes the long strings of d's row take in a chunk's
// buffer: the compressed document, @message's lower-case copy (which may
// be half as long again) and its case information, and the typed values
// are each at most the source.
func rowBytes(d *store.Doc) int {
	return 5*len(d.Source) + len(d.ID) + len(d.Index) + len(d.LogType) + 64
}

// fill builds the row of d, which validate has just accepted; with a
// chunk, its buffer must have rowBytes(d) free. It never fails.
func (b *rowBuilder) fill(d *store.Doc) error {
	src := d.Source
	b.arena = b.arena[:0]
	b.putString(colID, d.ID)
	b.putInt64(colH, int64(idHash(d.ID)))
	b.putString(colIndex, d.Index)
	b.putString(colLogType, d.LogType)
	b.putInt64(colTS, d.TimestampMs)
	sc := b.sc
	if sc.cutStart >= 0 {
		start := len(b.arena)
		b.arena = append(b.arena, src[:sc.cutStart]...)
		b.arena = append(b.arena, src[sc.cutEnd:]...)
		b.putDoc(b.arena[start:len(b.arena):len(b.arena)])
		msg := b.str(sc.msg)
		ls := len(b.arena)
		b.arena, b.cs = appendLowerCase(b.arena, b.cs[:0], msg)
		b.putBytes(colLower, b.arena[ls:len(b.arena):len(b.arena)])
		b.putBytes(colCase, b.cs)
		mode := spliceBefore
		if !sc.msgFirst {
			mode = spliceOnly
			if src[sc.cutStart] == ',' {
				mode = spliceAfter
			}
		}
		b.putInt32(colMsgPos, int32(sc.cutStart*4+mode))
	} else {
		b.putDoc(src)
		b.putNull(colCase)
		b.putNull(colMsgPos)
		b.putNull(colLower)
	}
	for i := range b.sch.cols {
		c := &b.sch.cols[i]
		p := b.sch.colPos[i]
		if c.list {
			b.putList(i, p)
			continue
		}
		cp := sc.caps[i]
		if cp.typ == vNone {
			b.putNull(p)
			if c.kind == kindIP {
				b.putNull(b.sch.numCol[i])
			}
			continue
		}
		switch c.kind {
		case kindKeyword, kindText:
			b.putBytes(p, b.str(cp))
		case kindLong:
			if n, ok := parseInt(b.raw(cp)); ok {
				b.putInt64(p, n)
			} else {
				b.putNull(p)
			}
		case kindDouble:
			if f, err := strconv.ParseFloat(string(b.raw(cp)), 64); err == nil {
				b.putFloat64(p, f)
			} else {
				b.putNull(p)
			}
		case kindBool:
			switch {
			case cp.typ == vTrue || cp.typ == vString && string(b.raw(cp)) == "true":
				b.putBool(p, true)
			case cp.typ == vFalse || cp.typ == vString && string(b.raw(cp)) == "false":
				b.putBool(p, false)
			default:
				b.putNull(p)
			}
		case kindIP:
			s := b.str(cp)
			b.putBytes(p, s)
			if hi, lo, ok := ipNum128(s); ok {
				b.putUint128(b.sch.numCol[i], hi, lo)
			} else {
				b.putNull(b.sch.numCol[i])
			}
		}
	}
	return nil
}

// putDoc stores the document (without @message) compressed.
func (b *rowBuilder) putDoc(doc []byte) {
	start := len(b.arena)
	b.arena = b.codec.appendEncoded(b.arena, doc)
	b.putBytes(colDocZ, b.arena[start:len(b.arena):len(b.arena)])
}

// putList stores the string and number elements of list column i (table
// position p); a list without any is NULL.
func (b *rowBuilder) putList(i, p int) {
	caps := b.sc.lists[i]
	if b.ck != nil {
		items := b.items[:0]
		for _, cp := range caps {
			if cp.typ == vString || cp.typ == vNumber {
				items = append(items, b.str(cp))
			}
		}
		b.items = items
		b.ck.setList(p, items) // NULL when empty
		return
	}
	l := b.lists[i][:0]
	for _, cp := range caps {
		if cp.typ == vString || cp.typ == vNumber {
			l = append(l, string(b.str(cp)))
		}
	}
	b.lists[i] = l
	if len(l) == 0 {
		b.vals[p] = nil
	} else {
		b.vals[p] = l
	}
}

func (b *rowBuilder) putNull(p int) {
	if b.ck != nil {
		b.ck.setNull(p)
		return
	}
	b.vals[p] = nil
}

func (b *rowBuilder) putString(p int, s string) {
	if b.ck != nil {
		b.ck.setString(p, unsafe.Slice(unsafe.StringData(s), len(s)))
		return
	}
	b.vals[p] = s
}

func (b *rowBuilder) putBytes(p int, s []byte) {
	if b.ck != nil {
		b.ck.setString(p, s)
		return
	}
	b.vals[p] = s
}

func (b *rowBuilder) putInt64(p int, v int64) {
	if b.ck != nil {
		b.ck.setInt64(p, v)
		return
	}
	b.vals[p] = v
}

func (b *rowBuilder) putInt32(p int, v int32) {
	if b.ck != nil {
		b.ck.setInt32(p, v)
		return
	}
	b.vals[p] = v
}

func (b *rowBuilder) putFloat64(p int, v float64) {
	if b.ck != nil {
		b.ck.setFloat64(p, v)
		return
	}
	b.vals[p] = v
}

func (b *rowBuilder) putBool(p int, v bool) {
	if b.ck != nil {
		b.ck.setBool(p, v)
		return
	}
	b.vals[p] = v
}

// putUint128 stores a UHUGEINT: in vals as the driver takes it (uint64
// when it fits, else a big integer).
func (b *rowBuilder) putUint128(p int, hi, lo uint64) {
	if b.ck != nil {
		b.ck.setUint128(p, hi, lo)
		return
	}
	if hi == 0 {
		b.vals[p] = lo
	} else {
		b.vals[p] = bigUint128(hi, lo)
	}
}

// appendLower appends s in lower case: ASCII through a table, the rest
// through bytes.ToLower.
func appendLower(dst, s []byte) []byte {
	for i, c := range s {
		if c >= utf8.RuneSelf {
			return append(dst, bytes.ToLower(s[i:])...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// raw returns the bytes of a captured value (a string's contents as
// written, escapes and all).
func (b *rowBuilder) raw(c capture) []byte {
	return b.sc.doc[c.start:c.end]
}

// str returns a captured value as text: a string unescaped, anything else
// as written.
func (b *rowBuilder) str(c capture) []byte {
	if !c.esc {
		return b.sc.doc[c.start:c.end:c.end]
	}
	start := len(b.arena)
	b.arena = appendUnescaped(b.arena, b.sc.doc[c.start:c.end])
	return b.arena[start:len(b.arena):len(b.arena)]
}

// ipNum128 returns the numeric form of an IP address for the UHUGEINT
// companion column, as its high and low 64 bits: IPv6 as its 128 bits, IPv4
// mapped into IPv6 (::ffff:a.b.c.d). ok is false when s is not an address.
func ipNum128(s []byte) (hi, lo uint64, ok bool) {
	a, err := netip.ParseAddr(string(s))
	if err != nil {
		return 0, 0, false
	}
	if a.Is4() {
		v4 := a.As4()
		return 0, uint64(0xffff)<<32 | uint64(v4[0])<<24 | uint64(v4[1])<<16 | uint64(v4[2])<<8 | uint64(v4[3]), true
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), true
}

// bigUint128 returns hi<<64 | lo as the big integer the driver takes for a
// UHUGEINT above 64 bits.
func bigUint128(hi, lo uint64) *big.Int {
	v := new(big.Int).SetUint64(hi)
	v.Lsh(v, 64)
	return v.Or(v, new(big.Int).SetUint64(lo))
}
