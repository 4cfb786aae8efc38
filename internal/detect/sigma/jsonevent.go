package sigma

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// JSONEvent is an Event over the bytes of one JSON object, read lazily:
// nothing is decoded until the engine asks for a field, and then only the
// objects on the field's path are scanned (each once per document: the
// keys of a scanned object and the spans of their values are kept until
// Reset). Values that are never asked for are skipped, not decoded.
//
// Scalars are returned without copying where possible: a string without
// escapes views the document's bytes, a number is a json.Number viewing
// its text; strings with escapes are decoded into a buffer the JSONEvent
// reuses. Arrays and objects asked for as values (rare: a rule comparing a
// whole object's JSON text, a path through an array) are decoded with
// encoding/json (UseNumber), so they are exactly what MapEvent would hold.
// The answers are those of MapEvent over the same document decoded with
// encoding/json and UseNumber, including duplicate keys (the last wins),
// escapes and invalid UTF-8 (replaced by U+FFFD).
//
// Reuse one JSONEvent per goroutine and Reset it for every document: in
// steady state field access does not allocate beyond boxing strings into
// interface values. The document's bytes must not change while the
// JSONEvent is in use, and values read from it are valid only until the
// next Reset. A JSONEvent is not safe for concurrent use.
//
// The document is not validated: a malformed document reads as far as it
// is well-formed (fields after a syntax error are absent); it never
// panics.
type JSONEvent struct {
	data    []byte
	top     int // offset of the top-level '{', -1 when there is none
	objs    []objTable
	members []member
	stack   []member // Scalars' walk
	arena   []byte   // decoded strings of the current document
}

// member is one key of a scanned object and the span of its value.
type member struct {
	key    string
	vs, ve int
}

// objTable locates the members of the object at offset start.
type objTable struct{ start, lo, hi int }

var errNotObject = errors.New("sigma: JSON event is not an object")

// NewJSONEvent returns a JSONEvent over data; see Reset.
func NewJSONEvent(data []byte) (*JSONEvent, error) {
	e := &JSONEvent{}
	return e, e.Reset(data)
}

// Reset makes e read data, keeping e's buffers. It fails only when data
// does not start (after white space) with a JSON object; e then has no
// fields.
func (e *JSONEvent) Reset(data []byte) error {
	e.data = data
	e.objs = e.objs[:0]
	e.members = e.members[:0]
	e.stack = e.stack[:0]
	e.arena = e.arena[:0]
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		e.top = -1
		return errNotObject
	}
	e.top = i
	return nil
}

// Field implements Event.
func (e *JSONEvent) Field(p *Path) (any, bool) {
	if e.top < 0 {
		return nil, false
	}
	return e.walk(e.top, p, 0)
}

func (e *JSONEvent) walk(obj int, p *Path, i int) (any, bool) {
	ms := e.object(obj)
	last := len(p.parts) - 1
	if k := findMember(ms, p.parts[i]); k >= 0 {
		if i == last {
			return e.value(ms[k].vs, ms[k].ve)
		}
		if r, ok := e.descend(ms[k].vs, ms[k].ve, p, i+1); ok {
			return r, true
		}
	}
	for j := i + 1; j <= last; j++ {
		if k := findMember(ms, p.Key(i, j)); k >= 0 {
			if j == last {
				return e.value(ms[k].vs, ms[k].ve)
			}
			if r, ok := e.descend(ms[k].vs, ms[k].ve, p, j+1); ok {
				return r, true
			}
		}
	}
	return nil, false
}

// descend continues the walk at part i inside the value at [vs, ve).
func (e *JSONEvent) descend(vs, ve int, p *Path, i int) (any, bool) {
	switch e.data[vs] {
	case '{':
		return e.walk(vs, p, i)
	case '[':
		v, ok := e.decode(vs, ve)
		if !ok {
			return nil, false
		}
		return p.descend(v, i)
	}
	return nil, false
}

// findMember returns the index of the last member named key (encoding/json
// keeps the last of duplicate keys), or -1.
func findMember(ms []member, key string) int {
	for k := len(ms) - 1; k >= 0; k-- {
		if ms[k].key == key {
			return k
		}
	}
	return -1
}

// object returns the members of the object at data[start] == '{',
// scanning it on first use.
func (e *JSONEvent) object(start int) []member {
	for _, o := range e.objs {
		if o.start == start {
			return e.members[o.lo:o.hi]
		}
	}
	lo := len(e.members)
	e.members = e.scanObject(e.members, start)
	e.objs = append(e.objs, objTable{start: start, lo: lo, hi: len(e.members)})
	return e.members[lo:]
}

// scanObject appends the members of the object at data[start] to ms,
// stopping at the first syntax error.
func (e *JSONEvent) scanObject(ms []member, start int) []member {
	d := e.data
	i := start + 1
	for {
		i = skipWS(d, i)
		if i >= len(d) || d[i] != '"' {
			return ms
		}
		ke := skipString(d, i)
		if ke < 0 {
			return ms
		}
		key := e.str(i, ke)
		i = skipWS(d, ke)
		if i >= len(d) || d[i] != ':' {
			return ms
		}
		vs := skipWS(d, i+1)
		ve := skipValue(d, vs)
		if ve < 0 {
			return ms
		}
		ms = append(ms, member{key: key, vs: vs, ve: ve})
		i = skipWS(d, ve)
		if i >= len(d) || d[i] != ',' {
			return ms
		}
		i++
	}
}

// value returns the value at [vs, ve).
func (e *JSONEvent) value(vs, ve int) (any, bool) {
	switch e.data[vs] {
	case '"':
		return e.str(vs, ve), true
	case 'n':
		return nil, true
	case 't':
		return true, true
	case 'f':
		return false, true
	case '{', '[':
		return e.decode(vs, ve)
	}
	return json.Number(unsafeString(e.data[vs:ve])), true
}

// decode decodes a container value with encoding/json, as MapEvent's
// decoder would.
func (e *JSONEvent) decode(vs, ve int) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(e.data[vs:ve]))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// Scalars implements Event.
func (e *JSONEvent) Scalars(fn func(any) bool) bool {
	if e.top < 0 {
		return false
	}
	return e.scalars(e.top, len(e.data), fn)
}

func (e *JSONEvent) scalars(vs, ve int, fn func(any) bool) bool {
	d := e.data
	switch d[vs] {
	case '{':
		lo := len(e.stack)
		e.stack = e.scanObject(e.stack, vs)
		hi := len(e.stack)
		found := false
		for k := lo; k < hi && !found; k++ {
			m := e.stack[k]
			if dupLater(e.stack[k+1:hi], m.key) {
				continue // encoding/json keeps only the last
			}
			found = e.scalars(m.vs, m.ve, fn)
		}
		e.stack = e.stack[:lo]
		return found
	case '[':
		i := vs + 1
		for {
			i = skipWS(d, i)
			if i >= len(d) || d[i] == ']' {
				return false
			}
			s := i
			en := skipValue(d, s)
			if en < 0 {
				return false
			}
			if e.scalars(s, en, fn) {
				return true
			}
			i = skipWS(d, en)
			if i >= len(d) || d[i] != ',' {
				return false
			}
			i++
		}
	case 'n':
		return false
	}
	v, ok := e.value(vs, ve)
	return ok && fn(v)
}

func dupLater(ms []member, key string) bool {
	for _, m := range ms {
		if m.key == key {
			return true
		}
	}
	return false
}

// str returns the string whose token is data[s:end] (quotes included),
// decoded as encoding/json decodes it.
func (e *JSONEvent) str(s, end int) string {
	raw := e.data[s+1 : end-1]
	k := 0
	for ; k+8 <= len(raw); k += 8 {
		x := binary.LittleEndian.Uint64(raw[k:])
		if (hasByte(x, '\\') | x&0x8080808080808080) != 0 {
			break
		}
	}
	for ; k < len(raw); k++ {
		if c := raw[k]; c == '\\' || c >= utf8.RuneSelf {
			return e.unquote(raw, k)
		}
	}
	return unsafeString(raw)
}

// unquote decodes raw, whose first k bytes are plain ASCII: escapes,
// surrogate pairs (a lone surrogate becomes U+FFFD) and invalid UTF-8
// (each bad byte becomes U+FFFD), as encoding/json does.
func (e *JSONEvent) unquote(raw []byte, k int) string {
	if bytes.IndexByte(raw[k:], '\\') < 0 && utf8.Valid(raw[k:]) {
		return unsafeString(raw)
	}
	start := len(e.arena)
	b := append(e.arena, raw[:k]...)
	for r := k; r < len(raw); {
		c := raw[r]
		switch {
		case c == '\\':
			if r+1 >= len(raw) {
				r = len(raw)
				continue
			}
			switch raw[r+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(raw[r+2:])
				if rr < 0 {
					r = len(raw) // malformed: stop
					continue
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					var rr1 rune = -1
					if r+1 < len(raw) && raw[r] == '\\' && raw[r+1] == 'u' {
						rr1 = hex4(raw[r+2:])
					}
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						r += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/' (and, leniently, anything else)
				b = append(b, raw[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rn, size := utf8.DecodeRune(raw[r:])
			if rn == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, unicode.ReplacementChar)
			} else {
				b = append(b, raw[r:r+size]...)
			}
			r += size
		}
	}
	e.arena = b
	return unsafeString(b[start:])
}

// hex4 reads four hex digits, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// ---------------------------------------------------------------------------
// Skipping JSON

func skipWS(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

const lsb8, msb8 = 0x0101010101010101, 0x8080808080808080

// hasByte reports (as a non-zero word) whether some byte of x is b.
func hasByte(x uint64, b byte) uint64 {
	y := x ^ (lsb8 * uint64(b))
	return (y - lsb8) &^ y & msb8
}

// skipString returns the offset after the string token at d[i] == '"', or
// -1 when it does not end.
//
// It reads eight bytes at a time and finds the quotes and backslashes of
// each word as bit masks, so a string full of escaped quotes (a raw record
// embedded as "@message") is skipped without stopping at every escape: a
// backslash that is not itself escaped escapes the byte after it. Words
// with two backslashes in a row (rare) are read byte by byte.
func skipString(d []byte, i int) int {
	i++
	// The constants live in variables so that they stay in registers
	// instead of being rematerialized for every word.
	qc, bc, lo7, hi := swarConst[0], swarConst[1], swarConst[2], swarConst[3]
	var esc uint64 // 0x80 when d[i] is escaped
	base := unsafe.Pointer(unsafe.SliceData(d))
	for i+8 <= len(d) {
		// d[i:i+8] is in bounds: read it without the slice's checks.
		x := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(base, i))[:])
		yq, yb := x^qc, x^bc
		q := ^((yq&lo7 + lo7) | yq) & hi  // quotes
		bs := ^((yb&lo7 + lo7) | yb) & hi // backslashes
		if bs|esc == 0 {
			if q != 0 {
				return i + bits.TrailingZeros64(q)>>3 + 1
			}
			i += 8
			continue
		}
		if bs&(bs<<8)|bs&esc == 0 {
			// Every backslash here escapes the byte after it.
			if q &^= bs<<8 | esc; q != 0 {
				return i + bits.TrailingZeros64(q)>>3 + 1
			}
			esc = bs >> 63 << 7
			i += 8
			continue
		}
		var end int
		if end, esc = skipStringBytes(d, i, i+8, esc); end >= 0 {
			return end
		}
		i += 8
	}
	end, _ := skipStringBytes(d, i, len(d), esc)
	return end
}

// skipStringBytes is skipString one byte at a time over d[i:end], with
// esc set when the byte at i is escaped. It returns the offset after the
// closing quote, or -1 and whether the byte at end is escaped.
func skipStringBytes(d []byte, i, end int, esc uint64) (int, uint64) {
	for ; i < end; i++ {
		if esc != 0 {
			esc = 0
			continue
		}
		switch d[i] {
		case '"':
			return i + 1, 0
		case '\\':
			esc = 0x80
		}
	}
	return -1, esc
}

// swarConst holds skipString's word constants: every byte '"', every
// byte '\\', the low seven bits of every byte, the high bit of every byte.
var swarConst = [4]uint64{lsb8 * '"', lsb8 * '\\', ^uint64(msb8), msb8}

// skipValue returns the offset after the value at d[i], or -1.
func skipValue(d []byte, i int) int {
	if i >= len(d) {
		return -1
	}
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				if i = skipString(d, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	case ',', ':', '}', ']':
		return -1
	}
	j := i
	for j < len(d) {
		switch d[j] {
		case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	return j
}
