package normalize

import (
	"unicode/utf8"
)

// docWriter serializes a raw record merged with its overlay. It drops empty
// values the way es-loader's del_none does: null, "", "-", "null", "[]",
// empty lists, [""] and objects left empty, recursively through objects and
// through objects directly inside lists. Overlay values win over raw values at
// the same path; objects on both sides are merged.
type docWriter struct {
	ov   *Overlay
	used []bool
	// members, when set, gets the offsets (from base) of the top-level
	// members overlayRest writes, as scanner.members holds them;
	// membersOK turns false when they cannot be given.
	members   *[]int32
	base      int
	membersOK bool
}

// overlayValue writes overlay node c (a value or an object).
func (w *docWriter) overlayValue(dst []byte, c int32) ([]byte, bool) {
	nd := &w.ov.nodes[c]
	if nd.val == noNode {
		start := len(dst)
		dst = append(dst, '{')
		dst, n := w.overlayRest(dst, c, 0)
		if n == 0 {
			return dst[:start], false
		}
		return append(dst, '}'), true
	}
	v := w.ov.buf[nd.val:nd.end]
	if isEmptyEncoded(v) {
		return dst, false
	}
	return append(dst, v...), true
}

// overlayAll writes every present child of overlay node p, as overlayRest
// does when no raw member was merged (assemble): in one loop over the
// nodes, without the merge bookkeeping. rec records the members (p is
// the root).
func (w *docWriter) overlayAll(dst []byte, p int32, n int, rec bool) ([]byte, int) {
	nodes, buf := w.ov.nodes, w.ov.buf
	for c := nodes[p].first; c != noNode; c = nodes[c].next {
		nd := &nodes[c]
		if !nd.present || nd.deleted {
			continue
		}
		mark := len(dst)
		if n > 0 {
			dst = append(dst, ',')
		}
		keyAt := len(dst)
		dst = append(dst, nd.qkey...)
		if nd.val == noNode {
			dst = append(dst, '{')
			var k int
			if dst, k = w.overlayAll(dst, c, 0, false); k == 0 {
				dst = dst[:mark]
				continue
			}
			dst = append(dst, '}')
		} else {
			v := buf[nd.val:nd.end]
			if len(v) <= 6 && isEmptyEncoded(v) {
				dst = dst[:mark]
				continue
			}
			dst = append(dst, v...)
		}
		n++
		if rec {
			// A key written with escapes cannot be given as it is.
			w.membersOK = w.membersOK && len(nd.qkey) == len(nd.key)+3
			at := int32(keyAt - w.base)
			*w.members = append(*w.members, at+1, at+int32(len(nd.qkey))-2, at+int32(len(nd.qkey)), int32(len(dst)-w.base))
		}
	}
	return dst, n
}

// isEmptyEncoded reports whether an encoded overlay value is one del_none drops.
func isEmptyEncoded(v []byte) bool {
	switch string(v) {
	case "", "null", `""`, `"-"`, `"null"`, `"[]"`, "[]", `[""]`, "{}":
		return true
	}
	return false
}

// jsonSafe marks the ASCII bytes that appear unescaped inside a JSON string.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendQuoted appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendQuoted[T ~string | ~[]byte](dst []byte, s T) []byte {
	if b := bytesOf(&s); plainRunBytes(b, 0, true) == len(b) {
		dst = append(dst, '"')
		dst = append(dst, b...)
		return append(dst, '"')
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i = plainRun(s, i+1, true)
			continue
		}
		if c < utf8.RuneSelf {
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

// AppendQuotedBytes is AppendQuoted for a byte slice.
func AppendQuotedBytes(dst, s []byte) []byte { return appendQuoted(dst, s) }

// AppendQuoted appends s as a JSON string; invalid UTF-8 becomes U+FFFD so
// the output is always valid JSON.
func AppendQuoted(dst []byte, s string) []byte { return appendQuoted(dst, s) }
