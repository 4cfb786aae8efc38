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
	"strconv"
	"time"

	"github.com/vigil-siem/vigil/internal/codec"
	"github.com/vigil-siem/vigil/internal/demo"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/sink/ndjson"
	storesink "github.com/vigil-siem/vigil/internal/sink/store"
	"github.com/vigil-siem/vigil/rules"
)

const demoUsage = `usage: vigil demo [flags]

Generates realistic sample data for every log type Vigil processes, dated
over the last days up to now and with an attack story running through it
(an SSH brute force, the GuardDuty findings it raises, the stolen role's
CloudTrail calls), loads it into the embedded store and serves the web
console. Works offline. Vigil's rule pack is written to DATA-DIR/rules
(kept if it exists, so edits stay) and runs over the data: the console's
Alerts view shows what it raised. Running it again adds a fresh sample;
documents and alerts already stored are never duplicated.

flags:
  --data-dir DIR   the store's directory (default ./vigil-data)
  --port N         the console's port on 127.0.0.1 (default 8080; 0 picks a
                   free port)
  --addr HOST:PORT listen here instead (other than loopback needs
                   --auth-token or --basic-auth)
  --auth-token T   require this API token, at least 16 characters
                   (default $VIGIL_AUTH_TOKEN; see vigil help serve)
  --basic-auth U:P require HTTP basic authentication (default
                   $VIGIL_BASIC_AUTH)
  --no-serve       load the data and exit
  --seed N         the generator's seed (default 1)
  --days N         days of data, 2 to 90 (default 7)
  --scale F        volume of ordinary activity, 0.05 to 20 (default 1: about
                   85,000 records a week); the attack story does not scale
  --notify FILE    send the alerts the rule pack raises to the destinations
                   FILE lists (docs/alerts.md), e.g. to try a webhook; queued
                   alerts are kept in DATA-DIR/notify unless FILE names a
                   dir. $VIGIL_NOTIFY is not used: the data is made up
`

func runDemo(ctx context.Context, env *Env, args []string) int {
	var (
		o       serveOptions
		port    int
		noServe bool
		seed    int64
		days    int
		scale   float64
		notifyF string
	)
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.register(fs)
	fs.IntVar(&port, "port", 8080, "")
	fs.BoolVar(&noServe, "no-serve", false, "")
	fs.Int64Var(&seed, "seed", 1, "")
	fs.IntVar(&days, "days", 7, "")
	fs.Float64Var(&scale, "scale", 1, "")
	fs.StringVar(&notifyF, "notify", "", "")
	pos, err := parseInterleaved(fs, args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err == nil && (days < 2 || days > 90) {
		err = fmt.Errorf("--days must be between 2 and 90, got %d", days)
	}
	if err == nil && (scale < 0.05 || scale > 20) {
		err = fmt.Errorf("--scale must be between 0.05 and 20, got %g", scale)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, demoUsage)
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "vigil demo: %v\n\n%s", err, demoUsage)
		return ExitUsage
	}
	addrSet := false
	fs.Visit(func(f *flag.Flag) { addrSet = addrSet || f.Name == "addr" })
	if !addrSet {
		o.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	wo, err := o.webOptions()
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil demo: %v\n", err)
		return ExitUsage
	}
	nc, err := notifyConfig(notifyF, false, true, filepath.Join(o.dataDir, "notify")) // the demo runs its rule pack
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil demo: %v\n", err)
		return ExitUsage
	}
	var ln net.Listener
	serveURL := ""
	if !noServe {
		// Listen before loading so a busy port is reported at once.
		if ln, err = net.Listen("tcp", o.addr); err != nil {
			fmt.Fprintf(env.Stderr, "vigil demo: %v (choose another with --port)\n", err)
			return ExitFailure
		}
		serveURL = "http://" + ln.Addr().String()
	}
	closeLn := func() {
		if ln != nil {
			_ = ln.Close() // the server never started
		}
	}

	start := time.Now()
	src, err := os.MkdirTemp("", "vigil-demo-")
	if err != nil {
		closeLn()
		fmt.Fprintf(env.Stderr, "vigil demo: %v\n", err)
		return ExitFailure
	}
	defer func() { _ = os.RemoveAll(src) }() // generated input, loaded below
	sum, err := demo.Generate(src, demo.Options{Seed: seed, Now: start, Days: days, Scale: scale})
	if err != nil {
		closeLn()
		fmt.Fprintf(env.Stderr, "vigil demo: generating sample data: %v\n", err)
		return ExitFailure
	}
	fmt.Fprintf(env.Stderr, "vigil demo: generated %d records in %.1f s\n", sum.Total(), time.Since(start).Seconds())

	logger := newLogger(env.Stderr)
	st, err := openStore(ctx, o.dataDir, false, serveURL, logger)
	if err != nil {
		closeLn()
		fmt.Fprintf(env.Stderr, "vigil demo: %v\n", err)
		return ExitFailure
	}
	reg, err := logtype.Load()
	if err != nil {
		closeLn()
		_ = st.Close()
		fmt.Fprintf(env.Stderr, "vigil demo: %v\n", err)
		return ExitFailure
	}
	ruleDir := filepath.Join(o.dataDir, "rules")
	if err := writeRulePack(ruleDir); err != nil {
		closeLn()
		_ = st.Close()
		fmt.Fprintf(env.Stderr, "vigil demo: %v\n", err)
		return ExitFailure
	}
	lo := &loadOptions{
		rules:          multiFlag{ruleDir},
		notify:         nc,
		workers:        runtime.GOMAXPROCS(0),
		deadLetter:     filepath.Join(o.dataDir, "demo-dead-letter.ndjson"),
		maxRecordBytes: codec.DefaultMaxRecordBytes,
		geoipCity:      sum.GeoIPCity,
		geoipASN:       sum.GeoIPASN,
		paths:          []string{sum.LogDir},
	}
	dl := ndjson.NewDeadLetter(lo.deadLetter)
	sink := storesink.New(st, logger, storesink.WithDeadLetter(dl))
	if code := loadInto(ctx, env, lo, reg, nil, dl, sink, sink.BytesWritten); code != ExitOK {
		closeLn()
		_ = st.Close()
		fmt.Fprintln(env.Stderr, "vigil demo: loading the sample data failed (see above)")
		return code
	}
	fmt.Fprintf(env.Stdout, "Loaded the demo into %s in %.1f s.\n", o.dataDir, time.Since(start).Seconds())
	fmt.Fprintf(env.Stdout, "The attack story: %s (%s) brute-forces SSH on %s, then uses the stolen %s credentials. Search for:\n",
		sum.Attack.AttackerIP, sum.Attack.AttackerCountry, sum.Attack.InstanceID, sum.Attack.Role)
	for _, q := range sum.Attack.Searches() {
		fmt.Fprintf(env.Stdout, "  %s\n", q)
	}
	if noServe {
		if err := st.Close(); err != nil {
			fmt.Fprintf(env.Stderr, "vigil demo: closing the store: %v\n", err)
			return ExitFailure
		}
		return ExitOK
	}
	return serveStore(ctx, env, "vigil demo", st, ln, wo)
}

// writeRulePack writes Vigil's rule pack into dir unless dir exists (then
// the rules there, perhaps edited, are used as they are).
func writeRulePack(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	err := fs.WalkDir(rules.FS, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := rules.FS.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("writing the rule pack to %s: %w", dir, err)
	}
	return nil
}
