package normalize

import (
	"bytes"
	"strconv"
	"strings"
	"unsafe"
)

// Overlay is the tree of fields that normalization adds to a raw record
// (ECS fields, @-fields). Values are stored already encoded as JSON, so
// writing a document copies bytes. Keys are usually substrings of static
// configuration strings, so building an overlay does not allocate in steady
// state.
//
// A log type's overlays share a shape: Normalizer prepares a template with
// a node for every field the type may set, and each record starts from a
// copy of it in which no node is present yet. Setting a field through its
// template slot is then O(1). An Overlay is not safe for concurrent use.
type Overlay struct {
	nodes []onode
	buf   []byte
	// paths remembers which node a dotted path leads to in the template's
	// shape, by the address of the path string (transforms pass the same
	// literals for every record), for nodeFor and lookup. An entry holds
	// while its epoch is the overlay's, which moves on with another
	// template; it is used and made only while the record has not
	// reshaped the overlay (renamed, deleted, cut off or added nodes).
	paths    [ovPathCacheSize]ovPathEntry
	epoch    uint32
	reshaped bool
	// tmplAt and tmplLen identify the template last reset from.
	tmplAt  *onode
	tmplLen int
	// consts remembers the quoted form of strings that recur from record
	// to record (see putConst).
	consts [16]constEntry
}

// constEntry is a string and its quoted form. Holding the string keeps its
// bytes in place, so the same address and length mean the same string.
type constEntry struct {
	s string
	q []byte
}

// putConst is putString for strings that recur from record to record
// (configuration values, the object's key and bucket): their quoted form
// is remembered by the string's address instead of being made again.
func (o *Overlay) putConst(n int32, s string) {
	if len(s) == 0 {
		putString(o, n, s)
		return
	}
	data := unsafe.StringData(s)
	e := &o.consts[addrSlot(data, len(s), len(o.consts))]
	if unsafe.StringData(e.s) != data || len(e.s) != len(s) {
		e.s, e.q = s, appendQuoted(e.q[:0], s)
	}
	start := int32(len(o.buf))
	o.buf = append(o.buf, e.q...)
	o.setVal(n, start)
}

// ovPathCacheSize is the number of entries of an overlay's path cache.
const ovPathCacheSize = 256

// ovPathEntry is a path and the node it led to in an epoch. Holding the
// string keeps its bytes in place, so the same address and length mean
// the same path.
type ovPathEntry struct {
	path  string
	node  int32
	epoch uint32
}

// cached returns the entry for path: a hit when it is of this epoch.
func (o *Overlay) cached(path string) (*ovPathEntry, bool) {
	data := unsafe.StringData(path)
	e := &o.paths[addrSlot(data, len(path), ovPathCacheSize)]
	return e, !o.reshaped && e.epoch == o.epoch && unsafe.StringData(e.path) == data && len(e.path) == len(path) && data != nil
}

// addrSlot spreads string addresses over a cache of size entries (a
// power of two): literals lie close together, often within a few bytes.
func addrSlot(data *byte, n, size int) uint {
	h := (uint64(uintptr(unsafe.Pointer(data))) ^ uint64(n)<<48) * 0x9e3779b97f4a7c15
	return uint(h>>40) & uint(size-1)
}

// reshape notes that names may now lead to other nodes than in the
// template, until the next reset.
func (o *Overlay) reshape() { o.reshaped = true }

// onode is one key of the overlay. A node either holds an encoded value
// (val >= 0) or is an object whose children form a linked list. Only
// present nodes (set in this record, or with a set descendant) exist as far
// as readers and the writer are concerned; a deleted node hides the raw
// field of the same name.
type onode struct {
	key         string
	qkey        string // key quoted, with its colon: "key":
	parent      int32
	first, last int32
	next        int32
	val, end    int32 // encoded value is buf[val:end]; val == -1 for objects
	present     bool
	deleted     bool
	// keyMask has the keyBit of every child's key set: a cheap test that
	// a raw key has no overlay counterpart.
	keyMask uint64
}

// keyBit hashes a key to one of 64 bits for onode.keyMask.
func keyBit[T ~string | ~[]byte](key T) uint64 {
	if len(key) == 0 {
		return 1
	}
	return 1 << ((uint(key[0]) + 7*uint(len(key)) + 31*uint(key[len(key)-1])) & 63)
}

const noNode = -1

// Reset empties the overlay, keeping its memory.
func (o *Overlay) Reset() {
	o.epoch++
	o.tmplAt, o.tmplLen = nil, 0
	o.nodes = o.nodes[:0]
	o.buf = o.buf[:0]
	o.nodes = append(o.nodes, onode{parent: noNode, first: noNode, last: noNode, next: noNode, val: noNode, present: true})
}

// resetFrom empties the overlay and gives it the shape of tmpl, whose
// nodes are all absent (see template).
func (o *Overlay) resetFrom(tmpl []onode) {
	o.reshaped = false
	if len(tmpl) != o.tmplLen || len(tmpl) == 0 || &tmpl[0] != o.tmplAt {
		o.epoch++
		o.tmplLen = len(tmpl)
		if len(tmpl) > 0 {
			o.tmplAt = &tmpl[0]
		}
	}
	o.nodes = append(o.nodes[:0], tmpl...)
	o.buf = o.buf[:0]
}

// template returns the overlay's shape with every node absent, for
// resetFrom.
func (o *Overlay) template() []onode {
	t := append([]onode(nil), o.nodes...)
	for i := range t {
		t[i].present = i == 0
		t[i].deleted = false
		t[i].val, t[i].end = noNode, noNode
	}
	return t
}

// quotedKey is a key as the writer puts it before a value.
func quotedKey(key string) string {
	return string(append(appendQuoted(make([]byte, 0, len(key)+3), key), ':'))
}

func (o *Overlay) root() int32 {
	if len(o.nodes) == 0 {
		o.Reset()
	}
	return 0
}

// find returns the child of parent named key that is not deleted, present
// or not.
func (o *Overlay) find(parent int32, key string) int32 {
	for c := o.nodes[parent].first; c != noNode; c = o.nodes[c].next {
		if !o.nodes[c].deleted && o.nodes[c].key == key {
			return c
		}
	}
	return noNode
}

// child returns the present child of parent named key.
func (o *Overlay) child(parent int32, key string) int32 {
	if c := o.find(parent, key); c != noNode && o.nodes[c].present {
		return c
	}
	return noNode
}

func (o *Overlay) addChild(parent int32, key string) int32 {
	o.reshape() // the node is not in the template
	idx := int32(len(o.nodes))
	o.nodes = append(o.nodes, onode{key: key, qkey: quotedKey(key), parent: parent, first: noNode, last: noNode, next: noNode, val: noNode})
	p := &o.nodes[parent]
	p.keyMask |= keyBit(key)
	if p.last == noNode {
		p.first = idx
	} else {
		o.nodes[p.last].next = idx
	}
	p.last = idx
	return idx
}

// nodeFor walks the dotted path, creating nodes as needed, and returns the
// last one (not yet marked present). A value found on the way is replaced by
// an object, as merging dictionaries does.
func (o *Overlay) nodeFor(path string) int32 {
	e, hit := o.cached(path)
	if hit {
		// Values on the way become objects, as below.
		for p := o.nodes[e.node].parent; p > 0; p = o.nodes[p].parent {
			if o.nodes[p].val != noNode && o.nodes[p].present {
				o.nodes[p].val, o.nodes[p].end = noNode, noNode
			}
		}
		return e.node
	}
	n := o.nodeForWalk(path)
	if !o.reshaped {
		*e = ovPathEntry{path: path, node: n, epoch: o.epoch}
	}
	return n
}

// nodeForWalk is nodeFor without the cache.
func (o *Overlay) nodeForWalk(path string) int32 {
	n := o.root()
	for {
		seg, rest, more := strings.Cut(path, ".")
		c := o.find(n, seg)
		if c == noNode {
			c = o.addChild(n, seg)
		}
		if !more {
			return c
		}
		if o.nodes[c].val != noNode && o.nodes[c].present {
			o.nodes[c].val, o.nodes[c].end = noNode, noNode
		}
		n, path = c, rest
	}
}

// markPresent makes n and its ancestors present.
func (o *Overlay) markPresent(n int32) {
	for n != noNode && !o.nodes[n].present {
		o.nodes[n].present = true
		n = o.nodes[n].parent
	}
}

// lookup returns the present node at the dotted path, or noNode.
func (o *Overlay) lookup(path string) int32 {
	// A present node has present ancestors, so the node the names lead to
	// (found whether present or not) answers for the whole way.
	if n := o.resolve(path); n != noNode && o.nodes[n].present {
		return n
	}
	return noNode
}

// resolve is findPath answered from the path cache when it can.
func (o *Overlay) resolve(path string) int32 {
	e, hit := o.cached(path)
	if hit {
		return e.node
	}
	n := o.findPath(path)
	if n != noNode && !o.reshaped {
		*e = ovPathEntry{path: path, node: n, epoch: o.epoch}
	}
	return n
}

// at returns the present, live node at the dotted path (noNode if none),
// and whether the record's value at the path is hidden from the document:
// by a deleted node on the way, or by a value set where the record has an
// object.
func (o *Overlay) at(path string) (node int32, hidden bool) {
	n := o.root()
	for {
		seg, rest, more := strings.Cut(path, ".")
		live := int32(noNode)
		for c := o.nodes[n].first; c != noNode; c = o.nodes[c].next {
			nd := &o.nodes[c]
			if !nd.present || nd.key != seg {
				continue
			}
			if nd.deleted {
				hidden = true
				continue
			}
			live = c
		}
		if live == noNode || !more {
			return live, hidden
		}
		if o.nodes[live].val != noNode {
			return noNode, true
		}
		n, path = live, rest
	}
}

// setVal makes node n hold buf[start:] as its value.
func (o *Overlay) setVal(n, start int32) {
	nd := &o.nodes[n]
	if nd.first != noNode {
		o.reshape() // its children are cut off
	}
	nd.val, nd.end = start, int32(len(o.buf))
	nd.first, nd.last = noNode, noNode
	o.markPresent(n)
}

// putRaw, putString and putStrings set node n's value.
func (o *Overlay) putRaw(n int32, encoded []byte) {
	start := int32(len(o.buf))
	o.buf = append(o.buf, encoded...)
	o.setVal(n, start)
}

func putString[T ~string | ~[]byte](o *Overlay, n int32, s T) {
	start := int32(len(o.buf))
	o.buf = appendQuoted(o.buf, s)
	o.setVal(n, start)
}

// putPlain is putString for a string known to need no escapes.
func putPlain(o *Overlay, n int32, s []byte) {
	start := int32(len(o.buf))
	o.buf = append(o.buf, '"')
	o.buf = append(o.buf, s...)
	o.buf = append(o.buf, '"')
	o.setVal(n, start)
}

func putStrings[T ~string | ~[]byte](o *Overlay, n int32, vs []T) {
	start := int32(len(o.buf))
	o.buf = append(o.buf, '[')
	for i, s := range vs {
		if i > 0 {
			o.buf = append(o.buf, ',')
		}
		o.buf = appendQuoted(o.buf, s)
	}
	o.buf = append(o.buf, ']')
	o.setVal(n, start)
}

// SetRaw sets the field at the dotted path to an already encoded JSON value.
func (o *Overlay) SetRaw(path string, encoded []byte) { o.putRaw(o.nodeFor(path), encoded) }

// SetString sets the field at path to the string s.
func (o *Overlay) SetString(path, s string) { putString(o, o.nodeFor(path), s) }

// SetInt sets the field at path to the integer v.
func (o *Overlay) SetInt(path string, v int64) {
	n := o.nodeFor(path)
	start := int32(len(o.buf))
	o.buf = strconv.AppendInt(o.buf, v, 10)
	o.setVal(n, start)
}

// SetStrings sets the field at path to a list of strings.
func (o *Overlay) SetStrings(path string, vs []string) { putStrings(o, o.nodeFor(path), vs) }

// Delete removes the field (or object) at the dotted path, from the
// overlay and from the written document: a raw field at the same path is
// hidden too. Setting the path again afterwards adds a new field.
func (o *Overlay) Delete(path string) {
	n := o.nodeFor(path)
	o.reshape()
	o.nodes[n].deleted = true
	o.markPresent(n)
}

// slotClean reports whether template node n stands for its dotted path:
// neither it nor an ancestor is deleted, and every ancestor is an object.
// Then a lookup of the path finds n when it is present, and setting the
// path sets n.
func (o *Overlay) slotClean(n int32) bool {
	if o.nodes[n].deleted {
		return false
	}
	for p := o.nodes[n].parent; p != noNode; p = o.nodes[p].parent {
		if o.nodes[p].deleted || o.nodes[p].val != noNode {
			return false
		}
	}
	return true
}

// slotHas, slotRaw and slotSetString are Has, Raw and SetString of path,
// answered through template node n when clean (slotClean holds for it).
func (o *Overlay) slotHas(clean bool, n int32, path string) bool {
	if clean {
		return o.nodes[n].present
	}
	return o.Has(path)
}

func (o *Overlay) slotRaw(clean bool, n int32, path string) []byte {
	if !clean {
		return o.Raw(path)
	}
	nd := &o.nodes[n]
	if !nd.present || nd.val == noNode {
		return nil
	}
	return o.buf[nd.val:nd.end]
}

func (o *Overlay) slotSetString(clean bool, n int32, path, s string) {
	if clean {
		o.putConst(n, s)
	} else {
		o.SetString(path, s)
	}
}

// Has reports whether a field or object exists at the dotted path.
func (o *Overlay) Has(path string) bool {
	return o.lookup(path) != noNode
}

// Raw returns the encoded JSON value at path, or nil when the path is absent
// or is an object. The slice is valid until the overlay changes.
func (o *Overlay) Raw(path string) []byte {
	n := o.lookup(path)
	if n == noNode || o.nodes[n].val == noNode {
		return nil
	}
	return o.buf[o.nodes[n].val:o.nodes[n].end]
}

// String returns the value at path as a string: a JSON string is unquoted,
// a number or literal is returned as written. Absent fields give "".
func (o *Overlay) String(path string) string {
	return unquoteLoose(o.Raw(path))
}

// View is String without a copy when the value has no escapes: the
// string shares the overlay's memory, so it is valid only until the
// overlay changes or the record ends.
func (o *Overlay) View(path string) string {
	raw := o.Raw(path)
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		raw = raw[1 : len(raw)-1]
		return unsafe.String(unsafe.SliceData(raw), len(raw))
	}
	return unquoteLoose(raw)
}

// unquoteLoose decodes an encoded JSON scalar to its string form.
func unquoteLoose(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	if raw[0] != '"' {
		return string(raw)
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	if s, err := strconv.Unquote(string(raw)); err == nil {
		return s
	}
	return string(raw[1 : len(raw)-1])
}

const hexDigits = "0123456789abcdef"

// Swap exchanges the fields (or objects) at two dotted paths that share a
// parent, e.g. "source" and "destination". A side that is absent makes the
// other side move.
func (o *Overlay) Swap(a, b string) {
	// Absent template nodes move too, so that neither name is found twice.
	na, nb := o.resolve(a), o.resolve(b)
	o.reshape()
	ka, kb := lastSegment(a), lastSegment(b)
	if na != noNode && nb != noNode {
		o.nodes[na].key, o.nodes[nb].key = o.nodes[nb].key, o.nodes[na].key
		o.nodes[na].qkey, o.nodes[nb].qkey = o.nodes[nb].qkey, o.nodes[na].qkey
		return
	}
	if na != noNode {
		o.nodes[na].key, o.nodes[na].qkey = kb, quotedKey(kb)
		o.nodes[o.nodes[na].parent].keyMask |= keyBit(kb)
	}
	if nb != noNode {
		o.nodes[nb].key, o.nodes[nb].qkey = ka, quotedKey(ka)
		o.nodes[o.nodes[nb].parent].keyMask |= keyBit(ka)
	}
}

// findPath returns the node at the dotted path, present or not.
func (o *Overlay) findPath(path string) int32 {
	n := o.root()
	for {
		seg, rest, more := strings.Cut(path, ".")
		n = o.find(n, seg)
		if n == noNode || !more {
			return n
		}
		path = rest
	}
}

func lastSegment(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// SetKey sets the key (which may contain dots) of the object at the dotted
// path parent to an encoded JSON value.
func (o *Overlay) SetKey(parent, key string, encoded []byte) {
	p := o.nodeFor(parent)
	c := o.find(p, key)
	if c == noNode {
		c = o.addChild(p, key)
	}
	o.putRaw(c, encoded)
}

// DeleteKey hides the key (which may contain dots) of the object at the
// dotted path parent.
func (o *Overlay) DeleteKey(parent, key string) {
	p := o.nodeFor(parent)
	o.reshape()
	c := o.find(p, key)
	if c == noNode {
		c = o.addChild(p, key)
	}
	o.nodes[c].deleted = true
	o.markPresent(c)
}
