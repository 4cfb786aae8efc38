package normalize

import (
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// docWriter serializes a raw record merged with its overlay. It drops empty
// values the way es-loader's del_none does: null, "", "-", "null", "[]",
// empty lists, [""] and objects left empty, recursively through objects and
// through objects directly inside lists. Overlay values win over raw values at
// the same path; objects on both sides are merged.
type docWriter struct {
	ov   *Overlay
	used []bool
}

// write appends the merged document as one JSON object.
func (w *docWriter) write(dst []byte, raw *fastjson.Value) []byte {
	if cap(w.used) < len(w.ov.nodes) {
		w.used = make([]bool, len(w.ov.nodes), 2*len(w.ov.nodes))
	}
	w.used = w.used[:len(w.ov.nodes)]
	clear(w.used)
	var obj *fastjson.Object
	if raw != nil && raw.Type() == fastjson.TypeObject {
		obj, _ = raw.Object()
	}
	dst, ok := w.object(dst, obj, w.ov.root())
	if !ok {
		dst = append(dst, '{', '}')
	}
	return dst
}

// object writes raw (may be nil) merged with overlay node ov (may be noNode).
// It returns false, with dst unchanged, when nothing remains.
func (w *docWriter) object(dst []byte, raw *fastjson.Object, ov int32) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, '{')
	n := 0
	if raw != nil {
		raw.Visit(func(k []byte, v *fastjson.Value) {
			c := int32(noNode)
			if ov != noNode {
				c = w.childBytes(ov, k)
			}
			mark := len(dst)
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuoted(dst, k)
			dst = append(dst, ':')
			var ok bool
			switch {
			case c == noNode:
				dst, ok = w.rawValue(dst, v)
			case w.ov.nodes[c].val == noNode && v.Type() == fastjson.TypeObject:
				w.used[c] = true
				o, _ := v.Object()
				dst, ok = w.object(dst, o, c)
			default:
				w.used[c] = true
				dst, ok = w.overlayValue(dst, c)
			}
			if ok {
				n++
			} else {
				dst = dst[:mark]
			}
		})
	}
	if ov != noNode {
		for c := w.ov.nodes[ov].first; c != noNode; c = w.ov.nodes[c].next {
			if w.used[c] || w.ov.nodes[c].deleted {
				continue
			}
			mark := len(dst)
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuoted(dst, w.ov.nodes[c].key)
			dst = append(dst, ':')
			var ok bool
			dst, ok = w.overlayValue(dst, c)
			if ok {
				n++
			} else {
				dst = dst[:mark]
			}
		}
	}
	if n == 0 {
		return dst[:start], false
	}
	return append(dst, '}'), true
}

func (w *docWriter) childBytes(parent int32, key []byte) int32 {
	for c := w.ov.nodes[parent].first; c != noNode; c = w.ov.nodes[c].next {
		if !w.ov.nodes[c].deleted && w.ov.nodes[c].key == string(key) {
			return c
		}
	}
	return noNode
}

// overlayValue writes overlay node c (a value or an object).
func (w *docWriter) overlayValue(dst []byte, c int32) ([]byte, bool) {
	nd := &w.ov.nodes[c]
	if nd.val == noNode {
		return w.object(dst, nil, c)
	}
	v := w.ov.buf[nd.val:nd.end]
	if isEmptyEncoded(v) {
		return dst, false
	}
	return append(dst, v...), true
}

// isEmptyEncoded reports whether an encoded overlay value is one del_none drops.
func isEmptyEncoded(v []byte) bool {
	switch string(v) {
	case "", "null", `""`, `"-"`, `"null"`, `"[]"`, "[]", `[""]`, "{}":
		return true
	}
	return false
}

// rawValue writes a raw value, dropping it when es-loader would.
func (w *docWriter) rawValue(dst []byte, v *fastjson.Value) ([]byte, bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		return dst, false
	case fastjson.TypeString:
		s := v.GetStringBytes()
		switch string(s) {
		case "", "-", "null", "[]":
			return dst, false
		}
		return appendQuoted(dst, s), true
	case fastjson.TypeObject:
		o, _ := v.Object()
		return w.object(dst, o, noNode)
	case fastjson.TypeArray:
		a, _ := v.Array()
		if len(a) == 0 {
			return dst, false
		}
		if len(a) == 1 && a[0].Type() == fastjson.TypeString && len(a[0].GetStringBytes()) == 0 {
			return dst, false
		}
		dst = append(dst, '[')
		for i, e := range a {
			if i > 0 {
				dst = append(dst, ',')
			}
			if e.Type() == fastjson.TypeObject {
				o, _ := e.Object()
				var ok bool
				if dst, ok = w.object(dst, o, noNode); !ok {
					dst = append(dst, '{', '}')
				}
				continue
			}
			dst = e.MarshalTo(dst)
		}
		return append(dst, ']'), true
	default:
		return v.MarshalTo(dst), true
	}
}

// appendQuoted appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendQuoted[T ~string | ~[]byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		var tmp [utf8.UTFMax]byte
		m := copy(tmp[:], s[i:])
		r, size := utf8.DecodeRune(tmp[:m])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendQuoted appends s as a JSON string; invalid UTF-8 becomes U+FFFD so
// the output is always valid JSON.
func AppendQuoted(dst []byte, s string) []byte { return appendQuoted(dst, s) }
