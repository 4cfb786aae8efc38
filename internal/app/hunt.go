package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/alert"
	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/stage"
	"github.com/vigil-siem/vigil/internal/store"
)

const huntUsage = `usage: vigil hunt [flags] RULE

Runs one detection or correlation rule over the documents already in the
embedded store, oldest first, and prints its matches. RULE is a rule file
(every rule in it runs), or the id, name or title of a rule in the --rules
directory. A detection rule reports its own matches even when it only feeds
a correlation; a correlation rule runs with the rules it refers to, read
from --rules (and from its own file). Nothing is written: no alerts, no
notifications.

flags:
  --rules DIR       rule directory (default rules)
  --since WHEN      how far back: a duration such as 30d, 12h or 90m, a date
                    (2025-06-01) or an RFC 3339 time (default 30d)
  --until WHEN      where to stop, same forms (default: now)
  --data-dir DIR    the embedded store (default vigil-data)
  --serve URL       read through the vigil serve at URL (e.g.
                    http://127.0.0.1:8080) instead of opening the store.
                    Without it, a vigil serve that holds the store is read
                    through all the same, with the credentials in
                    $VIGIL_AUTH_TOKEN or $VIGIL_BASIC_AUTH
  --json            one JSON object per match instead of text

Text output: one line per match, the event time, the rule, the document
(index/_id) and the rule's key fields (its fields: list); correlation
matches show their window, count, group-by values and documents. A summary
goes to stderr. Exit status: 0 when the history was searched (with or
without matches), 1 when the store failed or a rule did not load, 2 for
usage errors.
`

// huntPageSize is the number of documents read per store request.
const huntPageSize = 10000

// huntOptions are the parsed flags of vigil hunt.
type huntOptions struct {
	rules, dataDir, serve string
	since, until          time.Time
	json                  bool
	rule                  string
}

func parseHuntFlags(args []string, now time.Time) (*huntOptions, error) {
	o := &huntOptions{}
	fs := flag.NewFlagSet("hunt", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.rules, "rules", "rules", "")
	since := fs.String("since", "30d", "")
	until := fs.String("until", "", "")
	fs.StringVar(&o.dataDir, "data-dir", "vigil-data", "")
	fs.StringVar(&o.serve, "serve", "", "")
	fs.BoolVar(&o.json, "json", false, "")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, errors.New("expected one RULE (a rule file, or a rule id, name or title)")
	}
	o.rule = pos[0]
	if o.since, err = parseWhen(*since, now); err != nil {
		return nil, fmt.Errorf("--since: %w", err)
	}
	o.until = now
	if *until != "" {
		if o.until, err = parseWhen(*until, now); err != nil {
			return nil, fmt.Errorf("--until: %w", err)
		}
	}
	if !o.since.Before(o.until) {
		return nil, fmt.Errorf("--since %s is not before --until %s", o.since.Format(time.RFC3339), o.until.Format(time.RFC3339))
	}
	return o, nil
}

// parseWhen reads a point in time: a duration back from now (Go syntax
// plus d for days and w for weeks: 30d, 1w2d, 12h, 90m), a date or an
// RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	d, err := parseDays(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (30d, 12h, 90m) nor a date (2025-06-01) nor an RFC 3339 time", s)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("%q: the duration must be positive", s)
	}
	return now.Add(-d), nil
}

// parseDays is time.ParseDuration with the units d (24h) and w (7d).
func parseDays(s string) (time.Duration, error) {
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		if i == 0 || j == i {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		var mult time.Duration
		switch unit {
		case "d":
			mult = 24 * time.Hour
		case "w":
			mult = 7 * 24 * time.Hour
		default:
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, err
			}
			total += d
			continue
		}
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, err
		}
		total += time.Duration(n * float64(mult))
	}
	return total, nil
}

// huntRules is what a hunt evaluates: the compiled rules, the rules whose
// matches are reported, and the log types they read.
type huntRules struct {
	eng      *sigma.Engine
	targets  map[*sigma.Rule]bool
	logTypes []string // empty: every log type
	maxSpan  time.Duration
	corr     bool
}

// resolveHuntRules finds RULE (a file, or an id, name or title in the rule
// directory) and compiles it with what it refers to. Problems of unrelated
// rules are not reported; a RULE that is not found is a usage error.
func resolveHuntRules(o *huntOptions) (hr *huntRules, usage bool, err error) {
	var dirRules []*sigma.Rule
	if st, err := os.Stat(o.rules); err == nil && st.IsDir() {
		rs, _, err := loadRules(o.rules)
		if err == nil {
			dirRules = rs.Rules
		}
	}
	var targets []*sigma.Rule
	var all []*sigma.Rule
	if st, err := os.Stat(o.rule); err == nil && !st.IsDir() {
		rs, loadErrs, err := loadRules(o.rule)
		if err != nil {
			return nil, true, err
		}
		if len(loadErrs) > 0 {
			return nil, false, fmt.Errorf("%s: %w", o.rule, errors.Join(loadErrs...))
		}
		for _, r := range rs.Rules {
			if !r.Derived || r.Correlation != nil {
				targets = append(targets, r)
			}
		}
		all = append(all, rs.Rules...)
		for _, r := range dirRules {
			if r.File != o.rule && r.Correlation == nil {
				all = append(all, r)
			}
		}
	} else {
		if dirRules == nil {
			return nil, true, fmt.Errorf("RULE %q is not a file, and the rule directory %s has no rules to look it up in", o.rule, o.rules)
		}
		for _, r := range dirRules {
			if r.Derived && r.Correlation == nil {
				continue
			}
			if r.ID == o.rule || r.Name == o.rule || strings.EqualFold(r.Title, o.rule) {
				targets = append(targets, r)
			}
		}
		switch len(targets) {
		case 0:
			return nil, true, fmt.Errorf("no rule with the id, name or title %q in %s", o.rule, o.rules)
		case 1:
		default:
			var where []string
			for _, r := range targets {
				where = append(where, fmt.Sprintf("%s (%s:%d)", r.Ref(), r.File, r.Line))
			}
			return nil, true, fmt.Errorf("%q names %d rules: %s; give the id", o.rule, len(targets), strings.Join(where, ", "))
		}
		all = dirRules
	}
	if len(targets) == 0 {
		return nil, true, fmt.Errorf("%s holds no rule", o.rule)
	}
	var eng *sigma.Engine
	if len(targets) == 1 {
		eng, err = testEngine(all, targets[0])
	} else {
		eng, err = sigma.Compile(all, sigma.Options{})
		if eng != nil {
			// Failures of the file's own rules count; others do not.
			var own []error
			for _, e := range splitErrors(err) {
				var re *sigma.RuleError
				if !errors.As(e, &re) || re.File == o.rule {
					own = append(own, e)
				}
			}
			err = errors.Join(own...)
		}
	}
	if err != nil {
		return nil, false, err
	}
	hr = &huntRules{eng: eng, targets: map[*sigma.Rule]bool{}}
	for _, r := range targets {
		hr.targets[r] = true
	}
	det, corrs := eng.Rules()
	hr.corr = len(corrs) > 0
	for _, c := range corrs {
		hr.maxSpan = max(hr.maxSpan, c.Correlation.Timespan)
	}
	table := sigma.DefaultLogsources()
	types := map[string]bool{}
	for _, r := range det {
		ts, anyType := r.Logsource.LogTypes(table)
		if anyType {
			types = nil
			break
		}
		for _, t := range ts {
			types[t] = true
		}
	}
	for t := range types {
		hr.logTypes = append(hr.logTypes, t)
	}
	sort.Strings(hr.logTypes)
	if types != nil && len(hr.logTypes) == 0 {
		return nil, true, fmt.Errorf("the logsource of %s selects no log type: nothing to search", o.rule)
	}
	return hr, false, nil
}

// huntMatch is one match in --json output.
type huntMatch struct {
	Rule        string            `json:"rule"`
	Title       string            `json:"title,omitempty"`
	Level       string            `json:"level,omitempty"`
	Time        time.Time         `json:"@timestamp"`
	Index       string            `json:"_index,omitempty"`
	ID          string            `json:"_id,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	Correlation bool              `json:"correlation,omitempty"`
	WindowStart *time.Time        `json:"window_start,omitempty"`
	WindowEnd   *time.Time        `json:"window_end,omitempty"`
	Count       int               `json:"count,omitempty"`
	GroupBy     map[string]string `json:"group_by,omitempty"`
	DocIDs      []string          `json:"doc_ids,omitempty"`
}

// hunter evaluates documents and prints the matches.
type hunter struct {
	hr      *huntRules
	corr    *sigma.Correlator
	ev      sigma.JSONEvent
	doc     stage.DocEvent
	ms      []sigma.Match
	out     *bufio.Writer
	json    bool
	paths   map[string]*sigma.Path
	byRule  map[string]int
	matches int
	maxT    time.Time
}

func (h *hunter) path(name string) *sigma.Path {
	p, ok := h.paths[name]
	if !ok {
		p = sigma.NewPath(name)
		h.paths[name] = p
	}
	return p
}

// process evaluates one stored document.
func (h *hunter) process(hit *store.Hit) {
	if hit.LogType == stage.AlertLogType || h.ev.Reset(hit.Source) != nil {
		return
	}
	t := time.UnixMilli(hit.TimestampMs).UTC()
	if t.After(h.maxT) {
		h.maxT = t
	}
	if h.corr != nil {
		h.doc = stage.DocEvent{Event: &h.ev, ID: hit.ID}
		ms, cms := h.corr.ProcessEvent(&h.doc, t, hit.LogType)
		h.detections(ms, hit, t)
		h.correlations(cms)
		return
	}
	h.ms = h.hr.eng.AppendMatches(h.ms[:0], &h.ev, hit.LogType)
	h.detections(h.ms, hit, t)
}

func (h *hunter) detections(ms []sigma.Match, hit *store.Hit, t time.Time) {
	for _, m := range ms {
		if !h.hr.targets[m.Rule] {
			continue
		}
		var fields map[string]string
		for _, f := range m.Rule.Fields {
			if v, ok := h.ev.Field(h.path(f)); ok && v != nil {
				if fields == nil {
					fields = map[string]string{}
				}
				fields[f] = alert.FieldString(v)
			}
		}
		h.emit(huntMatch{Rule: m.RuleID, Title: m.Title, Level: m.Level, Time: t, Index: hit.Index, ID: hit.ID, Fields: fields})
	}
}

func (h *hunter) correlations(cms []sigma.CorrelationMatch) {
	for _, cm := range cms {
		if !h.hr.targets[cm.Rule] {
			continue
		}
		ws, we := cm.WindowStart, cm.WindowEnd
		h.emit(huntMatch{Rule: cm.RuleID, Title: cm.Title, Level: cm.Level, Time: cm.Time, Correlation: true,
			WindowStart: &ws, WindowEnd: &we, Count: cm.Count, GroupBy: cm.GroupBy, DocIDs: cm.Refs})
	}
}

// finish decides the windows still open: the history searched is all
// there is.
func (h *hunter) finish() {
	if h.corr != nil && !h.maxT.IsZero() {
		h.correlations(h.corr.Flush(h.maxT.Add(2*h.hr.maxSpan + time.Second)))
	}
}

func (h *hunter) emit(m huntMatch) {
	h.matches++
	h.byRule[m.Rule]++
	if h.json {
		b, _ := json.Marshal(m) // strings, numbers and times only
		// bufio.Writer keeps its first error; the final Flush reports it.
		_, _ = h.out.Write(b)
		_ = h.out.WriteByte('\n')
		return
	}
	var b strings.Builder
	b.WriteString(m.Time.UTC().Format(time.RFC3339))
	b.WriteString("  ")
	if m.Title != "" {
		fmt.Fprintf(&b, "%s (%s)", m.Title, m.Rule)
	} else {
		b.WriteString(m.Rule)
	}
	if m.Correlation {
		fmt.Fprintf(&b, "  correlation: %d events in %s..%s", m.Count,
			m.WindowStart.UTC().Format(time.RFC3339), m.WindowEnd.UTC().Format(time.RFC3339))
		writeFields(&b, m.GroupBy)
		if len(m.DocIDs) > 0 {
			fmt.Fprintf(&b, "  docs: %s", strings.Join(m.DocIDs, ","))
		}
	} else {
		fmt.Fprintf(&b, "  %s/%s", m.Index, m.ID)
		writeFields(&b, m.Fields)
	}
	b.WriteByte('\n')
	_, _ = h.out.WriteString(b.String()) // the final Flush reports an error
}

// writeFields writes name=value pairs sorted by name; values with spaces
// are quoted.
func writeFields(b *strings.Builder, m map[string]string) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := m[k]
		if v == "" || strings.ContainsAny(v, " \t\"") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(b, "  %s=%s", k, v)
	}
}

func runHunt(ctx context.Context, env *Env, args []string) int {
	o, err := parseHuntFlags(args, time.Now())
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, huntUsage)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil hunt: %v\n\n%s", err, huntUsage)
		return ExitUsage
	}
	hr, usage, err := resolveHuntRules(o)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil hunt: %v\n", err)
		if usage {
			return ExitUsage
		}
		return ExitFailure
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openReader(ctx, o.dataDir, o.serve, logger)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigil hunt: opening the store in %s: %v\n", o.dataDir, err)
		return ExitFailure
	}
	defer func() { _ = st.Close() }() // opened read-only: nothing to flush
	return huntStore(ctx, env, o, hr, st)
}

// huntStore runs the hunt over st and prints the matches and the summary.
func huntStore(ctx context.Context, env *Env, o *huntOptions, hr *huntRules, st store.Store) int {
	start := time.Now()
	out := bufio.NewWriterSize(env.Stdout, 1<<16)
	h := &hunter{hr: hr, out: out, json: o.json, paths: map[string]*sigma.Path{}, byRule: map[string]int{}}
	if hr.corr {
		h.corr = hr.eng.NewCorrelator(sigma.CorrelatorConfig{RefField: stage.RefField, MaxRefs: 100})
	}
	scanned, err := huntPages(ctx, st, store.Filter{From: o.since.UnixMilli(), To: o.until.UnixMilli(), LogTypes: hr.logTypes}, func(hit *store.Hit) {
		h.process(hit)
	})
	if err == nil {
		h.finish()
	}
	ferr := out.Flush()
	types := "all log types"
	if len(hr.logTypes) > 0 {
		types = strings.Join(hr.logTypes, ", ")
	}
	var per []string
	for r, n := range h.byRule {
		per = append(per, fmt.Sprintf("%s: %d", r, n))
	}
	sort.Strings(per)
	summary := fmt.Sprintf("vigil hunt: %d documents (%s) from %s to %s: %d matches", scanned, types,
		o.since.UTC().Format(time.RFC3339), o.until.UTC().Format(time.RFC3339), h.matches)
	if len(per) > 1 {
		summary += " (" + strings.Join(per, "; ") + ")"
	}
	fmt.Fprintf(env.Stderr, "%s in %.2f s\n", summary, time.Since(start).Seconds())
	switch {
	case err != nil:
		fmt.Fprintf(env.Stderr, "vigil hunt: reading the store: %v\n", err)
		return ExitFailure
	case ferr != nil:
		fmt.Fprintf(env.Stderr, "vigil hunt: writing matches: %v\n", ferr)
		return ExitFailure
	}
	return ExitOK
}

// huntPages reads every document f selects, oldest first, and calls fn
// with each; it returns how many it read. Pages continue from the last
// timestamp seen (documents of that millisecond already read are skipped
// by id), so a page costs the same however deep into the history it is.
func huntPages(ctx context.Context, st store.Store, f store.Filter, fn func(*store.Hit)) (int64, error) {
	var n int64
	lastTs := int64(-1 << 63)
	seen := map[string]bool{} // ids read at lastTs
	offset := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		res, err := st.Search(ctx, store.SearchRequest{Filter: f, Asc: true, Offset: offset, Limit: huntPageSize})
		if err != nil {
			return n, err
		}
		fresh := 0
		for i := range res.Hits {
			hit := &res.Hits[i]
			if hit.TimestampMs == lastTs && seen[hit.ID] {
				continue
			}
			if hit.TimestampMs != lastTs {
				lastTs = hit.TimestampMs
				clear(seen)
			}
			seen[hit.ID] = true
			fresh++
			n++
			fn(hit)
		}
		if len(res.Hits) < huntPageSize {
			return n, nil
		}
		if fresh == 0 {
			// A whole page in one millisecond, all read: step over it.
			offset += huntPageSize
			continue
		}
		f.From, offset = lastTs, 0
	}
}
