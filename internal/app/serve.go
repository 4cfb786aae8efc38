package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/vigil-siem/vigil/internal/detect/alert"
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
`

// serveOptions are the flags shared by serve and demo.
type serveOptions struct {
	dataDir   string
	addr      string
	authToken string
	basicAuth string
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.dataDir, "data-dir", defaultDataDir, "")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "")
	fs.StringVar(&o.authToken, "auth-token", os.Getenv("VIGIL_AUTH_TOKEN"), "")
	fs.StringVar(&o.basicAuth, "basic-auth", os.Getenv("VIGIL_BASIC_AUTH"), "")
}

// webOptions turns the flags into the web server's options.
func (o *serveOptions) webOptions() (web.Options, error) {
	wo := web.Options{Addr: o.addr, AuthToken: o.authToken, Version: Version}
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
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.register(fs)
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
	return serveStore(ctx, env, "vigil serve", st, ln, wo)
}

// serveStore serves the console over st on ln until ctx ends, then closes
// the store.
func serveStore(ctx context.Context, env *Env, cmd string, st store.Store, ln net.Listener, wo web.Options) int {
	defer func() {
		if err := st.Close(); err != nil {
			fmt.Fprintf(env.Stderr, "%s: closing the store: %v\n", cmd, err)
		}
	}()
	wo.Alerts = storeAlerts{st}
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
// console's Alerts view.
type storeAlerts struct{ st store.Store }

// SetAlertStatus rewrites the alert document with the new status.
func (a storeAlerts) SetAlertStatus(ctx context.Context, id, status string) error {
	if !alert.Status(status).Valid() {
		return fmt.Errorf("alert status %q: want open or acknowledged", status)
	}
	h, err := a.st.Get(ctx, id)
	if err != nil {
		return err
	}
	var al alert.Alert
	if err := json.Unmarshal(h.Source, &al); err != nil {
		return fmt.Errorf("document %s is not an alert: %w", id, err)
	}
	al.Status = alert.Status(status)
	src, err := json.Marshal(&al)
	if err != nil {
		return err
	}
	return a.st.Write(ctx, []store.Doc{{ID: h.ID, Index: h.Index, LogType: h.LogType, TimestampMs: h.TimestampMs, Source: src}})
}
