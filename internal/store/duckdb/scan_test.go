//go:build cgo

package duckdb

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/store"
)

func TestRowBuilderExtractsTypedColumns(t *testing.T) {
	sch := newSchema()
	rb := newRowBuilder(sch, newDocCodec())
	val := func(field string) any {
		i, ok := sch.byField[field]
		if !ok {
			t.Fatalf("no column for %s", field)
		}
		return rb.vals[sch.colPos[i]]
	}
	num := func(field string) any {
		return rb.vals[sch.numCol[sch.byField[field]]]
	}
	str := func(v any) any {
		if b, ok := v.([]byte); ok {
			return string(b)
		}
		return v
	}
	tests := []struct {
		name string
		src  string
		want map[string]any // field -> value; "num:"+field for IP numbers
	}{
		{
			name: "nested objects, numbers and lists",
			src:  `{"event":{"action":"ACCEPT","category":["network","web"],"severity":5.5},"source":{"ip":"10.1.2.3","port":443,"geo":{"country_iso_code":"DE"}},"network":{"bytes":12345678901},"related":{"ip":["10.1.2.3","2001:db8::1"]}}`,
			want: map[string]any{"event.action": "ACCEPT", "event.category": []any{"network", "web"}, "event.severity": 5.5, "source.ip": "10.1.2.3", "num:source.ip": uint64(0xffff0a010203), "source.port": int64(443), "source.geo.country_iso_code": "DE", "network.bytes": int64(12345678901), "related.ip": []any{"10.1.2.3", "2001:db8::1"}, "user.name": nil},
		},
		{
			name: "numbers written as strings, as es-loader does",
			src:  `{"source":{"port":"8080","bytes":"12"},"destination":{"port":"x"}}`,
			want: map[string]any{"source.port": int64(8080), "source.bytes": int64(12), "destination.port": nil},
		},
		{
			name: "escapes are decoded",
			src:  `{"user":{"name":"d\u00e9j\u00e0 \"vu\" \\ \ud83d\ude00"},"url":{"path":"/a\/b"}}`,
			want: map[string]any{"user.name": "déjà \"vu\" \\ 😀", "url.path": "/a/b"},
		},
		{
			name: "first value of an array for a scalar column",
			src:  `{"user":{"name":["alice","bob"]},"cloud":{"region":{"not":"a string"}}}`,
			want: map[string]any{"user.name": "alice", "cloud.region": nil},
		},
		{
			name: "IPv6 and IPv4-mapped addresses",
			src:  `{"source":{"ip":"2001:db8::1"},"destination":{"ip":"::ffff:192.0.2.1"}}`,
			want: map[string]any{"num:source.ip": new(big.Int).SetBytes([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), "num:destination.ip": uint64(0xffffc0000201)},
		},
		{
			name: "not an address",
			src:  `{"source":{"ip":"example.com"}}`,
			want: map[string]any{"source.ip": "example.com", "num:source.ip": nil},
		},
		{
			name: "a key with an escape",
			src:  `{"ev\u0065nt":{"action":"x"}}`,
			want: map[string]any{"event.action": "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := store.Doc{ID: "x", Source: []byte(tt.src)}
			if err := rb.build(&d); err != nil {
				t.Fatal(err)
			}
			for f, want := range tt.want {
				var got any
				if name, ok := strings.CutPrefix(f, "num:"); ok {
					got = num(name)
				} else {
					got = str(val(f))
				}
				if l, ok := got.([]any); ok {
					got = append([]any(nil), l...)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", f, got, want)
				}
			}
		})
	}
}

func TestScanRejects(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{name: "empty", src: ``, want: "must be a JSON object"},
		{name: "array", src: `[]`, want: "must be a JSON object"},
		{name: "truncated", src: `{"a":"b`, want: "unterminated string"},
		{name: "trailing data", src: `{} {}`, want: "data after the document"},
		{name: "bad literal", src: `{"a":tru}`, want: "expected a value"},
		{name: "bad number", src: `{"a":01}`, want: "expected ',' or '}'"},
		{name: "bad escape", src: `{"a":"\x"}`, want: "malformed escape"},
		{name: "control character", src: "{\"a\":\"\x01\"}", want: "control character"},
		{name: "missing colon", src: `{"a" 1}`, want: "expected ':'"},
		{name: "invalid UTF-8", src: "{\"a\":\"\xc3\x28\"}", want: "not valid UTF-8"},
		{name: "too deep", src: strings.Repeat(`{"a":`, 300) + "1" + strings.Repeat("}", 300), want: "nested too deeply"},
	}
	sc := newScanner(newSchema())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sc.scan([]byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("scan(%q) = %v, want an error containing %q", tt.src, err, tt.want)
			}
		})
	}
}

// checkRoundTrip cuts @message out of doc as the writer does and checks
// that restoring it gives the same JSON value (and, for documents written
// the way the pipeline writes them, the same bytes).
func checkRoundTrip(t *testing.T, rb *rowBuilder, src []byte, exact bool) {
	t.Helper()
	d := store.Doc{ID: "x", Source: src}
	if err := rb.build(&d); err != nil {
		t.Fatalf("build(%q): %v", src, err)
	}
	docb, err := rb.codec.decode(nil, rb.vals[colDocZ].([]byte))
	if err != nil {
		t.Fatalf("decoding the stored document of %q: %v", src, err)
	}
	doc := string(docb)
	if !json.Valid([]byte(doc)) {
		t.Fatalf("stored document is not JSON: %q (from %q)", doc, src)
	}
	var msg sql.NullString
	var pos sql.NullInt32
	if lc, ok := rb.vals[colLower].([]byte); ok {
		m, err := appendRecased(nil, lc, rb.vals[colCase].([]byte))
		if err != nil {
			t.Fatalf("restoring the message of %q: %v", src, err)
		}
		msg = sql.NullString{String: string(m), Valid: true}
		pos = sql.NullInt32{Int32: rb.vals[colMsgPos].(int32), Valid: true}
	}
	got := restoreMessage(doc, msg, pos)
	if exact && !bytes.Equal(got, src) {
		t.Fatalf("restored\n%s\nwant\n%s", got, src)
	}
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("restored document %q: %v", got, err)
	}
	if err := json.Unmarshal(src, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("restored %s, want %s", got, src)
	}
}

func TestMessageRoundTrip(t *testing.T) {
	rb := newRowBuilder(newSchema(), newDocCodec())
	for _, src := range []string{
		`{"@message":"first","a":1}`,
		`{"a":1,"@message":"middle","b":2}`,
		`{"a":1,"@message":"last"}`,
		`{"@message":"only"}`,
		`{ "a" : 1 , "@message" : "spaced" , "b" : 2 }`,
		`{"a":1 , "@message":"spaced last" }`,
		`{"@message":"esc \" \\ \n \t \u0001 \u00e9 </script>"}`,
		`{"@message":""}`,
		`{"@message":"MiXeD CASE, ABC at the END","a":1}`,
		`{"@message":"Été in ÉVIAN","a":1}`,
		`{"@message":"KELVIN \u212a and İstanbul","a":1}`,
		`{"@message":123,"a":"not a string: stays in the document"}`,
	} {
		checkRoundTrip(t, rb, []byte(src), false)
	}
	// Documents as the pipeline writes them come back byte for byte.
	g := newDocGen(3, time.UnixMilli(at), time.Second)
	for range 500 {
		d := g.Next()
		checkRoundTrip(t, rb, d.Source, true)
	}
}

// TestCorpusRoundTrip stores the pipeline's output for the compatibility
// corpus when it is there (make conformance provides it): every document
// must be accepted and restored byte for byte.
func TestCorpusRoundTrip(t *testing.T) {
	path := filepath.Join("testdata", "sample.ndjson")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rb := newRowBuilder(newSchema(), newDocCodec())
	n := 0
	for line := range bytes.Lines(b) {
		var env struct {
			Source json.RawMessage `json:"_source"`
		}
		if err := json.Unmarshal(line, &env); err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, rb, env.Source, true)
		n++
	}
	if n == 0 {
		t.Fatal("no documents in testdata/sample.ndjson")
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte(`{"a":1,"@message":"m","event":{"action":"x","category":["a","b"]}}`))
	f.Add([]byte(`{"source":{"ip":"10.0.0.1","port":"80"},"@message":"last"}`))
	f.Add([]byte(`{"@message":"\u00e9\ud83d\ude00"}`))
	f.Add([]byte(`{"a":[{"b":null},true,false,-1.5e3]}`))
	f.Add([]byte(`{"a" : "b" , "@message" : "c" }`))
	if b, err := os.ReadFile(filepath.Join("testdata", "sample.ndjson")); err == nil {
		for line := range bytes.Lines(b) {
			var env struct {
				Source json.RawMessage `json:"_source"`
			}
			if json.Unmarshal(line, &env) == nil {
				f.Add([]byte(env.Source))
			}
		}
	}
	sch := newSchema()
	rb := newRowBuilder(sch, newDocCodec())
	fields := newFieldLane(newFieldSet())
	rb.sc.fields = fields
	f.Fuzz(func(t *testing.T, src []byte) {
		fields.setLogType("fuzz")
		err := rb.build(&store.Doc{ID: "x", Source: src})
		trimmed := bytes.TrimSpace(src)
		valid := json.Valid(src) && utf8.Valid(src) && len(trimmed) > 0 && trimmed[0] == '{'
		if err != nil {
			if valid && !strings.Contains(err.Error(), "nested too deeply") {
				t.Fatalf("rejected valid JSON %q: %v", src, err)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted invalid JSON %q", src)
		}
		var v map[string]any
		if json.Unmarshal(src, &v) != nil || hasDuplicateKeys(src) {
			return
		}
		checkRoundTrip(t, rb, src, false)
		fields.rollback()
	})
}

// hasDuplicateKeys reports whether some object in the JSON has a key twice
// (the round trip cannot promise which one survives).
func hasDuplicateKeys(src []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(src))
	type frame struct {
		keys   map[string]bool
		object bool
		key    bool // the next string is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{keys: map[string]bool{}, object: true, key: true})
			case '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.key {
				if top.keys[v] {
					return true
				}
				top.keys[v] = true
				top.key = false
				continue
			}
			if top != nil && top.object {
				top.key = true
			}
		default:
			if top != nil && top.object {
				top.key = true
			}
		}
	}
}

// TestPlain8 compares plain8 with a byte-by-byte test: every byte value at
// every position of an otherwise plain word, and random words.
func TestPlain8(t *testing.T) {
	want := func(b []byte) bool {
		for _, c := range b {
			if c == '"' || c == '\\' || c < 0x20 {
				return false
			}
		}
		return true
	}
	check := func(b []byte) {
		if got := plain8(binary.LittleEndian.Uint64(b)); got != want(b) {
			t.Fatalf("plain8(%q) = %v", b, got)
		}
	}
	for _, fill := range []byte{'a', 0x20, 0x7f, 0x80, 0xff, '#', ']'} {
		for pos := range 8 {
			for c := range 256 {
				b := bytes.Repeat([]byte{fill}, 8)
				b[pos] = byte(c)
				check(b)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		check(binary.LittleEndian.AppendUint64(nil, r.Uint64()))
	}
}
