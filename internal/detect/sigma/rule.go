package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Rule is one parsed Sigma document: a detection rule (Detection set) or a
// correlation rule (Correlation set). A Rule is immutable after Parse returns
// it; Compile never modifies it.
type Rule struct {
	// File is the name given to Parse (usually a path); Line is the line of
	// the document's first key. Both appear in every error about the rule.
	File string
	Line int

	Title       string
	ID          string
	Name        string
	Status      string
	Description string
	Author      string
	Date        string
	Modified    string
	Level       string
	Tags        []string
	References  []string
	Fields      []string

	// Logsource is the rule's logsource section; see LogTypes for how it
	// selects the log types the rule applies to.
	Logsource Logsource

	// Detection is set for detection rules, nil for correlation rules.
	Detection *Detection
	// Correlation is set for correlation rules, nil for detection rules.
	Correlation *Correlation

	// Derived is true for rules Parse created when translating legacy
	// syntax (an aggregation or near expression in a condition): the hidden
	// base rules and the correlation that replaces the original rule.
	Derived bool
}

// Ref returns how the rule is named in messages and match identities: its id,
// else its name, else its title.
func (r *Rule) Ref() string {
	switch {
	case r.ID != "":
		return r.ID
	case r.Name != "":
		return r.Name
	default:
		return r.Title
	}
}

// Logsource is the logsource section of a rule.
type Logsource struct {
	Category   string
	Product    string
	Service    string
	Definition string
}

// Detection is the parsed detection section of a rule.
type Detection struct {
	// Searches holds the search identifiers in document order.
	Searches []*Search
	// Conditions are OR-ed; each is already parsed.
	Conditions []*Condition
	// Timeframe is the legacy timeframe attribute (0 when absent).
	Timeframe time.Duration
}

// Search is one search identifier: its Items are OR-ed, the field
// conditions inside one item are AND-ed.
type Search struct {
	Name  string
	Line  int
	Items [][]*FieldCondition
}

// FieldCondition is one `field|mod|mod: values` entry of a search. Field is
// empty for keyword (full-text) searches.
type FieldCondition struct {
	Field     string
	Modifiers []string
	Values    []Value
	Line      int
}

// ValueKind is the YAML type of a rule value.
type ValueKind uint8

// The kinds of rule values.
const (
	KindString ValueKind = iota
	KindInt
	KindFloat
	KindBool
	KindNull
)

// Value is one scalar rule value with its YAML type and position.
type Value struct {
	Kind ValueKind
	Raw  string
	Line int
}

// Condition is one condition expression of a detection.
type Condition struct {
	Expr string
	Line int
	Root condNode
}

// RuleError is an error about one rule; it names the file and line.
type RuleError struct {
	File string
	Line int
	Rule string
	Err  error
}

// Error implements error as "file:line: rule: message".
func (e *RuleError) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s:%d: rule %q: %v", e.File, e.Line, e.Rule, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *RuleError) Unwrap() error { return e.Err }

func ruleErr(file string, line int, rule string, format string, args ...any) *RuleError {
	return &RuleError{File: file, Line: line, Rule: rule, Err: fmt.Errorf(format, args...)}
}

// Parse parses every YAML document of data (a multi-document Sigma file) into
// rules. name is used in error messages (file:line). Legacy aggregation and
// near conditions are translated into correlation rules plus hidden base
// rules (Rule.Derived). When some documents are invalid, Parse returns the
// valid rules and an error joining one *RuleError per invalid document.
func Parse(name string, data []byte) ([]*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var rules []*Rule
	var errs []error
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The decoder cannot resynchronise after a syntax error.
			errs = append(errs, &RuleError{File: name, Line: yamlErrLine(err), Err: fmt.Errorf("parsing YAML: %w", err)})
			break
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			continue // empty document
		}
		rs, err := parseDoc(name, root)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, rs...)
	}
	return rules, errors.Join(errs...)
}

func yamlErrLine(err error) int {
	// yaml.v3 errors read "yaml: line N: ..."
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		j := i + 5
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if n, err := strconv.Atoi(s[j:k]); err == nil {
			return n
		}
	}
	return 1
}

// resolve follows YAML aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func parseDoc(file string, root *yaml.Node) ([]*Rule, error) {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		return nil, ruleErr(file, root.Line, "", "a rule document must be a mapping, got %s", kindName(root))
	}
	r := &Rule{File: file, Line: root.Line}
	if len(root.Content) > 0 {
		r.Line = root.Content[0].Line
	}
	var detNode, corrNode *yaml.Node
	var generate *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		var err error
		switch k.Value {
		case "title":
			r.Title, err = scalarString(file, v)
		case "id":
			r.ID, err = scalarString(file, v)
		case "name":
			r.Name, err = scalarString(file, v)
		case "status":
			r.Status, err = scalarString(file, v)
		case "description":
			r.Description, err = scalarString(file, v)
		case "author":
			r.Author, err = scalarString(file, v)
		case "date":
			r.Date, err = scalarString(file, v)
		case "modified":
			r.Modified, err = scalarString(file, v)
		case "level":
			r.Level, err = scalarString(file, v)
		case "tags":
			r.Tags, err = stringList(file, v)
		case "references":
			r.References, err = stringList(file, v)
		case "fields":
			r.Fields, err = stringList(file, v)
		case "logsource":
			r.Logsource, err = parseLogsource(file, v)
		case "detection":
			detNode = v
		case "correlation":
			corrNode = v
		case "generate":
			generate = v
		}
		if err != nil {
			return nil, withRule(err, r)
		}
	}
	if r.Title == "" && r.ID == "" && r.Name == "" {
		return nil, ruleErr(file, r.Line, "", "rule has no title, id or name")
	}
	switch {
	case detNode != nil && corrNode != nil:
		return nil, ruleErr(file, r.Line, r.Ref(), "a rule cannot have both detection and correlation")
	case corrNode != nil:
		c, err := parseCorrelation(file, corrNode)
		if err != nil {
			return nil, withRule(err, r)
		}
		if generate != nil {
			b, err := scalarBool(file, generate)
			if err != nil {
				return nil, withRule(err, r)
			}
			c.Generate = b
		}
		r.Correlation = c
		return []*Rule{r}, nil
	case detNode != nil:
		d, legacy, err := parseDetection(file, detNode)
		if err != nil {
			return nil, withRule(err, r)
		}
		r.Detection = d
		if legacy != nil || d.Timeframe > 0 {
			rs, err := translateLegacy(r, legacy)
			if err != nil {
				return nil, withRule(err, r)
			}
			return rs, nil
		}
		return []*Rule{r}, nil
	default:
		return nil, ruleErr(file, r.Line, r.Ref(), "rule has neither detection nor correlation")
	}
}

func withRule(err error, r *Rule) error {
	var re *RuleError
	if errors.As(err, &re) && re.Rule == "" {
		re.Rule = r.Ref()
	}
	return err
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	default:
		return "an unexpected node"
	}
}

func scalarString(file string, n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", ruleErr(file, n.Line, "", "expected a string, got %s", kindName(n))
	}
	if n.ShortTag() == "!!null" {
		return "", nil
	}
	return n.Value, nil
}

func scalarBool(file string, n *yaml.Node) (bool, error) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		return strconv.ParseBool(strings.ToLower(n.Value))
	}
	return false, ruleErr(file, n.Line, "", "expected true or false, got %q", n.Value)
}

func stringList(file string, n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			c = resolve(c)
			if c.Kind != yaml.ScalarNode {
				return nil, ruleErr(file, c.Line, "", "expected a list of strings, got %s in it", kindName(c))
			}
			out = append(out, c.Value)
		}
		return out, nil
	default:
		return nil, ruleErr(file, n.Line, "", "expected a list of strings, got %s", kindName(n))
	}
}

func parseLogsource(file string, n *yaml.Node) (Logsource, error) {
	var ls Logsource
	if n.Kind != yaml.MappingNode {
		return ls, ruleErr(file, n.Line, "", "logsource must be a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, resolve(n.Content[i+1])
		s, err := scalarString(file, v)
		if err != nil {
			return ls, err
		}
		switch k {
		case "category":
			ls.Category = s
		case "product":
			ls.Product = s
		case "service":
			ls.Service = s
		case "definition":
			ls.Definition = s
		}
	}
	return ls, nil
}

func parseDetection(file string, n *yaml.Node) (*Detection, *legacyAgg, error) {
	if n.Kind != yaml.MappingNode {
		return nil, nil, ruleErr(file, n.Line, "", "detection must be a mapping")
	}
	d := &Detection{}
	var condNode *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		switch k.Value {
		case "condition":
			condNode = v
			continue
		case "timeframe":
			s, err := scalarString(file, v)
			if err != nil {
				return nil, nil, err
			}
			tf, err := parseTimespan(s)
			if err != nil {
				return nil, nil, ruleErr(file, v.Line, "", "timeframe: %w", err)
			}
			d.Timeframe = tf
			continue
		}
		if seen[k.Value] {
			return nil, nil, ruleErr(file, k.Line, "", "search identifier %q defined twice", k.Value)
		}
		seen[k.Value] = true
		s, err := parseSearch(file, k.Value, k.Line, v)
		if err != nil {
			return nil, nil, err
		}
		d.Searches = append(d.Searches, s)
	}
	if condNode == nil {
		return nil, nil, ruleErr(file, n.Line, "", "detection has no condition")
	}
	var exprs []*yaml.Node
	switch condNode.Kind {
	case yaml.ScalarNode:
		exprs = []*yaml.Node{condNode}
	case yaml.SequenceNode:
		for _, c := range condNode.Content {
			exprs = append(exprs, resolve(c))
		}
	default:
		return nil, nil, ruleErr(file, condNode.Line, "", "condition must be a string or a list of strings")
	}
	if len(exprs) == 0 {
		return nil, nil, ruleErr(file, condNode.Line, "", "condition list is empty")
	}
	var legacy *legacyAgg
	for _, e := range exprs {
		if e.Kind != yaml.ScalarNode {
			return nil, nil, ruleErr(file, e.Line, "", "condition must be a string")
		}
		expr := e.Value
		if i := strings.IndexByte(expr, '|'); i >= 0 {
			if len(exprs) > 1 {
				return nil, nil, ruleErr(file, e.Line, "", "an aggregation cannot be used in a list of conditions")
			}
			agg, err := parseAggregation(expr[i+1:])
			if err != nil {
				return nil, nil, ruleErr(file, e.Line, "", "condition %q: %w", expr, err)
			}
			legacy = agg
			expr = expr[:i]
		}
		root, err := parseCondition(expr)
		if err != nil {
			return nil, nil, ruleErr(file, e.Line, "", "condition %q: %w", e.Value, err)
		}
		d.Conditions = append(d.Conditions, &Condition{Expr: strings.TrimSpace(expr), Line: e.Line, Root: root})
	}
	return d, legacy, nil
}

func parseSearch(file, name string, line int, v *yaml.Node) (*Search, error) {
	s := &Search{Name: name, Line: line}
	switch v.Kind {
	case yaml.MappingNode:
		item, err := parseFieldMap(file, v)
		if err != nil {
			return nil, err
		}
		s.Items = append(s.Items, item)
	case yaml.SequenceNode:
		var kw *FieldCondition
		for _, c := range v.Content {
			c = resolve(c)
			switch c.Kind {
			case yaml.MappingNode:
				item, err := parseFieldMap(file, c)
				if err != nil {
					return nil, err
				}
				s.Items = append(s.Items, item)
			case yaml.ScalarNode:
				if kw == nil {
					kw = &FieldCondition{Line: c.Line}
					s.Items = append(s.Items, []*FieldCondition{kw})
				}
				kw.Values = append(kw.Values, scalarValue(c))
			default:
				return nil, ruleErr(file, c.Line, "", "search %q: a list may hold maps or values, not %s", name, kindName(c))
			}
		}
		if len(s.Items) == 0 {
			return nil, ruleErr(file, v.Line, "", "search %q is an empty list", name)
		}
	case yaml.ScalarNode:
		if v.ShortTag() == "!!null" {
			return nil, ruleErr(file, v.Line, "", "search %q is empty", name)
		}
		s.Items = append(s.Items, []*FieldCondition{{Line: v.Line, Values: []Value{scalarValue(v)}}})
	default:
		return nil, ruleErr(file, v.Line, "", "search %q: unexpected %s", name, kindName(v))
	}
	return s, nil
}

func parseFieldMap(file string, m *yaml.Node) ([]*FieldCondition, error) {
	if len(m.Content) == 0 {
		return nil, ruleErr(file, m.Line, "", "empty map in detection")
	}
	var out []*FieldCondition
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, ruleErr(file, k.Line, "", "field name must be a string")
		}
		parts := strings.Split(k.Value, "|")
		fc := &FieldCondition{Field: parts[0], Line: k.Line}
		for _, p := range parts[1:] {
			fc.Modifiers = append(fc.Modifiers, strings.TrimSpace(p))
		}
		switch v.Kind {
		case yaml.ScalarNode:
			fc.Values = []Value{scalarValue(v)}
		case yaml.SequenceNode:
			for _, c := range v.Content {
				c = resolve(c)
				if c.Kind != yaml.ScalarNode {
					return nil, ruleErr(file, c.Line, "", "field %q: values must be scalars, got %s", k.Value, kindName(c))
				}
				fc.Values = append(fc.Values, scalarValue(c))
			}
			if len(fc.Values) == 0 {
				return nil, ruleErr(file, v.Line, "", "field %q: empty value list", k.Value)
			}
		default:
			return nil, ruleErr(file, v.Line, "", "field %q: values must be scalars or a list, got %s", k.Value, kindName(v))
		}
		out = append(out, fc)
	}
	return out, nil
}

func scalarValue(n *yaml.Node) Value {
	v := Value{Raw: n.Value, Line: n.Line}
	switch n.ShortTag() {
	case "!!int":
		v.Kind = KindInt
	case "!!float":
		v.Kind = KindFloat
	case "!!bool":
		v.Kind = KindBool
	case "!!null":
		v.Kind = KindNull
	default:
		v.Kind = KindString
	}
	return v
}

// parseTimespan parses a Sigma timespan: a number followed by s, m, h, d
// (also w and M for legacy rules).
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("invalid timespan %q: want a number and a unit (s, m, h, d)", s)
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid timespan %q: want a positive number and a unit (s, m, h, d)", s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	case 'M':
		unit = 30 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("invalid timespan %q: unknown unit %q", s, s[len(s)-1:])
	}
	return time.Duration(n) * unit, nil
}

// Ruleset is the result of loading rule files: the rules that parsed, in file
// then document order.
type Ruleset struct {
	Rules []*Rule
}

// LoadDir parses every *.yml and *.yaml file below dir (recursively, in
// lexical order). Invalid documents are reported, one error each naming
// file:line; every valid rule still loads.
func LoadDir(dir string) (*Ruleset, []error) {
	var files []string
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", path, err))
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if ext := strings.ToLower(filepath.Ext(path)); ext == ".yml" || ext == ".yaml" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("walking %s: %w", dir, err))
	}
	sort.Strings(files)
	rs := &Ruleset{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", f, err))
			continue
		}
		rules, err := Parse(f, data)
		rs.Rules = append(rs.Rules, rules...)
		if err != nil {
			errs = append(errs, unjoin(err)...)
		}
	}
	return rs, errs
}

// unjoin splits an errors.Join result into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
