package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/logtype"
)

const rulesUsage = `usage: vigil rules eval --rules PATH [--type T] EVENTS.ndjson
       vigil rules check PATH
       vigil rules test PATH

Works with Sigma detection and correlation rules. PATH is a rule file or a
directory, read recursively (*.yml, *.yaml).

  eval   evaluates the rules over raw JSON events, one per line (EVENTS may
         be - for stdin), without storing anything, and prints one JSON line
         per match: {"rule": ID, "line": N}; correlation matches add
         "correlation": true and "lines": [...], the lines of the events
         involved. ID is the rule's id, or its title when it has none.
         Correlation windows use the event's eventTime, @timestamp, time,
         updatedAt or UpdatedAt (RFC 3339), else one second after the
         previous line's time.
         --type T applies only the rules whose logsource maps to log type T;
         without it every rule applies, whatever its logsource.
  check  loads and compiles every rule and reports errors and unsupported
         features with file:line.
  test   runs the tests embedded in the rule files (a top-level tests: list,
         see docs/rules.md) and prints PASS/FAIL per test and a summary.

Invalid rules are reported on stderr with file:line; the others still run.
Exit status: 0 on success, 1 when a rule failed to load (or, for test, a
test failed), 2 for usage errors.
`

// lineRefField is the event key eval and test add to every event to carry
// its line number into the correlator's event references
// (CorrelatorConfig.RefField). Keyword searches see it as one more value.
const lineRefField = "__vigil_line"

// fallbackStep is the time given to an event without a timestamp: this much
// after the previous event's.
const fallbackStep = time.Second

// timeFields are the event fields read, in order, for an event's time.
var timeFields = []string{"eventTime", "@timestamp", "time", "updatedAt", "UpdatedAt"}

func runRules(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, rulesUsage)
		return ExitUsage
	}
	switch args[0] {
	case "eval":
		return runRulesEval(ctx, env, args[1:])
	case "check":
		return runRulesCheck(env, args[1:])
	case "test":
		return runRulesTest(env, args[1:])
	case "-h", "--help", "-help", "help":
		fmt.Fprint(env.Stdout, rulesUsage)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "vigil rules: unknown subcommand %q\n\n%s", args[0], rulesUsage)
	return ExitUsage
}

// ruleTest is one entry of a rule document's tests: list.
type ruleTest struct {
	Name    string
	Line    int
	Events  []map[string]any
	Type    string
	Match   *bool // match: true|false
	Matches *int  // matches: N
}

// ruleDoc is one YAML document of a rule file: where it starts, the rules
// Parse made of it, and its tests.
type ruleDoc struct {
	File  string
	Line  int
	Rules []*sigma.Rule
	Tests []ruleTest
}

// target is the rule a document's tests are about: its correlation when
// it has one (a legacy aggregation is translated into one), else its
// detection rule.
func (d *ruleDoc) target() *sigma.Rule {
	for _, r := range d.Rules {
		if r.Correlation != nil {
			return r
		}
	}
	if len(d.Rules) > 0 {
		return d.Rules[0]
	}
	return nil
}

// ruleSet is what loadRules read: every parsed rule in file and document
// order, the documents with their tests, and the number of files.
type ruleSet struct {
	Rules []*sigma.Rule
	Docs  []*ruleDoc
	Files int
}

// loadRules parses a rule file or every *.yml/*.yaml file below a
// directory. Errors name file:line; the valid rules are kept. A missing
// path is returned as the error of its own.
func loadRules(path string) (*ruleSet, []error, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	var files []string
	var errs []error
	if st.IsDir() {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, fmt.Errorf("reading %s: %w", p, err))
				return nil
			}
			if ext := strings.ToLower(filepath.Ext(p)); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("walking %s: %w", path, err))
		}
		sort.Strings(files)
	} else {
		files = []string{path}
	}
	rs := &ruleSet{Files: len(files)}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", f, err))
			continue
		}
		rules, err := sigma.Parse(f, data)
		errs = append(errs, splitErrors(err)...)
		rs.Rules = append(rs.Rules, rules...)
		docs, err := parseRuleDocs(f, data)
		errs = append(errs, splitErrors(err)...)
		for _, d := range docs {
			for _, r := range rules {
				if r.Line == d.Line {
					d.Rules = append(d.Rules, r)
				}
			}
			rs.Docs = append(rs.Docs, d)
		}
	}
	return rs, errs, nil
}

// splitErrors splits an errors.Join result into its parts.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}

// parseRuleDocs reads the documents of a rule file for their position and
// their tests. A YAML syntax error is left to sigma.Parse to report.
func parseRuleDocs(file string, data []byte) ([]*ruleDoc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*ruleDoc
	var errs []error
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			break // io.EOF, or a syntax error sigma.Parse reports
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode || len(n.Content[0].Content) == 0 {
			continue
		}
		root := n.Content[0]
		d := &ruleDoc{File: file, Line: root.Content[0].Line}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "tests" {
				continue
			}
			tests, err := parseTests(root.Content[i+1])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s:%w", file, err))
			}
			d.Tests = tests
		}
		docs = append(docs, d)
	}
	return docs, errors.Join(errs...)
}

// lineError is an error at a line of a rule file; Error reads "N: msg" so
// that the caller prefixes the file name.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %s", e.line, e.msg) }

func lineErrf(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

func parseTests(n *yaml.Node) ([]ruleTest, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, lineErrf(n, "tests: expected a list")
	}
	var tests []ruleTest
	for i, tn := range n.Content {
		if tn.Kind != yaml.MappingNode {
			return nil, lineErrf(tn, "tests[%d]: expected a mapping", i)
		}
		t := ruleTest{Name: fmt.Sprintf("test %d", i+1), Line: tn.Line}
		var hasEvent bool
		for j := 0; j+1 < len(tn.Content); j += 2 {
			k, v := tn.Content[j], tn.Content[j+1]
			switch k.Value {
			case "name":
				t.Name = v.Value
			case "type":
				t.Type = v.Value
			case "event":
				ev, err := yamlEvent(v)
				if err != nil {
					return nil, err
				}
				t.Events = append(t.Events, ev)
				hasEvent = true
			case "events":
				if v.Kind != yaml.SequenceNode {
					return nil, lineErrf(v, "tests[%d].events: expected a list of objects", i)
				}
				for _, en := range v.Content {
					ev, err := yamlEvent(en)
					if err != nil {
						return nil, err
					}
					t.Events = append(t.Events, ev)
				}
				hasEvent = true
			case "match":
				var b bool
				if err := v.Decode(&b); err != nil || v.ShortTag() != "!!bool" {
					return nil, lineErrf(v, "tests[%d].match: expected true or false", i)
				}
				t.Match = &b
			case "matches":
				var c int
				if err := v.Decode(&c); err != nil || c < 0 {
					return nil, lineErrf(v, "tests[%d].matches: expected a count", i)
				}
				t.Matches = &c
			default:
				return nil, lineErrf(k, "tests[%d]: unknown key %q", i, k.Value)
			}
		}
		switch {
		case !hasEvent:
			return nil, lineErrf(tn, "test %q: needs event or events", t.Name)
		case t.Match == nil && t.Matches == nil:
			return nil, lineErrf(tn, "test %q: needs match or matches", t.Name)
		case t.Match != nil && t.Matches != nil:
			return nil, lineErrf(tn, "test %q: has both match and matches", t.Name)
		}
		tests = append(tests, t)
	}
	return tests, nil
}

// yamlEvent converts a YAML mapping into the value encoding/json with
// UseNumber would make of the same JSON: numbers become json.Number,
// timestamps and other scalars keep their text.
func yamlEvent(n *yaml.Node) (map[string]any, error) {
	v, err := yamlValue(n, 0)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, lineErrf(n, "a test event must be a mapping")
	}
	return m, nil
}

func yamlValue(n *yaml.Node, depth int) (any, error) {
	if depth > 100 {
		return nil, lineErrf(n, "test event nested too deeply")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := yamlValue(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, lineErrf(n, "%v", err)
			}
			return b, nil
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return json.Number(strconv.FormatInt(i, 10)), nil
			}
			return json.Number(n.Value), nil // too large for int64: keep the digits
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, lineErrf(n, "%v", err)
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		default:
			return n.Value, nil
		}
	}
	return nil, lineErrf(n, "unexpected YAML node in a test event")
}

// ruleName is how eval names a rule: its id, or its title when it has none.
func ruleName(r *sigma.Rule) string {
	switch {
	case r.ID != "":
		return r.ID
	case r.Title != "":
		return r.Title
	default:
		return r.Ref()
	}
}

// eventTime returns the time of ev from its first time field that holds
// an RFC 3339 timestamp.
func eventTime(ev map[string]any) (time.Time, bool) {
	for _, f := range timeFields {
		s, ok := ev[f].(string)
		if !ok {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// evalRun feeds events to a correlator and collects the matches, with the
// line numbers that carry through as event references.
type evalRun struct {
	eng     *sigma.Engine
	corr    *sigma.Correlator
	logType string
	prev    time.Time
	maxT    time.Time
	maxSpan time.Duration
}

// evalMatch is one match of eval, in its output form.
type evalMatch struct {
	Rule        string `json:"rule"`
	Line        int    `json:"line"`
	Correlation bool   `json:"correlation,omitempty"`
	Lines       []int  `json:"lines,omitempty"`

	rule *sigma.Rule
}

func newEvalRun(eng *sigma.Engine, logType string) *evalRun {
	r := &evalRun{
		eng:     eng,
		logType: logType,
		corr:    eng.NewCorrelator(sigma.CorrelatorConfig{RefField: lineRefField, MaxRefs: 100000}),
		prev:    time.Unix(0, 0).UTC(),
	}
	r.maxT = r.prev
	_, corrs := eng.Rules()
	for _, c := range corrs {
		r.maxSpan = max(r.maxSpan, c.Correlation.Timespan)
	}
	return r
}

// process evaluates one event (ev is modified: the line is added to it).
func (r *evalRun) process(ev map[string]any, line int) []evalMatch {
	t, ok := eventTime(ev)
	if !ok {
		t = r.prev.Add(fallbackStep)
	}
	r.prev = t
	if t.After(r.maxT) {
		r.maxT = t
	}
	ev[lineRefField] = json.Number(strconv.Itoa(line))
	ms, cms := r.corr.Process(ev, t, r.logType)
	out := make([]evalMatch, 0, len(ms)+len(cms))
	for _, m := range ms {
		out = append(out, evalMatch{Rule: ruleName(m.Rule), Line: line, rule: m.Rule})
	}
	for _, cm := range cms {
		out = append(out, corrMatch(cm, line))
	}
	return out
}

// finish decides the windows still open at the end of the input.
func (r *evalRun) finish() []evalMatch {
	var out []evalMatch
	for _, cm := range r.corr.Flush(r.maxT.Add(2*r.maxSpan + time.Second)) {
		out = append(out, corrMatch(cm, 0))
	}
	return out
}

// corrMatch converts a correlation match; line 0 means the last line
// involved.
func corrMatch(cm sigma.CorrelationMatch, line int) evalMatch {
	lines := make([]int, 0, len(cm.Refs))
	for _, ref := range cm.Refs {
		if n, err := strconv.Atoi(ref); err == nil {
			lines = append(lines, n)
		}
	}
	sort.Ints(lines)
	lines = slices.Compact(lines)
	if line == 0 && len(lines) > 0 {
		line = lines[len(lines)-1]
	}
	name := cm.RuleID
	if cm.Rule != nil {
		name = ruleName(cm.Rule)
	}
	return evalMatch{Rule: name, Line: line, Correlation: true, Lines: lines, rule: cm.Rule}
}

// knownLogTypes returns the log types of the registry and of the logsource
// mapping table.
func knownLogTypes() []string {
	seen := map[string]bool{}
	if reg, err := logtype.Load(); err == nil {
		for _, n := range reg.Names() {
			seen[n] = true
		}
	}
	for _, m := range sigma.DefaultLogsources() {
		for _, t := range m.LogTypes {
			seen[t] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// compileRules compiles rs and reports every load and compile error on w.
// It returns the engine and whether any rule failed.
func compileRules(w io.Writer, prefix string, rs *ruleSet, loadErrs []error) (*sigma.Engine, bool) {
	failed := len(loadErrs) > 0
	for _, err := range loadErrs {
		fmt.Fprintf(w, "%s%v\n", prefix, err)
	}
	eng, err := sigma.Compile(rs.Rules, sigma.Options{})
	for _, e := range splitErrors(err) {
		fmt.Fprintf(w, "%s%v\n", prefix, e)
		failed = true
	}
	return eng, failed
}

func runRulesEval(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("vigil rules eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rulesPath := fs.String("rules", "", "rule file or directory")
	logType := fs.String("type", "", "log type")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, rulesUsage)
		return ExitOK
	}
	switch {
	case err != nil:
	case *rulesPath == "":
		err = errors.New("--rules is required")
	case len(pos) != 1:
		err = errors.New("expected one EVENTS file")
	case *logType != "" && !slices.Contains(knownLogTypes(), *logType):
		err = fmt.Errorf("--type %q: unknown log type (known: %s)", *logType, strings.Join(knownLogTypes(), ", "))
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil rules eval: %v\n\n%s", err, rulesUsage)
		return ExitUsage
	}
	rs, loadErrs, err := loadRules(*rulesPath)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil rules eval: --rules: %v\n", err)
		return ExitUsage
	}
	in := env.Stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigil rules eval: %v\n", err)
			return ExitUsage
		}
		defer func() { _ = f.Close() }() // read-only: nothing to flush
		in = f
	}
	eng, failed := compileRules(env.Stderr, "", rs, loadErrs)
	if eng == nil {
		return ExitFailure
	}
	code := ExitOK
	if failed {
		code = ExitFailure
	}
	out := bufio.NewWriter(env.Stdout)
	defer func() {
		if err := out.Flush(); err != nil {
			fmt.Fprintf(env.Stderr, "vigil rules eval: writing matches: %v\n", err)
		}
	}()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	emit := func(ms []evalMatch) {
		for _, m := range ms {
			_ = enc.Encode(m)
		}
	}
	run := newEvalRun(eng, *logType)
	br := bufio.NewReaderSize(in, 1<<16)
	for line := 1; ; line++ {
		if line%1024 == 0 && ctx.Err() != nil {
			fmt.Fprintf(env.Stderr, "vigil rules eval: %v\n", ctx.Err())
			return ExitFailure
		}
		data, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(data)) > 0 {
			ev, derr := decodeEvent(data)
			if derr != nil {
				fmt.Fprintf(env.Stderr, "line %d: invalid JSON\n", line)
			} else {
				emit(run.process(ev, line))
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigil rules eval: reading %s: %v\n", pos[0], err)
			return ExitFailure
		}
	}
	emit(run.finish())
	return code
}

// decodeEvent decodes one JSON object with numbers as json.Number.
func decodeEvent(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, errors.New("not an object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	return ev, nil
}

func onePath(env *Env, name string, args []string) (string, int) {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(env.Stdout, rulesUsage)
		return "", ExitOK
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(env.Stderr, "vigil rules %s: expected one PATH\n\n%s", name, rulesUsage)
		return "", ExitUsage
	}
	return args[0], -1
}

func runRulesCheck(env *Env, args []string) int {
	path, code := onePath(env, "check", args)
	if code >= 0 {
		return code
	}
	rs, loadErrs, err := loadRules(path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil rules check: %v\n", err)
		return ExitUsage
	}
	errs := loadErrs
	_, err = sigma.Compile(rs.Rules, sigma.Options{})
	errs = append(errs, splitErrors(err)...)
	var warnings []string
	ids := map[string]string{}
	table := sigma.DefaultLogsources()
	n := 0
	for _, r := range rs.Rules {
		if r.Derived && r.Correlation == nil {
			continue // hidden part of a translated legacy rule
		}
		n++
		where := fmt.Sprintf("%s:%d", r.File, r.Line)
		if r.ID != "" {
			if prev, ok := ids[r.ID]; ok {
				errs = append(errs, fmt.Errorf("%s: rule id %s already used at %s", where, r.ID, prev))
			} else {
				ids[r.ID] = where
			}
		}
		if r.Detection != nil {
			if types, all := r.Logsource.LogTypes(table); !all && len(types) == 0 {
				warnings = append(warnings, fmt.Sprintf("%s: rule %q: logsource %s selects no log type: the rule only runs when no log type is given",
					where, r.Ref(), logsourceString(r.Logsource)))
			}
		}
	}
	for _, e := range errs {
		fmt.Fprintln(env.Stdout, e)
	}
	for _, w := range warnings {
		fmt.Fprintln(env.Stdout, "warning: "+w)
	}
	fmt.Fprintf(env.Stdout, "%d rules in %d files: %d errors, %d warnings\n", n, rs.Files, len(errs), len(warnings))
	if len(errs) > 0 {
		return ExitFailure
	}
	return ExitOK
}

func logsourceString(ls sigma.Logsource) string {
	var parts []string
	for _, kv := range [][2]string{{"product", ls.Product}, {"service", ls.Service}, {"category", ls.Category}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func runRulesTest(env *Env, args []string) int {
	path, code := onePath(env, "test", args)
	if code >= 0 {
		return code
	}
	rs, loadErrs, err := loadRules(path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil rules test: %v\n", err)
		return ExitUsage
	}
	_, failedLoad := compileRules(env.Stderr, "", rs, loadErrs)
	passed, failed := 0, 0
	for _, d := range rs.Docs {
		if len(d.Tests) == 0 {
			continue
		}
		target := d.target()
		if target == nil {
			for _, t := range d.Tests {
				failed++
				fmt.Fprintf(env.Stdout, "FAIL %s:%d: %s: the rule did not load\n", d.File, t.Line, t.Name)
			}
			continue
		}
		eng, err := testEngine(rs.Rules, target)
		for _, t := range d.Tests {
			label := fmt.Sprintf("%s: %s", testRuleLabel(target), t.Name)
			if err != nil {
				failed++
				fmt.Fprintf(env.Stdout, "FAIL %s (%s:%d): the rule did not compile: %v\n", label, d.File, t.Line, err)
				continue
			}
			got := countMatches(eng, target, t)
			if msg := t.check(got); msg != "" {
				failed++
				fmt.Fprintf(env.Stdout, "FAIL %s (%s:%d): %s\n", label, d.File, t.Line, msg)
				continue
			}
			passed++
			fmt.Fprintf(env.Stdout, "PASS %s\n", label)
		}
	}
	fmt.Fprintf(env.Stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 || failedLoad {
		return ExitFailure
	}
	return ExitOK
}

// testRuleLabel names a rule in test output: its title, else its id.
func testRuleLabel(r *sigma.Rule) string {
	if r.Title != "" {
		return r.Title
	}
	return r.Ref()
}

// check compares the number of matches with the expectation and returns
// what is wrong, or "".
func (t *ruleTest) check(got int) string {
	if t.Matches != nil {
		if got != *t.Matches {
			return fmt.Sprintf("expected %d matches, got %d", *t.Matches, got)
		}
		return ""
	}
	if *t.Match != (got > 0) {
		if *t.Match {
			return "expected a match, got none"
		}
		return fmt.Sprintf("expected no match, got %d", got)
	}
	return ""
}

// testEngine compiles what target's tests need: target alone when it is a
// detection rule (so it raises its own matches even when correlations use
// it), else target, the correlations it references, and every detection
// rule.
func testEngine(all []*sigma.Rule, target *sigma.Rule) (*sigma.Engine, error) {
	if target.Correlation == nil {
		return sigma.Compile([]*sigma.Rule{target}, sigma.Options{})
	}
	byRef := map[string][]*sigma.Rule{}
	for _, r := range all {
		if r.Correlation == nil {
			continue
		}
		for _, k := range []string{r.ID, r.Name} {
			if k != "" {
				byRef[k] = append(byRef[k], r)
			}
		}
	}
	want := map[*sigma.Rule]bool{target: true}
	queue := []*sigma.Rule{target}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for _, ref := range r.Correlation.Rules {
			for _, c := range byRef[ref] {
				if !want[c] {
					want[c] = true
					queue = append(queue, c)
				}
			}
		}
	}
	var rules []*sigma.Rule
	for _, r := range all {
		if r.Correlation == nil || want[r] {
			rules = append(rules, r)
		}
	}
	eng, err := sigma.Compile(rules, sigma.Options{})
	if err != nil {
		// Unrelated rules may fail; only target's own failure counts.
		for _, e := range splitErrors(err) {
			var re *sigma.RuleError
			if errors.As(e, &re) && re.File == target.File && re.Line == target.Line {
				return nil, e
			}
		}
		if _, corrs := eng.Rules(); !slices.Contains(corrs, target) {
			return nil, err
		}
	}
	return eng, nil
}

// countMatches runs t's events through eng and counts target's matches.
func countMatches(eng *sigma.Engine, target *sigma.Rule, t ruleTest) int {
	run := newEvalRun(eng, t.Type)
	n := 0
	count := func(ms []evalMatch) {
		for _, m := range ms {
			if m.rule == target {
				n++
			}
		}
	}
	for i, ev := range t.Events {
		// Copy: the run adds the line number to the event.
		cp := make(map[string]any, len(ev)+1)
		for k, v := range ev {
			cp[k] = v
		}
		count(run.process(cp, i+1))
	}
	count(run.finish())
	return n
}
