//go:build cgo

package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

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
