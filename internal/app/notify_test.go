package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/detect/notify"
)

// notifyRule raises a high alert for each CloudTrail StopLogging call.
const notifyRule = `title: Trail stopped
id: 6f1c2a7e-0000-4000-8000-00000000a11e
level: high
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: StopLogging}
  condition: sel
`

// hookRequest is one request a test webhook received.
type hookRequest struct {
	header http.Header
	body   []byte
}

// testWebhook is an in-process webhook receiver that records what it is
// sent and answers 204.
type testWebhook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []hookRequest
}

func newTestWebhook(t *testing.T) *testWebhook {
	t.Helper()
	h := &testWebhook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.reqs = append(h.reqs, hookRequest{header: r.Header.Clone(), body: b})
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *testWebhook) received() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.reqs...)
}

// notifySetup writes the rule, a bucket with one StopLogging call among
// ordinary calls, and a notification file with body; it returns the rule
// directory, the bucket and the file.
func notifySetup(t *testing.T, body string) (rules, bucket, file string) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"rules/trail.yml": notifyRule, "notify.yml": body})
	bucket = writeBucket(t, map[string][]byte{
		ctPrefix + "trail.json": ctFile(t,
			ctRecord("e1", nil),
			ctRecord("e2", map[string]any{"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com"}),
			ctRecord("e3", nil)),
	})
	return filepath.Join(dir, "rules"), bucket, filepath.Join(dir, "notify.yml")
}

// TestLoadNotifyWebhook runs vigil load with a rule and --notify pointing
// at an in-process webhook: the alert arrives once, signed; a second run
// with the same state directory updates the alert and sends nothing.
func TestLoadNotifyWebhook(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const secret = "test-webhook-secret-0123456789"
	t.Setenv("VIGIL_TEST_WEBHOOK_SECRET", secret)
	hook := newTestWebhook(t)
	rules, bucket, file := notifySetup(t, `destinations:
  - name: soc-webhook
    type: webhook
    min_level: medium
    timeout: 5s
    webhook:
      url: `+hook.srv.URL+`/vigil
      secret_env: VIGIL_TEST_WEBHOOK_SECRET
      headers: {X-Api-Key: test-key}
`)
	stateDir := t.TempDir()
	r := runVigilLoad(t, "--rules", rules, "--notify", file, "--state-dir", stateDir, bucket)
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "notifications: soc-webhook 1 sent, 0 failed, 0 dropped") {
		t.Errorf("summary does not report the notification:\n%s", r.stderr)
	}
	var alertID string
	for _, d := range r.docs {
		if d.Index == "alerts" {
			alertID = d.ID
		}
	}
	if alertID == "" {
		t.Fatalf("no alert in the sink:\n%s", r.stderr)
	}

	reqs := hook.received()
	if len(reqs) != 1 {
		t.Fatalf("webhook received %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if err := notify.Verify([]byte(secret), req.header.Get(notify.SignatureHeader), req.body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature %q: %v", req.header.Get(notify.SignatureHeader), err)
	}
	if err := notify.Verify([]byte("another-secret-0123456789"), req.header.Get(notify.SignatureHeader), req.body, time.Now(), 5*time.Minute); err == nil {
		t.Error("the signature verifies with another secret")
	}
	if got := req.header.Get(notify.AlertIDHeader); got != alertID {
		t.Errorf("%s: got %q, want the stored alert's id %q", notify.AlertIDHeader, got, alertID)
	}
	if got := req.header.Get("X-Api-Key"); got != "test-key" {
		t.Errorf("configured header: got %q", got)
	}
	var doc struct {
		Rule  struct{ ID, Name string }
		Alert struct {
			ID    string
			Level string
			Count int
		}
	}
	if err := json.Unmarshal(req.body, &doc); err != nil {
		t.Fatalf("webhook body: %v\n%s", err, req.body)
	}
	if doc.Alert.ID != alertID || doc.Alert.Level != "high" || doc.Alert.Count != 1 || doc.Rule.ID != "6f1c2a7e-0000-4000-8000-00000000a11e" {
		t.Errorf("webhook body: got %+v", doc)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "notify", "soc-webhook")); err != nil {
		t.Errorf("queue directory: %v", err)
	}

	// The same logs again: the open alert is updated, not notified again.
	r = runVigilLoad(t, "--rules", rules, "--notify", file, "--state-dir", stateDir, bucket)
	if r.code != ExitOK {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	if n := len(hook.received()); n != 1 {
		t.Errorf("after the second run the webhook received %d requests, want still 1", n)
	}
	hook.srv.Close()
	http.DefaultClient.CloseIdleConnections()
}

// TestLoadNotifyQueuesWhileDown checks that an alert the webhook refuses
// with a transient error stays queued (in the file's dir) past the end of
// the run, and goes out with the next run.
func TestLoadNotifyQueuesWhileDown(t *testing.T) {
	t.Setenv("VIGIL_TEST_WEBHOOK_SECRET", "test-webhook-secret-0123456789")
	var mu sync.Mutex
	down, got := true, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			w.Header().Set("Retry-After", "120") // longer than the run waits
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		got++
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	queue := filepath.Join(t.TempDir(), "queue")
	rules, bucket, file := notifySetup(t, `dir: `+queue+`
destinations:
  - name: hook
    type: webhook
    webhook: {url: "`+srv.URL+`", secret_env: VIGIL_TEST_WEBHOOK_SECRET}
`)
	// Cancel the run's context once the load is done, so it does not wait
	// the 30 s drain for the refused alert.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr strings.Builder
	tmp := t.TempDir()
	go func() {
		for !strings.Contains(stderrString(&mu, &stderr), "detection:") {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	code := Main(ctx, []string{"load", "--sink", "ndjson:" + filepath.Join(tmp, "out.ndjson"),
		"--dead-letter", filepath.Join(tmp, "dl.ndjson"), "--rules", rules, "--notify", file, bucket},
		strings.NewReader(""), &stdout, &lockedWriter{mu: &mu, w: &stderr})
	errText := stderrString(&mu, &stderr)
	if !strings.Contains(errText, "1 notifications still queued in "+queue) {
		t.Errorf("exit %d; the summary does not say the alert is still queued:\n%s", code, errText)
	}

	mu.Lock()
	down = false
	mu.Unlock()
	// The next run (no new alert: the input is ordinary calls) sends it.
	empty := writeBucket(t, map[string][]byte{ctPrefix + "quiet.json": ctFile(t, ctRecord("q1", nil))})
	r := runVigilLoad(t, "--rules", rules, "--notify", file, empty)
	if r.code != ExitOK {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if got != 1 {
		t.Errorf("the queued alert was sent %d times by the next run, want 1\n%s", got, r.stderr)
	}
}

// lockedWriter serializes writes to w with mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func stderrString(mu *sync.Mutex, b *strings.Builder) string {
	mu.Lock()
	defer mu.Unlock()
	return b.String()
}

// TestNotifyFlagErrors checks the usage errors of --notify and the
// VIGIL_NOTIFY fallback.
func TestNotifyFlagErrors(t *testing.T) {
	rules, bucket, good := notifySetup(t, "destinations:\n  - {name: s, type: sns, sns: {topic_arn: 'arn:aws:sns:eu-west-1:123456789012:t'}}\n")
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("destinations:\n  - name: h\n    type: webhook\n    webhok: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out.ndjson")
	tests := []struct {
		name string
		env  string // VIGIL_NOTIFY
		args []string
		code int
		want string // in stderr
	}{
		{name: "load without rules", args: []string{"load", "--sink", "ndjson:" + out, "--notify", good, bucket},
			code: ExitUsage, want: "vigil load: --notify needs --rules"},
		{name: "serve without rules", args: []string{"serve", "--data-dir", tmp, "--addr", "127.0.0.1:0", "--notify", good},
			code: ExitUsage, want: "vigil serve: --notify needs --rules"},
		{name: "bad file", args: []string{"load", "--sink", "ndjson:" + out, "--rules", rules, "--notify", bad, bucket},
			code: ExitUsage, want: "vigil load: --notify: " + bad + `:4: destinations[0]: unknown key "webhok"`},
		{name: "missing file", args: []string{"load", "--sink", "ndjson:" + out, "--rules", rules, "--notify", bad + ".nope", bucket},
			code: ExitUsage, want: "no such file"},
		{name: "demo bad file", args: []string{"demo", "--no-serve", "--data-dir", tmp, "--notify", bad},
			code: ExitUsage, want: "vigil demo: --notify: " + bad + ":4:"},
		{name: "env used with rules", env: bad, args: []string{"load", "--sink", "ndjson:" + out, "--rules", rules, bucket},
			code: ExitUsage, want: `unknown key "webhok"`},
		{name: "env ignored without rules", env: bad, args: []string{"load", "--sink", "ndjson:" + out, "--quiet", bucket},
			code: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(notifyEnv, tt.env)
			code, _, stderr := runApp(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want %d; stderr does not contain %q:\n%s", code, tt.code, tt.want, stderr)
			}
		})
	}
}

// fakeSNS is an in-process SNS query API: it records the Publish calls
// and answers with status (200 by default) and body.
type fakeSNS struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []url.Values
	auth   []string
	status int
	body   string
}

func newFakeSNS(t *testing.T) *fakeSNS {
	t.Helper()
	f := &fakeSNS{status: http.StatusOK, body: `<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>`}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, r.PostForm)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// awsTestEnv gives the AWS SDK static credentials and no configuration
// files, so nothing outside the test is read or called.
func awsTestEnv(t *testing.T, endpoint string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDVIGILTEST",
		"AWS_SECRET_ACCESS_KEY":       "vigil-test-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "us-east-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_SNS":        endpoint,
	} {
		t.Setenv(k, v)
	}
}

// TestLoadNotifySNS runs vigil load with an SNS destination against an
// in-process SNS endpoint: one signed Publish of the alert.
func TestLoadNotifySNS(t *testing.T) {
	sns := newFakeSNS(t)
	awsTestEnv(t, sns.srv.URL)
	const topic = "arn:aws:sns:eu-west-1:123456789012:vigil-alerts"
	rules, bucket, file := notifySetup(t, "destinations:\n  - {name: sns, type: sns, sns: {topic_arn: '"+topic+"'}}\n")
	r := runVigilLoad(t, "--rules", rules, "--notify", file, "--state-dir", t.TempDir(), bucket)
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	sns.mu.Lock()
	defer sns.mu.Unlock()
	if len(sns.calls) != 1 {
		t.Fatalf("SNS received %d calls, want 1\n%s", len(sns.calls), r.stderr)
	}
	c := sns.calls[0]
	if c.Get("Action") != "Publish" || c.Get("TopicArn") != topic || c.Get("Subject") != "[HIGH] Trail stopped" {
		t.Errorf("Publish form: %v", c)
	}
	var doc struct{ Alert struct{ Level string } }
	if err := json.Unmarshal([]byte(c.Get("Message")), &doc); err != nil || doc.Alert.Level != "high" {
		t.Errorf("message is not the alert document (%v): %q", err, c.Get("Message"))
	}
	// Signed for the topic's region, not the SDK's default region.
	if a := sns.auth[0]; !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDVIGILTEST/") || !strings.Contains(a, "/eu-west-1/sns/aws4_request") {
		t.Errorf("Authorization: %q", a)
	}
}

// TestSNSPublisherErrors checks which SNS refusals are retried.
func TestSNSPublisherErrors(t *testing.T) {
	sns := newFakeSNS(t)
	awsTestEnv(t, sns.srv.URL)
	p, err := newSNSPublisher(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const topic = "arn:aws:sns:us-east-1:123456789012:t"
	tests := []struct {
		name      string
		status    int
		code      string
		permanent bool
	}{
		{name: "published", status: 200},
		{name: "not authorized", status: 403, code: "AuthorizationError", permanent: true},
		{name: "no topic", status: 404, code: "NotFound", permanent: true},
		{name: "throttled", status: 400, code: "Throttling"},
		{name: "too many requests", status: 429, code: "ThrottledException"},
		{name: "internal error", status: 500, code: "InternalError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sns.mu.Lock()
			sns.status = tt.status
			if tt.code != "" {
				sns.body = `<ErrorResponse><Error><Type>Sender</Type><Code>` + tt.code + `</Code><Message>refused</Message></Error></ErrorResponse>`
			}
			sns.mu.Unlock()
			err := p.Publish(context.Background(), topic, "subject", "{}")
			if tt.status == 200 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.code) {
				t.Fatalf("got %v, want an error naming %s", err, tt.code)
			}
			var pe *notify.PermanentError
			if errors.As(err, &pe) != tt.permanent {
				t.Errorf("%v: permanent %v, want %v", err, !tt.permanent, tt.permanent)
			}
		})
	}
}
