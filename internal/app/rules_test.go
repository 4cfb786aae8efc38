package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runRulesMain runs Main and returns its exit code, stdout and stderr.
func runRulesMain(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRulesPack runs the tests embedded in the project's rule pack.
func TestRulesPack(t *testing.T) {
	code, out, errOut := runRulesMain(t, "", "rules", "test", "../../rules")
	if code != ExitOK {
		t.Fatalf("vigil rules test rules/: exit %d\n%s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`(?m)^(\d+) passed, 0 failed$`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("no summary or no test ran:\n%s", out)
	}
	code, out, _ = runRulesMain(t, "", "rules", "check", "../../rules")
	if code != ExitOK || !strings.Contains(out, " 0 errors, 0 warnings") {
		t.Fatalf("vigil rules check rules/: exit %d\n%s", code, out)
	}
}

const evalRules = `title: Trail stopped
id: r-stop
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: StopLogging}
  condition: sel
---
title: Guardduty high
logsource: {product: aws, service: guardduty}
detection:
  sel: {severity|gte: 7}
  condition: sel
---
title: Failed login
name: failed_login
id: r-fail
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ConsoleLogin, responseElements.ConsoleLogin: Failure}
  condition: sel
---
title: Three failed logins
id: r-three
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [sourceIPAddress]
  timespan: 5m
  condition: {gte: 3}
`

const evalEvents = `{"eventName":"StopLogging","eventTime":"2026-11-01T10:00:00Z"}
{"severity":8}
not json
{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"},"sourceIPAddress":"192.0.2.1","eventTime":"2026-11-01T10:00:01Z"}

{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"},"sourceIPAddress":"192.0.2.2","eventTime":"2026-11-01T10:00:02Z"}
{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"},"sourceIPAddress":"192.0.2.1","eventTime":"2026-11-01T10:00:03Z"}
{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"},"sourceIPAddress":"192.0.2.1"}
`

func TestRulesEval(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"rules/a.yml":        evalRules,
		"rules/sub/bad.yaml": "title: Broken\ndetection:\n  sel: {a: 1}\n  condition: sel and nope\n",
		"events.ndjson":      evalEvents,
	})
	rules := filepath.Join(dir, "rules")
	events := filepath.Join(dir, "events.ndjson")
	const all = `{"rule":"r-stop","line":1}
{"rule":"Guardduty high","line":2}
{"rule":"r-three","line":8,"correlation":true,"lines":[4,7,8]}
`
	tests := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		out       string
		errSubstr []string
	}{
		{name: "all rules", args: []string{"--rules", rules, events}, code: ExitFailure, out: all,
			errSubstr: []string{"bad.yaml:", "line 3: invalid JSON"}},
		{name: "flags after the file", args: []string{events, "--rules", filepath.Join(rules, "a.yml")}, code: ExitOK, out: all},
		{name: "stdin", args: []string{"--rules", filepath.Join(rules, "a.yml"), "-"}, stdin: evalEvents, code: ExitOK, out: all},
		{name: "type guardduty", args: []string{"--rules", filepath.Join(rules, "a.yml"), "--type", "guardduty", events}, code: ExitOK,
			out: `{"rule":"Guardduty high","line":2}` + "\n"},
		{name: "type cloudtrail", args: []string{"--rules", filepath.Join(rules, "a.yml"), "--type", "cloudtrail", events}, code: ExitOK,
			out: `{"rule":"r-stop","line":1}` + "\n" + `{"rule":"r-three","line":8,"correlation":true,"lines":[4,7,8]}` + "\n"},
		{name: "unknown type", args: []string{"--rules", rules, "--type", "nope", events}, code: ExitUsage, errSubstr: []string{"unknown log type"}},
		{name: "no rules flag", args: []string{events}, code: ExitUsage, errSubstr: []string{"--rules is required"}},
		{name: "no events", args: []string{"--rules", rules}, code: ExitUsage},
		{name: "missing rules", args: []string{"--rules", filepath.Join(dir, "nope"), events}, code: ExitUsage},
		{name: "missing events", args: []string{"--rules", rules, filepath.Join(dir, "nope.ndjson")}, code: ExitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runRulesMain(t, tc.stdin, append([]string{"rules", "eval"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			if tc.code != ExitUsage && out != tc.out {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tc.out)
			}
			for _, s := range tc.errSubstr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
		})
	}
}

// TestRulesEvalLineOrder checks that events without a time are placed one
// second after the previous line, so a burst without timestamps correlates
// and a gap given by timestamps does not.
func TestRulesEvalLineOrder(t *testing.T) {
	dir := writeFiles(t, map[string]string{"r.yml": evalRules})
	fail := `{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Failure"},"sourceIPAddress":"192.0.2.1"`
	in := fail + "}\n" + fail + `,"eventTime":"2026-11-01T10:00:00Z"}` + "\n" + fail + "}\n" + fail + `,"eventTime":"2026-11-01T11:00:00Z"}` + "\n" + fail + "}\n"
	code, out, errOut := runRulesMain(t, in, "rules", "eval", "--rules", filepath.Join(dir, "r.yml"), "-")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "" {
		t.Fatalf("lines 2-3 and 4-5 are an hour apart, want no match, got:\n%s", out)
	}
	code, out, _ = runRulesMain(t, strings.Repeat(fail+"}\n", 3), "rules", "eval", "--rules", filepath.Join(dir, "r.yml"), "-")
	if want := `{"rule":"r-three","line":3,"correlation":true,"lines":[1,2,3]}` + "\n"; code != ExitOK || out != want {
		t.Fatalf("exit %d, stdout:\n%s\nwant:\n%s", code, out, want)
	}
}

func TestRulesTest(t *testing.T) {
	const rule = `title: Stop
id: r-stop
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: StopLogging}
  condition: sel
tests:
  - name: fires
    match: true
    event: {eventName: StopLogging}
  - name: wrong expectation
    match: false
    event: {eventName: StopLogging}
  - name: other type
    type: guardduty
    match: true
    event: {eventName: StopLogging}
  - name: count
    matches: 2
    events: [{eventName: StopLogging}, {eventName: x}, {eventName: stoplogging}]
`
	const corr = `title: Base
name: base
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ConsoleLogin}
  condition: sel
tests:
  - name: base alone matches although a correlation uses it
    match: true
    event: {eventName: ConsoleLogin}
---
title: Two logins
id: r-two
correlation: {type: event_count, rules: [base], group-by: [u], timespan: 1m, condition: {gte: 2}}
tests:
  - name: two
    matches: 1
    events: [{eventName: ConsoleLogin, u: a}, {eventName: ConsoleLogin, u: a}]
  - name: two users
    match: false
    events: [{eventName: ConsoleLogin, u: a}, {eventName: ConsoleLogin, u: b}]
`
	dir := writeFiles(t, map[string]string{"a.yml": rule, "b/c.yml": corr})
	code, out, errOut := runRulesMain(t, "", "rules", "test", dir)
	if code != ExitFailure {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"PASS Stop: fires\n",
		"FAIL Stop: wrong expectation (" + filepath.Join(dir, "a.yml") + ":11): expected no match, got 1\n",
		"FAIL Stop: other type (",
		"PASS Stop: count\n",
		"PASS Base: base alone matches although a correlation uses it\n",
		"PASS Two logins: two\n",
		"PASS Two logins: two users\n",
		"5 passed, 2 failed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s%s", want, out, errOut)
		}
	}
}

func TestRulesTestBadTests(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yml": `title: T
detection: {sel: {a: 1}, condition: sel}
tests:
  - name: no expectation
    event: {a: 1}
`})
	code, out, errOut := runRulesMain(t, "", "rules", "test", dir)
	if code != ExitFailure || !strings.Contains(errOut, "a.yml:4: test \"no expectation\": needs match or matches") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestRulesCheck(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"ok.yml": "title: OK\nid: x1\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {a: 1}, condition: sel}\n",
		"dup.yml": "title: Dup\nid: x1\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {a: 1}, condition: sel}\n" +
			"---\ntitle: Lookahead\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    a|re: '(?=x)'\n  condition: sel\n",
		"nomap.yml": "title: Nomap\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {a: 1}, condition: sel}\n",
	})
	code, out, _ := runRulesMain(t, "", "rules", "check", dir)
	if code != ExitFailure {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		filepath.Join(dir, "ok.yml") + ":1: rule id x1 already used at " + filepath.Join(dir, "dup.yml") + ":1",
		filepath.Join(dir, "dup.yml") + ":10: rule \"Lookahead\": ",
		"warning: " + filepath.Join(dir, "nomap.yml") + ":1: rule \"Nomap\": logsource (product=windows, category=process_creation) selects no log type",
		"4 rules in 3 files: 2 errors, 2 warnings",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := runRulesMain(t, "", "rules", "check"); code != ExitUsage {
		t.Errorf("no path: exit %d, want 2", code)
	}
}
