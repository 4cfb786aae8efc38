// Package opensearchtest is an in-process OpenSearch server for tests. It
// speaks the REST API Vigil uses, with OpenSearch's answers and error
// shapes: _bulk with per-item statuses, index and component templates, ISM
// policies, aliases and rollover, _cat/indices and _cat/aliases, index
// creation and deletion, index blocks, documents, _count and a simple
// _search. Requests may be gzip-compressed. Faults are injected on demand
// and are deterministic for a seed: per-item 429 and 503 answers, whole
// request 429 and 503, connection resets before or after the request was
// applied, latency, mapping errors for a field, read-only indices and a
// request size limit (413). Every request is logged so a test can assert
// what was (or was not) sent.
package opensearchtest

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"
)

// Faults are the failures the server injects. Rates are fractions in
// [0, 1]; whether a given request or item fails is decided by a hash of the
// seed and a counter, so a run with the same seed and the same request
// order fails the same way.
type Faults struct {
	// Item429Rate is the fraction of bulk items answered 429
	// (es_rejected_execution_exception) without being applied.
	Item429Rate float64
	// Item503Rate is the fraction of bulk items answered 503
	// (unavailable_shards_exception) without being applied.
	Item503Rate float64
	// Status429Rate is the fraction of requests answered 429 as a whole,
	// with Retry-After: RetryAfter.
	Status429Rate float64
	// Status503Rate is the fraction of requests answered 503 as a whole.
	Status503Rate float64
	// ResetRate is the fraction of requests whose connection is reset
	// before the request is applied.
	ResetRate float64
	// ResetAfterRate is the fraction of write requests that are applied and
	// then have their connection reset instead of an answer: the client
	// cannot know its documents were written.
	ResetAfterRate float64
	// RetryAfter is sent with whole-request 429 answers (whole seconds,
	// rounded up); zero sends no header.
	RetryAfter time.Duration
	// Latency delays every answer.
	Latency time.Duration
	// FaultPaths limits request faults (status and resets, not items) to
	// requests whose path contains one of these strings; empty means every
	// request but GET /.
	FaultPaths []string
}

// Options configure a Server.
type Options struct {
	// Seed makes fault injection deterministic.
	Seed uint64
	// Faults are injected from the start; SetFaults changes them later.
	Faults Faults
	// MaxContentLength answers larger request bodies (after gzip
	// decompression) with 413, as http.max_content_length does; zero means
	// 100 MiB, OpenSearch's default.
	MaxContentLength int
	// TLS serves https with a self-signed certificate (see Certificate).
	TLS bool
	// BasicAuth, when set ("user:password"), answers requests without these
	// credentials with 401.
	BasicAuth string
	// Version is the version number in GET /; empty means 2.17.0.
	Version string
	// DiscardBodies keeps request bodies out of the request log (for
	// benchmarks).
	DiscardBodies bool
	// DynamicMapping maps new fields from the first document that has them,
	// as OpenSearch does, so a later document with another type for the
	// field is refused. Explicit mappings (index creation, templates) are
	// enforced either way.
	DynamicMapping bool
}

// Request is one logged request.
type Request struct {
	Method string
	// Path is the URL path, Query its raw query.
	Path, Query string
	// Header holds the request headers; a basic-auth Authorization keeps
	// only its scheme.
	Header http.Header
	// Body is the request body after gzip decompression.
	Body []byte
	// Gzip says the body was sent gzip-compressed.
	Gzip bool
	// Status is the answer's status; 0 for a reset connection.
	Status int
}

// Write reports whether the request can change the cluster (anything but
// GET and HEAD, and POST to _search, _count or _cluster/state).
func (r Request) Write() bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return false
	}
	return !strings.HasSuffix(r.Path, "/_search") && !strings.HasSuffix(r.Path, "/_count")
}

// Server is the in-process OpenSearch. It is safe for concurrent use; its
// accessors return copies.
type Server struct {
	opts Options
	hs   *httptest.Server

	mu         sync.Mutex
	faults     Faults
	reqSeq     uint64
	itemSeq    map[string]uint64 // attempts per index/id, for item faults
	indices    map[string]*index
	templates  map[string]json.RawMessage // index templates
	components map[string]json.RawMessage // component templates
	policies   map[string]*policy
	rejects    map[string]bool // fields whose documents fail mapping
	log        []Request
	parser     fastjson.Parser // bulk action lines, under mu
	uuidSeq    int
	autoID     uint64
	seqNo      int64
}

type index struct {
	name     string
	uuid     string
	created  int64
	docs     map[string]*Doc
	order    []string // ids in first-write order
	aliases  map[string]aliasMeta
	settings map[string]any // flat settings, "index.number_of_shards"...
	mapping  *mapping
	blocks   map[string]bool // read_only, write, read_only_allow_delete, read
	closed   bool
	policyID string
}

type aliasMeta struct {
	IsWriteIndex *bool `json:"is_write_index,omitempty"`
}

type policy struct {
	body        json.RawMessage
	seqNo       int64
	primaryTerm int64
	version     int64
}

// Doc is one stored document.
type Doc struct {
	ID     string
	Source json.RawMessage
	// Version counts the writes of this id: 1 means written once.
	Version int64
	SeqNo   int64
}

// New starts a server and stops it when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a server; the caller calls Close.
func NewServer(opts Options) *Server {
	if opts.MaxContentLength == 0 {
		opts.MaxContentLength = 100 << 20
	}
	if opts.Version == "" {
		opts.Version = "2.17.0"
	}
	s := &Server{
		opts:       opts,
		faults:     opts.Faults,
		itemSeq:    map[string]uint64{},
		indices:    map[string]*index{},
		templates:  map[string]json.RawMessage{},
		components: map[string]json.RawMessage{},
		policies:   map[string]*policy{},
		rejects:    map[string]bool{},
	}
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if opts.TLS {
		s.hs.StartTLS()
	} else {
		s.hs.Start()
	}
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.hs.URL }

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// CertificatePEM returns the server's TLS certificate in PEM form (empty
// without TLS), to write as a CA file.
func (s *Server) CertificatePEM() []byte {
	if s.hs.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.hs.Certificate().Raw})
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// MappingReject makes every document that has field (a dotted path, in
// nested objects or as a dotted key) fail with a 400
// mapper_parsing_exception, as a field whose mapping does not accept the
// value would.
func (s *Server) MappingReject(field string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejects[field] = true
}

// ReadOnly creates index when missing and sets its index.blocks.read_only
// setting, as PUT /index/_settings would.
func (s *Server) ReadOnly(name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		ix = s.newIndexLocked(name)
	}
	ix.blocks["read_only"] = on
}

// CreateIndex creates an empty index (no error when it exists).
func (s *Server) CreateIndex(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.indices[name] == nil {
		s.newIndexLocked(name)
	}
}

// Requests returns the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// WriteRequests returns the logged requests that can change the cluster.
func (s *Server) WriteRequests() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Write() {
			out = append(out, r)
		}
	}
	return out
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Indices returns the names of the indices, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.indices))
	for n := range s.indices {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Docs returns the documents of an index by id (nil when it does not
// exist).
func (s *Server) Docs(name string) map[string]Doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		return nil
	}
	out := make(map[string]Doc, len(ix.docs))
	for id, d := range ix.docs {
		out[id] = *d
	}
	return out
}

// Count returns the number of documents in every index.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ix := range s.indices {
		n += len(ix.docs)
	}
	return n
}

// CountByID returns, for every document id, how many indices hold it.
// Together with Doc.Version it tells a document stored twice (in two
// indices) from one written twice (Version 2).
func (s *Server) CountByID() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, ix := range s.indices {
		for id := range ix.docs {
			out[id]++
		}
	}
	return out
}

// Template returns a stored index template's body.
func (s *Server) Template(name string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.templates[name]
	return b, ok
}

// ComponentTemplate returns a stored component template's body.
func (s *Server) ComponentTemplate(name string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.components[name]
	return b, ok
}

// Policy returns a stored ISM policy's body.
func (s *Server) Policy(id string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[id]
	if !ok {
		return nil, false
	}
	return p.body, true
}

// Aliases returns alias → indices.
func (s *Server) Aliases() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, ix := range s.indices {
		for a := range ix.aliases {
			out[a] = append(out[a], ix.name)
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// WriteIndex returns the index writes to alias go to, "" when none.
func (s *Server) WriteIndex(alias string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, _ := s.writeIndexLocked(alias)
	if ix == nil {
		return ""
	}
	return ix.name
}

// IndexSettings returns an index's flat settings ("index.blocks.read_only"
// ...), nil when it does not exist.
func (s *Server) IndexSettings(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		return nil
	}
	return ix.flatSettings()
}

// chance reports whether the event numbered n of kind happens at rate.
func (s *Server) chance(kind string, n uint64, rate float64) bool {
	return chance(s.opts.Seed, kind, n, rate)
}

// mix is the splitmix64 finalizer: every input bit moves every output bit.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// serve handles one request: log, faults, routing.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.opts.BasicAuth != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u+":"+p != s.opts.BasicAuth {
			writeJSON(w, http.StatusUnauthorized, errBody(http.StatusUnauthorized, "security_exception", "missing authentication credentials for REST request ["+r.URL.Path+"]"))
			s.record(r, nil, false, http.StatusUnauthorized)
			return
		}
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, int64(s.opts.MaxContentLength)*4+1))
	if err != nil {
		s.record(r, nil, false, 0)
		s.reset(w)
		return
	}
	gz := strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip")
	body := raw
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(zr, int64(s.opts.MaxContentLength)+1))
		}
		if err != nil {
			s.record(r, raw, gz, http.StatusBadRequest)
			writeJSON(w, http.StatusBadRequest, errBody(http.StatusBadRequest, "parse_exception", "request body is not valid gzip: "+err.Error()))
			return
		}
	}
	s.mu.Lock()
	f := s.faults
	s.reqSeq++
	n := s.reqSeq
	s.mu.Unlock()

	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			s.record(r, body, gz, 0)
			return
		}
	}
	faulty := r.URL.Path != "/" && len(f.FaultPaths) == 0
	for _, p := range f.FaultPaths {
		if strings.Contains(r.URL.Path, p) {
			faulty = true
		}
	}
	if faulty {
		switch {
		case s.chance("reset", n, f.ResetRate):
			s.record(r, body, gz, 0)
			s.reset(w)
			return
		case s.chance("503", n, f.Status503Rate):
			s.record(r, body, gz, http.StatusServiceUnavailable)
			writeJSON(w, http.StatusServiceUnavailable, errBody(http.StatusServiceUnavailable, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];"))
			return
		case s.chance("429", n, f.Status429Rate):
			s.record(r, body, gz, http.StatusTooManyRequests)
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
			}
			writeJSON(w, http.StatusTooManyRequests, errBody(http.StatusTooManyRequests, "rejected_execution_exception", "rejected execution of coordinating operation [shard_detail=[], coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]"))
			return
		}
	}
	if len(body) > s.opts.MaxContentLength {
		s.record(r, nil, gz, http.StatusRequestEntityTooLarge)
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	rec := &recorder{header: http.Header{}}
	s.route(rec, r, body)
	if faulty && rec.status < 300 && (Request{Method: r.Method, Path: r.URL.Path}).Write() && s.chance("reset-after", n, f.ResetAfterRate) {
		s.record(r, body, gz, 0)
		s.reset(w)
		return
	}
	s.record(r, body, gz, rec.status)
	if fp := r.URL.Query().Get("filter_path"); fp != "" && !rec.filtered && rec.status < 300 && len(rec.body) > 0 {
		rec.body = filterPath(rec.body, fp)
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rec.body)
	}
}

// record appends a request to the log.
func (s *Server) record(r *http.Request, body []byte, gz bool, status int) {
	h := r.Header.Clone()
	if a := h.Get("Authorization"); a != "" {
		// Keep the scheme and, for SigV4, the credential scope; never a
		// password.
		scheme, rest, _ := strings.Cut(a, " ")
		if strings.EqualFold(scheme, "basic") {
			rest = "<redacted>"
		}
		h.Set("Authorization", scheme+" "+rest)
	}
	if s.opts.DiscardBodies {
		body = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: h,
		Body: append([]byte(nil), body...), Gzip: gz, Status: status,
	})
}

// reset closes the connection with a TCP RST instead of answering.
func (s *Server) reset(w http.ResponseWriter) { resetConn(w) }

// resetConn closes the connection with a TCP RST instead of answering.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("opensearchtest: the response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	} else if tc, ok := unwrapTCP(conn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// unwrapTCP finds the TCP connection under a TLS one.
func unwrapTCP(c net.Conn) (*net.TCPConn, bool) {
	type netConner interface{ NetConn() net.Conn }
	if nc, ok := c.(netConner); ok {
		tc, ok := nc.NetConn().(*net.TCPConn)
		return tc, ok
	}
	return nil, false
}

// recorder collects an answer before it is sent.
type recorder struct {
	header http.Header
	status int
	body   []byte
	// filtered says filter_path was applied by the handler.
	filtered bool
}

func (r *recorder) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	r.header.Set("Content-Type", "application/json; charset=UTF-8")
	r.status, r.body = status, b
}

func (r *recorder) text(status int, s string) {
	r.header.Set("Content-Type", "text/plain; charset=UTF-8")
	r.status, r.body = status, []byte(s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// errBody is OpenSearch's error answer.
func errBody(status int, typ, reason string, extra ...any) map[string]any {
	cause := map[string]any{"type": typ, "reason": reason}
	for i := 0; i+1 < len(extra); i += 2 {
		cause[extra[i].(string)] = extra[i+1]
	}
	e := map[string]any{"root_cause": []any{cause}}
	for k, v := range cause {
		e[k] = v
	}
	return map[string]any{"error": e, "status": status}
}

// errCause is an item's error object.
func errCause(typ, reason string, extra ...any) map[string]any {
	cause := map[string]any{"type": typ, "reason": reason}
	for i := 0; i+1 < len(extra); i += 2 {
		cause[extra[i].(string)] = extra[i+1]
	}
	return cause
}

// route dispatches a request to its handler.
func (s *Server) route(w *recorder, r *http.Request, body []byte) {
	segs := splitPath(r.URL.Path)
	m := r.Method
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(segs) == 0:
		if m == http.MethodGet || m == http.MethodHead {
			w.json(200, map[string]any{
				"name": "opensearchtest", "cluster_name": "opensearchtest", "cluster_uuid": "opensearchtest-uuid",
				"version": map[string]any{"distribution": "opensearch", "number": s.opts.Version,
					"lucene_version": "9.11.1", "minimum_wire_compatibility_version": "7.10.0",
					"minimum_index_compatibility_version": "7.0.0"},
				"tagline": "The OpenSearch Project: https://opensearch.org/",
			})
			return
		}
	case segs[0] == "_bulk" && len(segs) == 1 && (m == http.MethodPost || m == http.MethodPut):
		s.bulk(w, "", body, q)
		return
	case len(segs) == 2 && segs[1] == "_bulk" && (m == http.MethodPost || m == http.MethodPut):
		s.bulk(w, segs[0], body, q)
		return
	case segs[0] == "_index_template":
		if s.templateAPI(w, m, segs, body, q, s.templates, "index_template", "index_templates") {
			return
		}
	case segs[0] == "_component_template":
		if s.templateAPI(w, m, segs, body, q, s.components, "component_template", "component_templates") {
			return
		}
	case segs[0] == "_plugins" && len(segs) >= 2 && segs[1] == "_ism":
		if s.ism(w, m, segs[2:], body, q) {
			return
		}
	case segs[0] == "_aliases" && len(segs) == 1 && m == http.MethodPost:
		s.aliasActions(w, body)
		return
	case segs[0] == "_alias" && (m == http.MethodGet || m == http.MethodHead):
		name := ""
		if len(segs) > 1 {
			name = segs[1]
		}
		s.getAliases(w, "", name)
		return
	case segs[0] == "_cat" && len(segs) >= 2:
		if s.cat(w, segs[1], segs[2:], q) {
			return
		}
	case segs[0] == "_cluster" && len(segs) >= 2 && m == http.MethodGet:
		if s.cluster(w, segs[1:]) {
			return
		}
	case segs[0] == "_refresh":
		w.json(200, map[string]any{"_shards": shards(1)})
		return
	case strings.HasPrefix(segs[0], "_"):
	default:
		if s.indexAPI(w, m, segs, body, q) {
			return
		}
	}
	w.json(http.StatusBadRequest, map[string]any{
		"error":  fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.URL.RequestURI(), m),
		"status": http.StatusBadRequest,
	})
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			if u, err := url.PathUnescape(s); err == nil {
				s = u
			}
			out = append(out, s)
		}
	}
	return out
}

func shards(n int) map[string]any {
	return map[string]any{"total": 2, "successful": n, "failed": 0}
}

// newIndexLocked creates an index, applying the matching index template.
func (s *Server) newIndexLocked(name string) *index {
	s.uuidSeq++
	ix := &index{
		name:     name,
		uuid:     fmt.Sprintf("uuid-%06d-%s", s.uuidSeq, strings.ReplaceAll(name, "-", "")),
		created:  time.Now().UnixMilli(),
		docs:     map[string]*Doc{},
		aliases:  map[string]aliasMeta{},
		settings: map[string]any{"index.number_of_shards": "1", "index.number_of_replicas": "1"},
		blocks:   map[string]bool{},
		mapping:  newObjectMapping(),
	}
	if t := s.matchTemplateLocked(name); t != nil {
		s.applyTemplateLocked(ix, t)
	}
	s.attachISMLocked(ix)
	s.indices[name] = ix
	return ix
}

// templateBody is the part of an index or component template applied to
// a new index.
type templateBody struct {
	IndexPatterns []string `json:"index_patterns"`
	ComposedOf    []string `json:"composed_of"`
	Priority      int      `json:"priority"`
	Template      struct {
		Settings json.RawMessage      `json:"settings"`
		Mappings json.RawMessage      `json:"mappings"`
		Aliases  map[string]aliasMeta `json:"aliases"`
	} `json:"template"`
}

func (s *Server) matchTemplateLocked(name string) *templateBody {
	var best *templateBody
	var bestName string
	for tn, raw := range s.templates {
		var t templateBody
		if json.Unmarshal(raw, &t) != nil {
			continue
		}
		for _, p := range t.IndexPatterns {
			if ok, _ := path.Match(p, name); ok {
				if best == nil || t.Priority > best.Priority || (t.Priority == best.Priority && tn < bestName) {
					tt := t
					best, bestName = &tt, tn
				}
				break
			}
		}
	}
	return best
}

func (s *Server) applyTemplateLocked(ix *index, t *templateBody) {
	apply := func(tb *templateBody) {
		if len(tb.Template.Settings) > 0 {
			var m map[string]any
			if json.Unmarshal(tb.Template.Settings, &m) == nil {
				flatten("index", m, ix.settings)
			}
		}
		ix.mapping.merge(tb.Template.Mappings)
		for a, meta := range tb.Template.Aliases {
			ix.aliases[a] = meta
		}
	}
	for _, c := range t.ComposedOf {
		var ct templateBody
		if raw, ok := s.components[c]; ok && json.Unmarshal(raw, &ct) == nil {
			apply(&ct)
		}
	}
	apply(t)
	ix.syncBlocks()
}

// flatten writes nested settings as "index.x.y" keys; keys already
// starting with "index." are kept as they are.
func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		key := k
		if prefix != "" && !strings.HasPrefix(k, prefix+".") && k != prefix {
			key = prefix + "." + k
		}
		if k == prefix {
			key = prefix
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(key, sub, out)
			continue
		}
		switch x := v.(type) {
		case bool:
			out[key] = strconv.FormatBool(x)
		case float64:
			out[key] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			out[key] = v
		}
	}
}

// syncBlocks reads the index.blocks.* settings into blocks.
func (ix *index) syncBlocks() {
	for _, b := range []string{"read_only", "write", "read_only_allow_delete", "read", "metadata"} {
		v, ok := ix.settings["index.blocks."+b]
		if !ok {
			continue
		}
		ix.blocks[b] = v == "true" || v == true
		delete(ix.settings, "index.blocks."+b)
	}
}

func (ix *index) flatSettings() map[string]any {
	out := make(map[string]any, len(ix.settings)+len(ix.blocks))
	for k, v := range ix.settings {
		out[k] = v
	}
	for b, on := range ix.blocks {
		if on {
			out["index.blocks."+b] = "true"
		}
	}
	out["index.uuid"] = ix.uuid
	out["index.provided_name"] = ix.name
	out["index.creation_date"] = strconv.FormatInt(ix.created, 10)
	if ix.policyID != "" {
		out["index.plugins.index_state_management.policy_id"] = ix.policyID
	}
	return out
}

// nestSettings turns flat settings into OpenSearch's nested form.
func nestSettings(flat map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range flat {
		parts := strings.Split(k, ".")
		cur := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = v
	}
	return out
}

// writeBlock returns the error of a write to a blocked or closed index.
func (ix *index) writeBlock() (int, map[string]any) {
	switch {
	case ix.closed:
		return http.StatusBadRequest, errCause("index_closed_exception", "closed", "index", ix.name, "index_uuid", ix.uuid)
	case ix.blocks["read_only"]:
		return http.StatusForbidden, errCause("cluster_block_exception", "index ["+ix.name+"] blocked by: [FORBIDDEN/5/index read-only (api)];")
	case ix.blocks["write"]:
		return http.StatusForbidden, errCause("cluster_block_exception", "index ["+ix.name+"] blocked by: [FORBIDDEN/8/index write (api)];")
	case ix.blocks["read_only_allow_delete"]:
		return http.StatusTooManyRequests, errCause("cluster_block_exception", "index ["+ix.name+"] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];")
	}
	return 0, nil
}

// writeIndexLocked resolves a name used for writing: an index, or an alias
// with a write index (or a single index).
func (s *Server) writeIndexLocked(name string) (*index, map[string]any) {
	if ix := s.indices[name]; ix != nil {
		return ix, nil
	}
	var members []*index
	for _, ix := range s.indices {
		if _, ok := ix.aliases[name]; ok {
			members = append(members, ix)
		}
	}
	if len(members) == 0 {
		return nil, nil
	}
	for _, ix := range members {
		if w := ix.aliases[name].IsWriteIndex; w != nil && *w {
			return ix, nil
		}
	}
	if len(members) == 1 && ix0WriteUnset(members[0], name) {
		return members[0], nil
	}
	return nil, errCause("illegal_argument_exception",
		"no write index is defined for alias ["+name+"]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index")
}

func ix0WriteUnset(ix *index, alias string) bool {
	w := ix.aliases[alias].IsWriteIndex
	return w == nil
}

// resolveLocked expands an index expression (comma list, wildcards,
// aliases, _all) into indices. A missing concrete name is an error unless
// ignoreMissing.
func (s *Server) resolveLocked(expr string, ignoreMissing bool) ([]*index, map[string]any) {
	seen := map[string]bool{}
	var out []*index
	add := func(ix *index) {
		if !seen[ix.name] {
			seen[ix.name] = true
			out = append(out, ix)
		}
	}
	for _, part := range strings.Split(expr, ",") {
		if part == "" {
			continue
		}
		if part == "_all" || strings.ContainsAny(part, "*?") {
			p := part
			if p == "_all" {
				p = "*"
			}
			for _, ix := range s.indices {
				if ok, _ := path.Match(p, ix.name); ok {
					add(ix)
					continue
				}
				for a := range ix.aliases {
					if ok, _ := path.Match(p, a); ok {
						add(ix)
						break
					}
				}
			}
			continue
		}
		if ix := s.indices[part]; ix != nil {
			add(ix)
			continue
		}
		found := false
		for _, ix := range s.indices {
			if _, ok := ix.aliases[part]; ok {
				add(ix)
				found = true
			}
		}
		if !found && !ignoreMissing {
			return nil, errBody(http.StatusNotFound, "index_not_found_exception", "no such index ["+part+"]", "index", part, "resource.type", "index_or_alias", "resource.id", part, "index_uuid", "_na_")
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// validIndexName reports OpenSearch's rule for index names.
func validIndexName(name string) string {
	switch {
	case name == "" || name == "." || name == "..":
		return "must not be '.' or '..'"
	case strings.ToLower(name) != name:
		return "must be lowercase"
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+"):
		return "must not start with '_', '-', or '+'"
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return `must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`
	case len(name) > 255:
		return "index name is too long"
	}
	return ""
}
