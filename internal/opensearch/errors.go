package opensearch

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound matches (errors.Is) a StatusError for HTTP 404.
var ErrNotFound = errors.New("not found")

// StatusError is an answer with a status other than 2xx. Its message names
// the request and OpenSearch's error type and reason; it never holds
// credentials.
type StatusError struct {
	Method, Path string
	StatusCode   int
	// Type and Reason come from OpenSearch's error object when the body has
	// one ("resource_already_exists_exception", "...").
	Type, Reason string
	// Body is the start of the answer's body, for messages.
	Body string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	switch {
	case e.Type != "" && e.Reason != "":
		msg += ": " + e.Type + ": " + e.Reason
	case e.Type != "":
		msg += ": " + e.Type
	case e.Reason != "":
		msg += ": " + e.Reason
	case e.Body != "":
		msg += ": " + e.Body
	}
	return msg
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *StatusError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// Retryable reports whether sending the same request later may succeed:
// 429 (too many requests) and 5xx.
func (e *StatusError) Retryable() bool { return RetryableStatus(e.StatusCode) }

// RetryableStatus reports whether a request or bulk item answered with
// status may succeed when sent again: 429 and every 5xx.
func RetryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// TransportError is a request that got no HTTP answer: refused or reset
// connection, TLS failure, timeout. Sending it again may succeed.
type TransportError struct {
	Method, Path string
	Err          error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Method, e.Path, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// errorBody is the error object of an OpenSearch answer.
type errorBody struct {
	Error json.RawMessage `json:"error"`
}

type errorCause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// newStatusError builds the error for a non-2xx answer.
func newStatusError(method, path string, r *Response) *StatusError {
	e := &StatusError{Method: method, Path: path, StatusCode: r.StatusCode, RetryAfter: r.RetryAfter()}
	var eb errorBody
	if json.Unmarshal(r.Body, &eb) == nil && len(eb.Error) > 0 {
		var c errorCause
		if json.Unmarshal(eb.Error, &c) == nil {
			e.Type, e.Reason = c.Type, c.Reason
		} else {
			var s string
			if json.Unmarshal(eb.Error, &s) == nil {
				e.Reason = s
			}
		}
	}
	if e.Type == "" && e.Reason == "" {
		e.Body = Truncate(string(r.Body), 300)
	}
	return e
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date. It returns zero when the header is absent or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Truncate shortens s to at most n bytes (on a rune boundary), marking the
// cut with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i < len(s) && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
