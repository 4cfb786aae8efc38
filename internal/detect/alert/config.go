package alert

import (
	"errors"
	"fmt"
	"time"
)

// Config configures a Processor. The zero value is usable: Validate fills
// the defaults.
type Config struct {
	// DedupWindow is the dedup window of rules without their own.
	// Default 1h.
	DedupWindow time.Duration
	// Lateness is how long, in event time, the state of a window is kept
	// after the window ends, so that late matches still update its alert
	// (and the state of an alert created late, after its creation).
	// Default 10m.
	Lateness time.Duration
	// MaxOpen caps the alerts kept in the state; when a new alert would
	// exceed it, the least recently updated one is evicted. Default 10000.
	MaxOpen int
	// MaxDocIDs caps the document ids kept per alert (the rest are only
	// counted). Default 20.
	MaxDocIDs int
	// MaxSuppressFields caps the fields of one suppression. Default 3.
	MaxSuppressFields int
	// Rules holds per-rule settings by rule id (sigma.Rule.Ref()).
	Rules map[string]RuleConfig
	// Suppressions apply to every rule, or to the one named in RuleID.
	Suppressions []Suppression
}

// RuleConfig holds the alert settings of one rule.
type RuleConfig struct {
	// DedupFields are the fields whose values form the dedup key. Empty:
	// the correlation's group-by fields, else the rule's `fields`, else
	// none (one alert per rule and window).
	DedupFields []string
	// DedupWindow overrides Config.DedupWindow when positive.
	DedupWindow time.Duration
	// Suppressions apply to this rule only (their RuleID is ignored).
	Suppressions []Suppression
}

// Suppression silences the matches whose field values equal all of Fields
// during [Start, Start+Duration) in event time: "suppress rule X for
// source.ip=1.2.3.4 for 24h from 2025-06-01T00:00Z".
type Suppression struct {
	// RuleID limits a global suppression to one rule; empty means every
	// rule. Ignored in RuleConfig.Suppressions.
	RuleID string
	// Fields maps field names to the values to suppress (1 to
	// Config.MaxSuppressFields of them); a field missing from the match
	// compares as "".
	Fields   map[string]string
	Start    time.Time
	Duration time.Duration
	// Reason is reported with each suppressed match (for operators).
	Reason string
}

// End returns the end of the suppression period.
func (s Suppression) End() time.Time { return s.Start.Add(s.Duration) }

func (s Suppression) active(t time.Time) bool {
	return !t.Before(s.Start) && t.Before(s.End())
}

func (s Suppression) validate(field string, maxFields int) error {
	switch {
	case len(s.Fields) == 0:
		return fmt.Errorf("%s.fields: empty; a suppression needs at least one field", field)
	case len(s.Fields) > maxFields:
		return fmt.Errorf("%s.fields: %d fields, at most %d", field, len(s.Fields), maxFields)
	case s.Start.IsZero():
		return fmt.Errorf("%s.start: missing", field)
	case s.Duration <= 0:
		return fmt.Errorf("%s.duration: %v, must be positive", field, s.Duration)
	}
	for k := range s.Fields {
		if k == "" {
			return fmt.Errorf("%s.fields: empty field name", field)
		}
	}
	return nil
}

// Validate fills the defaults and checks every field; the error names the
// field and the bad value.
func (c *Config) Validate() error {
	if c.DedupWindow == 0 {
		c.DedupWindow = time.Hour
	}
	if c.Lateness == 0 {
		c.Lateness = 10 * time.Minute
	}
	if c.MaxOpen == 0 {
		c.MaxOpen = 10000
	}
	if c.MaxDocIDs == 0 {
		c.MaxDocIDs = 20
	}
	if c.MaxSuppressFields == 0 {
		c.MaxSuppressFields = 3
	}
	var errs []error
	if c.DedupWindow < 0 {
		errs = append(errs, fmt.Errorf("alert.dedup_window: %v, must be positive", c.DedupWindow))
	}
	if c.Lateness < 0 {
		errs = append(errs, fmt.Errorf("alert.lateness: %v, must not be negative", c.Lateness))
	}
	if c.MaxOpen < 0 {
		errs = append(errs, fmt.Errorf("alert.max_open: %d, must be positive", c.MaxOpen))
	}
	if c.MaxDocIDs < 0 {
		errs = append(errs, fmt.Errorf("alert.max_doc_ids: %d, must be positive", c.MaxDocIDs))
	}
	if c.MaxSuppressFields < 0 {
		errs = append(errs, fmt.Errorf("alert.max_suppress_fields: %d, must be positive", c.MaxSuppressFields))
	}
	for id, r := range c.Rules {
		if id == "" {
			errs = append(errs, errors.New("alert.rules: empty rule id"))
		}
		if r.DedupWindow < 0 {
			errs = append(errs, fmt.Errorf("alert.rules[%q].dedup_window: %v, must be positive", id, r.DedupWindow))
		}
		for i, f := range r.DedupFields {
			if f == "" {
				errs = append(errs, fmt.Errorf("alert.rules[%q].dedup_fields[%d]: empty field name", id, i))
			}
		}
		for i, s := range r.Suppressions {
			if err := s.validate(fmt.Sprintf("alert.rules[%q].suppressions[%d]", id, i), c.MaxSuppressFields); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for i, s := range c.Suppressions {
		if err := s.validate(fmt.Sprintf("alert.suppressions[%d]", i), c.MaxSuppressFields); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
