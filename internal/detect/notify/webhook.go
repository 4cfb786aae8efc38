package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
)

// The webhook's headers. SignatureHeader carries `t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" keyed by the secret>`; docs/alerts.md shows
// how a receiver verifies it.
const (
	SignatureHeader = "X-Vigil-Signature"
	AlertIDHeader   = "X-Vigil-Alert-Id"
)

// WebhookConfig configures a webhook destination: each alert is POSTed as
// its JSON document (docs/alerts.md), signed.
type WebhookConfig struct {
	// URL receives the POST (http or https).
	URL string
	// Secret keys the HMAC-SHA256 signature; at least 16 bytes.
	Secret Secret
	// Headers are added to each request (e.g. an API key header); their
	// values are treated as secrets.
	Headers map[string]Secret
}

// Validate checks the configuration; errors name the field.
func (c *WebhookConfig) Validate() error {
	if err := validateURL("webhook.url", c.URL, false); err != nil {
		return err
	}
	if len(c.Secret) < 16 {
		return fmt.Errorf("webhook.secret: %d bytes, need at least 16", len(c.Secret))
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return fmt.Errorf("webhook.headers: invalid header name %q", k)
		}
	}
	return nil
}

// validateURL checks an http(s) URL. A secret URL (Slack's carries its
// token in the path) is never quoted: only its scheme and host are.
func validateURL(field, raw string, secret bool) error {
	u, err := url.Parse(raw)
	show := func() string {
		if secret {
			if u != nil {
				return fmt.Sprintf("%s://%s/… (rest redacted)", u.Scheme, u.Host)
			}
			return redacted
		}
		return strconv.Quote(raw)
	}
	switch {
	case raw == "":
		return fmt.Errorf("%s: missing", field)
	case err != nil:
		if secret {
			return fmt.Errorf("%s: not a URL (value redacted)", field)
		}
		return fmt.Errorf("%s: %q is not a URL: %w", field, raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s: %s: scheme must be http or https", field, show())
	case u.Host == "":
		return fmt.Errorf("%s: %s: no host", field, show())
	}
	return nil
}

// Webhook POSTs signed alert documents.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
	now    func() time.Time
}

// NewWebhook returns a webhook destination; client nil means
// http.DefaultClient (the Dispatcher bounds each call with its timeout).
func NewWebhook(cfg WebhookConfig, client *http.Client) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Webhook{cfg: cfg, client: client, now: time.Now}, nil
}

// Send implements Destination.
func (w *Webhook) Send(ctx context.Context, a *alert.Alert, doc []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(doc))
	if err != nil {
		return Permanent(fmt.Errorf("webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil-notify/1")
	req.Header.Set(AlertIDHeader, a.ID)
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, string(v))
	}
	req.Header.Set(SignatureHeader, Sign([]byte(w.cfg.Secret), w.now(), doc))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting alert to webhook: %w", err)
	}
	if err := checkResponse(resp); err != nil {
		return fmt.Errorf("posting alert to webhook: %w", err)
	}
	return nil
}

// Sign returns the SignatureHeader value for body sent at time t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a SignatureHeader value against body, as a receiver does:
// the HMAC must match (compared in constant time) and the timestamp be
// within tolerance of now (replay protection).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature timestamp %d outside tolerance %v", sec, tolerance)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, ts, body)) {
		return errors.New("signature mismatch")
	}
	return nil
}
