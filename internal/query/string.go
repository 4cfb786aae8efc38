package query

import (
	"strings"
)

// String returns "*".
func (*MatchAll) String() string { return "*" }

// String joins the children with AND, parenthesizing disjunctions.
func (n *And) String() string { return joinNodes(n.Nodes, " AND ") }

// String joins the children with OR.
func (n *Or) String() string { return joinNodes(n.Nodes, " OR ") }

func joinNodes(nodes []Node, op string) string {
	var b strings.Builder
	for i, c := range nodes {
		if i > 0 {
			b.WriteString(op)
		}
		writeOperand(&b, c)
	}
	return b.String()
}

// writeOperand writes n, in parentheses when it is a conjunction or a
// disjunction.
func writeOperand(b *strings.Builder, n Node) {
	switch n.(type) {
	case *And, *Or:
		b.WriteByte('(')
		b.WriteString(n.String())
		b.WriteByte(')')
	case nil:
		b.WriteString("<nil>")
	default:
		b.WriteString(n.String())
	}
}

// String returns "NOT x".
func (n *Not) String() string {
	var b strings.Builder
	b.WriteString("NOT ")
	writeOperand(&b, n.Node)
	return b.String()
}

// String returns field:value, or the value alone for free text, escaped
// so that it parses back to the same Term.
func (n *Term) String() string {
	var b strings.Builder
	writeField(&b, n.Field)
	writeWord(&b, n.Field, n.Value, false)
	return b.String()
}

// String returns field:"value" or "value".
func (n *Phrase) String() string {
	var b strings.Builder
	writeField(&b, n.Field)
	writeQuoted(&b, n.Value)
	return b.String()
}

// String returns field:pattern or the pattern alone.
func (n *Wildcard) String() string {
	var b strings.Builder
	writeField(&b, n.Field)
	writeWord(&b, n.Field, n.Pattern, true)
	return b.String()
}

// String returns field:[from TO to] (or { }), or a comparison such as
// field:>=from when one end is open.
func (n *Range) String() string {
	var b strings.Builder
	writeField(&b, n.Field)
	switch {
	case n.From == "" && n.To == "":
		b.WriteString("[* TO *]")
	case n.To == "":
		b.WriteByte('>')
		if n.IncludeFrom {
			b.WriteByte('=')
		}
		writeBound(&b, n.From)
	case n.From == "":
		b.WriteByte('<')
		if n.IncludeTo {
			b.WriteByte('=')
		}
		writeBound(&b, n.To)
	default:
		if n.IncludeFrom {
			b.WriteByte('[')
		} else {
			b.WriteByte('{')
		}
		writeBound(&b, n.From)
		b.WriteString(" TO ")
		writeBound(&b, n.To)
		if n.IncludeTo {
			b.WriteByte(']')
		} else {
			b.WriteByte('}')
		}
	}
	return b.String()
}

// String returns _exists_:field.
func (n *Exists) String() string { return "_exists_:" + n.Field }

// String returns field:prefix.
func (n *CIDR) String() string { return n.Field + ":" + n.Prefix.String() }

func writeField(b *strings.Builder, field string) {
	if field != "" {
		b.WriteString(field)
		b.WriteByte(':')
	}
}

// writeWord writes a term value, or a wildcard pattern when pattern is set
// (whose \*, \? and \\ escapes and bare * and ? are kept), with backslashes
// before every character that would otherwise mean something.
func writeWord(b *strings.Builder, field, v string, pattern bool) {
	if v == "AND" || v == "OR" || v == "NOT" || strings.HasPrefix(v, "&&") || strings.HasPrefix(v, "||") {
		b.WriteByte('\\')
	}
	cidr := field != "" && !pattern && cidrCandidate(v)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if pattern && c == '\\' && i+1 < len(v) {
			b.WriteByte(c)
			i++
			b.WriteByte(v[i])
			continue
		}
		esc := false
		switch c {
		case ' ', '\t', '\n', '\r', '\f', '\v', '(', ')', '"':
			esc = true
		case '\\', '*', '?':
			esc = !pattern
		case ':':
			esc = field == ""
		case '/':
			esc = cidr
		case '-', '+', '!', '[', '{', '>', '<':
			esc = i == 0
		}
		if esc {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
}

// writeQuoted writes v in double quotes, escaping " and \.
func writeQuoted(b *strings.Builder, v string) {
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}

// writeBound writes a range bound bare when that is unambiguous, else
// quoted.
func writeBound(b *strings.Builder, v string) {
	if v == "" || v == "*" || v == "TO" || v[0] == '=' || v[0] == '"' ||
		strings.ContainsAny(v, " \t\n\r\f\v()[]{}\\\"") {
		writeQuoted(b, v)
		return
	}
	b.WriteString(v)
}
