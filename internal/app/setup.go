package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/opensearch/setup"
)

const setupUsage = `usage: vigil setup opensearch [flags]

Installs what Vigil's indices need in OpenSearch, idempotently: component and
index templates for every log type (ECS field types), Index State Management
policies (rollover for index_rotation = auto, deletion after the retention),
the write aliases of rolled-over indices and, with --dashboards, the index
patterns, visualizations and dashboards. What is installed is read first and
only what is missing or differs is written: a second run sends no write.
One line per object says created, updated or up to date; a summary follows.
Templates of your own with a higher priority than Vigil's (above 199) are left
alone and reported.

flags:
  --opensearch URL      the cluster (default: $ENDPOINT; a bare host name
                        means https)
  --dashboards URL      OpenSearch Dashboards; its saved objects are installed
                        only when given (default: $OPENSEARCH_DASHBOARDS_URL)
  --user NAME           basic-auth user (default: $OPENSEARCH_USERNAME)
  --password PASSWORD   basic-auth password (default: $OPENSEARCH_PASSWORD;
                        prefer the variable: flags are visible to other users)
  --aws-region REGION   SigV4 region (default $AWS_REGION, then
                        $AWS_DEFAULT_REGION, then the host name's)
  --aws-service NAME    SigV4 service: es, aoss or none (default: from the
                        host name)
  --ca-cert FILE        PEM certificate authorities to trust
  --insecure            do not verify the TLS certificate
  --config FILE         a user.ini (repeatable): index names, index_rotation
                        and retention_days per log type
  --retention-days N    days indices are kept, for log types without
                        retention_days (default 0: forever)
  --rollover-size SIZE  rollover size for index_rotation = auto (default 50gb)
  --rollover-age AGE    rollover age for index_rotation = auto (default 30d)
  --export DIR          write the objects as JSON and NDJSON files to DIR (for
                        manual installation); without --opensearch or
                        $ENDPOINT nothing else is done
  --dry-run             read and compare, write nothing

Exit status: 0 when everything is installed or up to date, 1 when some
object failed (each is reported), 2 for usage errors.
`

// connFlags are the connection flags shared by setup and retention.
type connFlags struct {
	url, user, password, region, service, caCert string
	insecure                                     bool
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "opensearch", "", "")
	fs.StringVar(&c.user, "user", "", "")
	fs.StringVar(&c.password, "password", "", "")
	fs.StringVar(&c.region, "aws-region", "", "")
	fs.StringVar(&c.service, "aws-service", "", "")
	fs.StringVar(&c.caCert, "ca-cert", "", "")
	fs.BoolVar(&c.insecure, "insecure", false, "")
}

// config returns the cluster settings: the environment (opensearch.FromEnv),
// overridden by the flags given; baseURL replaces the URL when not empty.
func (c *connFlags) config(baseURL string) opensearch.Config {
	cfg := opensearch.FromEnv(c.url, nil)
	if baseURL != "" {
		cfg.URL = baseURL
	}
	if c.user != "" {
		cfg.Username = c.user
	}
	if c.password != "" {
		cfg.Password = c.password
	}
	if c.region != "" {
		cfg.AWSRegion = c.region
	}
	if c.service != "" {
		cfg.AWSService = c.service
	}
	if c.caCert != "" {
		cfg.CACertFile = c.caCert
	}
	if c.insecure {
		cfg.InsecureSkipVerify = true
	}
	return cfg
}

// endpoint is the cluster URL from the flag or the environment.
func (c *connFlags) endpoint() string {
	if c.url != "" {
		return c.url
	}
	return os.Getenv(opensearch.EnvEndpoint)
}

// EnvDashboardsURL is the environment variable giving the Dashboards URL.
const EnvDashboardsURL = "OPENSEARCH_DASHBOARDS_URL"

// setupOptions are the parsed flags of vigil setup opensearch.
type setupOptions struct {
	conn          connFlags
	dashboards    string
	configs       multiFlag
	retentionDays int
	rolloverSize  string
	rolloverAge   string
	export        string
	dryRun        bool
}

func parseSetupFlags(args []string) (*setupOptions, error) {
	if len(args) == 0 {
		return nil, errors.New("what to set up? (vigil setup opensearch)")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return nil, flag.ErrHelp
	case "opensearch":
	default:
		return nil, fmt.Errorf("unknown target %q (vigil setup opensearch)", args[0])
	}
	o := &setupOptions{}
	fs := flag.NewFlagSet("setup opensearch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.conn.register(fs)
	fs.StringVar(&o.dashboards, "dashboards", "", "")
	fs.Var(&o.configs, "config", "")
	fs.IntVar(&o.retentionDays, "retention-days", 0, "")
	fs.StringVar(&o.rolloverSize, "rollover-size", setup.DefaultRolloverSize, "")
	fs.StringVar(&o.rolloverAge, "rollover-age", setup.DefaultRolloverAge, "")
	fs.StringVar(&o.export, "export", "", "")
	fs.BoolVar(&o.dryRun, "dry-run", false, "")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("unexpected argument %q", pos[0])
	}
	if o.retentionDays < 0 {
		return nil, fmt.Errorf("--retention-days must not be negative, got %d", o.retentionDays)
	}
	if o.dashboards == "" {
		o.dashboards = os.Getenv(EnvDashboardsURL)
	}
	if o.conn.endpoint() == "" && o.export == "" {
		return nil, fmt.Errorf("no cluster: give --opensearch URL or set %s (or --export DIR to write files only)", opensearch.EnvEndpoint)
	}
	return o, nil
}

// runSetup is `vigil setup opensearch`.
func runSetup(ctx context.Context, env *Env, args []string) int {
	opts, err := parseSetupFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, setupUsage)
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "vigil setup: %v\n\n%s", err, setupUsage)
		return ExitUsage
	}
	reg, err := logtype.Load(opts.configs...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil setup: %v\n", err)
		return ExitUsage
	}
	plan, err := setup.NewPlan(reg, setup.Options{
		RetentionDays: opts.retentionDays, RolloverSize: opts.rolloverSize, RolloverAge: opts.rolloverAge,
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil setup: %v\n", err)
		return ExitUsage
	}
	if opts.export != "" {
		files, err := setup.Export(plan)
		if err == nil {
			err = setup.WriteExport(opts.export, files)
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigil setup: %v\n", err)
			return ExitFailure
		}
		fmt.Fprintf(env.Stderr, "vigil setup: wrote %d files to %s\n", len(files), opts.export)
		if opts.conn.endpoint() == "" {
			return ExitOK
		}
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cluster, err := opensearch.New(ctx, opts.conn.config(""), log)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil setup: %v\n", err)
		return ExitUsage
	}
	defer func() { _ = cluster.Close() }()
	inst := &setup.Installer{Cluster: cluster, DryRun: opts.dryRun, Out: env.Stdout}
	target := cluster.Config().String()
	if opts.dashboards != "" {
		dash, err := opensearch.New(ctx, opts.conn.config(opts.dashboards), log)
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigil setup: dashboards: %v\n", err)
			return ExitUsage
		}
		defer func() { _ = dash.Close() }()
		inst.Dashboards = dash
		target += " and Dashboards " + dash.Config().String()
	}
	fmt.Fprintf(env.Stderr, "vigil setup: %s\n", target)
	if _, err := inst.Install(ctx, plan); err != nil {
		fmt.Fprintf(env.Stderr, "vigil setup: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

const retentionOpenSearchUsage = `usage: vigil retention --older-than AGE --opensearch URL [flags]

Deletes the indices whose date suffix (index_rotation daily -YYYY-MM-DD,
weekly -YYYY-wWW, monthly -YYYY-MM, yearly -YYYY) ended more than AGE ago.
Indices without such a suffix (rollover indices, aliases) are never touched;
only Vigil's families (log-*, metrics-*) are considered unless --index names
some. One line per index and a summary are printed.

flags:
  --older-than AGE      90d, 12w or 36h (required)
  --opensearch URL      the cluster (default: $ENDPOINT)
  --index NAME          an index name (index_name) to consider (repeatable)
  --dry-run             list what would be deleted, delete nothing
  --user, --password, --aws-region, --aws-service, --ca-cert, --insecure
                        as for vigil setup opensearch
`

// runRetentionOpenSearch is `vigil retention` against OpenSearch.
func runRetentionOpenSearch(ctx context.Context, env *Env, args []string) int {
	var conn connFlags
	var olderThan string
	var indices multiFlag
	var dryRun bool
	fs := flag.NewFlagSet("retention", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	conn.register(fs)
	fs.StringVar(&olderThan, "older-than", "", "")
	fs.Var(&indices, "index", "")
	fs.BoolVar(&dryRun, "dry-run", false, "")
	usage := func(err error) int {
		fmt.Fprintf(env.Stderr, "vigil retention: %v\n\n%s", err, retentionOpenSearchUsage)
		return ExitUsage
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, retentionOpenSearchUsage)
			return ExitOK
		}
		return usage(err)
	}
	if len(pos) > 0 {
		return usage(fmt.Errorf("unexpected argument %q", pos[0]))
	}
	if olderThan == "" {
		return usage(errors.New("--older-than is required"))
	}
	age, err := setup.ParseAge(olderThan)
	if err != nil {
		return usage(fmt.Errorf("--older-than: %w", err))
	}
	if conn.endpoint() == "" {
		return usage(fmt.Errorf("no cluster: give --opensearch URL or set %s", opensearch.EnvEndpoint))
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cluster, err := opensearch.New(ctx, conn.config(""), log)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil retention: %v\n", err)
		return ExitUsage
	}
	defer func() { _ = cluster.Close() }()
	_, err = setup.RetentionWith(ctx, cluster, setup.RetentionOptions{
		OlderThan: age, Now: time.Now(), DryRun: dryRun, Prefixes: indices,
	}, env.Stdout)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil retention: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}
