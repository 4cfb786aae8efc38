package normalize

// Header names the fields of records given as a list of string values (a
// CSV or space-separated line, see Input.Header). One Header serves every
// record of a file; it remembers, per log type, where each field goes.
type Header struct {
	names  []string
	quoted [][]byte // `"name":`
	esc    bool     // some name is written with escapes
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
	}
	return h
}

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.names) }

// flat prepares the scanner's results for a record of string fields
// without writing and scanning its JSON text: it writes the record as a JSON
// object to n.flatBuf (where the spans point), the document without empty
// values to sc.doc, and the spans and top-level keys. It reports false
// when a value needs the scanner's slow path (a string so long it is
// truncated); the caller then scans the text it wrote.
func (n *Normalizer) flat(h *Header, values [][]byte, plan *typePlan) ([]byte, bool) {
	sc := &n.sc
	sc.plan = plan
	sc.doc = sc.doc[:0]
	sc.members = sc.members[:0]
	sc.top = sc.top[:0]
	sc.topMask = 0
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
	doc := append(sc.doc, '{')
	long := false
	for i, v := range values {
		if i > 0 {
			raw = append(raw, ',')
		}
		field := len(raw)
		raw = append(raw, h.quoted[i]...)
		sc.top = append(sc.top, span{start: int32(field + 1), end: int32(field + len(h.names[i]) + 1)})
		sc.topMask |= keyBit(h.names[i])
		start := len(raw)
		raw = appendQuoted(raw, v)
		if t := h.nodes[i]; t >= 0 {
			sc.spans[t] = span{start: int32(start), end: int32(len(raw)), plain: len(raw)-start == len(v)+2}
		}
		switch string(v) {
		case "", "-", "null", "[]":
			continue // del_none drops it
		}
		long = long || len(raw)-start-2 >= maxTermBytes
		if len(doc) > 1 {
			doc = append(doc, ',')
		}
		if sc.recMembers {
			at := int32(len(doc))
			valAt := at + int32(start-field)
			sc.members = append(sc.members, at+1, valAt-2, valAt, at+int32(len(raw)-field))
		}
		doc = append(doc, raw[field:]...)
	}
	raw = append(raw, '}')
	n.flatBuf = raw
	if len(doc) == 1 {
		doc = doc[:0] // every value empty: the record adds nothing
	} else {
		doc = append(doc, '}')
	}
	sc.doc = doc
	sc.spans[0] = span{start: 0, end: int32(len(raw))}
	sc.raw = raw
	return raw, !long
}
