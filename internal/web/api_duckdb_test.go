//go:build cgo

package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/store/duckdb"
	"github.com/vigil-siem/vigil/internal/web"
)

// TestAPIOnDuckDB runs the API over the real store: every endpoint and
// every dashboard panel answers, and the store's query errors come back
// as 400 with the position.
func TestAPIOnDuckDB(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, t.TempDir(), duckdb.Options{Threads: 2, MemoryLimit: "512MB"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Write(ctx, web.SyntheticDocsForTest(60)); err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(st, web.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	get := func(target string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest("GET", target, nil)
		req.Host = "127.0.0.1:8080"
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v: %s", target, err, rec.Body)
		}
		return rec.Code, body
	}
	for _, tc := range []struct {
		target string
		check  func(map[string]any) bool
	}{
		{"/api/health", func(b map[string]any) bool { return b["docs"] == float64(360) }},
		{"/api/search?since=2d&log_type=vpcflowlogs&query=" + url.QueryEscape("event.action:REJECT AND destination.port:>=1"), func(b map[string]any) bool { return b["total"].(float64) > 0 }},
		{"/api/search?since=2d&query=" + url.QueryEscape(`user.name:"<script>alert(1)</script>"`), func(b map[string]any) bool { return b["total"] == float64(1) }},
		{"/api/aggregate?kind=terms&field=source.ip&metric=network.bytes&log_type=vpcflowlogs", func(b map[string]any) bool { return len(b["buckets"].([]any)) == 10 }},
		{"/api/aggregate?kind=date_histogram&field=event.action&log_type=vpcflowlogs&since=2d", func(b map[string]any) bool { return len(b["buckets"].([]any)) > 0 && b["interval_ms"].(float64) > 0 }},
		{"/api/aggregate?kind=cardinality&field=user.name&log_type=cloudtrail", func(b map[string]any) bool { return b["value"] == float64(6) }},
		{"/api/aggregate?kind=terms2&field=event.module&field2=cloud.region&log_type=cloudtrail", func(b map[string]any) bool { return len(b["buckets"].([]any)) > 0 }},
		{"/api/docs/cloudtrail-00001", func(b map[string]any) bool { return b["_id"] == "cloudtrail-00001" }},
		{"/api/fields?log_type=route53resolver", func(b map[string]any) bool { return len(b["fields"].([]any)) > 0 }},
		{"/api/indices", func(b map[string]any) bool { return len(b["indices"].([]any)) == 6 }},
	} {
		code, body := get(tc.target)
		if code != http.StatusOK || !tc.check(body) {
			t.Errorf("%s: %d %v", tc.target, code, body)
		}
	}
	code, body := get("/api/search?query=" + url.QueryEscape(`user.name:"oops`))
	if code != http.StatusBadRequest || body["position"] == nil || !strings.Contains(body["error"].(string), "position") {
		t.Errorf("bad query: %d %v", code, body)
	}
	code, body = get("/api/search?query=" + url.QueryEscape(`destination.port:abc`))
	if code != http.StatusBadRequest || !strings.Contains(body["error"].(string), "destination.port") {
		t.Errorf("value that does not fit the field: %d %v", code, body)
	}
	code, body = get("/api/docs/nope")
	if code != http.StatusNotFound {
		t.Errorf("missing doc: %d %v", code, body)
	}
	for _, d := range web.Dashboards() {
		for _, p := range d.Panels {
			target := "/api/dashboards/" + d.ID + "/panels/" + p.ID + "?since=2d&query=" + url.QueryEscape("NOT user.name:nobody")
			code, body := get(target)
			if code != http.StatusOK {
				t.Errorf("%s/%s: %d %v", d.ID, p.ID, code, body)
				continue
			}
			if body["value"] == float64(0) && len(body["buckets"].([]any)) == 0 {
				t.Errorf("%s/%s: no data", d.ID, p.ID)
			}
		}
	}
}

// TestAlertQueriesOnDuckDB runs the requests of the console's Alerts view
// over the real store: the list filtered by status and level and sorted
// by last seen, severity or count, the counts by level, the matched
// documents by _id, and a status change.
func TestAlertQueriesOnDuckDB(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, t.TempDir(), duckdb.Options{Threads: 2, MemoryLimit: "512MB"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	docs := web.SyntheticDocsForTest(20)
	now := time.Now().Truncate(time.Second)
	mk := func(id, level string, count int, first, last time.Duration, status alert.Status, docIDs ...string) store.Doc {
		return alertDoc(&alert.Alert{ID: id, RuleID: "r-" + id, RuleTitle: "rule " + id, Level: level, Count: count,
			FirstSeen: now.Add(-first), LastSeen: now.Add(-last), WindowStart: now.Add(-first).Truncate(time.Hour),
			WindowEnd: now.Add(-first).Truncate(time.Hour).Add(time.Hour), DocIDs: docIDs, Status: status,
			KeyFields: map[string]string{"source.ip": "198.51.100.7"}})
	}
	bf := alertDoc(&alert.Alert{ID: "a-early-first", RuleID: "r-bf", RuleTitle: "SSH brute force", Level: "high", Count: 3,
		Tags: []string{"attack.credential-access", "attack.t1110.001"}, Correlation: true,
		FirstSeen: now.Add(-5 * time.Hour), LastSeen: now.Add(-time.Hour), DocIDs: []string{"linux-secure-00001", "linux-secure-00002"},
		GroupBy: map[string]string{"source.ip": "203.0.113.9"}, KeyFields: map[string]string{"source.ip": "203.0.113.9"}, Status: alert.StatusOpen})
	docs = append(docs, bf,
		mk("a-late-first", "critical", 1, 3*time.Hour, 2*time.Hour, alert.StatusOpen, "cloudtrail-00003"),
		mk("a-acked", "medium", 40, 4*time.Hour, 4*time.Hour, alert.StatusAcknowledged),
	)
	if err := st.Write(ctx, docs); err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(st, web.Options{Alerts: web.StoreAlerts{Store: st}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, target, body string) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, target, rd)
		req.Host = "127.0.0.1:8080"
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, target, err, rec.Body)
		}
		return rec.Code, out
	}
	ids := func(b map[string]any) string {
		var out []string
		for _, h := range b["hits"].([]any) {
			out = append(out, h.(map[string]any)["_id"].(string))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name, target, want string
	}{
		{name: "open, by last seen", target: "/api/alerts?since=7d&order=desc&sort=alert.last_seen&query=" + url.QueryEscape("alert.status:open"),
			want: "a-early-first,a-late-first"},
		{name: "open, by first seen", target: "/api/alerts?since=7d&order=desc&query=" + url.QueryEscape("alert.status:open"),
			want: "a-late-first,a-early-first"},
		{name: "all, by severity", target: "/api/alerts?since=7d&order=desc&sort=event.severity",
			want: "a-late-first,a-early-first,a-acked"},
		{name: "all, by count", target: "/api/alerts?since=7d&order=desc&sort=alert.count",
			want: "a-acked,a-early-first,a-late-first"},
		{name: "level", target: "/api/alerts?since=7d&query=" + url.QueryEscape(`alert.status:open AND alert.level:"high"`),
			want: "a-early-first"},
		{name: "tag", target: "/api/alerts?since=7d&query=" + url.QueryEscape(`tags:attack.t1110.001`), want: "a-early-first"},
		{name: "correlation", target: "/api/alerts?since=7d&query=" + url.QueryEscape(`alert.correlation:true`), want: "a-early-first"},
		{name: "key field", target: "/api/alerts?since=7d&query=" + url.QueryEscape(`alert.key_fields.source.ip:"198.51.100.7"`), want: "a-late-first,a-acked"},
		{name: "group-by value", target: "/api/alerts?since=7d&query=" + url.QueryEscape(`alert.group_by.source.ip:"203.0.113.9"`), want: "a-early-first"},
		{name: "matched documents", target: "/api/search?sort=_id&order=asc&query=" + url.QueryEscape(`_id:("linux-secure-00001" OR "linux-secure-00002")`),
			want: "linux-secure-00001,linux-secure-00002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call("GET", tc.target, "")
			if code != http.StatusOK {
				t.Fatalf("%d %v", code, body)
			}
			if got := ids(body); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	code, body := call("GET", "/api/aggregate?kind=terms&field=alert.level&log_type=alert&since=7d&query="+url.QueryEscape("alert.status:open"), "")
	if code != http.StatusOK || len(body["buckets"].([]any)) != 2 {
		t.Errorf("counts by level: %d %v", code, body)
	}
	if code, body := call("POST", "/api/alerts/a-late-first/status", `{"status":"acknowledged"}`); code != http.StatusOK {
		t.Fatalf("acknowledging: %d %v", code, body)
	}
	if code, body := call("GET", "/api/alerts?since=7d&query="+url.QueryEscape("alert.status:acknowledged"), ""); code != http.StatusOK || ids(body) != "a-late-first,a-acked" {
		t.Errorf("after acknowledging: %d %v", code, body)
	}
	if code, h := call("GET", "/api/health", ""); code != http.StatusOK || h["alerts_write"] != true || h["alert_log_type"] != "alert" {
		t.Errorf("health: %d %v", code, h)
	}
}
