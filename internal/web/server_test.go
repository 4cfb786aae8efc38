package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testNow is the clock of the synthetic data: the real clock, since the
// API resolves "since" against it.
var testNow = time.Now().UTC().Truncate(time.Second)

func quietLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

// newTestServer builds a Server over a fake store holding n synthetic
// documents per log type.
func newTestServer(t testing.TB, n int, opts Options) (*Server, *fakeStore) {
	t.Helper()
	st := newFakeStore(synthDocs(testNow, n))
	s, err := New(st, opts, quietLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, st
}

// get performs a request against the handler and decodes a JSON body.
func do(t testing.TB, h http.Handler, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.Host = "localhost:8080" // httptest's example.com would be refused
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %q: %v", rec.Body.String(), err)
	}
	return v
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string // substring; empty means valid
	}{
		{name: "zero value", opts: Options{}},
		{name: "loopback v4", opts: Options{Addr: "127.0.0.1:9000"}},
		{name: "loopback v6", opts: Options{Addr: "[::1]:9000"}},
		{name: "localhost", opts: Options{Addr: "localhost:0"}},
		{name: "all interfaces without auth", opts: Options{Addr: ":8080"}, wantErr: "every interface"},
		{name: "public without auth", opts: Options{Addr: "0.0.0.0:8080"}, wantErr: "without authentication"},
		{name: "lan address without auth", opts: Options{Addr: "192.168.1.5:8080"}, wantErr: "set an auth token"},
		{name: "public with token", opts: Options{Addr: "0.0.0.0:8080", AuthToken: "0123456789abcdef"}},
		{name: "public with basic", opts: Options{Addr: "0.0.0.0:8080", BasicUser: "u", BasicPass: "p"}},
		{name: "short token", opts: Options{AuthToken: "short"}, wantErr: "at least 16"},
		{name: "user without pass", opts: Options{BasicUser: "u"}, wantErr: "set together"},
		{name: "pass without user", opts: Options{BasicPass: "p"}, wantErr: "set together"},
		{name: "colon in user", opts: Options{BasicUser: "a:b", BasicPass: "p"}, wantErr: "must not contain"},
		{name: "no port", opts: Options{Addr: "127.0.0.1"}, wantErr: "not host:port"},
		{name: "bad port", opts: Options{Addr: "127.0.0.1:http"}, wantErr: "not a number"},
		{name: "negative timeout", opts: Options{QueryTimeout: -time.Second}, wantErr: "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
			if _, err := New(newFakeStore(nil), tc.opts, quietLogger()); err == nil {
				t.Fatalf("New accepted options Validate refuses")
			}
		})
	}
}

func TestNewNeedsStoreAndLogger(t *testing.T) {
	if _, err := New(nil, Options{}, quietLogger()); err == nil {
		t.Error("New(nil store) succeeded")
	}
	if _, err := New(newFakeStore(nil), Options{}, nil); err == nil {
		t.Error("New(nil logger) succeeded")
	}
}

func TestSecurityHeaders(t *testing.T) {
	s, _ := newTestServer(t, 2, Options{})
	for _, target := range []string{"/", "/api/health", "/api/nope", "/assets/app.js"} {
		rec := do(t, s, "GET", target, nil, nil)
		h := rec.Header()
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", target, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", target, k, got, want)
			}
		}
	}
}

// TestConsoleHasNoInlineScript checks the page loads every script from a
// file (the CSP would block inline ones) and that the console's code never
// parses strings as HTML.
func TestConsoleHasNoInlineScript(t *testing.T) {
	s, _ := newTestServer(t, 1, Options{})
	page := do(t, s, "GET", "/", nil, nil).Body.String()
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(m, `src="/assets/`) {
			t.Errorf("inline script tag %q", m)
		}
	}
	if regexp.MustCompile(`\son[a-z]+=`).MatchString(page) || strings.Contains(page, "style=") {
		t.Error("index.html has an inline event handler or style attribute")
	}
	app := do(t, s, "GET", "/assets/app.js", nil, nil).Body.String()
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(stripComments(app), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}

// stripComments drops // line comments so prose about innerHTML does not
// count.
func stripComments(js string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(js, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "//") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestXSSValuesStayText: documents carrying markup come back from every
// endpoint as JSON with the markup escaped, never as HTML.
func TestXSSValuesStayText(t *testing.T) {
	s, _ := newTestServer(t, 5, Options{})
	for _, target := range []string{
		"/api/search?log_type=cloudtrail&since=7d&size=10",
		"/api/docs/cloudtrail-00001",
		"/api/aggregate?kind=terms&field=user.name&log_type=cloudtrail",
		"/api/aggregate?kind=terms&field=event.action&log_type=cloudtrail",
		"/api/dashboards/cloudtrail/panels/top-users",
		"/api/aggregate?kind=terms&field=dns.question.name&log_type=route53resolver",
	} {
		rec := do(t, s, "GET", target, nil, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", target, ct)
		}
		body := rec.Body.String()
		if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
			t.Errorf("%s: raw markup in the response: %s", target, body)
		}
		// The value survives as data: decoding gives the exact string back.
		if !strings.Contains(body, `\u003cscript\u003ealert(1)\u003c/script\u003e`) && !strings.Contains(body, `\u003cimg src=x onerror=alert(1)\u003e`) {
			t.Errorf("%s: the XSS value is missing from the response", target)
		}
	}
	rec := do(t, s, "GET", "/api/docs/cloudtrail-00001", nil, nil)
	hit := decode[hitJSON](t, rec)
	var src struct {
		User struct{ Name string } `json:"user"`
	}
	if err := json.Unmarshal(hit.Source, &src); err != nil || src.User.Name != xssScript {
		t.Errorf("user.name = %q (%v), want %q", src.User.Name, err, xssScript)
	}
}

func TestHostCheck(t *testing.T) {
	tests := []struct {
		name string
		host string
		opts Options
		want int
	}{
		{name: "localhost", host: "localhost:8080", want: http.StatusOK},
		{name: "loopback ip", host: "127.0.0.1:8080", want: http.StatusOK},
		{name: "loopback v6", host: "[::1]:8080", want: http.StatusOK},
		{name: "rebinding name", host: "evil.example:8080", want: http.StatusMisdirectedRequest},
		{name: "any name with auth", host: "siem.corp:8080", opts: Options{AuthToken: "0123456789abcdef"}, want: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, 1, tc.opts)
			req := httptest.NewRequest("GET", "/api/health", nil)
			req.Host = tc.host //nolint:staticcheck // the host under test
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	const token = "0123456789abcdef-token"
	basic := func(u, p string) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.SetBasicAuth(u, p)
		return req.Header.Get("Authorization")
	}
	tests := []struct {
		name   string
		opts   Options
		target string
		auth   string
		want   int
	}{
		{name: "token: api without", opts: Options{AuthToken: token}, target: "/api/indices", want: 401},
		{name: "token: api wrong", opts: Options{AuthToken: token}, target: "/api/indices", auth: "Bearer nope", want: 401},
		{name: "token: api right", opts: Options{AuthToken: token}, target: "/api/indices", auth: "Bearer " + token, want: 200},
		{name: "token: console files open", opts: Options{AuthToken: token}, target: "/", want: 200},
		{name: "token: health open", opts: Options{AuthToken: token}, target: "/api/health", want: 200},
		{name: "basic: console needs it", opts: Options{BasicUser: "ann", BasicPass: "pw"}, target: "/", want: 401},
		{name: "basic: wrong pass", opts: Options{BasicUser: "ann", BasicPass: "pw"}, target: "/api/indices", auth: basic("ann", "x"), want: 401},
		{name: "basic: right", opts: Options{BasicUser: "ann", BasicPass: "pw"}, target: "/api/indices", auth: basic("ann", "pw"), want: 200},
		{name: "both: token works", opts: Options{AuthToken: token, BasicUser: "ann", BasicPass: "pw"}, target: "/api/indices", auth: "Bearer " + token, want: 200},
		{name: "both: basic works", opts: Options{AuthToken: token, BasicUser: "ann", BasicPass: "pw"}, target: "/api/indices", auth: basic("ann", "pw"), want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, 1, tc.opts)
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			rec := do(t, s, "GET", tc.target, nil, hdr)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if rec.Code == 401 {
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if e := decode[errorBody](t, rec); e.Error == "" {
					t.Error("401 without an error message")
				}
			}
		})
	}
}

func TestSearch(t *testing.T) {
	s, _ := newTestServer(t, 100, Options{})
	rec := do(t, s, "GET", "/api/search?log_type=vpcflowlogs&since=48h&size=7&offset=3&query="+url.QueryEscape("event.action:REJECT"), nil, nil)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	res := decode[searchJSON](t, rec)
	if res.Total == 0 || len(res.Hits) != 7 || res.Offset != 3 || res.Size != 7 {
		t.Fatalf("total %d, %d hits, offset %d, size %d", res.Total, len(res.Hits), res.Offset, res.Size)
	}
	prev := int64(1 << 62)
	for _, h := range res.Hits {
		if h.LogType != "vpcflowlogs" || !bytes.Contains(h.Source, []byte(`"REJECT"`)) {
			t.Errorf("hit %s does not match the query: %s", h.ID, h.Source)
		}
		if h.TimestampMs > prev {
			t.Errorf("hits not newest first")
		}
		prev = h.TimestampMs
		if h.Timestamp != msTime(h.TimestampMs) {
			t.Errorf("@timestamp %q for %d", h.Timestamp, h.TimestampMs)
		}
	}
	// POST with a JSON body asks the same.
	body := `{"query":"event.action:REJECT","log_type":["vpcflowlogs"],"since":"48h","size":7,"offset":3}`
	rec2 := do(t, s, "POST", "/api/search", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if rec2.Code != 200 {
		t.Fatalf("POST status %d: %s", rec2.Code, rec2.Body)
	}
	res2 := decode[searchJSON](t, rec2)
	if res2.Total != res.Total || len(res2.Hits) != 7 || res2.Hits[0].ID != res.Hits[0].ID {
		t.Errorf("POST answered differently from GET")
	}
	// Ascending order.
	asc := decode[searchJSON](t, do(t, s, "GET", "/api/search?log_type=vpcflowlogs&order=asc&size=5", nil, nil))
	for i := 1; i < len(asc.Hits); i++ {
		if asc.Hits[i].TimestampMs < asc.Hits[i-1].TimestampMs {
			t.Fatal("order=asc not ascending")
		}
	}
}

func TestSearchTimeRange(t *testing.T) {
	s, st := newTestServer(t, 10, Options{})
	from := testNow.Add(-6 * time.Hour)
	to := testNow.Add(-2 * time.Hour)
	target := fmt.Sprintf("/api/search?from=%s&to=%d", url.QueryEscape(from.Format(time.RFC3339)), to.UnixMilli())
	res := decode[searchJSON](t, do(t, s, "GET", target, nil, nil))
	for _, h := range res.Hits {
		if h.TimestampMs < from.UnixMilli() || h.TimestampMs >= to.UnixMilli() {
			t.Errorf("hit at %s outside the range", h.Timestamp)
		}
	}
	// since is resolved against the clock; the store sees From only.
	do(t, s, "GET", "/api/aggregate?kind=count&since=15m", nil, nil)
	last := st.aggs[len(st.aggs)-1]
	if d := time.Since(time.UnixMilli(last.From)); d < 15*time.Minute || d > 16*time.Minute || last.To != 0 {
		t.Errorf("since=15m gave From %d (%s ago), To %d", last.From, d, last.To)
	}
}

func TestBadRequests(t *testing.T) {
	s, _ := newTestServer(t, 2, Options{})
	tests := []struct {
		name    string
		method  string
		target  string
		body    string
		ctype   string
		want    int
		wantMsg string
	}{
		{name: "size too large", target: "/api/search?size=10001", want: 400, wantMsg: "size 10001"},
		{name: "size zero", target: "/api/search?size=0", want: 400, wantMsg: "size 0"},
		{name: "size not a number", target: "/api/search?size=ten", want: 400, wantMsg: "not a non-negative integer"},
		{name: "negative offset", target: "/api/search?offset=-1", want: 400, wantMsg: "offset"},
		{name: "deep offset", target: "/api/search?offset=2000000", want: 400, wantMsg: "narrow the query"},
		{name: "bad order", target: "/api/search?order=up", want: 400, wantMsg: "asc or desc"},
		{name: "bad sort field", target: "/api/search?sort=a%20b", want: 400, wantMsg: "not a field name"},
		{name: "unknown parameter", target: "/api/search?q=x", want: 400, wantMsg: `unknown parameter "q"`},
		{name: "since and from", target: "/api/search?since=1h&from=2024-01-01", want: 400, wantMsg: "not both"},
		{name: "bad since", target: "/api/search?since=yesterday", want: 400, wantMsg: "not a duration"},
		{name: "bad from", target: "/api/search?from=tuesday", want: 400, wantMsg: "not a time"},
		{name: "from after to", target: "/api/search?from=2024-01-02&to=2024-01-01", want: 400, wantMsg: "must be before"},
		{name: "bad log type", target: "/api/search?log_type=a%20b", want: 400, wantMsg: "not a log type name"},
		{name: "agg param on search", target: "/api/search?kind=terms", want: 400, wantMsg: "/api/aggregate"},
		{name: "missing kind", target: "/api/aggregate", want: 400, wantMsg: "kind is missing"},
		{name: "unknown kind", target: "/api/aggregate?kind=avg", want: 400, wantMsg: `kind "avg"`},
		{name: "terms without field", target: "/api/aggregate?kind=terms", want: 400, wantMsg: "needs field"},
		{name: "terms2 without field2", target: "/api/aggregate?kind=terms2&field=a", want: 400, wantMsg: "needs field2"},
		{name: "metric on count", target: "/api/aggregate?kind=count&metric=bytes", want: 400, wantMsg: "metric applies"},
		{name: "tiny interval", target: "/api/aggregate?kind=date_histogram&interval=10ms", want: 400, wantMsg: "shorter than"},
		{name: "agg size", target: "/api/aggregate?kind=terms&field=a&size=5000", want: 400, wantMsg: "size 5000"},
		{name: "sort on aggregate", target: "/api/aggregate?kind=count&sort=x", want: 400, wantMsg: "/api/search"},
		{name: "post form", method: "POST", target: "/api/search", body: "query=x", ctype: "application/x-www-form-urlencoded", want: 400, wantMsg: "must be JSON"},
		{name: "post bad json", method: "POST", target: "/api/search", body: "{", ctype: "application/json", want: 400, wantMsg: "JSON body"},
		{name: "post unknown field", method: "POST", target: "/api/search", body: `{"q":"x"}`, ctype: "application/json", want: 400, wantMsg: "unknown field"},
		{name: "unknown endpoint", target: "/api/nope", want: 404, wantMsg: "no API endpoint"},
		{name: "missing doc", target: "/api/docs/nope", want: 404, wantMsg: `no document has id "nope"`},
		{name: "unknown dashboard", target: "/api/dashboards/nope", want: 404, wantMsg: "no dashboard"},
		{name: "unknown panel", target: "/api/dashboards/cloudtrail/panels/nope", want: 404, wantMsg: "no panel"},
		{name: "panel with kind", target: "/api/dashboards/cloudtrail/panels/services?kind=count", want: 400, wantMsg: "a panel takes only"},
		{name: "fields bad param", target: "/api/fields?type=x", want: 400, wantMsg: "unknown parameter"},
		{name: "unknown asset", target: "/assets/nope.js", want: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			hdr := map[string]string{}
			if tc.ctype != "" {
				hdr["Content-Type"] = tc.ctype
			}
			rec := do(t, s, method, tc.target, strings.NewReader(tc.body), hdr)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.wantMsg == "" {
				return
			}
			e := decode[errorBody](t, rec)
			if !strings.Contains(e.Error, tc.wantMsg) {
				t.Errorf("error %q, want it to contain %q", e.Error, tc.wantMsg)
			}
		})
	}
}

func TestBadQueryHasPosition(t *testing.T) {
	s, _ := newTestServer(t, 2, Options{})
	q := `user.name:"unterminated`
	for _, target := range []string{
		"/api/search?query=" + url.QueryEscape(q),
		"/api/aggregate?kind=count&query=" + url.QueryEscape(q),
		"/api/dashboards/cloudtrail/panels/services?query=" + url.QueryEscape(q),
	} {
		rec := do(t, s, "GET", target, nil, nil)
		if rec.Code != 400 {
			t.Fatalf("%s: status %d, want 400: %s", target, rec.Code, rec.Body)
		}
		e := decode[errorBody](t, rec)
		if e.Position == nil || !strings.Contains(e.Error, "position") {
			t.Errorf("%s: error %q, position %v: want the position", target, e.Error, e.Position)
		}
	}
}

func TestStoreErrors(t *testing.T) {
	s, st := newTestServer(t, 2, Options{QueryTimeout: time.Second})
	st.failWith = fmt.Errorf("reading the table: %w", context.DeadlineExceeded)
	rec := do(t, s, "GET", "/api/search", nil, nil)
	if rec.Code != http.StatusGatewayTimeout || !strings.Contains(decode[errorBody](t, rec).Error, "longer than 1s") {
		t.Errorf("timeout: %d %s", rec.Code, rec.Body)
	}
	st.failWith = errors.New("disk on fire")
	rec = do(t, s, "GET", "/api/aggregate?kind=count", nil, nil)
	if rec.Code != 500 || !strings.Contains(decode[errorBody](t, rec).Error, "disk on fire") {
		t.Errorf("failure: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, s, "GET", "/api/health", nil, nil)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("health with a failing store: %d %s", rec.Code, rec.Body)
	}
}

func TestAggregate(t *testing.T) {
	s, _ := newTestServer(t, 50, Options{})
	type result struct {
		aggJSON
	}
	tests := []struct {
		name  string
		query string
		check func(t *testing.T, r aggJSON)
	}{
		{name: "count", query: "kind=count&log_type=cloudtrail", check: func(t *testing.T, r aggJSON) {
			if r.Value != 50 {
				t.Errorf("count %v, want 50", r.Value)
			}
		}},
		{name: "terms", query: "kind=terms&field=event.action&log_type=vpcflowlogs", check: func(t *testing.T, r aggJSON) {
			if len(r.Buckets) != 2 || r.Buckets[0].Key != "ACCEPT" || r.Buckets[0].Count+r.Buckets[1].Count != 50 {
				t.Errorf("buckets %+v", r.Buckets)
			}
		}},
		{name: "terms by metric", query: "kind=terms&field=source.ip&metric=network.bytes&size=3&log_type=vpcflowlogs", check: func(t *testing.T, r aggJSON) {
			if len(r.Buckets) != 3 || r.Buckets[0].Value < r.Buckets[1].Value || r.Metric != "network.bytes" {
				t.Errorf("buckets %+v", r.Buckets)
			}
		}},
		{name: "terms2", query: "kind=terms2&field=event.module&field2=cloud.region&log_type=cloudtrail&size=100", check: func(t *testing.T, r aggJSON) {
			if len(r.Buckets) == 0 || r.Buckets[0].Key2 == "" {
				t.Errorf("buckets %+v", r.Buckets)
			}
		}},
		{name: "histogram", query: "kind=date_histogram&log_type=guardduty&interval=1h", check: func(t *testing.T, r aggJSON) {
			var n int64
			for _, b := range r.Buckets {
				n += b.Count
			}
			if n != 50 || r.IntervalMs != 3600000 {
				t.Errorf("histogram total %d, interval %d ms", n, r.IntervalMs)
			}
		}},
		{name: "histogram split", query: "kind=date_histogram&field=severitylabel&log_type=guardduty&interval=1d", check: func(t *testing.T, r aggJSON) {
			if len(r.Buckets) == 0 || r.Buckets[0].Key2 == "" {
				t.Errorf("buckets %+v", r.Buckets)
			}
		}},
		{name: "cardinality", query: "kind=cardinality&field=user.name&log_type=cloudtrail", check: func(t *testing.T, r aggJSON) {
			if r.Value != 6 { // five names and the XSS one
				t.Errorf("cardinality %v, want 6", r.Value)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s, "GET", "/api/aggregate?"+tc.query, nil, nil)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			tc.check(t, decode[result](t, rec).aggJSON)
		})
	}
}

func TestDocFieldsIndicesHealth(t *testing.T) {
	s, _ := newTestServer(t, 3, Options{Version: "v9.9.9"})
	hit := decode[hitJSON](t, do(t, s, "GET", "/api/docs/guardduty-00002", nil, nil))
	if hit.ID != "guardduty-00002" || hit.LogType != "guardduty" || !strings.HasPrefix(hit.Index, "log-aws-guardduty-") {
		t.Errorf("doc %+v", hit)
	}
	fields := decode[struct {
		LogType string        `json:"log_type"`
		Fields  []store.Field `json:"fields"`
	}](t, do(t, s, "GET", "/api/fields?log_type=route53resolver", nil, nil))
	var names []string
	for _, f := range fields.Fields {
		names = append(names, f.Name)
	}
	if fields.LogType != "route53resolver" || !strings.Contains(strings.Join(names, " "), "dns.question.name") {
		t.Errorf("fields %v", names)
	}
	idx := decode[struct {
		Indices []store.IndexInfo `json:"indices"`
		Docs    int64             `json:"docs"`
		Bytes   int64             `json:"bytes"`
	}](t, do(t, s, "GET", "/api/indices", nil, nil))
	if idx.Docs != 18 || idx.Bytes == 0 || len(idx.Indices) < 6 {
		t.Errorf("indices: %d docs, %d bytes, %d indices", idx.Docs, idx.Bytes, len(idx.Indices))
	}
	h := decode[map[string]any](t, do(t, s, "GET", "/api/health", nil, nil))
	if h["status"] != "ok" || h["version"] != "v9.9.9" || h["docs"] != float64(18) {
		t.Errorf("health %v", h)
	}
}

func TestDashboardsAPI(t *testing.T) {
	s, st := newTestServer(t, 30, Options{})
	list := decode[struct {
		Dashboards []dashboardJSON `json:"dashboards"`
	}](t, do(t, s, "GET", "/api/dashboards", nil, nil))
	if len(list.Dashboards) != len(Dashboards()) {
		t.Fatalf("%d dashboards, want %d", len(list.Dashboards), len(Dashboards()))
	}
	one := decode[dashboardJSON](t, do(t, s, "GET", "/api/dashboards/vpcflow", nil, nil))
	if one.Title != "VPC Flow" || len(one.Panels) == 0 || one.Panels[0].Span == 0 {
		t.Errorf("vpcflow %+v", one)
	}
	// A panel combines its own query with the request's and takes the
	// time range.
	target := "/api/dashboards/vpcflow/panels/rejected-sources?since=30d&query=" + url.QueryEscape("destination.port:22 OR destination.port:443")
	rec := do(t, s, "GET", target, nil, nil)
	if rec.Code != 200 {
		t.Fatalf("panel: %d %s", rec.Code, rec.Body)
	}
	r := decode[aggJSON](t, rec)
	wantQ := "(event.action:REJECT) AND (destination.port:22 OR destination.port:443)"
	if r.Query != wantQ || len(r.LogTypes) != 1 || r.LogTypes[0] != "vpcflowlogs" || r.From == 0 {
		t.Errorf("panel ran with query %q, types %v, from %d", r.Query, r.LogTypes, r.From)
	}
	last := st.aggs[len(st.aggs)-1]
	if last.Query != wantQ || last.Kind != store.AggTerms || last.Field != "source.ip" {
		t.Errorf("store got %+v", last)
	}
	// Every panel of every dashboard answers over the synthetic data.
	for _, d := range Dashboards() {
		for _, p := range d.Panels {
			rec := do(t, s, "GET", "/api/dashboards/"+d.ID+"/panels/"+p.ID+"?since=7d", nil, nil)
			if rec.Code != 200 {
				t.Errorf("%s/%s: %d %s", d.ID, p.ID, rec.Code, rec.Body)
				continue
			}
			r := decode[aggJSON](t, rec)
			if r.Value == 0 && len(r.Buckets) == 0 {
				t.Errorf("%s/%s: no data", d.ID, p.ID)
			}
		}
	}
}

func TestAlerts(t *testing.T) {
	docs := synthDocs(testNow, 2)
	docs = append(docs, store.Doc{ID: "a1", Index: "alerts", LogType: "alert", TimestampMs: testNow.UnixMilli(),
		Source: []byte(`{"rule":{"name":"Console login without MFA"},"alert":{"id":"a1","status":"open"}}`)})
	st := newFakeStore(docs)
	s, err := New(st, Options{}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	res := decode[searchJSON](t, do(t, s, "GET", "/api/alerts", nil, nil))
	if res.Total != 1 || res.Hits[0].ID != "a1" {
		t.Errorf("alerts %+v", res)
	}
	json := map[string]string{"Content-Type": "application/json"}
	if rec := do(t, s, "POST", "/api/alerts/a1/status", strings.NewReader(`{"status":"acknowledged"}`), json); rec.Code != http.StatusNotImplemented {
		t.Errorf("status without updater: %d", rec.Code)
	}
	up := &fakeUpdater{}
	s2, _ := New(st, Options{Alerts: up}, quietLogger())
	if rec := do(t, s2, "POST", "/api/alerts/a1/status", strings.NewReader(`{"status":"acknowledged"}`), json); rec.Code != 200 || up.got != "a1=acknowledged" {
		t.Errorf("status: %d %s, updater got %q", rec.Code, rec.Body, up.got)
	}
	if rec := do(t, s2, "POST", "/api/alerts/zz/status", strings.NewReader(`{"status":"open"}`), json); rec.Code != 404 {
		t.Errorf("unknown alert: %d", rec.Code)
	}
	if rec := do(t, s2, "POST", "/api/alerts/a1/status", strings.NewReader(`{"status":"closed"}`), json); rec.Code != 400 {
		t.Errorf("bad status: %d", rec.Code)
	}
	if rec := do(t, s2, "POST", "/api/alerts/a1/status", strings.NewReader(`status=open`), nil); rec.Code != 400 {
		t.Errorf("form body: %d", rec.Code)
	}
	s3, _ := New(st, Options{Alerts: up, ReadOnly: true}, quietLogger())
	if rec := do(t, s3, "POST", "/api/alerts/a1/status", strings.NewReader(`{"status":"open"}`), json); rec.Code != http.StatusForbidden {
		t.Errorf("read-only: %d", rec.Code)
	}
	s4, _ := New(st, Options{Alerts: up, AlertLogType: "detection"}, quietLogger())
	// The console reads from /api/health whether it may change statuses
	// and which log type holds the alerts.
	for _, tc := range []struct {
		name    string
		srv     *Server
		write   bool
		logType string
	}{
		{name: "no updater", srv: s, write: false, logType: "alert"},
		{name: "updater", srv: s2, write: true, logType: "alert"},
		{name: "read-only", srv: s3, write: false, logType: "alert"},
		{name: "own log type", srv: s4, write: true, logType: "detection"},
	} {
		h := decode[map[string]any](t, do(t, tc.srv, "GET", "/api/health", nil, nil))
		if h["alerts_write"] != tc.write || h["alert_log_type"] != tc.logType {
			t.Errorf("%s: health says alerts_write %v, alert_log_type %v", tc.name, h["alerts_write"], h["alert_log_type"])
		}
	}
}

type fakeUpdater struct{ got string }

func (f *fakeUpdater) SetAlertStatus(_ context.Context, id, status string) error {
	if id != "a1" {
		return fmt.Errorf("alert %s: %w", id, store.ErrNotFound)
	}
	f.got = id + "=" + status
	return nil
}

func TestAssets(t *testing.T) {
	s, _ := newTestServer(t, 1, Options{})
	rec := do(t, s, "GET", "/assets/vendor/echarts/echarts.min.js", nil, map[string]string{"Accept-Encoding": "gzip, deflate"})
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("echarts: %d %v", rec.Code, rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Contains(plain, []byte("echarts")) {
		t.Fatalf("gunzip: %v", err)
	}
	etag := rec.Header().Get("ETag")
	if rec := do(t, s, "GET", "/assets/vendor/echarts/echarts.min.js", nil, map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	if rec := do(t, s, "GET", "/assets/style.css", nil, map[string]string{"Accept-Encoding": "gzip;q=0"}); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip sent although q=0")
	}
	for path, ct := range map[string]string{"/": "text/html", "/assets/style.css": "text/css", "/assets/vendor/world/countries-110m.geo.json": "application/json", "/favicon.ico": "image/svg+xml"} {
		if got := do(t, s, "GET", path, nil, nil).Header().Get("Content-Type"); !strings.HasPrefix(got, ct) {
			t.Errorf("%s: Content-Type %q, want %s", path, got, ct)
		}
	}
}

func TestServeShutsDownOnCancel(t *testing.T) {
	s, _ := newTestServer(t, 1, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	http.DefaultClient.CloseIdleConnections()
	if _, err := http.Get("http://" + ln.Addr().String() + "/api/health"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestCombineQueries(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{name: "none", in: nil, want: ""},
		{name: "empties", in: []string{"", " ", "*"}, want: ""},
		{name: "one", in: []string{"a:b OR c:d"}, want: "a:b OR c:d"},
		{name: "two", in: []string{"a:b OR c:d", "e:f"}, want: "(a:b OR c:d) AND (e:f)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CombineQueries(tc.in...); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTimeAndDuration(t *testing.T) {
	times := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1704067200000", want: 1704067200000},
		{in: "2024-01-01", want: 1704067200000},
		{in: "2024-01-01T00:00:00Z", want: 1704067200000},
		{in: "2024-01-01T09:00:00+09:00", want: 1704067200000},
		{in: "2024-01-01T00:00:00.5Z", want: 1704067200500},
		{in: "-5", bad: true},
		{in: "soon", bad: true},
	}
	for _, tc := range times {
		got, err := parseTime(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseTime(%q) = %d, %v", tc.in, got, err)
		}
	}
	durs := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "15m", want: 15 * time.Minute},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "2w", want: 14 * 24 * time.Hour},
		{in: "99999999d", bad: true},
		{in: "d", bad: true},
		{in: "", bad: true},
	}
	for _, tc := range durs {
		got, err := parseDuration(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseDuration(%q) = %s, %v", tc.in, got, err)
		}
	}
}

// FuzzReadParams feeds arbitrary query strings to the parameter parser:
// it must answer with a request or a client error, never panic, and never
// let through a page size or aggregation size out of range.
func FuzzReadParams(f *testing.F) {
	for _, seed := range []string{
		"query=a:b&since=24h&size=10",
		"kind=terms&field=source.ip&size=5&metric=network.bytes",
		"from=2024-01-01&to=1704153600000&log_type=a,b",
		"size=-1&offset=99999999999999999999",
		"interval=1d&kind=date_histogram",
		"since=9999999999w",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		req := httptest.NewRequest("GET", "/api/search", nil)
		req.URL.RawQuery = raw
		p, err := readParams(req)
		if err != nil {
			var br *badRequest
			if !errors.As(err, &br) {
				t.Fatalf("non-client error %v", err)
			}
			return
		}
		if sr, err := p.search(testNow); err == nil {
			if sr.Limit < 1 || sr.Limit > maxPageSize || sr.Offset < 0 || sr.Offset > maxOffset {
				t.Fatalf("search out of range: %+v", sr)
			}
		}
		if ar, err := p.aggregate(testNow); err == nil {
			if ar.Size < 0 || ar.Size > maxAggSize {
				t.Fatalf("agg size out of range: %+v", ar)
			}
		}
	})
}

// BenchmarkSearchHandler measures the API's own cost of a search page:
// parameter parsing, the store call (an in-memory fake) and encoding 100
// hits.
func BenchmarkSearchHandler(b *testing.B) {
	s, _ := newTestServer(b, 200, Options{})
	req := httptest.NewRequest("GET", "/api/search?log_type=cloudtrail&size=100", nil)
	req.Host = "localhost"
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkAsset measures serving the largest console file gzip-compressed.
func BenchmarkAsset(b *testing.B) {
	s, _ := newTestServer(b, 1, Options{})
	req := httptest.NewRequest("GET", "/assets/vendor/echarts/echarts.min.js", nil)
	req.Host = "localhost"
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
	}
}
