package normalize

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax reports malformed JSON found by the scanner.
var ErrSyntax = errors.New("malformed JSON")

// TrailingError means the record is a complete JSON object followed by
// more text, such as a second object on the same line. Offset is where the
// first object ends.
type TrailingError struct{ Offset int }

func (e *TrailingError) Error() string {
	return fmt.Sprintf("more JSON after the record, at byte %d", e.Offset)
}

// span locates a value in the record's text; start < 0 means absent.
// plain marks a string of printable ASCII without escapes, valid as it is
// written.
type span struct {
	start, end int32
	plain      bool
}

// scanner makes one pass over a record's JSON text and produces at once:
//
//   - the record without empty values (es-loader's del_none) in doc, its
//     values copied as written;
//   - @message, the Python-style text of the whole record, already
//     escaped as a JSON string, appended to py (when py is not nil);
//   - the spans of the values at the type's lookup paths (a trie of path
//     prefixes), so ECS mapping needs no parse of its own;
//   - the top-level keys, to tell whether the added fields collide with
//     the record's own.
//
// A scanner is reused across records and is not safe for concurrent use.
type scanner struct {
	raw []byte
	// doc is the document; docBuf is the scanner's own memory for it (doc
	// may instead be the record itself, see Normalizer.flat).
	doc    []byte
	docBuf []byte
	py     []byte
	pyOn   bool
	plan   *typePlan
	spans  []span
	// top holds the spans of the top-level keys (without quotes) and
	// topMask their keyBits.
	top     []span
	topMask uint64
	topEsc  bool // some top-level key is written with escapes
	tmp     []byte
	// members, when recMembers is set, gets four offsets into doc per
	// top-level member kept: its key's start and end (without quotes),
	// its value's start and end.
	members    []int32
	recMembers bool
	// errAt is the error of a value containerValue scanned.
	errAt error
	// pend and pendEnd delimit raw text that belongs to doc next and is
	// not copied yet (pend < 0: none); see fastMember.
	pend, pendEnd int
	// bits has a bit per byte of raw, from its start, set for the bytes
	// that end a plain run (see special); it grows as the scan moves on.
	bits []uint64
	// strict (prefix mode) rejects what a JSON framer would: raw control
	// characters in strings (ctl records one) and nesting deeper than
	// maxPrefixDepth (depth counts the open containers; a failed scan
	// leaves it as it was, and the next scan starts it again at 0).
	strict bool
	ctl    bool
	depth  int
}

// maxPrefixDepth is the nesting a record scanned in prefix mode may reach,
// the limit of the JSON framer (codec.JSONReader).
const maxPrefixDepth = 10000

// scan processes raw (one JSON object). It fills doc, py (appended), the
// spans of plan's trie and the top-level keys.
func (s *scanner) scan(raw []byte, plan *typePlan, py []byte, pyOn bool) ([]byte, error) {
	py, _, err := s.scanPrefix(raw, plan, py, pyOn, false)
	return py, err
}

// scanPrefix is scan that, with prefix set, takes the object at the start
// of raw and ignores what follows it; it returns the object's end. In that
// mode it is as strict as a JSON framer: a raw control character in a
// string, or nesting deeper than maxPrefixDepth, is an error.
func (s *scanner) scanPrefix(raw []byte, plan *typePlan, py []byte, pyOn, prefix bool) ([]byte, int, error) {
	s.raw, s.plan, s.py, s.pyOn = raw, plan, py, pyOn
	s.strict, s.ctl, s.depth = prefix, false, 0
	s.members = s.members[:0]
	s.bits = s.bits[:0]
	s.pend, s.errAt = -1, nil
	s.doc = s.docBuf[:0]
	s.top = s.top[:0]
	s.topMask = 0
	s.topEsc = false
	if cap(s.spans) < len(plan.prefixes) {
		s.spans = make([]span, len(plan.prefixes))
	}
	s.spans = s.spans[:len(plan.prefixes)]
	for i := range s.spans {
		s.spans[i] = span{start: -1, end: -1}
	}
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return s.py, 0, ErrSyntax
	}
	if pyOn {
		s.py = append(s.py, '"') // @message is one JSON string
	}
	end, _, err := s.object(i, 0, true, true, false)
	s.docBuf = s.doc
	if err != nil {
		return s.py, 0, err
	}
	if prefix {
		if s.ctl {
			return s.py, 0, ErrSyntax
		}
	} else if skipWS(raw, end) != len(raw) {
		return s.py, 0, &TrailingError{Offset: end}
	}
	if pyOn {
		s.py = append(s.py, '"')
	}
	s.spans[0] = span{start: int32(i), end: int32(end)}
	return s.py, end, nil
}

// special returns the index of the first byte of raw at or after i that
// is '"', '\\', a control character or >= 0x80, or len(raw): what
// plainRunBytes(raw, i, true) returns, read from bits.
func (s *scanner) special(i int) int {
	if k, ok := s.specialFast(i); ok {
		return k
	}
	return s.specialSlow(i)
}

// specialFast is special when bits already has the answer in the word of
// i (ok); small enough to be inlined where strings are scanned.
func (s *scanner) specialFast(i int) (int, bool) {
	if w := i >> 6; w < len(s.bits) {
		if m := s.bits[w] >> (uint(i) & 63); m != 0 {
			return i + bits.TrailingZeros64(m), true
		}
	}
	return 0, false
}

// specialBlock is how many bytes of bits moreBits adds at a time: a
// record's scan reads only as far as the record goes.
const specialBlock = 512

func (s *scanner) specialSlow(i int) int {
	for {
		if i >= len(s.raw) {
			return len(s.raw)
		}
		w := i >> 6
		for w >= len(s.bits) {
			s.moreBits()
		}
		if m := s.bits[w] >> (uint(i) & 63); m != 0 {
			return min(i+bits.TrailingZeros64(m), len(s.raw))
		}
		i = (w + 1) << 6
	}
}

// moreBits adds the words of bits for the next specialBlock bytes of raw
// (or what is left of it); bits past the end of raw are set.
func (s *scanner) moreBits() {
	raw := s.raw
	w := len(s.bits)
	start := w << 6
	n := min(len(raw)-start, specialBlock)
	full := n / 64
	words := full
	if n%64 != 0 {
		words++
	}
	s.bits = slices.Grow(s.bits, words)[:w+words]
	if full > 0 {
		specialBits(&raw[start], full, &s.bits[w])
	}
	if tail := raw[start+full*64 : start+n]; len(tail) > 0 {
		m := ^uint64(0) << len(tail)
		for k, c := range tail {
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				m |= 1 << k
			}
		}
		s.bits[w+full] = m
	}
}

// child returns the trie node under t for an object key, or -1.
func (s *scanner) child(t int32, key []byte) int32 {
	if t < 0 {
		return -1
	}
	p := &s.plan.prefixes[t]
	bit := keyBit(key)
	if p.kidMask&bit == 0 {
		return -1
	}
	r := bits.OnesCount64(p.kidMask & (bit - 1))
	for j := p.starts[r]; j < p.starts[r+1]; j++ {
		if p.kidSegs[j] == string(key) {
			return p.kids[j]
		}
	}
	return -1
}

// element returns the trie node under t for list index k, or -1.
func (s *scanner) element(t int32, k int) int32 {
	if t < 0 || !s.plan.prefixes[t].indexed {
		return -1
	}
	var b [20]byte
	return s.child(t, strconv.AppendInt(b[:0], int64(k), 10))
}

// Modes of writing a value to doc.
const (
	modeMember   = iota // an object member: empty values are dropped
	modeElement         // a list element: kept; an object in it is cleaned
	modeVerbatim        // inside a list in a list: copied as it is
)

// value scans the value at raw[i] under trie node t. docOn says whether it
// goes to doc, mode how. It returns the index after the value and whether
// doc got it.
func (s *scanner) value(i int, t int32, docOn bool, mode int) (int, bool, error) {
	if i >= len(s.raw) {
		return 0, false, ErrSyntax
	}
	var end int
	var kept, plain bool
	var err error
	switch c := s.raw[i]; c {
	case '{':
		end, kept, err = s.object(i, t, docOn, false, mode == modeVerbatim)
		if err == nil && docOn && !kept && mode != modeMember {
			s.doc = append(s.doc, '{', '}')
			kept = true
		}
	case '[':
		end, kept, err = s.array(i, t, docOn, mode)
	case '"':
		docStart := len(s.doc)
		if end = s.plainString(i, docOn); end != 0 && end-i-2 < maxTermBytes {
			kept, plain = docOn, true
			if docOn && mode == modeMember && end-i <= 6 {
				switch string(s.raw[i+1 : end-1]) {
				case "", "-", "null", "[]":
					s.doc, kept = s.doc[:docStart], false
				}
			}
			break
		}
		if end != 0 { // too long: undo and take the slow path that cuts it
			s.doc = s.doc[:docStart]
			if s.pyOn {
				s.py = s.py[:len(s.py)-(end-i)-2]
			}
		}
		end, kept, _, err = s.str(i, docOn, mode == modeMember, false)
	case 't', 'f', 'n':
		end, err = s.literal(i)
		if err == nil {
			s.pyAppend(s.raw[i:end]...)
			kept = docOn && (c != 'n' || mode != modeMember)
			if kept {
				s.doc = append(s.doc, s.raw[i:end]...)
			}
		}
	default:
		var isFloat bool
		end, isFloat, err = s.number(i)
		if err == nil {
			if s.pyOn {
				s.py = appendPyNumber(s.py, s.raw[i:end], isFloat)
			}
			if docOn {
				s.doc = append(s.doc, s.raw[i:end]...)
				kept = true
			}
		}
	}
	if err != nil {
		return 0, false, err
	}
	if t >= 0 {
		s.spans[t] = span{start: int32(i), end: int32(end), plain: plain}
	}
	return end, kept, nil
}

func (s *scanner) pyAppend(b ...byte) {
	if s.pyOn {
		s.py = append(s.py, b...)
	}
}

func (s *scanner) literal(i int) (int, error) {
	raw := s.raw
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(raw)-i >= len(lit) && string(raw[i:i+len(lit)]) == lit {
			return i + len(lit), nil
		}
	}
	return 0, ErrSyntax
}

// number scans a JSON number.
func (s *scanner) number(i int) (int, bool, error) {
	raw := s.raw
	j := i
	if j < len(raw) && raw[j] == '-' {
		j++
	}
	d := j
	for j < len(raw) && raw[j] >= '0' && raw[j] <= '9' {
		j++
	}
	if j == d || (s.strict && raw[d] == '0' && j-d > 1) {
		return 0, false, ErrSyntax // no digits, or a leading zero
	}
	isFloat := false
	if j < len(raw) && raw[j] == '.' {
		isFloat = true
		j++
		d = j
		for j < len(raw) && raw[j] >= '0' && raw[j] <= '9' {
			j++
		}
		if j == d {
			return 0, false, ErrSyntax
		}
	}
	if j < len(raw) && (raw[j] == 'e' || raw[j] == 'E') {
		isFloat = true
		j++
		if j < len(raw) && (raw[j] == '+' || raw[j] == '-') {
			j++
		}
		d = j
		for j < len(raw) && raw[j] >= '0' && raw[j] <= '9' {
			j++
		}
		if j == d {
			return 0, false, ErrSyntax
		}
	}
	return j, isFloat, nil
}

// object scans the object at raw[i]. At the top level (top) it records the
// keys. A verbatim object keeps its empty values.
func (s *scanner) object(i int, t int32, docOn, top, verbatim bool) (int, bool, error) {
	raw := s.raw
	if s.depth++; s.strict && s.depth > maxPrefixDepth {
		return 0, false, ErrSyntax
	}
	s.pyAppend('{')
	docStart := len(s.doc)
	if docOn {
		s.doc = append(s.doc, '{')
	}
	kept := 0
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		s.pyAppend('}')
		if docOn {
			if verbatim {
				s.doc = append(s.doc, '}')
				s.depth--
				return i + 1, true, nil
			}
			s.doc = s.doc[:docStart]
		}
		s.depth--
		return i + 1, false, nil
	}
	for m := 0; ; m++ {
		if i >= len(raw) || raw[i] != '"' {
			return 0, false, ErrSyntax
		}
		if !verbatim {
			if end, ok, handled := s.fastMember(i, t, docOn, top, m > 0, kept > 0); handled {
				if s.errAt != nil {
					err := s.errAt
					s.errAt = nil
					return 0, false, err
				}
				if ok {
					kept++
				}
				var done bool
				var err error
				if i, done, err = s.afterValue(end, '}'); err != nil {
					return 0, false, err
				}
				if done {
					break
				}
				continue
			}
		}
		s.flushDoc()
		if m > 0 {
			s.pyAppend(',', ' ')
		}
		mark := len(s.doc)
		if docOn && kept > 0 {
			s.doc = append(s.doc, ',')
		}
		keyAt := len(s.doc)
		kEnd, kEsc := s.plainString(i, docOn), false
		if kEnd == 0 {
			var err error
			if kEnd, _, kEsc, err = s.str(i, docOn, false, true); err != nil {
				return 0, false, err
			}
		}
		key := raw[i+1 : kEnd-1]
		if kEsc {
			key = s.unescape(raw[i:kEnd])
		}
		if top {
			s.top = append(s.top, span{start: int32(i + 1), end: int32(kEnd - 1)})
			s.topMask |= keyBit(key)
			s.topEsc = s.topEsc || kEsc
		}
		ct := s.child(t, key)
		j := skipWS(raw, kEnd)
		if j >= len(raw) || raw[j] != ':' {
			return 0, false, ErrSyntax
		}
		s.pyAppend(':', ' ')
		j = skipWS(raw, j+1)
		if docOn {
			s.doc = append(s.doc, ':')
		}
		valAt := len(s.doc)
		mode := modeMember
		if verbatim {
			mode = modeVerbatim
		}
		end, ok, err := s.value(j, ct, docOn, mode)
		if err != nil {
			return 0, false, err
		}
		if docOn {
			if ok {
				kept++
				if top && s.recMembers {
					s.members = append(s.members, int32(keyAt+1), int32(valAt-2), int32(valAt), int32(len(s.doc)))
				}
			} else {
				s.doc = s.doc[:mark]
			}
		}
		var done bool
		if i, done, err = s.afterValue(end, '}'); err != nil {
			return 0, false, err
		}
		if done {
			break
		}
	}
	s.flushDoc()
	s.pyAppend('}')
	if !docOn {
		s.depth--
		return i, false, nil
	}
	if kept == 0 && !verbatim {
		s.doc = s.doc[:docStart]
		s.depth--
		return i, false, nil
	}
	s.doc = append(s.doc, '}')
	s.depth--
	return i, true, nil
}

// fastMember handles the common object member of compact JSON in one
// step: a key of printable ASCII without escapes, directly followed by ':'
// and a plain string (see plainString), a number, a literal, or an object
// or list (see containerValue). It writes
// to doc, py, the spans, the top-level keys and the members exactly what
// the general path writes, and returns the index after the value and
// whether doc kept the member. handled is false, with nothing written, for
// any other member (the general path then takes it, and reports errors).
func (s *scanner) fastMember(i int, t int32, docOn, top, comma, after bool) (end int, kept, handled bool) {
	raw := s.raw
	k, ok := s.specialFast(i + 1)
	if !ok {
		k = s.specialSlow(i + 1)
	}
	if k+2 >= len(raw) || raw[k] != '"' || raw[k+1] != ':' {
		return 0, false, false
	}
	v := k + 2
	const (
		kindString = iota
		kindNumber
		kindLiteral
		kindContainer
	)
	kind, drop, isFloat := kindString, false, false
	switch c := raw[v]; {
	case c == '"':
		e, ok := s.specialFast(v + 1)
		if !ok {
			e = s.specialSlow(v + 1)
		}
		if e >= len(raw) || raw[e] != '"' || e-v-1 >= maxTermBytes {
			return 0, false, false
		}
		end = e + 1
		if e-v-1 <= 4 {
			switch string(raw[v+1 : e]) {
			case "", "-", "null", "[]":
				drop = true
			}
		}
	case c >= '0' && c <= '9' || c == '-':
		var err error
		if end, isFloat, err = s.number(v); err != nil {
			return 0, false, false
		}
		kind = kindNumber
	case c == 't' || c == 'f' || c == 'n':
		var err error
		if end, err = s.literal(v); err != nil {
			return 0, false, false
		}
		kind, drop = kindLiteral, c == 'n'
	case c == '{' || c == '[':
		kind = kindContainer
	default:
		return 0, false, false
	}
	key := raw[i+1 : k]
	if top {
		s.top = append(s.top, span{start: int32(i + 1), end: int32(k)})
		s.topMask |= keyBit(key)
	}
	ct := int32(-1)
	if t >= 0 {
		ct = s.child(t, key)
	}
	if ct >= 0 && kind != kindContainer {
		s.spans[ct] = span{start: int32(v), end: int32(end), plain: kind == kindString}
	}
	if s.pyOn {
		py := s.py
		if comma {
			py = append(py, ',', ' ')
		}
		py = append(py, '\\', '"')
		py = appendShort(py, raw, i+1, k)
		py = append(py, '\\', '"', ':', ' ')
		switch kind {
		case kindContainer: // the value is written below
		case kindString:
			py = append(py, '\\', '"')
			py = appendShort(py, raw, v+1, end-1)
			py = append(py, '\\', '"')
		case kindNumber:
			py = appendPyNumber(py, raw[v:end], isFloat)
		default:
			py = append(py, raw[v:end]...)
		}
		s.py = py
	}
	if kind == kindContainer {
		return s.containerValue(i, k, ct, docOn, top, after)
	}
	if !docOn || drop {
		return end, false, true
	}
	// The member's doc text is its raw text: members that follow each
	// other in raw are copied together (flushDoc).
	if s.pend >= 0 && s.pendEnd+1 == i && raw[s.pendEnd] == ',' {
		s.pendEnd = end
	} else {
		s.flushDoc()
		if after {
			s.doc = append(s.doc, ',')
		}
		s.pend, s.pendEnd = i, end
	}
	if top && s.recMembers {
		at := int32(len(s.doc) + i - s.pend)
		s.members = append(s.members, at+1, at+int32(k-i), at+int32(k-i)+2, at+int32(end-i))
	}
	return end, true, true
}

// containerValue ends fastMember for a member whose value, at raw[k+2],
// is an object or a list (its key, under trie node ct, is noted and in
// py): the key goes to doc and the value is written by object or array,
// as the general path does. An error in the value is left in errAt for
// the object loop to return.
func (s *scanner) containerValue(i, k int, ct int32, docOn, top, after bool) (end int, kept, handled bool) {
	raw := s.raw
	s.flushDoc()
	mark := len(s.doc)
	if docOn {
		if after {
			s.doc = append(s.doc, ',')
		}
		s.doc = append(s.doc, raw[i:k+2]...) // "key":
	}
	keyAt, valAt := int32(len(s.doc)-(k+2-i)), int32(len(s.doc))
	v := k + 2
	var err error
	if raw[v] == '{' {
		end, kept, err = s.object(v, ct, docOn, false, false)
	} else {
		end, kept, err = s.array(v, ct, docOn, modeMember)
	}
	if err != nil {
		s.errAt = err
		return 0, false, true
	}
	if ct >= 0 {
		s.spans[ct] = span{start: int32(v), end: int32(end)}
	}
	if !docOn {
		return end, false, true
	}
	if !kept {
		s.doc = s.doc[:mark]
		return end, false, true
	}
	if top && s.recMembers {
		s.members = append(s.members, keyAt+1, valAt-2, valAt, int32(len(s.doc)))
	}
	return end, true, true
}

// flushDoc appends to doc the raw text of the members fastMember left
// pending.
func (s *scanner) flushDoc() {
	if s.pend >= 0 {
		s.doc = append(s.doc, s.raw[s.pend:s.pendEnd]...)
		s.pend = -1
	}
}

// afterValue moves past the white space after a value and then past a ','
// (more follows) or the container's closer (done).
func (s *scanner) afterValue(end int, closer byte) (int, bool, error) {
	i := skipWS(s.raw, end)
	switch {
	case i >= len(s.raw):
	case s.raw[i] == ',':
		return skipWS(s.raw, i+1), false, nil
	case s.raw[i] == closer:
		return i + 1, true, nil
	}
	return 0, false, ErrSyntax
}

// array scans the list at raw[i]. As an object member, doc drops [] and
// [""]; its objects are cleaned, lists inside it copied as they are.
func (s *scanner) array(i int, t int32, docOn bool, mode int) (int, bool, error) {
	raw := s.raw
	if s.depth++; s.strict && s.depth > maxPrefixDepth {
		return 0, false, ErrSyntax
	}
	s.pyAppend('[')
	docStart := len(s.doc)
	if docOn {
		s.doc = append(s.doc, '[')
	}
	i = skipWS(raw, i+1)
	n := 0
	onlyEmptyString := false
	if i < len(raw) && raw[i] == ']' {
		i++
	} else {
		for ; ; n++ {
			if n > 0 {
				s.pyAppend(',', ' ')
				if docOn {
					s.doc = append(s.doc, ',')
				}
			}
			elemStart := len(s.doc)
			em := modeElement
			if mode != modeMember {
				em = modeVerbatim
			}
			end, _, err := s.value(i, s.element(t, n), docOn, em)
			if err != nil {
				return 0, false, err
			}
			if n == 0 {
				onlyEmptyString = docOn && string(s.doc[elemStart:]) == `""`
			}
			var done bool
			if i, done, err = s.afterValue(end, ']'); err != nil {
				return 0, false, err
			}
			if done {
				n++
				break
			}
		}
	}
	s.pyAppend(']')
	if !docOn {
		s.depth--
		return i, false, nil
	}
	if mode == modeMember && (n == 0 || (n == 1 && onlyEmptyString)) {
		s.doc = s.doc[:docStart]
		s.depth--
		return i, false, nil
	}
	s.doc = append(s.doc, ']')
	s.depth--
	return i, true, nil
}

// plainString handles the common string: printable ASCII without escapes,
// written as it is to doc and between escaped quotes to py. It returns the
// index after the string, or 0 when the string needs str.
func (s *scanner) plainString(i int, docOn bool) int {
	raw := s.raw
	k := s.special(i + 1)
	if k >= len(raw) || raw[k] != '"' {
		return 0
	}
	if s.pyOn {
		// \"content\" in one reservation.
		py, n := s.py, k-i-1
		if cap(py)-len(py) < n+4 {
			py = slices.Grow(py, n+4)
		}
		l := len(py)
		py = py[:l+n+4]
		py[l], py[l+1] = '\\', '"'
		copy(py[l+2:], raw[i+1:k])
		py[l+n+2], py[l+n+3] = '\\', '"'
		s.py = py
	}
	if docOn {
		s.doc = append(s.doc, raw[i:k+1]...)
	}
	return k + 1
}

// str scans the string at raw[i]. To doc it copies the string as written
// (control characters escaped, invalid UTF-8 replaced); to py it writes
// the Python-style text, escaped once more. dropEmpty drops the values
// del_none drops. It returns the index after the string, whether doc got
// it, and whether it had escapes.
func (s *scanner) str(i int, docOn, dropEmpty, isKey bool) (int, bool, bool, error) {
	raw := s.raw
	s.pyQuote()
	docStart := len(s.doc)
	if docOn {
		s.doc = append(s.doc, '"')
	}
	esc := false
	j := i + 1
	for {
		k := s.special(j)
		if k > j {
			if s.pyOn {
				s.py = append(s.py, raw[j:k]...)
			}
			if docOn {
				s.doc = append(s.doc, raw[j:k]...)
			}
			j = k
		}
		if j >= len(raw) {
			return 0, false, false, ErrSyntax
		}
		c := raw[j]
		switch {
		case c == '"':
			j++
			s.pyQuote()
			if !docOn {
				return j, false, esc, nil
			}
			s.doc = append(s.doc, '"')
			if isKey {
				return j, true, esc, nil
			}
			return s.finishString(j, docStart, dropEmpty, esc)
		case c == '\\':
			esc = true
			n, err := s.escape(j)
			if err != nil {
				return 0, false, false, err
			}
			if docOn {
				s.doc = append(s.doc, raw[j:j+n]...)
			}
			j += n
		case c < 0x20:
			s.ctl = true
			if s.pyOn {
				s.py = appendPyRune(s.py, rune(c), true)
			}
			if docOn {
				s.doc = append(s.doc, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			j++
		default:
			r, size := utf8.DecodeRune(raw[j:])
			if r == utf8.RuneError && size == 1 {
				if s.pyOn {
					s.py = append(s.py, "\uFFFD"...)
				}
				if docOn {
					s.doc = append(s.doc, "\uFFFD"...)
				}
			} else {
				if s.pyOn {
					s.py = append(s.py, raw[j:j+size]...)
				}
				if docOn {
					s.doc = append(s.doc, raw[j:j+size]...)
				}
			}
			j += size
		}
	}
}

func (s *scanner) pyQuote() {
	if s.pyOn {
		s.py = append(s.py, '\\', '"')
	}
}

// finishString applies del_none and the long-string truncation to the
// string just written to doc at docStart.
func (s *scanner) finishString(end, docStart int, dropEmpty, esc bool) (int, bool, bool, error) {
	text := s.doc[docStart:]
	content := text[1 : len(text)-1]
	if dropEmpty {
		c := content
		if esc && len(c) <= 24 {
			c = s.unescape(text)
		}
		switch string(c) {
		case "", "-", "null", "[]":
			s.doc = s.doc[:docStart]
			return end, false, esc, nil
		}
	}
	if len(content) >= maxTermBytes {
		var v string
		if json.Unmarshal(text, &v) == nil && len(v) >= maxTermBytes {
			cut := truncKeep
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			s.doc = appendQuoted(s.doc[:docStart], v[:cut]+truncMark)
		}
	}
	return end, true, esc, nil
}

// escape handles the escape sequence at raw[j] for py and returns its
// length in raw.
func (s *scanner) escape(j int) (int, error) {
	raw := s.raw
	if j+1 >= len(raw) {
		return 0, ErrSyntax
	}
	switch e := raw[j+1]; e {
	case 'u':
		r, ok := hex4(raw, j+2)
		if !ok {
			return 0, ErrSyntax
		}
		if utf16.IsSurrogate(r) {
			if r2, ok := hex4(raw, j+8); ok && j+7 < len(raw) && raw[j+6] == '\\' && raw[j+7] == 'u' {
				if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
					if s.pyOn {
						s.py = utf8.AppendRune(s.py, c)
					}
					return 12, nil
				}
			}
			if s.pyOn {
				s.py = appendU4(append(s.py, '\\'), r) // a lone surrogate stays escaped
			}
			return 6, nil
		}
		if s.pyOn {
			s.py = appendPyRune(s.py, r, true)
		}
		return 6, nil
	case '"', '\\', '/':
		if s.pyOn {
			s.py = appendPyRune(s.py, rune(e), true)
		}
	case 'b', 'f', 'n', 'r', 't':
		if s.pyOn {
			s.py = append(s.py, '\\', '\\', e)
		}
	default:
		return 0, ErrSyntax
	}
	return 2, nil
}

func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape decodes a quoted JSON string into scratch memory valid until
// the next call.
func (s *scanner) unescape(quoted []byte) []byte {
	var v string
	if json.Unmarshal(quoted, &v) != nil {
		return quoted[1 : len(quoted)-1]
	}
	s.tmp = append(s.tmp[:0], v...)
	return s.tmp
}
