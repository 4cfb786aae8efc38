package sigma

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// JSONEvent is an Event over the bytes of one JSON object, read lazily:
// nothing is read until the engine asks for a field. The first question
// indexes the document in one pass: the keys of the top-level object and
// of every object nested in it through objects (not arrays), each with
// the span of its value. Values are not decoded then, only skipped; a
// field's value is decoded when it is asked for.
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
	data []byte
	top  int // offset of the top-level '{', -1 when there is none
	// topObj is the top-level object's slot in objs, -1 until indexed.
	topObj  int
	objs    []objTable
	members []member
	pending []member // members of the objects being indexed
	arena   []byte   // decoded strings of the current document
}

// member is one key of an indexed object and the span of its value, as
// offsets (no pointers: the tables are copied and reused freely).
type member struct {
	// ko and kn locate the decoded key: data[ko:ko+kn], or, when ko < 0
	// (a key with escapes or non-ASCII bytes), arena[-ko-1:][:kn].
	ko, kn int32
	vs, ve int32
	// obj is the slot in objs of the object value, when it was indexed
	// with its parent; -1 otherwise.
	obj int32
}

// objTable locates the members of the object at offset start: members[lo:hi].
type objTable struct{ start, lo, hi int32 }

// maxIndexDepth bounds the nesting indexed in one pass (and so the
// recursion); deeper objects are indexed when a lookup reaches them.
const maxIndexDepth = 16

// maxJSONEvent is the largest document a JSONEvent reads: offsets are
// kept in 32 bits.
const maxJSONEvent = math.MaxInt32

var (
	errNotObject = errors.New("sigma: JSON event is not an object")
	errTooLarge  = fmt.Errorf("sigma: JSON event is larger than %d bytes", maxJSONEvent)
)

// NewJSONEvent returns a JSONEvent over data; see Reset.
func NewJSONEvent(data []byte) (*JSONEvent, error) {
	e := &JSONEvent{}
	return e, e.Reset(data)
}

// Reset makes e read data, keeping e's buffers. It fails only when data
// does not start (after white space) with a JSON object, or is larger
// than 2 GiB; e then has no fields.
func (e *JSONEvent) Reset(data []byte) error {
	e.data = data
	e.topObj = -1
	e.objs = e.objs[:0]
	e.members = e.members[:0]
	e.pending = e.pending[:0]
	e.arena = e.arena[:0]
	e.top = -1
	if len(data) > maxJSONEvent {
		e.data = nil
		return errTooLarge
	}
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errNotObject
	}
	e.top = i
	return nil
}

// ResetMembers is Reset for a document whose writer knows where the
// members of its top-level object are: members holds four offsets into
// data per member, in document order (key start and end, inside the
// quotes of a key written without escapes; value start and end), as
// normalize.Normalizer.Members gives them. The top level is then not
// scanned, and the objects in it are indexed only when a lookup reaches
// them. Offsets out of order or out of range make it fall back to
// scanning.
func (e *JSONEvent) ResetMembers(data []byte, members []int32) error {
	if err := e.Reset(data); err != nil || len(members) == 0 || len(members)%4 != 0 {
		return err
	}
	prev := int32(e.top)
	for k := 0; k < len(members); k += 4 {
		ks, ke, vs, ve := members[k], members[k+1], members[k+2], members[k+3]
		if ks <= prev || ke < ks || vs <= ke || ve <= vs || int(ve) > len(data) {
			e.members = e.members[:0]
			return nil
		}
		prev = ve
		e.members = append(e.members, member{ko: ks, kn: ke - ks, vs: vs, ve: ve, obj: -1})
	}
	e.topObj = len(e.objs)
	e.objs = append(e.objs, objTable{start: int32(e.top), lo: 0, hi: int32(len(e.members))})
	return nil
}

// Field implements Event.
func (e *JSONEvent) Field(p *Path) (any, bool) {
	if e.top < 0 {
		return nil, false
	}
	return e.walk(e.topObject(), p, 0)
}

// topObject returns the slot of the top-level object, indexing the
// document on first use.
func (e *JSONEvent) topObject() int {
	if e.topObj < 0 {
		e.topObj, _ = e.index(e.top, 0)
	}
	return e.topObj
}

func (e *JSONEvent) walk(obj int, p *Path, i int) (any, bool) {
	o := e.objs[obj]
	last := len(p.parts) - 1
	if k := e.findMember(o, p.parts[i]); k >= 0 {
		m := e.members[k]
		if i == last {
			return e.value(int(m.vs), int(m.ve))
		}
		if r, ok := e.descend(m, p, i+1); ok {
			return r, true
		}
	}
	for j := i + 1; j <= last; j++ {
		if k := e.findMember(o, p.Key(i, j)); k >= 0 {
			m := e.members[k]
			if j == last {
				return e.value(int(m.vs), int(m.ve))
			}
			if r, ok := e.descend(m, p, j+1); ok {
				return r, true
			}
		}
	}
	return nil, false
}

// descend continues the walk at part i inside the value of m.
func (e *JSONEvent) descend(m member, p *Path, i int) (any, bool) {
	switch e.data[m.vs] {
	case '{':
		obj := int(m.obj)
		if obj < 0 {
			obj = e.object(int(m.vs))
		}
		return e.walk(obj, p, i)
	case '[':
		v, ok := e.decode(int(m.vs), int(m.ve))
		if !ok {
			return nil, false
		}
		return p.descend(v, i)
	}
	return nil, false
}

// findMember returns the index in members of the last member of o named
// key (encoding/json keeps the last of duplicate keys), or -1.
func (e *JSONEvent) findMember(o objTable, key string) int {
	if len(key) == 0 || len(key) > maxJSONEvent {
		return e.findMemberSlow(o, key)
	}
	n, c := int32(len(key)), key[0]
	d := e.data
	ms := e.members[o.lo:o.hi]
	for k := len(ms) - 1; k >= 0; k-- {
		// The length, then the first byte, before the whole key.
		if m := &ms[k]; m.kn == n && (m.ko < 0 || d[m.ko] == c) && e.keyOf(m) == key {
			return int(o.lo) + k
		}
	}
	return -1
}

func (e *JSONEvent) findMemberSlow(o objTable, key string) int {
	for k := int(o.hi) - 1; k >= int(o.lo); k-- {
		if m := &e.members[k]; int(m.kn) == len(key) && e.keyOf(m) == key {
			return k
		}
	}
	return -1
}

// keyOf returns m's decoded key.
func (e *JSONEvent) keyOf(m *member) string {
	if m.ko >= 0 {
		return unsafeString(e.data[m.ko : m.ko+m.kn])
	}
	o := -m.ko - 1
	return unsafeString(e.arena[o : o+m.kn])
}

// object returns the slot of the object at data[start] == '{', indexing
// it when it is not yet (an object deeper than maxIndexDepth, or inside an
// array).
func (e *JSONEvent) object(start int) int {
	for k, o := range e.objs {
		if int(o.start) == start {
			return k
		}
	}
	obj, _ := e.index(start, 0)
	return obj
}

// index records the members of the object at data[start] == '{' and,
// down to maxIndexDepth levels, of the objects among their values, in one
// pass. It returns the object's slot in objs and the offset after it, or
// -1 when the object does not end well-formed: the members before the
// error are kept, and the caller stops there too.
//
// It is the hot loop of detection: keys and short strings are scanned
// inline, eight bytes at a time (see skipString).
func (e *JSONEvent) index(start, depth int) (obj, end int) {
	d := e.data
	n := len(d)
	base := unsafe.Pointer(unsafe.SliceData(d))
	qc, bc, lsb, msb := swarConst[0], swarConst[1], swarConst[2], swarConst[3]
	lo := len(e.pending)
	end = -1
	i := ws(d, start+1)
	if i < n && d[i] == '}' {
		end = i + 1
	}
	for end < 0 && i < n && d[i] == '"' {
		// The key: plain ASCII without escapes views the document.
		m := member{ko: -1, obj: -1}
		j := i + 1
		for j+8 <= n {
			x := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(base, j))[:])
			t, u := x^qc, x^bc
			// Stop at a quote, a backslash or a non-ASCII byte.
			if f := ((t-lsb)&^t | (u-lsb)&^u | x) & msb; f != 0 {
				if k := j + bits.TrailingZeros64(f)>>3; d[k] == '"' {
					m.ko, m.kn = int32(i+1), int32(k-i-1)
					i = k + 1
				}
				break
			}
			j += 8
		}
		if m.ko < 0 {
			ke := skipString(d, i)
			if ke < 0 {
				break
			}
			// str decodes into the arena, or views the document when
			// the key needs no decoding.
			a0 := len(e.arena)
			k := e.str(i, ke)
			if len(e.arena) > a0 {
				m.ko = -int32(a0) - 1
			} else {
				m.ko = int32(i + 1)
			}
			m.kn = int32(len(k))
			i = ke
		}
		if i < n && d[i] != ':' {
			i = ws(d, i)
		}
		if i >= n || d[i] != ':' {
			break
		}
		vs := ws(d, i+1)
		if vs >= n {
			break
		}
		var ve int
		switch d[vs] {
		case '"':
			// Most strings end within the first word; the others go on
			// after it, or after its first escape.
			if vs+9 <= n {
				x := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(base, vs+1))[:])
				t, u := x^qc, x^bc
				if f := ((t-lsb)&^t | (u-lsb)&^u) & msb; f == 0 {
					ve = skipStringFrom(d, vs+9)
				} else if k := vs + 1 + bits.TrailingZeros64(f)>>3; d[k] == '"' {
					ve = k + 1
				} else {
					ve = skipStringFrom(d, k+2)
				}
			} else {
				ve = skipString(d, vs)
			}
		case '{':
			if depth < maxIndexDepth {
				var child int
				child, ve = e.index(vs, depth+1)
				m.obj = int32(child)
			} else {
				ve = skipValue(d, vs)
			}
		default:
			ve = skipValue(d, vs)
		}
		if ve < 0 {
			break
		}
		m.vs, m.ve = int32(vs), int32(ve)
		e.pending = append(e.pending, m)
		i = ws(d, ve)
		if i >= n {
			break
		}
		if d[i] == '}' {
			end = i + 1
			break
		}
		if d[i] != ',' {
			break
		}
		i = ws(d, i+1)
	}
	mlo := len(e.members)
	e.members = append(e.members, e.pending[lo:]...)
	e.pending = e.pending[:lo]
	obj = len(e.objs)
	e.objs = append(e.objs, objTable{start: int32(start), lo: int32(mlo), hi: int32(len(e.members))})
	return obj, end
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
	return e.objectScalars(e.topObject(), fn)
}

// objectScalars calls fn with the scalars of the indexed object in slot
// obj. Members are read by index: fn may index more objects meanwhile.
func (e *JSONEvent) objectScalars(obj int, fn func(any) bool) bool {
	o := e.objs[obj]
	for k := int(o.lo); k < int(o.hi); k++ {
		m := e.members[k]
		if e.dupLater(k+1, int(o.hi), e.keyOf(&m)) {
			continue // encoding/json keeps only the last
		}
		if e.scalars(int(m.vs), int(m.ve), int(m.obj), fn) {
			return true
		}
	}
	return false
}

// scalars calls fn with the scalars of the value at [vs, ve), whose
// object slot is obj (-1 when not indexed).
func (e *JSONEvent) scalars(vs, ve, obj int, fn func(any) bool) bool {
	d := e.data
	switch d[vs] {
	case '{':
		if obj < 0 {
			obj = e.object(vs)
		}
		return e.objectScalars(obj, fn)
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
			if e.scalars(s, en, -1, fn) {
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

// dupLater reports whether a member in members[lo:hi] is named key.
func (e *JSONEvent) dupLater(lo, hi int, key string) bool {
	for k := lo; k < hi; k++ {
		if m := &e.members[k]; int(m.kn) == len(key) && e.keyOf(m) == key {
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

// ws skips white space at d[i], if any; it inlines where there is none
// (documents written by Vigil have none).
func ws(d []byte, i int) int {
	if i < len(d) && d[i] <= ' ' {
		return skipWS(d, i)
	}
	return i
}

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
