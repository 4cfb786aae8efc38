package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/stage"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/opensearch/setup"
	"github.com/vigil-siem/vigil/internal/query"
	"github.com/vigil-siem/vigil/internal/store"
)

const searchUsage = `usage: vigil search [flags] QUERY

Searches the embedded store with the query language of the console's query
bar (docs/query.md): field:value, "quoted phrases", wildcards * and ?,
field:[a TO b], field:>=N, AND/OR/NOT and parentheses, _exists_:field, CIDR
for IP fields (source.ip:10.0.0.0/8) and free text. Matching documents are
printed newest first, one per line. When a running vigil serve holds the
store, the search goes through its API (with the credentials in
$VIGIL_AUTH_TOKEN or $VIGIL_BASIC_AUTH when it requires them).

flags:
  --since D        only documents of the last D (e.g. 15m, 24h, 7d; default 24h)
  --from T, --to T only documents from T up to T (RFC 3339 or YYYY-MM-DD);
                   overrides --since
  --all-time       no time limit
  --type NAME      only this log type (repeatable): a built-in type, alert,
                   or a type of a --config file
  --config FILE    a user.ini whose log types --type may name (repeatable)
  --limit N        print at most N documents (default 100, at most 10000)
  --count          print only the number of matching documents
  --json           print documents as NDJSON: {"_index","_id","_source"}
  --data-dir DIR   the store's directory (default ./vigil-data)

Exit status: 0 on success (also when nothing matched), 2 for usage errors or
a bad query, 1 when the store cannot be read.
`

// timeRange is the time window of a search-like command.
type timeRange struct {
	since    durationFlag
	from, to string
	allTime  bool
}

func (tr *timeRange) register(fs *flag.FlagSet, defaultSince time.Duration) {
	tr.since = durationFlag(defaultSince)
	fs.Var(&tr.since, "since", "")
	fs.StringVar(&tr.from, "from", "", "")
	fs.StringVar(&tr.to, "to", "", "")
	fs.BoolVar(&tr.allTime, "all-time", false, "")
}

// bounds returns the window as epoch ms, 0 for an open side.
func (tr *timeRange) bounds(now time.Time) (from, to int64, err error) {
	if tr.allTime {
		return 0, 0, nil
	}
	if tr.from == "" && tr.to == "" {
		return now.Add(-time.Duration(tr.since)).UnixMilli(), 0, nil
	}
	if tr.from != "" {
		t, err := parseTimeFlag(tr.from)
		if err != nil {
			return 0, 0, fmt.Errorf("--from: %w", err)
		}
		from = t.UnixMilli()
	}
	if tr.to != "" {
		t, err := parseTimeFlag(tr.to)
		if err != nil {
			return 0, 0, fmt.Errorf("--to: %w", err)
		}
		to = t.UnixMilli()
	}
	if from != 0 && to != 0 && to <= from {
		return 0, 0, fmt.Errorf("--to %s is not after --from %s", tr.to, tr.from)
	}
	return from, to, nil
}

func parseTimeFlag(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (use RFC 3339, e.g. 2026-11-21T10:00:00Z, or YYYY-MM-DD)", s)
}

// durationFlag is a duration that also accepts days and weeks (7d, 2w).
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }

// Set parses a duration such as 90s, 15m, 24h, 7d or 2w.
func (d *durationFlag) Set(s string) error {
	v, err := setup.ParseAge(s)
	if err != nil {
		return err
	}
	*d = durationFlag(v)
	return nil
}

// defaultDataDir is where the embedded store lives unless --data-dir says.
const defaultDataDir = "vigil-data"

func runSearch(ctx context.Context, env *Env, args []string) int {
	var (
		tr      timeRange
		types   multiFlag
		configs multiFlag
		limit   int
		count   bool
		asJSON  bool
		dataDir string
	)
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tr.register(fs, 24*time.Hour)
	fs.Var(&types, "type", "")
	fs.Var(&configs, "config", "")
	fs.IntVar(&limit, "limit", 100, "")
	fs.BoolVar(&count, "count", false, "")
	fs.BoolVar(&asJSON, "json", false, "")
	fs.StringVar(&dataDir, "data-dir", defaultDataDir, "")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.Stdout, searchUsage)
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "vigil search: %v\n\n%s", err, searchUsage)
		return ExitUsage
	}
	if len(pos) > 1 {
		fmt.Fprintf(env.Stderr, "vigil search: give the query as one argument (quote it): %q\n", strings.Join(pos, " "))
		return ExitUsage
	}
	q := ""
	if len(pos) == 1 {
		q = pos[0]
	}
	if limit < 1 || limit > 10000 {
		fmt.Fprintf(env.Stderr, "vigil search: --limit must be between 1 and 10000, got %d\n", limit)
		return ExitUsage
	}
	from, to, err := tr.bounds(time.Now())
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil search: %v\n", err)
		return ExitUsage
	}
	reg, err := logtype.Load(configs...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil search: %v\n", err)
		return ExitUsage
	}
	if err := checkTypes(reg, types, stage.AlertLogType); err != nil {
		fmt.Fprintf(env.Stderr, "vigil search: %v\n", err)
		return ExitUsage
	}
	filter := store.Filter{Query: q, From: from, To: to, LogTypes: types}
	st, err := openReader(ctx, dataDir, "", newLogger(env.Stderr))
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil search: %v\n", err)
		return ExitFailure
	}
	defer func() { _ = st.Close() }() // read-only: nothing to flush
	if count {
		res, err := st.Aggregate(ctx, store.AggRequest{Filter: filter, Kind: store.AggCount})
		if err != nil {
			return searchError(env, err)
		}
		fmt.Fprintf(env.Stdout, "%d\n", int64(res.Value))
		return ExitOK
	}
	res, err := st.Search(ctx, store.SearchRequest{Filter: filter, Limit: limit})
	if err != nil {
		return searchError(env, err)
	}
	printHits(env.Stdout, res.Hits, asJSON)
	if !asJSON {
		fmt.Fprintf(env.Stderr, "%d of %d matching documents\n", len(res.Hits), res.Total)
	}
	return ExitOK
}

// searchError reports a failed search: a query syntax error is a usage
// error, anything else a failure.
func searchError(env *Env, err error) int {
	fmt.Fprintf(env.Stderr, "vigil search: %v\n", err)
	if isQueryError(err) {
		return ExitUsage
	}
	return ExitFailure
}

// printHits writes hits as NDJSON or as one readable line each.
func printHits(w io.Writer, hits []store.Hit, asJSON bool) {
	for _, h := range hits {
		if asJSON {
			line, _ := json.Marshal(struct {
				Index  string          `json:"_index"`
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			}{h.Index, h.ID, h.Source}) // a RawMessage from the store is valid JSON
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		var doc struct {
			Message string `json:"@message"`
			Rule    struct {
				Name string `json:"name"`
			} `json:"rule"`
		}
		_ = json.Unmarshal(h.Source, &doc) // without @message or rule.name the id stands alone
		msg := strings.Join(strings.Fields(doc.Message), " ")
		if msg == "" {
			msg = doc.Rule.Name // an alert
		}
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		fmt.Fprintf(w, "%s  %-16s %s  %s\n", time.UnixMilli(h.TimestampMs).UTC().Format(time.RFC3339), h.LogType, h.ID, msg)
	}
}

// isQueryError tells whether err is a mistake in the query (syntax, field
// or value) rather than a failure of the store.
func isQueryError(err error) bool {
	var se *query.SyntaxError
	var fe *query.FieldError
	return errors.As(err, &se) || errors.As(err, &fe)
}
