package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/logtype"
)

// DatedIndex is an index name with a date suffix and the period it covers.
type DatedIndex struct {
	// Name is the whole index name, Prefix the part before the date
	// ("log-aws-cloudtrail" of "log-aws-cloudtrail-2024-01").
	Name, Prefix string
	// Rotation is the index_rotation that forms such a suffix.
	Rotation logtype.Rotation
	// Start and End bound the period (UTC, End excluded): every document of
	// the index has a time in [Start, End) of the index's zone.
	Start, End time.Time
}

// ParseIndexDate reads the date suffix Vigil's index rotations write:
// -YYYY-MM-DD (daily), -YYYY-wWW (weekly, strftime %W: weeks start on
// Monday, days before the first Monday are week 00), -YYYY-MM (monthly),
// -YYYY (yearly). Years outside 1970–2999 are not dates (an index named
// log-app-0001 is left alone). ok is false when the name has no such
// suffix.
func ParseIndexDate(name string) (d DatedIndex, ok bool) {
	try := func(n int, rot logtype.Rotation, parse func(s string) (time.Time, time.Time, bool)) bool {
		if len(name) <= n || name[len(name)-n] != '-' {
			return false
		}
		start, end, ok := parse(name[len(name)-n+1:])
		if !ok {
			return false
		}
		d = DatedIndex{Name: name, Prefix: name[:len(name)-n], Rotation: rot, Start: start, End: end}
		return true
	}
	switch {
	case try(11, logtype.RotationDaily, parseDay):
	case try(9, logtype.RotationWeekly, parseWeek):
	case try(8, logtype.RotationMonthly, parseMonth):
	case try(5, logtype.RotationYearly, parseYear):
	default:
		return DatedIndex{}, false
	}
	return d, d.Prefix != ""
}

func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func year(s string) (int, bool) {
	y, ok := digits(s)
	return y, ok && len(s) == 4 && y >= 1970 && y <= 2999
}

func parseYear(s string) (time.Time, time.Time, bool) {
	y, ok := year(s)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	start := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(1, 0, 0), true
}

func parseMonth(s string) (time.Time, time.Time, bool) {
	ys, ms, ok := strings.Cut(s, "-")
	y, yok := year(ys)
	m, mok := digits(ms)
	if !ok || !yok || !mok || len(ms) != 2 || m < 1 || m > 12 {
		return time.Time{}, time.Time{}, false
	}
	start := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0), true
}

func parseDay(s string) (time.Time, time.Time, bool) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil || t.Year() < 1970 || t.Year() > 2999 {
		return time.Time{}, time.Time{}, false
	}
	return t, t.AddDate(0, 0, 1), true
}

func parseWeek(s string) (time.Time, time.Time, bool) {
	ys, ws, ok := strings.Cut(s, "-w")
	y, yok := year(ys)
	w, wok := digits(ws)
	if !ok || !yok || !wok || len(ws) != 2 || w > 53 {
		return time.Time{}, time.Time{}, false
	}
	jan1 := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	next := jan1.AddDate(1, 0, 0)
	toMonday := (8 - int(jan1.Weekday())) % 7 // days from Jan 1 to the first Monday
	firstMonday := jan1.AddDate(0, 0, toMonday)
	var start, end time.Time
	if w == 0 {
		start, end = jan1, firstMonday
	} else {
		start = firstMonday.AddDate(0, 0, 7*(w-1))
		end = start.AddDate(0, 0, 7)
	}
	if end.After(next) {
		end = next
	}
	if !start.Before(end) {
		// Week 53 of a year that has none, or week 00 of a year that
		// starts on a Monday: no day is written to such an index.
		return time.Time{}, time.Time{}, false
	}
	return start, end, true
}

// maxAgeDays bounds an age, far below where a duration overflows.
const maxAgeDays = 100000

// ParseAge reads a retention age: a number of days ("90d" or "90"), weeks
// ("12w"), or hours ("36h"); Go durations ("2160h30m") are accepted too.
// Ages above 100000 days are refused.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty age: want a number of days such as 90d")
	}
	unit := time.Duration(0)
	num := s
	switch {
	case strings.HasSuffix(s, "d"):
		unit, num = 24*time.Hour, strings.TrimSuffix(s, "d")
	case strings.HasSuffix(s, "w"):
		unit, num = 7*24*time.Hour, strings.TrimSuffix(s, "w")
	default:
		if n, ok := digits(s); ok {
			if n <= 0 || n > maxAgeDays {
				return 0, fmt.Errorf("age %q: want a number of days from 1 to %d", s, maxAgeDays)
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	if unit != 0 {
		n, ok := digits(num)
		if !ok || n <= 0 || n > maxAgeDays || n*int(unit/(24*time.Hour)) > maxAgeDays {
			return 0, fmt.Errorf("age %q: want a positive number of days (90d) or weeks (12w), at most %d days", s, maxAgeDays)
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d/(24*time.Hour) > maxAgeDays {
		return 0, fmt.Errorf("age %q: want a number of days (90d), weeks (12w) or a duration (36h)", s)
	}
	return d, nil
}

// RetentionOptions say which indices RetentionWith deletes.
type RetentionOptions struct {
	// OlderThan is the age: an index is deleted when the whole period of
	// its date suffix ended at least this long before Now.
	OlderThan time.Duration
	// Now is the current time.
	Now time.Time
	// DryRun lists the indices that would be deleted without deleting them.
	DryRun bool
	// Prefixes limits deletion to indices whose name before the date is
	// one of these index names or starts with one and "-" (an
	// index_suffix). Empty means every index whose name starts with "log-"
	// or "metrics-", Vigil's families.
	Prefixes []string
}

// RetentionSummary says what RetentionWith did.
type RetentionSummary struct {
	// Deleted are the indices deleted (or, in a dry run, to delete).
	Deleted []string
	// Kept counts the dated indices in scope that are not old enough;
	// Undated the indices in scope without a date suffix, never touched.
	Kept, Undated int
	// Failed counts the deletions that failed.
	Failed int
}

// Retention deletes the indices whose date suffix is older than olderThan
// at now, printing one line per index and a summary to out; with dryRun it
// only prints them. It serves `vigil retention --opensearch`; see
// RetentionWith.
func Retention(ctx context.Context, client Doer, olderThan time.Duration, now time.Time, dryRun bool, out io.Writer) error {
	_, err := RetentionWith(ctx, client, RetentionOptions{OlderThan: olderThan, Now: now, DryRun: dryRun}, out)
	return err
}

// RetentionWith lists the indices (_cat/indices), keeps those in scope
// (Prefixes) whose name ends in a date suffix (ParseIndexDate) whose period
// ended at least OlderThan before Now, and deletes each with its own
// request. Indices without a parsable suffix, hidden indices (".") and
// indices out of scope are never touched. A failed deletion is reported and
// the others proceed; the error then names how many failed.
func RetentionWith(ctx context.Context, client Doer, opts RetentionOptions, out io.Writer) (RetentionSummary, error) {
	var sum RetentionSummary
	if out == nil {
		out = io.Discard
	}
	if opts.OlderThan <= 0 {
		return sum, fmt.Errorf("retention: age %v must be positive", opts.OlderThan)
	}
	if opts.Now.IsZero() {
		return sum, errors.New("retention: no current time given")
	}
	res, err := client.Do(ctx, http.MethodGet, "/_cat/indices?format=json&h=index", nil, nil)
	if err != nil {
		return sum, fmt.Errorf("listing the indices: %w", err)
	}
	if err := res.Err(); err != nil {
		return sum, fmt.Errorf("listing the indices: %w", err)
	}
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.Unmarshal(res.Body, &rows); err != nil {
		return sum, fmt.Errorf("decoding the answer of GET /_cat/indices: %w", err)
	}
	cutoff := opts.Now.Add(-opts.OlderThan)
	var old []DatedIndex
	for _, r := range rows {
		name := r.Index
		if name == "" || strings.HasPrefix(name, ".") {
			continue
		}
		d, dated := ParseIndexDate(name)
		prefix := name
		if dated {
			prefix = d.Prefix
		}
		if !inScope(prefix, opts.Prefixes) {
			continue
		}
		switch {
		case !dated:
			sum.Undated++
		case d.End.After(cutoff):
			sum.Kept++
		default:
			old = append(old, d)
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].Name < old[j].Name })
	for _, d := range old {
		if opts.DryRun {
			fmt.Fprintf(out, "index %s: would be deleted (%s, ended %s)\n", d.Name, d.Rotation, d.End.Format("2006-01-02"))
			sum.Deleted = append(sum.Deleted, d.Name)
			continue
		}
		res, err := client.Do(ctx, http.MethodDelete, "/"+url.PathEscape(d.Name), nil, nil)
		if err == nil {
			err = res.Err()
		}
		if err != nil {
			sum.Failed++
			fmt.Fprintf(out, "index %s: failed: %v\n", d.Name, err)
			continue
		}
		sum.Deleted = append(sum.Deleted, d.Name)
		fmt.Fprintf(out, "index %s: deleted (%s, ended %s)\n", d.Name, d.Rotation, d.End.Format("2006-01-02"))
	}
	verb := "deleted"
	if opts.DryRun {
		verb = "to delete (dry run: nothing deleted)"
	}
	fmt.Fprintf(out, "retention: %d indices %s, %d kept, %d without a date suffix left alone, %d failed (cutoff %s)\n",
		len(sum.Deleted), verb, sum.Kept, sum.Undated, sum.Failed, cutoff.UTC().Format(time.RFC3339))
	if sum.Failed > 0 {
		return sum, fmt.Errorf("retention: %d of %d deletions failed", sum.Failed, len(old))
	}
	return sum, nil
}

// inScope reports whether an index prefix belongs to the families given.
func inScope(prefix string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return strings.HasPrefix(prefix, "log-") || strings.HasPrefix(prefix, "metrics-")
	}
	for _, p := range prefixes {
		if prefix == p || strings.HasPrefix(prefix, p+"-") {
			return true
		}
	}
	return false
}
