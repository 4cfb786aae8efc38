package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
)

// The TLS modes of EmailConfig.TLS.
const (
	// TLSStartTLS upgrades the connection with STARTTLS and fails when the
	// server does not offer it (submission, port 587). The default.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the start (port 465).
	TLSImplicit = "tls"
	// TLSNone sends in clear text; authentication is then refused (by
	// net/smtp) except to localhost.
	TLSNone = "none"
)

// EmailConfig configures an email destination (SMTP submission).
type EmailConfig struct {
	Host string
	// Port defaults to 587 (465 with TLSImplicit).
	Port int
	// TLS is one of TLSStartTLS (default), TLSImplicit, TLSNone.
	TLS string
	// Username and Password authenticate with AUTH PLAIN when Username is
	// set.
	Username string
	Password Secret
	// From is the sender address; To the recipients (at least one).
	From string
	To   []string
}

// Validate fills the defaults and checks the configuration; errors name
// the field and the bad value.
func (c *EmailConfig) Validate() error {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		c.Port = 587
		if c.TLS == TLSImplicit {
			c.Port = 465
		}
	}
	switch {
	case c.Host == "" || strings.ContainsAny(c.Host, " /:\r\n"):
		return fmt.Errorf("email.host: %q is not a host name", c.Host)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("email.port: %d out of range", c.Port)
	case c.TLS != TLSStartTLS && c.TLS != TLSImplicit && c.TLS != TLSNone:
		return fmt.Errorf("email.tls: %q, want %s, %s or %s", c.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	case c.Username == "" && c.Password != "":
		return errors.New("email.password: set without email.username")
	case len(c.To) == 0:
		return errors.New("email.to: no recipients")
	}
	if _, err := mail.ParseAddress(c.From); err != nil || strings.ContainsAny(c.From, "\r\n") {
		return fmt.Errorf("email.from: %q is not an address", c.From)
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil || strings.ContainsAny(to, "\r\n") {
			return fmt.Errorf("email.to[%d]: %q is not an address", i, to)
		}
	}
	return nil
}

// Email sends one plain-text message per alert over SMTP.
type Email struct {
	cfg EmailConfig
	tls *tls.Config
	now func() time.Time
}

// NewEmail returns an email destination. tlsConfig nil verifies the
// server's certificate against the system roots for cfg.Host; tests pass
// their own roots.
func NewEmail(cfg EmailConfig, tlsConfig *tls.Config) (*Email, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		tlsConfig = tlsConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = cfg.Host
	}
	return &Email{cfg: cfg, tls: tlsConfig, now: time.Now}, nil
}

// Send implements Destination. The whole SMTP exchange is bounded by ctx.
func (e *Email) Send(ctx context.Context, a *alert.Alert, doc []byte) error {
	addr := net.JoinHostPort(e.cfg.Host, strconv.Itoa(e.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if e.cfg.TLS == TLSImplicit {
		conn = tls.Client(conn, e.tls)
	}
	if err := e.send(conn, a, doc); err != nil {
		_ = conn.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("sending alert email via %s: %w", addr, ctx.Err())
		}
		return fmt.Errorf("sending alert email via %s: %w", addr, err)
	}
	return nil
}

func (e *Email) send(conn net.Conn, a *alert.Alert, doc []byte) error {
	c, err := smtp.NewClient(conn, e.cfg.Host)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }() // Quit below reports the errors that matter
	if e.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return Permanent(errors.New("server does not offer STARTTLS (set email.tls to none to send in clear text)"))
		}
		if err := c.StartTLS(e.tls); err != nil {
			return err
		}
	}
	if e.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.cfg.Username, string(e.cfg.Password), e.cfg.Host)); err != nil {
			return smtpErr(err)
		}
	}
	if err := c.Mail(e.cfg.From); err != nil {
		return smtpErr(err)
	}
	for _, to := range e.cfg.To {
		if err := c.Rcpt(to); err != nil {
			return smtpErr(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(err)
	}
	if _, err := w.Write(e.message(a, doc)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return smtpErr(err)
	}
	return c.Quit()
}

// smtpErr marks 5xx replies (permanent failures in SMTP) permanent.
func smtpErr(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return Permanent(err)
	}
	return err
}

// headerSafe removes line breaks so no value can add a header.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// message renders the alert as an RFC 5322 message: a short summary, the
// key fields and the alert document, quoted-printable.
func (e *Email) message(a *alert.Alert, doc []byte) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", e.cfg.From)
	h("To", strings.Join(e.cfg.To, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", headerSafe("[Vigil] "+Summary(a))))
	h("Date", e.now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+a.ID+"@vigil.alert>")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	fmt.Fprintf(qp, "%s\r\n\r\n", Summary(a))
	fmt.Fprintf(qp, "Rule:       %s (%s)\r\n", a.RuleTitle, a.RuleID)
	fmt.Fprintf(qp, "Level:      %s\r\n", a.Level)
	fmt.Fprintf(qp, "Count:      %d\r\n", a.Count)
	fmt.Fprintf(qp, "First seen: %s\r\n", a.FirstSeen.UTC().Format(time.RFC3339))
	fmt.Fprintf(qp, "Last seen:  %s\r\n", a.LastSeen.UTC().Format(time.RFC3339))
	fmt.Fprintf(qp, "Alert id:   %s\r\n\r\n", a.ID)
	for _, kv := range []map[string]string{a.GroupBy, a.KeyFields} {
		for _, k := range sortedKeys(kv) {
			fmt.Fprintf(qp, "%s: %s\r\n", k, kv[k])
		}
	}
	fmt.Fprintf(qp, "\r\n%s\r\n", doc)
	_ = qp.Close()
	return b.Bytes()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
