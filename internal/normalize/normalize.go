// Package normalize turns one parsed record into the document es-loader
// would produce for it: the raw fields without empty values, @-fields,
// @timestamp, the ECS mapping of the log type, the log type's own transform,
// the deterministic document id and the rotated index name.
package normalize

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
)

// ErrNoTimestamp means the record lacks every configured timestamp field.
var ErrNoTimestamp = errors.New("record has no timestamp")

// Script is a log type's own transform (es-loader's sf_<type>.py). It runs
// after the generic ECS mapping and may read and change the document.
type Script interface {
	Transform(d *Doc) error
}

// ScriptFunc adapts a function to Script.
type ScriptFunc func(d *Doc) error

// Transform calls f.
func (f ScriptFunc) Transform(d *Doc) error { return f(d) }

// Enricher adds fields derived from a document's values (GeoIP, ...) after
// the log type's transform, as es-loader's enrich step does. One Enricher
// serves every normalizer of a pipeline, so it must be safe for concurrent
// use.
type Enricher interface {
	// Prepare is called once per normalizer and log type. It returns the
	// function that enriches each document of the type (nil when the type
	// needs none) and the record paths that function reads with Doc.Value
	// (or Str, Has, Kind, Raw), which are then found in the single pass over
	// the record instead of by parsing it. The function is only called from
	// that normalizer's goroutine, so it may keep state (a cache) without
	// locks.
	Prepare(t *logtype.Type) (enrich func(d *Doc) error, paths []string)
}

// Option is an optional setting of New.
type Option func(*Normalizer)

// WithEnrichers adds enrichment steps, which run in the order given. Nil
// ones are left out, so a step that is not configured costs nothing.
func WithEnrichers(es ...Enricher) Option {
	return func(n *Normalizer) {
		for _, e := range es {
			if e != nil {
				n.enrichers = append(n.enrichers, e)
			}
		}
	}
}

// Doc is the document being built for one record. Transforms read the
// original record with Str, Has, Kind and Raw (answered from the single pass
// over the record for the paths the transform declares, see PathsScript)
// or Get (a parse of the whole record, made on first use), and write added
// fields through ECS.
type Doc struct {
	// Type is the record's log type.
	Type *logtype.Type
	// Origin is where the record came from.
	Origin *event.Origin
	// ECS holds every field added to the record; it wins over the record.
	ECS *Overlay
	// Timestamp is the parsed @timestamp.
	Timestamp time.Time
	// IDSuffix, when set by a transform, is appended to @id as "<id>_<suffix>".
	IDSuffix string
	// Index, when set by a transform, replaces the type's index name
	// (before rotation).
	Index string
	// IndexTime, when set by a transform, is the time used for rotation.
	IndexTime time.Time

	n *Normalizer
}

// PathsScript is a Script that declares the record paths it reads with
// Str, Has, Kind and Raw, so they are found in the same pass that writes
// the document instead of by parsing the record.
type PathsScript interface {
	Script
	Paths() []string
}

// Kind is the JSON type of a value in the record.
type Kind byte

// Kinds of values; KindMissing when the path does not exist.
const (
	KindMissing Kind = 0
	KindNull    Kind = 'n'
	KindBool    Kind = 'b'
	KindNumber  Kind = '0'
	KindString  Kind = '"'
	KindObject  Kind = '{'
	KindArray   Kind = '['
)

// Get returns the record's value at a dotted path ("a.b.0.c"; a numeric
// part indexes a list), or nil. The value is valid until the next call of
// Get. A path the transform declares (PathsScript) is parsed alone;
// another makes the first such call parse the whole record.
func (d *Doc) Get(path string) *fastjson.Value {
	n := d.n
	if sp, ok := n.spanOf(path); ok {
		if sp.start < 0 {
			return nil
		}
		v, err := n.getp.ParseBytes(n.raw[sp.start:sp.end])
		if err != nil {
			return nil
		}
		return v
	}
	return Lookup(n.tree(), path)
}

// Str returns the value at path in string form: strings unescaped, numbers
// and booleans as written, objects and lists as JSON; "" if absent or null.
func (d *Doc) Str(path string) string {
	if sp, ok := d.n.spanOf(path); ok {
		return d.n.spanText(sp)
	}
	return ValueString(d.Get(path))
}

// View is Str without a copy: the string shares the record's memory, so
// it is valid only while the transform runs. Keep a copy
// (strings.Clone) of anything that must outlive it.
func (d *Doc) View(path string) string {
	if sp, ok := d.n.spanOf(path); ok {
		return d.n.spanView(sp)
	}
	return ValueString(d.Get(path))
}

// Has reports whether the path exists in the record, even with null.
func (d *Doc) Has(path string) bool { return d.Kind(path) != KindMissing }

// Kind returns the JSON type of the value at path.
func (d *Doc) Kind(path string) Kind {
	if sp, ok := d.n.spanOf(path); ok {
		return d.n.spanKind(sp)
	}
	v := d.Get(path)
	if v == nil {
		return KindMissing
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return KindNull
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return KindBool
	case fastjson.TypeNumber:
		return KindNumber
	case fastjson.TypeString:
		return KindString
	case fastjson.TypeObject:
		return KindObject
	}
	return KindArray
}

// Raw returns the JSON text of the value at path, or nil.
func (d *Doc) Raw(path string) []byte {
	if sp, ok := d.n.spanOf(path); ok {
		if sp.start < 0 {
			return nil
		}
		return d.n.raw[sp.start:sp.end]
	}
	v := d.Get(path)
	if v == nil {
		return nil
	}
	return v.MarshalTo(nil)
}

// Value returns the document's value at a dotted path as it stands at this
// step: the field that mapping, the transform or an earlier enricher set,
// else the record's own unless an added field hides it. A string comes
// unquoted, anything else as its JSON text, except an object built field by
// field, which comes as nil with KindObject. The slice is valid until the
// document changes. Enrichers read the paths they declare without a parse
// of the record.
func (d *Doc) Value(path string) ([]byte, Kind) {
	c, hidden := d.ECS.at(path)
	if c != noNode {
		nd := &d.ECS.nodes[c]
		if nd.val == noNode {
			return nil, KindObject
		}
		v := d.ECS.buf[nd.val:nd.end]
		switch v[0] {
		case '"':
			if bytes.IndexByte(v, '\\') < 0 {
				return v[1 : len(v)-1], KindString
			}
			var s string
			if json.Unmarshal(v, &s) != nil {
				return v[1 : len(v)-1], KindString
			}
			return []byte(s), KindString
		case 'n':
			return nil, KindNull
		case 't', 'f':
			return v, KindBool
		case '{', '[':
			return v, Kind(v[0])
		}
		return v, KindNumber
	}
	if hidden {
		return nil, KindMissing
	}
	if sp, ok := d.n.spanOf(path); ok {
		switch k := d.n.spanKind(sp); k {
		case KindMissing, KindNull:
			return nil, k
		case KindString:
			return d.n.spanString(sp), k
		default:
			return d.n.raw[sp.start:sp.end], k
		}
	}
	v := d.Get(path)
	if v == nil {
		return nil, KindMissing
	}
	switch k := d.Kind(path); k {
	case KindNull:
		return nil, k
	case KindString:
		return v.GetStringBytes(), k
	default:
		return v.MarshalTo(nil), k
	}
}

// Lookup walks a dotted path through objects and lists.
func Lookup(v *fastjson.Value, path string) *fastjson.Value {
	for v != nil {
		seg, rest, more := strings.Cut(path, ".")
		v = step(v, seg)
		if !more {
			return v
		}
		path = rest
	}
	return nil
}

// step descends one path segment: an object key or a list index.
func step(v *fastjson.Value, seg string) *fastjson.Value {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return o.Get(seg)
	case fastjson.TypeArray:
		n, err := strconv.Atoi(seg)
		a, _ := v.Array()
		if err != nil || n < 0 || n >= len(a) {
			return nil
		}
		return a[n]
	default:
		return nil
	}
}

// ValueString renders a value the way it reads as text.
func ValueString(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNull:
		return ""
	default:
		return string(v.MarshalTo(nil))
	}
}

// Normalizer builds documents. It keeps per-record scratch memory and is
// not safe for concurrent use: create one per worker.
type Normalizer struct {
	scripts   map[string]Script
	now       func() time.Time
	enrichers []Enricher

	sc      scanner
	raw     []byte // the record being normalized
	parsed  *fastjson.Value
	parser  fastjson.Parser // the whole record, for Doc.Get
	sub     fastjson.Parser // one value at a time (json_to_text, repr)
	getp    fastjson.Parser // the value Doc.Get returns, at a declared path
	ov      Overlay
	w       docWriter
	scratch []byte
	strs    [][]byte
	doc     Doc
	plan    *typePlan
	plans   map[*logtype.Type]*typePlan
	tsBuf   []byte
	// flatBuf holds the JSON text of a record given as Header and Values,
	// flatEnds where each of its fields ends.
	flatBuf  []byte
	flatEnds []int32
	// membersOK says the scanner's members describe the last document.
	membersOK bool
	// clockAt is the last reading of the clock, for clockLeft more
	// records.
	clockAt   time.Time
	clockLeft int
	// ingestedAt and ingested cache event.ingested per millisecond.
	ingestedAt int64
	ingested   string
	// idxBuf and idxName cache the last index name.
	idxBuf  []byte
	idxName string
	// key caches what the object key says (records of one object share it).
	key keyInfo
}

// typePlan is a log type's work prepared once: the overlay template with a
// slot for every field the type sets, and the trie of every record path the
// type reads (ECS sources, timestamp, ids, json_to_text, the transform's
// declared paths), whose values the scanner records in one pass.
type typePlan struct {
	ecs      []fieldPlan
	prefixes []prefixNode
	index    map[string]int32
	// tmpl is the overlay shape of the type; the slots are its nodes for
	// the fields every document gets.
	tmpl                                                     []onode
	message, timestamp, logType, bucket, key, module, ingest int32
	id, ecsVersion, provider                                 int32
	cloudSlot, acctSlot, regionSlot                          int32
	static                                                   []int32
	// Trie nodes of the paths normalization itself reads.
	jsonToText                      []int32
	timestampKeys                   []int32
	docID, docIDSuffix              int32
	cloud, cloudProvider, cloudAcct int32
	cloudRegion, detail, detailType int32
	renamed                         []int32
	// enrich are the enrichment steps of the type.
	enrich []func(d *Doc) error
	// pathCache speeds up pathIndex.
	pathCache [pathCacheSize]pathCacheEntry
}

// prefixNode is one path prefix: its parent prefix (-1 for the record
// itself, node 0), its last segment and its children.
type prefixNode struct {
	parent int32
	seg    string
	// kids are ordered by the keyBit of their segment; the kids whose
	// bit is the r-th set bit of kidMask are kids[starts[r]:starts[r+1]].
	kids    []int32
	kidSegs []string // the kids' segments, in the same order
	starts  []int32
	kidMask uint64
	indexed bool // some child is a list index
}

// bitIndex is the position of a segment's keyBit.
func bitIndex(seg string) int { return bits.TrailingZeros64(keyBit(seg)) }

// fieldPlan is one ECS field with its sources as prefix indexes. A non-list
// field has one group of alternatives; a list field has a group per source.
type fieldPlan struct {
	name              string
	list, ip, numeric bool
	sources           [][]int32
	slot              int32 // the field's node in the template
}

// prefixIndex returns the trie node of a dotted path, adding it if new.
func (p *typePlan) prefixIndex(path string) int32 {
	if idx, ok := p.index[path]; ok {
		return idx
	}
	parent := int32(0)
	seg := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent = p.prefixIndex(path[:i])
		seg = path[i+1:]
	}
	idx := int32(len(p.prefixes))
	p.prefixes = append(p.prefixes, prefixNode{parent: parent, seg: seg})
	pp := &p.prefixes[parent]
	pp.kids = append(pp.kids, idx)
	pp.kidMask |= keyBit(seg)
	slices.SortStableFunc(pp.kids, func(a, b int32) int {
		return bitIndex(p.prefixes[a].seg) - bitIndex(p.prefixes[b].seg)
	})
	pp.kidSegs = pp.kidSegs[:0]
	for _, kid := range pp.kids {
		pp.kidSegs = append(pp.kidSegs, p.prefixes[kid].seg)
	}
	pp.starts = pp.starts[:0]
	for k, kid := range pp.kids {
		if k == 0 || bitIndex(p.prefixes[kid].seg) != bitIndex(p.prefixes[pp.kids[k-1]].seg) {
			pp.starts = append(pp.starts, int32(k))
		}
	}
	pp.starts = append(pp.starts, int32(len(pp.kids)))
	if seg != "" && isDigits(seg) {
		pp.indexed = true
	}
	p.index[path] = idx
	return idx
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// plan returns the prepared work of t, building it on first use.
func (n *Normalizer) planFor(t *logtype.Type) *typePlan {
	if p := n.plans[t]; p != nil {
		return p
	}
	p := &typePlan{index: map[string]int32{}}
	p.prefixes = append(p.prefixes, prefixNode{parent: -1})
	p.index[""] = 0
	var tmpl Overlay
	tmpl.Reset()
	for _, s := range []struct {
		slot *int32
		path string
	}{
		{&p.message, "@message"}, {&p.timestamp, "@timestamp"}, {&p.logType, "@log_type"},
		{&p.bucket, "@log_s3bucket"}, {&p.key, "@log_s3key"}, {&p.module, "event.module"},
		{&p.ingest, "event.ingested"}, {&p.id, "@id"}, {&p.ecsVersion, "ecs.version"},
		{&p.provider, "cloud.provider"},
	} {
		*s.slot = tmpl.nodeFor(s.path)
	}
	// A renamed field is read under its new name from where it was.
	for _, r := range t.RenamedNewFields {
		p.renamed = append(p.renamed, p.prefixIndex(r.Old))
		p.index[r.New] = p.prefixIndex(r.Old)
	}
	for _, f := range t.ECS {
		fp := fieldPlan{name: f.Name, list: f.List, ip: isIPField(f.Name), numeric: IsNumericField(f.Name), slot: tmpl.nodeFor(f.Name)}
		if f.List {
			for i := range f.Sources {
				var alts []int32
				for _, c := range f.Candidates(i) {
					alts = append(alts, p.prefixIndex(c))
				}
				fp.sources = append(fp.sources, alts)
			}
		} else {
			var alts []int32
			for _, src := range f.Sources {
				alts = append(alts, p.prefixIndex(src))
			}
			fp.sources = [][]int32{alts}
		}
		p.ecs = append(p.ecs, fp)
	}
	for _, sf := range t.StaticECS {
		p.static = append(p.static, tmpl.nodeFor(sf.Name))
	}
	p.acctSlot = tmpl.nodeFor("cloud.account.id")
	p.regionSlot = tmpl.nodeFor("cloud.region")
	p.cloudSlot = tmpl.nodes[p.regionSlot].parent
	for _, path := range t.JSONToText {
		p.jsonToText = append(p.jsonToText, p.prefixIndex(path))
	}
	keys := t.TimestampKeyList
	if len(keys) == 0 && t.TimestampKey != "" {
		keys = []string{t.TimestampKey}
	}
	if len(keys) == 0 {
		keys = []string{"@timestamp"}
	}
	for _, k := range keys {
		p.timestampKeys = append(p.timestampKeys, p.prefixIndex(k))
	}
	p.docID, p.docIDSuffix = -1, -1
	if t.DocID != "" {
		p.docID = p.prefixIndex(t.DocID)
	}
	if t.DocIDSuffix != "" {
		p.docIDSuffix = p.prefixIndex(t.DocIDSuffix)
	}
	p.cloud = p.prefixIndex("cloud")
	p.cloudProvider = p.prefixIndex("cloud.provider")
	p.cloudAcct = p.prefixIndex("cloud.account.id")
	p.cloudRegion = p.prefixIndex("cloud.region")
	p.detail = p.prefixIndex("detail")
	p.detailType = p.prefixIndex("detail-type")
	if ps, ok := n.scripts[t.Name].(PathsScript); ok {
		for _, path := range ps.Paths() {
			p.prefixIndex(path)
		}
	}
	for _, e := range n.enrichers {
		fn, paths := e.Prepare(t)
		if fn == nil {
			continue
		}
		p.enrich = append(p.enrich, fn)
		for _, path := range paths {
			p.prefixIndex(path)
		}
	}
	p.tmpl = tmpl.template()
	if n.plans == nil {
		n.plans = map[*logtype.Type]*typePlan{}
	}
	n.plans[t] = p
	return p
}

// New returns a normalizer using the given per-type scripts (keyed by log
// type name). now (nil: time.Now) gives event.ingested.
func New(scripts map[string]Script, now func() time.Time, opts ...Option) *Normalizer {
	if now == nil {
		now = time.Now
	}
	n := &Normalizer{scripts: scripts, now: now}
	for _, o := range opts {
		o(n)
	}
	n.w.ov = &n.ov
	n.doc.n = n
	return n
}

// Input is one parsed record.
type Input struct {
	Type   *logtype.Type
	Origin *event.Origin
	// RawJSON is the record as a JSON object: the original text for JSON
	// formats, the parsed fields for text formats. Invalid UTF-8 is
	// replaced by U+FFFD.
	RawJSON []byte
	// Header and Values, when Header is set, give the record instead of
	// RawJSON as string fields (a CSV line): Values[i] is the field
	// Header names i. Message must be set with them.
	Header *Header
	Values [][]byte
	// Message is @message: the raw line for text formats, or nil to use
	// the Python-style serialization of RawJSON.
	Message []byte
	// Head, when set, is called once just before the document is written,
	// with its meta, to append what goes before it (such as an NDJSON
	// line's "_index" and "_id"). The document then starts where Head's
	// output ends.
	Head func(dst []byte, m Meta) []byte
	// Prefix says RawJSON starts with the record's object and may go on
	// after it (the rest of a framer's buffer): Normalize finds where the
	// object ends (Meta.End, set whenever the object was found, even when
	// a later step fails) and returns ErrUnframed, having written nothing,
	// when RawJSON does not start with one complete object that a JSON
	// framer would accept (it may be cut off, or be malformed): the caller
	// then frames the record itself.
	Prefix bool
}

// ErrUnframed is returned for an Input with Prefix set whose RawJSON does
// not start with a complete, valid JSON object.
var ErrUnframed = errors.New("normalize: no complete JSON object at the start of the input")

// spanOf returns the recorded span of a path the plan knows.
func (n *Normalizer) spanOf(path string) (span, bool) {
	idx, ok := n.plan.pathIndex(path)
	if !ok {
		return span{}, false
	}
	return n.sc.spans[idx], true
}

// pathCacheSize is the number of entries of a plan's path cache.
const pathCacheSize = 256

// pathCacheEntry remembers the trie node of a path string by the address
// and length of its bytes: transforms ask for the same literal strings for
// every record. The entry holds the string, so its bytes stay where they
// are and unchanged: the same address and length mean the same path.
type pathCacheEntry struct {
	path string
	idx  int32
	ok   bool
}

// pathIndex returns the trie node of a dotted path the plan records, as
// index does, answering repeated questions with the same string from a
// small cache keyed by the string's address.
func (p *typePlan) pathIndex(path string) (int32, bool) {
	data := unsafe.StringData(path)
	e := &p.pathCache[addrSlot(data, len(path), pathCacheSize)]
	if unsafe.StringData(e.path) == data && len(e.path) == len(path) && data != nil {
		return e.idx, e.ok
	}
	idx, ok := p.index[path]
	*e = pathCacheEntry{path: path, idx: idx, ok: ok}
	return idx, ok
}

// sp returns the span of trie node idx (absent when idx < 0).
func (n *Normalizer) sp(idx int32) span {
	if idx < 0 {
		return span{start: -1, end: -1}
	}
	return n.sc.spans[idx]
}

// spanKind returns the JSON type of the value at sp.
func (n *Normalizer) spanKind(sp span) Kind {
	if sp.start < 0 {
		return KindMissing
	}
	switch c := n.raw[sp.start]; c {
	case 'n':
		return KindNull
	case 't', 'f':
		return KindBool
	case '"', '{', '[':
		return Kind(c)
	}
	return KindNumber
}

// spanString returns a string value's content, unescaped (aliasing the
// record when it has no escapes), or nil for other kinds.
func (n *Normalizer) spanString(sp span) []byte {
	if sp.start < 0 || n.raw[sp.start] != '"' {
		return nil
	}
	b := n.raw[sp.start+1 : sp.end-1]
	if bytes.IndexByte(b, '\\') < 0 {
		return b
	}
	var s string
	if json.Unmarshal(n.raw[sp.start:sp.end], &s) != nil {
		return b
	}
	return []byte(s)
}

// spanText is the value at sp as text: strings unescaped, null and absent
// as "", anything else as written.
func (n *Normalizer) spanText(sp span) string {
	switch n.spanKind(sp) {
	case KindMissing, KindNull:
		return ""
	case KindString:
		return string(n.spanString(sp))
	}
	return string(n.raw[sp.start:sp.end])
}

// spanView is spanText sharing the record's memory where it can: valid
// until the next record.
func (n *Normalizer) spanView(sp span) string {
	var b []byte
	switch n.spanKind(sp) {
	case KindMissing, KindNull:
		return ""
	case KindString:
		b = n.spanString(sp)
	default:
		b = n.raw[sp.start:sp.end]
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// present is es-loader's "found": not missing, not null and not "".
func (n *Normalizer) present(sp span) bool {
	switch n.spanKind(sp) {
	case KindMissing, KindNull:
		return false
	case KindString:
		return sp.end-sp.start > 2
	}
	return true
}

// truthy is Python truthiness of the value at sp.
func (n *Normalizer) truthy(sp span) bool {
	switch n.spanKind(sp) {
	case KindMissing, KindNull:
		return false
	case KindBool:
		return n.raw[sp.start] == 't'
	case KindString:
		return sp.end-sp.start > 2
	case KindNumber:
		// Without an exponent, zero only when every digit is 0; with one,
		// a value may round to zero (1e-400), as Python reads it.
		text := n.raw[sp.start:sp.end]
		nonzero := false
		for _, c := range text {
			if c == 'e' || c == 'E' {
				f, err := strconv.ParseFloat(string(text), 64)
				return err != nil || f != 0
			}
			nonzero = nonzero || c >= '1' && c <= '9'
		}
		return nonzero
	}
	// An object or list is true unless empty.
	return n.raw[skipWS(n.raw, int(sp.start)+1)] != n.raw[sp.end-1]
}

// tree parses the whole record for Doc.Get, once per record.
func (n *Normalizer) tree() *fastjson.Value {
	if n.parsed == nil {
		v, err := n.parser.ParseBytes(n.raw)
		if err != nil {
			return nil
		}
		n.parsed = v
	}
	return n.parsed
}

// subValue parses the value at sp alone; valid until the next call.
func (n *Normalizer) subValue(sp span) *fastjson.Value {
	v, err := n.sub.ParseBytes(n.raw[sp.start:sp.end])
	if err != nil {
		return nil
	}
	return v
}

// Normalize appends the record's document (_source) to dst and returns it
// with the document's index, id and timestamp.
func (n *Normalizer) Normalize(dst []byte, in Input) ([]byte, Meta, error) {
	t := in.Type
	plan := n.planFor(t)
	n.plan = plan
	n.ov.resetFrom(plan.tmpl)
	n.parsed = nil
	ov := &n.ov

	// One pass: document without empty values, @message, lookup spans.
	pyOn := in.Message == nil
	raw := in.RawJSON
	var err error
	var end int
	flat, plainLine := false, false
	if in.Header != nil {
		if len(in.Values) != in.Header.Len() {
			return dst, Meta{}, fmt.Errorf("record has %d fields, the header %d", len(in.Values), in.Header.Len())
		}
		plainLine = plainValues(in.Message, in.Values)
		raw, flat = n.flat(in.Header, in.Values, plan, plainLine)
		end = len(raw)
		pyOn = false
	}
	if !flat {
		ov.buf, end, err = n.sc.scanPrefix(raw, plan, ov.buf, pyOn, in.Prefix)
	}
	if in.Prefix {
		if err != nil {
			return dst, Meta{}, ErrUnframed
		}
		raw = raw[:end]
	}
	if err == nil && n.sc.spans[plan.detailType].start >= 0 && n.sc.spans[plan.detail].start >= 0 &&
		raw[n.sc.spans[plan.detail].start] == '{' {
		// An EventBridge event carries the record in detail.
		d := n.sc.spans[plan.detail]
		raw = append([]byte(nil), raw[d.start:d.end]...)
		ov.buf = ov.buf[:0]
		ov.buf, err = n.sc.scan(raw, plan, ov.buf, pyOn)
	}
	if err != nil {
		if te := (*TrailingError)(nil); errors.As(err, &te) {
			return dst, Meta{}, err
		}
		return dst, Meta{}, describeSyntax(raw, err)
	}
	n.raw = raw
	switch {
	case pyOn:
		ov.setVal(plan.message, 0)
	case plainLine:
		putPlain(ov, plan.message, in.Message)
	default:
		putString(ov, plan.message, in.Message)
	}

	d := &n.doc
	*d = Doc{Type: t, Origin: in.Origin, ECS: ov, n: n}
	n.renameFields(d, plan)

	ts, err := n.timestamp(d, plan)
	if err != nil {
		return dst, Meta{End: end}, err
	}
	d.Timestamp = ts
	ingested := n.clock()

	n.tsBuf = AppendISOFormat(n.tsBuf[:0], ts)
	putString(ov, plan.timestamp, n.tsBuf)
	ov.putConst(plan.logType, t.Name)
	ov.putConst(plan.bucket, in.Origin.Bucket)
	ov.putConst(plan.key, in.Origin.Key)
	ov.putConst(plan.module, t.Name)
	ov.putConst(plan.ingest, n.ingestedText(ingested))
	// id shares the record's memory until docID, the copy kept, is made.
	var id string
	shared := false
	if plan.docID >= 0 {
		id = n.spanView(n.sp(plan.docID))
		shared = id != ""
	}
	if id == "" {
		msg := in.Message
		if msg == nil {
			n.scratch, _ = AppendPythonJSON(n.scratch[:0], raw)
			msg = n.scratch
		}
		sum := md5.Sum(msg)
		id = hex.EncodeToString(sum[:])
	}
	putString(ov, plan.id, id)

	n.jsonToText(d, plan)
	n.mapECS(d, plan)
	if s := n.scripts[t.Name]; s != nil && len(t.ScriptECS) > 0 {
		if err := s.Transform(d); err != nil {
			return dst, Meta{End: end}, fmt.Errorf("%s transform: %w", t.Name, err)
		}
	}
	for _, enrich := range plan.enrich {
		if err := enrich(d); err != nil {
			return dst, Meta{End: end}, fmt.Errorf("%s enrichment: %w", t.Name, err)
		}
	}

	docID := ""
	if d.IDSuffix != "" {
		docID = id + "_" + d.IDSuffix
	} else if sp := n.sp(plan.docIDSuffix); n.truthy(sp) {
		switch n.spanKind(sp) {
		case KindNumber:
			text := n.raw[sp.start:sp.end]
			var nb [32]byte
			docID = id + "_" + string(appendPyNumber(nb[:0], text, bytes.ContainsAny(text, ".eE")))
		case KindString:
			docID = id + "_" + n.spanView(sp)
		default:
			if v := n.subValue(sp); v != nil {
				docID = id + "_" + pyStr(v)
			}
		}
	}
	switch {
	case docID != "":
	case shared:
		docID = strings.Clone(id)
	default:
		docID = id
	}
	meta := Meta{ID: docID, Index: n.indexName(d, ingested), TimestampMs: ts.UnixMilli(), End: end}
	if len(n.ov.nodes) > len(plan.tmpl) && len(n.ov.nodes) <= maxTemplateNodes {
		// Fields the transform added become slots of the template, so the
		// next record finds them without allocating.
		t := n.ov.template()
		for i, old := range plan.tmpl {
			// Keep the names the record may have swapped.
			t[i].key, t[i].qkey = old.key, old.qkey
		}
		plan.tmpl = t
	}
	start := len(dst)
	if in.Head != nil {
		dst = in.Head(dst, meta)
	}
	body := len(dst)
	n.membersOK = false
	if dst, ok := n.assemble(dst); ok {
		return dst, meta, nil
	}
	// The added fields reach into the record's own objects: merge them
	// while copying the record once more.
	dst, err = n.w.writeRaw(dst[:body], raw)
	if errors.Is(err, errRawShape) {
		// Control characters inside strings: escape them and try again.
		dst, err = n.w.writeRaw(dst[:body], escapeControls(raw))
	}
	if err != nil {
		return dst[:start], Meta{End: end}, fmt.Errorf("record is not valid JSON: %w", err)
	}
	return dst, meta, nil
}

// RecordMembers makes Normalize note where the members of each
// document's top-level object are, for Members.
func (n *Normalizer) RecordMembers(on bool) { n.sc.recMembers = on }

// Members returns, after a successful Normalize with RecordMembers on,
// four offsets into the document per member of its top-level object, in
// order: where the key starts and ends (inside its quotes; the key is
// written without escapes) and where the value starts and ends. It
// returns nil when they are not known (the document was merged the slow
// way, or a key needed escapes). The slice is valid until the next
// Normalize.
func (n *Normalizer) Members() []int32 {
	if !n.membersOK || !n.sc.recMembers {
		return nil
	}
	return n.sc.members
}

// describeSyntax turns a scan failure into a precise message: where the
// JSON breaks and why.
func describeSyntax(raw []byte, err error) error {
	var m json.RawMessage
	var se *json.SyntaxError
	if jerr := json.Unmarshal(raw, &m); errors.As(jerr, &se) {
		return &SyntaxError{Offset: se.Offset, Msg: se.Error()}
	}
	return &SyntaxError{Offset: -1, Msg: err.Error()}
}

// SyntaxError is a record that is not valid JSON. It matches ErrSyntax
// with errors.Is.
type SyntaxError struct {
	// Offset is the byte where the JSON breaks, or -1 when unknown.
	Offset int64
	// Msg says why.
	Msg string
	// Line, when set by the caller, is the line of the record.
	Line int
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString("JSON syntax error")
	sep := " at "
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d", e.Line)
		sep = ", "
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "%sbyte %d", sep, e.Offset)
	}
	return b.String() + ": " + e.Msg
}

// Is makes a SyntaxError match ErrSyntax.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// assemble writes the document from the scanned record and the overlay
// when no added field shares a top-level key with the record (the usual
// case); otherwise it reports false.
func (n *Normalizer) assemble(dst []byte) ([]byte, bool) {
	ov := &n.ov
	sc := &n.sc
	if sc.topEsc {
		return dst, false // compare escaped keys the slow way
	}
	for c := ov.nodes[0].first; c != noNode; c = ov.nodes[c].next {
		nd := &ov.nodes[c]
		if !nd.present || sc.topMask&keyBit(nd.key) == 0 {
			continue
		}
		for _, k := range sc.top {
			if string(n.raw[k.start:k.end]) == nd.key {
				return dst, false
			}
		}
	}
	kept := 0
	base := len(dst)
	if len(sc.doc) > 0 {
		dst = append(dst, sc.doc[:len(sc.doc)-1]...)
		kept = 1
	} else {
		dst = append(dst, '{')
	}
	if sc.recMembers {
		n.w.members, n.w.base, n.w.membersOK = &sc.members, base, true
	}
	dst, _ = n.w.overlayAll(dst, 0, kept, sc.recMembers)
	if sc.recMembers {
		n.w.members = nil
		n.membersOK = n.w.membersOK
	}
	return append(dst, '}'), true
}

// maxTemplateNodes bounds how far a type's overlay template grows from the
// fields its transform adds.
const maxTemplateNodes = 512

// Meta is what a sink needs besides the document body.
type Meta struct {
	Index       string
	ID          string
	TimestampMs int64
	// End is the length of the record in Input.RawJSON, for an Input
	// with Prefix set.
	End int
}

// renameFields applies renamed_newfields: the value moves to its new name
// in the document. ECS sources name the new field, which reads the old
// one's value (they share the trie node through the plan).
func (n *Normalizer) renameFields(d *Doc, plan *typePlan) {
	for i, r := range d.Type.RenamedNewFields {
		sp := n.sp(plan.renamed[i])
		if n.truthy(sp) {
			n.ov.SetRaw(r.New, n.raw[sp.start:sp.end])
			n.ov.Delete(r.Old)
		}
	}
}

func (n *Normalizer) timestamp(d *Doc, plan *typePlan) (time.Time, error) {
	t := d.Type
	explicit := len(t.TimestampKeyList) > 0 || t.TimestampKey != ""
	var s, key string
	for i, idx := range plan.timestampKeys {
		key = t.TimestampKey
		if len(t.TimestampKeyList) > 0 {
			key = t.TimestampKeyList[i]
		}
		if s = n.spanView(n.sp(idx)); s != "" { // errors quote it: a copy
			break
		}
	}
	if !explicit {
		if s != "" {
			if ts, err := ParseISO8601(s, tzOr(t.TimestampTZ)); err == nil {
				return ts, nil
			}
		}
		return n.now(), nil
	}
	if s == "" {
		keys := t.TimestampKeyList
		if len(keys) == 0 {
			keys = []string{t.TimestampKey}
		}
		return time.Time{}, fmt.Errorf("%w: field %s is missing or empty", ErrNoTimestamp, strings.Join(keys, " / "))
	}
	formats := t.TimestampFormatList
	if len(formats) == 0 {
		formats = []logtype.TimeFormat{t.TimestampFormat}
	}
	var err error
	for _, f := range formats {
		var now time.Time
		if f.Kind == logtype.TimeFormatSyslog { // only syslog needs it (for the year)
			now = n.now()
		}
		var ts time.Time
		if ts, err = ParseTime(s, f, tzOr(t.TimestampTZ), now); err == nil {
			return ts, nil
		}
	}
	return time.Time{}, fmt.Errorf("field %s: %w", key, err)
}

func tzOr(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

// jsonToText replaces the json_to_text fields by their text form.
func (n *Normalizer) jsonToText(d *Doc, plan *typePlan) {
	for i, p := range d.Type.JSONToText {
		sp := n.sp(plan.jsonToText[i])
		if !n.truthy(sp) {
			continue
		}
		switch n.spanKind(sp) {
		case KindNumber, KindString:
			continue // already text, or a number es-loader keeps
		case KindBool:
			n.ov.SetString(p, map[bool]string{true: "True", false: "False"}[n.raw[sp.start] == 't'])
			continue
		}
		if v := n.subValue(sp); v != nil {
			n.ov.SetString(p, pyStr(v))
		}
	}
}

// mapECS applies the type's ecs, static_ecs, ecs.version and cloud fields.
func (n *Normalizer) mapECS(d *Doc, plan *typePlan) {
	t := d.Type
	ov := &n.ov
	if t.ECSVersion != "" {
		ov.putConst(plan.ecsVersion, t.ECSVersion)
	}
	if !n.present(n.sp(plan.cloudProvider)) && t.CloudProvider != "" {
		ov.putConst(plan.provider, t.CloudProvider)
	}
	for i := range plan.ecs {
		f := &plan.ecs[i]
		if f.list {
			n.mapList(plan, f)
			continue
		}
		for _, src := range f.sources[0] {
			sp := n.sp(src)
			if !n.present(sp) {
				continue // the first alternative with a value wins
			}
			k := n.spanKind(sp)
			if k == KindString && f.ip && !validIP(n.spanString(sp)) {
				break
			}
			if n.truthy(sp) || k == KindNumber || k == KindBool {
				n.setECSValue(f, sp)
			}
			break
		}
	}
	rawCloud := n.sp(plan.cloud).start >= 0
	// The template slots stand for their paths unless a transform deleted
	// something on the way: then the paths are looked up.
	clean := ov.slotClean(plan.acctSlot) && ov.slotClean(plan.regionSlot)
	if ov.slotHas(clean, plan.cloudSlot, "cloud") || rawCloud {
		if !n.present(n.sp(plan.cloudAcct)) {
			switch acct := ov.slotRaw(clean, plan.acctSlot, "cloud.account.id"); {
			case string(acct) == `"unknown"` || bytes.IndexByte(acct, '\\') >= 0 && unquoteLoose(acct) == "unknown":
				if a := n.keyInfo(d.Origin.Key).account; a != "" {
					ov.slotSetString(clean, plan.acctSlot, "cloud.account.id", a)
				}
			case len(acct) > 0 && string(acct) != `""`: // a value: kept
			default:
				a := n.keyInfo(d.Origin.Key).account
				if a == "" {
					a = "unknown"
				}
				ov.slotSetString(clean, plan.acctSlot, "cloud.account.id", a)
			}
		}
		if !n.present(n.sp(plan.cloudRegion)) && !ov.slotHas(clean, plan.regionSlot, "cloud.region") {
			r := n.keyInfo(d.Origin.Key).region
			if r == "" {
				r = "unknown"
			}
			ov.slotSetString(clean, plan.regionSlot, "cloud.region", r)
		}
	}
	for i, s := range t.StaticECS {
		if s.List {
			putStrings(ov, plan.static[i], s.Values)
		} else {
			ov.putConst(plan.static[i], s.Value)
		}
	}
}

// setECSValue stores a mapped value. In numeric ECS fields numbers and
// numeric strings are written as numbers; elsewhere scalars become their
// Python text form as in es-loader ("8", "6.95", "True"). Objects and lists
// are copied.
func (n *Normalizer) setECSValue(f *fieldPlan, sp span) {
	ov := &n.ov
	text := n.raw[sp.start:sp.end]
	switch n.spanKind(sp) {
	case KindString:
		if sp.plain {
			// Printable ASCII without escapes: valid JSON as written.
			if content := text[1 : len(text)-1]; f.numeric && isNumeric(content) {
				ov.putRaw(f.slot, content)
			} else {
				ov.putRaw(f.slot, text)
			}
			return
		}
		s := n.spanString(sp)
		if f.numeric && isNumeric(s) {
			ov.putRaw(f.slot, s)
			return
		}
		if content := text[1 : len(text)-1]; plainRunBytes(content, 0, false) == len(content) && utf8.Valid(content) {
			ov.putRaw(f.slot, text) // already a valid JSON string
			return
		}
		putString(ov, f.slot, s)
	case KindNumber:
		if f.numeric {
			ov.putRaw(f.slot, text)
			return
		}
		isFloat := bytes.ContainsAny(text, ".eE")
		n.scratch = appendPyNumber(n.scratch[:0], text, isFloat)
		putString(ov, f.slot, n.scratch)
	case KindBool:
		if text[0] == 't' {
			putString(ov, f.slot, "True")
		} else {
			putString(ov, f.slot, "False")
		}
	default:
		// An object or list: keep it valid JSON whatever the record held.
		if !utf8.Valid(text) {
			text = bytes.ToValidUTF8(text, []byte("\uFFFD"))
		}
		if bytes.IndexFunc(text, func(r rune) bool { return r < 0x20 && r != ' ' && r != '\t' && r != '\n' && r != '\r' }) >= 0 {
			text = escapeControls(text)
		}
		ov.putRaw(f.slot, text)
	}
}

// mapList collects every source's values into a sorted, de-duplicated list.
func (n *Normalizer) mapList(plan *typePlan, f *fieldPlan) {
	vals := n.strs[:0]
	add := func(sp span) {
		switch n.spanKind(sp) {
		case KindString:
			s := n.spanString(sp)
			if len(s) > 0 && (!f.ip || validIP(s)) {
				vals = append(vals, s)
			}
		case KindNumber:
			if !f.ip {
				vals = append(vals, n.raw[sp.start:sp.end])
			}
		}
	}
	for _, alts := range f.sources {
		for _, src := range alts {
			sp := n.sp(src)
			if !n.present(sp) {
				continue
			}
			if n.spanKind(sp) == KindArray {
				n.eachElement(sp, add)
			} else {
				add(sp)
			}
			break
		}
	}
	n.strs = vals
	if len(vals) == 0 {
		return
	}
	switch len(vals) {
	case 1:
	case 2: // the common pair (source and destination) without sorting
		switch c := bytes.Compare(vals[0], vals[1]); {
		case c > 0:
			vals[0], vals[1] = vals[1], vals[0]
		case c == 0:
			vals = vals[:1]
		}
	default:
		slices.SortFunc(vals, bytes.Compare)
		vals = slices.CompactFunc(vals, bytes.Equal)
	}
	putStrings(&n.ov, f.slot, vals)
}

// eachElement calls fn with the span of each element of the list at sp.
func (n *Normalizer) eachElement(sp span, fn func(span)) {
	raw := n.raw
	i := skipWS(raw, int(sp.start)+1)
	for i < int(sp.end) && raw[i] != ']' {
		end, err := scanValue(raw, i)
		if err != nil {
			return
		}
		fn(span{start: int32(i), end: int32(end)})
		i = skipWS(raw, end)
		if i < int(sp.end) && raw[i] == ',' {
			i = skipWS(raw, i+1)
		}
	}
}

func isIPField(name string) bool { return strings.Contains(name, ".ip") }

func validIP(s []byte) bool {
	if isIPv4(s) {
		return true
	}
	_, err := netip.ParseAddr(string(s))
	return err == nil
}

// isIPv4 is a fast check for dotted-quad IPv4 text (no leading zeros), the
// common case; anything else goes to netip.
func isIPv4(s []byte) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	i := 0
	for part := range 4 {
		if part > 0 {
			if i >= len(s) || s[i] != '.' {
				return false
			}
			i++
		}
		if i >= len(s) || s[i]-'0' > 9 {
			return false
		}
		d0 := uint(s[i] - '0')
		i++
		if i < len(s) && s[i]-'0' <= 9 {
			if d0 == 0 {
				return false // a leading zero
			}
			v := d0*10 + uint(s[i]-'0')
			i++
			if i < len(s) && s[i]-'0' <= 9 {
				if v = v*10 + uint(s[i]-'0'); v > 255 {
					return false
				}
				i++
			}
		}
	}
	return i == len(s)
}

// indexName forms the index name with its rotation suffix.
func (n *Normalizer) indexName(d *Doc, ingested time.Time) string {
	t := d.Type
	name := t.IndexName
	if d.Index != "" {
		name = d.Index
	}
	if t.IndexRotation == logtype.RotationAuto {
		return name
	}
	if t.IndexSuffix != "" {
		name += "-" + t.IndexSuffix
	}
	at := d.Timestamp
	switch {
	case t.IndexTime == "event_ingested":
		at = ingested
	case !d.IndexTime.IsZero():
		at = d.IndexTime
	}
	if t.IndexTZ != nil {
		at = at.In(t.IndexTZ)
	}
	var b []byte
	b = append(n.idxBuf[:0], name...)
	b = append(b, '-')
	b = appendInt(b, at.Year(), 4)
	switch t.IndexRotation {
	case logtype.RotationDaily:
		b = append(b, '-')
		b = appendInt(b, int(at.Month()), 2)
		b = append(b, '-')
		b = appendInt(b, at.Day(), 2)
	case logtype.RotationWeekly:
		b = append(b, "-w"...)
		b = appendInt(b, mondayWeek(at), 2)
	case logtype.RotationYearly:
	default:
		b = append(b, '-')
		b = appendInt(b, int(at.Month()), 2)
	}
	n.idxBuf = b
	if string(b) != n.idxName {
		n.idxName = string(b) // records of one object share their index
	}
	return n.idxName
}

// mondayWeek is strftime's %W: the week number of the year with Monday as
// the first day of the week; days before the first Monday are in week 0.
func mondayWeek(t time.Time) int {
	yday := t.YearDay() - 1
	wday := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return (yday + 7 - wday) / 7
}

// Patterns that find the account and region in an object key, as
// es-loader does: the first 12-digit number after a non-word character and
// followed by "/", and the first region-shaped name.
var (
	keyAccountRe = regexp.MustCompile(`\W([0-9]{12})/`)
	keyRegionRe  = regexp.MustCompile(`(global|(us|ap|ca|eu|il|me|mx|sa|af|cn)-(gov-)?[a-zA-Z]+-[0-9])`)
)

// accountFromKey finds the AWS account id in a key.
func accountFromKey(key string) string {
	if m := keyAccountRe.FindStringSubmatch(key); m != nil {
		return m[1]
	}
	return ""
}

// regionFromKey finds the AWS region in a key.
func regionFromKey(key string) string {
	return keyRegionRe.FindString(key)
}

// isNumeric reports whether s is a number in JSON's grammar.
func isNumeric(s []byte) bool {
	var sc scanner
	sc.raw = s
	end, _, err := sc.number(0)
	if err != nil || end != len(s) {
		return false
	}
	digits := s
	if digits[0] == '-' {
		digits = digits[1:]
	}
	// JSON has no leading zeros.
	return len(digits) < 2 || digits[0] != '0' || digits[1] < '0' || digits[1] > '9'
}

// ingestedText formats event.ingested, reusing the text within a
// millisecond.
// clockEvery is how many records share one reading of the clock for
// event.ingested: reading it costs as much as mapping a few fields, and
// that many records take well under a millisecond.
const clockEvery = 64

// clock returns the time for event.ingested, reading the clock once every
// clockEvery records and after TickClock.
func (n *Normalizer) clock() time.Time {
	if n.clockLeft <= 0 {
		n.clockAt = n.now()
		n.clockLeft = clockEvery
	}
	n.clockLeft--
	return n.clockAt
}

// TickClock makes the next record read the clock again. A caller whose
// records may be far apart in time (a new object, a wait for the sink)
// calls it so that event.ingested stays current.
func (n *Normalizer) TickClock() { n.clockLeft = 0 }

func (n *Normalizer) ingestedText(t time.Time) string {
	if ms := t.UnixMilli(); ms != n.ingestedAt || n.ingested == "" {
		n.ingestedAt = ms
		n.ingested = string(AppendISOFormat(nil, t.UTC()))
	}
	return n.ingested
}

// keyInfo is the account and region found in an object key.
type keyInfo struct {
	key, account, region string
}

// keyInfo returns the account and region of key, cached per key.
func (n *Normalizer) keyInfo(key string) keyInfo {
	if n.key.key != key || (n.key.account == "" && n.key.region == "" && key != "") {
		n.key = keyInfo{key: key, account: accountFromKey(key), region: regionFromKey(key)}
	}
	return n.key
}
