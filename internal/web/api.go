package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/query"
	"github.com/vigil-siem/vigil/internal/store"
)

// errorBody is every error response: {"error": "..."}, with the byte
// position in the query when the query could not be parsed.
type errorBody struct {
	Error    string `json:"error"`
	Position *int   `json:"position,omitempty"`
}

// writeJSON writes v as the JSON response with status. API responses are
// never cached: they show live data.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// HTML escaping stays on: a response opened directly in a browser
	// still cannot carry markup.
	_ = enc.Encode(v) // the client went away; nothing to do
}

// writeError writes {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// fail answers a failed request: 400 for the caller's mistakes (bad
// parameters, a query that does not parse or does not fit the fields),
// 404 for a missing document, 504 for a timeout, 500 otherwise (logged).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, doing string, err error) {
	var (
		br  *badRequest
		se  *query.SyntaxError
		fe  *query.FieldError
		pos *int
	)
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.msg)
	case errors.As(err, &se):
		p := se.Pos
		pos = &p
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("query: position %d: %s", se.Pos, se.Msg), Position: pos})
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("%s took longer than %s; narrow the time range or the query", doing, s.opts.QueryTimeout))
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		return
	default:
		s.log.Error("request failed", slog.String("path", r.URL.Path), slog.String("doing", doing), slog.Any("error", err))
		writeError(w, http.StatusInternalServerError, doing+": "+err.Error())
	}
}

// queryContext bounds one store call by Options.QueryTimeout.
func (s *Server) queryContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.opts.QueryTimeout)
}

// hitJSON is one search hit as the API returns it: the stored hit with its
// time also in RFC 3339.
type hitJSON struct {
	ID          string          `json:"_id"`
	Index       string          `json:"_index"`
	LogType     string          `json:"log_type"`
	TimestampMs int64           `json:"timestamp_ms"`
	Timestamp   string          `json:"@timestamp"`
	Source      json.RawMessage `json:"_source"`
}

// searchJSON is the response of /api/search and /api/alerts.
type searchJSON struct {
	Total  int64     `json:"total"`
	Offset int       `json:"offset"`
	Size   int       `json:"size"`
	TookMs int64     `json:"took_ms"`
	Hits   []hitJSON `json:"hits"`
}

// toHit converts a stored hit.
func toHit(h store.Hit) hitJSON {
	src := h.Source
	if len(src) == 0 {
		src = json.RawMessage("{}")
	}
	return hitJSON{ID: h.ID, Index: h.Index, LogType: h.LogType, TimestampMs: h.TimestampMs,
		Timestamp: msTime(h.TimestampMs), Source: src}
}

// tookMs is the store's own time when it reports one, else the time since
// start.
func tookMs(took time.Duration, start time.Time) int64 {
	if took <= 0 {
		took = time.Since(start)
	}
	return took.Milliseconds()
}

// handleHealth answers whether the store answers, with the version.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	body := map[string]any{
		"status":         "ok",
		"version":        s.opts.Version,
		"read_only":      s.opts.ReadOnly,
		"auth":           s.opts.hasAuth(),
		"token_auth":     s.opts.AuthToken != "",
		"alerts_write":   s.opts.Alerts != nil && !s.opts.ReadOnly,
		"alert_log_type": s.opts.AlertLogType,
		"uptime_s":       int64(time.Since(s.started).Seconds()),
	}
	idx, err := s.st.Indices(ctx)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		s.log.Warn("health check: store does not answer", slog.Any("error", err))
		body["status"] = "unavailable"
		body["error"] = "the store does not answer: " + err.Error()
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	var docs int64
	for _, i := range idx {
		docs += i.Docs
	}
	body["docs"] = docs
	body["indices"] = len(idx)
	writeJSON(w, http.StatusOK, body)
}

// handleSearch returns a page of matching documents.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(r)
	if err != nil {
		s.fail(w, r, "reading the search", err)
		return
	}
	if p.Kind != "" || p.Field != "" || p.Field2 != "" || p.Metric != "" || p.Interval != "" {
		s.fail(w, r, "reading the search", badf("kind, field, field2, metric and interval belong to /api/aggregate"))
		return
	}
	req, err := p.search(time.Now())
	if err != nil {
		s.fail(w, r, "reading the search", err)
		return
	}
	s.search(w, r, req)
}

// search runs req and writes the page.
func (s *Server) search(w http.ResponseWriter, r *http.Request, req store.SearchRequest) {
	ctx, cancel := s.queryContext(r)
	defer cancel()
	start := time.Now()
	res, err := s.st.Search(ctx, req)
	if err != nil {
		s.fail(w, r, "searching", err)
		return
	}
	out := searchJSON{Total: res.Total, Offset: req.Offset, Size: req.Limit, TookMs: tookMs(res.Took, start), Hits: make([]hitJSON, 0, len(res.Hits))}
	for _, h := range res.Hits {
		out.Hits = append(out.Hits, toHit(h))
	}
	writeJSON(w, http.StatusOK, out)
}

// aggJSON is the response of /api/aggregate and the panel endpoint.
type aggJSON struct {
	Kind       store.AggKind  `json:"kind"`
	Field      string         `json:"field,omitempty"`
	Field2     string         `json:"field2,omitempty"`
	Metric     string         `json:"metric,omitempty"`
	Value      float64        `json:"value"`
	Buckets    []store.Bucket `json:"buckets"`
	IntervalMs int64          `json:"interval_ms,omitempty"`
	TookMs     int64          `json:"took_ms"`
	// Query and LogTypes are the filter the aggregation ran with (for a
	// panel, its own query combined with the request's), so the console
	// can open the same documents in Discover.
	Query    string   `json:"query"`
	LogTypes []string `json:"log_type"`
	From     int64    `json:"from,omitempty"`
	To       int64    `json:"to,omitempty"`
}

// handleAggregate runs one aggregation.
func (s *Server) handleAggregate(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(r)
	if err != nil {
		s.fail(w, r, "reading the aggregation", err)
		return
	}
	if p.Sort != "" || p.Order != "" || p.Offset != 0 {
		s.fail(w, r, "reading the aggregation", badf("sort, order and offset belong to /api/search"))
		return
	}
	req, err := p.aggregate(time.Now())
	if err != nil {
		s.fail(w, r, "reading the aggregation", err)
		return
	}
	s.aggregate(w, r, req)
}

// aggregate runs req and writes the result.
func (s *Server) aggregate(w http.ResponseWriter, r *http.Request, req store.AggRequest) {
	ctx, cancel := s.queryContext(r)
	defer cancel()
	start := time.Now()
	res, err := s.st.Aggregate(ctx, req)
	if err != nil {
		s.fail(w, r, "aggregating", err)
		return
	}
	out := aggJSON{Kind: req.Kind, Field: req.Field, Field2: req.Field2, Metric: req.Metric,
		Value: res.Value, Buckets: res.Buckets, IntervalMs: res.Interval.Milliseconds(),
		TookMs: tookMs(res.Took, start), Query: req.Query, LogTypes: req.LogTypes, From: req.From, To: req.To}
	if out.Buckets == nil {
		out.Buckets = []store.Bucket{}
	}
	if out.LogTypes == nil {
		out.LogTypes = []string{}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleDoc returns one document by id.
func (s *Server) handleDoc(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" || len(id) > 1024 {
		s.fail(w, r, "reading the document id", badf("document id must be 1 to 1024 bytes"))
		return
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	h, err := s.st.Get(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no document has id %q", id))
			return
		}
		s.fail(w, r, "reading document "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, toHit(*h))
}

// handleFields lists the fields of one log type (all when none is given).
func (s *Server) handleFields(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "log_type" {
			s.fail(w, r, "reading the parameters", badf("unknown parameter %q (known: log_type)", k))
			return
		}
	}
	lt := strings.TrimSpace(q.Get("log_type"))
	if lt != "" && !validName(lt) {
		s.fail(w, r, "reading the parameters", badf("log_type %q is not a log type name", lt))
		return
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	fields, err := s.st.Fields(ctx, lt)
	if err != nil {
		s.fail(w, r, "listing fields", err)
		return
	}
	if fields == nil {
		fields = []store.Field{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"log_type": lt, "fields": fields})
}

// handleIndices lists the indices with their counts and sizes.
func (s *Server) handleIndices(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.queryContext(r)
	defer cancel()
	idx, err := s.st.Indices(ctx)
	if err != nil {
		s.fail(w, r, "listing indices", err)
		return
	}
	if idx == nil {
		idx = []store.IndexInfo{}
	}
	var docs, size int64
	for _, i := range idx {
		docs += i.Docs
		size += i.Bytes
	}
	writeJSON(w, http.StatusOK, map[string]any{"indices": idx, "docs": docs, "bytes": size})
}

// handleDashboards lists every dashboard with its panels.
func (s *Server) handleDashboards(w http.ResponseWriter, _ *http.Request) {
	out := make([]dashboardJSON, 0, len(s.dashboards))
	for _, d := range s.dashboards {
		out = append(out, d.toJSON())
	}
	writeJSON(w, http.StatusOK, map[string]any{"dashboards": out})
}

// dashboard finds a dashboard by id.
func (s *Server) dashboard(id string) (*Dashboard, bool) {
	for i := range s.dashboards {
		if s.dashboards[i].ID == id {
			return &s.dashboards[i], true
		}
	}
	return nil, false
}

// handleDashboard returns one dashboard's definition.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	d, ok := s.dashboard(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard %q (GET /api/dashboards lists them)", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, d.toJSON())
}

// handlePanel runs one dashboard panel's aggregation over the requested
// time range, with the request's query (the dashboard's filters) combined
// with the panel's own.
func (s *Server) handlePanel(w http.ResponseWriter, r *http.Request) {
	d, ok := s.dashboard(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no dashboard %q (GET /api/dashboards lists them)", r.PathValue("id")))
		return
	}
	panel, ok := d.panel(r.PathValue("panel"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("dashboard %q has no panel %q", d.ID, r.PathValue("panel")))
		return
	}
	p, err := readParams(r)
	if err != nil {
		s.fail(w, r, "reading the panel request", err)
		return
	}
	if p.Kind != "" || p.Field != "" || p.Field2 != "" || p.Metric != "" || p.Sort != "" || p.Order != "" ||
		p.Offset != 0 || p.Size != nil || len(p.LogTypes) > 0 {
		s.fail(w, r, "reading the panel request", badf("a panel takes only query, from, to, since and interval; the rest is its definition"))
		return
	}
	f, err := p.filter(time.Now())
	if err != nil {
		s.fail(w, r, "reading the panel request", err)
		return
	}
	req := panel.Agg
	req.LogTypes = append([]string(nil), panel.Agg.LogTypes...)
	req.Query = CombineQueries(panel.Agg.Query, f.Query)
	req.From, req.To = f.From, f.To
	if p.Interval != "" && req.Kind == store.AggDateHistogram {
		if req.Interval, err = parseDuration(p.Interval); err != nil {
			s.fail(w, r, "reading the panel request", badf("interval %q: %v", p.Interval, err))
			return
		}
		if err := checkAgg(req); err != nil {
			s.fail(w, r, "reading the panel request", err)
			return
		}
	}
	s.aggregate(w, r, req)
}

// CombineQueries joins queries with AND, each in parentheses so its own
// ORs stay inside it; empty queries and "*" drop out.
func CombineQueries(qs ...string) string {
	var parts []string
	for _, q := range qs {
		if q = strings.TrimSpace(q); q != "" && q != "*" {
			parts = append(parts, q)
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	for i, q := range parts {
		parts[i] = "(" + q + ")"
	}
	return strings.Join(parts, " AND ")
}

// handleAlerts lists alert documents, newest first, with the search
// parameters.
func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(r)
	if err != nil {
		s.fail(w, r, "reading the alert search", err)
		return
	}
	if len(p.LogTypes) > 0 || p.Kind != "" || p.Field != "" {
		s.fail(w, r, "reading the alert search", badf("/api/alerts takes query, from, to, since, sort, order, size and offset"))
		return
	}
	req, err := p.search(time.Now())
	if err != nil {
		s.fail(w, r, "reading the alert search", err)
		return
	}
	req.LogTypes = []string{s.opts.AlertLogType}
	s.search(w, r, req)
}

// handleAlertStatus changes an alert's status through Options.Alerts.
func (s *Server) handleAlertStatus(w http.ResponseWriter, r *http.Request) {
	if s.opts.ReadOnly {
		writeError(w, http.StatusForbidden, "the store is open read-only; alert status cannot change here")
		return
	}
	if s.opts.Alerts == nil {
		writeError(w, http.StatusNotImplemented, "this server does not manage alerts (no alert pipeline attached)")
		return
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("body must be JSON (Content-Type: application/json), got %q", ct))
		return
	}
	var body struct {
		Status string `json:"status"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "reading the JSON body: "+err.Error())
		return
	}
	if body.Status != "open" && body.Status != "acknowledged" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q must be open or acknowledged", body.Status))
		return
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	id := r.PathValue("id")
	if err := s.opts.Alerts.SetAlertStatus(ctx, id, body.Status); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no alert has id %q", id))
			return
		}
		s.fail(w, r, "changing the status of alert "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": body.Status})
}

// handleAPINotFound answers unknown API paths (and wrong methods) in JSON.
func (s *Server) handleAPINotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("no API endpoint %s %s (see docs/api.md)", r.Method, r.URL.Path))
}
