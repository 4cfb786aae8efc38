//go:build cgo

package duckdb

import (
	"bytes"
	"database/sql/driver"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/store"
)

// rowBuilder turns documents into rows of the docs table. It is used by
// one goroutine; the values of a row are valid until the next call.
type rowBuilder struct {
	sch   *schema
	sc    *scanner
	vals  []driver.Value
	arena []byte
	lists [][]any
}

func newRowBuilder(sch *schema) *rowBuilder {
	return &rowBuilder{sch: sch, sc: newScanner(sch), vals: make([]driver.Value, len(sch.table)), lists: make([][]any, len(sch.cols))}
}

// msgPos encodes where @message goes back into the stored document: the
// byte offset times 4 plus how it is spliced in.
const (
	spliceBefore = 0 // `"@message":"…",` at the offset
	spliceAfter  = 1 // `,"@message":"…"` at the offset (it was the last member)
	spliceOnly   = 2 // `"@message":"…"` (it was the only member)
)

// build scans d and fills b.vals. It returns an error naming what is wrong
// with the document; the row is then unusable.
func (b *rowBuilder) build(d *store.Doc) error {
	if d.ID == "" {
		return fmt.Errorf("document has an empty _id")
	}
	if err := b.sc.scan(d.Source); err != nil {
		return err
	}
	b.arena = b.arena[:0]
	v := b.vals
	src := d.Source
	v[colID] = d.ID
	v[colH] = int64(idHash(d.ID))
	v[colIndex] = d.Index
	v[colLogType] = d.LogType
	v[colTS] = d.TimestampMs
	sc := b.sc
	if sc.cutStart >= 0 {
		start := len(b.arena)
		b.arena = append(b.arena, src[:sc.cutStart]...)
		b.arena = append(b.arena, src[sc.cutEnd:]...)
		v[colDoc] = b.arena[start:len(b.arena):len(b.arena)]
		msg := b.str(sc.msg)
		v[colMessage] = msg
		v[colLower] = b.lower(msg)
		mode := spliceBefore
		if !sc.msgFirst {
			mode = spliceOnly
			if src[sc.cutStart] == ',' {
				mode = spliceAfter
			}
		}
		v[colMsgPos] = int32(sc.cutStart*4 + mode)
	} else {
		v[colDoc] = src
		v[colMessage] = nil
		v[colMsgPos] = nil
		v[colLower] = nil
	}
	for i := range b.sch.cols {
		c := &b.sch.cols[i]
		p := b.sch.colPos[i]
		if c.list {
			caps := sc.lists[i]
			if len(caps) == 0 {
				v[p] = nil
				continue
			}
			l := b.lists[i][:0]
			for _, cp := range caps {
				if cp.typ == vString || cp.typ == vNumber {
					l = append(l, string(b.str(cp)))
				}
			}
			b.lists[i] = l
			if len(l) == 0 {
				v[p] = nil
			} else {
				v[p] = l
			}
			continue
		}
		cp := sc.caps[i]
		if cp.typ == vNone {
			v[p] = nil
			if c.kind == kindIP {
				v[b.sch.numCol[i]] = nil
			}
			continue
		}
		switch c.kind {
		case kindKeyword, kindText:
			v[p] = b.str(cp)
		case kindLong:
			if n, ok := parseInt(b.raw(cp)); ok {
				v[p] = n
			} else {
				v[p] = nil
			}
		case kindDouble:
			if f, err := strconv.ParseFloat(string(b.raw(cp)), 64); err == nil {
				v[p] = f
			} else {
				v[p] = nil
			}
		case kindBool:
			switch {
			case cp.typ == vTrue || cp.typ == vString && string(b.raw(cp)) == "true":
				v[p] = true
			case cp.typ == vFalse || cp.typ == vString && string(b.raw(cp)) == "false":
				v[p] = false
			default:
				v[p] = nil
			}
		case kindIP:
			s := b.str(cp)
			v[p] = s
			v[b.sch.numCol[i]] = ipNum(s)
		}
	}
	return nil
}

// lower returns s in lower case (Unicode simple case mapping, as
// strings.ToLower), in the arena.
func (b *rowBuilder) lower(s []byte) []byte {
	start := len(b.arena)
	b.arena = appendLower(b.arena, s)
	return b.arena[start:len(b.arena):len(b.arena)]
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

// ipNum returns the numeric form of an IP address for the UHUGEINT
// companion column: IPv6 as its 128 bits, IPv4 mapped into IPv6
// (::ffff:a.b.c.d). It returns nil when s is not an address.
func ipNum(s []byte) driver.Value {
	a, err := netip.ParseAddr(string(s))
	if err != nil {
		return nil
	}
	if a.Is4() {
		v4 := a.As4()
		return uint64(0xffff)<<32 | uint64(v4[0])<<24 | uint64(v4[1])<<16 | uint64(v4[2])<<8 | uint64(v4[3])
	}
	b := a.As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	if hi == 0 {
		return lo
	}
	return bigUint128(hi, lo)
}

// bigUint128 returns hi<<64 | lo as the big integer the driver takes for a
// UHUGEINT above 64 bits.
func bigUint128(hi, lo uint64) *big.Int {
	v := new(big.Int).SetUint64(hi)
	v.Lsh(v, 64)
	return v.Or(v, new(big.Int).SetUint64(lo))
}
