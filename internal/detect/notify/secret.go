package notify

import (
	"log/slog"
)

// Secret is a configuration value that must not appear in logs, errors or
// encoded configuration: it formats, logs and marshals as "[redacted]".
// Convert it with string(s) where the value is needed.
type Secret string

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler (JSON, YAML encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// UnmarshalText implements encoding.TextUnmarshaler, so configuration
// files decode into a Secret as into a string.
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }
