// Package normalize turns one parsed record into the document es-loader
// would produce for it: the raw fields without empty values, @-fields,
// @timestamp, the ECS mapping of the log type, the log type's own transform,
// the deterministic document id and the rotated index name.
package normalize

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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

// Doc is the document being built for one record. Transforms read the
// original record through Raw/Get and write added fields through ECS.
type Doc struct {
	// Type is the record's log type.
	Type *logtype.Type
	// Origin is where the record came from.
	Origin *event.Origin
	// Raw is the original record as a JSON object.
	Raw *fastjson.Value
	// ECS holds every field added to the record; it wins over Raw.
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
}

// Get returns the raw value at a dotted path ("a.b.0.c"; a numeric part
// indexes a list), or nil.
func (d *Doc) Get(path string) *fastjson.Value { return Lookup(d.Raw, path) }

// Str returns the raw value at path in string form: strings as they are,
// numbers and booleans as written, objects and lists as JSON; "" if absent.
func (d *Doc) Str(path string) string { return ValueString(d.Get(path)) }

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

// present reports whether es-loader's lookup finds a value: not missing,
// not null and not "".
func present(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return false
	case fastjson.TypeString:
		return len(v.GetStringBytes()) > 0
	}
	return true
}

// truthy is Python truthiness of a JSON value.
func truthy(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeNull, fastjson.TypeFalse:
		return false
	case fastjson.TypeString:
		return len(v.GetStringBytes()) > 0
	case fastjson.TypeNumber:
		f := v.GetFloat64()
		return f != 0
	case fastjson.TypeArray:
		a, _ := v.Array()
		return len(a) > 0
	case fastjson.TypeObject:
		o, _ := v.Object()
		return o.Len() > 0
	}
	return true
}

// Normalizer builds documents. It keeps per-record scratch memory and is
// not safe for concurrent use: create one per worker.
type Normalizer struct {
	scripts map[string]Script
	now     func() time.Time

	parser  fastjson.Parser
	ov      Overlay
	w       docWriter
	scratch []byte
	strs    [][]byte
	doc     Doc
	plans   map[*logtype.Type]*typePlan
	tsBuf   []byte
	// ingestedAt and ingested cache event.ingested per millisecond.
	ingestedAt int64
	ingested   string
	// key caches what the object key says (records of one object share it).
	key     keyInfo
	memo    []*fastjson.Value
	memoGen []uint32
	gen     uint32
}

// typePlan is a log type's ECS mapping prepared for fast evaluation: every
// distinct path prefix of every source is a node of a trie, so a record's
// values are looked up once per prefix however many fields share it.
type typePlan struct {
	ecs      []fieldPlan
	prefixes []prefixNode
	// tmpl is the overlay shape of the type; the slots are its nodes for
	// the fields every document gets.
	tmpl                                                     []onode
	message, timestamp, logType, bucket, key, module, ingest int32
	id, ecsVersion, provider                                 int32
	static                                                   []int32
	// jsonToText holds the prefix index of each json_to_text path.
	jsonToText []int32
}

// prefixNode is one path prefix: its parent prefix (-1 for the record) and
// its last segment.
type prefixNode struct {
	parent int32
	seg    string
}

// fieldPlan is one ECS field with its sources as prefix indexes. A non-list
// field has one group of alternatives; a list field has a group per source.
type fieldPlan struct {
	name              string
	list, ip, numeric bool
	sources           [][]int32
	slot              int32 // the field's node in the template
}

// prefixIndex returns the trie node of a dotted path, adding it if new.
func (p *typePlan) prefixIndex(path string, index map[string]int32) int32 {
	if idx, ok := index[path]; ok {
		return idx
	}
	parent := int32(-1)
	seg := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent = p.prefixIndex(path[:i], index)
		seg = path[i+1:]
	}
	idx := int32(len(p.prefixes))
	p.prefixes = append(p.prefixes, prefixNode{parent: parent, seg: seg})
	index[path] = idx
	return idx
}

// lookupPrefix returns the value at prefix idx of the current record,
// memoized for the record.
func (n *Normalizer) lookupPrefix(p *typePlan, root *fastjson.Value, idx int32) *fastjson.Value {
	if n.memoGen[idx] == n.gen {
		return n.memo[idx]
	}
	base := root
	if par := p.prefixes[idx].parent; par >= 0 {
		base = n.lookupPrefix(p, root, par)
	}
	var v *fastjson.Value
	if base != nil {
		v = step(base, p.prefixes[idx].seg)
	}
	n.memo[idx], n.memoGen[idx] = v, n.gen
	return v
}

// plan returns the prepared mapping of t, building it on first use.
func (n *Normalizer) plan(t *logtype.Type) *typePlan {
	if p := n.plans[t]; p != nil {
		return p
	}
	p := &typePlan{}
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
	index := map[string]int32{}
	for _, f := range t.ECS {
		fp := fieldPlan{name: f.Name, list: f.List, ip: isIPField(f.Name), numeric: IsNumericField(f.Name), slot: tmpl.nodeFor(f.Name)}
		if f.List {
			for i := range f.Sources {
				var alts []int32
				for _, c := range f.Candidates(i) {
					alts = append(alts, p.prefixIndex(c, index))
				}
				fp.sources = append(fp.sources, alts)
			}
		} else {
			var alts []int32
			for _, src := range f.Sources {
				alts = append(alts, p.prefixIndex(src, index))
			}
			fp.sources = [][]int32{alts}
		}
		p.ecs = append(p.ecs, fp)
	}
	for _, sf := range t.StaticECS {
		p.static = append(p.static, tmpl.nodeFor(sf.Name))
	}
	for _, path := range t.JSONToText {
		p.jsonToText = append(p.jsonToText, p.prefixIndex(path, index))
	}
	p.tmpl = tmpl.template()
	if len(p.prefixes) > len(n.memo) {
		n.memo = make([]*fastjson.Value, len(p.prefixes))
		n.memoGen = make([]uint32, len(p.prefixes))
	}
	if n.plans == nil {
		n.plans = map[*logtype.Type]*typePlan{}
	}
	n.plans[t] = p
	return p
}

// New returns a normalizer using the given per-type scripts (keyed by log
// type name). now (nil: time.Now) gives event.ingested.
func New(scripts map[string]Script, now func() time.Time) *Normalizer {
	if now == nil {
		now = time.Now
	}
	n := &Normalizer{scripts: scripts, now: now}
	n.w.ov = &n.ov
	return n
}

// Input is one parsed record.
type Input struct {
	Type   *logtype.Type
	Origin *event.Origin
	// RawJSON is the record as a JSON object: the original text for JSON
	// formats, the parsed fields for text formats. Invalid UTF-8 must have
	// been replaced.
	RawJSON []byte
	// Message is @message: the raw line for text formats, or nil to use
	// the Python-style serialization of RawJSON.
	Message []byte
}

// Normalize appends the record's document (_source) to dst and returns it
// with the document's index, id and timestamp.
func (n *Normalizer) Normalize(dst []byte, in Input) ([]byte, Meta, error) {
	t := in.Type
	plan := n.plan(t)
	n.ov.resetFrom(plan.tmpl)
	d := &n.doc
	rec, err := n.parser.ParseBytes(in.RawJSON)
	if err != nil {
		return dst, Meta{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if rec.Type() != fastjson.TypeObject {
		return dst, Meta{}, fmt.Errorf("record is a JSON %s, not an object", rec.Type())
	}
	// An EventBridge event carries the record in detail.
	if det := rec.Get("detail"); det != nil && det.Type() == fastjson.TypeObject && rec.Get("detail-type") != nil {
		rec = det
		in.RawJSON = det.MarshalTo(nil)
	}
	*d = Doc{Type: t, Origin: in.Origin, Raw: rec, ECS: &n.ov}
	n.renameFields(d)

	ts, err := n.timestamp(d)
	if err != nil {
		return dst, Meta{}, err
	}
	d.Timestamp = ts
	ingested := n.now()

	// @message and @id
	ov := &n.ov
	if in.Message != nil {
		putString(ov, plan.message, in.Message)
	} else {
		start := int32(len(ov.buf))
		ov.buf, err = AppendPythonJSONString(ov.buf, in.RawJSON)
		if err != nil {
			return dst, Meta{}, fmt.Errorf("record is not valid JSON: %w", err)
		}
		ov.setVal(plan.message, start)
	}
	n.tsBuf = AppendISOFormat(n.tsBuf[:0], ts)
	putString(ov, plan.timestamp, n.tsBuf)
	putString(ov, plan.logType, t.Name)
	putString(ov, plan.bucket, in.Origin.Bucket)
	putString(ov, plan.key, in.Origin.Key)
	putString(ov, plan.module, t.Name)
	putString(ov, plan.ingest, n.ingestedText(ingested))
	var id string
	if t.DocID != "" {
		id = ValueString(rec.Get(t.DocID))
	}
	if id == "" {
		msg := in.Message
		if msg == nil {
			n.scratch, _ = AppendPythonJSON(n.scratch[:0], in.RawJSON)
			msg = n.scratch
		}
		sum := md5.Sum(msg)
		id = hex.EncodeToString(sum[:])
	}
	putString(ov, plan.id, id)

	n.gen++
	if n.gen == 0 { // wrapped: forget every memo
		clear(n.memoGen)
		n.gen = 1
	}
	n.jsonToText(d, plan)
	n.mapECS(d, plan)
	if s := n.scripts[t.Name]; s != nil && len(t.ScriptECS) > 0 {
		if err := s.Transform(d); err != nil {
			return dst, Meta{}, fmt.Errorf("%s transform: %w", t.Name, err)
		}
	}

	docID := id
	if d.IDSuffix != "" {
		docID = id + "_" + d.IDSuffix
	} else if t.DocIDSuffix != "" {
		if s := Lookup(rec, t.DocIDSuffix); truthy(s) {
			docID = id + "_" + pyStr(s)
		}
	}
	meta := Meta{ID: docID, Index: n.indexName(d, ingested), TimestampMs: ts.UnixMilli()}
	start := len(dst)
	dst, err = n.w.writeRaw(dst, in.RawJSON)
	if errors.Is(err, errRawShape) {
		// Control characters inside strings: escape them and try again.
		dst, err = n.w.writeRaw(dst[:start], escapeControls(in.RawJSON))
	}
	if err != nil {
		return dst[:start], Meta{}, fmt.Errorf("record is not valid JSON: %w", err)
	}
	return dst, meta, nil
}

// Meta is what a sink needs besides the document body.
type Meta struct {
	Index       string
	ID          string
	TimestampMs int64
}

func (n *Normalizer) renameFields(d *Doc) {
	for _, r := range d.Type.RenamedNewFields {
		if v := d.Raw.Get(r.Old); truthy(v) {
			// The output comes from the overlay, lookups from the tree.
			n.ov.SetRaw(r.New, v.MarshalTo(nil))
			n.ov.Delete(r.Old)
			d.Raw.Set(r.New, v)
			d.Raw.Del(r.Old)
		}
	}
}

func (n *Normalizer) timestamp(d *Doc) (time.Time, error) {
	t := d.Type
	keys := t.TimestampKeyList
	if len(keys) == 0 && t.TimestampKey != "" {
		keys = []string{t.TimestampKey}
	}
	if len(keys) == 0 {
		if v := d.Raw.Get("@timestamp"); present(v) {
			if ts, err := ParseISO8601(ValueString(v), tzOr(t.TimestampTZ)); err == nil {
				return ts, nil
			}
		}
		return n.now(), nil
	}
	var s string
	var key string
	for _, k := range keys {
		key = k
		if s = ValueString(Lookup(d.Raw, k)); s != "" {
			break
		}
	}
	if s == "" {
		return time.Time{}, fmt.Errorf("%w: field %s is missing or empty", ErrNoTimestamp, strings.Join(keys, " / "))
	}
	formats := t.TimestampFormatList
	if len(formats) == 0 {
		formats = []logtype.TimeFormat{t.TimestampFormat}
	}
	var err error
	for _, f := range formats {
		var ts time.Time
		if ts, err = ParseTime(s, f, tzOr(t.TimestampTZ), n.now()); err == nil {
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
		v := n.lookupPrefix(plan, d.Raw, plan.jsonToText[i])
		if !truthy(v) {
			continue
		}
		switch v.Type() {
		case fastjson.TypeNumber, fastjson.TypeString:
			continue // already text, or a number es-loader keeps
		}
		n.ov.SetString(p, pyStr(v))
	}
}

// mapECS applies the type's ecs, static_ecs, ecs.version and cloud fields.
func (n *Normalizer) mapECS(d *Doc, plan *typePlan) {
	t := d.Type
	ov := &n.ov
	if t.ECSVersion != "" {
		putString(ov, plan.ecsVersion, t.ECSVersion)
	}
	rawCloud := d.Raw.Get("cloud")
	hasProvider := present(Lookup(rawCloud, "provider"))
	if !hasProvider && t.CloudProvider != "" {
		putString(ov, plan.provider, t.CloudProvider)
	}
	for i := range plan.ecs {
		f := &plan.ecs[i]
		if f.list {
			n.mapList(d, plan, f)
			continue
		}
		for _, src := range f.sources[0] {
			v := n.lookupPrefix(plan, d.Raw, src)
			if !present(v) {
				continue // the first alternative with a value wins
			}
			if v.Type() == fastjson.TypeString && f.ip && !validIP(v.GetStringBytes()) {
				break
			}
			if truthy(v) || v.Type() == fastjson.TypeNumber || v.Type() == fastjson.TypeFalse {
				n.setECSValue(f, v)
			}
			break
		}
	}
	isCloud := ov.Has("cloud") || rawCloud != nil
	if isCloud {
		if !present(Lookup(rawCloud, "account.id")) {
			acct := ov.String("cloud.account.id")
			switch {
			case acct == "unknown":
				if a := n.keyInfo(d.Origin.Key).account; a != "" {
					ov.SetString("cloud.account.id", a)
				}
			case acct != "":
			default:
				a := n.keyInfo(d.Origin.Key).account
				if a == "" {
					a = "unknown"
				}
				ov.SetString("cloud.account.id", a)
			}
		}
		if !present(Lookup(rawCloud, "region")) && !ov.Has("cloud.region") {
			r := n.keyInfo(d.Origin.Key).region
			if r == "" {
				r = "unknown"
			}
			ov.SetString("cloud.region", r)
		}
	}
	for i, s := range t.StaticECS {
		if s.List {
			putStrings(ov, plan.static[i], s.Values)
		} else {
			putString(ov, plan.static[i], s.Value)
		}
	}
}

// setECSValue stores a mapped value. In numeric ECS fields numbers and
// numeric strings are written as numbers; elsewhere scalars become their
// Python text form as in es-loader ("8", "6.95", "True"). Objects and lists
// are copied.
func (n *Normalizer) setECSValue(f *fieldPlan, v *fastjson.Value) {
	ov := &n.ov
	switch v.Type() {
	case fastjson.TypeString:
		s := v.GetStringBytes()
		if f.numeric && isNumeric(s) {
			ov.putRaw(f.slot, s)
			return
		}
		putString(ov, f.slot, s)
	case fastjson.TypeNumber:
		if f.numeric {
			n.scratch = v.MarshalTo(n.scratch[:0])
			ov.putRaw(f.slot, n.scratch)
			return
		}
		putString(ov, f.slot, appendPyRepr(n.scratch[:0], v))
	case fastjson.TypeTrue, fastjson.TypeFalse:
		putString(ov, f.slot, pyStr(v))
	default:
		n.scratch = v.MarshalTo(n.scratch[:0])
		ov.putRaw(f.slot, n.scratch)
	}
}

// mapList collects every source's values into a sorted, de-duplicated list.
func (n *Normalizer) mapList(d *Doc, plan *typePlan, f *fieldPlan) {
	vals := n.strs[:0]
	ip := f.ip
	add := func(v *fastjson.Value) {
		if v == nil || v.Type() != fastjson.TypeString {
			if v != nil && v.Type() == fastjson.TypeNumber && !ip {
				vals = append(vals, v.MarshalTo(nil))
			}
			return
		}
		s := v.GetStringBytes()
		if len(s) == 0 || (ip && !validIP(s)) {
			return
		}
		vals = append(vals, s)
	}
	for _, alts := range f.sources {
		for _, src := range alts {
			v := n.lookupPrefix(plan, d.Raw, src)
			if !present(v) {
				continue
			}
			if v.Type() == fastjson.TypeArray {
				a, _ := v.Array()
				for _, e := range a {
					add(e)
				}
			} else {
				add(v)
			}
			break
		}
	}
	n.strs = vals
	if len(vals) == 0 {
		return
	}
	slices.SortFunc(vals, bytes.Compare)
	vals = slices.CompactFunc(vals, bytes.Equal)
	putStrings(&n.ov, f.slot, vals)
}

// AddRelated merges values into a list field such as related.ip, keeping
// it sorted and de-duplicated.
func AddRelated(ov *Overlay, field string, values ...string) {
	var cur []string
	if raw := ov.Raw(field); len(raw) > 0 {
		var p fastjson.Parser
		if v, err := p.ParseBytes(raw); err == nil {
			if a, err := v.Array(); err == nil {
				for _, e := range a {
					cur = append(cur, string(e.GetStringBytes()))
				}
			}
		}
	}
	for _, v := range values {
		if v != "" {
			cur = append(cur, v)
		}
	}
	if len(cur) == 0 {
		return
	}
	slices.Sort(cur)
	ov.SetStrings(field, slices.Compact(cur))
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
	parts, val, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || val > 255 || (digits > 1 && s[i-digits] == '0') {
				return false
			}
			parts++
			val, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits == 3 {
			return false
		}
		val = val*10 + int(c-'0')
		digits++
	}
	return parts == 4
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
	b := make([]byte, 0, len(name)+11)
	b = append(b, name...)
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
	return string(b)
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

// isNumeric reports whether s is a JSON-compatible decimal number.
func isNumeric(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	_, err := strconv.ParseFloat(string(s), 64)
	return err == nil && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && s[len(s)-1] >= '0' && s[len(s)-1] <= '9'
}

// ingestedText formats event.ingested, reusing the text within a
// millisecond.
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
