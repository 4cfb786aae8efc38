package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
)

// recorder is a Destination that records what it receives; fail decides
// per call whether to fail (nil: never).
type recorder struct {
	mu   sync.Mutex
	ids  []string
	fail func(n int, a *alert.Alert) error
	n    int
}

func (r *recorder) Send(ctx context.Context, a *alert.Alert, _ []byte) error {
	r.mu.Lock()
	r.n++
	n := r.n
	f := r.fail
	r.mu.Unlock()
	if f != nil {
		if err := f(n, a); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.ids = append(r.ids, a.ID)
	r.mu.Unlock()
	return nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

func dest(name string) DestinationConfig {
	return DestinationConfig{Name: name, Type: TypeSNS, SNS: &SNSConfig{TopicARN: "arn:aws:sns:eu-west-1:123456789012:t"},
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Timeout: time.Second}
}

// start runs d in the background; the returned func closes it (draining
// for up to drain) and waits for Run.
func start(t *testing.T, d *Dispatcher, drain time.Duration) func() error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- d.Run(context.Background()) }()
	// Close before Run has started leaves the queue on disk for the next
	// run; the tests that use start want Run's workers to drain it.
	waitFor(t, "Run to start", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.running
	})
	var once sync.Once
	var cerr error
	stop := func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), drain)
			defer cancel()
			cerr = d.Close(ctx)
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		return cerr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func enqueueN(t *testing.T, d *Dispatcher, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := d.Enqueue(testAlert(fmt.Sprintf("a%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, fmt.Sprintf("a%03d", i))
	}
	return out
}

func TestRetryUntilDelivered(t *testing.T) {
	// A webhook that answers 500 twice, then times out once, then accepts.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		switch calls.Add(1) {
		case 1, 2:
			w.WriteHeader(http.StatusInternalServerError)
		case 3:
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	var received []string
	var mu sync.Mutex
	check := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := Verify([]byte(secret), r.Header.Get(SignatureHeader), b, time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
		mu.Lock()
		received = append(received, r.Header.Get(AlertIDHeader))
		mu.Unlock()
	}))
	defer check.Close()

	dc := DestinationConfig{Name: "flaky", Type: TypeWebhook, Webhook: &WebhookConfig{URL: srv.URL, Secret: secret},
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Timeout: 100 * time.Millisecond}
	dc2 := dc
	dc2.Name, dc2.Webhook = "good", &WebhookConfig{URL: check.URL, Secret: secret}
	cfg := Config{Dir: t.TempDir(), Destinations: []DestinationConfig{dc, dc2}}
	w1, _ := NewDestination(dc, Deps{})
	w2, _ := NewDestination(dc2, Deps{})
	rec := &recorder{}
	d, err := New(cfg, map[string]Destination{"flaky": fanout{w1, rec}, "good": w2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d, 5*time.Second)
	enqueueN(t, d, 0, 3)
	waitFor(t, "delivery", func() bool { return len(rec.got()) == 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st := d.Stats()
	if st["flaky"].Sent != 3 || st["flaky"].Retries != 3 || calls.Load() != 6 {
		t.Errorf("stats %+v, calls %d", st, calls.Load())
	}
	if fmt.Sprint(rec.got()) != fmt.Sprint(ids(0, 3)) || fmt.Sprint(received) != fmt.Sprint(ids(0, 3)) {
		t.Errorf("flaky got %v, good got %v", rec.got(), received)
	}
}

// fanout sends to the first destination, then records in the second.
type fanout [2]Destination

func (f fanout) Send(ctx context.Context, a *alert.Alert, doc []byte) error {
	if err := f[0].Send(ctx, a, doc); err != nil {
		return err
	}
	return f[1].Send(ctx, a, doc)
}

func TestFailingDestinationBlocksNothing(t *testing.T) {
	down := &recorder{fail: func(int, *alert.Alert) error { return errors.New("connection refused") }}
	up := &recorder{}
	d, err := New(Config{Dir: t.TempDir(), Destinations: []DestinationConfig{dest("down"), dest("up")}},
		map[string]Destination{"down": down, "up": up}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d, 50*time.Millisecond)
	begin := time.Now()
	enqueueN(t, d, 0, 100)
	if el := time.Since(begin); el > time.Second {
		t.Errorf("Enqueue took %v", el)
	}
	waitFor(t, "up to get everything", func() bool { return len(up.got()) == 100 })
	if err := stop(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want a deadline error (down never drains)", err)
	}
	st := d.Stats()
	if st["down"].Pending != 100 || st["down"].Retries == 0 || st["up"].Sent != 100 {
		t.Errorf("stats %+v", st)
	}
}

func TestPermanentFailureSkips(t *testing.T) {
	r := &recorder{fail: func(_ int, a *alert.Alert) error {
		if a.ID == "a001" {
			return &StatusError{Code: 400}
		}
		return nil
	}}
	d, err := New(Config{Dir: t.TempDir(), Destinations: []DestinationConfig{dest("d")}}, map[string]Destination{"d": r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d, time.Second)
	enqueueN(t, d, 0, 3)
	waitFor(t, "delivery", func() bool { return len(r.got()) == 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats()["d"]; st.Failed != 1 || st.Sent != 2 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestMinLevel(t *testing.T) {
	r := &recorder{}
	dc := dest("d")
	dc.MinLevel = "critical"
	d, err := New(Config{Dir: t.TempDir(), Destinations: []DestinationConfig{dc}}, map[string]Destination{"d": r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	enqueueN(t, d, 0, 2) // high
	c := testAlert("crit")
	c.Level = "critical"
	if err := d.Enqueue(c); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats()["d"]; st.Pending != 1 {
		t.Errorf("pending %d, want 1", st.Pending)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestRestart stops a dispatcher while a destination is down, part-way
// through its queue, and starts a new one on the same directory: every
// alert is delivered, in order, and none twice (a clean stop leaves no
// alert sent but unacknowledged).
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentBytes: 2048, Destinations: []DestinationConfig{dest("d")}}
	var up atomic.Bool
	up.Store(true)
	first := &recorder{fail: func(n int, _ *alert.Alert) error {
		if n > 10 {
			up.Store(false)
			return errors.New("down")
		}
		return nil
	}}
	d, err := New(cfg, map[string]Destination{"d": first}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d, 20*time.Millisecond)
	enqueueN(t, d, 0, 30)
	waitFor(t, "the destination to go down", func() bool { return !up.Load() })
	_ = stop()
	sent1 := first.got()
	if len(sent1) != 10 {
		t.Fatalf("first run sent %d", len(sent1))
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "d", "*.jsonl"))
	if len(segs) < 2 {
		t.Errorf("expected several segments of 2 KiB, got %v", segs)
	}
	// Simulate a crash mid-write: a torn line at the end of a segment.
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"seq":99,"alert":{"ev`)
	f.Close()

	second := &recorder{}
	d2, err := New(cfg, map[string]Destination{"d": second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := d2.Stats()["d"].Pending; p != 20 {
		t.Fatalf("pending after restart %d, want 20", p)
	}
	stop2 := start(t, d2, 5*time.Second)
	enqueueN(t, d2, 30, 5)
	waitFor(t, "redelivery", func() bool { return len(second.got()) == 25 })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if all := fmt.Sprint(append(sent1, second.got()...)); all != fmt.Sprint(ids(0, 35)) {
		t.Errorf("delivered %s", all)
	}
	// Everything is acknowledged: only the current segment remains, and a
	// third run has nothing to send.
	segs, _ = filepath.Glob(filepath.Join(dir, "d", "*.jsonl"))
	if len(segs) != 1 {
		t.Errorf("segments left %v", segs)
	}
	d3, err := New(cfg, map[string]Destination{"d": &recorder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := d3.Stats()["d"].Pending; p != 0 {
		t.Errorf("third run pending %d", p)
	}
	_ = d3.Close(context.Background())
}

// TestQueueFull drops the oldest alerts, counts them, and does not bring
// them back after a restart.
func TestQueueFull(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxQueue: 5, Destinations: []DestinationConfig{dest("d")}}
	d, err := New(cfg, map[string]Destination{"d": &recorder{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	enqueueN(t, d, 0, 12) // not running: nothing is sent
	if st := d.Stats()["d"]; st.Dropped != 7 || st.Pending != 5 {
		t.Errorf("stats %+v", st)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	d2, err := New(cfg, map[string]Destination{"d": r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d2, 5*time.Second)
	waitFor(t, "delivery", func() bool { return len(r.got()) == 5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.got()) != fmt.Sprint(ids(7, 5)) {
		t.Errorf("delivered %v, want the 5 newest", r.got())
	}
}

func TestCloseDrains(t *testing.T) {
	r := &recorder{fail: func(int, *alert.Alert) error { time.Sleep(time.Millisecond); return nil }}
	d, err := New(Config{Dir: t.TempDir(), Destinations: []DestinationConfig{dest("d")}}, map[string]Destination{"d": r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d, 10*time.Second)
	enqueueN(t, d, 0, 50)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(r.got()) != 50 {
		t.Errorf("Close delivered %d of 50", len(r.got()))
	}
	if err := d.Enqueue(testAlert("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close = %v", err)
	}
	if err := d.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v", err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	d, err := New(Config{Dir: t.TempDir(), Destinations: []DestinationConfig{dest("d")}},
		map[string]Destination{"d": &recorder{fail: func(int, *alert.Alert) error { return errors.New("down") }}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	enqueueN(t, d, 0, 1)
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestTokenBucket(t *testing.T) {
	now := t0
	b := newTokenBucket(60, 2, func() time.Time { return now }) // 1/s, burst 2
	var waits []time.Duration
	for i := 0; i < 4; i++ {
		waits = append(waits, b.take())
	}
	if fmt.Sprint(waits) != "[0s 0s 1s 2s]" {
		t.Errorf("waits %v", waits)
	}
	now = now.Add(10 * time.Second) // refills to the burst, not beyond
	if w1, w2, w3 := b.take(), b.take(), b.take(); w1 != 0 || w2 != 0 || w3 != time.Second {
		t.Errorf("after refill: %v %v %v", w1, w2, w3)
	}
	if w := newTokenBucket(0, 0, time.Now).take(); w != 0 {
		t.Errorf("unlimited bucket waits %v", w)
	}
}

func TestRateLimitedDelivery(t *testing.T) {
	r := &recorder{}
	dc := dest("d")
	dc.RatePerMinute, dc.Burst = 60*20, 2 // 20/s
	d, err := New(Config{Dir: t.TempDir(), Destinations: []DestinationConfig{dc}}, map[string]Destination{"d": r}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d, 5*time.Second)
	begin := time.Now()
	enqueueN(t, d, 0, 6)
	waitFor(t, "delivery", func() bool { return len(r.got()) == 6 })
	// 2 at once, then 4 at 50 ms intervals.
	if el := time.Since(begin); el < 180*time.Millisecond {
		t.Errorf("6 alerts at 20/s with burst 2 took %v", el)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestBackoff(t *testing.T) {
	c := DestinationConfig{InitialBackoff: time.Second, MaxBackoff: 10 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 9: 10 * time.Second} {
		for i := 0; i < 20; i++ {
			if got := backoff(&c, n, nil); got < want/2 || got > want {
				t.Errorf("backoff(%d) = %v, want in [%v, %v]", n, got, want/2, want)
			}
		}
	}
	if got := backoff(&c, 1, &StatusError{Code: 429, RetryAfter: 30 * time.Second}); got != 30*time.Second {
		t.Errorf("Retry-After ignored: %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := func() DestinationConfig { return dest("d") }
	tests := []struct {
		name    string
		mod     func(c *Config)
		wantErr string
	}{
		{name: "valid", mod: func(*Config) {}},
		{name: "no dir", mod: func(c *Config) { c.Dir = "" }, wantErr: "notify.dir: missing"},
		{name: "bad name", mod: func(c *Config) { c.Destinations[0].Name = "Bad Name" }, wantErr: `notify.destinations[0]: name: "Bad Name"`},
		{name: "duplicate name", mod: func(c *Config) { c.Destinations = append(c.Destinations, ok()) }, wantErr: `notify.destinations[1].name: "d" used twice`},
		{name: "bad type", mod: func(c *Config) { c.Destinations[0].Type = "pager" }, wantErr: `type: "pager"`},
		{name: "missing section", mod: func(c *Config) { c.Destinations[0].Type = TypeSlack }, wantErr: "slack: section missing"},
		{name: "bad level", mod: func(c *Config) { c.Destinations[0].MinLevel = "urgent" }, wantErr: `min_level: "urgent"`},
		{name: "backoff order", mod: func(c *Config) { c.Destinations[0].MaxBackoff = time.Millisecond }, wantErr: "max_backoff: 1ms"},
		{name: "bad arn", mod: func(c *Config) { c.Destinations[0].SNS.TopicARN = "arn:aws:sqs:x" }, wantErr: `sns.topic_arn: "arn:aws:sqs:x"`},
		{name: "short webhook secret", mod: func(c *Config) {
			c.Destinations[0] = DestinationConfig{Name: "w", Type: TypeWebhook, Webhook: &WebhookConfig{URL: "https://h.example/x", Secret: "short"}}
		}, wantErr: "webhook.secret: 5 bytes"},
		{name: "bad webhook url", mod: func(c *Config) {
			c.Destinations[0] = DestinationConfig{Name: "w", Type: TypeWebhook, Webhook: &WebhookConfig{URL: "file:///etc/passwd", Secret: secret}}
		}, wantErr: `webhook.url: "file:///etc/passwd": scheme`},
		{name: "bad email", mod: func(c *Config) {
			c.Destinations[0] = DestinationConfig{Name: "e", Type: TypeEmail, Email: &EmailConfig{Host: "smtp.example.com", From: "vigil@example.com", To: []string{"not an address"}}}
		}, wantErr: `email.to[0]: "not an address"`},
		{name: "email tls", mod: func(c *Config) {
			c.Destinations[0] = DestinationConfig{Name: "e", Type: TypeEmail, Email: &EmailConfig{Host: "smtp.example.com", TLS: "ssl3", From: "vigil@example.com", To: []string{"a@example.com"}}}
		}, wantErr: `email.tls: "ssl3"`},
		{name: "two sections", mod: func(c *Config) { c.Destinations[0].Slack = &SlackConfig{URL: "https://hooks.slack.com/x"} }, wantErr: "settings of 2 types"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Dir: "/tmp/q", Destinations: []DestinationConfig{ok()}}
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// BenchmarkDispatch measures enqueue-to-delivery throughput through the
// persistent queue to a destination that returns at once.
func BenchmarkDispatch(b *testing.B) {
	r := &countingDest{}
	d, err := New(Config{Dir: b.TempDir(), MaxQueue: 1 << 20, Destinations: []DestinationConfig{dest("d")}}, map[string]Destination{"d": r}, nil)
	if err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- d.Run(context.Background()) }()
	a := testAlert("x")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Enqueue(a); err != nil {
			b.Fatal(err)
		}
	}
	for r.n.Load() < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	_ = d.Close(context.Background())
	<-errc
}

type countingDest struct{ n atomic.Int64 }

func (c *countingDest) Send(context.Context, *alert.Alert, []byte) error { c.n.Add(1); return nil }
