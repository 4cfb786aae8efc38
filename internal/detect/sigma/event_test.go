package sigma

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func matchIDs(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.RuleID
	}
	return out
}

func decodeUseNumber(t testing.TB, data []byte) (map[string]any, bool) {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// checkJSONSame checks that eng gives the same matches for the document js
// read as a JSONEvent as for js decoded into a map (UseNumber), with and
// without a log type.
func checkJSONSame(t testing.TB, eng *Engine, js string) {
	t.Helper()
	m, ok := decodeUseNumber(t, []byte(js))
	if !ok {
		t.Fatalf("event %s does not decode", js)
	}
	ev, err := NewJSONEvent([]byte(js))
	if err != nil {
		t.Fatalf("event %s: %v", js, err)
	}
	for _, lt := range []string{"", "cloudtrail"} {
		a, b := matchIDs(eng.Match(m, lt)), matchIDs(eng.MatchEvent(ev, lt))
		if !slices.Equal(a, b) {
			t.Errorf("log type %q, event %s: map matches %v, JSON event matches %v", lt, js, a, b)
		}
	}
}

// keyPaths returns the dotted paths of every key in v (through objects
// and arrays), up to depth levels.
func keyPaths(v any, prefix string, depth int, out map[string]bool) {
	if depth == 0 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			keyPaths(e, p, depth-1, out)
		}
	case []any:
		for _, e := range x {
			keyPaths(e, prefix, depth, out)
		}
	}
}

func scalarSet(ev Event) []string {
	var out []string
	ev.Scalars(func(v any) bool {
		out = append(out, fmt.Sprintf("%T:%v", v, v))
		return false
	})
	sort.Strings(out)
	return out
}

// checkFieldsSame compares every field lookup of data (each key path, and
// the paths in extra) and the scalar values between MapEvent and
// JSONEvent.
func checkFieldsSame(t testing.TB, data []byte, extra ...string) {
	t.Helper()
	m, ok := decodeUseNumber(t, data)
	if !ok {
		return
	}
	je, err := NewJSONEvent(data)
	if err != nil {
		t.Fatalf("JSON object %q: %v", data, err)
	}
	paths := map[string]bool{}
	keyPaths(m, "", 4, paths)
	for _, p := range extra {
		paths[p] = true
	}
	for name := range paths {
		p := NewPath(name)
		mv, mok := MapEvent(m).Field(p)
		jv, jok := je.Field(p)
		if mok != jok || !reflect.DeepEqual(mv, jv) {
			t.Errorf("document %q, field %q: map %#v (%v), JSON %#v (%v)", data, name, mv, mok, jv, jok)
		}
	}
	if a, b := scalarSet(MapEvent(m)), scalarSet(je); !slices.Equal(a, b) {
		t.Errorf("document %q: map scalars %q, JSON scalars %q", data, a, b)
	}
}

func TestJSONEventFields(t *testing.T) {
	extra := []string{"a", "a.b", "a.b.c", "b.c", "x", "x.y", "missing", "a.missing", "", ".", "a..b"}
	for _, doc := range []string{
		`{"a":1}`,
		` { "a" : { "b" : "v" } , "c" : [ 1 , 2 ] } `,
		`{"a":{"b.c":"v"}}`,
		`{"a.b":{"c":"v"},"a":{"b":{"c":"w"}}}`,
		`{"a.b":{"c":"v"},"a":{"b":{"d":"w"}}}`,
		`{"a":{"b":1},"a":{"c":2}}`,
		`{"a":1,"a":2,"a":3}`,
		`{"a":[{"b":1},{"b":2},{"c":3},5,[{"b":6}]]}`,
		`{"a":[]}`,
		`{"a":{}}`,
		`{"a":null,"b":true,"c":false,"d":-0.5e+10,"e":1.0,"f":""}`,
		`{"esc":"q\"b\\s\/n\nt\tu\u00e9\ud83d\ude00","lone":"\ud800x","lone2":"\udc00\u0041","pair?":"\ud800\u0041"}`,
		`{"k\u0065y":"escaped key","\u00e9":"é"}`,
		"{\"bad\":\"a\xffb\xc3\",\"\xfekey\":1}",
		`{"@message":"{\"eventName\":\"x\",\"n\":[1,2]}","m":"a\\\\\"b"}`,
		`{"x":{"y":[{"z":[{"w":"deep"}]}]},"x.y":"literal"}`,
		`{"obj":{"z":1,"a":{"k":"v"},"m":[1,"two",null]}}`,
		"{\"u\":\"\u2028\u2029<>&\"}",
	} {
		t.Run(doc, func(t *testing.T) { checkFieldsSame(t, []byte(doc), extra...) })
	}
}

func TestJSONEventMalformed(t *testing.T) {
	for _, doc := range []string{``, `[]`, `"s"`, `nul`, `{`, `{"a"`, `{"a":`, `{"a":"x`, `{"a":[1,2`, `{"a":1,,}`, `{"a" 1}`, `{"a":"\`, `{"a":"\u12"}`, `{"a":{"b":`, `{"a":tru}`, `{:1}`} {
		ev := &JSONEvent{}
		err := ev.Reset([]byte(doc))
		for _, name := range []string{"a", "a.b", "b"} {
			ev.Field(NewPath(name)) // must not panic
		}
		ev.Scalars(func(any) bool { return false })
		if (doc == "" || doc[0] != '{') != (err != nil) {
			t.Errorf("%q: Reset error %v", doc, err)
		}
	}
}

// TestJSONEventGenerated compares JSONEvent with the map over the
// benchmark's rules and documents.
func TestJSONEventGenerated(t *testing.T) {
	eng, err := Compile(generateRules(t, 1000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, raw := range generateDocuments(500) {
		checkFieldsSame(t, raw, "userIdentity.sessionContext.sessionIssuer.arn", "source.ip", "event.action")
		checkJSONSame(t, eng, string(raw))
		m, _ := decodeUseNumber(t, raw)
		n += len(eng.Match(m, "cloudtrail"))
	}
	if n == 0 {
		t.Fatal("no matches: the comparison proves nothing")
	}
}

func TestJSONEventAllocations(t *testing.T) {
	eng, err := Compile(generateRules(t, 1000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	docs := generateDocuments(64)
	ev := &JSONEvent{}
	var dst []Match
	for _, d := range docs { // warm the buffers
		_ = ev.Reset(d)
		dst = eng.AppendMatches(dst[:0], ev, "cloudtrail")
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		_ = ev.Reset(docs[i%len(docs)])
		i++
		dst = eng.AppendMatches(dst[:0], ev, "cloudtrail")
	})
	// Boxing strings into interface values is all that may allocate.
	if allocs > 12 {
		t.Errorf("JSON event matching allocates %.1f times per document", allocs)
	}
	t.Logf("%.1f allocations per document", allocs)
}

func TestEventTime(t *testing.T) {
	ev, _ := NewJSONEvent([]byte(`{"eventTime":"2024-01-02T03:04:05Z","ms":1704164645000,"s":1704164645,"bad":"x","arr":["x","2024-01-02T03:04:05Z"]}`))
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range []string{"eventTime", "ms", "s", "arr"} {
		if got, ok := EventTime(ev, NewPath(f)); !ok || !got.Equal(want) {
			t.Errorf("%s: %v %v", f, got, ok)
		}
	}
	for _, f := range []string{"bad", "missing"} {
		if _, ok := EventTime(ev, NewPath(f)); ok {
			t.Errorf("%s: want no time", f)
		}
	}
}

// fuzzRules exercise every kind of condition on the short keys fuzzed
// documents tend to have.
const fuzzRules = `title: eq
id: eq
detection:
  sel:
    a: ['1', 'x', 'true', '', 'a*c', '?']
  condition: sel
---
title: num
id: num
detection:
  sel:
    a: 1
    b|gt: 0
  condition: sel
---
title: nested
id: nested
detection:
  sel:
    a.b|contains: x
  sel2:
    a.b.c|startswith: '1'
  sel3:
    b.c|endswith: '"'
  condition: 1 of sel*
---
title: nulls
id: nulls
detection:
  sel:
    a: null
    b|exists: true
  condition: sel
---
title: neq
id: neq
detection:
  sel:
    a|neq: x
  condition: sel
---
title: ref
id: ref
detection:
  sel:
    a|fieldref: b
  sel2:
    a.b|fieldref|contains: c
  condition: sel or sel2
---
title: keywords
id: keywords
detection:
  kw:
    - x
    - '1'
    - 'é'
  condition: kw
---
title: keywords all
id: keywords-all
detection:
  kw:
    '|all':
      - a
      - 'true'
  condition: kw
---
title: object text
id: object-text
detection:
  sel:
    a|contains: '{"'
  sel2:
    b|contains: '['
  condition: sel or sel2
---
title: all
id: all
detection:
  sel:
    a|contains|all: [a, b]
  condition: sel
---
title: regex cidr
id: regex-cidr
detection:
  sel:
    a|re: '^[0-9.]+$'
  sel2:
    b|cidr: 10.0.0.0/8
  condition: sel or sel2
---
title: cased windash base64
id: cased
detection:
  sel:
    a|cased: X
  sel2:
    b|windash|contains: '-x'
  sel3:
    c|base64offset|contains: hi
  condition: 1 of them
---
title: time
id: time
detection:
  sel:
    a|year: 2024
  condition: sel
---
title: not
id: not
detection:
  sel:
    a|exists: true
  filter:
    c: 'x'
  condition: sel and not filter
`

// FuzzJSONEvent checks, on arbitrary JSON objects, that a JSONEvent
// answers every field lookup, every scalar walk and every rule of a fixed
// set exactly as the decoded map does; malformed input must not panic.
func FuzzJSONEvent(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":"10.1.2.3"}`, `{"a":{"b":"xyz","c":[1,2]}}`, `{"a":"a b","b":"-x"}`,
		`{"a":null,"b":null}`, `{"a":[{"b":"x"},{"b":"y"}],"a.b":"z"}`, `{"a":"1","a":"2"}`,
		`{"a":{"b":"c","c":"c"}}`, `{"a":"X","b":"/x","c":"aGkK"}`, `{"a":"2024-05-01T00:00:00Z"}`,
		`{"a":"\u00e9\ud800","b":{"c":"\""}}`, `{"a":true,"b":1e3}`, `{"a":{"k":[1,{"z":null}]}}`,
	} {
		f.Add([]byte(s))
	}
	for _, d := range generateDocuments(3) {
		f.Add(d)
	}
	rules, err := Parse("fuzz.yml", []byte(fuzzRules))
	if err != nil {
		f.Fatal(err)
	}
	eng, err := Compile(rules, Options{})
	if err != nil {
		f.Fatal(err)
	}
	plain, err := Compile(rules, Options{NoIndex: true})
	if err != nil {
		f.Fatal(err)
	}
	ev := &JSONEvent{}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := ev.Reset(data); err == nil {
			// Whatever the bytes, reading must not panic.
			ev.Field(NewPath("a.b"))
			ev.Scalars(func(any) bool { return false })
			eng.MatchEvent(ev, "")
		}
		m, ok := decodeUseNumber(t, data)
		if !ok || !json.Valid(data) {
			return
		}
		checkFieldsSame(t, data, "a", "a.b", "a.b.c", "b.c")
		_ = ev.Reset(data)
		for _, e := range []*Engine{eng, plain} {
			a, b := matchIDs(e.Match(m, "")), matchIDs(e.MatchEvent(ev, ""))
			if !slices.Equal(a, b) {
				t.Errorf("document %q: map matches %v, JSON event matches %v", data, a, b)
			}
		}
	})
}

// TestCorrelatorJSONEvent runs the correlation scenarios' kind of stream
// through ProcessEvent and Process and expects the same matches.
func TestCorrelatorJSONEvent(t *testing.T) {
	src := `title: fail
id: fail
name: fail
detection:
  sel:
    eventName: ConsoleLogin
    responseElements.ConsoleLogin: Failure
  condition: sel
---
title: ok
id: ok
name: ok
detection:
  sel:
    eventName: ConsoleLogin
    responseElements.ConsoleLogin: Success
  condition: sel
---
title: many failures
id: many
name: many
correlation:
  type: event_count
  rules: [fail]
  group-by: [sourceIPAddress, userIdentity.userName]
  timespan: 5m
  condition: {gte: 3}
---
title: then success
id: then
correlation:
  type: temporal_ordered
  rules: [many, ok]
  group-by: [sourceIPAddress]
  timespan: 10m
---
title: users per ip
id: users
correlation:
  type: value_count
  rules: [fail]
  group-by: [sourceIPAddress]
  timespan: 5m
  condition: {field: userIdentity.userName, gte: 2}
---
title: bytes
id: bytes
correlation:
  type: value_sum
  rules: [fail]
  group-by: [sourceIPAddress]
  timespan: 5m
  condition: {field: bytes, gte: 100}
`
	eng, err := compileYAML(t, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := CorrelatorConfig{RefField: "eventID"}
	cm, cj := eng.NewCorrelator(cfg), eng.NewCorrelator(cfg)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	timePath := NewPath("eventTime")
	buf := make([]byte, 0, 512)
	ev := &JSONEvent{}
	var got, want []string
	for i := 0; i < 60; i++ {
		res := "Failure"
		if i%7 == 6 {
			res = "Success"
		}
		doc := fmt.Sprintf(`{"eventTime":%q,"eventID":"e%d","eventName":"ConsoleLogin","sourceIPAddress":"10.0.0.%d","userIdentity":{"userName":"u%d"},"responseElements":{"ConsoleLogin":%q},"bytes":%d}`,
			base.Add(time.Duration(i)*20*time.Second).Format(time.RFC3339), i, i%3, i%4, res, 10*i)
		m, _ := decodeUseNumber(t, []byte(doc))
		ts, _ := valueTime(m["eventTime"])
		ms1, cms1 := cm.Process(m, ts, "")
		// The JSON event reads a buffer that is overwritten for the next
		// document: the Correlator must have copied what it keeps.
		buf = append(buf[:0], doc...)
		if err := ev.Reset(buf); err != nil {
			t.Fatal(err)
		}
		tj, ok := EventTime(ev, timePath)
		if !ok || !tj.Equal(ts) {
			t.Fatalf("EventTime %v %v, want %v", tj, ok, ts)
		}
		ms2, cms2 := cj.ProcessEvent(ev, tj, "")
		if !slices.Equal(matchIDs(ms1), matchIDs(ms2)) {
			t.Errorf("event %d: detection matches %v vs %v", i, matchIDs(ms1), matchIDs(ms2))
		}
		for _, c := range cms1 {
			want = append(want, fmt.Sprintf("%s %s %v %v %v", c.RuleID, c.ID, c.GroupBy, c.Value, c.Refs))
		}
		for _, c := range cms2 {
			got = append(got, fmt.Sprintf("%s %s %v %v %v", c.RuleID, c.ID, c.GroupBy, c.Value, c.Refs))
		}
		for k := range buf {
			buf[k] = 'X'
		}
	}
	if len(want) == 0 {
		t.Fatal("no correlation matches: the comparison proves nothing")
	}
	if !slices.Equal(got, want) {
		t.Errorf("correlation matches differ:\nmap:  %s\nJSON: %s", strings.Join(want, "\n      "), strings.Join(got, "\n      "))
	}
	s1, _ := cm.Snapshot()
	s2, _ := cj.Snapshot()
	if !bytes.Equal(s1, s2) {
		t.Errorf("snapshots differ:\n%s\n%s", s1, s2)
	}
}

// TestMatcher: a Matcher gives Engine.AppendMatches's matches.
func TestMatcher(t *testing.T) {
	eng, err := Compile(generateRules(t, 1000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := eng.NewMatcher()
	if m.Engine() != eng {
		t.Fatal("Matcher.Engine is not its engine")
	}
	ev := &JSONEvent{}
	var a, b []Match
	n := 0
	for _, d := range generateDocuments(300) {
		_ = ev.Reset(d)
		a = eng.AppendMatches(a[:0], ev, "cloudtrail")
		b = m.AppendMatches(b[:0], ev, "cloudtrail")
		if !slices.Equal(matchIDs(a), matchIDs(b)) {
			t.Fatalf("document %s: engine %v, matcher %v", d, matchIDs(a), matchIDs(b))
		}
		n += len(b)
	}
	if n == 0 {
		t.Fatal("no matches: the comparison proves nothing")
	}
}

// membersOf locates the top-level members of a compact document whose
// keys need no escapes, as a document writer gives them to ResetMembers.
func membersOf(t *testing.T, data []byte) []int32 {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var m []int32
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keyEnd := int32(dec.InputOffset()) - 1
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		ve := int32(dec.InputOffset())
		m = append(m, keyEnd-int32(len(k.(string))), keyEnd, ve-int32(len(v)), ve)
	}
	return m
}

// TestJSONEventResetMembers checks that a JSONEvent given the top-level
// members answers every field as one that scans the document, and that
// offsets that cannot be right are ignored.
func TestJSONEventResetMembers(t *testing.T) {
	docs := [][]byte{
		[]byte(`{"a":1,"b":{"c":"v","d":{"e":[1,{"f":2}]}},"a.b":"x","g":[{"h":1}],"n":null}`),
		[]byte(`{"a":{"b":1},"a":{"c":2}}`),
		[]byte(`{"@message":"{\"eventName\":\"x\"}","é":"y","z":""}`),
	}
	docs = append(docs, generateDocuments(50)...)
	for _, data := range docs {
		m, ok := decodeUseNumber(t, data)
		if !ok {
			t.Fatalf("%q is not a JSON object", data)
		}
		paths := map[string]bool{"missing": true, "b.missing": true}
		keyPaths(m, "", 4, paths)
		scanned, given := &JSONEvent{}, &JSONEvent{}
		if err := scanned.Reset(data); err != nil {
			t.Fatal(err)
		}
		if err := given.ResetMembers(data, membersOf(t, data)); err != nil {
			t.Fatal(err)
		}
		for name := range paths {
			p := NewPath(name)
			sv, sok := scanned.Field(p)
			gv, gok := given.Field(p)
			if sok != gok || !reflect.DeepEqual(sv, gv) {
				t.Errorf("document %.80q, field %q: scanned %#v (%v), given members %#v (%v)", data, name, sv, sok, gv, gok)
			}
		}
		if a, b := scalarSet(scanned), scalarSet(given); !slices.Equal(a, b) {
			t.Errorf("document %.80q: scanned scalars %q, given members %q", data, a, b)
		}
	}
	bad := []byte(`{"a":1,"b":2}`)
	for _, members := range [][]int32{{2, 3, 5, 6, 1, 2, 3, 4}, {2, 3, 5, 99}, {2, 3, 5}, {0, 3, 5, 6}} {
		ev := &JSONEvent{}
		if err := ev.ResetMembers(bad, members); err != nil {
			t.Fatal(err)
		}
		if v, ok := ev.Field(NewPath("b")); !ok || v != json.Number("2") {
			t.Errorf("members %v: b = %#v, %v; want the scanned value", members, v, ok)
		}
	}
}
