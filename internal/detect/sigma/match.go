package sigma

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ---------------------------------------------------------------------------
// Value conversion

// valueString returns the string form a rule value is compared against:
// strings as they are, numbers in their shortest decimal form, booleans as
// true/false, objects as their JSON text. nil yields ok=false.
func valueString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case nil:
		return "", false
	default:
		return jsonText(v)
	}
}

func jsonText(v any) (string, bool) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", false
	}
	return strings.TrimSuffix(buf.String(), "\n"), true
}

// valueFloat returns the numeric value of v: numbers, and strings that hold
// a number.
func valueFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case float32:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case float64, json.Number, int, int64, int32, uint64, uint32, float32:
		return true
	}
	return false
}

// ---------------------------------------------------------------------------
// Case folding

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldLower lowercases s for case-insensitive comparison. Valid UTF-8 is
// lowercased by Unicode rules; other byte strings (UTF-16 patterns) only in
// their ASCII bytes.
func foldLower(s string) string {
	if isASCII(s) || !utf8.ValidString(s) {
		return asciiLower(s)
	}
	return strings.ToLower(s)
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 32
				}
			}
			return string(b)
		}
	}
	return s
}

// mayFoldToASCII reports whether s may contain a non-ASCII rune whose
// lowercase form contains ASCII letters: U+212A KELVIN SIGN (UTF-8 E2 84 AA)
// and U+0130 (C4 B0). Only then can byte-wise ASCII folding miss a match.
func mayFoldToASCII(s string) bool {
	return strings.IndexByte(s, 0xE2) >= 0 || strings.IndexByte(s, 0xC4) >= 0
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// equalFoldASCII compares s with lower, which is already lowercase.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerByte(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

// indexFoldASCII finds lower (lowercase, non-empty) in s ignoring ASCII
// case.
func indexFoldASCII(s, lower string) int {
	n := len(lower)
	if n == 0 {
		return 0
	}
	first := lower[0]
	for i := 0; i+n <= len(s); i++ {
		if lowerByte(s[i]) != first {
			continue
		}
		if equalFoldASCII(s[i:i+n], lower) {
			return i
		}
	}
	return -1
}

// ---------------------------------------------------------------------------
// Sigma strings and wildcards

type tokKind uint8

const (
	tLit tokKind = iota
	tStar
	tOne
)

type ptok struct {
	k tokKind
	s string
}

// pattern is a Sigma string: literal runs and the wildcards * and ?.
type pattern []ptok

// parseSigmaString reads a Sigma value with wildcards and backslash escapes:
// `\*`, `\?` and `\\` stand for the plain character; a backslash before any
// other character is kept as is.
func parseSigmaString(s string) pattern {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p = append(p, ptok{k: tLit, s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte(c)
			}
		case '*':
			flush()
			p = append(p, ptok{k: tStar})
		case '?':
			flush()
			p = append(p, ptok{k: tOne})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return p.normalize()
}

// parsePlainGlob reads a search-identifier pattern (no escapes).
func parsePlainGlob(s string) pattern {
	var p pattern
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			if i > start {
				p = append(p, ptok{k: tLit, s: s[start:i]})
			}
			k := tStar
			if s[i] == '?' {
				k = tOne
			}
			p = append(p, ptok{k: k})
			start = i + 1
		}
	}
	if start < len(s) {
		p = append(p, ptok{k: tLit, s: s[start:]})
	}
	return p.normalize()
}

func literalPattern(s string) pattern {
	if s == "" {
		return pattern{}
	}
	return pattern{{k: tLit, s: s}}
}

// normalize merges adjacent literals and adjacent stars.
func (p pattern) normalize() pattern {
	out := make(pattern, 0, len(p))
	for _, t := range p {
		if t.k == tLit && t.s == "" {
			continue
		}
		if n := len(out); n > 0 {
			prev := &out[n-1]
			if t.k == tLit && prev.k == tLit {
				prev.s += t.s
				continue
			}
			if t.k == tStar && prev.k == tStar {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

func (p pattern) isLiteral() bool {
	for _, t := range p {
		if t.k != tLit {
			return false
		}
	}
	return true
}

func (p pattern) literal() string {
	var b strings.Builder
	for _, t := range p {
		b.WriteString(t.s)
	}
	return b.String()
}

// mapLiterals applies f to every literal run.
func (p pattern) mapLiterals(f func(string) string) pattern {
	out := make(pattern, len(p))
	for i, t := range p {
		if t.k == tLit {
			t.s = f(t.s)
		}
		out[i] = t
	}
	return out.normalize()
}

// matchString matches s against the whole pattern. The pattern must already
// be folded when s is.
func (p pattern) matchString(s string, _ bool) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for {
		if ti < len(p) {
			t := p[ti]
			switch t.k {
			case tStar:
				starTi, starSi = ti, si
				ti++
				continue
			case tOne:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ti++
					continue
				}
			case tLit:
				if strings.HasPrefix(s[si:], t.s) {
					si += len(t.s)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starSi:])
		starSi += w
		si, ti = starSi, starTi+1
	}
}

// ---------------------------------------------------------------------------
// Matchers

// valueMatcher tests one scalar (or object) event value; arrays are handled
// by the caller. ev is the whole event, for field references.
type valueMatcher interface {
	matchValue(v any, c *evalCtx) bool
}

type strMode uint8

const (
	modeExact strMode = iota
	modePrefix
	modeSuffix
	modeContains
	modeGlob
	modeAny
)

// strMatcher compares the string form of a value with a Sigma pattern.
type strMatcher struct {
	mode     strMode
	lit      string  // folded when ci
	glob     pattern // folded when ci
	ci       bool
	litASCII bool
	// numeric rule values also compare numerically with numeric event
	// values (200 == 200.0).
	isNum bool
	num   float64
}

func newStrMatcher(p pattern, ci bool) *strMatcher {
	p = p.normalize()
	if ci {
		p = p.mapLiterals(foldLower)
	}
	m := &strMatcher{ci: ci}
	n := len(p)
	switch {
	case n == 0:
		m.mode = modeExact
	case n == 1 && p[0].k == tStar:
		m.mode = modeAny
	case p.isLiteral():
		m.mode, m.lit = modeExact, p[0].s
	case n == 2 && p[0].k == tLit && p[1].k == tStar:
		m.mode, m.lit = modePrefix, p[0].s
	case n == 2 && p[0].k == tStar && p[1].k == tLit:
		m.mode, m.lit = modeSuffix, p[1].s
	case n == 3 && p[0].k == tStar && p[1].k == tLit && p[2].k == tStar:
		m.mode, m.lit = modeContains, p[1].s
	default:
		m.mode, m.glob = modeGlob, p
	}
	m.litASCII = isASCII(m.lit)
	return m
}

func (m *strMatcher) matchValue(v any, _ *evalCtx) bool {
	if m.isNum && isNumber(v) {
		f, ok := valueFloat(v)
		return ok && f == m.num
	}
	s, ok := valueString(v)
	if !ok {
		return false
	}
	if m.matchString(s) {
		return true
	}
	if m.isNum {
		if f, ok := valueFloat(s); ok && f == m.num {
			return true
		}
	}
	return false
}

func (m *strMatcher) matchString(s string) bool {
	if m.mode == modeAny {
		return true
	}
	if m.ci && m.litASCII && m.mode != modeGlob {
		// Comparing bytes with ASCII folding is exact unless s holds a
		// rune whose lowercase is ASCII (see mayFoldToASCII).
		n := len(m.lit)
		var ok bool
		switch m.mode {
		case modeExact:
			ok = len(s) == n && equalFoldASCII(s, m.lit)
		case modePrefix:
			ok = len(s) >= n && equalFoldASCII(s[:n], m.lit)
		case modeSuffix:
			ok = len(s) >= n && equalFoldASCII(s[len(s)-n:], m.lit)
		case modeContains:
			ok = indexFoldASCII(s, m.lit) >= 0
		}
		if ok || !mayFoldToASCII(s) {
			return ok
		}
	}
	if m.ci {
		s = foldLower(s)
	}
	switch m.mode {
	case modeExact:
		return s == m.lit
	case modePrefix:
		return strings.HasPrefix(s, m.lit)
	case modeSuffix:
		return strings.HasSuffix(s, m.lit)
	case modeContains:
		return strings.Contains(s, m.lit)
	default:
		return m.glob.matchString(s, false)
	}
}

// cidrMatcher matches IP addresses inside any of its prefixes.
type cidrMatcher struct{ prefixes []netip.Prefix }

func (m *cidrMatcher) matchValue(v any, _ *evalCtx) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	addr, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range m.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// numMatcher compares a number (or a part of a timestamp) with op.
type numMatcher struct {
	op       string // eq, lt, lte, gt, gte
	val      float64
	timePart string
}

func (m *numMatcher) matchValue(v any, _ *evalCtx) bool {
	var f float64
	if m.timePart != "" {
		t, ok := valueTime(v)
		if !ok {
			return false
		}
		f = float64(timePart(t, m.timePart))
	} else {
		var ok bool
		if f, ok = valueFloat(v); !ok {
			return false
		}
	}
	return compare(m.op, f, m.val)
}

func compare(op string, a, b float64) bool {
	switch op {
	case "lt":
		return a < b
	case "lte":
		return a <= b
	case "gt":
		return a > b
	case "gte":
		return a >= b
	case "neq":
		return a != b
	default:
		return a == b
	}
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02",
}

// valueTime reads a timestamp: RFC 3339 and close variants, or epoch
// seconds (milliseconds when larger than 1e12).
func valueTime(v any) (time.Time, bool) {
	if s, ok := v.(string); ok {
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), true
			}
		}
	}
	if f, ok := valueFloat(v); ok && !math.IsInf(f, 0) {
		if math.Abs(f) > 1e12 {
			return time.UnixMilli(int64(f)).UTC(), true
		}
		return time.Unix(int64(f), 0).UTC(), true
	}
	return time.Time{}, false
}

func timePart(t time.Time, part string) int {
	switch part {
	case "minute":
		return t.Minute()
	case "hour":
		return t.Hour()
	case "day":
		return t.Day()
	case "week":
		_, w := t.ISOWeek()
		return w
	case "month":
		return int(t.Month())
	default:
		return t.Year()
	}
}

// refMatcher compares a value with the value of another field of the same
// event (fieldref).
type refMatcher struct {
	ref  *Path
	mode strMode
	ci   bool
}

func (m *refMatcher) matchValue(v any, c *evalCtx) bool {
	s, ok := valueString(v)
	if !ok {
		return false
	}
	rv, found := c.get(m.ref)
	if !found || rv == nil {
		return false
	}
	return anyElem(rv, func(e any) bool {
		r, ok := valueString(e)
		if !ok {
			return false
		}
		a, b := s, r
		if m.ci {
			a, b = foldLower(a), foldLower(b)
		}
		switch m.mode {
		case modePrefix:
			return strings.HasPrefix(a, b)
		case modeSuffix:
			return strings.HasSuffix(a, b)
		case modeContains:
			return strings.Contains(a, b)
		default:
			return a == b
		}
	})
}

// matchNothing never matches (an unresolved placeholder under
// PlaceholderMatchNothing).
type matchNothing struct{}

func (matchNothing) matchValue(any, *evalCtx) bool { return false }

// anyElem applies f to v, or to each non-null element of v (recursively)
// when v is an array.
func anyElem(v any, f func(any) bool) bool {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if e == nil {
				continue
			}
			if anyElem(e, f) {
				return true
			}
		}
		return false
	}
	return f(v)
}

// ---------------------------------------------------------------------------
// Field conditions

type fieldKind uint8

const (
	fkValues fieldKind = iota
	fkExists
	fkNotExists
)

// fieldMatcher is a compiled FieldCondition.
type fieldMatcher struct {
	path   *Path // nil: keyword search over every value of the event
	kind   fieldKind
	nullOK bool // `null` among the values: absent or JSON null matches
	ms     []valueMatcher
	all    bool
	neq    bool
}

func (f *fieldMatcher) eval(ev *evalCtx) bool {
	if f.path == nil {
		return f.evalKeywords(ev)
	}
	v, found := ev.get(f.path)
	switch f.kind {
	case fkExists:
		return found
	case fkNotExists:
		return !found
	}
	if !found || v == nil {
		return f.nullOK
	}
	if f.neq {
		return anyElem(v, func(e any) bool {
			for _, m := range f.ms {
				if m.matchValue(e, ev) {
					return false
				}
			}
			return true
		})
	}
	if f.all {
		for _, m := range f.ms {
			if !anyElem(v, func(e any) bool { return m.matchValue(e, ev) }) {
				return false
			}
		}
		return len(f.ms) > 0
	}
	if _, isArr := v.([]any); !isArr {
		for _, m := range f.ms {
			if m.matchValue(v, ev) {
				return true
			}
		}
		return false
	}
	for _, m := range f.ms {
		if anyElem(v, func(e any) bool { return m.matchValue(e, ev) }) {
			return true
		}
	}
	return false
}

func (f *fieldMatcher) evalKeywords(ev *evalCtx) bool {
	if f.all {
		for _, m := range f.ms {
			if !ev.ev.Scalars(func(v any) bool { return m.matchValue(v, ev) }) {
				return false
			}
		}
		return len(f.ms) > 0
	}
	return ev.ev.Scalars(func(v any) bool {
		for _, m := range f.ms {
			if m.matchValue(v, ev) {
				return true
			}
		}
		return false
	})
}

// anyLeaf applies f to every scalar (non-null, non-container) value inside v.
func anyLeaf(v any, f func(any) bool) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if anyLeaf(e, f) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range x {
			if anyLeaf(e, f) {
				return true
			}
		}
		return false
	case nil:
		return false
	default:
		return f(v)
	}
}

// pathInterner gives every distinct field name of an Engine one Path
// with a cache slot, so each field is looked up once per event however
// many rules test it.
type pathInterner struct {
	byName map[string]*Path
	n      int
}

func (pi *pathInterner) get(name string) *Path {
	if pi == nil {
		return NewPath(name)
	}
	if p, ok := pi.byName[name]; ok {
		return p
	}
	p := NewPath(name)
	p.id = pi.n
	pi.n++
	pi.byName[name] = p
	return p
}

type cachedField struct {
	gen   uint32
	found bool
	v     any
}

// evalCtx is the per-event evaluation state: the event and its looked-up
// fields. It belongs to one Match call.
type evalCtx struct {
	ev    Event
	gen   uint32
	cache []cachedField
}

func (c *evalCtx) reset(ev Event, nFields int) {
	c.ev = ev
	if len(c.cache) < nFields {
		c.cache = make([]cachedField, nFields)
	}
	c.gen++
	if c.gen == 0 { // wrapped: clear stale generations
		clear(c.cache)
		c.gen = 1
	}
}

func (c *evalCtx) get(p *Path) (any, bool) {
	if p.id < 0 || p.id >= len(c.cache) {
		return c.ev.Field(p)
	}
	cf := &c.cache[p.id]
	if cf.gen != c.gen {
		cf.v, cf.found = c.ev.Field(p)
		cf.gen = c.gen
	}
	return cf.v, cf.found
}
