package opensearchtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// call sends one request and decodes the JSON answer (nil for none).
func call(t *testing.T, s *Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: answer %q: %v", method, path, b, err)
		}
	}
	return res.StatusCode, m
}

func errType(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}

func TestBulkItems(t *testing.T) {
	s := New(t, Options{})
	s.MappingReject("source.port")
	s.ReadOnly("ro", true)
	body := `{"index":{"_index":"logs","_id":"a"}}
{"x":1}
{"create":{"_index":"logs","_id":"a"}}
{"x":2}
{"index":{"_index":"logs","_id":"b"}}
{"source":{"port":"abc"}}
{"index":{"_index":"ro","_id":"c"}}
{"x":3}
{"index":{"_index":"Upper","_id":"d"}}
{"x":4}
{"index":{"_index":"logs","_id":"e"}}
{"x":
{"delete":{"_index":"logs","_id":"zz"}}
{"index":{"_index":"logs"}}
{"x":5}
`
	status, m := call(t, s, "POST", "/_bulk", body)
	if status != 200 || m["errors"] != true {
		t.Fatalf("status %d, answer %v", status, m)
	}
	items := m["items"].([]any)
	want := []struct {
		op     string
		status float64
		typ    string
	}{
		{"index", 201, ""},
		{"create", 409, "version_conflict_engine_exception"},
		{"index", 400, "mapper_parsing_exception"},
		{"index", 403, "cluster_block_exception"},
		{"index", 400, "invalid_index_name_exception"},
		{"index", 400, "mapper_parsing_exception"},
		{"delete", 404, ""},
		{"index", 201, ""},
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d: %v", len(items), len(want), items)
	}
	for i, w := range want {
		it := items[i].(map[string]any)[w.op].(map[string]any)
		if it["status"] != w.status || errType(it) != w.typ {
			t.Errorf("item %d: %v, want status %v type %q", i, it, w.status, w.typ)
		}
	}
	if n := len(s.Docs("logs")); n != 2 {
		t.Errorf("logs holds %d documents, want 2", n)
	}
	if d := s.Docs("logs")["a"]; d.Version != 1 || string(d.Source) != `{"x":1}` {
		t.Errorf("doc a = %+v", d)
	}
}

func TestBulkWholeRequestErrors(t *testing.T) {
	s := New(t, Options{MaxContentLength: 100})
	tests := []struct {
		name, body string
		status     int
	}{
		{name: "no trailing newline", body: `{"index":{"_index":"a"}}` + "\n{}", status: 400},
		{name: "bad action", body: "{\"nope\":{}}\n{}\n", status: 400},
		{name: "missing index", body: "{\"index\":{}}\n{}\n", status: 400},
		{name: "too large", body: strings.Repeat(`{"index":{"_index":"a"}}`+"\n{}\n", 10), status: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st, m := call(t, s, "POST", "/_bulk", tc.body); st != tc.status {
				t.Errorf("status %d (%v), want %d", st, m, tc.status)
			}
		})
	}
}

func TestGzipBodyAndFilterPath(t *testing.T) {
	s := New(t, Options{})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte("{\"index\":{\"_index\":\"z\",\"_id\":\"1\"}}\n{\"a\":1}\n"))
	zw.Close()
	req, _ := http.NewRequest("POST", s.URL()+"/_bulk?filter_path=errors,items.*.status", &zb)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != `{"errors":false,"items":[{"index":{"status":201}}]}` {
		t.Errorf("answer %s", b)
	}
	if len(s.Docs("z")) != 1 {
		t.Error("gzip body not indexed")
	}
	if r := s.Requests(); len(r) != 1 || !r[0].Gzip || !strings.Contains(string(r[0].Body), `"a":1`) {
		t.Errorf("request log %+v", r)
	}
}

func TestTemplatesAndISM(t *testing.T) {
	s := New(t, Options{})
	steps := []struct {
		method, path, body string
		status             int
		errType            string
	}{
		{method: "GET", path: "/_index_template/x", status: 404, errType: "resource_not_found_exception"},
		{method: "GET", path: "/_component_template/c", status: 404, errType: "resource_not_found_exception"},
		{method: "PUT", path: "/_index_template/x", body: `{"index_patterns":["log-x*"],"composed_of":["c"]}`, status: 400, errType: "invalid_index_template_exception"},
		{method: "PUT", path: "/_component_template/c", body: `{"template":{"settings":{"number_of_shards":3}}}`, status: 200},
		{method: "PUT", path: "/_index_template/x", body: `{"index_patterns":["log-x*"],"composed_of":["c"],"template":{"aliases":{"log-x":{}}}}`, status: 200},
		{method: "PUT", path: "/_index_template/y", body: `{"index_patterns":["log-x*"]}`, status: 400, errType: "illegal_argument_exception"},
		{method: "DELETE", path: "/_component_template/c", status: 400, errType: "illegal_argument_exception"},
		{method: "GET", path: "/_index_template/x", status: 200},
		{method: "GET", path: "/_plugins/_ism/policies/p", status: 404, errType: "status_exception"},
		{method: "PUT", path: "/_plugins/_ism/policies/p", body: `{"policy":{"description":"d","default_state":"hot","states":[],"ism_template":[{"index_patterns":["log-x*"],"priority":1}]}}`, status: 201},
		{method: "PUT", path: "/_plugins/_ism/policies/p", body: `{"policy":{"description":"d2"}}`, status: 409, errType: "version_conflict_engine_exception"},
		{method: "PUT", path: "/_plugins/_ism/policies/p?if_seq_no=99&if_primary_term=1", body: `{"policy":{"description":"d2"}}`, status: 409, errType: "version_conflict_engine_exception"},
		{method: "PUT", path: "/log-x-000001", body: `{"aliases":{"log-x-w":{"is_write_index":true}}}`, status: 200},
		{method: "PUT", path: "/log-x-000001", status: 400, errType: "resource_already_exists_exception"},
		{method: "DELETE", path: "/nope", status: 404, errType: "index_not_found_exception"},
	}
	for i, st := range steps {
		status, m := call(t, s, st.method, st.path, st.body)
		if status != st.status || errType(m) != st.errType {
			t.Errorf("step %d %s %s: status %d type %q (%v), want %d %q", i, st.method, st.path, status, errType(m), m, st.status, st.errType)
		}
	}
	_, m := call(t, s, "GET", "/_plugins/_ism/policies/p", "")
	seq := m["_seq_no"].(float64)
	if st, m := call(t, s, "PUT", "/_plugins/_ism/policies/p?if_seq_no="+jsonNum(seq)+"&if_primary_term=1", `{"policy":{"description":"d2"}}`); st != 200 {
		t.Errorf("update with seq_no: %d %v", st, m)
	}
	set := s.IndexSettings("log-x-000001")
	if set["index.number_of_shards"] != "3" || set["index.plugins.index_state_management.policy_id"] != "p" {
		t.Errorf("settings from component template and ISM template not applied: %v", set)
	}
	if s.WriteIndex("log-x-w") != "log-x-000001" {
		t.Errorf("write index of log-x-w = %q", s.WriteIndex("log-x-w"))
	}
	if st, m := call(t, s, "POST", "/log-x-w/_rollover", ""); st != 200 || m["new_index"] != "log-x-000002" {
		t.Errorf("rollover: %d %v", st, m)
	}
	if s.WriteIndex("log-x-w") != "log-x-000002" {
		t.Errorf("write index after rollover = %q", s.WriteIndex("log-x-w"))
	}
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }

func TestReadOnlyBlocksAndCat(t *testing.T) {
	s := New(t, Options{})
	call(t, s, "PUT", "/log-a", "")
	if st, m := call(t, s, "PUT", "/log-a/_settings", `{"index":{"blocks":{"read_only":true}}}`); st != 200 {
		t.Fatalf("settings: %d %v", st, m)
	}
	_, m := call(t, s, "GET", "/_cluster/state/blocks", "")
	if _, ok := m["blocks"].(map[string]any)["indices"].(map[string]any)["log-a"]; !ok {
		t.Errorf("cluster state blocks: %v", m)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/_cat/indices?format=json", nil)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	json.NewDecoder(res.Body).Decode(&rows)
	res.Body.Close()
	if len(rows) != 1 || rows[0]["index"] != "log-a" || rows[0]["docs.count"] != "0" {
		t.Errorf("_cat/indices: %v", rows)
	}
}

func TestFaultsDeterministic(t *testing.T) {
	run := func() []float64 {
		s := NewServer(Options{Seed: 7, Faults: Faults{Item429Rate: 0.3}})
		defer s.Close()
		var b strings.Builder
		for i := range 200 {
			b.WriteString(`{"index":{"_index":"f","_id":"` + jsonNum(float64(i)) + "\"}}\n{}\n")
		}
		_, m := call(t, s, "POST", "/_bulk", b.String())
		var out []float64
		for _, it := range m["items"].([]any) {
			out = append(out, it.(map[string]any)["index"].(map[string]any)["status"].(float64))
		}
		return out
	}
	a, b := run(), run()
	n429 := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("item %d: %v then %v with the same seed", i, a[i], b[i])
		}
		if a[i] == 429 {
			n429++
		}
	}
	if n429 < 40 || n429 > 80 {
		t.Errorf("%d of 200 items got 429 at rate 0.3", n429)
	}
}

func TestResetAndLatency(t *testing.T) {
	s := New(t, Options{Faults: Faults{ResetRate: 1}})
	req, _ := http.NewRequest("POST", s.URL()+"/_bulk", strings.NewReader("{\"index\":{\"_index\":\"r\"}}\n{}\n"))
	_, err := s.Client().Do(req)
	if err == nil {
		t.Fatal("no error from a reset connection")
	}
	if len(s.Docs("r")) != 0 {
		t.Error("a request reset before applying was applied")
	}
	s.SetFaults(Faults{ResetAfterRate: 1})
	req, _ = http.NewRequest("POST", s.URL()+"/_bulk", strings.NewReader("{\"index\":{\"_index\":\"r\"}}\n{}\n"))
	if _, err = s.Client().Do(req); err == nil {
		t.Fatal("no error from a reset-after connection")
	}
	if len(s.Docs("r")) != 1 {
		t.Error("a request reset after applying was not applied")
	}
	s.SetFaults(Faults{Latency: 50 * time.Millisecond})
	start := time.Now()
	call(t, s, "GET", "/_cat/indices", "")
	if time.Since(start) < 50*time.Millisecond {
		t.Error("latency not applied")
	}
	if w := s.WriteRequests(); len(w) != 2 {
		t.Errorf("%d write requests logged, want 2", len(w))
	}
	var ne interface{ Timeout() bool }
	_ = errors.As(err, &ne)
}

func TestMappings(t *testing.T) {
	s := New(t, Options{DynamicMapping: true})
	call(t, s, "PUT", "/strict", `{"mappings":{"dynamic":"strict","properties":{"a":{"type":"long"},"ip":{"type":"ip"}}}}`)
	body := `{"index":{"_index":"dyn","_id":"1"}}
{"port":1,"when":"2024-01-02T03:04:05Z","obj":{"x":"y"}}
{"index":{"_index":"dyn","_id":"2"}}
{"port":"abc"}
{"index":{"_index":"dyn","_id":"3"}}
{"when":"yesterday"}
{"index":{"_index":"dyn","_id":"4"}}
{"obj":"flat"}
{"index":{"_index":"dyn","_id":"5"}}
{"port":"42","obj.z":1}
{"index":{"_index":"strict","_id":"6"}}
{"a":1,"b":2}
{"index":{"_index":"strict","_id":"7"}}
{"ip":"not-an-ip"}
{"index":{"_index":"strict","_id":"8"}}
{"a":"7","ip":"10.0.0.1"}
`
	_, m := call(t, s, "POST", "/_bulk", body)
	want := []struct {
		status float64
		typ    string
	}{{201, ""}, {400, "mapper_parsing_exception"}, {400, "mapper_parsing_exception"}, {400, "mapper_parsing_exception"}, {201, ""},
		{400, "strict_dynamic_mapping_exception"}, {400, "mapper_parsing_exception"}, {201, ""}}
	for i, it := range m["items"].([]any) {
		res := it.(map[string]any)["index"].(map[string]any)
		if res["status"] != want[i].status || errType(res) != want[i].typ {
			t.Errorf("item %d: %v, want %v", i, res, want[i])
		}
	}
	_, m = call(t, s, "GET", "/dyn/_mapping", "")
	props := m["dyn"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	if props["port"].(map[string]any)["type"] != "long" || props["when"].(map[string]any)["type"] != "date" {
		t.Errorf("dynamic mapping %v", props)
	}
	if _, ok := props["obj"].(map[string]any)["properties"].(map[string]any)["z"]; !ok {
		t.Errorf("dotted key not mapped into obj: %v", props["obj"])
	}
}

func TestProxy(t *testing.T) {
	s := New(t, Options{})
	p := NewProxy(t, s.URL(), 1, Faults{Item429Rate: 1}, nil)
	req, _ := http.NewRequest("POST", p.URL()+"/_bulk", strings.NewReader("{\"index\":{\"_index\":\"p\",\"_id\":\"1\"}}\n{}\n"))
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	res.Body.Close()
	it := m["items"].([]any)[0].(map[string]any)["index"].(map[string]any)
	if m["errors"] != true || it["status"] != float64(429) {
		t.Errorf("proxied answer %v", m)
	}
	if len(s.Docs("p")) != 1 || len(p.Requests()) != 1 {
		t.Error("the proxy did not forward the request")
	}
	http.DefaultClient.CloseIdleConnections()
}
