package notify

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
)

// Config configures a Dispatcher.
type Config struct {
	// Dir holds one queue directory per destination. Required.
	Dir string
	// MaxQueue caps the alerts waiting per destination; beyond it the
	// oldest is dropped. Default 10000.
	MaxQueue int
	// SegmentBytes is the size at which a queue starts a new segment file.
	// Default 4 MiB.
	SegmentBytes int64
	// Fsync makes Enqueue and acknowledgements fsync their writes, so a
	// power loss (not just a crash) loses nothing. Default off: the alerts
	// are also in the alerts index.
	Fsync bool
	// Destinations lists the destinations; names are unique.
	Destinations []DestinationConfig
}

// Validate fills the defaults and checks every field, destinations
// included; errors name the field and the bad value.
func (c *Config) Validate() error {
	if c.MaxQueue == 0 {
		c.MaxQueue = 10000
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = 4 << 20
	}
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("notify.dir: missing"))
	}
	if c.MaxQueue < 0 {
		errs = append(errs, fmt.Errorf("notify.max_queue: %d, must be positive", c.MaxQueue))
	}
	if c.SegmentBytes < 0 {
		errs = append(errs, fmt.Errorf("notify.segment_bytes: %d, must be positive", c.SegmentBytes))
	}
	seen := map[string]bool{}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		if err := d.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("notify.destinations[%d]: %w", i, err))
		}
		if seen[d.Name] {
			errs = append(errs, fmt.Errorf("notify.destinations[%d].name: %q used twice", i, d.Name))
		}
		seen[d.Name] = true
	}
	return errors.Join(errs...)
}

// The destination types.
const (
	TypeWebhook = "webhook"
	TypeSlack   = "slack"
	TypeSNS     = "sns"
	TypeEmail   = "email"
)

// DestinationConfig configures one destination: its delivery settings and
// the settings of its type (exactly the one named by Type).
type DestinationConfig struct {
	// Name identifies the destination in logs and names its queue
	// directory: lower-case letters, digits, '-' and '_', at most 64.
	Name string
	// Type is TypeWebhook, TypeSlack, TypeSNS or TypeEmail.
	Type string
	// MinLevel skips alerts below this Sigma level ("" sends all).
	MinLevel string
	// RatePerMinute limits the messages sent (0: unlimited); Burst is the
	// number that may go at once (default 10 when a rate is set).
	RatePerMinute float64
	Burst         int
	// Timeout bounds each delivery attempt. Default 10s.
	Timeout time.Duration
	// InitialBackoff (default 1s) doubles after each failed attempt up to
	// MaxBackoff (default 5m); each wait is drawn between half and all of
	// it (jitter).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration

	Webhook *WebhookConfig
	Slack   *SlackConfig
	SNS     *SNSConfig
	Email   *EmailConfig
}

var destName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate fills the defaults and checks the configuration.
func (c *DestinationConfig) Validate() error {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.InitialBackoff == 0 {
		c.InitialBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.RatePerMinute > 0 && c.Burst == 0 {
		c.Burst = 10
	}
	switch {
	case !destName.MatchString(c.Name):
		return fmt.Errorf("name: %q, want [a-z0-9][a-z0-9_-]{0,63}", c.Name)
	case c.MinLevel != "":
		if _, ok := alert.LevelRank(c.MinLevel); !ok {
			return fmt.Errorf("min_level: %q is not a Sigma level", c.MinLevel)
		}
	}
	switch {
	case c.RatePerMinute < 0:
		return fmt.Errorf("rate_per_minute: %v, must not be negative", c.RatePerMinute)
	case c.Burst < 0:
		return fmt.Errorf("burst: %d, must not be negative", c.Burst)
	case c.Timeout < 0:
		return fmt.Errorf("timeout: %v, must be positive", c.Timeout)
	case c.InitialBackoff < 0:
		return fmt.Errorf("initial_backoff: %v, must be positive", c.InitialBackoff)
	case c.MaxBackoff < c.InitialBackoff:
		return fmt.Errorf("max_backoff: %v, less than initial_backoff %v", c.MaxBackoff, c.InitialBackoff)
	}
	set := 0
	for _, p := range []bool{c.Webhook != nil, c.Slack != nil, c.SNS != nil, c.Email != nil} {
		if p {
			set++
		}
	}
	if set > 1 {
		return fmt.Errorf("type %q: settings of %d types given, want only the %s section", c.Type, set, c.Type)
	}
	switch c.Type {
	case TypeWebhook:
		if c.Webhook == nil {
			return errors.New("webhook: section missing")
		}
		return c.Webhook.Validate()
	case TypeSlack:
		if c.Slack == nil {
			return errors.New("slack: section missing")
		}
		return c.Slack.Validate()
	case TypeSNS:
		if c.SNS == nil {
			return errors.New("sns: section missing")
		}
		return c.SNS.Validate()
	case TypeEmail:
		if c.Email == nil {
			return errors.New("email: section missing")
		}
		return c.Email.Validate()
	}
	return fmt.Errorf("type: %q, want webhook, slack, sns or email", c.Type)
}

// Deps holds what destinations need besides their configuration.
type Deps struct {
	// HTTPClient is used by webhook and Slack destinations (nil:
	// http.DefaultClient).
	HTTPClient *http.Client
	// SNS publishes for SNS destinations (the AWS SDK adapter).
	SNS snsAPI
	// TLS overrides the TLS settings of email destinations (tests).
	TLS *tls.Config
}

// NewDestination builds the destination c describes.
func NewDestination(c DestinationConfig, deps Deps) (Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("destination %q: %w", c.Name, err)
	}
	switch c.Type {
	case TypeWebhook:
		return NewWebhook(*c.Webhook, deps.HTTPClient)
	case TypeSlack:
		return NewSlack(*c.Slack, deps.HTTPClient)
	case TypeSNS:
		return NewSNS(*c.SNS, deps.SNS)
	default:
		return NewEmail(*c.Email, deps.TLS)
	}
}
