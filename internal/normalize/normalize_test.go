package normalize_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/logtype/guardduty"
	"github.com/vigil-siem/vigil/internal/logtype/vpcflowlogs"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/testutil"
)

// testINI adds the log types these tests use to the built-in ones.
const testINI = `
[t-json]
s3_key = vigiltest-json/
file_format = json
index_name = log-test
timestamp_key = time
script_ecs = test

[rot-daily]
s3_key = vigiltest-rot-daily/
file_format = json
index_name = log-rot
index_rotation = daily
timestamp_key = time

[rot-weekly]
s3_key = vigiltest-rot-weekly/
file_format = json
index_name = log-rot
index_rotation = weekly
timestamp_key = time

[rot-monthly]
s3_key = vigiltest-rot-monthly/
file_format = json
index_name = log-rot
index_rotation = monthly
timestamp_key = time

[rot-yearly]
s3_key = vigiltest-rot-yearly/
file_format = json
index_name = log-rot
index_rotation = yearly
timestamp_key = time

[rot-auto]
s3_key = vigiltest-rot-auto/
file_format = json
index_name = log-rot
index_suffix = ignored
index_rotation = auto
timestamp_key = time

[rot-daily-tokyo]
s3_key = vigiltest-rot-daily-tokyo/
file_format = json
index_name = log-rot
index_rotation = daily
index_tz = +09:00
timestamp_key = time

[rot-weekly-tokyo]
s3_key = vigiltest-rot-weekly-tokyo/
file_format = json
index_name = log-rot
index_rotation = weekly
index_tz = +09:00
timestamp_key = time

[rot-daily-newyork]
s3_key = vigiltest-rot-daily-newyork/
file_format = json
index_name = log-rot
index_rotation = daily
index_tz = -05:00
timestamp_key = time

[rot-daily-ownzone]
s3_key = vigiltest-rot-daily-ownzone/
file_format = json
index_name = log-rot
index_rotation = daily
index_tz =
timestamp_key = time

[rot-suffix]
s3_key = vigiltest-rot-suffix/
file_format = json
index_name = log-rot
index_suffix = sfx
index_rotation = daily
timestamp_key = time

[rot-ingested]
s3_key = vigiltest-rot-ingested/
file_format = json
index_name = log-rot
index_rotation = daily
index_time = event_ingested
timestamp_key = time

[t-epoch]
s3_key = vigiltest-epoch/
file_format = json
index_name = log-epoch
timestamp_key = ts
timestamp_format = epoch
`

func registry(t testing.TB) *logtype.Registry {
	t.Helper()
	reg, err := logtype.LoadFrom(logtype.NamedReader{Name: "test-user.ini", R: strings.NewReader(testINI)})
	if err != nil {
		t.Fatalf("LoadFrom: %v", err)
	}
	return reg
}

func typ(t testing.TB, reg *logtype.Registry, name string) *logtype.Type {
	t.Helper()
	ty, ok := reg.Get(name)
	if !ok {
		t.Fatalf("no log type %s", name)
	}
	return ty
}

// ingestedAt is the fixed receive time.
var ingestedAt = time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)

func fixedNow() time.Time { return ingestedAt }

const testKey = "vigiltest-json/AWSLogs/123456789012/x/ap-northeast-1/f.json"

// run normalizes raw with type name, running script (may be nil) as the
// type's transform, and returns the raw output, the decoded document (with
// json.Number) and the meta.
func run(t testing.TB, reg *logtype.Registry, name, key, raw string, script normalize.ScriptFunc) ([]byte, map[string]any, normalize.Meta) {
	t.Helper()
	scripts := map[string]normalize.Script{}
	if script != nil {
		scripts[name] = script
	}
	n := normalize.New(scripts, fixedNow)
	out, meta, err := n.Normalize(nil, normalize.Input{
		Type:    typ(t, reg, name),
		Origin:  &event.Origin{Bucket: "bkt", Key: key},
		RawJSON: []byte(raw),
	})
	if err != nil {
		t.Fatalf("Normalize(%s): %v", raw, err)
	}
	if !json.Valid(out) {
		t.Fatalf("output is not valid JSON: %q", out)
	}
	return out, testutil.Decode(t, out), meta
}

var get = testutil.Get

// jsonOf re-encodes a decoded value for comparison.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOverlayAccessors(t *testing.T) {
	var o normalize.Overlay // the zero value is usable
	o.SetString("a.b", "x\"y")
	o.SetInt("a.n", -42)
	o.SetStrings("a.list", []string{"p", "q"})
	o.SetRaw("a.raw", []byte(`{"k":true}`))
	tests := []struct {
		name    string
		path    string
		wantHas bool
		wantRaw string
		wantStr string
	}{
		{name: "string", path: "a.b", wantHas: true, wantRaw: `"x\"y"`, wantStr: `x"y`},
		{name: "int", path: "a.n", wantHas: true, wantRaw: `-42`, wantStr: `-42`},
		{name: "strings", path: "a.list", wantHas: true, wantRaw: `["p","q"]`, wantStr: `["p","q"]`},
		{name: "raw", path: "a.raw", wantHas: true, wantRaw: `{"k":true}`, wantStr: `{"k":true}`},
		{name: "object has no raw value", path: "a", wantHas: true},
		{name: "absent", path: "a.zzz"},
		{name: "absent parent", path: "nope.b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := o.Has(tc.path); got != tc.wantHas {
				t.Errorf("Has(%s) = %v, want %v", tc.path, got, tc.wantHas)
			}
			if got := string(o.Raw(tc.path)); got != tc.wantRaw {
				t.Errorf("Raw(%s) = %s, want %s", tc.path, got, tc.wantRaw)
			}
			if got := o.String(tc.path); got != tc.wantStr {
				t.Errorf("String(%s) = %q, want %q", tc.path, got, tc.wantStr)
			}
		})
	}

	// A value on the way of a deeper path becomes an object.
	o.SetString("a.b.c", "deep")
	if o.Raw("a.b") != nil || o.String("a.b.c") != "deep" {
		t.Errorf("after SetString(a.b.c): Raw(a.b) = %s, String(a.b.c) = %q", o.Raw("a.b"), o.String("a.b.c"))
	}
	// Setting again replaces.
	o.SetInt("a.n", 7)
	if o.String("a.n") != "7" {
		t.Errorf("String(a.n) = %q after replacing, want 7", o.String("a.n"))
	}
	o.Delete("a.n")
	if o.Has("a.n") {
		t.Error("Has(a.n) after Delete")
	}
	o.Reset()
	if o.Has("a") || o.Has("a.b") {
		t.Error("Reset left fields behind")
	}
}

func TestOverlayThroughWriter(t *testing.T) {
	reg := registry(t)
	const ts = `"time":"2024-01-02T03:04:05Z"`
	tests := []struct {
		name   string
		raw    string
		script func(d *normalize.Doc)
		want   map[string]string // dotted path -> JSON of the value, "" = absent
	}{
		{
			name:   "Delete hides a raw field",
			raw:    `{` + ts + `,"secret":"s","keep":"k"}`,
			script: func(d *normalize.Doc) { d.ECS.Delete("secret") },
			want:   map[string]string{"secret": "", "keep": `"k"`},
		},
		{
			name:   "Delete hides a nested raw field and keeps its siblings",
			raw:    `{` + ts + `,"nested":{"a":1,"b":2}}`,
			script: func(d *normalize.Doc) { d.ECS.Delete("nested.b") },
			want:   map[string]string{"nested": `{"a":1}`},
		},
		{
			name:   "Delete of the only nested field drops the emptied object",
			raw:    `{` + ts + `,"nested":{"b":2}}`,
			script: func(d *normalize.Doc) { d.ECS.Delete("nested.b") },
			want:   map[string]string{"nested": ""},
		},
		{
			name: "Delete then set adds a new value",
			raw:  `{` + ts + `,"f":"old"}`,
			script: func(d *normalize.Doc) {
				d.ECS.Delete("f")
				d.ECS.SetString("f", "new")
			},
			want: map[string]string{"f": `"new"`},
		},
		{
			name:   "Delete of something absent changes nothing",
			raw:    `{` + ts + `,"f":"v"}`,
			script: func(d *normalize.Doc) { d.ECS.Delete("nothing.here") },
			want:   map[string]string{"f": `"v"`, "nothing": ""},
		},
		{
			name:   "overlay wins over raw at the same path and objects merge",
			raw:    `{` + ts + `,"user":{"name":"raw","id":"1"}}`,
			script: func(d *normalize.Doc) { d.ECS.SetString("user.name", "ov"); d.ECS.SetString("user.domain", "d") },
			want:   map[string]string{"user": `{"domain":"d","id":"1","name":"ov"}`},
		},
		{
			name:   "overlay value replaces a raw object",
			raw:    `{` + ts + `,"obj":{"a":1}}`,
			script: func(d *normalize.Doc) { d.ECS.SetString("obj", "s") },
			want:   map[string]string{"obj": `"s"`},
		},
		{
			name:   "overlay object replaces a raw scalar",
			raw:    `{` + ts + `,"scalar":"str"}`,
			script: func(d *normalize.Doc) { d.ECS.SetString("scalar.x", "y") },
			want:   map[string]string{"scalar": `{"x":"y"}`},
		},
		{
			name:   "overlay element of a raw list",
			raw:    `{` + ts + `,"arr":["a","b","c"]}`,
			script: func(d *normalize.Doc) { d.ECS.SetString("arr.1", "X") },
			want:   map[string]string{"arr": `["a","X","c"]`},
		},
		{
			name: "Swap exchanges two objects",
			raw:  `{` + ts + `}`,
			script: func(d *normalize.Doc) {
				d.ECS.SetString("source.ip", "10.0.0.1")
				d.ECS.SetInt("source.port", 1)
				d.ECS.SetString("destination.ip", "192.0.2.1")
				d.ECS.Swap("source", "destination")
			},
			want: map[string]string{"source": `{"ip":"192.0.2.1"}`, "destination": `{"ip":"10.0.0.1","port":1}`},
		},
		{
			name: "Swap with one side absent moves it",
			raw:  `{` + ts + `}`,
			script: func(d *normalize.Doc) {
				d.ECS.SetString("net.source.ip", "10.0.0.1")
				d.ECS.Swap("net.source", "net.destination")
			},
			want: map[string]string{"net": `{"destination":{"ip":"10.0.0.1"}}`},
		},
		{
			name: "SetKey with a dotted key and DeleteKey of a dotted raw key",
			raw:  `{` + ts + `,"params":{"x.y":1,"x":{"y":2},"keep":3}}`,
			script: func(d *normalize.Doc) {
				d.ECS.SetKey("params", "a.b", []byte(`"v"`))
				d.ECS.DeleteKey("params", "x.y")
			},
			want: map[string]string{"params": `{"a.b":"v","keep":3,"x":{"y":2}}`},
		},
		{
			name:   "SetKey replaces a raw dotted key",
			raw:    `{` + ts + `,"params":{"a.b":1}}`,
			script: func(d *normalize.Doc) { d.ECS.SetKey("params", "a.b", []byte(`2`)) },
			want:   map[string]string{"params": `{"a.b":2}`},
		},
		{
			name: "empty overlay values are dropped",
			raw:  `{` + ts + `}`,
			script: func(d *normalize.Doc) {
				d.ECS.SetString("e.empty", "")
				d.ECS.SetString("e.dash", "-")
				d.ECS.SetString("e.null", "null")
				d.ECS.SetStrings("e.list", nil)
				d.ECS.SetStrings("e.listempty", []string{""})
				d.ECS.SetRaw("e.obj", []byte(`{}`))
				d.ECS.SetRaw("e.nil", []byte(`null`))
			},
			want: map[string]string{"e": ""},
		},
		{
			name:   "overlay key matches an escaped raw key",
			raw:    `{` + ts + `,"k\u0065y":"raw"}`,
			script: func(d *normalize.Doc) { d.ECS.SetString("key", "ov") },
			want:   map[string]string{"key": `"ov"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, doc, _ := run(t, reg, "t-json", testKey, tc.raw, func(d *normalize.Doc) error {
				tc.script(d)
				return nil
			})
			for path, want := range tc.want {
				got, ok := get(doc, path)
				if want == "" {
					if ok {
						t.Errorf("%s = %s, want it absent", path, jsonOf(got))
					}
					continue
				}
				if !ok || jsonOf(got) != want {
					t.Errorf("%s = %s (present %v), want %s\n%s", path, jsonOf(got), ok, want, out)
				}
			}
		})
	}
}

func TestWriterDropsEmptyValues(t *testing.T) {
	reg := registry(t)
	tests := []struct {
		name  string
		value string // raw JSON of field "k"
		want  string // JSON of "k" in the output; "" = dropped
	}{
		{name: "null", value: `null`},
		{name: "empty string", value: `""`},
		{name: "dash", value: `"-"`},
		{name: "string null", value: `"null"`},
		{name: "string []", value: `"[]"`},
		{name: "empty list", value: `[]`},
		{name: "empty list with spaces", value: `[ ]`},
		{name: "list of one empty string", value: `[""]`},
		{name: "list of one empty string with spaces", value: `[ "" ]`},
		{name: "empty object", value: `{}`},
		{name: "object left empty", value: `{"a":null,"b":"","c":"-"}`},
		{name: "nested objects left empty", value: `{"a":{"b":{"c":[]}}}`},
		// del_none compares decoded values: an escaped "-" or "null" is
		// still dropped.
		{name: "escaped dash", value: `"\u002d"`},
		{name: "escaped null string", value: `"nu\u006cl"`},
		{name: "object partly emptied", value: `{"a":null,"b":1}`, want: `{"b":1}`},
		{name: "objects in a list cleaned but kept", value: `[{"a":null,"b":1},{"c":""}]`, want: `[{"b":1},{}]`},
		{name: "empty object in a list kept", value: `[{}]`, want: `[{}]`},
		{name: "nulls in a list kept", value: `[null,1,null]`, want: `[null,1,null]`},
		{name: "empty strings among others kept", value: `["","a"]`, want: `["","a"]`},
		{name: "dash in a list kept", value: `["-"]`, want: `["-"]`},
		{name: "nested lists copied", value: `[[],[""]]`, want: `[[],[""]]`},
		{name: "zero", value: `0`, want: `0`},
		{name: "false", value: `false`, want: `false`},
		{name: "space", value: `" "`, want: `" "`},
		{name: "double dash", value: `"--"`, want: `"--"`},
		{name: "string None", value: `"None"`, want: `"None"`},
		{name: "numbers copied as written", value: `1.50`, want: `1.50`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := `{"time":"2024-01-02T03:04:05Z","k":` + tc.value + `,"other":"x"}`
			out, doc, _ := run(t, reg, "t-json", testKey, raw, nil)
			got, ok := doc["k"]
			if tc.want == "" {
				if ok {
					t.Errorf("k = %s, want it dropped (del_none)\n%s", jsonOf(got), out)
				}
			} else if !ok || jsonOf(got) != jsonOf(mustDecode(t, tc.want)) {
				t.Errorf("k = %s (present %v), want %s\n%s", jsonOf(got), ok, tc.want, out)
			}
			if doc["other"] != "x" {
				t.Errorf("other = %v, want x", doc["other"])
			}
		})
	}
}

func mustDecode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestWriterTruncatesLongStrings(t *testing.T) {
	reg := registry(t)
	const mark = "<<TRUNCATED>>"
	tests := []struct {
		name    string
		value   string // the decoded string
		rawJSON string // how it is written in the record; "" = json.Marshal(value)
		want    string // the decoded output string
	}{
		{name: "one byte below the limit is kept", value: strings.Repeat("a", 32765), want: strings.Repeat("a", 32765)},
		{name: "at the limit is cut", value: strings.Repeat("a", 32766), want: strings.Repeat("a", 32753) + mark},
		{name: "far above the limit is cut", value: strings.Repeat("b", 100000), want: strings.Repeat("b", 32753) + mark},
		{
			name: "cut at a rune boundary",
			// 3-byte runes: 32753 is not a multiple of 3, the cut goes back
			// to 10917 runes = 32751 bytes.
			value: strings.Repeat("日", 11000),
			want:  strings.Repeat("日", 10917) + mark,
		},
		{
			name:    "escapes count as their decoded bytes",
			value:   strings.Repeat("\n", 20000),
			rawJSON: `"` + strings.Repeat(`\n`, 20000) + `"`,
			want:    strings.Repeat("\n", 20000),
		},
		{
			name:    "escaped string above the limit is cut",
			value:   strings.Repeat("é", 20000),
			rawJSON: `"` + strings.Repeat(`\u00e9`, 20000) + `"`,
			want:    strings.Repeat("é", 16376) + mark, // 32752 bytes: 32753 would split a rune
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rawVal := tc.rawJSON
			if rawVal == "" {
				b, _ := json.Marshal(tc.value)
				rawVal = string(b)
			}
			raw := `{"time":"2024-01-02T03:04:05Z","big":` + rawVal + `,"nested":{"big":` + rawVal + `}}`
			_, doc, _ := run(t, reg, "t-json", testKey, raw, nil)
			for _, path := range []string{"big", "nested.big"} {
				v, _ := get(doc, path)
				got, _ := v.(string)
				if got != tc.want {
					t.Errorf("%s: got %d bytes ending %q, want %d bytes ending %q", path, len(got), tail(got), len(tc.want), tail(tc.want))
				}
				if !utf8.ValidString(got) {
					t.Errorf("%s: output is not valid UTF-8", path)
				}
			}
			// @message keeps the record whole.
			if msg, _ := doc["@message"].(string); strings.Contains(msg, mark) || len(msg) < len(tc.value) {
				t.Errorf("@message has %d bytes; it must keep the record whole (%d bytes of value)", len(msg), len(tc.value))
			}
		})
	}
}

func tail(s string) string {
	if len(s) > 20 {
		return s[len(s)-20:]
	}
	return s
}

func TestWriterEscapes(t *testing.T) {
	reg := registry(t)
	tests := []struct {
		name string
		raw  string
		want map[string]string // key -> JSON of the decoded value
	}{
		{
			name: "raw control characters in strings",
			raw:  "{\"time\":\"2024-01-02T03:04:05Z\",\"c\":\"a\x01b\tc\x1f\",\"d\":[\"x\x02\"]}",
			want: map[string]string{"c": `"a\u0001b\tc\u001f"`, "d": `["x\u0002"]`},
		},
		{
			name: "raw control character in a key",
			raw:  "{\"time\":\"2024-01-02T03:04:05Z\",\"k\x01\":1}",
			want: map[string]string{"k\x01": `1`},
		},
		{
			name: "escaped keys",
			raw:  `{"time":"2024-01-02T03:04:05Z","a\"b":1,"new\nline":2,"\u00e9t\u00e9":3,"back\\slash":4}`,
			want: map[string]string{`a"b`: `1`, "new\nline": `2`, "été": `3`, `back\slash`: `4`},
		},
		{
			name: "escapes in values are kept",
			raw:  `{"time":"2024-01-02T03:04:05Z","v":"q\"uote \\ \u2028 \ud83d\ude00 \/"}`,
			want: map[string]string{"v": jsonOf("q\"uote \\ \u2028 😀 /")},
		},
		{
			name: "white space between tokens",
			raw:  "{ \"time\" : \"2024-01-02T03:04:05Z\" ,\n\t\"o\" : { \"a\" : [ 1 , { \"b\" : null } ] } }",
			want: map[string]string{"o": `{"a":[1,{}]}`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, doc, _ := run(t, reg, "t-json", testKey, tc.raw, nil)
			for k, want := range tc.want {
				got, ok := doc[k]
				if !ok || jsonOf(got) != want {
					t.Errorf("%q = %s (present %v), want %s\n%q", k, jsonOf(got), ok, want, out)
				}
			}
		})
	}
}

func TestParseISO8601(t *testing.T) {
	tokyo := time.FixedZone("", 9*3600)
	tests := []struct {
		name    string
		in      string
		tz      *time.Location
		want    time.Time
		wantOff int // seconds east of UTC
		wantErr bool
	}{
		{name: "Z", in: "2024-01-02T03:04:05Z", want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "+09:00 kept", in: "2024-01-02T03:04:05+09:00", want: time.Date(2024, 1, 2, 3, 4, 5, 0, tokyo), wantOff: 9 * 3600},
		{name: "+0530", in: "2024-01-02T03:04:05+0530", want: time.Date(2024, 1, 1, 21, 34, 5, 0, time.UTC), wantOff: 5*3600 + 1800},
		{name: "-03", in: "2024-01-02T03:04:05-03", want: time.Date(2024, 1, 2, 6, 4, 5, 0, time.UTC), wantOff: -3 * 3600},
		{name: "milliseconds", in: "2024-01-02T03:04:05.123Z", want: time.Date(2024, 1, 2, 3, 4, 5, 123000000, time.UTC)},
		{name: "fraction truncated to µs", in: "2024-01-02T03:04:05.1234567Z", want: time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{name: "nanoseconds truncated, not rounded", in: "2024-01-02T03:04:05.999999999Z", want: time.Date(2024, 1, 2, 3, 4, 5, 999999000, time.UTC)},
		{name: "comma fraction", in: "2024-01-02T03:04:05,5Z", want: time.Date(2024, 1, 2, 3, 4, 5, 500000000, time.UTC)},
		{name: "space separator, minutes only", in: "2024-01-02 03:04", want: time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC)},
		{name: "hour only", in: "2024-01-02T03", want: time.Date(2024, 1, 2, 3, 0, 0, 0, time.UTC)},
		{name: "date only", in: "2024-01-02", want: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		{name: "basic date", in: "20240102", want: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		// Python 3.11's fromisoformat, which the doc comment names as the
		// reference, accepts the basic time form too.
		{name: "basic date and time", in: "20240102T030405Z", want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "no zone uses tz", in: "2024-01-02T03:04:05", tz: tokyo, want: time.Date(2024, 1, 2, 3, 4, 5, 0, tokyo), wantOff: 9 * 3600},
		{name: "explicit zone beats tz", in: "2024-01-02T03:04:05Z", tz: tokyo, want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "leap day", in: "2024-02-29T00:00:00Z", want: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{name: "invalid month", in: "2024-13-01T00:00:00Z", wantErr: true},
		{name: "month zero", in: "2024-00-01", wantErr: true},
		{name: "invalid day", in: "2024-02-30", wantErr: true},
		{name: "not a leap year", in: "2023-02-29", wantErr: true},
		{name: "hour 25", in: "2024-01-02T25:00:00", wantErr: true},
		{name: "minute 60", in: "2024-01-02T03:60:00", wantErr: true},
		{name: "bad zone", in: "2024-01-02T03:04:05+9", wantErr: true},
		{name: "bad zone letters", in: "2024-01-02T03:04:05UTC", wantErr: true},
		{name: "empty fraction", in: "2024-01-02T03:04:05.Z", wantErr: true},
		{name: "garbage", in: "yesterday", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "letters in the date", in: "2024-0a-02", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tz := tc.tz
			if tz == nil {
				tz = time.UTC
			}
			got, err := normalize.ParseISO8601(tc.in, tz)
			if tc.wantErr {
				if err == nil {
					t.Errorf("ParseISO8601(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseISO8601(%q): %v", tc.in, err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("ParseISO8601(%q) = %v, want %v", tc.in, got, tc.want)
			}
			if _, off := got.Zone(); off != tc.wantOff {
				t.Errorf("ParseISO8601(%q) zone offset = %d, want %d", tc.in, off, tc.wantOff)
			}
		})
	}
}

func TestParseTimeEpoch(t *testing.T) {
	epoch := logtype.ParseTimeFormat("epoch")
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{name: "seconds", in: "1704164645", want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "seconds with a fraction", in: "1704164645.25", want: time.Date(2024, 1, 2, 3, 4, 5, 250000000, time.UTC)},
		{name: "milliseconds", in: "1704164645123", want: time.Date(2024, 1, 2, 3, 4, 5, 123000000, time.UTC)},
		{name: "microseconds", in: "1704164645123456", want: time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{name: "zero", in: "0", want: time.Unix(0, 0).UTC()},
		{name: "surrounding space", in: " 1704164645 ", want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{name: "not a number", in: "soon", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalize.ParseTime(tc.in, epoch, time.UTC, ingestedAt)
			if tc.wantErr {
				if err == nil {
					t.Errorf("ParseTime(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tc.in, err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("ParseTime(%q) = %v, want %v", tc.in, got.UTC(), tc.want)
			}
		})
	}

	// Through Normalize: an epoch field becomes @timestamp in UTC.
	reg := registry(t)
	_, doc, meta := run(t, reg, "t-epoch", "vigiltest-epoch/x", `{"ts":1704164645123}`, nil)
	if doc["@timestamp"] != "2024-01-02T03:04:05.123000+00:00" {
		t.Errorf("@timestamp = %v", doc["@timestamp"])
	}
	if meta.TimestampMs != 1704164645123 {
		t.Errorf("TimestampMs = %d", meta.TimestampMs)
	}
}

func TestAppendISOFormat(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{name: "UTC whole seconds", in: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), want: "2024-01-02T03:04:05+00:00"},
		{name: "microseconds", in: time.Date(2024, 1, 2, 3, 4, 5, 123000, time.UTC), want: "2024-01-02T03:04:05.000123+00:00"},
		{name: "milliseconds as six digits", in: time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.UTC), want: "2024-01-02T03:04:05.120000+00:00"},
		{name: "sub-microsecond only is no fraction", in: time.Date(2024, 1, 2, 3, 4, 5, 999, time.UTC), want: "2024-01-02T03:04:05+00:00"},
		{name: "positive offset", in: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("JST", 9*3600)), want: "2024-01-02T03:04:05+09:00"},
		{name: "negative half-hour offset", in: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", -(3*3600+1800))), want: "2024-01-02T03:04:05-03:30"},
		{name: "offset with seconds", in: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600+61)), want: "2024-01-02T03:04:05+01:01:01"},
		{name: "named zero-offset zone", in: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("+00:00", 0)), want: "2024-01-02T03:04:05+00:00"},
		{name: "small year", in: time.Date(999, 12, 31, 23, 59, 59, 0, time.UTC), want: "0999-12-31T23:59:59+00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(normalize.AppendISOFormat([]byte("x"), tc.in))
			if got != "x"+tc.want {
				t.Errorf("AppendISOFormat = %q, want %q", got, "x"+tc.want)
			}
		})
	}
}

func TestStrftimeToGo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "ISO with fraction and zone", in: "%Y-%m-%dT%H:%M:%S.%f%z", want: "2006-01-02T15:04:05.000000-0700"},
		{name: "apache", in: "%d/%b/%Y:%H:%M:%S %z", want: "02/Jan/2006:15:04:05 -0700"},
		{name: "12-hour clock", in: "%I:%M %p", want: "03:04 PM"},
		{name: "names", in: "%a %A %B %e %j %y %Z", want: "Mon Monday January _2 002 06 MST"},
		{name: "percent", in: "100%% %Y", want: "100% 2006"},
		{name: "trailing percent", in: "%Y%", want: "2006%"},
		{name: "%h is a month name", in: "%h", want: "Jan"},
		{name: "unsupported directive", in: "%Y %Q", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normalize.StrftimeToGo(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Errorf("StrftimeToGo(%q) = %q, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("StrftimeToGo(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	// A converted layout parses what the strftime layout describes.
	layout, _ := normalize.StrftimeToGo("%d/%b/%Y:%H:%M:%S %z")
	ts, err := time.Parse(layout, "02/Jan/2024:03:04:05 +0900")
	if err != nil || !ts.Equal(time.Date(2024, 1, 1, 18, 4, 5, 0, time.UTC)) {
		t.Errorf("parsing with the converted layout: %v, %v", ts, err)
	}
}

func TestIndexRotation(t *testing.T) {
	reg := registry(t)
	tests := []struct {
		name string
		typ  string
		time string
		want string
	}{
		{name: "daily", typ: "rot-daily", time: "2024-01-07T20:00:00Z", want: "log-rot-2024-01-07"},
		{name: "weekly, Sunday before the second Monday", typ: "rot-weekly", time: "2024-01-07T20:00:00Z", want: "log-rot-2024-w01"},
		{name: "weekly, Monday", typ: "rot-weekly", time: "2024-01-08T00:00:00Z", want: "log-rot-2024-w02"},
		{name: "weekly, days before the first Monday are week 00", typ: "rot-weekly", time: "2023-01-01T12:00:00Z", want: "log-rot-2023-w00"},
		{name: "weekly, end of year", typ: "rot-weekly", time: "2024-12-31T23:00:00Z", want: "log-rot-2024-w53"},
		{name: "monthly", typ: "rot-monthly", time: "2024-01-07T20:00:00Z", want: "log-rot-2024-01"},
		{name: "yearly", typ: "rot-yearly", time: "2024-01-07T20:00:00Z", want: "log-rot-2024"},
		{name: "auto has no date and no suffix", typ: "rot-auto", time: "2024-01-07T20:00:00Z", want: "log-rot"},
		{name: "index_tz moves the day forward", typ: "rot-daily-tokyo", time: "2024-01-07T20:00:00Z", want: "log-rot-2024-01-08"},
		{name: "index_tz moves the week forward", typ: "rot-weekly-tokyo", time: "2024-01-07T20:00:00Z", want: "log-rot-2024-w02"},
		{name: "negative index_tz moves the day back", typ: "rot-daily-newyork", time: "2024-01-08T03:00:00Z", want: "log-rot-2024-01-07"},
		{name: "default index_tz is UTC whatever the record's zone", typ: "rot-daily", time: "2024-01-08T05:00:00+09:00", want: "log-rot-2024-01-07"},
		{name: "empty index_tz keeps the record's zone", typ: "rot-daily-ownzone", time: "2024-01-08T05:00:00+09:00", want: "log-rot-2024-01-08"},
		{name: "suffix", typ: "rot-suffix", time: "2024-01-07T20:00:00Z", want: "log-rot-sfx-2024-01-07"},
		{name: "event_ingested uses the receive time", typ: "rot-ingested", time: "2020-05-06T00:00:00Z", want: "log-rot-2024-03-04"},
		{name: "built-in monthly default", typ: "t-json", time: "2024-12-31T23:59:59Z", want: "log-test-2024-12"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, doc, meta := run(t, reg, tc.typ, "k", `{"time":"`+tc.time+`"}`, nil)
			if meta.Index != tc.want {
				t.Errorf("Index = %q, want %q", meta.Index, tc.want)
			}
			ts, _ := normalize.ParseISO8601(tc.time, time.UTC)
			if meta.TimestampMs != ts.UnixMilli() {
				t.Errorf("TimestampMs = %d, want %d", meta.TimestampMs, ts.UnixMilli())
			}
			if doc["event.ingested"] != nil {
				t.Errorf("event.ingested written as a dotted key")
			}
			if got, _ := get(doc, "event.ingested"); got != "2024-03-04T05:06:07+00:00" {
				t.Errorf("event.ingested = %v", got)
			}
		})
	}
}

func TestAccountAndRegionFromKey(t *testing.T) {
	reg := registry(t)
	tests := []struct {
		name        string
		key         string
		wantAccount string
		wantRegion  string
	}{
		{name: "AWSLogs layout", key: "AWSLogs/123456789012/CloudTrail/ap-northeast-1/2024/01/02/f.json.gz", wantAccount: "123456789012", wantRegion: "ap-northeast-1"},
		{name: "organization trail", key: "prefix/AWSLogs/o-abc123/111122223333/CloudTrail/eu-central-1/f.gz", wantAccount: "111122223333", wantRegion: "eu-central-1"},
		{name: "GovCloud region", key: "AWSLogs/123456789012/x/us-gov-west-1/f", wantAccount: "123456789012", wantRegion: "us-gov-west-1"},
		{name: "China region", key: "AWSLogs/123456789012/x/cn-north-1/f", wantAccount: "123456789012", wantRegion: "cn-north-1"},
		{name: "global", key: "AWSLogs/123456789012/CloudFront/global/f", wantAccount: "123456789012", wantRegion: "global"},
		{name: "account not followed by a slash", key: "logs/123456789012_CloudTrail_us-east-1_x.json", wantAccount: "unknown", wantRegion: "us-east-1"},
		{name: "account at the very start", key: "123456789012/us-west-2/f", wantAccount: "unknown", wantRegion: "us-west-2"},
		{name: "thirteen digits", key: "x/1234567890123/f", wantAccount: "unknown", wantRegion: "unknown"},
		{name: "first of two accounts", key: "a/111111111111/b/222222222222/c", wantAccount: "111111111111", wantRegion: "unknown"},
		{name: "nothing", key: "plain/file.log", wantAccount: "unknown", wantRegion: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, doc, _ := run(t, reg, "t-json", tc.key, `{"time":"2024-01-02T03:04:05Z"}`, nil)
			if got, _ := get(doc, "cloud.account.id"); got != tc.wantAccount {
				t.Errorf("cloud.account.id = %v, want %s", got, tc.wantAccount)
			}
			if got, _ := get(doc, "cloud.region"); got != tc.wantRegion {
				t.Errorf("cloud.region = %v, want %s", got, tc.wantRegion)
			}
			if got, _ := get(doc, "cloud.provider"); got != "aws" {
				t.Errorf("cloud.provider = %v, want aws", got)
			}
		})
	}
	// Values in the record win over the key.
	_, doc, _ := run(t, reg, "t-json", "AWSLogs/123456789012/x/us-east-1/f",
		`{"time":"2024-01-02T03:04:05Z","cloud":{"account":{"id":"999999999999"},"region":"eu-west-1"}}`, nil)
	if got, _ := get(doc, "cloud.account.id"); got != "999999999999" {
		t.Errorf("cloud.account.id = %v, want the record's", got)
	}
	if got, _ := get(doc, "cloud.region"); got != "eu-west-1" {
		t.Errorf("cloud.region = %v, want the record's", got)
	}
}

// Records used to seed the fuzzer and for benchmarks.
const (
	ctRecord = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::123456789012:assumed-role/Admin/alice","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::123456789012:role/Admin","accountId":"123456789012","userName":"Admin"},"attributes":{"creationDate":"2024-01-02T02:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-01-02T03:04:05Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0"}]},"filterSet":{}},"responseElements":null,"requestID":"0c0c0c0c-0000-0000-0000-000000000000","eventID":"11111111-2222-3333-4444-555555555555","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}}`
	gdRecord = `{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","partition":"aws","id":"f0f0f0f0","arn":"arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f0f0f0f0","type":"Backdoor:EC2/C&CActivity.B!DNS","resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0123456789abcdef0","instanceType":"t3.micro","networkInterfaces":[{"networkInterfaceId":"eni-1","privateIpAddress":"10.0.0.5","publicIp":"54.0.0.5","securityGroups":[{"groupId":"sg-1","groupName":"web"}]}],"tags":[{"key":"Name","value":"web"}]}},"service":{"serviceName":"guardduty","detectorId":"d","action":{"actionType":"NETWORK_CONNECTION","networkConnectionAction":{"connectionDirection":"OUTBOUND","protocol":"TCP","blocked":false,"remoteIpDetails":{"ipAddressV4":"198.51.100.7","organization":{"asn":"64500","asnOrg":"Example","isp":"Example","org":"Example"},"country":{"countryName":"Exampleland"},"city":{"cityName":"Example City"},"geoLocation":{"lat":1.5,"lon":2.5}},"remotePortDetails":{"port":443,"portName":"HTTPS"},"localIpDetails":{"ipAddressV4":"10.0.0.5"},"localPortDetails":{"port":49152,"portName":"Unknown"}}},"resourceRole":"ACTOR","additionalInfo":{"value":"{}","type":"default"},"eventFirstSeen":"2024-01-01T00:00:00.000Z","eventLastSeen":"2024-01-02T03:04:05.000Z","archived":false,"count":3},"severity":8,"createdAt":"2024-01-01T00:00:00.000Z","updatedAt":"2024-01-02T03:04:05.678Z","title":"EC2 instance is querying a domain name associated with a known command and control server.","description":"An EC2 instance is querying a C&C domain."}`
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		ctRecord,
		`{"eventTime":"2024-01-02T03:04:05Z","eventID":"x","errorCode":null,"userIdentity":{"arn":"a:b/c"},"eventSource":"ssm.amazonaws.com","eventName":"StartSession","requestParameters":{"target":"i-1"}}`,
		`{"eventTime":"2024-01-02T03:04:05Z","responseElements":{"credentials":"arn:aws:iam::1:role/x"},"requestParameters":{"tags":["a"],"items":[{}]},"eventSource":"dynamodb.amazonaws.com"}`,
		`{"eventTime":"2024-01-02T03:04:05Z","a":[null,{"b":""},[]],"c":"\u0000\ud83d\ude00","d":{}}`,
		"{\"eventTime\":\"2024-01-02T03:04:05Z\",\"ctl\":\"a\x01b\"}",
		`{"detail-type":"x","detail":{"eventTime":"2024-01-02T03:04:05Z"}}`,
		`[1,2]`,
		`{"eventTime":"not a time"}`,
	} {
		f.Add([]byte(s))
	}
	reg, err := logtype.LoadFrom()
	if err != nil {
		f.Fatal(err)
	}
	ct := typ(f, reg, "cloudtrail")
	n := normalize.New(map[string]normalize.Script{"cloudtrail": cloudtrail.Script{}}, fixedNow)
	origin := &event.Origin{Bucket: "b", Key: "AWSLogs/123456789012/CloudTrail/us-east-1/f.json"}
	var dst []byte
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Input.RawJSON must be valid UTF-8 (the processor replaces
		// invalid sequences before normalizing).
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
		dst = append(dst[:0], "prefix"...)
		out, meta, err := n.Normalize(dst, normalize.Input{Type: ct, Origin: origin, RawJSON: raw})
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("Normalize changed the bytes before dst's end")
		}
		if err != nil {
			if len(out) != len("prefix") {
				t.Fatalf("Normalize failed (%v) but appended %d bytes", err, len(out)-len("prefix"))
			}
			return
		}
		doc := out[len("prefix"):]
		if !json.Valid(doc) {
			t.Fatalf("output is not valid JSON for input %q:\n%q", raw, doc)
		}
		if meta.Index == "" || meta.ID == "" {
			t.Fatalf("meta = %+v, want index and id", meta)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	reg, err := logtype.LoadFrom()
	if err != nil {
		b.Fatal(err)
	}
	const flowLine = "2 123456789012 eni-06b374cb965187230 10.0.15.18 203.0.113.9 45568 443 6 33 3861 1704067728 1704067789 ACCEPT OK"
	benches := []struct {
		name, typ, key, rec string
		script              normalize.Script
		header              string // a flow log record: rec is its line
	}{
		{name: "cloudtrail", typ: "cloudtrail", key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/f.json.gz", rec: ctRecord, script: cloudtrail.Script{}},
		{name: "guardduty", typ: "guardduty", key: "AWSLogs/123456789012/GuardDuty/us-east-1/2024/01/02/f.jsonl.gz", rec: gdRecord, script: guardduty.Script{}},
		{name: "vpcflowlogs", typ: "vpcflowlogs", key: "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/123456789012_vpcflowlogs_us-east-1_fl-0d0aa428bb319b7c5_20240102T0000Z_2fccabb7.log.gz",
			rec: flowLine, script: vpcflowlogs.Script{},
			header: "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			ty := typ(b, reg, bc.typ)
			n := normalize.New(map[string]normalize.Script{bc.typ: bc.script}, fixedNow)
			in := normalize.Input{Type: ty, Origin: &event.Origin{Bucket: "b", Key: bc.key}, RawJSON: []byte(bc.rec)}
			if bc.header != "" {
				var names []string
				for _, f := range strings.Fields(bc.header) {
					names = append(names, strings.ReplaceAll(f, "-", "_"))
				}
				// The values are parts of the line, as the pipeline splits it.
				in.RawJSON, in.Header, in.Message = nil, normalize.NewHeader(names), []byte(bc.rec)
				in.Values = bytes.Fields(in.Message)
			}
			dst, _, err := n.Normalize(nil, in)
			if err != nil {
				b.Fatal(err)
			}
			if !json.Valid(dst) {
				b.Fatalf("invalid output: %s", dst)
			}
			b.SetBytes(int64(len(bc.rec)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				dst, _, err = n.Normalize(dst[:0], in)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPrefix checks Input.Prefix: the record is the object at the start of
// RawJSON, whatever follows; anything a JSON framer would refuse, or a cut
// object, is ErrUnframed with nothing written; a later failure still says
// where the record ends.
func TestPrefix(t *testing.T) {
	reg, err := logtype.LoadFrom()
	if err != nil {
		t.Fatal(err)
	}
	ct := typ(t, reg, "cloudtrail")
	n := normalize.New(map[string]normalize.Script{"cloudtrail": cloudtrail.Script{}}, fixedNow)
	origin := &event.Origin{Bucket: "b", Key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/f.json.gz"}
	whole, wantMeta, err := n.Normalize(nil, normalize.Input{Type: ct, Origin: origin, RawJSON: []byte(ctRecord)})
	if err != nil {
		t.Fatal(err)
	}
	deep := `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`
	tests := []struct {
		name    string
		raw     string
		wantEnd int // 0: ErrUnframed
		wantErr bool
	}{
		{name: "followed by the next record", raw: ctRecord + `,{"eventTime":"x"}]}`, wantEnd: len(ctRecord)},
		{name: "followed by white space", raw: ctRecord + "\n  ", wantEnd: len(ctRecord)},
		{name: "alone", raw: ctRecord, wantEnd: len(ctRecord)},
		{name: "cut off", raw: ctRecord[:len(ctRecord)-1]},
		{name: "raw control character", raw: `{"eventTime":"2024-01-02T03:04:05Z","a":"x` + "\x01" + `"}`},
		{name: "leading zero", raw: `{"eventTime":"2024-01-02T03:04:05Z","a":01}`},
		{name: "too deep", raw: deep},
		{name: "not an object", raw: `[1]`},
		{name: "no timestamp: an error, framed", raw: `{"a":1} {"b":2}`, wantEnd: len(`{"a":1}`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, meta, err := n.Normalize([]byte("head"), normalize.Input{Type: ct, Origin: origin, RawJSON: []byte(tt.raw), Prefix: true})
			if tt.wantEnd == 0 {
				if !errors.Is(err, normalize.ErrUnframed) || string(got) != "head" {
					t.Fatalf("got %q, %v; want ErrUnframed and nothing written", got, err)
				}
				return
			}
			if meta.End != tt.wantEnd {
				t.Fatalf("End = %d, want %d", meta.End, tt.wantEnd)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (string(got) != "head"+string(whole) || meta.ID != wantMeta.ID || meta.Index != wantMeta.Index) {
				t.Fatalf("document differs from the one normalized alone:\n%s\n%s", got, whole)
			}
		})
	}
}

// TestHeaderValues checks that a record given as Header and Values
// normalizes exactly as the same record given as a JSON object.
func TestHeaderValues(t *testing.T) {
	reg, err := logtype.LoadFrom()
	if err != nil {
		t.Fatal(err)
	}
	vpc := typ(t, reg, "vpcflowlogs")
	origin := &event.Origin{Bucket: "b", Key: "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/f.log.gz"}
	names := []string{"version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport",
		"protocol", "packets", "bytes", "start", "end", "action", "log_status"}
	long := strings.Repeat("x", 40000)
	tests := []struct {
		name   string
		values []string
	}{
		{name: "accepted flow", values: []string{"2", "123456789012", "eni-1", "10.0.0.1", "198.51.100.7", "443", "51000", "6", "10", "840", "1704067200", "1704067260", "ACCEPT", "OK"}},
		{name: "no data", values: []string{"2", "123456789012", "eni-1", "-", "-", "-", "-", "-", "-", "-", "1704067200", "1704067260", "-", "NODATA"}},
		{name: "quotes, escapes and non-ASCII", values: []string{"2", `12"3`, "eni-\\1", "10.0.0.1", "é", "null", "[]", "", "1\t0", "840", "1704067200", "1704067260", "ACCEPT", "OK\u2028"}},
		{name: "invalid UTF-8 and a control character", values: []string{"2", "1\xff2", "eni\x01", "10.0.0.1", "10.0.0.2", "1", "2", "17", "1", "2", "1704067200", "1704067260", "REJECT", "OK"}},
		{name: "a value cut as too long", values: []string{"2", "123456789012", long, "10.0.0.1", "10.0.0.2", "1", "2", "17", "1", "2", "1704067200", "1704067260", "REJECT", "OK"}},
	}
	h := normalize.NewHeader(names)
	n := normalize.New(map[string]normalize.Script{"vpcflowlogs": vpcflowlogs.Script{}}, fixedNow)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := []byte(strings.Join(tt.values, " "))
			obj := []byte{'{'}
			vals := make([][]byte, len(tt.values))
			for i, v := range tt.values {
				if i > 0 {
					obj = append(obj, ',')
				}
				obj = append(normalize.AppendQuoted(obj, names[i]), ':')
				obj = normalize.AppendQuoted(obj, v)
				vals[i] = []byte(v)
			}
			obj = append(obj, '}')
			want, wantMeta, wantErr := n.Normalize(nil, normalize.Input{Type: vpc, Origin: origin, RawJSON: obj, Message: line})
			got, gotMeta, gotErr := n.Normalize(nil, normalize.Input{Type: vpc, Origin: origin, Header: h, Values: vals, Message: line})
			if (wantErr == nil) != (gotErr == nil) || string(got) != string(want) || gotMeta.ID != wantMeta.ID || gotMeta.Index != wantMeta.Index {
				t.Fatalf("as fields: %s (%v)\nas JSON:   %s (%v)", got, gotErr, want, wantErr)
			}
		})
	}
	if _, _, err := n.Normalize(nil, normalize.Input{Type: vpc, Origin: origin, Header: h, Values: [][]byte{[]byte("2")}, Message: []byte("2")}); err == nil {
		t.Error("a record with fewer values than the header was accepted")
	}
}

// TestMembers checks that Members describes the top-level object of the
// document just written: every key and value, in order.
func TestMembers(t *testing.T) {
	reg, err := logtype.LoadFrom()
	if err != nil {
		t.Fatal(err)
	}
	n := normalize.New(map[string]normalize.Script{"cloudtrail": cloudtrail.Script{}, "guardduty": guardduty.Script{}, "vpcflowlogs": vpcflowlogs.Script{}}, fixedNow)
	n.RecordMembers(true)
	names := []string{"version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport",
		"protocol", "packets", "bytes", "start", "end", "action", "log_status"}
	line := "2 123456789012 eni-1 10.0.0.1 198.51.100.7 443 51000 6 10 840 1704067200 1704067260 ACCEPT -"
	fullLine := []byte("2 123456789012 eni-1 10.0.0.1 198.51.100.7 443 51000 6 10 840 1704067200 1704067260 ACCEPT OK")
	var vals [][]byte
	for _, v := range strings.Fields(line) {
		vals = append(vals, []byte(v))
	}
	tests := []struct {
		name string
		in   normalize.Input
	}{
		{name: "cloudtrail", in: normalize.Input{Type: typ(t, reg, "cloudtrail"), RawJSON: []byte(ctRecord),
			Origin: &event.Origin{Key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/f.json.gz"}}},
		{name: "guardduty", in: normalize.Input{Type: typ(t, reg, "guardduty"), RawJSON: []byte(gdRecord),
			Origin: &event.Origin{Key: "AWSLogs/123456789012/GuardDuty/us-east-1/2024/01/02/f.jsonl.gz"}}},
		{name: "flow log fields", in: normalize.Input{Type: typ(t, reg, "vpcflowlogs"), Header: normalize.NewHeader(names), Values: vals, Message: []byte(line),
			Origin: &event.Origin{Key: "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/f.log.gz"}}},
		{name: "flow log fields, none empty, parts of the line", in: normalize.Input{Type: typ(t, reg, "vpcflowlogs"), Header: normalize.NewHeader(names),
			Values: bytes.Fields(fullLine), Message: fullLine,
			Origin: &event.Origin{Key: "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/f.log.gz"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _, err := n.Normalize([]byte("head"), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			doc = doc[len("head"):]
			m := n.Members()
			if len(m) == 0 || len(m)%4 != 0 {
				t.Fatalf("Members() = %v", m)
			}
			var want []string
			dec := json.NewDecoder(bytes.NewReader(doc))
			if _, err := dec.Token(); err != nil {
				t.Fatal(err)
			}
			for dec.More() {
				k, _ := dec.Token()
				var v json.RawMessage
				if err := dec.Decode(&v); err != nil {
					t.Fatal(err)
				}
				want = append(want, k.(string)+"="+string(v))
			}
			var got []string
			for i := 0; i < len(m); i += 4 {
				got = append(got, string(doc[m[i]:m[i+1]])+"="+string(doc[m[i+2]:m[i+3]]))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("members\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
