package notify

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeEnv is the environment of parseFile in tests.
var fakeEnv = map[string]string{
	"HOOK_SECRET": "0123456789abcdef-hook",
	"SLACK_URL":   "https://hooks.example.com/services/T0/B0/xyz",
	"API_KEY":     "key-from-env",
	"EMPTY":       "",
}

func lookupFake(name string) (string, bool) {
	v, ok := fakeEnv[name]
	return v, ok
}

// fakeFiles are the secret files parseFile can read in tests, by path.
var fakeFiles = map[string]string{
	"/etc/vigil/smtp-password": "smtp-pass\n",
	"/etc/vigil/header":        "header-from-file\r\n",
	"/etc/vigil/empty":         "\n",
}

func readFake(path string) ([]byte, error) {
	if v, ok := fakeFiles[path]; ok {
		return []byte(v), nil
	}
	return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}

// goodFile uses every key of the format.
const goodFile = `# Vigil notifications
dir: queue
max_queue: 500
segment_bytes: 65536
fsync: true
destinations:
  - name: soc-webhook
    type: webhook
    min_level: high
    rate_per_minute: 30
    burst: 5
    timeout: 5s
    initial_backoff: 500ms
    max_backoff: 2m
    webhook:
      url: https://soc.example.com/vigil
      secret_env: HOOK_SECRET
      headers:
        X-Api-Key: {env: API_KEY}
        X-From-File: {file: header}
        X-Plain: plain-value
        X-Value: {value: inline-value}
  - name: slack-sec
    type: slack
    slack: {url_env: SLACK_URL}
  - name: sns-alerts
    type: sns
    rate_per_minute: 1.5
    sns:
      topic_arn: arn:aws:sns:eu-west-1:123456789012:vigil-alerts
  - name: mail
    type: email
    min_level: critical
    email:
      host: smtp.example.com
      port: 465
      tls: tls
      username: vigil
      password_file: /etc/vigil/smtp-password
      from: Vigil <vigil@example.com>
      to: [soc@example.com, oncall@example.com]
`

func TestParseFileGood(t *testing.T) {
	got, err := parseFile("/etc/vigil/notify.yml", []byte(goodFile), "/var/lib/vigil/notify", lookupFake, readFake)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Dir:          "/etc/vigil/queue",
		MaxQueue:     500,
		SegmentBytes: 65536,
		Fsync:        true,
		Destinations: []DestinationConfig{
			{
				Name: "soc-webhook", Type: TypeWebhook, MinLevel: "high", RatePerMinute: 30, Burst: 5,
				Timeout: 5 * time.Second, InitialBackoff: 500 * time.Millisecond, MaxBackoff: 2 * time.Minute,
				Webhook: &WebhookConfig{
					URL:    "https://soc.example.com/vigil",
					Secret: "0123456789abcdef-hook",
					Headers: map[string]Secret{
						"X-Api-Key":   "key-from-env",
						"X-From-File": "header-from-file",
						"X-Plain":     "plain-value",
						"X-Value":     "inline-value",
					},
				},
			},
			{
				Name: "slack-sec", Type: TypeSlack, Timeout: 10 * time.Second, InitialBackoff: time.Second, MaxBackoff: 5 * time.Minute,
				Slack: &SlackConfig{URL: "https://hooks.example.com/services/T0/B0/xyz"},
			},
			{
				Name: "sns-alerts", Type: TypeSNS, RatePerMinute: 1.5, Burst: 10,
				Timeout: 10 * time.Second, InitialBackoff: time.Second, MaxBackoff: 5 * time.Minute,
				SNS: &SNSConfig{TopicARN: "arn:aws:sns:eu-west-1:123456789012:vigil-alerts"},
			},
			{
				Name: "mail", Type: TypeEmail, MinLevel: "critical",
				Timeout: 10 * time.Second, InitialBackoff: time.Second, MaxBackoff: 5 * time.Minute,
				Email: &EmailConfig{Host: "smtp.example.com", Port: 465, TLS: TLSImplicit, Username: "vigil",
					Password: "smtp-pass", From: "Vigil <vigil@example.com>", To: []string{"soc@example.com", "oncall@example.com"}},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%#v\nwant\n%#v", got, want)
		for i := range min(len(got.Destinations), len(want.Destinations)) {
			g, w := got.Destinations[i], want.Destinations[i]
			if !reflect.DeepEqual(g, w) {
				t.Errorf("destination %d: got %+v / %+v / %+v / %+v", i, g, g.Webhook, g.Slack, g.Email)
			}
		}
	}
}

func TestParseFileDefaults(t *testing.T) {
	const file = `destinations:
  - {name: hook, type: webhook, webhook: {url: "http://127.0.0.1:9/x", secret: 0123456789abcdef}}
`
	got, err := parseFile("n.yml", []byte(file), "/data/notify", lookupFake, readFake)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dir != "/data/notify" || got.MaxQueue != 10000 || got.SegmentBytes != 4<<20 || got.Fsync {
		t.Errorf("defaults: got dir %q, max_queue %d, segment_bytes %d, fsync %v", got.Dir, got.MaxQueue, got.SegmentBytes, got.Fsync)
	}
	d := got.Destinations[0]
	if d.Timeout != 10*time.Second || d.InitialBackoff != time.Second || d.MaxBackoff != 5*time.Minute || d.Burst != 0 {
		t.Errorf("destination defaults: %+v", d)
	}
	if d.Webhook.Secret != "0123456789abcdef" {
		t.Errorf("inline secret: got %d bytes", len(d.Webhook.Secret))
	}
}

func TestParseFileErrors(t *testing.T) {
	// hook is a valid destination, indented as a list item of destinations.
	const hook = `  - name: hook
    type: webhook
    webhook:
      url: https://soc.example.com/x
      secret_env: HOOK_SECRET
`
	tests := []struct {
		name string
		file string
		// want are the problems expected, each as "line: text" (line 0:
		// the file's) or a substring of the message.
		want []string
		// secret must not appear in the error.
		secret string
	}{
		{name: "empty", file: "", want: []string{"0: empty"}},
		{name: "comments only", file: "# nothing\n", want: []string{"0: empty"}},
		{name: "not a mapping", file: "- a\n- b\n", want: []string{"1: top level: want a mapping of dir, max_queue"}},
		{name: "syntax error", file: "destinations:\n  - name: [a\n", want: []string{"parsing YAML"}},
		{name: "two documents", file: "destinations: []\n---\ndir: x\n", want: []string{"2: more than one YAML document"}},
		{name: "unknown top-level key", file: "destinations:\n" + hook + "max_queues: 3\n",
			want: []string{`7: top level: unknown key "max_queues" (known: dir, max_queue, segment_bytes, fsync, destinations)`}},
		{name: "unknown destination key", file: "destinations:\n" + hook + "    retries: 3\n",
			want: []string{`7: destinations[0]: unknown key "retries"`}},
		{name: "unknown webhook key", file: "destinations:\n" + hook + "      secrets: x\n",
			want: []string{`7: destinations[0].webhook: unknown key "secrets" (known: url, secret, secret_env, secret_file, headers)`}},
		{name: "slack key from another format", file: "destinations:\n  - name: s\n    type: slack\n    slack: {webhook_url_env: SLACK_URL}\n",
			want: []string{`4: destinations[0].slack: unknown key "webhook_url_env" (known: url, url_env, url_file)`, `4: destinations[0].slack.url: missing: give url_env`}},
		{name: "repeated key", file: "destinations:\n" + hook + "    type: slack\n",
			want: []string{"7: destinations[0].type: repeated (first at line 3)"}},
		{name: "missing destinations", file: "max_queue: 10\n", want: []string{"1: destinations: missing"}},
		{name: "empty destinations", file: "destinations: []\n", want: []string{"1: destinations: want a list of at least one destination"}},
		{name: "missing section", file: "destinations:\n  - name: hook\n    type: webhook\n",
			want: []string{"2: destinations[0]: webhook: section missing"}},
		{name: "section of another type", file: "destinations:\n  - name: hook\n    type: webhook\n    slack: {url_env: SLACK_URL}\n",
			want: []string{"2: destinations[0]: webhook: section missing"}},
		{name: "two sections", file: "destinations:\n" + hook + "    slack: {url_env: SLACK_URL}\n",
			want: []string{"2: destinations[0]: type \"webhook\": settings of 2 types given"}},
		{name: "missing name and type", file: "destinations:\n  - min_level: high\n",
			want: []string{"2: destinations[0].name: missing", "2: destinations[0].type: missing: want webhook, slack, sns or email"}},
		{name: "unknown type", file: "destinations:\n  - name: x\n    type: pager\n",
			want: []string{`3: destinations[0]: type: "pager", want webhook, slack, sns or email`}},
		{name: "bad name", file: "destinations:\n  - name: Bad Name\n    type: sns\n    sns: {topic_arn: 'arn:aws:sns:eu-west-1:123456789012:t'}\n",
			want: []string{`2: destinations[0]: name: "Bad Name", want [a-z0-9][a-z0-9_-]{0,63}`}},
		{name: "bad min_level", file: "destinations:\n" + hook + "    min_level: urgent\n",
			want: []string{`7: destinations[0]: min_level: "urgent" is not a Sigma level`}},
		{name: "duration without unit", file: "destinations:\n" + hook + "    timeout: 30\n",
			want: []string{`7: destinations[0].timeout: want a duration such as 30s, 5m or 1h30m, got "30"`}},
		{name: "bad duration", file: "destinations:\n" + hook + "    max_backoff: 5 minutes\n",
			want: []string{`7: destinations[0].max_backoff: want a duration such as 30s, 5m or 1h30m, got "5 minutes"`}},
		{name: "negative duration", file: "destinations:\n" + hook + "    timeout: -1s\n",
			want: []string{"7: destinations[0]: timeout: -1s, must be positive"}},
		{name: "backoffs out of order", file: "destinations:\n" + hook + "    initial_backoff: 1m\n    max_backoff: 10s\n",
			want: []string{"8: destinations[0]: max_backoff: 10s, less than initial_backoff 1m0s"}},
		{name: "rate not a number", file: "destinations:\n" + hook + "    rate_per_minute: fast\n",
			want: []string{`7: destinations[0].rate_per_minute: want a number, got "fast"`}},
		{name: "burst not an integer", file: "destinations:\n" + hook + "    burst: 2.5\n",
			want: []string{`7: destinations[0].burst: want an integer, got "2.5"`}},
		{name: "negative max_queue", file: "max_queue: -1\ndestinations:\n" + hook, want: []string{"1: max_queue: -1, must be positive"}},
		{name: "fsync not a bool", file: "fsync: yes\ndestinations:\n" + hook, want: []string{`1: fsync: want true or false, got "yes"`}},
		{name: "section not a mapping", file: "destinations:\n  - name: s\n    type: sns\n    sns: arn\n",
			want: []string{`4: destinations[0].sns: want a mapping of topic_arn, got "arn"`}},
		{name: "secret env unset", file: "destinations:\n  - name: h\n    type: webhook\n    webhook: {url: 'https://x.example/', secret_env: NOPE}\n",
			want: []string{"4: destinations[0].webhook.secret_env: environment variable NOPE is not set"}},
		{name: "secret env empty", file: "destinations:\n  - name: h\n    type: webhook\n    webhook: {url: 'https://x.example/', secret_env: EMPTY}\n",
			want: []string{"4: destinations[0].webhook.secret_env: environment variable EMPTY is empty"}},
		{name: "secret missing", file: "destinations:\n  - name: h\n    type: webhook\n    webhook:\n      url: https://x.example/\n",
			want: []string{"5: destinations[0].webhook.secret: missing: give secret_env (an environment variable), secret_file (a file) or secret (inline, discouraged)"}},
		{name: "secret given twice", file: "destinations:\n" + hook + "      secret: 0123456789abcdefXYZ\n",
			want: []string{"7: destinations[0].webhook.secret: given twice (secret_env, secret): give only one"}, secret: "0123456789abcdefXYZ"},
		{name: "secret file missing", file: "destinations:\n  - name: h\n    type: webhook\n    webhook: {url: 'https://x.example/', secret_file: /etc/vigil/nope}\n",
			want: []string{"4: destinations[0].webhook.secret_file: reading the secret: open /etc/vigil/nope: file does not exist"}},
		{name: "secret file empty", file: "destinations:\n  - name: h\n    type: webhook\n    webhook: {url: 'https://x.example/', secret_file: /etc/vigil/empty}\n",
			want: []string{"4: destinations[0].webhook.secret_file: file /etc/vigil/empty is empty"}},
		{name: "secret too short", file: "destinations:\n  - name: h\n    type: webhook\n    webhook:\n      url: https://x.example/\n      secret: short-secret\n",
			want: []string{"6: destinations[0]: webhook.secret: 12 bytes, need at least 16"}, secret: "short-secret"},
		{name: "slack url not a URL", file: "destinations:\n  - name: s\n    type: slack\n    slack:\n      url: ftp://hooks.example.com/T0/secret-token\n",
			want: []string{"5: destinations[0]: slack.url: ftp://hooks.example.com/… (rest redacted): scheme must be http or https"}, secret: "secret-token"},
		{name: "header value twice", file: "destinations:\n" + hook + "      headers: {X-Key: {env: API_KEY, value: inline-header}}\n",
			want: []string{"7: destinations[0].webhook.headers.X-Key: give exactly one of value, env, file"}, secret: "inline-header"},
		{name: "header env unset", file: "destinations:\n" + hook + "      headers:\n        X-Key: {env: NOPE}\n",
			want: []string{"8: destinations[0].webhook.headers.X-Key.env: environment variable NOPE is not set"}},
		{name: "bad header name", file: "destinations:\n" + hook + "      headers: {'X Key': v}\n",
			want: []string{`7: destinations[0]: webhook.headers: invalid header name "X Key"`}},
		{name: "email recipient", file: "destinations:\n  - name: m\n    type: email\n    email:\n      host: smtp.example.com\n      from: v@example.com\n      to:\n        - a@example.com\n        - not an address\n",
			want: []string{`9: destinations[0]: email.to[1]: "not an address" is not an address`}},
		{name: "email port", file: "destinations:\n  - name: m\n    type: email\n    email: {host: smtp.example.com, port: 99999, from: v@example.com, to: a@example.com}\n",
			want: []string{"4: destinations[0]: email.port: 99999 out of range"}},
		{name: "sns arn", file: "destinations:\n  - name: s\n    type: sns\n    sns:\n      topic_arn: arn:aws:sqs:x\n",
			want: []string{`5: destinations[0]: sns.topic_arn: "arn:aws:sqs:x" is not an SNS topic ARN`}},
		{name: "duplicate names", file: "destinations:\n" + hook + hook, want: []string{`7: destinations[1].name: "hook" used twice (first at line 2)`}},
		{name: "several problems", file: "max_queue: x\ndestinations:\n" + hook + "    timeout: 1\n    min_level: bad\n",
			want: []string{`1: max_queue: want an integer, got "x"`, "8: destinations[0].timeout: want a duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFile("n.yml", []byte(tt.file), "/data/notify", lookupFake, readFake)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			msg := err.Error()
			for _, w := range tt.want {
				line, text, ok := strings.Cut(w, ": ")
				want := w
				if ok && line == "0" {
					want = "n.yml: " + text
				} else if ok && strings.Trim(line, "0123456789") == "" {
					want = "n.yml:" + line + ": " + text
				}
				if !strings.Contains(msg, want) {
					t.Errorf("error\n%s\ndoes not contain\n%s", msg, want)
				}
			}
			if tt.secret != "" && strings.Contains(msg, tt.secret) {
				t.Errorf("error quotes the secret: %s", msg)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != "n.yml" {
				t.Errorf("error %v: not a *FileError naming the file", err)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VIGIL_TEST_SLACK_URL", "https://hooks.example.com/services/T0/B0/from-env")
	if err := os.WriteFile(filepath.Join(dir, "hook-secret"), []byte("0123456789abcdef-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notify.yml")
	const file = `destinations:
  - name: hook
    type: webhook
    webhook: {url: "https://soc.example.com/x", secret_file: hook-secret}
  - name: slack
    type: slack
    slack: {url_env: VIGIL_TEST_SLACK_URL}
`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(path, filepath.Join(dir, "state", "notify"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != filepath.Join(dir, "state", "notify") {
		t.Errorf("dir: got %q", cfg.Dir)
	}
	if got := string(cfg.Destinations[0].Webhook.Secret); got != "0123456789abcdef-from-file" {
		t.Errorf("secret from a file relative to the configuration: got %q", got)
	}
	if got := string(cfg.Destinations[1].Slack.URL); got != "https://hooks.example.com/services/T0/B0/from-env" {
		t.Errorf("slack url from the environment: got %q", got)
	}

	if _, err := LoadFile(filepath.Join(dir, "nope.yml"), dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want a not-exist error", err)
	}
	big := filepath.Join(dir, "big.yml")
	if err := os.WriteFile(big, []byte(strings.Repeat("#", MaxFileBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(big, dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: got %v", err)
	}
}

// FuzzParseFile checks that no input makes the loader panic and that what
// it accepts is a valid configuration.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("destinations:\n  - {name: h, type: webhook, webhook: {url: 'http://a/', secret: 0123456789abcdef, headers: {A: {env: API_KEY}}}}\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("destinations: [*a]\n"))
	f.Add([]byte("destinations:\n  - &d {name: s, type: sns, sns: {topic_arn: 'arn:aws:sns:eu-west-1:123456789012:t'}}\n  - *d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseFile("f.yml", data, "/data/notify", lookupFake, readFake)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
	})
}
