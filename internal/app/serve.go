package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/codec"
	"github.com/vigil-siem/vigil/internal/detect/alert"
	"github.com/vigil-siem/vigil/internal/detect/notify"
	"github.com/vigil-siem/vigil/internal/detect/stage"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/sink/ndjson"
	ossink "github.com/vigil-siem/vigil/internal/sink/opensearch"
	storesink "github.com/vigil-siem/vigil/internal/sink/store"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/web"
)

const serveUsage = `usage: vigil serve [flags]

Serves the web console and the HTTP API (docs/api.md) over the embedded
store. The store stays open for writing while the server runs: other Vigil
commands that need it say so and name this process.

flags:
  --data-dir DIR       the store's directory (default ./vigil-data)
  --addr HOST:PORT     where to listen (default 127.0.0.1:8080); any address
                       other than loopback needs --auth-token or --basic-auth
  --auth-token TOKEN   require "Authorization: Bearer TOKEN" (or env
                       VIGIL_AUTH_TOKEN)
  --basic-auth U:P     require HTTP basic authentication (or env
                       VIGIL_BASIC_AUTH)
  --watch DIR          load the log files under DIR (repeatable), then keep
                       watching it: new and changed files are loaded once
                       they stop growing. Keys are detected as for vigil load.
  --rules PATH         run these Sigma rules on what is loaded (repeatable);
                       they are reloaded when a rule file changes and on
                       SIGHUP, and an invalid rule is reported while the
                       others keep running
  --sink SPEC          where the watched files go: the store being served
                       (default), or opensearch:URL / ndjson:FILE as for
                       vigil load (the console then shows what the store
                       already holds)
  --state-dir DIR      correlation windows and open alerts across restarts
                       (default DATA-DIR/detect-state)
  --notify FILE        send new alerts to the destinations FILE lists
                       (docs/alerts.md); needs --rules. Default
                       $VIGIL_NOTIFY when --rules is given. Queued alerts
                       are kept in DATA-DIR/notify unless FILE names a dir
  --geoip-city FILE, --geoip-asn FILE
                       GeoIP enrichment of what is loaded (see vigil help load)
`

// serveOptions are the flags shared by serve and demo.
type serveOptions struct {
	dataDir   string
	addr      string
	authToken string
	basicAuth string
}

// ingestOptions are serve's flags for loading while it serves.
type ingestOptions struct {
	watch     multiFlag
	rules     multiFlag
	sink      string
	stateDir  string
	notify    string
	geoipCity string
	geoipASN  string
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.dataDir, "data-dir", defaultDataDir, "")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "")
	fs.StringVar(&o.authToken, "auth-token", os.Getenv(envAuthToken), "")
	fs.StringVar(&o.basicAuth, "basic-auth", os.Getenv(envBasicAuth), "")
}

// webOptions turns the flags into the web server's options.
func (o *serveOptions) webOptions() (web.Options, error) {
	wo := web.Options{Addr: o.addr, AuthToken: o.authToken, Version: Version}
	// Checked here, before web.Options.Validate, so that the message
	// names the flag.
	if n := len(o.authToken); n > 0 && n < web.MinTokenLen {
		return wo, fmt.Errorf("--auth-token (or VIGIL_AUTH_TOKEN) is %d characters; use at least %d random characters", n, web.MinTokenLen)
	}
	if o.basicAuth != "" {
		u, p, ok := strings.Cut(o.basicAuth, ":")
		if !ok || u == "" || p == "" {
			return wo, errors.New("--basic-auth must be USER:PASSWORD")
		}
		wo.BasicUser, wo.BasicPass = u, p
	}
	return wo, wo.Validate()
}

func runServe(ctx context.Context, env *Env, args []string) int {
	var o serveOptions
	var in ingestOptions
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.register(fs)
	fs.Var(&in.watch, "watch", "")
	fs.Var(&in.rules, "rules", "")
	fs.StringVar(&in.sink, "sink", "", "")
	fs.StringVar(&in.stateDir, "state-dir", "", "")
	fs.StringVar(&in.notify, "notify", "", "")
	fs.StringVar(&in.geoipCity, "geoip-city", geoipDefault("GeoLite2-City.mmdb"), "")
	fs.StringVar(&in.geoipASN, "geoip-asn", geoipDefault("GeoLite2-ASN.mmdb"), "")
	pos, err := parseInterleaved(fs, args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, serveUsage)
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "vigil serve: %v\n\n%s", err, serveUsage)
		return ExitUsage
	}
	wo, err := o.webOptions()
	if err == nil {
		err = checkWatch(in.watch)
	}
	if err == nil && len(in.watch) > 0 {
		err = checkGeoIPDir(in.geoipCity, in.geoipASN)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil serve: %v\n", err)
		return ExitUsage
	}
	nc, err := notifyConfig(in.notify, true, len(in.rules) > 0, filepath.Join(o.dataDir, "notify"))
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil serve: %v\n", err)
		return ExitUsage
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil serve: %v\n", err)
		return ExitFailure
	}
	logger := newLogger(env.Stderr)
	url := "http://" + ln.Addr().String()
	st, err := openStore(ctx, o.dataDir, false, url, logger)
	if err != nil {
		_ = ln.Close() // nothing was served yet
		fmt.Fprintf(env.Stderr, "vigil serve: %v\n", err)
		return ExitFailure
	}
	if len(in.watch) == 0 {
		switch {
		case nc != nil:
			fmt.Fprintln(env.Stderr, "vigil serve: --rules and --notify have nothing to run on without --watch; alerts come from what is loaded")
		case len(in.rules) > 0:
			fmt.Fprintln(env.Stderr, "vigil serve: --rules has nothing to run on without --watch; alerts come from what is loaded")
		}
		return serveStore(ctx, env, "vigil serve", st, ln, wo)
	}
	return serveAndWatch(ctx, env, o, in, nc, st, ln, wo)
}

// checkWatch makes sure every --watch path exists: a missing one would
// only be reported, every few seconds, once the server runs.
func checkWatch(paths []string) error {
	for _, p := range paths {
		_, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("--watch %s: no such file or directory (create it, or name an existing one)", p)
		case err != nil:
			return fmt.Errorf("--watch %s: %w", p, err)
		}
	}
	return nil
}

// serveAndWatch serves the console while loading the watched directories
// into the store, until ctx ends; nc, when set, configures notifications.
func serveAndWatch(ctx context.Context, env *Env, o serveOptions, in ingestOptions, nc *notify.Config, st store.Store, ln net.Listener, wo web.Options) int {
	reg, err := logtype.Load()
	if err != nil {
		_ = ln.Close() // the server never started
		_ = st.Close()
		fmt.Fprintf(env.Stderr, "vigil serve: %v\n", err)
		return ExitUsage
	}
	stateDir := in.stateDir
	if stateDir == "" && len(in.rules) > 0 {
		stateDir = filepath.Join(o.dataDir, "detect-state")
	}
	lo := &loadOptions{
		workers:        runtime.GOMAXPROCS(0),
		deadLetter:     filepath.Join(o.dataDir, "dead-letter.ndjson"),
		maxRecordBytes: codec.DefaultMaxRecordBytes,
		geoipCity:      in.geoipCity,
		geoipASN:       in.geoipASN,
		rules:          in.rules,
		stateDir:       stateDir,
		notify:         nc,
		watch:          2 * time.Second,
		paths:          in.watch,
		cmd:            "vigil serve",
	}
	alerts := storeAlerts{StoreAlerts: web.StoreAlerts{Store: st}, det: &atomic.Pointer[stage.Detector]{}}
	lo.onDetector = alerts.det.Store
	wo.Alerts = alerts
	dl := ndjson.NewDeadLetter(lo.deadLetter)
	var sink pipeline.Sink
	var written func() int64
	if in.sink == "" || in.sink == "store" {
		s := storesink.New(st, newLogger(env.Stderr), storesink.WithDeadLetter(dl))
		sink, written = s, s.BytesWritten
	} else {
		// Zero tuning values take the sink's defaults.
		if sink, written, err = openSink(ctx, in.sink, env, reg, dl, &ossink.Config{}); err != nil {
			_ = ln.Close() // the server never started
			_ = st.Close()
			fmt.Fprintf(env.Stderr, "vigil serve: %v\n", err)
			return ExitUsage
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	loaded := make(chan int, 1)
	go func() {
		c := loadInto(ctx, env, lo, reg, nil, dl, sink, written)
		if c == ExitUsage {
			cancel() // a configuration error: stop serving and say so
		}
		loaded <- c
	}()
	code := serveStore(ctx, env, "vigil serve", keepOpen{st}, ln, wo)
	cancel()
	if lc := <-loaded; lc != ExitOK && code == ExitOK {
		code = lc
	}
	if err := st.Close(); err != nil {
		fmt.Fprintf(env.Stderr, "vigil serve: closing the store: %v\n", err)
		return ExitFailure
	}
	return code
}

// keepOpen is a store whose Close does nothing, for code that closes a
// store another owner still uses.
type keepOpen struct{ store.Store }

// Close leaves the store open.
func (keepOpen) Close() error { return nil }

// serveStore serves the console over st on ln until ctx ends, then closes
// the store.
func serveStore(ctx context.Context, env *Env, cmd string, st store.Store, ln net.Listener, wo web.Options) int {
	defer func() {
		if err := st.Close(); err != nil {
			fmt.Fprintf(env.Stderr, "%s: closing the store: %v\n", cmd, err)
		}
	}()
	if wo.Alerts == nil {
		wo.Alerts = web.StoreAlerts{Store: st}
	}
	srv, err := web.New(st, wo, newLogger(env.Stderr))
	if err != nil {
		_ = ln.Close() // the server never started
		fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "Vigil console: http://%s/ (Ctrl-C stops)\n", ln.Addr())
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
		return ExitFailure
	}
	return ExitOK
}

// storeAlerts changes the status of alert documents in the store, for the
// console's Alerts view, and in the running detector's state when there
// is one (vigil serve --watch --rules), so that the alert's next update
// keeps the status.
type storeAlerts struct {
	web.StoreAlerts
	det *atomic.Pointer[stage.Detector] // holds nil until the run has a detector
}

// SetAlertStatus sets the status in the detector's state, then rewrites
// the alert document.
func (a storeAlerts) SetAlertStatus(ctx context.Context, id, status string) error {
	if alert.Status(status).Valid() {
		if d := a.det.Load(); d != nil {
			d.Alerts().SetStatus(id, alert.Status(status)) // false: the alert is closed, only stored
		}
	}
	return a.StoreAlerts.SetAlertStatus(ctx, id, status)
}
