package sigma

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// condNode is a node of a parsed condition expression.
type condNode interface {
	condString() string
}

type condAnd struct{ Xs []condNode }
type condOr struct{ Xs []condNode }
type condNot struct{ X condNode }
type condIdent struct{ Name string }

// condOf is `N of pattern`, `all of pattern`, `N of them`, `all of them`.
type condOf struct {
	All     bool
	N       int
	Pattern string // "" means them
}

func (c *condAnd) condString() string { return joinNodes(c.Xs, " and ") }
func (c *condOr) condString() string  { return joinNodes(c.Xs, " or ") }
func (c *condNot) condString() string { return "not " + c.X.condString() }
func (c *condIdent) condString() string {
	return c.Name
}
func (c *condOf) condString() string {
	q := strconv.Itoa(c.N)
	if c.All {
		q = "all"
	}
	p := c.Pattern
	if p == "" {
		p = "them"
	}
	return q + " of " + p
}

func joinNodes(xs []condNode, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = "(" + x.condString() + ")"
	}
	return strings.Join(parts, sep)
}

// maxCondDepth bounds the nesting of a condition so that a hostile rule
// cannot exhaust the stack.
const maxCondDepth = 200

type condToken struct {
	kind int // tokIdent, tokLParen, tokRParen
	text string
	pos  int
}

const (
	tokIdent = iota
	tokLParen
	tokRParen
)

func lexCondition(s string) ([]condToken, error) {
	var toks []condToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, condToken{kind: tokLParen, text: "(", pos: i})
			i++
		case c == ')':
			toks = append(toks, condToken{kind: tokRParen, text: ")", pos: i})
			i++
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			toks = append(toks, condToken{kind: tokIdent, text: s[i:j], pos: i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '*' || c == '-' || c == '.' || c == '?' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80
}

type condParser struct {
	toks  []condToken
	i     int
	depth int
}

// parseCondition parses a condition expression (without any `|` aggregation
// part).
func parseCondition(s string) (condNode, error) {
	toks, err := lexCondition(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, errors.New("empty condition")
	}
	p := &condParser{toks: toks}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.toks[p.i].text, p.toks[p.i].pos)
	}
	return n, nil
}

func (p *condParser) peekKeyword(kw string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == tokIdent && strings.EqualFold(p.toks[p.i].text, kw)
}

func (p *condParser) parseOr() (condNode, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxCondDepth {
		return nil, errors.New("condition nested too deeply")
	}
	x, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	xs := []condNode{x}
	for p.peekKeyword("or") {
		p.i++
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return &condOr{Xs: xs}, nil
}

func (p *condParser) parseAnd() (condNode, error) {
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	xs := []condNode{x}
	for p.peekKeyword("and") {
		p.i++
		y, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return &condAnd{Xs: xs}, nil
}

func (p *condParser) parseNot() (condNode, error) {
	if p.peekKeyword("not") {
		p.i++
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxCondDepth {
			return nil, errors.New("condition nested too deeply")
		}
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &condNot{X: x}, nil
	}
	return p.parsePrimary()
}

func isReserved(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "of", "them":
		return true
	}
	return false
}

func (p *condParser) parsePrimary() (condNode, error) {
	if p.i >= len(p.toks) {
		return nil, errors.New("unexpected end of condition")
	}
	t := p.toks[p.i]
	switch t.kind {
	case tokLParen:
		p.i++
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.toks) || p.toks[p.i].kind != tokRParen {
			return nil, fmt.Errorf("missing ) for ( at offset %d", t.pos)
		}
		p.i++
		return x, nil
	case tokRParen:
		return nil, fmt.Errorf("unexpected ) at offset %d", t.pos)
	}
	// `N of x`, `all of x`, `any of x`
	if p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tokIdent && strings.EqualFold(p.toks[p.i+1].text, "of") {
		of := &condOf{}
		switch q := strings.ToLower(t.text); q {
		case "all":
			of.All = true
		case "any":
			of.N = 1
		default:
			n, err := strconv.Atoi(q)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("invalid quantifier %q at offset %d: want a positive number, all or any", t.text, t.pos)
			}
			of.N = n
		}
		p.i += 2
		if p.i >= len(p.toks) || p.toks[p.i].kind != tokIdent {
			return nil, fmt.Errorf("missing search identifier pattern after %q", t.text+" of")
		}
		target := p.toks[p.i].text
		p.i++
		if strings.EqualFold(target, "them") {
			return of, nil
		}
		if isReserved(target) {
			return nil, fmt.Errorf("unexpected keyword %q after of", target)
		}
		of.Pattern = target
		return of, nil
	}
	if isReserved(t.text) || strings.EqualFold(t.text, "all") {
		return nil, fmt.Errorf("unexpected keyword %q at offset %d", t.text, t.pos)
	}
	p.i++
	return &condIdent{Name: t.text}, nil
}

// globMatch reports whether name matches a search identifier pattern in
// which `*` stands for any run of characters (and `?` for one).
func globMatch(pattern, name string) bool {
	p := parsePlainGlob(pattern)
	return p.matchString(name, false)
}

// legacyAgg is the parsed part after `|` of a legacy condition.
type legacyAgg struct {
	Func    string // count, sum, avg, min, max, near
	Field   string
	GroupBy []string
	Op      string // gt, gte, lt, lte, eq, neq
	Value   float64
	Near    []string // for near: the identifiers AND-ed after near
}

// parseAggregation parses `count([field]) [by f1[, f2]] op N` or
// `near id [and id ...]`.
func parseAggregation(s string) (*legacyAgg, error) {
	s = strings.TrimSpace(s)
	if rest, ok := cutKeyword(s, "near"); ok {
		agg := &legacyAgg{Func: "near"}
		for _, part := range splitKeyword(rest, "and") {
			part = strings.TrimSpace(part)
			if part == "" || strings.ContainsAny(part, " ()") {
				return nil, fmt.Errorf("near: only `near id and id ...` is supported, got %q", rest)
			}
			agg.Near = append(agg.Near, part)
		}
		if len(agg.Near) == 0 {
			return nil, errors.New("near needs at least one search identifier")
		}
		return agg, nil
	}
	open := strings.IndexByte(s, '(')
	closeIdx := strings.IndexByte(s, ')')
	if open < 0 || closeIdx < open {
		return nil, fmt.Errorf("invalid aggregation %q: want count([field]) [by field] op number", s)
	}
	agg := &legacyAgg{Func: strings.ToLower(strings.TrimSpace(s[:open])), Field: strings.TrimSpace(s[open+1 : closeIdx])}
	switch agg.Func {
	case "count", "sum", "avg":
	case "min", "max":
		return nil, fmt.Errorf("aggregation %s() has no correlation equivalent", agg.Func)
	default:
		return nil, fmt.Errorf("unknown aggregation function %q", agg.Func)
	}
	if agg.Func != "count" && agg.Field == "" {
		return nil, fmt.Errorf("%s() needs a field", agg.Func)
	}
	rest := strings.TrimSpace(s[closeIdx+1:])
	if r, ok := cutKeyword(rest, "by"); ok {
		i := strings.IndexAny(r, "<>=!")
		if i < 0 {
			return nil, fmt.Errorf("aggregation %q has no comparison", s)
		}
		for _, g := range strings.Split(r[:i], ",") {
			if g = strings.TrimSpace(g); g != "" {
				agg.GroupBy = append(agg.GroupBy, g)
			}
		}
		rest = r[i:]
	}
	ops := []struct{ sym, op string }{{">=", "gte"}, {"<=", "lte"}, {"!=", "neq"}, {"==", "eq"}, {">", "gt"}, {"<", "lt"}, {"=", "eq"}}
	for _, o := range ops {
		if strings.HasPrefix(rest, o.sym) {
			agg.Op = o.op
			rest = strings.TrimSpace(rest[len(o.sym):])
			break
		}
	}
	if agg.Op == "" {
		return nil, fmt.Errorf("aggregation %q has no comparison", s)
	}
	v, err := strconv.ParseFloat(rest, 64)
	if err != nil {
		return nil, fmt.Errorf("aggregation %q: invalid number %q", s, rest)
	}
	agg.Value = v
	return agg, nil
}

func cutKeyword(s, kw string) (string, bool) {
	if len(s) > len(kw) && strings.EqualFold(s[:len(kw)], kw) && (s[len(kw)] == ' ' || s[len(kw)] == '\t') {
		return strings.TrimSpace(s[len(kw):]), true
	}
	return s, false
}

func splitKeyword(s, kw string) []string {
	fields := strings.Fields(s)
	var out []string
	cur := ""
	for _, f := range fields {
		if strings.EqualFold(f, kw) {
			out = append(out, cur)
			cur = ""
			continue
		}
		if cur != "" {
			cur += " "
		}
		cur += f
	}
	return append(out, cur)
}
