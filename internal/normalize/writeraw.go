package normalize

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// errRawShape makes the streaming writer give up on a record (raw control
// characters in a string, or anything unexpected); the tree writer then
// serializes it instead.
var errRawShape = errors.New("raw JSON needs re-encoding")

// Lucene rejects terms longer than this many bytes; es-loader truncates
// strings at or above it to truncKeep bytes plus truncMark.
const (
	maxTermBytes = 32766
	truncKeep    = 32753
	truncMark    = "<<TRUNCATED>>"
)

// writeRaw appends the record merged with the overlay, copying the raw
// JSON text of every value it keeps instead of re-encoding it. raw must be
// one JSON object (already validated by the parser).
func (w *docWriter) writeRaw(dst, raw []byte) ([]byte, error) {
	w.prepare()
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return dst, errRawShape
	}
	start := len(dst)
	dst, _, ok, err := w.rawObject(dst, raw, i, w.ov.root())
	if err != nil {
		return dst[:start], err
	}
	if !ok {
		dst = append(dst, '{', '}')
	}
	return dst, nil
}

// prepare sizes the per-write bookkeeping.
func (w *docWriter) prepare() {
	if cap(w.used) < len(w.ov.nodes) {
		w.used = make([]bool, len(w.ov.nodes), 2*len(w.ov.nodes))
	}
	w.used = w.used[:len(w.ov.nodes)]
	clear(w.used)
}

func skipWS(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\t') {
		i++
	}
	return i
}

// scanString returns the index after the string starting at raw[i] == '"'
// and whether it contains escapes. Raw control characters are refused.
func scanString(raw []byte, i int) (int, bool, error) {
	esc := false
	for j := i + 1; j < len(raw); {
		j = plainRun(raw, j, false)
		if j >= len(raw) {
			break
		}
		c := raw[j]
		switch {
		case c == '"':
			return j + 1, esc, nil
		case c == '\\':
			esc = true
			j += 2
		case c < 0x20:
			return 0, false, errRawShape
		default:
			j++
		}
	}
	return 0, false, errRawShape
}

// scanValue returns the index after the value starting at raw[i].
func scanValue(raw []byte, i int) (int, error) {
	if i >= len(raw) {
		return 0, errRawShape
	}
	switch raw[i] {
	case '"':
		end, _, err := scanString(raw, i)
		return end, err
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); {
			switch raw[j] {
			case '"':
				end, _, err := scanString(raw, j)
				if err != nil {
					return 0, err
				}
				j = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
			j++
		}
		return 0, errRawShape
	default:
		j := i
		for j < len(raw) {
			c := raw[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				break
			}
			j++
		}
		if j == i {
			return 0, errRawShape
		}
		return j, nil
	}
}

// rawChild finds the overlay child of ov for a raw key (escaped bytes). A
// live node wins over a deleted one; hidden reports a deleted node, which
// hides the raw member.
func (w *docWriter) rawChild(ov int32, key []byte) (c int32, hidden bool) {
	if ov == noNode || w.ov.nodes[ov].keyMask&keyBit(key) == 0 {
		return noNode, false
	}
	for n := w.ov.nodes[ov].first; n != noNode; n = w.ov.nodes[n].next {
		if !w.ov.nodes[n].present || w.ov.nodes[n].key != string(key) {
			continue
		}
		if !w.ov.nodes[n].deleted {
			return n, false
		}
		hidden = true
	}
	return noNode, hidden
}

// rawObject writes the object at raw[i] merged with overlay node ov. It
// returns the index after the object and false when nothing was written.
func (w *docWriter) rawObject(dst, raw []byte, i int, ov int32) ([]byte, int, bool, error) {
	start := len(dst)
	dst = append(dst, '{')
	n := 0
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		i++
	} else {
		for {
			if i >= len(raw) || raw[i] != '"' {
				return dst[:start], 0, false, errRawShape
			}
			kstart := i
			kend, kesc, err := scanString(raw, i)
			if err != nil {
				return dst[:start], 0, false, err
			}
			key := raw[i+1 : kend-1]
			if kesc {
				var s string
				if json.Unmarshal(raw[i:kend], &s) != nil {
					return dst[:start], 0, false, errRawShape
				}
				key = []byte(s)
			}
			i = skipWS(raw, kend)
			if i >= len(raw) || raw[i] != ':' {
				return dst[:start], 0, false, errRawShape
			}
			i = skipWS(raw, i+1)
			c, hidden := w.rawChild(ov, key)
			mark := len(dst)
			if n > 0 {
				dst = append(dst, ',')
			}
			if kesc {
				dst = appendQuoted(dst, key)
			} else {
				dst = append(dst, raw[kstart:kend]...)
			}
			dst = append(dst, ':')
			var ok bool
			var end int
			switch {
			case hidden && c == noNode:
				end, err = scanValue(raw, i)
				ok = false
			case c == noNode:
				dst, end, ok, err = w.rawValue(dst, raw, i, noNode)
			case w.ov.nodes[c].val == noNode && (raw[i] == '{' || raw[i] == '[' && w.indexOnly(c)):
				w.used[c] = true
				dst, end, ok, err = w.rawValue(dst, raw, i, c)
			default:
				w.used[c] = true
				end, err = scanValue(raw, i)
				if err == nil {
					dst, ok = w.overlayValue(dst, c)
				}
			}
			if err != nil {
				return dst[:start], 0, false, err
			}
			if ok {
				n++
			} else {
				dst = dst[:mark]
			}
			i = skipWS(raw, end)
			if i >= len(raw) {
				return dst[:start], 0, false, errRawShape
			}
			if raw[i] == ',' {
				i = skipWS(raw, i+1)
				continue
			}
			if raw[i] != '}' {
				return dst[:start], 0, false, errRawShape
			}
			i++
			break
		}
	}
	dst, n = w.overlayRest(dst, ov, n)
	if n == 0 {
		return dst[:start], i, false, nil
	}
	return append(dst, '}'), i, true, nil
}

// indexOnly reports whether every present child of overlay node c is a
// list index: then it merges into a raw list element by element; otherwise
// the overlay object replaces the list (as {"value": [...]} replaces a
// list of tags).
func (w *docWriter) indexOnly(c int32) bool {
	for k := w.ov.nodes[c].first; k != noNode; k = w.ov.nodes[k].next {
		if w.ov.nodes[k].present && !isDigits(w.ov.nodes[k].key) {
			return false
		}
	}
	return true
}

// overlayRest writes the overlay children of ov not merged with raw members.
func (w *docWriter) overlayRest(dst []byte, ov int32, n int) ([]byte, int) {
	if ov == noNode {
		return dst, n
	}
	rec := ov == 0 && w.members != nil
	for c := w.ov.nodes[ov].first; c != noNode; c = w.ov.nodes[c].next {
		if !w.ov.nodes[c].present || w.ov.nodes[c].deleted || w.used[c] {
			continue
		}
		mark := len(dst)
		if n > 0 {
			dst = append(dst, ',')
		}
		keyAt := len(dst)
		qkey := w.ov.nodes[c].qkey
		dst = append(dst, qkey...)
		var ok bool
		dst, ok = w.overlayValue(dst, c)
		if ok {
			n++
			if rec {
				// A key written with escapes cannot be given as it is.
				w.membersOK = w.membersOK && len(qkey) == len(w.ov.nodes[c].key)+3
				at := int32(keyAt - w.base)
				*w.members = append(*w.members, at+1, at+int32(len(qkey))-2, at+int32(len(qkey)), int32(len(dst)-w.base))
			}
		} else {
			dst = dst[:mark]
		}
	}
	return dst, n
}

// rawValue writes the raw value at raw[i] (an object member), dropping it
// when es-loader would; ov is the overlay node merged into an object or
// list, or noNode.
func (w *docWriter) rawValue(dst, raw []byte, i int, ov int32) ([]byte, int, bool, error) {
	switch raw[i] {
	case '{':
		return w.rawObject(dst, raw, i, ov)
	case '[':
		return w.rawArray(dst, raw, i, ov)
	case '"':
		end, esc, err := scanString(raw, i)
		if err != nil {
			return dst, 0, false, err
		}
		s := raw[i+1 : end-1]
		if !esc {
			switch string(s) {
			case "", "-", "null", "[]":
				return dst, end, false, nil
			}
		}
		if len(s) >= maxTermBytes {
			return appendTruncated(dst, raw[i:end]), end, true, nil
		}
		return append(dst, raw[i:end]...), end, true, nil
	case 'n':
		end, err := scanValue(raw, i)
		return dst, end, false, err
	default:
		end, err := scanValue(raw, i)
		if err != nil {
			return dst, 0, false, err
		}
		return append(dst, raw[i:end]...), end, true, nil
	}
}

// appendTruncated writes a string (raw JSON text) cut to truncKeep bytes of
// UTF-8 at a character boundary, with the truncation mark, when its text is
// at least maxTermBytes long.
func appendTruncated(dst, quoted []byte) []byte {
	var s string
	if json.Unmarshal(quoted, &s) != nil || len(s) < maxTermBytes {
		return append(dst, quoted...)
	}
	cut := truncKeep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return appendQuoted(dst, s[:cut]+truncMark)
}

// rawArray writes the list at raw[i]: empty lists and [""] are dropped,
// objects inside are cleaned recursively (and merged with the overlay child
// named by their index), other elements are copied.
func (w *docWriter) rawArray(dst, raw []byte, i int, ov int32) ([]byte, int, bool, error) {
	end, err := scanValue(raw, i)
	if err != nil {
		return dst, 0, false, err
	}
	j := skipWS(raw, i+1)
	if raw[j] == ']' {
		return dst, end, false, nil
	}
	if raw[j] == '"' && raw[j+1] == '"' && raw[skipWS(raw, j+2)] == ']' {
		return dst, end, false, nil
	}
	start := len(dst)
	dst = append(dst, '[')
	for k := 0; ; k++ {
		if k > 0 {
			dst = append(dst, ',')
		}
		var c int32 = noNode
		if ov != noNode {
			c = w.ov.child(ov, strconv.Itoa(k))
			if c != noNode {
				w.used[c] = true
			}
		}
		var e int
		switch {
		case c != noNode && w.ov.nodes[c].val != noNode:
			e, err = scanValue(raw, j)
			if err == nil {
				var ok bool
				if dst, ok = w.overlayValue(dst, c); !ok {
					dst = append(dst, "null"...)
				}
			}
		case raw[j] == '{':
			var ok bool
			dst, e, ok, err = w.rawObject(dst, raw, j, c)
			if err == nil && !ok {
				dst = append(dst, '{', '}')
			}
		default:
			e, err = scanValue(raw, j)
			if err == nil {
				dst = append(dst, raw[j:e]...)
			}
		}
		if err != nil {
			return dst[:start], 0, false, err
		}
		j = skipWS(raw, e)
		if j < len(raw) && raw[j] == ',' {
			j = skipWS(raw, j+1)
			continue
		}
		break
	}
	return append(dst, ']'), end, true, nil
}

// escapeControls returns raw with control characters inside strings
// escaped as \u00XX, which strict JSON requires.
func escapeControls(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+16)
	in := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case in && c == '\\' && i+1 < len(raw):
			out = append(out, c, raw[i+1])
			i++
			continue
		case c == '"':
			in = !in
		case in && c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			continue
		}
		out = append(out, c)
	}
	return out
}
