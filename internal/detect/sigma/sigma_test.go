package sigma

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// decodeEvent decodes js twice: with json.Number and with float64 numbers.
func decodeEvents(t testing.TB, js string) []map[string]any {
	t.Helper()
	var a, b map[string]any
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("event %s: %v", js, err)
	}
	if err := json.Unmarshal([]byte(js), &b); err != nil {
		t.Fatalf("event %s: %v", js, err)
	}
	return []map[string]any{a, b}
}

func compileYAML(t testing.TB, src string, opts Options) (*Engine, error) {
	t.Helper()
	rules, err := Parse("test.yml", []byte(src))
	if err != nil {
		return nil, err
	}
	return Compile(rules, opts)
}

// detRule wraps a detection section into a rule.
func detRule(detection string) string {
	return "title: t\nid: rule-1\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n" + indent(detection, "  ")
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n") + "\n"
}

type matchCase struct {
	name      string
	detection string
	event     string
	want      bool
	opts      Options
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := compileYAML(t, detRule(tc.detection), tc.opts)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			for i, ev := range decodeEvents(t, tc.event) {
				got := len(eng.Match(ev, "")) == 1
				if got != tc.want {
					t.Errorf("decoding %d: match = %v, want %v\nrule:\n%s\nevent: %s", i, got, tc.want, tc.detection, tc.event)
				}
				// The index must not change the result.
				opts := tc.opts
				opts.NoIndex = true
				eng2, _ := compileYAML(t, detRule(tc.detection), opts)
				if got2 := len(eng2.Match(ev, "")) == 1; got2 != got {
					t.Errorf("index changes the result: indexed %v, unindexed %v", got, got2)
				}
			}
			// The raw JSON event gives the map's answer.
			checkJSONSame(t, eng, tc.event)
		})
	}
}

func TestModifiers(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	wide := base64.StdEncoding.EncodeToString([]byte("p\x00i\x00n\x00g\x00"))
	runMatchCases(t, []matchCase{
		{"equality is case-insensitive", "sel:\n  eventName: consolelogin\ncondition: sel", `{"eventName":"ConsoleLogin"}`, true, Options{}},
		{"equality needs the whole value", "sel:\n  eventName: Console\ncondition: sel", `{"eventName":"ConsoleLogin"}`, false, Options{}},
		{"cased makes it sensitive", "sel:\n  eventName|cased: consolelogin\ncondition: sel", `{"eventName":"ConsoleLogin"}`, false, Options{}},
		{"cased exact", "sel:\n  eventName|cased: ConsoleLogin\ncondition: sel", `{"eventName":"ConsoleLogin"}`, true, Options{}},
		{"contains", "sel:\n  userAgent|contains: 'S3 BROWSER'\ncondition: sel", `{"userAgent":"x s3 browser 9"}`, true, Options{}},
		{"contains miss", "sel:\n  userAgent|contains: 'S3 Browser'\ncondition: sel", `{"userAgent":"aws-cli"}`, false, Options{}},
		{"startswith", "sel:\n  eventName|startswith: Update\ncondition: sel", `{"eventName":"UpdateFunctionConfiguration20150331v2"}`, true, Options{}},
		{"startswith miss", "sel:\n  eventName|startswith: Function\ncondition: sel", `{"eventName":"UpdateFunction"}`, false, Options{}},
		{"endswith", "sel:\n  eventName|endswith: v2\ncondition: sel", `{"eventName":"UpdateV2"}`, true, Options{}},
		{"contains all: every value", "sel:\n  cmd|contains|all: [alpha, beta]\ncondition: sel", `{"cmd":"beta and ALPHA"}`, true, Options{}},
		{"contains all: one missing", "sel:\n  cmd|contains|all: [alpha, beta]\ncondition: sel", `{"cmd":"alpha only"}`, false, Options{}},
		{"value list is OR", "sel:\n  eventName: [A, B, C]\ncondition: sel", `{"eventName":"b"}`, true, Options{}},
		{"re", "sel:\n  arn|re: '.+:assumed-role/aws:.+'\ncondition: sel", `{"arn":"arn:aws:sts::1:assumed-role/aws:x/y"}`, true, Options{}},
		{"re is case-sensitive", "sel:\n  arn|re: '^ABC'\ncondition: sel", `{"arn":"abc"}`, false, Options{}},
		{"re i", "sel:\n  arn|re|i: '^ABC'\ncondition: sel", `{"arn":"abc"}`, true, Options{}},
		{"re m", "sel:\n  msg|re|m: '^second$'\ncondition: sel", `{"msg":"first\nsecond\nthird"}`, true, Options{}},
		{"re without m", "sel:\n  msg|re: '^second$'\ncondition: sel", `{"msg":"first\nsecond\nthird"}`, false, Options{}},
		{"re s", "sel:\n  msg|re|s: 'first.second'\ncondition: sel", `{"msg":"first\nsecond"}`, true, Options{}},
		{"re without s", "sel:\n  msg|re: 'first.second'\ncondition: sel", `{"msg":"first\nsecond"}`, false, Options{}},
		{"cidr v4", "sel:\n  ip|cidr: 10.0.0.0/8\ncondition: sel", `{"ip":"10.1.2.3"}`, true, Options{}},
		{"cidr v4 miss", "sel:\n  ip|cidr: [10.0.0.0/8, 192.168.0.0/16]\ncondition: sel", `{"ip":"11.1.2.3"}`, false, Options{}},
		{"cidr v6", "sel:\n  ip|cidr: '2001:db8::/32'\ncondition: sel", `{"ip":"2001:db8:1::5"}`, true, Options{}},
		{"cidr not an ip", "sel:\n  ip|cidr: 10.0.0.0/8\ncondition: sel", `{"ip":"AWS Internal"}`, false, Options{}},
		{"base64", "sel:\n  data|base64: cmd\ncondition: sel", `{"data":"` + b64([]byte("cmd")) + `"}`, true, Options{}},
		{"base64 is case-sensitive", "sel:\n  data|base64: cmd\ncondition: sel", `{"data":"` + strings.ToLower(b64([]byte("cmd"))) + `"}`, false, Options{}},
		{"base64offset offset 0", "sel:\n  data|base64offset|contains: secret\ncondition: sel", `{"data":"` + b64([]byte("secret and more")) + `"}`, true, Options{}},
		{"base64offset offset 1", "sel:\n  data|base64offset|contains: secret\ncondition: sel", `{"data":"` + b64([]byte("xsecret and more")) + `"}`, true, Options{}},
		{"base64offset offset 2", "sel:\n  data|base64offset|contains: secret\ncondition: sel", `{"data":"` + b64([]byte("xysecret and more")) + `"}`, true, Options{}},
		{"base64offset miss", "sel:\n  data|base64offset|contains: secret\ncondition: sel", `{"data":"` + b64([]byte("xysecrXt and more")) + `"}`, false, Options{}},
		{"utf16le then base64", "sel:\n  data|utf16le|base64: ping\ncondition: sel", `{"data":"` + wide + `"}`, true, Options{}},
		{"wide then base64", "sel:\n  data|wide|base64: ping\ncondition: sel", `{"data":"` + wide + `"}`, true, Options{}},
		{"utf16be then base64", "sel:\n  data|utf16be|base64: ab\ncondition: sel", `{"data":"` + b64([]byte("\x00a\x00b")) + `"}`, true, Options{}},
		{"utf16 with BOM then base64", "sel:\n  data|utf16|base64: ab\ncondition: sel", `{"data":"` + b64([]byte("\xff\xfea\x00b\x00")) + `"}`, true, Options{}},
		{"windash slash", "sel:\n  cmd|windash|contains: ' -exec '\ncondition: sel", `{"cmd":"x /exec y"}`, true, Options{}},
		{"windash en dash", "sel:\n  cmd|windash|contains: ' -exec '\ncondition: sel", `{"cmd":"x \u2013exec y"}`, true, Options{}},
		{"windash miss", "sel:\n  cmd|windash|contains: ' -exec '\ncondition: sel", `{"cmd":"x +exec y"}`, false, Options{}},
		{"lt", "sel:\n  n|lt: 10\ncondition: sel", `{"n":9.5}`, true, Options{}},
		{"lt equal", "sel:\n  n|lt: 10\ncondition: sel", `{"n":10}`, false, Options{}},
		{"lte", "sel:\n  n|lte: 10\ncondition: sel", `{"n":10}`, true, Options{}},
		{"gt", "sel:\n  n|gt: 10\ncondition: sel", `{"n":11}`, true, Options{}},
		{"gt string number", "sel:\n  n|gt: 10\ncondition: sel", `{"n":"11"}`, true, Options{}},
		{"gte", "sel:\n  n|gte: 10\ncondition: sel", `{"n":9}`, false, Options{}},
		{"gt not a number", "sel:\n  n|gt: 10\ncondition: sel", `{"n":"many"}`, false, Options{}},
		{"exists true", "sel:\n  errorCode|exists: true\ncondition: sel", `{"errorCode":"AccessDenied"}`, true, Options{}},
		{"exists true on null", "sel:\n  errorCode|exists: true\ncondition: sel", `{"errorCode":null}`, true, Options{}},
		{"exists true absent", "sel:\n  errorCode|exists: true\ncondition: sel", `{"x":1}`, false, Options{}},
		{"exists false", "sel:\n  errorCode|exists: false\ncondition: sel", `{"x":1}`, true, Options{}},
		{"neq", "sel:\n  type|neq: Root\ncondition: sel", `{"type":"IAMUser"}`, true, Options{}},
		{"neq equal", "sel:\n  type|neq: root\ncondition: sel", `{"type":"Root"}`, false, Options{}},
		{"neq list: differs from all", "sel:\n  type|neq: [Root, IAMUser]\ncondition: sel", `{"type":"IAMUser"}`, false, Options{}},
		{"neq number", "sel:\n  n|neq: 5\ncondition: sel", `{"n":6}`, true, Options{}},
		{"neq absent field", "sel:\n  type|neq: Root\ncondition: sel", `{"x":1}`, false, Options{}},
		{"fieldref equal", "sel:\n  a|fieldref: b\ncondition: sel", `{"a":"Alice","b":"alice"}`, true, Options{}},
		{"fieldref differs", "sel:\n  a|fieldref: b\ncondition: sel", `{"a":"arn:x/alice","b":"alice"}`, false, Options{}},
		{"fieldref endswith", "sel:\n  a|fieldref|endswith: b\ncondition: sel", `{"a":"arn:x/alice","b":"alice"}`, true, Options{}},
		{"fieldref cased", "sel:\n  a|fieldref|cased: b\ncondition: sel", `{"a":"Alice","b":"alice"}`, false, Options{}},
		{"fieldref missing ref", "sel:\n  a|fieldref: b\ncondition: sel", `{"a":"alice"}`, false, Options{}},
		{"fieldref neq", "sel:\n  a|fieldref|neq: b\ncondition: sel", `{"a":"x","b":"y"}`, true, Options{}},
		{"expand", "sel:\n  ip|expand: '%admins%'\ncondition: sel", `{"ip":"bob"}`, true, Options{Placeholders: map[string][]string{"admins": {"alice", "b*"}}}},
		{"expand miss", "sel:\n  ip|expand: '%admins%'\ncondition: sel", `{"ip":"carol"}`, false, Options{Placeholders: map[string][]string{"admins": {"alice", "b*"}}}},
		{"expand in text", "sel:\n  u|expand: 'pre-%x%-\\%lit'\ncondition: sel", `{"u":"pre-1-%lit"}`, true, Options{Placeholders: map[string][]string{"x": {"1"}}}},
		{"expand missing, match nothing", "sel:\n  u|expand: '%x%'\ncondition: sel", `{"u":"a"}`, false, Options{MissingPlaceholders: PlaceholderMatchNothing}},
		{"expand missing, wildcard", "sel:\n  u|expand: '%x%'\ncondition: sel", `{"u":"a"}`, true, Options{MissingPlaceholders: PlaceholderWildcard}},
		{"hour", "sel:\n  eventTime|hour: 13\ncondition: sel", `{"eventTime":"2022-09-15T13:45:24Z"}`, true, Options{}},
		{"hour gte", "sel:\n  eventTime|hour|gte: 22\ncondition: sel", `{"eventTime":"2022-09-15T13:45:24Z"}`, false, Options{}},
		{"minute", "sel:\n  eventTime|minute: 45\ncondition: sel", `{"eventTime":"2022-09-15 13:45:24"}`, true, Options{}},
		{"day month year week", "sel:\n  t|day: 15\n  t|month: 9\n  t|year: 2022\n  t|week: 37\ncondition: sel", `{"t":"2022-09-15T13:45:24Z"}`, true, Options{}},
	})
}

func TestValuesAndFields(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"wildcard star", "sel:\n  f: 'a*c'\ncondition: sel", `{"f":"abbbc"}`, true, Options{}},
		{"wildcard star miss", "sel:\n  f: 'a*c'\ncondition: sel", `{"f":"abbbd"}`, false, Options{}},
		{"wildcard question", "sel:\n  f: 'a?c'\ncondition: sel", `{"f":"abc"}`, true, Options{}},
		{"wildcard question is one char", "sel:\n  f: 'a?c'\ncondition: sel", `{"f":"abbc"}`, false, Options{}},
		{"wildcard question unicode", "sel:\n  f: 'a?c'\ncondition: sel", `{"f":"aéc"}`, true, Options{}},
		{"wildcards mixed", "sel:\n  f: '*x?z*end'\ncondition: sel", `{"f":"..xyz..xaz..END"}`, true, Options{}},
		{"escaped star is literal", "sel:\n  f: 'a\\*c'\ncondition: sel", `{"f":"a*c"}`, true, Options{}},
		{"escaped star no wildcard", "sel:\n  f: 'a\\*c'\ncondition: sel", `{"f":"abc"}`, false, Options{}},
		{"escaped question", "sel:\n  f: 'what\\?'\ncondition: sel", `{"f":"what?"}`, true, Options{}},
		{"escaped backslash then wildcard", "sel:\n  f: 'C:\\\\*'\ncondition: sel", `{"f":"C:\\Windows"}`, true, Options{}},
		{"plain backslash", "sel:\n  f: 'C:\\Windows'\ncondition: sel", `{"f":"c:\\windows"}`, true, Options{}},
		{"contains star matches any present value", "sel:\n  errorCode|contains: '*'\ncondition: sel", `{"errorCode":"x"}`, true, Options{}},
		{"contains star absent field", "sel:\n  errorCode|contains: '*'\ncondition: sel", `{"x":"y"}`, false, Options{}},
		{"null matches absent", "sel:\n  f: null\ncondition: sel", `{"g":1}`, true, Options{}},
		{"null matches JSON null", "sel:\n  f: null\ncondition: sel", `{"f":null}`, true, Options{}},
		{"null does not match value", "sel:\n  f: null\ncondition: sel", `{"f":""}`, false, Options{}},
		{"empty string", "sel:\n  f: ''\ncondition: sel", `{"f":""}`, true, Options{}},
		{"empty string absent", "sel:\n  f: ''\ncondition: sel", `{"g":""}`, false, Options{}},
		{"number equals number", "sel:\n  code: 200\ncondition: sel", `{"code":200}`, true, Options{}},
		{"number equals float form", "sel:\n  code: 200\ncondition: sel", `{"code":200.0}`, true, Options{}},
		{"number equals string", "sel:\n  code: 200\ncondition: sel", `{"code":"200"}`, true, Options{}},
		{"string equals number", "sel:\n  code: '200'\ncondition: sel", `{"code":200}`, true, Options{}},
		{"bool equals bool", "sel:\n  readOnly: false\ncondition: sel", `{"readOnly":false}`, true, Options{}},
		{"bool equals string", "sel:\n  readOnly: false\ncondition: sel", `{"readOnly":"False"}`, true, Options{}},
		{"string equals bool", "sel:\n  readOnly: 'true'\ncondition: sel", `{"readOnly":true}`, true, Options{}},
		{"YAML 1.2: NO stays a string", "sel:\n  country: NO\ncondition: sel", `{"country":"no"}`, true, Options{}},
		{"YAML 1.2: yes stays a string", "sel:\n  f: yes\ncondition: sel", `{"f":"yes"}`, true, Options{}},
		{"object compares as JSON text", "sel:\n  requestParameters|contains: '\"status\":\"Suspended\"'\ncondition: sel", `{"requestParameters":{"versioningConfiguration":{"status":"Suspended"}}}`, true, Options{}},
		{"array: any element", "sel:\n  tags: x\ncondition: sel", `{"tags":["a","X"]}`, true, Options{}},
		{"array: no element", "sel:\n  tags: x\ncondition: sel", `{"tags":["a","b"]}`, false, Options{}},
		{"array of objects", "sel:\n  layers|contains: 'evil'\ncondition: sel", `{"layers":[{"arn":"ok"},{"arn":"evil-layer"}]}`, true, Options{}},
		{"path through array", "sel:\n  layers.arn: evil\ncondition: sel", `{"layers":[{"arn":"ok"},{"arn":"evil"}]}`, true, Options{}},
		{"all over array elements", "sel:\n  tags|all: [a, b]\ncondition: sel", `{"tags":["a","b"]}`, true, Options{}},
		{"dotted path", "sel:\n  userIdentity.arn|endswith: /alice\ncondition: sel", `{"userIdentity":{"arn":"arn:x/alice"}}`, true, Options{}},
		{"literal dotted key", "sel:\n  userIdentity.arn|endswith: /alice\ncondition: sel", `{"userIdentity.arn":"arn:x/alice"}`, true, Options{}},
		{"mixed dotted key", "sel:\n  a.b.c: v\ncondition: sel", `{"a":{"b.c":"v"}}`, true, Options{}},
		{"map is AND", "sel:\n  a: 1\n  b: 2\ncondition: sel", `{"a":1,"b":3}`, false, Options{}},
		{"list of maps is OR", "sel:\n  - a: 1\n  - b: 2\ncondition: sel", `{"a":0,"b":2}`, true, Options{}},
		{"keywords", "kw:\n  - evilservice\n  - mimikatz\ncondition: kw", `{"a":{"b":["x","run MIMIKATZ now"]}}`, true, Options{}},
		{"keywords miss", "kw:\n  - evilservice\ncondition: kw", `{"a":"good"}`, false, Options{}},
		{"keywords match numbers", "kw:\n  - 4625\ncondition: kw", `{"id":4625}`, true, Options{}},
		{"keywords all", "kw:\n  '|all':\n    - alpha\n    - beta\ncondition: kw", `{"x":"alpha","y":{"z":"beta"}}`, true, Options{}},
		{"keywords all miss", "kw:\n  '|all':\n    - alpha\n    - beta\ncondition: kw", `{"x":"alpha"}`, false, Options{}},
		{"keyword wildcard", "kw:\n  - 'ev?l'\ncondition: kw", `{"x":"an evil thing"}`, true, Options{}},
	})
}

func TestConditions(t *testing.T) {
	const searches = "sel_a:\n  a: 1\nsel_b:\n  b: 1\nfilter:\n  c: 1\n_hidden:\n  d: 1\n"
	cases := []struct {
		cond  string
		event string
		want  bool
	}{
		{"sel_a and sel_b", `{"a":1,"b":1}`, true},
		{"sel_a and sel_b", `{"a":1}`, false},
		{"sel_a or sel_b", `{"b":1}`, true},
		{"sel_a and not filter", `{"a":1,"c":1}`, false},
		{"sel_a and not filter", `{"a":1}`, true},
		{"not sel_a", `{"b":1}`, true},
		{"sel_a and (sel_b or filter)", `{"a":1,"c":1}`, true},
		{"(sel_a and sel_b) or filter", `{"a":1}`, false},
		{"sel_a or sel_b and filter", `{"a":1}`, true}, // and binds tighter
		{"not sel_a and sel_b", `{"b":1}`, true},       // not binds tighter
		{"1 of sel_*", `{"b":1}`, true},
		{"1 of sel_*", `{"c":1}`, false},
		{"all of sel_*", `{"a":1,"b":1}`, true},
		{"all of sel_*", `{"a":1}`, false},
		{"1 of them", `{"c":1}`, true},
		{"1 of them", `{"d":1}`, false}, // _hidden is not part of them
		{"all of them", `{"a":1,"b":1,"c":1}`, true},
		{"all of them", `{"a":1,"b":1}`, false},
		{"1 of _hid*", `{"d":1}`, true}, // patterns may name _ identifiers
		{"sel_a AND NOT filter", `{"a":1}`, true},
		{"any of sel_*", `{"a":1}`, true},
		{"2 of sel_* or filter", `{"a":1,"b":1}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.cond+" "+tc.event, func(t *testing.T) {
			eng, err := compileYAML(t, detRule(searches+"condition: "+tc.cond), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range decodeEvents(t, tc.event) {
				if got := len(eng.Match(ev, "")) == 1; got != tc.want {
					t.Errorf("match = %v, want %v", got, tc.want)
				}
			}
			checkJSONSame(t, eng, tc.event)
		})
	}
	t.Run("list of conditions is OR", func(t *testing.T) {
		eng, err := compileYAML(t, detRule(searches+"condition:\n  - sel_a and sel_b\n  - filter"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, js := range []string{`{"c":1}`, `{"a":1,"b":1}`} {
			if len(eng.Match(decodeEvents(t, js)[0], "")) != 1 {
				t.Errorf("%s: no match", js)
			}
		}
		if len(eng.Match(decodeEvents(t, `{"a":1}`)[0], "")) != 0 {
			t.Error("unexpected match")
		}
	})
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unsupported regexp", detRule("sel:\n  f|re: '(?=x)'\ncondition: sel"), "test.yml:8:"},
		{"backreference", detRule("sel:\n  f|re: '(a)\\1'\ncondition: sel"), "unsupported regular expression"},
		{"unknown modifier", detRule("sel:\n  f|bogus: x\ncondition: sel"), `unknown modifier "bogus"`},
		{"unknown identifier", detRule("sel:\n  f: x\ncondition: sel and other"), `test.yml:9: rule "rule-1": condition "sel and other": unknown search identifier "other"`},
		{"bad condition", detRule("sel:\n  f: x\ncondition: sel and (sel"), "missing )"},
		{"pattern matches nothing", detRule("sel:\n  f: x\ncondition: 1 of filter*"), "matches no search identifier"},
		{"missing placeholder", detRule("sel:\n  f|expand: '%nope%'\ncondition: sel"), "placeholder %nope% is not defined"},
		{"bad cidr", detRule("sel:\n  f|cidr: 10.0.0/33\ncondition: sel"), "invalid CIDR"},
		{"gt needs a number", detRule("sel:\n  f|gt: many\ncondition: sel"), "want a number"},
		{"i without re", detRule("sel:\n  f|i: x\ncondition: sel"), "need re"},
		{"base64 with wildcard", detRule("sel:\n  f|base64: 'a*'\ncondition: sel"), "wildcards"},
		{"exists needs bool", detRule("sel:\n  f|exists: maybe\ncondition: sel"), "exists takes a single true or false"},
		{"no condition", "title: x\ndetection:\n  sel:\n    a: 1\n", "no condition"},
		{"bad yaml", "title: [x\n", "parsing YAML"},
		{"correlation unknown rule", "title: c\ncorrelation:\n  type: event_count\n  rules: [nope]\n  group-by: [a]\n  timespan: 5m\n  condition: {gte: 2}\n", "unknown, invalid or cyclic rules: nope"},
		{"correlation bad type", "title: c\ncorrelation:\n  type: nope\n  rules: [a]\n  timespan: 5m\n", `unknown type "nope"`},
		{"aggregation without timeframe", detRule("sel:\n  f: x\ncondition: sel | count() > 5"), "needs a timeframe"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileYAML(t, tc.src, Options{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Errorf("error %v is not a *RuleError", err)
			}
		})
	}
}

func TestParseMultiDocumentAndPartialFailure(t *testing.T) {
	src := detRule("sel:\n  a: 1\ncondition: sel") + "---\ntitle: broken\ndetection:\n  sel:\n    a|bogus: 1\n  condition: sel\n---\n" +
		strings.Replace(detRule("sel:\n  b: 1\ncondition: sel"), "rule-1", "rule-2", 1)
	rules, err := Parse("multi.yml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(rules) != 3 {
		t.Fatalf("got %d rules, want 3", len(rules))
	}
	eng, err := Compile(rules, Options{})
	if err == nil || !strings.Contains(err.Error(), "multi.yml:14:") {
		t.Fatalf("want an error naming multi.yml:11, got %v", err)
	}
	det, _ := eng.Rules()
	if len(det) != 2 {
		t.Fatalf("compiled %d rules, want the 2 valid ones", len(det))
	}
}

func TestLogTypes(t *testing.T) {
	src := detRule("sel:\n  a: 1\ncondition: sel") + "---\n" +
		"title: linux\nid: l\nlogsource:\n  product: linux\n  service: auth\ndetection:\n  sel:\n    a: 1\n  condition: sel\n---\n" +
		"title: any\nid: any\ndetection:\n  sel:\n    a: 1\n  condition: sel\n---\n" +
		"title: custom\nid: c\nlogsource:\n  product: acme\ndetection:\n  sel:\n    a: 1\n  condition: sel\n"
	eng, err := compileYAML(t, src, Options{Logsources: append(DefaultLogsources(), LogsourceMapping{Product: "acme", LogTypes: []string{"acme-app"}})})
	if err != nil {
		t.Fatal(err)
	}
	ev := decodeEvents(t, `{"a":1}`)[0]
	ids := func(ms []Match) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.RuleID)
		}
		return strings.Join(s, ",")
	}
	for logType, want := range map[string]string{
		"cloudtrail":   "rule-1,any",
		"linux-secure": "l,any",
		"vpcflowlogs":  "any",
		"acme-app":     "any,c",
		"":             "rule-1,l,any,c",
	} {
		if got := ids(eng.Match(ev, logType)); got != want {
			t.Errorf("log type %q: matched %s, want %s", logType, got, want)
		}
	}
	for _, tc := range []struct {
		ls   Logsource
		want string
	}{
		{Logsource{Product: "aws", Service: "cloudtrail"}, "cloudtrail"},
		{Logsource{Product: "aws", Service: "guardduty"}, "guardduty"},
		{Logsource{Product: "aws", Service: "vpcflow"}, "vpcflowlogs"},
		{Logsource{Product: "aws", Service: "route53"}, "route53resolver"},
		{Logsource{Product: "aws", Service: "waf"}, "waf"},
		{Logsource{Product: "aws", Service: "s3"}, "s3accesslog"},
		{Logsource{Product: "linux", Service: "auth"}, "linux-secure"},
	} {
		types, _ := tc.ls.LogTypes(DefaultLogsources())
		if strings.Join(types, ",") != tc.want {
			t.Errorf("%+v → %v, want %s", tc.ls, types, tc.want)
		}
	}
}

// TestIndexEquivalence checks, over generated rules and events, that the
// index returns exactly what checking every rule returns.
func TestIndexEquivalence(t *testing.T) {
	rules := generateRules(t, 300)
	indexed, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Compile(rules, Options{NoIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := indexed.IndexStats(); st.Indexed == 0 {
		t.Fatalf("nothing indexed: %+v", st)
	}
	n := 0
	for _, raw := range generateEvents(2000) {
		ev := decodeEvents(t, string(raw))[0]
		a, b := indexed.Match(ev, "cloudtrail"), plain.Match(ev, "cloudtrail")
		n += len(a)
		if len(a) != len(b) {
			t.Fatalf("event %s: indexed %d matches, unindexed %d", raw, len(a), len(b))
		}
		for i := range a {
			if a[i].RuleID != b[i].RuleID {
				t.Fatalf("event %s: match %d differs: %s vs %s", raw, i, a[i].RuleID, b[i].RuleID)
			}
		}
	}
	if n == 0 {
		t.Fatal("no matches at all; the test proves nothing")
	}
}

func TestMatchAllocations(t *testing.T) {
	eng, err := Compile(generateRules(t, 200), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(generateEvents(1)[0]))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	ev["eventName"] = "NoRuleHasThis"
	allocs := testing.AllocsPerRun(100, func() { eng.Match(ev, "cloudtrail") })
	limit := 2.0
	if raceEnabled {
		limit = 6 // pooled scratch space is dropped at random
	}
	if allocs > limit {
		t.Errorf("Match allocates %.1f times per non-matching event", allocs)
	}
}

// TestConcurrentMatch runs Match from several goroutines on one Engine
// (run with -race).
func TestConcurrentMatch(t *testing.T) {
	eng, err := Compile(generateRules(t, 200), Options{})
	if err != nil {
		t.Fatal(err)
	}
	evs := decodeAll(t, generateEvents(200))
	want := make([]int, len(evs))
	for i, ev := range evs {
		want[i] = len(eng.Match(ev, "cloudtrail"))
	}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i, ev := range evs {
				if n := len(eng.Match(ev, "cloudtrail")); n != want[i] {
					done <- fmt.Errorf("event %d: %d matches, want %d", i, n, want[i])
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
