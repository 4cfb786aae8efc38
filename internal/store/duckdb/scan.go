//go:build cgo

package duckdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner reads a document once, without building a tree: it checks
// that the document is well-formed JSON, records where the values of the
// typed columns are, finds the top-level @message member so it can be
// stored in its own column, and reports every leaf field path (for
// Fields). It allocates nothing in the steady state.

// maxDepth bounds the nesting of a document.
const maxDepth = 256

// value kinds of a capture.
const (
	vNone byte = iota
	vString
	vNumber
	vTrue
	vFalse
)

// capture is where one value of a typed column sits in the document.
type capture struct {
	typ        byte
	esc        bool // the string has escapes: unescape before use
	start, end int  // the value's bytes; for strings, inside the quotes
}

// fieldSink receives leaf paths. path is the dotted field name; jsonPath is
// the JSON path to read it (with [*] after arrays); typ is its JSON kind.
type fieldSink interface {
	seen(hash uint64) bool
	add(hash uint64, path, jsonPath string, typ byte)
}

// scanner extracts the typed columns of documents. A scanner is used by one
// goroutine and reused across documents.
type scanner struct {
	sch   *schema
	doc   []byte
	caps  []capture   // per ECS column: its first scalar value
	lists [][]capture // per ECS column: every scalar value (list columns)

	// The top-level @message member: the bytes [cutStart, cutEnd) are
	// removed from the document (the member and one comma); msg is its
	// string value.
	cutStart, cutEnd int
	msg              capture
	msgFirst         bool // the cut member was followed by a comma

	fields fieldSink // nil: do not report fields
	keys   []keySpan // the path to the current value
	tmp    []byte
}

// keySpan is one key of the current path.
type keySpan struct {
	start, end int
	esc        bool
	array      bool   // the value under this key is an array (for [*])
	hash       uint64 // hash of the dotted path up to and including this key
}

// newScanner returns a scanner for sch.
func newScanner(sch *schema) *scanner {
	return &scanner{sch: sch, caps: make([]capture, len(sch.cols)), lists: make([][]capture, len(sch.cols))}
}

// errSyntax is wrapped by every scan error.
var errSyntax = errors.New("invalid JSON")

func (s *scanner) fail(i int, what string) error {
	return fmt.Errorf("%w at byte %d: %s", errSyntax, i, what)
}

// scan reads doc, which must be one JSON object.
func (s *scanner) scan(doc []byte) error {
	s.doc = doc
	for i := range s.caps {
		s.caps[i] = capture{}
		s.lists[i] = s.lists[i][:0]
	}
	s.cutStart, s.cutEnd = -1, -1
	s.msg = capture{}
	s.keys = s.keys[:0]
	i := skipWS(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return s.fail(i, "a document must be a JSON object")
	}
	i, err := s.object(i, s.sch.trie, 1)
	if err != nil {
		return err
	}
	if i = skipWS(doc, i); i != len(doc) {
		return s.fail(i, "data after the document")
	}
	if !utf8.Valid(doc) {
		return fmt.Errorf("%w: not valid UTF-8", errSyntax)
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// fnv64 constants.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// object reads the object starting at doc[i] == '{' and returns the index
// after it. n is the trie node of its path (nil when no typed column lies
// below).
func (s *scanner) object(i int, n *trieNode, depth int) (int, error) {
	if depth > maxDepth {
		return i, s.fail(i, "nested too deeply")
	}
	doc := s.doc
	i = skipWS(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(doc) || doc[i] != '"' {
			return i, s.fail(i, "expected a key")
		}
		memberStart := i
		ks, ke, esc, err := s.str(i)
		if err != nil {
			return ks, err
		}
		i = skipWS(doc, ke+1)
		if i >= len(doc) || doc[i] != ':' {
			return i, s.fail(i, "expected ':' after a key")
		}
		i = skipWS(doc, i+1)
		var child *trieNode
		key := doc[ks:ke]
		if esc {
			s.tmp = appendUnescaped(s.tmp[:0], key)
			key = s.tmp
		}
		if n != nil && n.next != nil {
			child = n.next[string(key)]
		}
		if s.fields != nil {
			h := uint64(fnvOffset)
			if len(s.keys) > 0 {
				h = hashBytes(s.keys[len(s.keys)-1].hash, []byte{'.'})
			}
			s.keys = append(s.keys, keySpan{start: ks, end: ke, esc: esc, hash: hashBytes(h, key)})
		}
		if depth == 1 && string(key) == "@message" && i < len(doc) && doc[i] == '"' {
			vs, ve, vesc, err := s.str(i)
			if err != nil {
				return vs, err
			}
			s.msg = capture{typ: vString, esc: vesc, start: vs, end: ve}
			s.cutStart = memberStart
			i = ve + 1
			if s.fields != nil {
				if h := s.keys[len(s.keys)-1].hash; !s.fields.seen(h) {
					s.reportField(h, vString)
				}
				s.keys = s.keys[:len(s.keys)-1]
			}
			j := skipWS(doc, i)
			if j < len(doc) && doc[j] == ',' {
				s.cutEnd = skipWS(doc, j+1)
				s.msgFirst = true
			} else {
				// The last member: cut the comma before it instead.
				s.msgFirst = false
				s.cutEnd = i
				k := memberStart - 1
				for k > 0 && (doc[k] == ' ' || doc[k] == '\n' || doc[k] == '\r' || doc[k] == '\t') {
					k--
				}
				if doc[k] == ',' {
					s.cutStart = k
				}
			}
		} else {
			i, err = s.value(i, child, depth)
			if err != nil {
				return i, err
			}
			if s.fields != nil {
				s.keys = s.keys[:len(s.keys)-1]
			}
		}
		i = skipWS(doc, i)
		if i >= len(doc) {
			return i, s.fail(i, "unterminated object")
		}
		switch doc[i] {
		case ',':
			i = skipWS(doc, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, s.fail(i, "expected ',' or '}'")
		}
	}
}

// value reads the value at doc[i].
func (s *scanner) value(i int, n *trieNode, depth int) (int, error) {
	doc := s.doc
	if i >= len(doc) {
		return i, s.fail(i, "expected a value")
	}
	switch c := doc[i]; c {
	case '{':
		if n != nil && n.next == nil {
			n = nil
		}
		return s.object(i, n, depth+1)
	case '[':
		return s.array(i, n, depth+1)
	case '"':
		vs, ve, esc, err := s.str(i)
		if err != nil {
			return vs, err
		}
		s.leaf(n, capture{typ: vString, esc: esc, start: vs, end: ve})
		return ve + 1, nil
	case 't':
		if len(doc)-i >= 4 && string(doc[i:i+4]) == "true" {
			s.leaf(n, capture{typ: vTrue, start: i, end: i + 4})
			return i + 4, nil
		}
	case 'f':
		if len(doc)-i >= 5 && string(doc[i:i+5]) == "false" {
			s.leaf(n, capture{typ: vFalse, start: i, end: i + 5})
			return i + 5, nil
		}
	case 'n':
		if len(doc)-i >= 4 && string(doc[i:i+4]) == "null" {
			return i + 4, nil
		}
	default:
		if c == '-' || c >= '0' && c <= '9' {
			j, ok := number(doc, i)
			if !ok {
				return j, s.fail(i, "malformed number")
			}
			s.leaf(n, capture{typ: vNumber, start: i, end: j})
			return j, nil
		}
	}
	return i, s.fail(i, "expected a value")
}

// array reads the array at doc[i] == '['. Its elements share the array's
// path.
func (s *scanner) array(i int, n *trieNode, depth int) (int, error) {
	if depth > maxDepth {
		return i, s.fail(i, "nested too deeply")
	}
	if s.fields != nil && len(s.keys) > 0 {
		s.keys[len(s.keys)-1].array = true
	}
	doc := s.doc
	i = skipWS(doc, i+1)
	if i < len(doc) && doc[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		i, err = s.value(i, n, depth)
		if err != nil {
			return i, err
		}
		i = skipWS(doc, i)
		if i >= len(doc) {
			return i, s.fail(i, "unterminated array")
		}
		switch doc[i] {
		case ',':
			i = skipWS(doc, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, s.fail(i, "expected ',' or ']'")
		}
	}
}

// leaf records a scalar value for the column of n and reports its field.
func (s *scanner) leaf(n *trieNode, c capture) {
	if n != nil && n.col >= 0 {
		if s.caps[n.col].typ == vNone {
			s.caps[n.col] = c
		}
		if s.sch.cols[n.col].list {
			s.lists[n.col] = append(s.lists[n.col], c)
		}
	}
	if s.fields != nil && len(s.keys) > 0 {
		h := s.keys[len(s.keys)-1].hash
		if !s.fields.seen(h) {
			t := c.typ
			if t == vNumber {
				for _, ch := range s.doc[c.start:c.end] {
					if ch == '.' || ch == 'e' || ch == 'E' {
						t |= 0x80
						break
					}
				}
			}
			s.reportField(h, t)
		}
	}
}

// reportField builds the names of the current path and hands them on.
func (s *scanner) reportField(h uint64, typ byte) {
	var path, jp []byte
	jp = append(jp, '$')
	for i, k := range s.keys {
		key := s.doc[k.start:k.end]
		if k.esc {
			key = appendUnescaped(nil, key)
		}
		if i > 0 {
			path = append(path, '.')
		}
		path = append(path, key...)
		jp = append(jp, '.', '"')
		for _, c := range key {
			if c == '"' || c == '\\' {
				jp = append(jp, '\\')
			}
			jp = append(jp, c)
		}
		jp = append(jp, '"')
		if k.array {
			jp = append(jp, "[*]"...)
		}
	}
	s.fields.add(h, string(path), string(jp), typ)
}

// str reads the string at doc[i] == '"' and returns the bounds of its
// contents and whether it has escapes.
func (s *scanner) str(i int) (start, end int, esc bool, err error) {
	doc := s.doc
	start = i + 1
	for j := start; j < len(doc); j++ {
		// Skip eight plain bytes at a time: none a quote, a backslash
		// or a control character.
		for j+8 <= len(doc) && plain8(binary.LittleEndian.Uint64(doc[j:])) {
			j += 8
		}
		if j >= len(doc) {
			break
		}
		c := doc[j]
		switch {
		case c == '"':
			return start, j, esc, nil
		case c == '\\':
			esc = true
			j++
			if j >= len(doc) {
				break
			}
			switch doc[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(doc) || !isHex(doc[j+1]) || !isHex(doc[j+2]) || !isHex(doc[j+3]) || !isHex(doc[j+4]) {
					return j, j, esc, s.fail(j, `malformed \u escape`)
				}
				j += 4
			default:
				return j, j, esc, s.fail(j, "malformed escape")
			}
		case c < 0x20:
			return j, j, esc, s.fail(j, "control character in a string")
		}
	}
	return start, len(doc), esc, s.fail(i, "unterminated string")
}

// plain8 says whether none of the eight bytes of x is '"', '\\' or below
// 0x20. (For each test, a byte's high bit is set in the mask only if the
// byte matches or a lower byte did; either way x is not plain.)
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((q-ones)&^q|(b-ones)&^b|(x-ones*0x20)&^x)&highs == 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number returns the end of the JSON number at doc[i] and whether it is
// well-formed.
func number(doc []byte, i int) (int, bool) {
	if doc[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(doc) && doc[i] >= '0' && doc[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(doc) && doc[i] == '0' {
		i++
	} else if digits() == 0 {
		return i, false
	}
	if i < len(doc) && doc[i] == '.' {
		i++
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(doc) && (doc[i] == 'e' || doc[i] == 'E') {
		i++
		if i < len(doc) && (doc[i] == '+' || doc[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return i, true
}

// appendUnescaped appends the JSON string contents b (without quotes,
// already validated) unescaped. Lone surrogates become U+FFFD.
func appendUnescaped(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch b[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(b[i+1:]))
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if r2 := utf16.DecodeRune(r, rune(hex4(b[i+3:]))); r2 != utf8.RuneError {
						r = r2
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, b[i])
		}
	}
	return dst
}

func hex4(b []byte) uint16 {
	var v uint16
	for _, c := range b[:4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint16(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint16(c - 'a' + 10)
		default:
			v |= uint16(c - 'A' + 10)
		}
	}
	return v
}

// parseInt parses a decimal integer (a JSON number or a numeric string, as
// some loaders write numbers); a number with a fraction is truncated.
func parseInt(b []byte) (int64, bool) {
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != f || f > 9.2e18 || f < -9.2e18 {
		return 0, false
	}
	return int64(f), true
}
