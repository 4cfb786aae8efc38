package web

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/query"
	"github.com/vigil-siem/vigil/internal/store"
)

// fakeStore is an in-memory store.Store for the handler tests: it keeps
// documents in a slice and evaluates the query AST over their flattened
// fields. It is slow and simple on purpose.
type fakeStore struct {
	mu   sync.Mutex
	docs []fakeDoc
	// failWith, when set, is returned by every read.
	failWith error
	// calls records the aggregation requests, for tests that check what
	// the server asked.
	aggs []store.AggRequest
}

type fakeDoc struct {
	store.Doc
	flat map[string][]string
}

var _ store.Store = (*fakeStore)(nil)

func newFakeStore(docs []store.Doc) *fakeStore {
	f := &fakeStore{}
	if err := f.Write(context.Background(), docs); err != nil {
		panic(err)
	}
	return f
}

func (f *fakeStore) Write(_ context.Context, docs []store.Doc) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range docs {
		var m map[string]any
		if err := json.Unmarshal(d.Source, &m); err != nil {
			return fmt.Errorf("fake store: document %s: %w", d.ID, err)
		}
		flat := map[string][]string{}
		flatten("", m, flat)
		flat["_id"] = []string{d.ID}
		fd := fakeDoc{Doc: d, flat: flat}
		fd.Source = append([]byte(nil), d.Source...)
		if i := slices.IndexFunc(f.docs, func(x fakeDoc) bool { return x.ID == d.ID }); i >= 0 {
			f.docs[i] = fd
		} else {
			f.docs = append(f.docs, fd)
		}
	}
	return nil
}

// flatten collects the leaf values of a JSON object under dotted names.
func flatten(prefix string, v any, out map[string][]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, e, out)
		}
	case []any:
		for _, e := range x {
			flatten(prefix, e, out)
		}
	case nil:
	case string:
		out[prefix] = append(out[prefix], x)
	case float64:
		out[prefix] = append(out[prefix], strconv.FormatFloat(x, 'f', -1, 64))
	case bool:
		out[prefix] = append(out[prefix], strconv.FormatBool(x))
	}
}

func (f *fakeStore) parse(q string) (query.Node, error) {
	n, err := query.Parse(q)
	if err != nil && strings.Contains(err.Error(), "not implemented") {
		return miniParse(q)
	}
	return n, err
}

// match returns the documents the filter selects.
func (f *fakeStore) match(flt store.Filter) ([]fakeDoc, error) {
	if f.failWith != nil {
		return nil, f.failWith
	}
	n, err := f.parse(flt.Query)
	if err != nil {
		return nil, fmt.Errorf("parsing the query: %w", err)
	}
	var out []fakeDoc
	for _, d := range f.docs {
		if flt.From != 0 && d.TimestampMs < flt.From || flt.To != 0 && d.TimestampMs >= flt.To {
			continue
		}
		if len(flt.LogTypes) > 0 && !slices.Contains(flt.LogTypes, d.LogType) {
			continue
		}
		ok, err := eval(n, d.flat)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func eval(n query.Node, flat map[string][]string) (bool, error) {
	anyOf := func(field string, pred func(string) bool) bool {
		if field == "" {
			for k, vs := range flat {
				if k == "_id" {
					continue // free text searches the document, not its id
				}
				for _, v := range vs {
					if pred(v) {
						return true
					}
				}
			}
			return false
		}
		return slices.ContainsFunc(flat[field], pred)
	}
	switch x := n.(type) {
	case nil, *query.MatchAll:
		return true, nil
	case *query.And:
		for _, c := range x.Nodes {
			if ok, err := eval(c, flat); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case *query.Or:
		for _, c := range x.Nodes {
			if ok, err := eval(c, flat); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case *query.Not:
		ok, err := eval(x.Node, flat)
		return !ok, err
	case *query.Term:
		return anyOf(x.Field, func(v string) bool { return textEq(x.Field, v, x.Value) }), nil
	case *query.Phrase:
		return anyOf(x.Field, func(v string) bool { return textEq(x.Field, v, x.Value) }), nil
	case *query.Wildcard:
		re := wildcardRE(x.Pattern, x.Field == "")
		return anyOf(x.Field, re.MatchString), nil
	case *query.Exists:
		return len(flat[x.Field]) > 0, nil
	case *query.CIDR:
		return anyOf(x.Field, func(v string) bool {
			a, err := netip.ParseAddr(v)
			return err == nil && x.Prefix.Masked().Contains(a)
		}), nil
	case *query.Range:
		return anyOf(x.Field, func(v string) bool { return inRange(v, x) }), nil
	}
	return false, fmt.Errorf("fake store: node %T", n)
}

func textEq(field, v, want string) bool {
	if field == "" {
		return strings.Contains(strings.ToLower(v), strings.ToLower(want))
	}
	return v == want
}

func wildcardRE(p string, free bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	if free {
		b.WriteString("(?i).*")
	}
	for _, c := range p {
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if free {
		b.WriteString(".*")
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func inRange(v string, r *query.Range) bool {
	cmpTo := func(bound string) (int, bool) {
		a, err1 := strconv.ParseFloat(v, 64)
		b, err2 := strconv.ParseFloat(bound, 64)
		if err1 == nil && err2 == nil {
			return cmp.Compare(a, b), true
		}
		return strings.Compare(v, bound), true
	}
	if r.From != "" {
		c, _ := cmpTo(r.From)
		if c < 0 || c == 0 && !r.IncludeFrom {
			return false
		}
	}
	if r.To != "" {
		c, _ := cmpTo(r.To)
		if c > 0 || c == 0 && !r.IncludeTo {
			return false
		}
	}
	return true
}

func (f *fakeStore) Search(_ context.Context, r store.SearchRequest) (*store.SearchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.match(r.Filter)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(m, func(a, b fakeDoc) int {
		var c int
		if r.Sort == "" || r.Sort == "@timestamp" {
			c = cmp.Compare(a.TimestampMs, b.TimestampMs)
		} else {
			c = strings.Compare(first(a.flat[r.Sort]), first(b.flat[r.Sort]))
		}
		if !r.Asc {
			c = -c
		}
		return cmp.Or(c, strings.Compare(a.ID, b.ID))
	})
	limit := cmp.Or(r.Limit, 100)
	res := &store.SearchResult{Total: int64(len(m))}
	for i := r.Offset; i < len(m) && i < r.Offset+limit; i++ {
		res.Hits = append(res.Hits, toStoreHit(m[i]))
	}
	return res, nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func toStoreHit(d fakeDoc) store.Hit {
	return store.Hit{ID: d.ID, Index: d.Index, LogType: d.LogType, TimestampMs: d.TimestampMs, Source: append(json.RawMessage(nil), d.Source...)}
}

func (f *fakeStore) Aggregate(_ context.Context, r store.AggRequest) (*store.AggResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aggs = append(f.aggs, r)
	m, err := f.match(r.Filter)
	if err != nil {
		return nil, err
	}
	size := cmp.Or(r.Size, 10)
	res := &store.AggResult{}
	switch r.Kind {
	case store.AggCount:
		res.Value = float64(len(m))
	case store.AggCardinality:
		seen := map[string]bool{}
		for _, d := range m {
			for _, v := range d.flat[r.Field] {
				seen[v] = true
			}
		}
		res.Value = float64(len(seen))
	case store.AggTerms:
		counts := map[string]*store.Bucket{}
		for _, d := range m {
			for _, v := range d.flat[r.Field] {
				b := counts[v]
				if b == nil {
					b = &store.Bucket{Key: v}
					counts[v] = b
				}
				b.Count++
				if r.Metric != "" {
					x, _ := strconv.ParseFloat(first(d.flat[r.Metric]), 64)
					b.Value += x
				}
			}
		}
		res.Buckets = topBuckets(counts, size, r.Metric != "")
	case store.AggTerms2:
		counts := map[string]*store.Bucket{}
		for _, d := range m {
			a, b := first(d.flat[r.Field]), first(d.flat[r.Field2])
			if a == "" || b == "" {
				continue
			}
			k := a + "\x00" + b
			if counts[k] == nil {
				counts[k] = &store.Bucket{Key: a, Key2: b}
			}
			counts[k].Count++
		}
		res.Buckets = topBuckets(counts, size, false)
	case store.AggDateHistogram:
		res.Buckets, res.Interval = histogram(m, r, size)
	default:
		return nil, fmt.Errorf("fake store: kind %q", r.Kind)
	}
	return res, nil
}

func topBuckets(m map[string]*store.Bucket, size int, byValue bool) []store.Bucket {
	var out []store.Bucket
	for _, b := range m {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b store.Bucket) int {
		if byValue {
			if c := cmp.Compare(b.Value, a.Value); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Key, b.Key), strings.Compare(a.Key2, b.Key2))
	})
	if len(out) > size {
		out = out[:size]
	}
	return out
}

func histogram(m []fakeDoc, r store.AggRequest, size int) ([]store.Bucket, time.Duration) {
	from, to := r.From, r.To
	if len(m) > 0 && (from == 0 || to == 0) {
		lo, hi := int64(math.MaxInt64), int64(0)
		for _, d := range m {
			lo, hi = min(lo, d.TimestampMs), max(hi, d.TimestampMs+1)
		}
		if from == 0 {
			from = lo
		}
		if to == 0 {
			to = hi
		}
	}
	iv := r.Interval
	if iv == 0 {
		iv = time.Second
		for _, c := range []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
			10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
			iv = c
			if time.Duration(to-from)*time.Millisecond/c <= 60 {
				break
			}
		}
	}
	ivMs := iv.Milliseconds()
	var top map[string]bool
	if r.Field != "" {
		counts := map[string]*store.Bucket{}
		for _, d := range m {
			v := first(d.flat[r.Field])
			if v == "" {
				continue
			}
			if counts[v] == nil {
				counts[v] = &store.Bucket{Key: v}
			}
			counts[v].Count++
		}
		top = map[string]bool{}
		for _, b := range topBuckets(counts, size, false) {
			top[b.Key] = true
		}
	}
	counts := map[string]*store.Bucket{}
	for _, d := range m {
		start := d.TimestampMs / ivMs * ivMs
		k2 := ""
		if top != nil {
			k2 = first(d.flat[r.Field])
			if !top[k2] {
				continue
			}
		}
		k := strconv.FormatInt(start, 10) + "\x00" + k2
		if counts[k] == nil {
			counts[k] = &store.Bucket{Key: strconv.FormatInt(start, 10), Key2: k2}
		}
		counts[k].Count++
	}
	var out []store.Bucket
	for _, b := range counts {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b store.Bucket) int {
		x, _ := strconv.ParseInt(a.Key, 10, 64)
		y, _ := strconv.ParseInt(b.Key, 10, 64)
		return cmp.Or(cmp.Compare(x, y), strings.Compare(a.Key2, b.Key2))
	})
	return out, iv
}

func (f *fakeStore) Get(_ context.Context, id string) (*store.Hit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	for _, d := range f.docs {
		if d.ID == id {
			h := toStoreHit(d)
			return &h, nil
		}
	}
	return nil, fmt.Errorf("reading document %q: %w", id, store.ErrNotFound)
}

func (f *fakeStore) Fields(_ context.Context, logType string) ([]store.Field, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	types := map[string]string{}
	for _, d := range f.docs {
		if logType != "" && d.LogType != logType {
			continue
		}
		for k, vs := range d.flat {
			t := "keyword"
			if _, err := strconv.ParseFloat(first(vs), 64); err == nil {
				t = "double"
			}
			if types[k] == "" {
				types[k] = t
			}
		}
	}
	var out []store.Field
	for k, t := range types {
		out = append(out, store.Field{Name: k, Type: t, Indexed: strings.Contains(k, ".")})
	}
	slices.SortFunc(out, func(a, b store.Field) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeStore) Indices(context.Context) ([]store.IndexInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	m := map[string]*store.IndexInfo{}
	for _, d := range f.docs {
		i := m[d.Index]
		if i == nil {
			i = &store.IndexInfo{Name: d.Index, LogType: d.LogType, MinMs: d.TimestampMs, MaxMs: d.TimestampMs}
			m[d.Index] = i
		}
		i.Docs++
		i.Bytes += int64(len(d.Source))
		i.MinMs, i.MaxMs = min(i.MinMs, d.TimestampMs), max(i.MaxMs, d.TimestampMs)
	}
	var out []store.IndexInfo
	for _, i := range m {
		out = append(out, *i)
	}
	slices.SortFunc(out, func(a, b store.IndexInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeStore) DeleteBefore(context.Context, string, time.Time) (int64, error) {
	return 0, errors.New("fake store: DeleteBefore not supported")
}

func (f *fakeStore) Close() error { return nil }

// miniParse is a small parser for the query syntax the tests and the
// dashboards use, producing the query package's AST. The fake store uses
// it while query.Parse is not available.
func miniParse(s string) (query.Node, error) {
	p := &miniParser{s: s}
	p.skip()
	if p.pos == len(s) {
		return &query.MatchAll{}, nil
	}
	n, err := p.or("")
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos < len(s) {
		return nil, &query.SyntaxError{Pos: p.pos, Msg: fmt.Sprintf("unexpected %q", s[p.pos:p.pos+1])}
	}
	return n, nil
}

type miniParser struct {
	s   string
	pos int
}

func (p *miniParser) skip() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *miniParser) keyword(k string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.pos:], k+" ") {
		p.pos += len(k) + 1
		return true
	}
	return false
}

func (p *miniParser) or(field string) (query.Node, error) {
	var nodes []query.Node
	for {
		n, err := p.and(field)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		if !p.keyword("OR") {
			break
		}
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return &query.Or{Nodes: nodes}, nil
}

func (p *miniParser) and(field string) (query.Node, error) {
	var nodes []query.Node
	for {
		n, err := p.unary(field)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		p.keyword("AND")
		p.skip()
		if p.pos == len(p.s) || p.s[p.pos] == ')' || strings.HasPrefix(p.s[p.pos:], "OR ") {
			break
		}
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return &query.And{Nodes: nodes}, nil
}

func (p *miniParser) unary(field string) (query.Node, error) {
	if p.keyword("NOT") {
		n, err := p.unary(field)
		if err != nil {
			return nil, err
		}
		return &query.Not{Node: n}, nil
	}
	p.skip()
	if p.pos == len(p.s) {
		return nil, &query.SyntaxError{Pos: p.pos, Msg: "expected a term"}
	}
	if p.s[p.pos] == '(' {
		open := p.pos
		p.pos++
		n, err := p.or(field)
		if err != nil {
			return nil, err
		}
		p.skip()
		if p.pos == len(p.s) || p.s[p.pos] != ')' {
			return nil, &query.SyntaxError{Pos: open, Msg: "unclosed parenthesis"}
		}
		p.pos++
		return n, nil
	}
	if p.s[p.pos] == '"' {
		v, err := p.quoted()
		if err != nil {
			return nil, err
		}
		return &query.Phrase{Field: field, Value: v}, nil
	}
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(" ()\"", rune(p.s[p.pos])) {
		if p.s[p.pos] == ':' && field == "" {
			break
		}
		p.pos++
	}
	word := p.s[start:p.pos]
	if p.pos < len(p.s) && p.s[p.pos] == ':' && field == "" {
		p.pos++
		if word == "_exists_" {
			n, err := p.unary("")
			if err != nil {
				return nil, err
			}
			t, ok := n.(*query.Term)
			if !ok {
				return nil, &query.SyntaxError{Pos: start, Msg: "_exists_ needs a field name"}
			}
			return &query.Exists{Field: t.Value}, nil
		}
		if p.pos < len(p.s) && p.s[p.pos] == '>' {
			op := ">"
			p.pos++
			if p.pos < len(p.s) && p.s[p.pos] == '=' {
				op = ">="
				p.pos++
			}
			n, err := p.unary(word)
			if err != nil {
				return nil, err
			}
			t, _ := n.(*query.Term)
			if t == nil {
				return nil, &query.SyntaxError{Pos: start, Msg: "comparison needs a value"}
			}
			return &query.Range{Field: word, From: t.Value, IncludeFrom: op == ">="}, nil
		}
		return p.unary(word)
	}
	if word == "" {
		return nil, &query.SyntaxError{Pos: p.pos, Msg: "expected a term"}
	}
	if word == "*" && field != "" {
		return &query.Exists{Field: field}, nil
	}
	if strings.ContainsAny(word, "*?") {
		return &query.Wildcard{Field: field, Pattern: word}, nil
	}
	if field != "" && strings.Contains(word, "/") {
		if pfx, err := netip.ParsePrefix(word); err == nil {
			return &query.CIDR{Field: field, Prefix: pfx}, nil
		}
	}
	return &query.Term{Field: field, Value: word}, nil
}

func (p *miniParser) quoted() (string, error) {
	open := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.s):
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
		case c == '"':
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", &query.SyntaxError{Pos: open, Msg: "unterminated quoted string"}
}
