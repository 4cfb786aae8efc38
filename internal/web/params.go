package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// Limits on what one request may ask for.
const (
	maxPageSize   = 10000     // hits per page (the store's limit)
	maxOffset     = 1_000_000 // hits skipped; deeper pages should narrow the query
	maxAggSize    = 1000      // buckets of a terms aggregation
	maxQueryLen   = 16 << 10  // characters of a query string
	maxBodyBytes  = 64 << 10  // bytes of a POST body
	minInterval   = time.Second
	defaultSize   = 50
	maxLogTypes   = 64
	maxFieldChars = 256
)

// params are the request parameters shared by the search and aggregate
// endpoints. GET requests carry them in the query string, POST requests as
// a JSON object with the same names (log_type then is a list).
type params struct {
	Query    string   `json:"query"`
	From     string   `json:"from"`
	To       string   `json:"to"`
	Since    string   `json:"since"`
	LogTypes []string `json:"log_type"`
	// search
	Sort   string `json:"sort"`
	Order  string `json:"order"`
	Size   *int   `json:"size"`
	Offset int    `json:"offset"`
	// aggregate
	Kind     string `json:"kind"`
	Field    string `json:"field"`
	Field2   string `json:"field2"`
	Metric   string `json:"metric"`
	Interval string `json:"interval"`
}

// badRequest is a client mistake; its message goes back as the 400 body.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// badf makes a badRequest.
func badf(format string, args ...any) error {
	return &badRequest{msg: fmt.Sprintf(format, args...)}
}

// readParams reads the parameters of r from its query string (GET) or its
// JSON body (POST).
func readParams(r *http.Request) (*params, error) {
	p := &params{}
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/json" {
			// Requiring JSON also keeps other sites' plain form posts out.
			return nil, badf("POST body must be JSON (Content-Type: application/json), got %q", r.Header.Get("Content-Type"))
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes+1))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			return nil, badf("reading the JSON body: %v", err)
		}
		if dec.More() {
			return nil, badf("reading the JSON body: more than one JSON value")
		}
		return p, nil
	}
	q := r.URL.Query()
	for k := range q {
		if !knownParam(k) {
			return nil, badf("unknown parameter %q (known: query, from, to, since, log_type, sort, order, size, offset, kind, field, field2, metric, interval)", k)
		}
	}
	p.Query = q.Get("query")
	p.From, p.To, p.Since = q.Get("from"), q.Get("to"), q.Get("since")
	for _, v := range q["log_type"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				p.LogTypes = append(p.LogTypes, t)
			}
		}
	}
	p.Sort, p.Order = q.Get("sort"), q.Get("order")
	var err error
	if v := q.Get("size"); v != "" {
		n, err := atoiParam("size", v)
		if err != nil {
			return nil, err
		}
		p.Size = &n
	}
	if p.Offset, err = intParam(q, "offset"); err != nil {
		return nil, err
	}
	p.Kind, p.Field, p.Field2, p.Metric, p.Interval = q.Get("kind"), q.Get("field"), q.Get("field2"), q.Get("metric"), q.Get("interval")
	return p, nil
}

// knownParam says whether the API reads a query-string parameter of this
// name; anything else is a typo worth reporting.
func knownParam(name string) bool {
	switch name {
	case "query", "from", "to", "since", "log_type", "sort", "order", "size", "offset",
		"kind", "field", "field2", "metric", "interval":
		return true
	}
	return false
}

// intParam reads an optional non-negative integer parameter.
func intParam(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	return atoiParam(name, v)
}

// atoiParam parses a non-negative integer parameter.
func atoiParam(name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badf("%s %q is not a non-negative integer", name, v)
	}
	return n, nil
}

// filter turns the shared parameters into a store.Filter, resolving since
// against now.
func (p *params) filter(now time.Time) (store.Filter, error) {
	f := store.Filter{Query: strings.TrimSpace(p.Query)}
	if len(f.Query) > maxQueryLen {
		return f, badf("query is %d characters; the limit is %d", len(f.Query), maxQueryLen)
	}
	if len(p.LogTypes) > maxLogTypes {
		return f, badf("%d log types given; the limit is %d", len(p.LogTypes), maxLogTypes)
	}
	for _, t := range p.LogTypes {
		if t = strings.TrimSpace(t); t != "" {
			if !validName(t) {
				return f, badf("log_type %q is not a log type name", t)
			}
			f.LogTypes = append(f.LogTypes, t)
		}
	}
	var err error
	if p.Since != "" {
		if p.From != "" {
			return f, badf("give since or from, not both")
		}
		d, err := parseDuration(p.Since)
		if err != nil {
			return f, badf("since %q: %v", p.Since, err)
		}
		if d <= 0 {
			return f, badf("since %q must be positive", p.Since)
		}
		f.From = now.Add(-d).UnixMilli()
	}
	if p.From != "" {
		if f.From, err = parseTime(p.From); err != nil {
			return f, badf("from %q: %v", p.From, err)
		}
	}
	if p.To != "" {
		if f.To, err = parseTime(p.To); err != nil {
			return f, badf("to %q: %v", p.To, err)
		}
	}
	if f.From != 0 && f.To != 0 && f.From >= f.To {
		return f, badf("from (%s) must be before to (%s)", msTime(f.From), msTime(f.To))
	}
	return f, nil
}

// search builds a store.SearchRequest from the parameters.
func (p *params) search(now time.Time) (store.SearchRequest, error) {
	f, err := p.filter(now)
	if err != nil {
		return store.SearchRequest{}, err
	}
	r := store.SearchRequest{Filter: f, Sort: strings.TrimSpace(p.Sort), Offset: p.Offset, Limit: defaultSize}
	if r.Sort != "" && !validField(r.Sort) {
		return r, badf("sort %q is not a field name", r.Sort)
	}
	switch strings.ToLower(p.Order) {
	case "", "desc":
	case "asc":
		r.Asc = true
	default:
		return r, badf("order %q must be asc or desc", p.Order)
	}
	if p.Size != nil {
		if *p.Size < 1 || *p.Size > maxPageSize {
			return r, badf("size %d must be from 1 to %d", *p.Size, maxPageSize)
		}
		r.Limit = *p.Size
	}
	if p.Offset < 0 || p.Offset > maxOffset {
		return r, badf("offset %d must be from 0 to %d; narrow the query or the time range to see older hits", p.Offset, maxOffset)
	}
	return r, nil
}

// aggregate builds a store.AggRequest from the parameters.
func (p *params) aggregate(now time.Time) (store.AggRequest, error) {
	f, err := p.filter(now)
	if err != nil {
		return store.AggRequest{}, err
	}
	r := store.AggRequest{Filter: f, Kind: store.AggKind(p.Kind), Field: strings.TrimSpace(p.Field),
		Field2: strings.TrimSpace(p.Field2), Metric: strings.TrimSpace(p.Metric)}
	if p.Size != nil {
		r.Size = *p.Size
	}
	if p.Interval != "" {
		if r.Interval, err = parseDuration(p.Interval); err != nil {
			return r, badf("interval %q: %v", p.Interval, err)
		}
	}
	return r, checkAgg(r)
}

// checkAgg validates an aggregation request: a known kind with the fields
// it needs and sizes in range.
func checkAgg(r store.AggRequest) error {
	need := func(name, v string) error {
		if v == "" {
			return badf("kind %s needs %s", r.Kind, name)
		}
		if !validField(v) {
			return badf("%s %q is not a field name", name, v)
		}
		return nil
	}
	switch r.Kind {
	case store.AggCount:
	case store.AggTerms:
		if err := need("field", r.Field); err != nil {
			return err
		}
		if r.Metric != "" && !validField(r.Metric) {
			return badf("metric %q is not a field name", r.Metric)
		}
	case store.AggTerms2:
		if err := need("field", r.Field); err != nil {
			return err
		}
		if err := need("field2", r.Field2); err != nil {
			return err
		}
	case store.AggDateHistogram:
		if r.Field != "" && !validField(r.Field) {
			return badf("field %q is not a field name", r.Field)
		}
		if r.Interval != 0 && r.Interval < minInterval {
			return badf("interval %s is shorter than %s", r.Interval, minInterval)
		}
	case store.AggCardinality:
		if err := need("field", r.Field); err != nil {
			return err
		}
	case "":
		return badf("kind is missing (one of count, terms, terms2, date_histogram, cardinality)")
	default:
		return badf("kind %q is not one of count, terms, terms2, date_histogram, cardinality", r.Kind)
	}
	if r.Metric != "" && r.Kind != store.AggTerms {
		return badf("metric applies to kind terms only, not %s", r.Kind)
	}
	if r.Field2 != "" && r.Kind != store.AggTerms2 {
		return badf("field2 applies to kind terms2 only, not %s", r.Kind)
	}
	if r.Size < 0 || r.Size > maxAggSize {
		return badf("size %d must be from 1 to %d", r.Size, maxAggSize)
	}
	return nil
}

// validField accepts ECS and raw field names: letters, digits and
// _ . @ - / (Security Hub's ProductFields keys hold slashes).
func validField(s string) bool {
	if s == "" || len(s) > maxFieldChars {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '.', c == '@', c == '-', c == '/':
		default:
			return false
		}
	}
	return true
}

// validName accepts log type names: letters, digits, - and _.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// parseTime reads RFC 3339 (with or without fractional seconds), a plain
// date (UTC midnight) or epoch milliseconds.
func parseTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("epoch milliseconds must not be negative")
		}
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, errors.New("not a time: use RFC 3339 (2024-01-02T15:04:05Z), a date (2024-01-02) or epoch milliseconds")
}

// parseDuration reads a Go duration ("90m", "1h30m") and also the d (day)
// and w (week) units the console's quick ranges use ("7d", "2w").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if v, err := strconv.Atoi(n); err == nil {
			return checkDays(v, 24*time.Hour)
		}
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		if v, err := strconv.Atoi(n); err == nil {
			return checkDays(v, 7*24*time.Hour)
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration: use e.g. 15m, 24h, 7d or 2w")
	}
	return d, nil
}

// checkDays multiplies a count of days or weeks, refusing overflow.
func checkDays(v int, unit time.Duration) (time.Duration, error) {
	if v < 0 || v > 100*365 {
		return 0, errors.New("out of range (0 to 100 years)")
	}
	return time.Duration(v) * unit, nil
}

// msTime formats epoch milliseconds as RFC 3339 in UTC.
func msTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
