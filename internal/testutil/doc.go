// Package testutil holds helpers shared by the tests of several packages:
// normalizing one record through a built-in log type and reading the
// resulting document.
package testutil

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/normalize"
)

// FixedNow is the clock of normalizers built here: 2024-01-02T03:04:05Z.
func FixedNow() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

// Normalize runs one record through the built-in log type typeName with
// script as its transform, and returns the document decoded (numbers as
// json.Number) and its meta. raw is the record as a JSON object; message
// is @message for text formats ("" for JSON formats). It fails the test on
// any error or when the document is not valid JSON.
func Normalize(t testing.TB, typeName string, script normalize.Script, origin event.Origin, raw, message string) (map[string]any, normalize.Meta) {
	t.Helper()
	reg, err := logtype.Load()
	if err != nil {
		t.Fatalf("logtype.Load: %v", err)
	}
	typ, ok := reg.Get(typeName)
	if !ok {
		t.Fatalf("no %s log type", typeName)
	}
	in := normalize.Input{Type: typ, Origin: &origin, RawJSON: []byte(raw)}
	if message != "" {
		in.Message = []byte(message)
	}
	n := normalize.New(map[string]normalize.Script{typeName: script}, FixedNow)
	out, meta, err := n.Normalize(nil, in)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	return Decode(t, out), meta
}

// Decode decodes one JSON document, numbers as json.Number, failing the
// test when it is not valid JSON.
func Decode(t testing.TB, doc []byte) map[string]any {
	t.Helper()
	if !json.Valid(doc) {
		t.Fatalf("document is not valid JSON: %s", doc)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Get walks a dotted path through decoded objects; a numeric segment
// indexes a list.
func Get(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, seg := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// AbsentT is the type of Absent.
type AbsentT struct{}

// Absent, as an expected value, says the field must not be in the document.
var Absent = AbsentT{}

// CheckFields reports every dotted path of want whose value in doc
// differs (compared as JSON, so types count), or that is present when the
// wanted value is Absent.
func CheckFields(t testing.TB, doc map[string]any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		got, ok := Get(doc, path)
		if w == Absent {
			if ok {
				t.Errorf("%s = %#v, want it absent", path, got)
			}
			continue
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(w)
		if !ok || !bytes.Equal(gj, wj) {
			t.Errorf("%s = %s (present %v), want %s", path, gj, ok, wj)
		}
	}
}
