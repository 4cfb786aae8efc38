package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// DefaultAddr is where the console listens when Options.Addr is empty: the
// loopback interface only, so nothing is exposed without a decision.
const DefaultAddr = "127.0.0.1:8080"

// DefaultQueryTimeout bounds one store call when Options.QueryTimeout is 0.
const DefaultQueryTimeout = 30 * time.Second

// DefaultAlertLogType is the log type of the alert documents the alert
// pipeline writes to the store (the "alerts" index).
const DefaultAlertLogType = "alert"

// MinTokenLen is the shortest AuthToken accepted: a guessable token
// protects nothing.
const MinTokenLen = 16

// Options configures a Server. The zero value serves on DefaultAddr without
// authentication.
type Options struct {
	// Addr is the host:port to listen on; empty means DefaultAddr. Any
	// address other than a loopback one (127.0.0.0/8, ::1, localhost)
	// requires AuthToken or BasicUser/BasicPass.
	Addr string
	// AuthToken, when set, is accepted as "Authorization: Bearer <token>"
	// on every API call. At least 16 characters.
	AuthToken string
	// BasicUser and BasicPass, when set, are accepted as HTTP Basic
	// credentials on every request (the browser asks for them once).
	BasicUser, BasicPass string
	// ReadOnly says the store is open read-only: endpoints that change
	// state answer 403 and the console hides their controls.
	ReadOnly bool
	// Version is the Vigil version shown by the console and /api/health.
	Version string
	// QueryTimeout bounds each store call; 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// AlertLogType is the log type of alert documents listed by
	// /api/alerts; empty means DefaultAlertLogType.
	AlertLogType string
	// Alerts, when set, lets /api/alerts/{id}/status change an alert's
	// status; nil makes that endpoint answer 501.
	Alerts AlertUpdater
}

// AlertUpdater changes the status of a stored alert. The alert pipeline
// provides it; its methods must be safe for concurrent use.
type AlertUpdater interface {
	// SetAlertStatus sets the alert's status ("open" or "acknowledged").
	// It returns store.ErrNotFound when no alert has the id.
	SetAlertStatus(ctx context.Context, id, status string) error
}

// Validate checks the options and says what to change when they are
// unsafe or malformed: a non-loopback address without credentials, half of
// a Basic pair, a short token, a bad port.
func (o Options) Validate() error {
	addr := o.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("web: Addr %q is not host:port: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("web: Addr %q: port %q is not a number from 0 to 65535", addr, port)
	}
	if (o.BasicUser == "") != (o.BasicPass == "") {
		return errors.New("web: BasicUser and BasicPass must be set together (one of them is empty)")
	}
	if strings.ContainsRune(o.BasicUser, ':') {
		return errors.New("web: BasicUser must not contain ':'")
	}
	if o.AuthToken != "" && len(o.AuthToken) < MinTokenLen {
		return fmt.Errorf("web: AuthToken is %d characters; use at least %d random characters", len(o.AuthToken), MinTokenLen)
	}
	if o.QueryTimeout < 0 {
		return fmt.Errorf("web: QueryTimeout %s is negative", o.QueryTimeout)
	}
	if !isLoopbackHost(host) && !o.hasAuth() {
		shown := host
		if shown == "" {
			shown = "every interface"
		}
		return fmt.Errorf("web: Addr %q listens on %s, which exposes the logs to the network without authentication: set an auth token or Basic credentials, or listen on 127.0.0.1", addr, shown)
	}
	return nil
}

// hasAuth says whether any credential is configured.
func (o Options) hasAuth() bool {
	return o.AuthToken != "" || o.BasicUser != ""
}

// withDefaults fills the empty fields with their defaults.
func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.QueryTimeout == 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.AlertLogType == "" {
		o.AlertLogType = DefaultAlertLogType
	}
	return o
}

// isLoopbackHost says whether host (no port) names only the loopback
// interface. An empty host means every interface.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
