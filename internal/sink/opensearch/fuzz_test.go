package opensearch

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/vigil-siem/vigil/internal/event"
)

// FuzzParseBulk feeds arbitrary answers to the bulk answer parser: it
// returns one result per document or an error, never panics.
func FuzzParseBulk(f *testing.F) {
	f.Add([]byte(`{"errors":false}`), 2)
	f.Add([]byte(`{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed","caused_by":{"type":"x","reason":"y"}}}}]}`), 2)
	f.Add([]byte(`{"errors":true,"items":[{"create":{"status":409,"error":"conflict"}}]}`), 1)
	f.Add([]byte(`{"errors":true,"items":[{}]}`), 1)
	f.Add([]byte(`[]`), 0)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		var p fastjson.Parser
		rs, err := parseBulk(&p, body, n, nil)
		if err == nil && len(rs) != n {
			t.Fatalf("%d results for %d documents", len(rs), n)
		}
		for _, r := range rs {
			_ = r.String()
			_ = r.readOnlyError()
		}
	})
}

// FuzzParseDocumentLine: a line either parses into a document with an
// index and a JSON object source, or is refused; never a panic.
func FuzzParseDocumentLine(f *testing.F) {
	f.Add([]byte(`{"_index":"log-a","_id":"1","_source":{"a":1}}`))
	f.Add([]byte(`{"bucket":"","key":"log-a","path":"","log_type":"t","line":0,"reason":"r","raw":"{\"_index\":\"log-a\",\"_id\":\"1\",\"_source\":{\"a\":1}}"}`))
	f.Add([]byte(`{"log_type":"t","reason":"r","raw_base64":"eyJfaW5kZXgiOiJhIiwiX3NvdXJjZSI6e319"}`))
	f.Add([]byte(`{"raw":"not a document","reason":"cut line"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		d, err := ParseDocumentLine(line)
		if err != nil {
			return
		}
		if d.Index == "" || !json.Valid(d.Source) || d.Source[0] != '{' || bytes.IndexByte(d.Source, '\n') >= 0 {
			t.Fatalf("accepted %+v from %q", d, line)
		}
	})
}

// FuzzBulkAdd: whatever a document holds, a bulk body stays NDJSON: one
// action line and one source line per item, the source without a raw
// newline.
func FuzzBulkAdd(f *testing.F) {
	f.Add("log-a", "id", []byte(`{"a":1}`))
	f.Add("idx\"\n", "i\\d", []byte("{\n\"a\": 1\n}"))
	f.Add("x", "", []byte("{\n"))
	f.Fuzz(func(t *testing.T, index, id string, src []byte) {
		b := &bulk{}
		d := event.Document{Index: index, ID: id, Source: src}
		if reason := b.add(&d, index, OpIndex, true); reason != "" {
			if len(b.items) != 0 || len(b.body) != 0 {
				t.Fatal("a refused document left bytes")
			}
			return
		}
		if bytes.Count(b.body, []byte("\n")) != 2 || b.body[len(b.body)-1] != '\n' {
			t.Fatalf("body %q is not two lines", b.body)
		}
		action := b.body[:b.items[0].src-1]
		if !json.Valid(action) {
			t.Fatalf("action line %q is not JSON", action)
		}
	})
}
