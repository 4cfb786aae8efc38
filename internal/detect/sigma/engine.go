package sigma

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
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
}

type compiledRule struct {
	rule       *Rule
	idx        int
	conds      []expr // OR-ed
	allTypes   bool
	logTypes   map[string]bool
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
	e := &Engine{opts: opts}
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
	e.index = buildIndex(e.rules, opts.NoIndex)
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
	eval(ev map[string]any) bool
}

type exprSearch struct {
	name  string
	items [][]*fieldMatcher
}

func (x *exprSearch) eval(ev map[string]any) bool {
	for _, item := range x.items {
		ok := true
		for _, f := range item {
			if !f.eval(ev) {
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

func (x exprAnd) eval(ev map[string]any) bool {
	for _, y := range x {
		if !y.eval(ev) {
			return false
		}
	}
	return true
}

func (x exprOr) eval(ev map[string]any) bool {
	for _, y := range x {
		if y.eval(ev) {
			return true
		}
	}
	return false
}

func (x *exprNot) eval(ev map[string]any) bool { return !x.x.eval(ev) }

func (x *exprOf) eval(ev map[string]any) bool {
	if x.n == 0 {
		return exprAnd(x.xs).eval(ev)
	}
	n := 0
	for i, y := range x.xs {
		if y.eval(ev) {
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
	buf  [128]byte
}

// Match returns the detection rules that match ev and raise matches of
// their own (rules referenced only by correlations without `generate` do
// not), in rule order. logType restricts the rules to those whose logsource
// maps to it; "" runs every rule. Match never modifies ev.
func (e *Engine) Match(ev map[string]any, logType string) []Match {
	var out []Match
	e.eachMatch(ev, logType, func(cr *compiledRule) {
		if cr.standalone {
			out = append(out, cr.match())
		}
	})
	return out
}

func (cr *compiledRule) match() Match {
	return Match{RuleID: cr.rule.Ref(), Title: cr.rule.Title, Level: cr.rule.Level, Tags: cr.rule.Tags, Rule: cr.rule}
}

func (cr *compiledRule) applies(logType string) bool {
	return logType == "" || cr.allTypes || cr.logTypes[logType]
}

func (cr *compiledRule) eval(ev map[string]any) bool {
	for _, c := range cr.conds {
		if c.eval(ev) {
			return true
		}
	}
	return false
}

// eachMatch calls fn for every rule (standalone or not) matching ev.
func (e *Engine) eachMatch(ev map[string]any, logType string, fn func(*compiledRule)) {
	sc := e.pool.Get().(*matchScratch)
	cand, owned := e.index.candidates(ev, sc)
	for _, i := range cand {
		cr := e.rules[i]
		if cr.applies(logType) && cr.eval(ev) {
			fn(cr)
		}
	}
	if owned {
		sc.cand = cand[:0]
	}
	e.pool.Put(sc)
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
	fields  []*fieldPath
	byValue []map[string][]int32 // per field: folded value → rules
	always  []int32
}

type fieldValue struct{ field, value string }

// required returns (field, value) pairs at least one of which holds in
// every event the expression matches, or nil when there is no such set.
// score is the expected selectivity (lower is better).
func required(x expr, weight map[string]float64) ([]fieldValue, float64) {
	switch c := x.(type) {
	case *exprSearch:
		var out []fieldValue
		total := 0.0
		for _, item := range c.items {
			var best []fieldValue
			bestScore := 0.0
			for _, f := range item {
				if fv := f.eqLiterals(); fv != nil {
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
		return bestOf(c, weight)
	case exprOr:
		return unionOf(c, weight)
	case *exprOf:
		if c.n == 0 {
			return bestOf(c.xs, weight)
		}
		return unionOf(c.xs, weight)
	}
	return nil, 0
}

func bestOf(xs []expr, weight map[string]float64) ([]fieldValue, float64) {
	var best []fieldValue
	bestScore := 0.0
	for _, y := range xs {
		fv, s := required(y, weight)
		if fv != nil && (best == nil || s < bestScore) {
			best, bestScore = fv, s
		}
	}
	return best, bestScore
}

func unionOf(xs []expr, weight map[string]float64) ([]fieldValue, float64) {
	var out []fieldValue
	total := 0.0
	for _, y := range xs {
		fv, s := required(y, weight)
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

func (cr *compiledRule) required(weight map[string]float64) []fieldValue {
	if len(cr.conds) == 1 {
		fv, _ := required(cr.conds[0], weight)
		return fv
	}
	fv, _ := unionOf(cr.conds, weight)
	return fv
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

func buildIndex(rules []*compiledRule, noIndex bool) *ruleIndex {
	idx := &ruleIndex{}
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
			fi, ok := fieldIdx[fv.field]
			if !ok {
				fi = len(idx.fields)
				fieldIdx[fv.field] = fi
				idx.fields = append(idx.fields, newFieldPath(fv.field))
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
	fields := make([]*fieldPath, len(order))
	byValue := make([]map[string][]int32, len(order))
	for i, o := range order {
		fields[i], byValue[i] = idx.fields[o], idx.byValue[o]
	}
	idx.fields, idx.byValue = fields, byValue
	return idx
}

// candidates returns the rules to check for ev, ascending and without
// duplicates. owned says the slice is sc's (else it is idx.always, which
// must not be modified).
func (idx *ruleIndex) candidates(ev map[string]any, sc *matchScratch) (list []int32, owned bool) {
	cand := sc.cand[:0]
	for fi, p := range idx.fields {
		v, found := p.get(ev)
		if !found || v == nil {
			continue
		}
		m := idx.byValue[fi]
		anyElem(v, func(e any) bool {
			s, ok := valueString(e)
			if !ok {
				return false
			}
			if list := lookupFolded(m, s, &sc.buf); list != nil {
				cand = append(cand, list...)
			}
			return false
		})
	}
	if len(cand) == 0 {
		return idx.always, false
	}
	cand = append(cand, idx.always...)
	slices.Sort(cand)
	return slices.Compact(cand), true
}

// lookupFolded looks s up by its folded form without allocating for short
// ASCII values.
func lookupFolded(m map[string][]int32, s string, buf *[128]byte) []int32 {
	if len(s) <= len(buf) && isASCII(s) {
		b := buf[:len(s)]
		for i := 0; i < len(s); i++ {
			b[i] = lowerByte(s[i])
		}
		return m[string(b)]
	}
	if !utf8.ValidString(s) {
		return m[asciiLower(s)]
	}
	return m[foldLower(s)]
}
