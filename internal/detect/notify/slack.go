package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
)

// SlackConfig configures a Slack incoming webhook destination.
type SlackConfig struct {
	// URL is the incoming webhook URL; it carries the token, so it is a
	// Secret.
	URL Secret
}

// Validate checks the configuration without quoting the URL.
func (c *SlackConfig) Validate() error { return validateURL("slack.url", string(c.URL), true) }

// Slack posts a concise message per alert to an incoming webhook.
type Slack struct {
	cfg    SlackConfig
	client *http.Client
}

// NewSlack returns a Slack destination; client nil means
// http.DefaultClient.
func NewSlack(cfg SlackConfig, client *http.Client) (*Slack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Slack{cfg: cfg, client: client}, nil
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type   string      `json:"type"`
	Text   *slackText  `json:"text,omitempty"`
	Fields []slackText `json:"fields,omitempty"`
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Summary is the one-line text of an alert used by Slack, SNS subjects and
// email subjects: "[HIGH] <title> (<count> matches)".
func Summary(a *alert.Alert) string {
	title := a.RuleTitle
	if title == "" {
		title = a.RuleID
	}
	s := "[" + strings.ToUpper(a.Level) + "] " + title
	if a.Count > 1 {
		s += " (" + strconv.Itoa(a.Count) + " matches)"
	}
	return s
}

// slackMessageOf renders an alert: a fallback text, a header section and
// up to 10 fields (Slack's limit per section).
func slackMessageOf(a *alert.Alert) slackMessage {
	f := func(k, v string) slackText {
		return slackText{Type: "mrkdwn", Text: "*" + slackEscape(k) + "*\n" + slackEscape(v)}
	}
	fields := []slackText{
		f("Level", a.Level),
		f("Count", strconv.Itoa(a.Count)),
		f("First seen", a.FirstSeen.UTC().Format(time.RFC3339)),
		f("Last seen", a.LastSeen.UTC().Format(time.RFC3339)),
		f("Rule", a.RuleID),
	}
	if t := a.Threat.TechniqueIDs; len(t) > 0 {
		fields = append(fields, f("ATT&CK", strings.Join(append(append([]string(nil), a.Threat.SubtechniqueIDs...), t...), ", ")))
	}
	kv := a.GroupBy
	if len(kv) == 0 {
		kv = a.KeyFields
	}
	for _, k := range sortedKeys(kv) {
		if len(fields) == 10 {
			break
		}
		fields = append(fields, f(k, kv[k]))
	}
	text := Summary(a)
	return slackMessage{
		Text: slackEscape(text),
		Blocks: []slackBlock{
			{Type: "section", Text: &slackText{Type: "mrkdwn", Text: "*" + slackEscape(text) + "*\nalert `" + a.ID + "`"}},
			{Type: "section", Fields: fields},
		},
	}
}

// Send implements Destination.
func (s *Slack) Send(ctx context.Context, a *alert.Alert, _ []byte) error {
	body, err := json.Marshal(slackMessageOf(a))
	if err != nil {
		return Permanent(fmt.Errorf("encoding slack message: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, string(s.cfg.URL), bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("slack request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		// The error text of net/http quotes the URL, which holds the token.
		return fmt.Errorf("posting alert to slack: %w", redactURLError(err))
	}
	if err := checkResponse(resp); err != nil {
		return fmt.Errorf("posting alert to slack: %w", err)
	}
	return nil
}
