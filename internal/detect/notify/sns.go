package notify

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/vigil-siem/vigil/internal/detect/alert"
)

// snsAPI is the part of Amazon SNS the SNS destination uses. The adapter
// over the AWS SDK (with the per-call timeout and error wrapping) comes
// with the AWS sources; tests use a fake.
type snsAPI interface {
	Publish(ctx context.Context, topicArn, subject, message string) error
}

// SNSConfig configures an Amazon SNS destination.
type SNSConfig struct {
	// TopicARN is the topic alerts are published to.
	TopicARN string
}

var topicARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// Validate checks the configuration; errors name the field and value.
func (c *SNSConfig) Validate() error {
	if !topicARN.MatchString(c.TopicARN) {
		return fmt.Errorf("sns.topic_arn: %q is not an SNS topic ARN", c.TopicARN)
	}
	return nil
}

// SNS publishes each alert's JSON document to a topic, with Summary as the
// subject (email subscribers see it).
type SNS struct {
	cfg SNSConfig
	api snsAPI
}

// NewSNS returns an SNS destination publishing through api.
func NewSNS(cfg SNSConfig, api snsAPI) (*SNS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if api == nil {
		return nil, fmt.Errorf("sns: no SNS client")
	}
	return &SNS{cfg: cfg, api: api}, nil
}

// snsSubject makes s a valid SNS subject: ASCII, no control characters,
// at most 100 characters.
func snsSubject(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 100 {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Send implements Destination.
func (s *SNS) Send(ctx context.Context, a *alert.Alert, doc []byte) error {
	if err := s.api.Publish(ctx, s.cfg.TopicARN, snsSubject(Summary(a)), string(doc)); err != nil {
		return fmt.Errorf("publishing alert to %s: %w", s.cfg.TopicARN, err)
	}
	return nil
}
