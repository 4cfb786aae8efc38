package normalize

import "unsafe"

// Header names the fields of records given as a list of string values (a
// CSV or space-separated line, see Input.Header). One Header serves every
// record of a file; it remembers, per log type, where each field goes.
type Header struct {
	names  []string
	quoted [][]byte // `"name":`
	esc    bool     // some name is written with escapes
	mask   uint64   // the keyBits of the names
	plan   *typePlan
	nodes  []int32 // trie node per field for plan
}

// NewHeader returns the header of records whose fields are named names.
func NewHeader(names []string) *Header {
	h := &Header{names: names}
	for _, name := range names {
		q := append(AppendQuoted(nil, name), ':')
		h.quoted = append(h.quoted, q)
		h.esc = h.esc || len(q) != len(name)+3
		h.mask |= keyBit(name)
	}
	return h
}

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.names) }

// flat prepares the scanner's results for a record of string fields
// without writing and scanning its JSON text: it writes the record as a JSON
// object to n.flatBuf (where the spans point), the document without empty
// values to sc.doc (the same text when no value is empty), and the spans
// and top-level keys. It reports false when a value needs the scanner's
// slow path (a string so long it is truncated); the caller then scans the
// text it wrote. plain says that every value is printable ASCII without
// quotes or backslashes, so it is written as it is.
func (n *Normalizer) flat(h *Header, values [][]byte, plan *typePlan, plain bool) ([]byte, bool) {
	sc := &n.sc
	sc.plan = plan
	sc.members = sc.members[:0]
	sc.top = sc.top[:0]
	sc.topMask = h.mask
	sc.topEsc = h.esc
	if cap(sc.spans) < len(plan.prefixes) {
		sc.spans = make([]span, len(plan.prefixes))
	}
	sc.spans = sc.spans[:len(plan.prefixes)]
	for i := range sc.spans {
		sc.spans[i] = span{start: -1, end: -1}
	}
	if h.plan != plan {
		h.nodes = h.nodes[:0]
		for _, name := range h.names {
			h.nodes = append(h.nodes, sc.child(0, []byte(name)))
		}
		h.plan = plan
	}
	raw := append(n.flatBuf[:0], '{')
	ends := n.flatEnds[:0] // where each field's text ends in raw
	long, dropped := false, false
	for i, v := range values {
		if i > 0 {
			raw = append(raw, ',')
		}
		field := len(raw)
		raw = append(raw, h.quoted[i]...)
		sc.top = append(sc.top, span{start: int32(field + 1), end: int32(field + len(h.names[i]) + 1)})
		start := len(raw)
		if plain {
			raw = append(raw, '"')
			raw = append(raw, v...)
			raw = append(raw, '"')
		} else {
			raw = appendQuoted(raw, v)
		}
		if t := h.nodes[i]; t >= 0 {
			sc.spans[t] = span{start: int32(start), end: int32(len(raw)), plain: len(raw)-start == len(v)+2}
		}
		ends = append(ends, int32(len(raw)))
		if len(v) <= 4 {
			switch string(v) {
			case "", "-", "null", "[]":
				dropped = true // del_none drops it
				continue
			}
		}
		long = long || len(raw)-start-2 >= maxTermBytes
	}
	raw = append(raw, '}')
	n.flatBuf, n.flatEnds = raw, ends
	sc.spans[0] = span{start: 0, end: int32(len(raw))}
	sc.raw = raw
	if !dropped {
		sc.doc = raw // nothing to leave out: the document is the record
		if sc.recMembers {
			for i, t := range sc.top {
				valAt := t.end + 2
				sc.members = append(sc.members, t.start, t.end, valAt, ends[i])
			}
		}
		return raw, !long
	}
	doc := append(sc.docBuf[:0], '{')
	from := int32(1)
	for i, end := range ends {
		if v := values[i]; len(v) <= 4 {
			switch string(v) {
			case "", "-", "null", "[]":
				from = end + 1
				continue
			}
		}
		if len(doc) > 1 {
			doc = append(doc, ',')
		}
		if sc.recMembers {
			at := int32(len(doc)) - from
			t := sc.top[i]
			sc.members = append(sc.members, t.start+at, t.end+at, t.end+2+at, end+at)
		}
		doc = append(doc, raw[from:end]...)
		from = end + 1
	}
	if len(doc) == 1 {
		doc = doc[:0] // every value empty: the record adds nothing
	} else {
		doc = append(doc, '}')
	}
	sc.docBuf, sc.doc = doc, doc
	return raw, !long
}

// plainValues reports whether every value is printable ASCII without
// quotes or backslashes, testing the line once when the values are parts
// of it (as a split line's are).
func plainValues(line []byte, values [][]byte) bool {
	if len(line) == 0 || plainRunBytes(line, 0, true) != len(line) {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(line)))
	hi := lo + uintptr(len(line))
	for _, v := range values {
		if len(v) == 0 {
			continue
		}
		if at := uintptr(unsafe.Pointer(unsafe.SliceData(v))); at < lo || at+uintptr(len(v)) > hi {
			return false
		}
	}
	return true
}
