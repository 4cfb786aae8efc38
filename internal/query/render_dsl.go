package query

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// dateFormat is the format ToDSL gives date range queries, so OpenSearch
// reads the bounds exactly as ToSQL does whatever the field's mapping says.
const dateFormat = "strict_date_optional_time||epoch_millis"

type dslRenderer struct {
	s DSLSchema
}

func (d dslRenderer) kind(field string) Kind {
	if d.s == nil {
		return Keyword
	}
	return d.s.Kind(field)
}

func toDSL(n Node, s DSLSchema) (map[string]any, error) {
	return dslRenderer{s: s}.node(n)
}

type obj = map[string]any

func (d dslRenderer) node(n Node) (obj, error) {
	switch n := n.(type) {
	case *MatchAll:
		return obj{"match_all": obj{}}, nil
	case *And:
		if len(n.Nodes) == 1 {
			return d.node(n.Nodes[0])
		}
		var filter, mustNot []any
		for _, c := range n.Nodes {
			if neg, ok := c.(*Not); ok {
				q, err := d.node(neg.Node)
				if err != nil {
					return nil, err
				}
				mustNot = append(mustNot, q)
				continue
			}
			q, err := d.node(c)
			if err != nil {
				return nil, err
			}
			filter = append(filter, q)
		}
		b := obj{}
		if filter != nil {
			b["filter"] = filter
		}
		if mustNot != nil {
			b["must_not"] = mustNot
		}
		return obj{"bool": b}, nil
	case *Or:
		if len(n.Nodes) == 1 {
			return d.node(n.Nodes[0])
		}
		should := make([]any, 0, len(n.Nodes))
		for _, c := range n.Nodes {
			q, err := d.node(c)
			if err != nil {
				return nil, err
			}
			should = append(should, q)
		}
		return obj{"bool": obj{"should": should, "minimum_should_match": 1}}, nil
	case *Not:
		q, err := d.node(n.Node)
		if err != nil {
			return nil, err
		}
		return obj{"bool": obj{"must_not": []any{q}}}, nil
	case *Term:
		if n.Field == "" {
			return d.freeText(phraseQS(n.Value), false), nil
		}
		return d.value(n.Field, n.Value, false)
	case *Phrase:
		if n.Field == "" {
			return d.freeText(phraseQS(n.Value), false), nil
		}
		return d.value(n.Field, n.Value, true)
	case *Wildcard:
		return d.wildcard(n)
	case *Range:
		return d.rangeQuery(n)
	case *Exists:
		return obj{"exists": obj{"field": n.Field}}, nil
	case *CIDR:
		return d.cidr(n.Field, n.Prefix)
	case nil:
		return nil, errors.New("query: nil node")
	default:
		return nil, fmt.Errorf("query: unknown node type %T", n)
	}
}

func term(field string, v any) obj {
	return obj{"term": obj{field: v}}
}

func (d dslRenderer) value(field, v string, phrase bool) (obj, error) {
	switch d.kind(field) {
	case Text:
		if phrase {
			return obj{"match_phrase": obj{field: v}}, nil
		}
		return obj{"match": obj{field: obj{"query": v, "operator": "and"}}}, nil
	case Long:
		n, err := parseLong(field, v)
		if err != nil {
			return nil, err
		}
		return term(field, n), nil
	case Double:
		n, err := parseNumber(field, v, false)
		if err != nil {
			return nil, err
		}
		return term(field, n), nil
	case Bool:
		b, err := parseBool(field, v)
		if err != nil {
			return nil, err
		}
		return term(field, b), nil
	case Date:
		if relative(v) {
			return nil, fieldErr(field, v, "relative dates work in ranges and comparisons, e.g. "+field+":>=now-1h")
		}
		if _, _, err := dateInterval(field, v, time.Time{}); err != nil {
			return nil, err
		}
		// gte and lte of the same value: OpenSearch rounds the upper
		// bound up, so a day matches the whole day, as in ToSQL.
		return obj{"range": obj{field: obj{"gte": v, "lte": v, "format": dateFormat}}}, nil
	case IP:
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return nil, fieldErr(field, v, "not an IP address or CIDR")
			}
			return d.cidr(field, p)
		}
		a, err := parseAddr(field, v)
		if err != nil {
			return nil, err
		}
		return term(field, a.Unmap().String()), nil
	}
	return term(field, v), nil
}

func (d dslRenderer) cidr(field string, p netip.Prefix) (obj, error) {
	switch k := d.kind(field); k {
	case IP, Keyword:
	default:
		return nil, fieldErr(field, p.String(), "a CIDR applies to ip fields, not "+k.String())
	}
	return term(field, p.Masked().String()), nil
}

func (d dslRenderer) wildcard(n *Wildcard) (obj, error) {
	if n.Field == "" {
		return d.freeText(wildcardQS(n.Pattern), true), nil
	}
	switch k := d.kind(n.Field); k {
	case Keyword:
		return obj{"wildcard": obj{n.Field: obj{"value": n.Pattern}}}, nil
	case Text:
		return obj{"wildcard": obj{n.Field: obj{"value": n.Pattern, "case_insensitive": true}}}, nil
	default:
		return nil, fieldErr(n.Field, n.Pattern, "wildcards apply to keyword and text fields in OpenSearch, not "+k.String())
	}
}

func (d dslRenderer) rangeQuery(r *Range) (obj, error) {
	k := d.kind(r.Field)
	body := obj{}
	for _, b := range []struct {
		v       string
		inc     bool
		in, out string
	}{{r.From, r.IncludeFrom, "gte", "gt"}, {r.To, r.IncludeTo, "lte", "lt"}} {
		if b.v == "" {
			continue
		}
		key := b.out
		if b.inc {
			key = b.in
		}
		var v any = b.v
		switch k {
		case Long, Double:
			n, err := parseNumber(r.Field, b.v, k == Long)
			if err != nil {
				return nil, err
			}
			v = n
		case Date:
			if _, _, err := dateInterval(r.Field, b.v, r.Now); err != nil {
				return nil, err
			}
			body["format"] = dateFormat
		case IP:
			a, err := parseAddr(r.Field, b.v)
			if err != nil {
				return nil, err
			}
			v = a.Unmap().String()
		case Bool:
			return nil, fieldErr(r.Field, "", "ranges do not apply to boolean fields")
		}
		body[key] = v
	}
	if r.From == "" && r.To == "" {
		return obj{"exists": obj{"field": r.Field}}, nil
	}
	return obj{"range": obj{r.Field: body}}, nil
}

// freeText is a query_string query for free text: q is already in
// query_string syntax.
func (d dslRenderer) freeText(q string, wildcard bool) obj {
	fields := []any{"*"}
	if ft, ok := d.s.(FreeTextDSLSchema); ok {
		if names := ft.FreeTextFields(); len(names) > 0 {
			fields = make([]any, len(names))
			for i, n := range names {
				fields[i] = n
			}
		}
	}
	body := obj{"query": q, "fields": fields, "lenient": true}
	if wildcard {
		body["analyze_wildcard"] = true
	}
	return obj{"query_string": body}
}

// phraseQS quotes a free-text value for query_string: a quoted phrase
// needs only " and \ escaped, and keeps < and >, which cannot be escaped
// outside quotes.
func phraseQS(v string) string {
	var b strings.Builder
	writeQuoted(&b, v)
	return b.String()
}

// wildcardQS writes a Wildcard pattern in query_string syntax: every
// reserved character escaped except the wildcards. < and >, which
// query_string cannot escape, become ? (any one character).
func wildcardQS(pat string) string {
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			b.WriteByte('\\')
			i++
			b.WriteByte(pat[i])
		case c == '*' || c == '?':
			b.WriteByte(c)
		case c == '<' || c == '>':
			b.WriteByte('?')
		case strings.IndexByte("+-=&|!(){}[]^\"~:\\/ \t\n\r\f\v", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
