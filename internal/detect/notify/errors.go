package notify

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PermanentError marks a delivery error that retrying cannot fix (a
// rejected request, an invalid message): the Dispatcher gives up on the
// alert at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// StatusError is an HTTP response other than 2xx.
type StatusError struct {
	Code int
	// RetryAfter is the server's Retry-After (seconds form), 0 when absent.
	RetryAfter time.Duration
	// Body is the start of the response body (at most 256 bytes).
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %q", e.Code, http.StatusText(e.Code), e.Body)
}

// Temporary reports whether the status is worth retrying: 408, 425, 429
// and 5xx.
func (e *StatusError) Temporary() bool {
	return e.Code == 408 || e.Code == 425 || e.Code == 429 || e.Code >= 500
}

// isPermanent reports whether err should not be retried.
func isPermanent(err error) bool {
	var p *PermanentError
	if errors.As(err, &p) {
		return true
	}
	var s *StatusError
	return errors.As(err, &s) && !s.Temporary()
}

// retryAfter returns the delay a server asked for, if any.
func retryAfter(err error) time.Duration {
	var s *StatusError
	if errors.As(err, &s) {
		return s.RetryAfter
	}
	return 0
}

// checkResponse turns a non-2xx response into a *StatusError and drains
// the body so the connection can be reused.
func checkResponse(resp *http.Response) error {
	defer func() { _ = resp.Body.Close() }() // a read-only body
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	e := &StatusError{Code: resp.StatusCode, Body: string(b)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// redactURLError hides the URL net/http quotes in its errors (a Slack
// webhook URL carries its token).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redacted, Err: ue.Err}
	}
	return err
}
