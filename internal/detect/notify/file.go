package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileBytes bounds the size of a notification configuration file.
const MaxFileBytes = 1 << 20

// FileError is one problem in a notification configuration file: the file,
// the line (0 when the problem is the whole file's), the key's path
// ("destinations[0].webhook.secret_env") and what is wrong. Errors that
// come from reading a secret file or the environment wrap the cause.
type FileError struct {
	File string
	Line int
	Key  string
	Err  error
}

// Error formats the problem as "file:line: key: message".
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

// LoadFile reads the notification configuration file at path (YAML, every
// key listed in docs/alerts.md, "Configuring destinations") and returns
// the Config it describes, validated and with its defaults filled in.
// Secrets are read from the environment variables or files the file names
// (or given inline); relative paths in the file (dir, *_file) are relative
// to the file's directory. The queue directory is the file's dir key, else
// defaultDir. Unknown or repeated keys are errors; every error is a
// *FileError naming the file, the line and the key, and all the problems
// found are returned together (errors.Join).
func LoadFile(path, defaultDir string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading notification configuration: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("reading notification configuration %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return Config{}, &FileError{File: path, Err: fmt.Errorf("larger than %d bytes", MaxFileBytes)}
	}
	return parseFile(path, data, defaultDir, os.LookupEnv, os.ReadFile)
}

// fileParser walks the YAML tree of a configuration file and gathers its
// problems.
type fileParser struct {
	file      string
	base      string // directory relative paths are resolved against
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
	errs      []error
	// lines maps the field paths of the destination being parsed
	// ("webhook.secret", "email.to[1]") to their lines, to place the errors
	// of DestinationConfig.Validate.
	lines map[string]int
}

// parseFile parses a configuration file's content; name is used in
// errors and to resolve relative paths.
func parseFile(name string, data []byte, defaultDir string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (Config, error) {
	p := &fileParser{file: name, base: filepath.Dir(name), lookupEnv: lookupEnv, readFile: readFile}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, &FileError{File: name, Err: errors.New("empty: want a mapping with a destinations list")}
		}
		return Config{}, &FileError{File: name, Line: yamlErrorLine(err), Err: fmt.Errorf("parsing YAML: %w", err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line = yamlErrorLine(err)
		}
		return Config{}, &FileError{File: name, Line: line, Err: errors.New("more than one YAML document")}
	}
	if len(doc.Content) == 0 {
		return Config{}, &FileError{File: name, Err: errors.New("empty: want a mapping with a destinations list")}
	}
	cfg := Config{Dir: defaultDir}
	p.config(resolveNode(doc.Content[0]), &cfg)
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, &FileError{File: name, Err: err}
	}
	return cfg, nil
}

// yamlErrorLine finds the line in a yaml.v3 error ("yaml: line N: ..."),
// else 0.
func yamlErrorLine(err error) int {
	s := err.Error()
	i := strings.Index(s, "line ")
	if i < 0 {
		return 0
	}
	s = s[i+5:]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(s[:j])
	return n
}

// resolveNode follows aliases.
func resolveNode(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func (p *fileParser) fail(n *yaml.Node, key string, err error) {
	if key == "" {
		key = "top level"
	}
	p.errs = append(p.errs, &FileError{File: p.file, Line: n.Line, Key: key, Err: err})
}

func (p *fileParser) failf(n *yaml.Node, key, format string, args ...any) {
	p.fail(n, key, fmt.Errorf(format, args...))
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	default:
		return "an unexpected node"
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping calls f with each key and value of the mapping n (at path),
// after checking that n is a mapping, that the key is not repeated and
// that it is one of known (any key when known is nil). It reports whether
// n is a mapping.
func (p *fileParser) mapping(n *yaml.Node, path string, known []string, f func(key string, k, v *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		if known == nil {
			p.failf(n, path, "want a mapping, got %s", nodeKind(n))
		} else {
			p.failf(n, path, "want a mapping of %s, got %s", strings.Join(known, ", "), nodeKind(n))
		}
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveNode(n.Content[i]), resolveNode(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.failf(k, path, "a key must be a string, got %s", nodeKind(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.failf(k, join(path, k.Value), "repeated (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		if known != nil && !slices.Contains(known, k.Value) {
			p.fail(k, path, fmt.Errorf("unknown key %q (known: %s)", k.Value, strings.Join(known, ", ")))
			continue
		}
		f(k.Value, k, v)
	}
	return true
}

func (p *fileParser) str(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode {
		p.failf(n, path, "want a string, got %s", nodeKind(n))
		return ""
	}
	if n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

func (p *fileParser) integer(n *yaml.Node, path string) int {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		p.failf(n, path, "want an integer, got %s", nodeKind(n))
	}
	return v
}

func (p *fileParser) number(n *yaml.Node, path string) float64 {
	var v float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&v) != nil {
		p.failf(n, path, "want a number, got %s", nodeKind(n))
	}
	return v
}

func (p *fileParser) boolean(n *yaml.Node, path string) bool {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.failf(n, path, "want true or false, got %s", nodeKind(n))
	}
	return v
}

func (p *fileParser) duration(n *yaml.Node, path string) time.Duration {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		d, err := time.ParseDuration(n.Value)
		if err == nil {
			return d
		}
	}
	p.failf(n, path, "want a duration such as 30s, 5m or 1h30m, got %s", nodeKind(n))
	return 0
}

// stringList reads a list of strings, or one string as a list of one;
// field is the list's name in Validate's errors.
func (p *fileParser) stringList(n *yaml.Node, path, field string) []string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		p.lines[field+"[0]"] = n.Line
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.failf(n, path, "want a list of strings, got %s", nodeKind(n))
		return nil
	}
	var out []string
	for i, e := range n.Content {
		e = resolveNode(e)
		p.lines[fmt.Sprintf("%s[%d]", field, i)] = e.Line
		out = append(out, p.str(e, fmt.Sprintf("%s[%d]", path, i)))
	}
	return out
}

// path resolves a file name given in the configuration file.
func (p *fileParser) path(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(p.base, name)
}

// secretRef is one way a secret is given: inline (the key alone), from an
// environment variable (key_env) or from a file (key_file).
type secretRef struct {
	key  string // the key as written, e.g. "secret_env"
	from string // "", "env" or "file"
	node *yaml.Node
}

// secretKeys returns the three keys of the secret field name.
func secretKeys(name string) []string { return []string{name, name + "_env", name + "_file"} }

// secretRefOf tells whether key is one of the keys of the secret field
// name, and how it gives the secret.
func secretRefOf(name, key string, v *yaml.Node) (secretRef, bool) {
	switch key {
	case name:
		return secretRef{key: key, node: v}, true
	case name + "_env":
		return secretRef{key: key, from: "env", node: v}, true
	case name + "_file":
		return secretRef{key: key, from: "file", node: v}, true
	}
	return secretRef{}, false
}

// secret reads the secret field name of the section (at path, e.g.
// "destinations[0].webhook"; field is its name as Validate says it:
// "webhook") from the one of its keys that is given. required reports a
// missing secret.
func (p *fileParser) secret(section *yaml.Node, path, field, name string, refs []secretRef, required bool) Secret {
	switch {
	case len(refs) == 0:
		if required {
			p.failf(section, join(path, name), "missing: give %s_env (an environment variable), %s_file (a file) or %s (inline, discouraged)", name, name, name)
		}
		return ""
	case len(refs) > 1:
		keys := make([]string, len(refs))
		for i, r := range refs {
			keys[i] = r.key
		}
		p.failf(refs[1].node, join(path, name), "given twice (%s): give only one", strings.Join(keys, ", "))
		return ""
	}
	r := refs[0]
	p.lines[field+"."+name] = r.node.Line
	return p.secretValue(r.node, join(path, r.key), r.from)
}

// secretValue reads a secret given inline (from ""), by the name of an
// environment variable ("env") or of a file ("file").
func (p *fileParser) secretValue(n *yaml.Node, key, from string) Secret {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.failf(n, key, "want a string, got %s", nodeKind(n))
		return ""
	}
	switch from {
	case "env":
		v, ok := p.lookupEnv(n.Value)
		switch {
		case n.Value == "":
			p.failf(n, key, "empty environment variable name")
		case !ok:
			p.failf(n, key, "environment variable %s is not set", n.Value)
		case v == "":
			p.failf(n, key, "environment variable %s is empty", n.Value)
		}
		return Secret(v)
	case "file":
		if n.Value == "" {
			p.failf(n, key, "empty file name")
			return ""
		}
		b, err := p.readFile(p.path(n.Value))
		if err != nil {
			p.fail(n, key, fmt.Errorf("reading the secret: %w", err))
			return ""
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			p.failf(n, key, "file %s is empty", p.path(n.Value))
		}
		return Secret(v)
	}
	return Secret(n.Value)
}

var configKeys = []string{"dir", "max_queue", "segment_bytes", "fsync", "destinations"}

// config reads the top level.
func (p *fileParser) config(n *yaml.Node, cfg *Config) {
	var dests *yaml.Node
	ok := p.mapping(n, "", configKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "dir":
			if d := p.str(v, key); d != "" {
				cfg.Dir = p.path(d)
			}
		case "max_queue":
			if cfg.MaxQueue = p.integer(v, key); cfg.MaxQueue < 0 {
				p.failf(v, key, "%d, must be positive", cfg.MaxQueue)
			}
		case "segment_bytes":
			if cfg.SegmentBytes = int64(p.integer(v, key)); cfg.SegmentBytes < 0 {
				p.failf(v, key, "%d, must be positive", cfg.SegmentBytes)
			}
		case "fsync":
			cfg.Fsync = p.boolean(v, key)
		case "destinations":
			dests = v
		}
	})
	if !ok {
		return
	}
	if dests == nil {
		p.failf(n, "destinations", "missing: list at least one destination")
		return
	}
	if dests.Kind != yaml.SequenceNode || len(dests.Content) == 0 {
		p.failf(dests, "destinations", "want a list of at least one destination, got %s", nodeKind(dests))
		return
	}
	names := map[string]int{}
	for i, dn := range dests.Content {
		dn = resolveNode(dn)
		path := fmt.Sprintf("destinations[%d]", i)
		before := len(p.errs)
		p.lines = map[string]int{}
		d := p.destination(dn, path)
		if len(p.errs) > before {
			continue
		}
		if first, dup := names[d.Name]; dup {
			p.failf(lineNode(p.lines["name"]), path+".name", "%q used twice (first at line %d)", d.Name, first)
			continue
		}
		names[d.Name] = p.lines["name"]
		if err := d.Validate(); err != nil {
			// Validate's errors start with the field: place them on its line.
			line := dn.Line
			field, _, _ := strings.Cut(err.Error(), ":")
			if l, ok := p.lines[field]; ok {
				line = l
			}
			p.errs = append(p.errs, &FileError{File: p.file, Line: line, Key: path, Err: err})
			continue
		}
		cfg.Destinations = append(cfg.Destinations, d)
	}
}

// lineNode returns a node that only carries a line, for errors.
func lineNode(line int) *yaml.Node { return &yaml.Node{Line: line} }

var destKeys = []string{"name", "type", "min_level", "rate_per_minute", "burst", "timeout",
	"initial_backoff", "max_backoff", TypeWebhook, TypeSlack, TypeSNS, TypeEmail}

// destination reads one destination.
func (p *fileParser) destination(n *yaml.Node, path string) DestinationConfig {
	var d DestinationConfig
	ok := p.mapping(n, path, destKeys, func(key string, k, v *yaml.Node) {
		kp := join(path, key)
		p.lines[key] = k.Line
		switch key {
		case "name":
			d.Name = p.str(v, kp)
		case "type":
			d.Type = p.str(v, kp)
		case "min_level":
			d.MinLevel = p.str(v, kp)
		case "rate_per_minute":
			d.RatePerMinute = p.number(v, kp)
		case "burst":
			d.Burst = p.integer(v, kp)
		case "timeout":
			d.Timeout = p.duration(v, kp)
		case "initial_backoff":
			d.InitialBackoff = p.duration(v, kp)
		case "max_backoff":
			d.MaxBackoff = p.duration(v, kp)
		case TypeWebhook:
			d.Webhook = p.webhook(v, kp)
		case TypeSlack:
			d.Slack = p.slack(v, kp)
		case TypeSNS:
			d.SNS = p.sns(v, kp)
		case TypeEmail:
			d.Email = p.email(v, kp)
		}
	})
	if !ok {
		return d
	}
	if _, ok := p.lines["name"]; !ok {
		p.failf(n, path+".name", "missing")
	}
	if _, ok := p.lines["type"]; !ok {
		p.failf(n, path+".type", "missing: want webhook, slack, sns or email")
	}
	return d
}

// section records the line of each key of a type section under its
// field name ("webhook.url"), as Validate names them.
func (p *fileParser) section(name, key string, k *yaml.Node) {
	p.lines[name+"."+key] = k.Line
}

var webhookKeys = append(append([]string{"url"}, secretKeys("secret")...), "headers")

func (p *fileParser) webhook(n *yaml.Node, path string) *WebhookConfig {
	c := &WebhookConfig{}
	var refs []secretRef
	ok := p.mapping(n, path, webhookKeys, func(key string, k, v *yaml.Node) {
		p.section(TypeWebhook, key, k)
		if r, ok := secretRefOf("secret", key, v); ok {
			refs = append(refs, r)
			return
		}
		switch key {
		case "url":
			c.URL = p.str(v, join(path, key))
		case "headers":
			c.Headers = p.headers(v, join(path, key))
		}
	})
	if ok {
		c.Secret = p.secret(n, path, TypeWebhook, "secret", refs, true)
	}
	return c
}

var headerValueKeys = []string{"value", "env", "file"}

// headers reads the webhook's extra headers: name: value, or name: {env:
// VAR} or name: {file: PATH}.
func (p *fileParser) headers(n *yaml.Node, path string) map[string]Secret {
	out := map[string]Secret{}
	p.mapping(n, path, nil, func(name string, _, v *yaml.Node) {
		hp := join(path, name)
		if v.Kind == yaml.ScalarNode {
			out[name] = p.secretValue(v, hp, "")
			return
		}
		var refs []secretRef
		if !p.mapping(v, hp, headerValueKeys, func(key string, _, vv *yaml.Node) {
			from := key
			if key == "value" {
				from = ""
			}
			refs = append(refs, secretRef{key: key, from: from, node: vv})
		}) {
			return
		}
		if len(refs) != 1 {
			p.failf(v, hp, "give exactly one of value, env, file")
			return
		}
		out[name] = p.secretValue(refs[0].node, join(hp, refs[0].key), refs[0].from)
	})
	return out
}

func (p *fileParser) slack(n *yaml.Node, path string) *SlackConfig {
	c := &SlackConfig{}
	var refs []secretRef
	ok := p.mapping(n, path, secretKeys("url"), func(key string, k, v *yaml.Node) {
		p.section(TypeSlack, key, k)
		if r, ok := secretRefOf("url", key, v); ok {
			refs = append(refs, r)
		}
	})
	if ok {
		c.URL = p.secret(n, path, TypeSlack, "url", refs, true)
	}
	return c
}

func (p *fileParser) sns(n *yaml.Node, path string) *SNSConfig {
	c := &SNSConfig{}
	p.mapping(n, path, []string{"topic_arn"}, func(key string, k, v *yaml.Node) {
		p.section(TypeSNS, key, k)
		c.TopicARN = p.str(v, join(path, key))
	})
	return c
}

var emailKeys = append(append([]string{"host", "port", "tls", "username"}, secretKeys("password")...), "from", "to")

func (p *fileParser) email(n *yaml.Node, path string) *EmailConfig {
	c := &EmailConfig{}
	var refs []secretRef
	ok := p.mapping(n, path, emailKeys, func(key string, k, v *yaml.Node) {
		p.section(TypeEmail, key, k)
		kp := join(path, key)
		if r, ok := secretRefOf("password", key, v); ok {
			refs = append(refs, r)
			return
		}
		switch key {
		case "host":
			c.Host = p.str(v, kp)
		case "port":
			c.Port = p.integer(v, kp)
		case "tls":
			c.TLS = p.str(v, kp)
		case "username":
			c.Username = p.str(v, kp)
		case "from":
			c.From = p.str(v, kp)
		case "to":
			c.To = p.stringList(v, kp, TypeEmail+".to")
		}
	})
	if ok {
		c.Password = p.secret(n, path, TypeEmail, "password", refs, false)
	}
	return c
}
