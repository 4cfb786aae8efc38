package setup

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeDashboards is an in-process OpenSearch Dashboards saved objects API:
// _bulk_get and _import (multipart NDJSON, overwrite), with the xsrf header
// check and a request log. Like Dashboards, it adds attributes of its own to
// what it stores (an index pattern's field list, migration versions), so
// tests see that they do not count as changes.
type fakeDashboards struct {
	srv *httptest.Server

	mu      sync.Mutex
	objects map[string]map[string]any // "type/id" → stored object
	log     []string                  // "METHOD path"
	imports int
}

func newFakeDashboards(t *testing.T) *fakeDashboards {
	t.Helper()
	f := &fakeDashboards{objects: map[string]map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDashboards) URL() string { return f.srv.URL }

// requests returns the request log and empties it.
func (f *fakeDashboards) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.log
	f.log = nil
	return out
}

func (f *fakeDashboards) object(typ, id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.objects[typ+"/"+id]
}

func (f *fakeDashboards) setAttribute(typ, id, key string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[typ+"/"+id]["attributes"].(map[string]any)[key] = v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeDashboards) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	if r.Method != http.MethodGet && r.Header.Get("osd-xsrf") == "" {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "error": "Bad Request", "message": "Request must contain a osd-xsrf header."})
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/saved_objects/_bulk_get":
		var req []struct{ Type, ID string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, 400, map[string]any{"statusCode": 400, "message": err.Error()})
			return
		}
		list := []any{}
		for _, q := range req {
			if o, ok := f.objects[q.Type+"/"+q.ID]; ok {
				list = append(list, o)
				continue
			}
			list = append(list, map[string]any{"id": q.ID, "type": q.Type, "error": map[string]any{
				"statusCode": 404, "error": "Not Found", "message": "Saved object [" + q.Type + "/" + q.ID + "] not found"}})
		}
		writeJSON(w, 200, map[string]any{"saved_objects": list})
	case r.Method == http.MethodPost && r.URL.Path == "/api/saved_objects/_import":
		f.importObjects(w, r)
	default:
		writeJSON(w, 404, map[string]any{"statusCode": 404, "error": "Not Found", "message": "Not Found"})
	}
}

func (f *fakeDashboards) importObjects(w http.ResponseWriter, r *http.Request) {
	f.imports++
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		writeJSON(w, 415, map[string]any{"statusCode": 415, "message": "Unsupported Media Type"})
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var file []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeJSON(w, 400, map[string]any{"statusCode": 400, "message": err.Error()})
			return
		}
		if p.FormName() == "file" {
			file, _ = io.ReadAll(p)
		}
	}
	if file == nil {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "[request body.file]: expected value of type [object] but got [undefined]"})
		return
	}
	overwrite := r.URL.Query().Get("overwrite") == "true"
	var objs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(file))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "Unexpected token in JSON"})
			return
		}
		objs = append(objs, o)
	}
	inImport := map[string]bool{}
	for _, o := range objs {
		inImport[o["type"].(string)+"/"+o["id"].(string)] = true
	}
	var errs []any
	n := 0
	for _, o := range objs {
		key := o["type"].(string) + "/" + o["id"].(string)
		if _, ok := f.objects[key]; ok && !overwrite {
			errs = append(errs, map[string]any{"id": o["id"], "type": o["type"], "error": map[string]any{"type": "conflict"}})
			continue
		}
		missing := false
		refs, _ := o["references"].([]any)
		for _, ref := range refs {
			rm := ref.(map[string]any)
			rk := rm["type"].(string) + "/" + rm["id"].(string)
			if _, ok := f.objects[rk]; !ok && !inImport[rk] {
				missing = true
			}
		}
		if missing {
			errs = append(errs, map[string]any{"id": o["id"], "type": o["type"], "error": map[string]any{"type": "missing_references"}})
			continue
		}
		attrs := o["attributes"].(map[string]any)
		if o["type"] == "index-pattern" {
			attrs["fields"] = `[{"name":"@timestamp","type":"date"}]` // Dashboards saves the fields it discovers
		}
		o["migrationVersion"] = map[string]any{o["type"].(string): "7.10.0"}
		o["version"] = "WzEsMV0="
		o["updated_at"] = "2024-01-02T03:04:05.000Z"
		f.objects[key] = o
		n++
	}
	writeJSON(w, 200, map[string]any{"success": len(errs) == 0, "successCount": n, "errors": errs})
}
