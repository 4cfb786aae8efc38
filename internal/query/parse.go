package query

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxDepth bounds the nesting of parentheses and negations, so a hostile
// query cannot exhaust the stack.
const maxDepth = 100

// parser is a recursive-descent parser over the query text. It reads bytes:
// every character with a meaning in the syntax is ASCII, and everything else
// (including multi-byte UTF-8) is part of a word.
type parser struct {
	s     string
	pos   int
	now   time.Time
	depth int
	// field is the field of an enclosing field:( ... ) group, or "".
	field string
}

func parse(s string, now time.Time) (Node, error) {
	p := &parser{s: s, now: now}
	p.skipSpace()
	if p.eof() {
		return &MatchAll{}, nil
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		// parseOr stops only at the end or at a ')'.
		return nil, p.errAt(p.pos, "unbalanced parenthesis: ')' without a matching '('")
	}
	return n, nil
}

func (p *parser) errAt(pos int, msg string) error {
	return &SyntaxError{Pos: pos, Msg: msg}
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

// atWord reports whether the upper-case operator kw starts at the current
// position and is followed by the end, white space or a parenthesis.
func (p *parser) atWord(kw string) bool {
	if !strings.HasPrefix(p.s[p.pos:], kw) {
		return false
	}
	e := p.pos + len(kw)
	return e == len(p.s) || isSpace(p.s[e]) || p.s[e] == '(' || p.s[e] == ')'
}

// atTo reports the TO of a range, which may be followed by white space or
// the closing bracket.
func (p *parser) atTo() bool {
	if !strings.HasPrefix(p.s[p.pos:], "TO") {
		return false
	}
	e := p.pos + 2
	return e == len(p.s) || isSpace(p.s[e]) || p.s[e] == ']' || p.s[e] == '}'
}

// atAnd reports an AND operator (AND or &&) and its length.
func (p *parser) atAnd() (int, bool) {
	switch {
	case p.atWord("AND"):
		return 3, true
	case strings.HasPrefix(p.s[p.pos:], "&&"):
		return 2, true
	}
	return 0, false
}

// atOr reports an OR operator (OR or ||) and its length.
func (p *parser) atOr() (int, bool) {
	switch {
	case p.atWord("OR"):
		return 2, true
	case strings.HasPrefix(p.s[p.pos:], "||"):
		return 2, true
	}
	return 0, false
}

// atOperandEnd reports a position where an operand cannot start: the end,
// a closing parenthesis, or a binary operator.
func (p *parser) atOperandEnd() bool {
	if p.eof() || p.s[p.pos] == ')' {
		return true
	}
	_, and := p.atAnd()
	_, or := p.atOr()
	return and || or
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(pos, "query nests deeper than 100 levels")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseOr() (Node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	nodes := []Node{first}
	for {
		p.skipSpace()
		l, ok := p.atOr()
		if !ok {
			break
		}
		opPos := p.pos
		p.pos += l
		p.skipSpace()
		if p.atOperandEnd() {
			return nil, p.errAt(opPos, "OR needs a term on its right")
		}
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return newOr(nodes), nil
}

func (p *parser) parseAnd() (Node, error) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	nodes := []Node{first}
	for {
		p.skipSpace()
		if p.eof() || p.s[p.pos] == ')' {
			break
		}
		if _, ok := p.atOr(); ok {
			break
		}
		if l, ok := p.atAnd(); ok {
			opPos := p.pos
			p.pos += l
			p.skipSpace()
			if p.atOperandEnd() {
				return nil, p.errAt(opPos, "AND needs a term on its right")
			}
		}
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return newAnd(nodes), nil
}

// newAnd makes an And of nodes, splicing in the children of nested Ands.
func newAnd(nodes []Node) Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if a, ok := n.(*And); ok {
			out = append(out, a.Nodes...)
		} else {
			out = append(out, n)
		}
	}
	return &And{Nodes: out}
}

// newOr makes an Or of nodes, splicing in the children of nested Ors.
func newOr(nodes []Node) Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if o, ok := n.(*Or); ok {
			out = append(out, o.Nodes...)
		} else {
			out = append(out, n)
		}
	}
	return &Or{Nodes: out}
}

func (p *parser) parseUnary() (Node, error) {
	p.skipSpace()
	start := p.pos
	if p.eof() {
		return nil, p.errAt(start, "expected a term")
	}
	if _, ok := p.atAnd(); ok {
		return nil, p.errAt(start, "AND needs a term on its left")
	}
	if _, ok := p.atOr(); ok {
		return nil, p.errAt(start, "OR needs a term on its left")
	}
	c := p.s[p.pos]
	switch {
	case p.atWord("NOT") || c == '!':
		if c == '!' {
			p.pos++
		} else {
			p.pos += 3
		}
		p.skipSpace()
		if p.atOperandEnd() {
			return nil, p.errAt(start, "NOT needs a term on its right")
		}
		if err := p.enter(start); err != nil {
			return nil, err
		}
		n, err := p.parseUnary()
		p.leave()
		if err != nil {
			return nil, err
		}
		return &Not{Node: n}, nil
	case c == '-' || c == '+':
		p.pos++
		if p.eof() || isSpace(p.s[p.pos]) || p.s[p.pos] == ')' {
			return nil, p.errAt(start, "'"+string(c)+"' needs a term right after it")
		}
		if err := p.enter(start); err != nil {
			return nil, err
		}
		n, err := p.parsePrimary()
		p.leave()
		if err != nil {
			return nil, err
		}
		if c == '+' {
			// A required term: every term of a conjunction is.
			return n, nil
		}
		return &Not{Node: n}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (Node, error) {
	start := p.pos
	switch p.s[p.pos] {
	case '(':
		return p.parseGroup()
	case ')':
		return nil, p.errAt(start, "unbalanced parenthesis: ')' without a matching '('")
	case '"':
		v, err := p.readQuoted()
		if err != nil {
			return nil, err
		}
		return &Phrase{Field: p.field, Value: v}, nil
	case '[', '{':
		if p.field == "" {
			return nil, p.errAt(start, "a range needs a field: field:[a TO b]")
		}
		return p.parseRange(p.field)
	case '>', '<':
		if p.field == "" {
			return nil, p.errAt(start, "a comparison needs a field: field:>=value")
		}
		return p.parseCompare(p.field)
	}
	if p.field != "" {
		return p.parseValue(p.field)
	}
	raw, err := p.readWord(stopTerm, true)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.s) && p.s[p.pos] == ':' {
		return p.parseField(raw, start)
	}
	return p.valueNode("", raw, start)
}

// parseGroup parses "( query )" at the current position, keeping p.field.
func (p *parser) parseGroup() (Node, error) {
	open := p.pos
	if err := p.enter(open); err != nil {
		return nil, err
	}
	defer p.leave()
	p.pos++
	p.skipSpace()
	if p.eof() {
		return nil, p.errAt(open, "unbalanced parenthesis: '(' is never closed")
	}
	if p.s[p.pos] == ')' {
		return nil, p.errAt(open, "empty parentheses")
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errAt(open, "unbalanced parenthesis: '(' is never closed")
	}
	p.pos++ // the ')', the only place parseOr stops besides the end
	return n, nil
}

// parseField parses what follows "name:" where name is the raw text before
// the colon, which starts at namePos; the current position is the colon.
func (p *parser) parseField(name string, namePos int) (Node, error) {
	if name == "" {
		return nil, p.errAt(namePos, "missing field name before ':'")
	}
	if !validField(name) {
		return nil, p.errAt(namePos, "invalid field name "+quote(name)+": a field name holds letters, digits and . @ _ -")
	}
	p.pos++ // the colon
	p.skipSpace()
	if p.atOperandEnd() {
		return nil, p.errAt(p.pos, "missing value after "+quote(name+":"))
	}
	if name == "_exists_" {
		fpos := p.pos
		f, err := p.readWord(stopTerm, false)
		if err != nil {
			return nil, err
		}
		if !validField(f) {
			return nil, p.errAt(fpos, "_exists_ needs a field name, not "+quote(f))
		}
		return &Exists{Field: f}, nil
	}
	switch p.s[p.pos] {
	case '(':
		p.field = name
		n, err := p.parseGroup()
		p.field = ""
		return n, err
	case '[', '{':
		return p.parseRange(name)
	case '>', '<':
		return p.parseCompare(name)
	case '"':
		v, err := p.readQuoted()
		if err != nil {
			return nil, err
		}
		return &Phrase{Field: name, Value: v}, nil
	}
	return p.parseValue(name)
}

// parseValue parses an unquoted value of field at the current position.
func (p *parser) parseValue(field string) (Node, error) {
	start := p.pos
	raw, err := p.readWord(stopTerm, false)
	if err != nil {
		return nil, err
	}
	return p.valueNode(field, raw, start)
}

// valueNode classifies an unquoted word (escapes still in it) of field:
// MatchAll or Exists for a lone *, Wildcard, CIDR (fields only) or Term.
func (p *parser) valueNode(field, raw string, start int) (Node, error) {
	if raw == "" {
		// Only possible when the word starts at a character that ends
		// words, which the callers rule out; be safe all the same.
		return nil, p.errAt(start, "expected a term")
	}
	if raw == "*" {
		if field == "" {
			return &MatchAll{}, nil
		}
		return &Exists{Field: field}, nil
	}
	if pat, ok := wildcardPattern(raw); ok {
		return &Wildcard{Field: field, Pattern: pat}, nil
	}
	v := unescape(raw)
	if field != "" && v == raw && cidrCandidate(v) {
		pfx, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, p.errAt(start, "bad CIDR "+quote(v)+": want an address/prefix-length such as 10.0.0.0/8 or 2001:db8::/32")
		}
		return &CIDR{Field: field, Prefix: pfx}, nil
	}
	return &Term{Field: field, Value: v}, nil
}

// parseRange parses [a TO b], {a TO b} or a mix at the current position.
func (p *parser) parseRange(field string) (Node, error) {
	open := p.pos
	incFrom := p.s[p.pos] == '['
	p.pos++
	p.skipSpace()
	from, err := p.readBound(open)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.atTo() {
		if p.eof() {
			return nil, p.errAt(open, "bad range: expected TO before the end of the query")
		}
		return nil, p.errAt(p.pos, "bad range: expected TO")
	}
	p.pos += 2
	p.skipSpace()
	to, err := p.readBound(open)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errAt(open, "bad range: missing the closing ] or }")
	}
	c := p.s[p.pos]
	if c != ']' && c != '}' {
		return nil, p.errAt(p.pos, "bad range: expected ] or }")
	}
	p.pos++
	if from == "" && to == "" {
		return &Exists{Field: field}, nil
	}
	r := &Range{Field: field, From: from, To: to, Now: p.now}
	r.IncludeFrom = from != "" && incFrom
	r.IncludeTo = to != "" && c == ']'
	return r, nil
}

// readBound reads one range bound: a quoted string, * for an open end
// (returned as ""), or a word ending at white space, ] or }.
func (p *parser) readBound(open int) (string, error) {
	if p.eof() {
		return "", p.errAt(open, "bad range: missing the closing ] or }")
	}
	pos := p.pos
	if p.s[p.pos] == '"' {
		v, err := p.readQuoted()
		if err != nil {
			return "", err
		}
		if v == "" {
			return "", p.errAt(pos, "bad range: empty bound; use * for an open end")
		}
		return v, nil
	}
	raw, err := p.readWord(stopBound, false)
	if err != nil {
		return "", err
	}
	if raw == "" {
		return "", p.errAt(pos, "bad range: missing bound")
	}
	if raw == "*" {
		return "", nil
	}
	return unescape(raw), nil
}

// parseCompare parses >=v, >v, <=v or <v at the current position.
func (p *parser) parseCompare(field string) (Node, error) {
	opPos := p.pos
	op := p.s[p.pos : p.pos+1]
	p.pos++
	if p.pos < len(p.s) && p.s[p.pos] == '=' {
		op += "="
		p.pos++
	}
	if p.eof() || isSpace(p.s[p.pos]) || p.s[p.pos] == ')' || p.s[p.pos] == '(' {
		return nil, p.errAt(opPos, "missing value after "+quote(op))
	}
	vpos := p.pos
	var v string
	if p.s[p.pos] == '"' {
		var err error
		if v, err = p.readQuoted(); err != nil {
			return nil, err
		}
	} else {
		raw, err := p.readWord(stopTerm, false)
		if err != nil {
			return nil, err
		}
		if raw == "*" {
			return nil, p.errAt(vpos, "a comparison needs a value, not *")
		}
		v = unescape(raw)
	}
	if v == "" {
		return nil, p.errAt(vpos, "missing value after "+quote(op))
	}
	r := &Range{Field: field, Now: p.now}
	switch op {
	case ">=":
		r.From, r.IncludeFrom = v, true
	case ">":
		r.From = v
	case "<=":
		r.To, r.IncludeTo = v, true
	case "<":
		r.To = v
	}
	return r, nil
}

// readQuoted reads a double-quoted string at the current position and
// returns its content with \" and \\ (and any other backslash escape)
// resolved.
func (p *parser) readQuoted() (string, error) {
	open := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.s) {
				return "", p.errAt(p.pos, "escape character '\\' at the end of the query")
			}
			_, size := utf8.DecodeRuneInString(p.s[p.pos+1:])
			b.WriteString(p.s[p.pos+1 : p.pos+1+size])
			p.pos += 1 + size
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errAt(open, "unterminated quoted phrase: missing the closing '\"'")
}

// stopTerm and stopBound say which characters end a word: white space and
// parentheses for terms, white space and ] } for range bounds.
func stopTerm(c byte) bool  { return isSpace(c) || c == '(' || c == ')' }
func stopBound(c byte) bool { return isSpace(c) || c == ']' || c == '}' }

// readWord reads a word up to an unescaped stop character (or, when colon is
// set, an unescaped ':') and returns it raw, escapes included.
func (p *parser) readWord(stop func(byte) bool, colon bool) (string, error) {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '\\' {
			if p.pos+1 >= len(p.s) {
				return "", p.errAt(p.pos, "escape character '\\' at the end of the query")
			}
			_, size := utf8.DecodeRuneInString(p.s[p.pos+1:])
			p.pos += 1 + size
			continue
		}
		if stop(c) || (colon && c == ':') {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos], nil
}

// unescape removes backslash escapes from a raw word.
func unescape(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

// wildcardPattern reports whether the raw word has an unescaped * or ?, and
// if so returns it as a Wildcard pattern: escapes kept only for the
// characters that need them there (* ? \).
func wildcardPattern(raw string) (string, bool) {
	wild := false
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '*', '?':
			wild = true
		}
	}
	if !wild {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) {
			i++
			c = raw[i]
			if c == '*' || c == '?' || c == '\\' {
				b.WriteByte('\\')
			}
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// validField reports whether name is a field name: letters, digits and
// . @ _ -, not empty, not starting with - (which would read as NOT).
func validField(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !fieldChar(name[i]) {
			return false
		}
	}
	return true
}

func fieldChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c == '.' || c == '@' || c == '_' || c == '-'
}

// cidrCandidate reports whether a field value is meant as a CIDR: an
// address-like part (digits and dots with three dots, or hex digits and
// colons with at least two colons, optionally with an embedded IPv4 tail)
// followed by / and digits. Such a value must parse as a prefix.
func cidrCandidate(v string) bool {
	slash := strings.IndexByte(v, '/')
	if slash <= 0 || slash == len(v)-1 {
		return false
	}
	for i := slash + 1; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	addr := v[:slash]
	dots, colons := 0, 0
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		switch {
		case c == '.':
			dots++
		case c == ':':
			colons++
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	if colons >= 2 {
		return true
	}
	if colons > 0 || dots != 3 {
		return false
	}
	for i := 0; i < len(addr); i++ {
		if addr[i] != '.' && (addr[i] < '0' || addr[i] > '9') {
			return false
		}
	}
	return true
}

// quote puts s in double quotes, Go-escaped, for a message.
func quote(s string) string {
	return strconv.Quote(s)
}
