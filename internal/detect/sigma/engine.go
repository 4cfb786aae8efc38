package sigma

import (
	"errors"
	"fmt"
	bits64 "math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Options configure Compile.
type Options struct {
	// Placeholders resolves `expand` placeholders: %name% → values (each
	// value is a Sigma string, wildcards allowed; several values are OR-ed).
	Placeholders map[string][]string
	// MissingPlaceholders says what an undefined placeholder does; by
	// default the rule fails to compile.
	MissingPlaceholders MissingPlaceholder
	// Logsources maps logsources to log types; nil means
	// DefaultLogsources().
	Logsources []LogsourceMapping
	// NoIndex makes Match check every rule (for testing the index).
	NoIndex bool

	paths *pathInterner // set by Compile
}

// Match is one detection rule matching one event.
type Match struct {
	RuleID string // the rule's id (its name or title when it has none)
	Title  string
	Level  string
	Tags   []string
	Rule   *Rule
}

// Engine is a compiled set of detection and correlation rules. It is
// immutable: Match may be called from any number of goroutines at once.
// Correlation state lives in a Correlator (see NewCorrelator).
type Engine struct {
	rules []*compiledRule
	corrs []*compiledCorr
	index *ruleIndex
	opts  Options
	pool  sync.Pool // *matchScratch
	// typeIDs numbers the log types any rule maps to.
	typeIDs map[string]int
}

type compiledRule struct {
	rule       *Rule
	idx        int
	conds      []expr // OR-ed
	allTypes   bool
	logTypes   map[string]bool
	types      []uint64 // bitset of Engine.typeIDs
	standalone bool
	feeds      []corrFeed // correlation inputs fed by this rule
}

// Compile compiles rules into an Engine. Every rule that compiles is kept:
// when some fail, Compile returns the Engine of the others and an error
// joining one *RuleError (file:line) per failed rule; a correlation whose
// referenced rules failed fails too. The Engine is nil only when opts are
// unusable.
func Compile(rules []*Rule, opts Options) (*Engine, error) {
	if opts.Logsources == nil {
		opts.Logsources = DefaultLogsources()
	}
	opts.paths = &pathInterner{byName: map[string]*Path{}}
	e := &Engine{opts: opts, typeIDs: map[string]int{}}
	e.pool.New = func() any { return &matchScratch{} }
	var errs []error
	var corrRules []*Rule
	for _, r := range rules {
		if r.Correlation != nil {
			corrRules = append(corrRules, r)
			continue
		}
		if r.Detection == nil {
			errs = append(errs, ruleErr(r.File, r.Line, r.Ref(), "rule has no detection"))
			continue
		}
		cr, err := compileRule(r, &e.opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cr.idx = len(e.rules)
		e.rules = append(e.rules, cr)
	}
	errs = append(errs, e.compileCorrelations(corrRules)...)
	for _, cr := range e.rules {
		for t := range cr.logTypes {
			id, ok := e.typeIDs[t]
			if !ok {
				id = len(e.typeIDs)
				e.typeIDs[t] = id
			}
			for len(cr.types) <= id/64 {
				cr.types = append(cr.types, 0)
			}
			cr.types[id/64] |= 1 << uint(id%64)
		}
	}
	e.index = buildIndex(e.rules, opts.NoIndex, opts.paths)
	return e, errors.Join(errs...)
}

func compileRule(r *Rule, opts *Options) (*compiledRule, error) {
	cr := &compiledRule{rule: r, standalone: true}
	types, all := r.Logsource.LogTypes(opts.Logsources)
	cr.allTypes = all
	cr.logTypes = map[string]bool{}
	for _, t := range types {
		cr.logTypes[t] = true
	}
	d := r.Detection
	searches := map[string]expr{}
	var order []string
	for _, s := range d.Searches {
		x, err := compileSearch(s, opts)
		if err != nil {
			return nil, &RuleError{File: r.File, Line: err.line, Rule: r.Ref(), Err: err.err}
		}
		searches[s.Name] = x
		order = append(order, s.Name)
	}
	for _, c := range d.Conditions {
		x, err := compileCond(c.Root, searches, order)
		if err != nil {
			return nil, ruleErr(r.File, c.Line, r.Ref(), "condition %q: %w", c.Expr, err)
		}
		cr.conds = append(cr.conds, x)
	}
	return cr, nil
}

type lineErr struct {
	line int
	err  error
}

func compileSearch(s *Search, opts *Options) (*exprSearch, *lineErr) {
	x := &exprSearch{name: s.Name}
	for _, item := range s.Items {
		var fms []*fieldMatcher
		for _, fc := range item {
			fm, err := compileFieldCondition(fc, opts)
			if err != nil {
				return nil, &lineErr{line: fc.Line, err: fmt.Errorf("search %q: %w", s.Name, err)}
			}
			fms = append(fms, fm)
		}
		x.items = append(x.items, fms)
	}
	return x, nil
}

// ---------------------------------------------------------------------------
// Compiled conditions

type expr interface {
	eval(c *evalCtx) bool
}

type exprSearch struct {
	name  string
	items [][]*fieldMatcher
}

func (x *exprSearch) eval(c *evalCtx) bool {
	for _, item := range x.items {
		ok := true
		for _, f := range item {
			if !f.eval(c) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

type exprAnd []expr
type exprOr []expr
type exprNot struct{ x expr }

// exprOf is "n of xs" (n == 0 means all).
type exprOf struct {
	n  int
	xs []expr
}

func (x exprAnd) eval(c *evalCtx) bool {
	for _, y := range x {
		if !y.eval(c) {
			return false
		}
	}
	return true
}

func (x exprOr) eval(c *evalCtx) bool {
	for _, y := range x {
		if y.eval(c) {
			return true
		}
	}
	return false
}

func (x *exprNot) eval(c *evalCtx) bool { return !x.x.eval(c) }

func (x *exprOf) eval(c *evalCtx) bool {
	if x.n == 0 {
		return exprAnd(x.xs).eval(c)
	}
	n := 0
	for i, y := range x.xs {
		if y.eval(c) {
			n++
			if n >= x.n {
				return true
			}
		}
		if n+len(x.xs)-i-1 < x.n {
			return false
		}
	}
	return false
}

func compileCond(n condNode, searches map[string]expr, order []string) (expr, error) {
	switch c := n.(type) {
	case *condIdent:
		x, ok := searches[c.Name]
		if !ok {
			return nil, fmt.Errorf("unknown search identifier %q", c.Name)
		}
		return x, nil
	case *condNot:
		x, err := compileCond(c.X, searches, order)
		if err != nil {
			return nil, err
		}
		return &exprNot{x: x}, nil
	case *condAnd, *condOr:
		var xs []condNode
		if a, ok := c.(*condAnd); ok {
			xs = a.Xs
		} else {
			xs = c.(*condOr).Xs
		}
		out := make([]expr, 0, len(xs))
		for _, y := range xs {
			x, err := compileCond(y, searches, order)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		if _, ok := c.(*condAnd); ok {
			return exprAnd(out), nil
		}
		return exprOr(out), nil
	case *condOf:
		var xs []expr
		for _, name := range order {
			if c.Pattern == "" {
				if strings.HasPrefix(name, "_") {
					continue
				}
			} else if !globMatch(c.Pattern, name) {
				continue
			}
			xs = append(xs, searches[name])
		}
		if len(xs) == 0 {
			return nil, fmt.Errorf("%q matches no search identifier", c.condString())
		}
		if c.All {
			return &exprOf{n: 0, xs: xs}, nil
		}
		return &exprOf{n: c.N, xs: xs}, nil
	}
	return nil, fmt.Errorf("unexpected condition node %T", n)
}

// ---------------------------------------------------------------------------
// Matching

type matchScratch struct {
	cand []int32
	bits []uint64
	buf  []byte // a lowercased value
	ctx  evalCtx
}

// Match returns the detection rules that match ev and raise matches of
// their own (rules referenced only by correlations without `generate` do
// not), in rule order. logType restricts the rules to those whose logsource
// maps to it; "" runs every rule. Match never modifies ev. It is
// MatchEvent(MapEvent(ev), logType).
func (e *Engine) Match(ev map[string]any, logType string) []Match {
	return e.AppendMatches(nil, MapEvent(ev), logType)
}

// MatchEvent is Match for any Event, e.g. a JSONEvent over a document's
// bytes.
func (e *Engine) MatchEvent(ev Event, logType string) []Match {
	return e.AppendMatches(nil, ev, logType)
}

// AppendMatches appends the matches MatchEvent returns to dst and returns
// the extended slice; with a reused dst it does not allocate.
func (e *Engine) AppendMatches(dst []Match, ev Event, logType string) []Match {
	e.eachMatch(ev, logType, func(cr *compiledRule) {
		if cr.standalone {
			dst = append(dst, cr.match())
		}
	})
	return dst
}

func (cr *compiledRule) match() Match {
	return Match{RuleID: cr.rule.Ref(), Title: cr.rule.Title, Level: cr.rule.Level, Tags: cr.rule.Tags, Rule: cr.rule}
}

func (cr *compiledRule) hasType(id int) bool {
	return id/64 < len(cr.types) && cr.types[id/64]&(1<<uint(id%64)) != 0
}

func (cr *compiledRule) eval(ctx *evalCtx) bool {
	for _, c := range cr.conds {
		if c.eval(ctx) {
			return true
		}
	}
	return false
}

// Matcher matches events against an Engine's rules with scratch space
// of its own, for a goroutine that matches many events in a row (the
// detection stage keeps one per worker): it takes nothing from a shared
// pool per event. A Matcher is not safe for concurrent use.
type Matcher struct {
	e  *Engine
	sc matchScratch
}

// NewMatcher returns a Matcher of e's rules.
func (e *Engine) NewMatcher() *Matcher { return &Matcher{e: e} }

// Engine returns the Engine whose rules m matches.
func (m *Matcher) Engine() *Engine { return m.e }

// AppendMatches is Engine.AppendMatches.
func (m *Matcher) AppendMatches(dst []Match, ev Event, logType string) []Match {
	m.e.eachMatchWith(&m.sc, ev, logType, func(cr *compiledRule) {
		if cr.standalone {
			dst = append(dst, cr.match())
		}
	})
	return dst
}

// eachMatch calls fn for every rule (standalone or not) matching ev.
func (e *Engine) eachMatch(ev Event, logType string, fn func(*compiledRule)) {
	sc := e.pool.Get().(*matchScratch)
	e.eachMatchWith(sc, ev, logType, fn)
	e.pool.Put(sc)
}

// eachMatchWith is eachMatch with the scratch space sc.
func (e *Engine) eachMatchWith(sc *matchScratch, ev Event, logType string, fn func(*compiledRule)) {
	sc.ctx.reset(ev, e.opts.paths.n)
	cand, owned := e.index.candidates(&sc.ctx, sc)
	typeID, known := e.typeIDs[logType]
	for _, i := range cand {
		cr := e.rules[i]
		if logType != "" && !cr.allTypes && (!known || !cr.hasType(typeID)) {
			continue
		}
		if cr.eval(&sc.ctx) {
			fn(cr)
		}
	}
	sc.ctx.ev = nil
	if owned {
		sc.cand = cand[:0]
	}
}

// Rules returns the compiled detection rules (including hidden ones) and
// correlation rules, in compile order.
func (e *Engine) Rules() (detection, correlation []*Rule) {
	for _, r := range e.rules {
		detection = append(detection, r.rule)
	}
	for _, c := range e.corrs {
		correlation = append(correlation, c.rule)
	}
	return detection, correlation
}

// IndexStats describes the rule index: how many rules are reached through
// indexed field values and how many are checked for every event.
type IndexStats struct {
	Indexed int
	Always  int
	Fields  []string
}

// IndexStats reports how the rules were indexed.
func (e *Engine) IndexStats() IndexStats {
	st := IndexStats{Always: len(e.index.always), Indexed: len(e.rules) - len(e.index.always)}
	for _, f := range e.index.fields {
		st.Fields = append(st.Fields, f.name)
	}
	return st
}

// ---------------------------------------------------------------------------
// Rule index

// ruleIndex maps values of the most selective equality fields to the rules
// that need them. A rule can only match when at least one of its required
// (field, value) pairs is in the event, so checking only those rules (and
// the rules without such a requirement, always) gives the same result as
// checking every rule.
type ruleIndex struct {
	nRules  int
	fields  []*Path
	byValue []map[string][]int32 // per field: folded value → rules
	lens    []lengthSet          // per field: the lengths of its values
	always  []int32
	// subs are substring requirements of rules without equality ones.
	subs []subIndex
}

type subIndex struct {
	path  *Path
	lits  []string  // folded ASCII literals
	rules [][]int32 // per literal
}

// fieldValue is a requirement on an event: field equals value (folded), or
// with sub set, the folded field value contains value.
type fieldValue struct {
	field, value string
	sub          bool
}

// required returns (field, value) pairs at least one of which holds in
// every event the expression matches, or nil when there is no such set.
// score is the expected selectivity (lower is better).
func required(x expr, weight map[string]float64, sub bool) ([]fieldValue, float64) {
	switch c := x.(type) {
	case *exprSearch:
		var out []fieldValue
		total := 0.0
		for _, item := range c.items {
			var best []fieldValue
			bestScore := 0.0
			for _, f := range item {
				fv := f.eqLiterals()
				if fv == nil && sub {
					fv = f.subLiterals()
				}
				if fv != nil {
					s := float64(len(fv)) * weight[fv[0].field]
					if best == nil || s < bestScore {
						best, bestScore = fv, s
					}
				}
			}
			if best == nil {
				return nil, 0
			}
			out = append(out, best...)
			total += bestScore
		}
		return out, total
	case exprAnd:
		return bestOf(c, weight, sub)
	case exprOr:
		return unionOf(c, weight, sub)
	case *exprOf:
		if c.n == 0 {
			return bestOf(c.xs, weight, sub)
		}
		return unionOf(c.xs, weight, sub)
	}
	return nil, 0
}

func bestOf(xs []expr, weight map[string]float64, sub bool) ([]fieldValue, float64) {
	var best []fieldValue
	bestScore := 0.0
	for _, y := range xs {
		fv, s := required(y, weight, sub)
		if fv != nil && (best == nil || s < bestScore) {
			best, bestScore = fv, s
		}
	}
	return best, bestScore
}

func unionOf(xs []expr, weight map[string]float64, sub bool) ([]fieldValue, float64) {
	var out []fieldValue
	total := 0.0
	for _, y := range xs {
		fv, s := required(y, weight, sub)
		if fv == nil {
			return nil, 0
		}
		out = append(out, fv...)
		total += s
	}
	return out, total
}

// eqLiterals returns the (field, folded value) pairs of a field condition
// that is a plain equality on string values, else nil.
func (f *fieldMatcher) eqLiterals() []fieldValue {
	if f.path == nil || f.kind != fkValues || f.neq || f.nullOK || len(f.ms) == 0 {
		return nil
	}
	var out []fieldValue
	for _, m := range f.ms {
		sm, ok := m.(*strMatcher)
		if !ok || sm.mode != modeExact || sm.isNum {
			return nil
		}
		out = append(out, fieldValue{field: f.path.name, value: foldLower(sm.lit)})
		if f.all {
			break // every value is required: one of them is enough
		}
	}
	return out
}

// required returns the rule's requirements: equalities when it has
// them, else substrings, else nil.
func (cr *compiledRule) required(weight map[string]float64) []fieldValue {
	for _, sub := range []bool{false, true} {
		var fv []fieldValue
		if len(cr.conds) == 1 {
			fv, _ = required(cr.conds[0], weight, sub)
		} else {
			fv, _ = unionOf(cr.conds, weight, sub)
		}
		if fv != nil {
			return fv
		}
	}
	return nil
}

// subLiterals returns (field, folded literal) substring requirements of a
// field condition whose values all contain a literal run (contains,
// startswith, endswith or equality on strings), else nil. A value
// matching such a pattern contains the literal, also case-folded.
func (f *fieldMatcher) subLiterals() []fieldValue {
	if f.path == nil || f.kind != fkValues || f.neq || f.nullOK || len(f.ms) == 0 {
		return nil
	}
	var out []fieldValue
	for _, m := range f.ms {
		sm, ok := m.(*strMatcher)
		if !ok || sm.isNum || sm.mode == modeGlob || sm.mode == modeAny || sm.lit == "" || !sm.litASCII {
			return nil
		}
		out = append(out, fieldValue{field: f.path.name, value: foldLower(sm.lit), sub: true})
		if f.all {
			break
		}
	}
	return out
}

func collectLiterals(x expr, fn func(fieldValue)) {
	switch c := x.(type) {
	case *exprSearch:
		for _, item := range c.items {
			for _, f := range item {
				for _, fv := range f.eqLiterals() {
					fn(fv)
				}
			}
		}
	case exprAnd:
		for _, y := range c {
			collectLiterals(y, fn)
		}
	case exprOr:
		for _, y := range c {
			collectLiterals(y, fn)
		}
	case *exprOf:
		for _, y := range c.xs {
			collectLiterals(y, fn)
		}
	case *exprNot:
		collectLiterals(c.x, fn)
	}
}

func buildIndex(rules []*compiledRule, noIndex bool, paths *pathInterner) *ruleIndex {
	idx := &ruleIndex{nRules: len(rules)}
	if noIndex {
		for i := range rules {
			idx.always = append(idx.always, int32(i))
		}
		return idx
	}
	// Weight of a field: 1 / number of distinct values rules compare it
	// with; a field with many distinct values (eventName) is more selective
	// than one with few (eventSource).
	distinct := map[string]map[string]bool{}
	for _, cr := range rules {
		for _, c := range cr.conds {
			collectLiterals(c, func(fv fieldValue) {
				if distinct[fv.field] == nil {
					distinct[fv.field] = map[string]bool{}
				}
				distinct[fv.field][fv.value] = true
			})
		}
	}
	weight := map[string]float64{}
	for f, vs := range distinct {
		weight[f] = 1 / float64(len(vs))
	}
	fieldIdx := map[string]int{}
	for i, cr := range rules {
		fvs := cr.required(weight)
		if fvs == nil {
			idx.always = append(idx.always, int32(i))
			continue
		}
		for _, fv := range fvs {
			if fv.sub {
				idx.addSub(fv, int32(i), paths)
				continue
			}
			fi, ok := fieldIdx[fv.field]
			if !ok {
				fi = len(idx.fields)
				fieldIdx[fv.field] = fi
				idx.fields = append(idx.fields, paths.get(fv.field))
				idx.byValue = append(idx.byValue, map[string][]int32{})
			}
			list := idx.byValue[fi][fv.value]
			if len(list) == 0 || list[len(list)-1] != int32(i) {
				idx.byValue[fi][fv.value] = append(list, int32(i))
			}
		}
	}
	// Field order by name for deterministic stats.
	order := make([]int, len(idx.fields))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return idx.fields[order[a]].name < idx.fields[order[b]].name })
	fields := make([]*Path, len(order))
	byValue := make([]map[string][]int32, len(order))
	idx.lens = make([]lengthSet, len(order))
	for i, o := range order {
		fields[i], byValue[i] = idx.fields[o], idx.byValue[o]
		for v := range byValue[i] {
			idx.lens[i].add(len(v))
		}
	}
	idx.fields, idx.byValue = fields, byValue
	return idx
}

// lengthSet holds lengths below 256; longer ones are all "present".
type lengthSet [4]uint64

func (s *lengthSet) add(n int) {
	if n < 256 {
		s[n>>6] |= 1 << (n & 63)
	}
}

func (s *lengthSet) has(n int) bool {
	return n >= 256 || s[n>>6]&(1<<(n&63)) != 0
}

// candidates returns the rules to check for the event of ctx, ascending
// and without duplicates. owned says the slice is sc's (else it is
// idx.always, which must not be modified). Fields are read through ctx, so
// the rules checked afterwards find them resolved.
func (idx *ruleIndex) candidates(ctx *evalCtx, sc *matchScratch) (list []int32, owned bool) {
	cand := sc.cand[:0]
	words := (idx.nRules + 63) / 64
	if len(sc.bits) < words {
		sc.bits = make([]uint64, words)
	}
	bits := sc.bits[:words]
	hit := false
	for fi, p := range idx.fields {
		v, found := ctx.get(p)
		if !found || v == nil {
			continue
		}
		m, lens := idx.byValue[fi], &idx.lens[fi]
		anyElem(v, func(e any) bool {
			s, ok := valueString(e)
			if !ok || !lens.has(len(s)) && isASCII(s) {
				// Lowering ASCII keeps the length: no value of this
				// length, no match (a long user agent skips the lookup).
				return false
			}
			for _, r := range lookupFolded(m, s, &sc.buf) {
				bits[r>>6] |= 1 << uint(r&63)
				hit = true
			}
			return false
		})
	}
	for si := range idx.subs {
		sx := &idx.subs[si]
		v, found := ctx.get(sx.path)
		if !found || v == nil {
			continue
		}
		anyElem(v, func(e any) bool {
			s, ok := valueString(e)
			if !ok {
				return false
			}
			// Literals are ASCII: lowering only ASCII bytes keeps every
			// match (see mayFoldToASCII for the exception).
			if mayFoldToASCII(s) {
				s = foldLower(s)
			} else {
				sc.buf = appendLowerASCII(sc.buf[:0], s)
				s = unsafeString(sc.buf)
			}
			for li, lit := range sx.lits {
				if strings.Contains(s, lit) {
					for _, r := range sx.rules[li] {
						bits[r>>6] |= 1 << uint(r&63)
						hit = true
					}
				}
			}
			return false
		})
	}
	if !hit {
		return idx.always, false
	}
	for _, r := range idx.always {
		bits[r>>6] |= 1 << uint(r&63)
	}
	// Read the set bits back in rule order, clearing them.
	for w, x := range bits {
		for x != 0 {
			b := bits64.TrailingZeros64(x)
			cand = append(cand, int32(w*64+b))
			x &= x - 1
		}
		bits[w] = 0
	}
	return cand, true
}

// lookupFolded looks s up by its folded form, lowering ASCII values in
// *buf (reused) instead of allocating.
func lookupFolded(m map[string][]int32, s string, buf *[]byte) []int32 {
	if isASCII(s) {
		*buf = appendLowerASCII((*buf)[:0], s)
		return m[string(*buf)]
	}
	if !utf8.ValidString(s) {
		return m[asciiLower(s)]
	}
	return m[foldLower(s)]
}

// appendLowerASCII appends s with its ASCII letters lowered.
func appendLowerASCII(dst []byte, s string) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(s))[:n+len(s)]
	out := dst[n:]
	for i := 0; i < len(s); i++ {
		out[i] = lowerByte(s[i])
	}
	return dst
}

func (idx *ruleIndex) addSub(fv fieldValue, rule int32, paths *pathInterner) {
	var sx *subIndex
	for i := range idx.subs {
		if idx.subs[i].path.name == fv.field {
			sx = &idx.subs[i]
		}
	}
	if sx == nil {
		idx.subs = append(idx.subs, subIndex{path: paths.get(fv.field)})
		sx = &idx.subs[len(idx.subs)-1]
	}
	for i, l := range sx.lits {
		if l == fv.value {
			if rs := sx.rules[i]; rs[len(rs)-1] != rule {
				sx.rules[i] = append(rs, rule)
			}
			return
		}
	}
	sx.lits = append(sx.lits, fv.value)
	sx.rules = append(sx.rules, []int32{rule})
}

// unsafeString views b as a string for the duration of a lookup; b must
// not change while the string is in use.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
