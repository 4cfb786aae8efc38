package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/store"
)

const retentionUsage = `usage: vigil retention --older-than AGE [flags]

Deletes documents older than AGE from the embedded store. A log type whose
configuration sets retention_days (e.g. retention_days = 365 in a user.ini
section) keeps its documents that many days instead. With --opensearch (or
ENDPOINT set) it deletes OpenSearch indices instead: see the flags below.

flags:
  --older-than AGE   delete what is older than AGE (90d, 12w, 36h)
  --type NAME        only this log type (repeatable)
  --config FILE      a user.ini with per-type retention_days (repeatable)
  --data-dir DIR     the store's directory (default ./vigil-data)
  --dry-run          report what would be deleted, delete nothing

` + retentionOpenSearchUsage

// wantsOpenSearch tells whether a retention run is for OpenSearch: an
// --opensearch flag or the ENDPOINT variable.
func wantsOpenSearch(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--opensearch" || a == "-opensearch" || strings.HasPrefix(a, "--opensearch=") || strings.HasPrefix(a, "-opensearch=") {
			return true
		}
	}
	return os.Getenv(opensearch.EnvEndpoint) != ""
}

func runRetention(ctx context.Context, env *Env, args []string) int {
	var (
		olderThan durationFlag
		types     multiFlag
		configs   multiFlag
		dataDir   string
		dryRun    bool
	)
	if wantsOpenSearch(args) {
		return runRetentionOpenSearch(ctx, env, args)
	}
	fs := flag.NewFlagSet("retention", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&olderThan, "older-than", "")
	fs.Var(&types, "type", "")
	fs.Var(&configs, "config", "")
	fs.StringVar(&dataDir, "data-dir", defaultDataDir, "")
	fs.BoolVar(&dryRun, "dry-run", false, "")
	pos, err := parseInterleaved(fs, args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err == nil && olderThan == 0 {
		err = errors.New("--older-than is required (e.g. --older-than 90d)")
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, retentionUsage)
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "vigil retention: %v\n\n%s", err, retentionUsage)
		return ExitUsage
	}
	reg, err := logtype.Load(configs...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil retention: %v\n", err)
		return ExitUsage
	}
	if err := checkTypes(reg, types); err != nil {
		fmt.Fprintf(env.Stderr, "vigil retention: %v\n", err)
		return ExitUsage
	}
	return retentionStore(ctx, env, reg, types, dataDir, time.Duration(olderThan), dryRun)
}

// retentionPlan returns the cut-off age per log type: the type's own
// retention where configured, else def.
func retentionPlan(reg *logtype.Registry, types []string, def time.Duration) map[string]time.Duration {
	names := types
	if len(names) == 0 {
		names = reg.Names()
	}
	plan := make(map[string]time.Duration, len(names))
	for _, n := range names {
		plan[n] = def
		if t, ok := reg.Get(n); ok && t.RetentionDays > 0 {
			plan[n] = time.Duration(t.RetentionDays) * 24 * time.Hour
		}
	}
	return plan
}

func retentionStore(ctx context.Context, env *Env, reg *logtype.Registry, types []string, dataDir string, def time.Duration, dryRun bool) int {
	st, err := openStore(ctx, dataDir, dryRun, "", newLogger(env.Stderr))
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil retention: %v\n", err)
		return ExitFailure
	}
	now := time.Now()
	plan := retentionPlan(reg, types, def)
	names := make([]string, 0, len(plan))
	for n := range plan {
		names = append(names, n)
	}
	sort.Strings(names)
	code := ExitOK
	var total int64
	for _, n := range names {
		cut := now.Add(-plan[n])
		var deleted int64
		if dryRun {
			var res *store.AggResult
			res, err = st.Aggregate(ctx, store.AggRequest{Kind: store.AggCount, Filter: store.Filter{To: cut.UnixMilli(), LogTypes: []string{n}}})
			if res != nil {
				deleted = int64(res.Value)
			}
		} else {
			deleted, err = st.DeleteBefore(ctx, n, cut)
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigil retention: %s: %v\n", n, err)
			code = ExitFailure
			continue
		}
		total += deleted
		if deleted > 0 || len(types) > 0 {
			fmt.Fprintf(env.Stdout, "%s: %d documents older than %s\n", n, deleted, cut.UTC().Format(time.RFC3339))
		}
	}
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(env.Stdout, "vigil retention: %s %d documents\n", verb, total)
	if err := st.Close(); err != nil {
		fmt.Fprintf(env.Stderr, "vigil retention: closing the store: %v\n", err)
		return ExitFailure
	}
	return code
}
