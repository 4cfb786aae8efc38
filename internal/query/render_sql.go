package query

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// SQL precedence of a rendered fragment, to decide where parentheses go.
const (
	precAtom = iota
	precAnd
	precOr
)

// frag is a rendered piece of SQL with its bound arguments in order.
type frag struct {
	sql  string
	args []any
	prec int
}

func toSQL(n Node, s SQLSchema) (string, []any, error) {
	if s == nil {
		return "", nil, errors.New("query: ToSQL needs a schema")
	}
	f, err := sqlNode(n, s)
	if err != nil {
		return "", nil, err
	}
	return f.sql, f.args, nil
}

func sqlNode(n Node, s SQLSchema) (frag, error) {
	switch n := n.(type) {
	case *MatchAll:
		return frag{sql: "TRUE"}, nil
	case *And:
		return sqlJoin(n.Nodes, " AND ", precAnd, "TRUE", s)
	case *Or:
		return sqlJoin(n.Nodes, " OR ", precOr, "FALSE", s)
	case *Not:
		f, err := sqlNode(n.Node, s)
		if err != nil {
			return frag{}, err
		}
		// IS NOT TRUE, not NOT: a document lacking the field (NULL)
		// matches the negation, as in OpenSearch.
		return frag{sql: "(" + f.sql + ") IS NOT TRUE", args: f.args}, nil
	case *Term:
		return sqlValue(n.Field, n.Value, s)
	case *Phrase:
		return sqlValue(n.Field, n.Value, s)
	case *Wildcard:
		return sqlWildcard(n, s)
	case *Range:
		return sqlRange(n, s)
	case *Exists:
		f, err := sqlField(n.Field, s)
		if err != nil {
			return frag{}, err
		}
		if f.List {
			return frag{sql: "len(" + f.Expr + ") > 0", args: f.Args}, nil
		}
		return frag{sql: f.Expr + " IS NOT NULL", args: f.Args}, nil
	case *CIDR:
		f, err := sqlField(n.Field, s)
		if err != nil {
			return frag{}, err
		}
		return sqlCIDR(n.Field, n.Prefix, f)
	case nil:
		return frag{}, errors.New("query: nil node")
	default:
		return frag{}, fmt.Errorf("query: unknown node type %T", n)
	}
}

func sqlJoin(nodes []Node, op string, prec int, empty string, s SQLSchema) (frag, error) {
	if len(nodes) == 0 {
		return frag{sql: empty}, nil
	}
	if len(nodes) == 1 {
		return sqlNode(nodes[0], s)
	}
	out := frag{prec: prec}
	var b strings.Builder
	for i, c := range nodes {
		f, err := sqlNode(c, s)
		if err != nil {
			return frag{}, err
		}
		if i > 0 {
			b.WriteString(op)
		}
		if f.prec > prec {
			b.WriteString("(" + f.sql + ")")
		} else {
			b.WriteString(f.sql)
		}
		out.args = append(out.args, f.args...)
	}
	out.sql = b.String()
	return out, nil
}

func sqlField(name string, s SQLSchema) (SQLField, error) {
	f, ok := s.Field(name)
	if !ok {
		return SQLField{}, fieldErr(name, "", "no such field")
	}
	return f, nil
}

// valExpr is the SQL for the value a predicate tests: either one value, or
// a list whose elements are tested in a lambda.
type valExpr struct {
	sql  string
	args []any
	list bool
	// wrap, when set, is a function applied to each element of a list.
	wrap string
}

func plainVal(f SQLField) valExpr {
	return valExpr{sql: f.Expr, args: f.Args, list: f.List}
}

// numVal is the IP address of f as a UHUGEINT: Num when the field has it,
// else vigil_ip2num of the text (IPv4 only), v4only says which.
func numVal(f SQLField) (v valExpr, v4only bool) {
	if f.Num != "" && !f.List {
		return valExpr{sql: f.Num}, false
	}
	if f.List {
		return valExpr{sql: f.Expr, args: f.Args, list: true, wrap: "vigil_ip2num"}, true
	}
	return valExpr{sql: "vigil_ip2num(" + f.Expr + ")", args: f.Args}, true
}

// pred renders the template tmpl, in which $x stands for the value and
// each ? for the next of params; on a list it matches if any element does.
func (v valExpr) pred(tmpl string, params ...any) frag {
	if !v.list {
		sql, args := expand(tmpl, v.sql, v.args, params)
		return frag{sql: sql, args: args}
	}
	elem := "x"
	if v.wrap != "" {
		elem = v.wrap + "(x)"
	}
	inner, iargs := expand(tmpl, elem, nil, params)
	args := append(append([]any(nil), v.args...), iargs...)
	return frag{sql: "len(list_filter(" + v.sql + ", lambda x: " + inner + ")) > 0", args: args}
}

func expand(tmpl, x string, xargs, params []any) (string, []any) {
	var b strings.Builder
	var args []any
	k := 0
	for i := 0; i < len(tmpl); i++ {
		switch {
		case tmpl[i] == '$' && i+1 < len(tmpl) && tmpl[i+1] == 'x':
			b.WriteString(x)
			args = append(args, xargs...)
			i++
		case tmpl[i] == '?':
			b.WriteByte('?')
			args = append(args, params[k])
			k++
		default:
			b.WriteByte(tmpl[i])
		}
	}
	return b.String(), args
}

// likeEscape escapes the LIKE metacharacters of a literal string.
func likeEscape(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c == '_' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// likePattern turns a Wildcard pattern into a LIKE pattern (ESCAPE '\').
func likePattern(b *strings.Builder, pat string) {
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			i++
			likeEscape(b, pat[i:i+1])
		case c == '*':
			b.WriteByte('%')
		case c == '?':
			b.WriteByte('_')
		default:
			likeEscape(b, pat[i:i+1])
		}
	}
}

// containsLike is the ILIKE pattern for v as a substring.
func containsLike(v string) string {
	var b strings.Builder
	b.WriteByte('%')
	likeEscape(&b, v)
	b.WriteByte('%')
	return b.String()
}

// u128Param is the placeholder of a 128-bit address number, bound as a
// decimal string: the DuckDB driver's binding of *big.Int fails in some
// statements (those with a parameter inside a JSON path before it), a cast
// from a string never does.
const u128Param = "CAST(? AS UHUGEINT)"

const (
	tmplEq    = `$x = ?`
	tmplILike = `$x ILIKE ? ESCAPE '\'`
	tmplLike  = `$x LIKE ? ESCAPE '\'`
)

// sqlFreeText ORs the ILIKE pattern over the free-text fields.
func sqlFreeText(pattern string, s SQLSchema) (frag, error) {
	fields := s.FreeText()
	if len(fields) == 0 {
		return frag{}, fieldErr("", "", "this store has no free-text fields; search a field with field:value")
	}
	var out frag
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		p := plainVal(f).pred(tmplILike, pattern)
		parts = append(parts, p.sql)
		out.args = append(out.args, p.args...)
	}
	out.sql = strings.Join(parts, " OR ")
	if len(parts) > 1 {
		out.prec = precOr
	}
	return out, nil
}

// sqlValue renders a Term or Phrase: in SQL they differ only in how they
// were parsed (a phrase is never a wildcard or a CIDR node).
func sqlValue(name, v string, s SQLSchema) (frag, error) {
	if name == "" {
		return sqlFreeText(containsLike(v), s)
	}
	f, err := sqlField(name, s)
	if err != nil {
		return frag{}, err
	}
	switch f.Kind {
	case Text:
		return plainVal(f).pred(tmplILike, containsLike(v)), nil
	case Long:
		n, err := parseLong(name, v)
		if err != nil {
			return frag{}, err
		}
		return plainVal(f).pred(tmplEq, n), nil
	case Double:
		n, err := parseNumber(name, v, false)
		if err != nil {
			return frag{}, err
		}
		return plainVal(f).pred(tmplEq, n), nil
	case Bool:
		b, err := parseBool(name, v)
		if err != nil {
			return frag{}, err
		}
		return plainVal(f).pred(tmplEq, b), nil
	case Date:
		if relative(v) {
			return frag{}, fieldErr(name, v, "relative dates work in ranges and comparisons, e.g. "+name+":>=now-1h")
		}
		lo, hi, err := dateInterval(name, v, time.Time{})
		if err != nil {
			return frag{}, err
		}
		if lo == hi {
			return plainVal(f).pred(tmplEq, lo), nil
		}
		return plainVal(f).pred(`$x BETWEEN ? AND ?`, lo, hi), nil
	case IP:
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return frag{}, fieldErr(name, v, "not an IP address or CIDR")
			}
			return sqlCIDR(name, p, f)
		}
		a, err := parseAddr(name, v)
		if err != nil {
			return frag{}, err
		}
		if f.Num != "" && !f.List {
			return frag{sql: f.Num + " = " + u128Param, args: []any{ipNum(a).String()}}, nil
		}
		return sqlKeywordEq(f, a.Unmap().String()), nil
	}
	return sqlKeywordEq(f, v), nil
}

func sqlKeywordEq(f SQLField, v string) frag {
	if f.List {
		return frag{sql: "list_contains(" + f.Expr + ", ?)", args: append(append([]any(nil), f.Args...), v)}
	}
	return plainVal(f).pred(tmplEq, v)
}

func sqlWildcard(n *Wildcard, s SQLSchema) (frag, error) {
	var b strings.Builder
	if n.Field == "" {
		b.WriteByte('%')
		likePattern(&b, n.Pattern)
		b.WriteByte('%')
		return sqlFreeText(b.String(), s)
	}
	f, err := sqlField(n.Field, s)
	if err != nil {
		return frag{}, err
	}
	switch f.Kind {
	case Text:
		b.WriteByte('%')
		likePattern(&b, n.Pattern)
		b.WriteByte('%')
		return plainVal(f).pred(tmplILike, b.String()), nil
	case Keyword, IP:
		likePattern(&b, n.Pattern)
		return plainVal(f).pred(tmplLike, b.String()), nil
	}
	return frag{}, fieldErr(n.Field, n.Pattern, "wildcards apply to keyword, text and ip fields, not "+f.Kind.String())
}

func sqlCIDR(name string, p netip.Prefix, f SQLField) (frag, error) {
	switch f.Kind {
	case IP, Keyword, Text:
	default:
		return frag{}, fieldErr(name, p.String(), "a CIDR applies to ip and keyword fields, not "+f.Kind.String())
	}
	v, v4only := numVal(f)
	if v4only && !prefixV4(p) {
		return frag{}, fieldErr(name, p.String(), "IPv6 CIDRs need a field stored as an ip column; this field matches IPv4 only")
	}
	lo, hi := prefixNums(p)
	return v.pred(`$x BETWEEN `+u128Param+` AND `+u128Param, lo.String(), hi.String()), nil
}

func sqlRange(r *Range, s SQLSchema) (frag, error) {
	f, err := sqlField(r.Field, s)
	if err != nil {
		return frag{}, err
	}
	v := plainVal(f)
	var from, to any
	param := "?"
	switch f.Kind {
	case Keyword, Text:
		from, to = r.From, r.To
	case Long, Double:
		if r.From != "" {
			if from, err = parseNumber(r.Field, r.From, f.Kind == Long); err != nil {
				return frag{}, err
			}
		}
		if r.To != "" {
			if to, err = parseNumber(r.Field, r.To, f.Kind == Long); err != nil {
				return frag{}, err
			}
		}
	case Date:
		// A bound is an interval; gte takes its start, gt its end,
		// lte its end, lt its start (OpenSearch's rounding).
		if r.From != "" {
			lo, hi, err := dateInterval(r.Field, r.From, r.Now)
			if err != nil {
				return frag{}, err
			}
			from = lo
			if !r.IncludeFrom {
				from = hi
			}
		}
		if r.To != "" {
			lo, hi, err := dateInterval(r.Field, r.To, r.Now)
			if err != nil {
				return frag{}, err
			}
			to = hi
			if !r.IncludeTo {
				to = lo
			}
		}
	case IP:
		var v4only bool
		v, v4only = numVal(f)
		for _, b := range []struct {
			s   string
			dst *any
		}{{r.From, &from}, {r.To, &to}} {
			if b.s == "" {
				continue
			}
			a, err := parseAddr(r.Field, b.s)
			if err != nil {
				return frag{}, err
			}
			if v4only && !isV4(a) {
				return frag{}, fieldErr(r.Field, b.s, "IPv6 ranges need a field stored as an ip column; this field compares IPv4 only")
			}
			*b.dst = ipNum(a).String()
		}
		param = u128Param
	default:
		return frag{}, fieldErr(r.Field, "", "ranges do not apply to "+f.Kind.String()+" fields")
	}
	lop, hop := ">", "<"
	if r.IncludeFrom {
		lop = ">="
	}
	if r.IncludeTo {
		hop = "<="
	}
	switch {
	case r.From != "" && r.To != "":
		if r.IncludeFrom && r.IncludeTo {
			return v.pred(`$x BETWEEN `+param+` AND `+param, from, to), nil
		}
		return v.pred(`($x `+lop+` `+param+` AND $x `+hop+` `+param+`)`, from, to), nil
	case r.From != "":
		return v.pred(`$x `+lop+` `+param, from), nil
	case r.To != "":
		return v.pred(`$x `+hop+` `+param, to), nil
	}
	if f.List {
		return frag{sql: "len(" + f.Expr + ") > 0", args: f.Args}, nil
	}
	return frag{sql: f.Expr + " IS NOT NULL", args: f.Args}, nil
}
