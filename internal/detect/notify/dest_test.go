package notify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
)

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

func testAlert(id string) *alert.Alert {
	return &alert.Alert{
		ID: id, RuleID: "rule-1", RuleTitle: "Console login without MFA", Level: "high",
		Tags:      []string{"attack.initial-access", "attack.t1078.004"},
		Threat:    alert.ParseTags([]string{"attack.initial-access", "attack.t1078.004"}),
		KeyFields: map[string]string{"source.ip": "198.51.100.7", "user.name": "<bob> & co"},
		DocIDs:    []string{"d1", "d2"}, FirstSeen: t0, LastSeen: t0.Add(time.Minute),
		WindowStart: t0, WindowEnd: t0.Add(time.Hour), Count: 2, Status: alert.StatusOpen,
	}
}

func docOf(t testing.TB, a *alert.Alert) []byte {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const secret = "0123456789abcdef-secret"

func TestWebhookSignature(t *testing.T) {
	var got struct {
		body []byte
		hdr  http.Header
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.body, _ = io.ReadAll(r.Body)
		got.hdr = r.Header.Clone()
		if err := Verify([]byte(secret), r.Header.Get(SignatureHeader), got.body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Secret: secret, Headers: map[string]Secret{"X-Api-Key": "k"}}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("a1")
	doc := docOf(t, a)
	if err := w.Send(context.Background(), a, doc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.body, doc) || got.hdr.Get(AlertIDHeader) != "a1" || got.hdr.Get("X-Api-Key") != "k" ||
		got.hdr.Get("Content-Type") != "application/json" {
		t.Errorf("request: %s %v", got.body, got.hdr)
	}
	// A wrong secret, a changed body and a stale timestamp all fail.
	sig := got.hdr.Get(SignatureHeader)
	now := time.Now()
	for name, err := range map[string]error{
		"wrong secret": Verify([]byte("another secret.."), sig, doc, now, time.Minute),
		"changed body": Verify([]byte(secret), sig, append(doc, ' '), now, time.Minute),
		"stale":        Verify([]byte(secret), sig, doc, now.Add(10*time.Minute), 5*time.Minute),
		"malformed":    Verify([]byte(secret), "v1=00", doc, now, time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: Verify accepted", name)
		}
	}
	// Non-2xx answers are classified.
	for code, perm := range map[int]bool{400: true, 404: true, 429: false, 500: false, 503: false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
		w, _ := NewWebhook(WebhookConfig{URL: srv.URL, Secret: secret}, srv.Client())
		err := w.Send(context.Background(), a, doc)
		srv.Close()
		if err == nil || isPermanent(err) != perm {
			t.Errorf("HTTP %d: err %v, permanent %v, want %v", code, err, isPermanent(err), perm)
		}
	}
}

func TestSlackMessage(t *testing.T) {
	var msg map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			t.Error(err)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	s, err := NewSlack(SlackConfig{URL: Secret(srv.URL + "/services/T000/B000/XXXX")}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("a1")
	if err := s.Send(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
	if msg["text"] != "[HIGH] Console login without MFA (2 matches)" {
		t.Errorf("text %q", msg["text"])
	}
	blocks := msg["blocks"].([]any)
	fields := blocks[1].(map[string]any)["fields"].([]any)
	var texts []string
	for _, f := range fields {
		texts = append(texts, f.(map[string]any)["text"].(string))
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"*Level*\nhigh", "*Count*\n2", "*ATT&amp;CK*\nT1078.004, T1078", "*user.name*\n&lt;bob&gt; &amp; co", "*source.ip*\n198.51.100.7"} {
		if !strings.Contains(all, want) {
			t.Errorf("fields %q lack %q", all, want)
		}
	}
	// The URL (a secret) appears in no error.
	s2, _ := NewSlack(SlackConfig{URL: "http://127.0.0.1:1/services/T000/B000/TOKEN"}, nil)
	err = s2.Send(context.Background(), a, nil)
	if err == nil || strings.Contains(err.Error(), "TOKEN") {
		t.Errorf("error %v", err)
	}
}

type fakeSNS struct {
	mu       sync.Mutex
	subjects []string
	messages []string
	err      error
}

func (f *fakeSNS) Publish(_ context.Context, topic, subject, message string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.subjects = append(f.subjects, subject)
	f.messages = append(f.messages, message)
	return nil
}

func TestSNS(t *testing.T) {
	api := &fakeSNS{}
	s, err := NewSNS(SNSConfig{TopicARN: "arn:aws:sns:eu-west-1:123456789012:vigil-alerts"}, api)
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("a1")
	a.RuleTitle = strings.Repeat("é", 150)
	doc := docOf(t, a)
	if err := s.Send(context.Background(), a, doc); err != nil {
		t.Fatal(err)
	}
	if len(api.subjects[0]) > 100 || strings.ContainsFunc(api.subjects[0], func(r rune) bool { return r > 0x7e }) {
		t.Errorf("subject %q", api.subjects[0])
	}
	if api.messages[0] != string(doc) {
		t.Errorf("message %s", api.messages[0])
	}
}

// fakeSMTP is a minimal submission server: EHLO, STARTTLS, AUTH PLAIN,
// MAIL, RCPT, DATA, QUIT.
type fakeSMTP struct {
	ln       net.Listener
	tls      *tls.Config
	user     string
	pass     string
	mu       sync.Mutex
	messages []string
	rcpts    [][]string
	wg       sync.WaitGroup
}

func newFakeSMTP(t *testing.T, user, pass string) (*fakeSMTP, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSMTP{ln: ln, user: user, pass: pass,
		tls: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s, pool
}

func (s *fakeSMTP) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), c
	say := func(l string) { _, _ = io.WriteString(w, l+"\r\n") }
	say("220 localhost fake ESMTP")
	tlsOn, authed := false, false
	var rcpts []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(l, "\r\n")
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		switch verb {
		case "EHLO":
			say("250-localhost")
			if !tlsOn {
				say("250-STARTTLS")
			} else {
				say("250-AUTH PLAIN")
			}
			say("250 8BITMIME")
		case "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, w, tlsOn = tc, bufio.NewReader(tc), tc, true
		case "AUTH":
			parts := strings.Fields(cmd)
			b, _ := base64.StdEncoding.DecodeString(parts[len(parts)-1])
			if tlsOn && string(b) == "\x00"+s.user+"\x00"+s.pass {
				authed = true
				say("235 ok")
			} else {
				say("535 bad credentials")
			}
		case "MAIL":
			if !authed {
				say("530 authentication required")
				continue
			}
			say("250 ok")
		case "RCPT":
			rcpts = append(rcpts, cmd)
			say("250 ok")
		case "DATA":
			say("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.messages = append(s.messages, msg.String())
			s.rcpts = append(s.rcpts, rcpts)
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func TestEmail(t *testing.T) {
	srv, pool := newFakeSMTP(t, "vigil", "s3cret-pass")
	cfg := EmailConfig{Host: "localhost", Port: srv.port(), Username: "vigil", Password: "s3cret-pass",
		From: "Vigil <vigil@example.com>", To: []string{"soc@example.com", "oncall@example.com"}}
	e, err := NewEmail(cfg, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert("a1")
	a.RuleTitle = "Line\r\nBcc: evil@example.com"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Send(ctx, a, docOf(t, a)); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.messages) != 1 || len(srv.rcpts[0]) != 2 {
		t.Fatalf("messages %d rcpts %v", len(srv.messages), srv.rcpts)
	}
	m, err := mail.ReadMessage(strings.NewReader(srv.messages[0]))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Bcc") != "" || m.Header.Get("Message-Id") != "<a1@vigil.alert>" {
		t.Errorf("headers %v", m.Header)
	}
	subj, _ := new(mimeDecoder).DecodeHeader(m.Header.Get("Subject"))
	if !strings.HasPrefix(subj, "[Vigil] [HIGH] Line  Bcc") {
		t.Errorf("subject %q", subj)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
	if !strings.Contains(string(body), `"event":{"kind":"alert"`) || !strings.Contains(string(body), "source.ip: 198.51.100.7") {
		t.Errorf("body %s", body)
	}

	// Wrong password: a permanent failure; no STARTTLS offered with
	// TLSStartTLS: permanent too.
	cfg.Password = "wrong"
	e2, _ := NewEmail(cfg, &tls.Config{RootCAs: pool})
	if err := e2.Send(ctx, a, nil); err == nil || !isPermanent(err) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad password: %v", err)
	}
	// An untrusted certificate fails.
	e3, _ := NewEmail(EmailConfig{Host: "localhost", Port: srv.port(), From: cfg.From, To: cfg.To}, nil)
	if err := e3.Send(ctx, a, nil); err == nil {
		t.Error("untrusted certificate accepted")
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	cfg := DestinationConfig{Name: "hook", Type: TypeWebhook, Webhook: &WebhookConfig{URL: "https://x.example/h", Secret: "TOPSECRET-0123456789"}}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", slog.Any("cfg", cfg), slog.Any("secret", cfg.Webhook.Secret))
	b, _ := json.Marshal(cfg)
	for _, out := range []string{buf.String(), string(b), strings.Join([]string{
		func() string { return fmtAll(cfg.Webhook.Secret) }(),
	}, "")} {
		if strings.Contains(out, "TOPSECRET") {
			t.Errorf("secret printed: %s", out)
		}
	}
	sc := SlackConfig{URL: "ftp://hooks.slack.com/services/TOKEN"}
	if err := sc.Validate(); err == nil || strings.Contains(err.Error(), "TOKEN") {
		t.Errorf("slack url error %v", err)
	}
}
