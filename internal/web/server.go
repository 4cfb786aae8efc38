package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-siem/vigil/internal/store"
)

// contentSecurityPolicy allows only the console's own files: no inline
// script or style, no other origin, no framing. Charts draw on canvas;
// the map's data is fetched from the same origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// shutdownTimeout is how long Serve waits for requests in flight once its
// context is cancelled.
const shutdownTimeout = 10 * time.Second

// Server is the HTTP API and console over one store. It implements
// http.Handler, so it can be mounted in another server or run with Serve.
// It holds no per-request state and is safe for concurrent use.
type Server struct {
	st         store.Store
	opts       Options
	log        *slog.Logger
	handler    http.Handler
	assets     *assetSet
	dashboards []Dashboard
	started    time.Time
}

// New builds a Server over st. It validates opts (see Options.Validate)
// and prepares the embedded console files; it does not listen.
func New(st store.Store, opts Options, logger *slog.Logger) (*Server, error) {
	if st == nil {
		return nil, errors.New("web: no store given")
	}
	if logger == nil {
		return nil, errors.New("web: no logger given")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, fmt.Errorf("web: preparing the console files: %w", err)
	}
	s := &Server{
		st:         st,
		opts:       opts.withDefaults(),
		log:        logger,
		assets:     assets,
		dashboards: Dashboards(),
		started:    time.Now(),
	}
	s.handler = s.routes()
	return s, nil
}

// Addr is the address the options ask to listen on (DefaultAddr when they
// leave it empty).
func (s *Server) Addr() string { return s.opts.Addr }

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// ListenAndServe listens on the configured address and serves until ctx is
// cancelled (see Serve).
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("web: listening on %s: %w", s.opts.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve answers requests on ln until ctx is cancelled, then stops
// accepting, lets requests in flight finish (up to 10 s) and returns nil.
// It closes ln. Any other failure of the listener is returned.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.opts.QueryTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info("console listening", slog.String("addr", ln.Addr().String()), slog.Bool("read_only", s.opts.ReadOnly), slog.Bool("auth", s.opts.hasAuth()))
	// The group holds the serving goroutine and the one that shuts it down
	// when ctx ends; both stop once srv.Shutdown has run.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("web: serving on %s: %w", ln.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			// Requests still running after the grace period are cut.
			_ = srv.Close()
			return fmt.Errorf("web: shutting down: %w", err)
		}
		return nil
	})
	err := g.Wait()
	s.log.Info("console stopped", slog.String("addr", ln.Addr().String()))
	return err
}

// routes builds the handler chain: panic recovery, security headers, the
// Host check, authentication, then the routes.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /assets/{path...}", s.handleAsset)
	mux.HandleFunc("GET /favicon.ico", s.handleFavicon)

	mux.HandleFunc("GET /api/health", s.handleHealth)
	mux.HandleFunc("GET /api/search", s.handleSearch)
	mux.HandleFunc("POST /api/search", s.handleSearch)
	mux.HandleFunc("GET /api/aggregate", s.handleAggregate)
	mux.HandleFunc("POST /api/aggregate", s.handleAggregate)
	mux.HandleFunc("GET /api/docs/{id}", s.handleDoc)
	mux.HandleFunc("GET /api/fields", s.handleFields)
	mux.HandleFunc("GET /api/indices", s.handleIndices)
	mux.HandleFunc("GET /api/dashboards", s.handleDashboards)
	mux.HandleFunc("GET /api/dashboards/{id}", s.handleDashboard)
	mux.HandleFunc("GET /api/dashboards/{id}/panels/{panel}", s.handlePanel)
	mux.HandleFunc("GET /api/alerts", s.handleAlerts)
	mux.HandleFunc("POST /api/alerts/{id}/status", s.handleAlertStatus)
	mux.HandleFunc("/api/", s.handleAPINotFound)
	return s.recoverPanics(s.secureHeaders(s.checkHost(s.authenticate(mux))))
}

// recoverPanics turns a panic in a handler into a logged 500 so one bad
// request never takes the server down.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { //nolint:errorlint // a sentinel panic value, never wrapped
					panic(v)
				}
				s.log.Error("handler panicked", slog.String("path", r.URL.Path), slog.Any("panic", v))
				writeError(w, http.StatusInternalServerError, "internal error (see the server log)")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// secureHeaders sets the headers every response carries.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		next.ServeHTTP(w, r)
	})
}

// checkHost refuses requests whose Host header is not a loopback name when
// the server runs without credentials: a web page the user visits could
// otherwise point its own host name at 127.0.0.1 (DNS rebinding) and read
// the logs through the user's browser.
func (s *Server) checkHost(next http.Handler) http.Handler {
	if s.opts.hasAuth() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host != "" && !isLoopbackHost(host) {
			writeError(w, http.StatusMisdirectedRequest, fmt.Sprintf("host %q is not served: without credentials the console answers only to localhost or a loopback address", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate enforces the configured credentials. With Basic credentials
// every request needs them (the browser asks once); with a token only the
// API does, since the console's files hold no data and the console sends
// the token itself. /api/health stays open for load balancer checks.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if !s.opts.hasAuth() {
		return next
	}
	tokenSum := sha256.Sum256([]byte(s.opts.AuthToken))
	userSum := sha256.Sum256([]byte(s.opts.BasicUser))
	passSum := sha256.Sum256([]byte(s.opts.BasicPass))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if r.URL.Path == "/api/health" || (!api && s.opts.BasicUser == "") {
			next.ServeHTTP(w, r)
			return
		}
		if s.opts.AuthToken != "" {
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
				if subtle.ConstantTimeCompare(got[:], tokenSum[:]) == 1 {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		if s.opts.BasicUser != "" {
			if u, p, ok := r.BasicAuth(); ok {
				gu, gp := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
				// Both comparisons always run, so the time taken does not
				// say which part was wrong.
				okUser := subtle.ConstantTimeCompare(gu[:], userSum[:])
				okPass := subtle.ConstantTimeCompare(gp[:], passSum[:])
				if okUser&okPass == 1 {
					next.ServeHTTP(w, r)
					return
				}
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="Vigil", charset="UTF-8"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="Vigil"`)
		}
		writeError(w, http.StatusUnauthorized, "authentication required")
	})
}
