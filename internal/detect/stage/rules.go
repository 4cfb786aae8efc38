package stage

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
)

// ruleSet is one compiled generation of the rules. It is immutable once
// built; the Detector swaps whole sets on reload.
type ruleSet struct {
	// eng holds every rule; its AppendMatches gives the standalone
	// detection matches (rules feeding a correlation without `generate`
	// stay silent, as the correlation's definition says).
	eng   *sigma.Engine
	types typeFilter
	// feed holds the detection rules some correlation references, compiled
	// on their own so that each raises a match: a document matching one
	// of them must go to the correlator. nil when there is no correlation.
	feed      *sigma.Engine
	feedTypes typeFilter
	// corrEng holds the correlations and the rules they reference; the
	// Correlator evaluates it.
	corrEng *sigma.Engine
	// maxSpan is the longest correlation timespan.
	maxSpan time.Duration

	detection, correlation int
	files                  int
}

// typeFilter tells whether any rule of an engine applies to a log type,
// so documents of other types skip the engine entirely.
type typeFilter struct {
	all   bool // some rule has no logsource: it applies to every type
	types map[string]bool
}

func (f *typeFilter) add(r *sigma.Rule, table []sigma.LogsourceMapping) {
	types, all := r.Logsource.LogTypes(table)
	if all {
		f.all = true
		return
	}
	if f.types == nil {
		f.types = map[string]bool{}
	}
	for _, t := range types {
		f.types[t] = true
	}
}

func (f *typeFilter) applies(logType string) bool {
	return f.all || f.types[logType]
}

// loadRules parses every rule below dirs (a dir is walked for *.yml and
// *.yaml; a file is read as it is). It returns the rules, the number of
// files, the problems (one error per invalid document, naming file:line)
// and a fatal error when a path cannot be read at all.
func loadRules(dirs []string) ([]*sigma.Rule, int, []error, error) {
	var rules []*sigma.Rule
	var problems []error
	files := 0
	for _, dir := range dirs {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("reading rules: %w", err)
		}
		if !st.IsDir() {
			data, err := os.ReadFile(dir)
			if err != nil {
				return nil, 0, nil, fmt.Errorf("reading rules: %w", err)
			}
			files++
			rs, err := sigma.Parse(dir, data)
			rules = append(rules, rs...)
			problems = append(problems, splitErrors(err)...)
			continue
		}
		fs, err := ruleFiles(dir)
		if err != nil {
			return nil, 0, nil, err
		}
		files += len(fs)
		rs, errs := sigma.LoadDir(dir)
		rules = append(rules, rs.Rules...)
		problems = append(problems, errs...)
	}
	return rules, files, problems, nil
}

// ruleFiles lists the rule files below dir.
func ruleFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // LoadDir reports it with the rules
		}
		if ext := strings.ToLower(filepath.Ext(p)); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking rule directory %s: %w", dir, err)
	}
	return files, nil
}

// fingerprint hashes the names, sizes and modification times of the rule
// files below dirs (and the dirs themselves), so Watch notices an edit, a
// new file or a deleted one.
func fingerprint(dirs []string) uint64 {
	h := fnv.New64a()
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				h.Write([]byte("error:" + p + "\x00"))
				return nil
			}
			ext := strings.ToLower(filepath.Ext(p))
			if d.IsDir() || ext == ".yml" || ext == ".yaml" {
				info, err := d.Info()
				if err != nil {
					return nil //nolint:nilerr // a file removed during the walk changes the hash anyway
				}
				h.Write([]byte(p))
				h.Write([]byte{0})
				h.Write([]byte(strconv.FormatInt(info.Size(), 10)))
				h.Write([]byte{0})
				h.Write([]byte(strconv.FormatInt(info.ModTime().UnixNano(), 10)))
				h.Write([]byte{0})
			}
			return nil
		})
	}
	return h.Sum64()
}

// compileSet compiles rules into a ruleSet. Rules that fail are reported
// in problems; the set holds the others.
func compileSet(rules []*sigma.Rule, opts sigma.Options) (*ruleSet, []error) {
	var problems []error
	eng, err := sigma.Compile(rules, opts)
	if eng == nil {
		return nil, []error{fmt.Errorf("compiling rules: %w", err)}
	}
	problems = append(problems, splitErrors(err)...)
	det, corrs := eng.Rules()
	rs := &ruleSet{eng: eng, correlation: len(corrs)}
	table := opts.Logsources
	if table == nil {
		table = sigma.DefaultLogsources()
	}
	for _, r := range det {
		if !r.Derived {
			rs.detection++
		}
		rs.types.add(r, table)
	}
	// Every rule id should name one rule: alerts, suppressions and the
	// correlation state are keyed by it.
	seen := map[string]string{}
	for _, r := range append(append([]*sigma.Rule(nil), det...), corrs...) {
		if r.ID == "" {
			continue
		}
		where := fmt.Sprintf("%s:%d", r.File, r.Line)
		if prev, ok := seen[r.ID]; ok {
			problems = append(problems, fmt.Errorf("%s: rule id %s already used at %s: their alerts share one id space", where, r.ID, prev))
			continue
		}
		seen[r.ID] = where
	}

	// The rules correlations reference, by id or name.
	refs := map[string]bool{}
	for _, c := range corrs {
		for _, ref := range c.Correlation.Rules {
			refs[ref] = true
		}
		rs.maxSpan = max(rs.maxSpan, c.Correlation.Timespan)
	}
	var feeders []*sigma.Rule
	for _, r := range det {
		if (r.ID != "" && refs[r.ID]) || (r.Name != "" && refs[r.Name]) {
			feeders = append(feeders, r)
			rs.feedTypes.add(r, table)
		}
	}
	// These compile: they did above, with the same options.
	if len(corrs) > 0 && len(feeders) > 0 {
		rs.feed, _ = sigma.Compile(feeders, opts)
	}
	rs.corrEng, _ = sigma.Compile(append(feeders, corrs...), opts)
	return rs, problems
}

// splitErrors splits an errors.Join result into its parts.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}

// sortErrors orders problems by their text (file:line first), for stable
// reports.
func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}
