package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/vigil-siem/vigil/internal/codec"
	"github.com/vigil-siem/vigil/internal/detect/notify"
	"github.com/vigil-siem/vigil/internal/detect/stage"
	"github.com/vigil-siem/vigil/internal/enrich/geoip"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/sink/ndjson"
	ossink "github.com/vigil-siem/vigil/internal/sink/opensearch"
	storesink "github.com/vigil-siem/vigil/internal/sink/store"
	"github.com/vigil-siem/vigil/internal/source/file"
	"github.com/vigil-siem/vigil/internal/store"
)

const loadUsage = `usage: vigil load [flags] PATH...

Loads log files into a sink. PATH is a file or a directory (walked
recursively). The log type of each file is detected from its key: the path
relative to the directory given (so a local mirror of a log bucket,
AWSLogs/<account>/..., is detected as the S3 object would be), or the file
path as given. Compression (gzip, bzip2, zstd, zip) is detected from the
content.

flags:
  --config FILE       a user.ini that overrides or adds log types (repeatable,
                      later files win)
  --type NAME         use this log type for every file instead of detecting it
  --sink SPEC         where documents go: store:DIR (the embedded store;
                      store alone means store:./vigil-data), ndjson:FILE,
                      ndjson:- for stdout (default), or opensearch:URL (an OpenSearch domain or
                      cluster; credentials from OPENSEARCH_USERNAME and
                      OPENSEARCH_PASSWORD or the AWS credential chain, see
                      docs/opensearch.md)
  --workers N         files processed at once (default: number of CPUs)
  --bulk-bytes N      opensearch: the largest bulk request before gzip
                      (default 5 MiB)
  --bulk-concurrency N  opensearch: bulk requests in flight (default 2)
  --retry-backoff D   opensearch: the first wait before a retry; it doubles
                      (with jitter) up to --retry-max-backoff (defaults
                      200ms and 30s)
  --retry-max-backoff D
  --dead-letter FILE  where failed records are kept for replay
                      (default vigil-dead-letter.ndjson, created on first failure)
  --max-record-bytes N  largest record accepted (default 64 MiB)
  --documents         PATH holds documents, not logs: NDJSON lines of
                      {"_index","_id","_source"} (the ndjson sink's output)
                      or a sink's dead-letter entries; they are loaded as
                      they are, keeping index and _id, so a replay
                      overwrites instead of duplicating
  --geoip-city FILE   a MaxMind City database (GeoLite2-City.mmdb): adds
                      source.geo.* and destination.geo.* for the log types
                      whose geoip setting names them (default: the
                      GeoLite2-City.mmdb in $VIGIL_GEOIP_DIR, if any)
  --geoip-asn FILE    a MaxMind ASN database: adds source.as.* and
                      destination.as.* (default: GeoLite2-ASN.mmdb in
                      $VIGIL_GEOIP_DIR, if any). A VIGIL_GEOIP_DIR that is
                      set must be a readable directory holding at least
                      one of the two databases, else the command stops
  --rules PATH        run these Sigma rules (a directory or file,
                      repeatable) on every document; alerts go to the same
                      sink, index "alerts" (docs/rules.md, docs/alerts.md)
  --state-dir DIR     keep correlation windows and open alerts here across
                      runs; without it every window is decided at the end
  --notify FILE       send new alerts to the destinations FILE lists
                      (webhook, Slack, SNS, email; docs/alerts.md); needs
                      --rules. Default $VIGIL_NOTIFY when --rules is given.
                      Queued alerts are kept in STATE-DIR/notify (without
                      --state-dir, ./vigil-notify) unless FILE names a dir;
                      at the end the command waits up to 30s for them
  --quiet             no progress and no summary

The summary (files, records, documents, errors, skipped, bytes in/out,
seconds) goes to stderr. Exit status: 0 when everything was processed, 1 when
any file or record failed (they are listed with reasons), 2 for usage or
configuration errors.
`

// loadOptions are the parsed flags of vigil load.
type loadOptions struct {
	cmd            string // the command named in messages; empty: vigil load
	configs        multiFlag
	typeName       string
	sink           string
	workers        int
	deadLetter     string
	maxRecordBytes int
	quiet          bool
	documents      bool
	watch          time.Duration // keep watching opts.paths (vigil serve)
	geoipCity      string
	rules          multiFlag
	stateDir       string
	notifyFile     string
	notify         *notify.Config // read from notifyFile
	// onDetector, when set, is told about the detector the run creates
	// (vigil serve hands it the console's alert status changes).
	onDetector func(*stage.Detector)
	geoipASN   string
	bulk       ossink.Config
	paths      []string
}

func parseLoadFlags(stderr io.Writer, args []string) (*loadOptions, error) {
	o := &loadOptions{}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&o.configs, "config", "")
	fs.StringVar(&o.typeName, "type", "", "")
	fs.StringVar(&o.sink, "sink", "ndjson:-", "")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "")
	fs.StringVar(&o.deadLetter, "dead-letter", "vigil-dead-letter.ndjson", "")
	fs.IntVar(&o.maxRecordBytes, "max-record-bytes", codec.DefaultMaxRecordBytes, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.BoolVar(&o.documents, "documents", false, "")
	fs.Var(&o.rules, "rules", "")
	fs.StringVar(&o.stateDir, "state-dir", "", "")
	fs.StringVar(&o.notifyFile, "notify", "", "")
	fs.StringVar(&o.geoipCity, "geoip-city", geoipDefault(geoipCityDB), "")
	fs.StringVar(&o.geoipASN, "geoip-asn", geoipDefault(geoipASNDB), "")
	fs.IntVar(&o.bulk.MaxBulkBytes, "bulk-bytes", ossink.DefaultMaxBulkBytes, "")
	fs.IntVar(&o.bulk.Concurrency, "bulk-concurrency", ossink.DefaultConcurrency, "")
	fs.DurationVar(&o.bulk.InitialBackoff, "retry-backoff", ossink.DefaultInitialBackoff, "")
	fs.DurationVar(&o.bulk.MaxBackoff, "retry-max-backoff", ossink.DefaultMaxBackoff, "")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	o.paths = paths
	if len(o.paths) == 0 {
		return nil, errors.New("no PATH given")
	}
	if o.workers < 1 {
		return nil, fmt.Errorf("--workers must be at least 1, got %d", o.workers)
	}
	if o.maxRecordBytes < 1024 {
		return nil, fmt.Errorf("--max-record-bytes must be at least 1024, got %d", o.maxRecordBytes)
	}
	return o, nil
}

// openSink parses a --sink spec; "ndjson:-" writes to stdout. written,
// when not nil, reports the bytes the sink wrote.
func openSink(ctx context.Context, spec string, env *Env, reg *logtype.Registry, dl *ndjson.DeadLetter, tuning *ossink.Config) (sink pipeline.Sink, written func() int64, err error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "ndjson":
		if arg == "" {
			return nil, nil, fmt.Errorf("--sink %q: ndjson needs a file name or - (ndjson:out.ndjson)", spec)
		}
		if arg == "-" {
			s := ndjson.New(env.Stdout, nil)
			return s, s.BytesWritten, nil
		}
		s, err := ndjson.Open(arg)
		if err != nil {
			return nil, nil, err
		}
		return s, s.BytesWritten, nil
	case "opensearch":
		cfg := ossink.ConfigFromURL(arg, os.Getenv)
		cfg.WriteAliases = ossink.AutoAliases(reg)
		cfg.MaxBulkBytes, cfg.Concurrency = tuning.MaxBulkBytes, tuning.Concurrency
		cfg.InitialBackoff, cfg.MaxBackoff = tuning.InitialBackoff, tuning.MaxBackoff
		s, err := ossink.New(ctx, cfg, dl, newLogger(env.Stderr))
		if err != nil {
			return nil, nil, fmt.Errorf("--sink %q: %w", spec, err)
		}
		return s, s.BytesWritten, nil
	case "store":
		dir := arg
		if dir == "" {
			dir = defaultDataDir
		}
		st, err := openStore(ctx, dir, false, "", newLogger(env.Stderr))
		if err != nil {
			return nil, nil, fmt.Errorf("--sink %q: %w", spec, err)
		}
		s := storesink.New(st, newLogger(env.Stderr), storesink.WithDeadLetter(dl))
		return closeStore{s, st}, s.BytesWritten, nil
	default:
		return nil, nil, fmt.Errorf("--sink %q: unknown sink (use store:DIR, ndjson:FILE, ndjson:- or opensearch:URL)", spec)
	}
}

func runLoad(ctx context.Context, env *Env, args []string) int {
	opts, err := parseLoadFlags(env.Stderr, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, loadUsage)
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "vigil load: %v\n\n%s", err, loadUsage)
		return ExitUsage
	}
	notifyDir := "vigil-notify"
	if opts.stateDir != "" {
		notifyDir = filepath.Join(opts.stateDir, "notify")
	}
	if opts.notify, err = notifyConfig(opts.notifyFile, true, len(opts.rules) > 0, notifyDir); err != nil {
		fmt.Fprintf(env.Stderr, "vigil load: %v\n", err)
		return ExitUsage
	}
	reg, err := logtype.Load(opts.configs...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil load: %v\n", err)
		return ExitUsage
	}
	var force *logtype.Type
	if opts.typeName != "" {
		if err := checkTypes(reg, []string{opts.typeName}); err != nil {
			fmt.Fprintf(env.Stderr, "vigil load: %v\n", err)
			return ExitUsage
		}
		force, _ = reg.Get(opts.typeName)
	}
	dl := ndjson.NewDeadLetter(opts.deadLetter)
	sink, written, err := openSink(ctx, opts.sink, env, reg, dl, &opts.bulk)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil load: %v\n", err)
		return ExitUsage
	}
	return loadInto(ctx, env, opts, reg, force, dl, sink, written)
}

// loadInto runs the load pipeline of opts.paths into sink and prints the
// summary; it closes the sink and dl. written, when not nil, reports the
// bytes the sink wrote.
func loadInto(ctx context.Context, env *Env, opts *loadOptions, reg *logtype.Registry, force *logtype.Type, dl *ndjson.DeadLetter, sink pipeline.Sink, written func() int64) int {
	cmd := opts.cmd
	if cmd == "" {
		cmd = "vigil load"
	}
	rep := &reporter{w: env.Stderr, cmd: cmd, quiet: opts.quiet, live: opts.watch > 0}
	stats := &pipeline.Stats{Start: time.Now()}
	err := checkGeoIPDir(opts.geoipCity, opts.geoipASN)
	var geo *geoip.DB
	if err == nil {
		geo, err = geoip.Open(opts.geoipCity, opts.geoipASN)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
		_ = sink.Close(ctx) // nothing was written
		return ExitUsage
	}
	defer func() { _ = geo.Close() }() // read-only files
	var enrichers []normalize.Enricher
	if geo.Enabled() {
		enrichers = append(enrichers, geo.Enricher())
	}
	cfg := &pipeline.ObjectConfig{
		Enrichers:     enrichers,
		Registry:      reg,
		ForceType:     force,
		Scripts:       Scripts(),
		Codec:         codec.Config{MaxRecordBytes: opts.maxRecordBytes},
		DeadLetter:    dl,
		Stats:         stats,
		OnRecordError: rep.record,
		Lines:         strings.HasPrefix(opts.sink, "ndjson:"),
	}
	var det *stage.Detector
	var notifier *alertNotifier
	if len(opts.rules) > 0 {
		var nt stage.Notifier
		if opts.notify != nil {
			if notifier, err = startNotifier(ctx, opts.notify, newLogger(env.Stderr)); err != nil {
				fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
				_ = sink.Close(ctx) // nothing was written
				return ExitUsage
			}
			nt = notifier.d
		}
		det, err = stage.New(stage.Config{RuleDirs: opts.rules, StateDir: opts.stateDir, DecideAtEnd: opts.stateDir == "", Notifier: nt}, newLogger(env.Stderr))
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
			if notifier != nil {
				_ = notifier.stop(ctx, env.Stderr, cmd, true) // nothing was queued
			}
			_ = sink.Close(ctx) // nothing was written
			return ExitUsage
		}
		for _, p := range det.Problems() {
			fmt.Fprintf(env.Stderr, "%s: rule skipped: %v\n", cmd, p)
		}
		if opts.onDetector != nil {
			opts.onDetector(det)
		}
		cfg.Inspect = det.Inspect
		sink = det.Sink(sink)
	}
	if det != nil && opts.watch > 0 {
		stopReload := reloadRules(ctx, env, det)
		defer stopReload()
	}
	src := &file.Source{
		Watch: opts.watch,
		Paths: opts.paths,
		NewAck: func(event.Origin) *event.Ack {
			return event.NewAck(func(s event.Summary) { stats.Documents.Add(s.Delivered) })
		},
		OnError: rep.walkError,
	}
	stopProgress := rep.progress(stats)
	err = pipeline.Run(ctx, pipeline.Config{Workers: opts.workers}, src,
		func() pipeline.Processor {
			if opts.documents {
				return &ossink.DocumentProcessor{DeadLetter: dl, Stats: stats}
			}
			return pipeline.NewObjectProcessor(cfg)
		},
		sink, rep.objectError)
	stopProgress()
	if det != nil {
		if cerr := det.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if st := det.Stats(); !opts.quiet {
			fmt.Fprintf(env.Stderr, "%s: detection: %d rules, %d correlations over %d documents: %d matches, %d alerts\n", cmd, st.Rules, st.Correlations, st.Documents, st.Matches+st.CorrelationMatches, st.AlertsNew)
		}
	}
	if notifier != nil { // after det.Close, which may raise the last alerts
		if nerr := notifier.stop(ctx, env.Stderr, cmd, opts.quiet); nerr != nil && err == nil {
			err = nerr
		}
	}
	if cerr := dl.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if written != nil {
		stats.BytesOut.Store(written())
	}
	rep.summary(stats, dl)
	if opts.watch > 0 && errors.Is(err, context.Canceled) {
		err = nil // watching ends when the server stops
	}
	switch {
	case err != nil:
		fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
		return ExitFailure
	case rep.failures() > 0 || stats.Errors.Load() > 0 || dl.Count() > 0:
		return ExitFailure
	}
	return ExitOK
}

// reporter prints progress, failures and the summary to stderr.
type reporter struct {
	w     io.Writer
	cmd   string // the command its lines begin with: vigil load, vigil serve
	quiet bool
	live  bool // print failures as they happen (a watch never ends)

	mu          sync.Mutex
	objectFails []string // one line per failed file
	wholeFails  int      // files that failed as a whole, not only some records
	recordFails []string
	moreRecords int
	skipped     []string
	tty         bool
}

const maxListed = 20

func (r *reporter) failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.objectFails)
}

func (r *reporter) walkError(path string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.objectFails = append(r.objectFails, err.Error())
	r.wholeFails++
}

func (r *reporter) objectError(obj *pipeline.Object, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live {
		defer r.printLive()
	}
	name := originName(obj.Origin)
	if errors.Is(err, pipeline.ErrIgnored) {
		r.skipped = append(r.skipped, name+": "+err.Error())
		return
	}
	var oe *pipeline.ObjectError
	if errors.As(err, &oe) && oe.Err == nil {
		r.objectFails = append(r.objectFails, fmt.Sprintf("%s: %d records failed", name, oe.Records))
		return
	}
	r.wholeFails++
	if errors.As(err, &oe) {
		msg := fmt.Sprintf("%s: %v", name, oe.Err)
		if oe.Records > 0 {
			msg += fmt.Sprintf(" (and %d records failed)", oe.Records)
		}
		r.objectFails = append(r.objectFails, msg)
		return
	}
	r.objectFails = append(r.objectFails, fmt.Sprintf("%s: %v", name, err))
}

func (r *reporter) record(f pipeline.Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live {
		fmt.Fprintf(r.w, "error: %s:%d: %s\n", originName(f.Origin), f.Line, f.Reason)
		return
	}
	if len(r.recordFails) >= maxListed {
		r.moreRecords++
		return
	}
	r.recordFails = append(r.recordFails, fmt.Sprintf("%s:%d: %s", originName(f.Origin), f.Line, f.Reason))
}

// progress shows a one-line progress display while stderr is a terminal.
func (r *reporter) progress(st *pipeline.Stats) func() {
	f, ok := r.w.(*os.File)
	if r.quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	r.tty = true
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(r.w, "\r\033[K")
				return
			case <-tick.C:
				sec := time.Since(st.Start).Seconds()
				rec := st.Records.Load()
				fmt.Fprintf(r.w, "\r\033[K%d files, %d records (%.0f/s), %d errors, %s read",
					st.Files.Load(), rec, float64(rec)/sec, st.Errors.Load(), humanBytes(st.BytesIn.Load()))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (r *reporter) summary(st *pipeline.Stats, dl *ndjson.DeadLetter) {
	if r.quiet {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.objectFails {
		fmt.Fprintf(r.w, "error: %s\n", s)
	}
	for _, s := range r.recordFails {
		fmt.Fprintf(r.w, "error: %s\n", s)
	}
	if r.moreRecords > 0 {
		fmt.Fprintf(r.w, "error: ... and %d more failed records\n", r.moreRecords)
	}
	for _, s := range r.skipped {
		fmt.Fprintf(r.w, "skipped: %s\n", s)
	}
	sec := time.Since(st.Start).Seconds()
	rec := st.Records.Load()
	fmt.Fprintf(r.w, "%s: %d files, %d records, %d documents, %d errors, %d skipped; %s in, %s out; %.2f s (%.0f records/s)\n",
		r.cmd, st.Files.Load(), rec, st.Documents.Load(), st.Errors.Load()+int64(r.wholeFails),
		st.Skipped.Load(), humanBytes(st.BytesIn.Load()), humanBytes(st.BytesOut.Load()), sec, float64(rec)/sec)
	if n := dl.Count(); n > 0 {
		fmt.Fprintf(r.w, "%s: %d failed records or documents kept in %s\n", r.cmd, n, dl.Path())
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// newLogger returns the logger of commands: text records of warnings and
// errors on stderr.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// The GeoIP databases looked for in $VIGIL_GEOIP_DIR.
const (
	envGeoIPDir = "VIGIL_GEOIP_DIR"
	geoipCityDB = "GeoLite2-City.mmdb"
	geoipASNDB  = "GeoLite2-ASN.mmdb"
)

// checkGeoIPDir reports a $VIGIL_GEOIP_DIR that is set but gives no
// database although city or asn (the --geoip-city and --geoip-asn values)
// left one to it: a directory that cannot be read, or one holding neither
// database. Unset, it is no error: GeoIP enrichment is simply off.
func checkGeoIPDir(city, asn string) error {
	dir := os.Getenv(envGeoIPDir)
	if dir == "" || city != geoipDefault(geoipCityDB) && asn != geoipDefault(geoipASNDB) {
		return nil
	}
	if _, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("%s=%s: reading the GeoIP directory: %w", envGeoIPDir, dir, err)
	}
	if geoipDefault(geoipCityDB) == "" && geoipDefault(geoipASNDB) == "" {
		return fmt.Errorf("%s=%s holds neither %s nor %s (put them there, or unset the variable to load without GeoIP)", envGeoIPDir, dir, geoipCityDB, geoipASNDB)
	}
	return nil
}

// geoipDefault returns the database file name in $VIGIL_GEOIP_DIR when it
// exists there, else "".
func geoipDefault(name string) string {
	dir := os.Getenv(envGeoIPDir)
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// closeStore is a store sink that also closes its store.
type closeStore struct {
	*storesink.Sink
	st store.Store
}

// Close flushes the sink, then closes the store.
func (c closeStore) Close(ctx context.Context) error {
	err := c.Sink.Close(ctx)
	if cerr := c.st.Close(); err == nil {
		err = cerr
	}
	return err
}

// printLive prints and forgets the file failures and skips gathered so
// far; the caller holds r.mu.
func (r *reporter) printLive() {
	for _, m := range r.objectFails {
		fmt.Fprintf(r.w, "error: %s\n", m)
	}
	for _, m := range r.skipped {
		fmt.Fprintf(r.w, "skipped: %s\n", m)
	}
	r.objectFails, r.skipped = r.objectFails[:0], r.skipped[:0]
}

// originName names an object in messages: its path, else its key.
func originName(o event.Origin) string {
	if o.Path != "" {
		return o.Path
	}
	return o.Key
}

// reloadRules reloads det's rules on SIGHUP and when a rule file changes,
// until ctx ends or the returned stop is called. Invalid rules are
// reported; the others keep running.
func reloadRules(ctx context.Context, env *Env, det *stage.Detector) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = det.Watch(ctx) // returns nil when ctx ends
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				problems := det.Reload()
				for _, p := range problems {
					fmt.Fprintf(env.Stderr, "rules: skipped: %v\n", p)
				}
				st := det.Stats()
				fmt.Fprintf(env.Stderr, "rules: reloaded on SIGHUP: %d rules, %d correlations, %d invalid\n", st.Rules, st.Correlations, len(problems))
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}
