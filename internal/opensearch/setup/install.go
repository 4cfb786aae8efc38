package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-siem/vigil/internal/opensearch"
)

// Doer sends one HTTP request; *opensearch.Client implements it, for the
// cluster and for OpenSearch Dashboards alike. Any HTTP answer comes back
// with a nil error (see opensearch.Client.Do).
type Doer interface {
	Do(ctx context.Context, method, path string, body io.Reader, hdr http.Header) (*opensearch.Response, error)
}

// Outcome is what Install did, or would do, with one object.
type Outcome string

// Outcomes reported per object.
const (
	Created  Outcome = "created"
	Updated  Outcome = "updated"
	UpToDate Outcome = "up to date"
	Failed   Outcome = "failed"
)

// Summary counts the objects by outcome.
type Summary struct {
	Created, Updated, UpToDate, Failed int
	// Writes is the number of write requests sent (zero in a dry run).
	Writes int
}

// Total is the number of objects looked at.
func (s Summary) Total() int { return s.Created + s.Updated + s.UpToDate + s.Failed }

func (s *Summary) add(o Outcome) {
	switch o {
	case Created:
		s.Created++
	case Updated:
		s.Updated++
	case UpToDate:
		s.UpToDate++
	case Failed:
		s.Failed++
	}
}

// Installer installs a Plan. Its fields are read-only during Install.
type Installer struct {
	// Cluster is the OpenSearch cluster (required).
	Cluster Doer
	// Dashboards is OpenSearch Dashboards; nil skips the saved objects.
	Dashboards Doer
	// DryRun reads what is installed and reports what would change
	// without writing anything.
	DryRun bool
	// Out receives one line per object and the summary; nil discards.
	Out io.Writer
}

// ErrFailed is returned (wrapped, with the count) when some objects could
// not be installed; each is reported on its own line.
var ErrFailed = errors.New("some objects were not installed")

// Install brings the cluster (and Dashboards, when set) to the plan: it
// reads every object, compares it with the desired one and writes only
// those that are missing or differ, in dependency order (component
// templates, index templates, ISM policies, write aliases, saved objects).
// It prints one line per object ("<kind> <name>: created | updated | up to
// date") and a summary. An object that fails is reported and the others
// are still installed; the error then wraps ErrFailed.
func (in *Installer) Install(ctx context.Context, p *Plan) (Summary, error) {
	if in.Cluster == nil {
		return Summary{}, errors.New("installing: no OpenSearch cluster given")
	}
	r := &run{in: in, out: in.Out}
	if r.out == nil {
		r.out = io.Discard
	}
	for _, o := range p.Components {
		if r.unreachable != nil {
			break
		}
		r.template(ctx, o, "/_component_template/", "component_templates", "component_template", nil)
	}
	var others []installedTemplate
	if r.unreachable == nil {
		var err error
		if others, err = r.otherIndexTemplates(ctx); err != nil {
			r.summary()
			return r.sum, err
		}
	}
	for _, o := range p.IndexTemplates {
		if r.unreachable != nil {
			break
		}
		r.template(ctx, o, "/_index_template/", "index_templates", "index_template", others)
	}
	for _, o := range p.Policies {
		if r.unreachable != nil {
			break
		}
		r.policy(ctx, o)
	}
	for _, o := range p.WriteAliases {
		if r.unreachable != nil {
			break
		}
		r.writeAlias(ctx, o)
	}
	if in.Dashboards != nil && len(p.SavedObjects) > 0 && r.unreachable == nil {
		r.savedObjects(ctx, p.SavedObjects)
	}
	r.summary()
	if r.unreachable != nil {
		return r.sum, fmt.Errorf("stopped: the cluster did not answer: %w", r.unreachable)
	}
	if r.sum.Failed > 0 {
		return r.sum, fmt.Errorf("%d of %d objects failed: %w", r.sum.Failed, r.sum.Total(), ErrFailed)
	}
	return r.sum, nil
}

// run is the state of one Install.
type run struct {
	in  *Installer
	out io.Writer
	sum Summary
	// unreachable is the first error of a request that got no answer from
	// the cluster; the objects after it are not tried.
	unreachable error
}

// report prints one object's line and counts it.
func (r *run) report(kind Kind, name string, o Outcome, note string) {
	r.sum.add(o)
	word := string(o)
	if r.in.DryRun {
		switch o {
		case Created:
			word = "would be created"
		case Updated:
			word = "would be updated"
		}
	}
	if note != "" {
		word += " (" + note + ")"
	}
	fmt.Fprintf(r.out, "%s %s: %s\n", kind, name, word)
}

func (r *run) fail(kind Kind, name string, err error) {
	var te *opensearch.TransportError
	if errors.As(err, &te) && kind != KindIndexPattern && kind != KindVisualization && kind != KindDashboard && r.unreachable == nil {
		r.unreachable = err
	}
	r.sum.add(Failed)
	fmt.Fprintf(r.out, "%s %s: failed: %v\n", kind, name, err)
}

func (r *run) summary() {
	s := r.sum
	verb := ""
	if r.in.DryRun {
		verb = " (dry run: nothing written)"
	}
	if s.Created+s.Updated+s.Failed == 0 {
		fmt.Fprintf(r.out, "%s, all up to date%s\n", objects(s.Total()), verb)
		return
	}
	c, u := "created", "updated"
	if r.in.DryRun {
		c, u = "to create", "to update"
	}
	fmt.Fprintf(r.out, "%s: %d %s, %d %s, %d up to date, %d failed%s\n", objects(s.Total()), s.Created, c, s.Updated, u, s.UpToDate, s.Failed, verb)
}

func objects(n int) string {
	if n == 1 {
		return "1 object"
	}
	return fmt.Sprintf("%d objects", n)
}

// get reads one JSON object; found is false for 404.
func get(ctx context.Context, c Doer, p string, out any) (found bool, err error) {
	res, err := c.Do(ctx, http.MethodGet, p, nil, nil)
	if err != nil {
		return false, err
	}
	if res.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if err := res.Err(); err != nil {
		return false, err
	}
	if err := json.Unmarshal(res.Body, out); err != nil {
		return false, fmt.Errorf("decoding the answer of GET %s: %w", pathOnly(p), err)
	}
	return true, nil
}

// write sends one write request with a JSON body; it is not sent in a dry
// run.
func (r *run) write(ctx context.Context, c Doer, method, p string, body any, hdr http.Header) error {
	if r.in.DryRun {
		return nil
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding the body of %s %s: %w", method, pathOnly(p), err)
		}
		rd = bytes.NewReader(b)
	}
	r.sum.Writes++
	res, err := c.Do(ctx, method, p, rd, hdr)
	if err != nil {
		return err
	}
	return res.Err()
}

func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// installedTemplate is one entry of GET _component_template or
// _index_template.
type installedTemplate struct {
	Name string
	Body map[string]any
}

// templateList decodes {"<listKey>":[{"name":..., "<itemKey>":{...}}]}.
func templateList(raw map[string]json.RawMessage, listKey, itemKey string) ([]installedTemplate, error) {
	var items []map[string]json.RawMessage
	if b, ok := raw[listKey]; ok {
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", listKey, err)
		}
	}
	var out []installedTemplate
	for _, it := range items {
		var t installedTemplate
		if err := json.Unmarshal(it["name"], &t.Name); err != nil {
			return nil, fmt.Errorf("decoding the name of a %s: %w", itemKey, err)
		}
		if err := json.Unmarshal(it[itemKey], &t.Body); err != nil {
			return nil, fmt.Errorf("decoding %s %s: %w", itemKey, t.Name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// template installs one component or index template. others are the
// index templates not managed by Vigil, to report overrides.
func (r *run) template(ctx context.Context, o Object, prefix, listKey, itemKey string, others []installedTemplate) {
	p := prefix + url.PathEscape(o.Name)
	var raw map[string]json.RawMessage
	found, err := get(ctx, r.in.Cluster, p, &raw)
	if err != nil {
		r.fail(o.Kind, o.Name, err)
		return
	}
	outcome := Created
	if found {
		list, err := templateList(raw, listKey, itemKey)
		if err != nil {
			r.fail(o.Kind, o.Name, fmt.Errorf("reading the installed %s: %w", o.Kind, err))
			return
		}
		for _, t := range list {
			if t.Name != o.Name {
				continue
			}
			same, err := sameTemplate(o.Body, t.Body)
			if err != nil {
				r.fail(o.Kind, o.Name, err)
				return
			}
			outcome = Updated
			if same {
				outcome = UpToDate
			}
		}
	}
	note := ""
	if o.Kind == KindIndexTemplate {
		note, err = checkOverrides(o, others)
		if err != nil {
			r.fail(o.Kind, o.Name, err)
			return
		}
	}
	if outcome != UpToDate {
		if err := r.write(ctx, r.in.Cluster, http.MethodPut, p, o.Body, nil); err != nil {
			r.fail(o.Kind, o.Name, err)
			return
		}
	}
	r.report(o.Kind, o.Name, outcome, note)
}

// otherIndexTemplates lists the index templates that Vigil does not
// manage.
func (r *run) otherIndexTemplates(ctx context.Context) ([]installedTemplate, error) {
	var raw map[string]json.RawMessage
	found, err := get(ctx, r.in.Cluster, "/_index_template", &raw)
	if err != nil {
		return nil, fmt.Errorf("listing the index templates: %w", err)
	}
	if !found {
		return nil, nil
	}
	all, err := templateList(raw, "index_templates", "index_template")
	if err != nil {
		return nil, fmt.Errorf("listing the index templates: %w", err)
	}
	var out []installedTemplate
	for _, t := range all {
		if meta, ok := t.Body["_meta"].(map[string]any); ok && meta["managed_by"] == ManagedBy && strings.HasPrefix(t.Name, "vigil-") {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// checkOverrides names the templates of the user's own that match the same
// indices as o with a higher priority (they win: Vigil's template is
// installed but not used for those indices), and fails when one has the
// same priority (OpenSearch refuses two such templates).
func checkOverrides(o Object, others []installedTemplate) (string, error) {
	prio := number(o.Body["priority"])
	pats := stringList(o.Body["index_patterns"])
	var over []string
	for _, t := range others {
		if !patternsOverlap(pats, stringList(t.Body["index_patterns"])) {
			continue
		}
		tp := number(t.Body["priority"])
		switch {
		case tp > prio:
			over = append(over, fmt.Sprintf("%s, priority %s", t.Name, strconv.FormatFloat(tp, 'f', -1, 64)))
		case tp == prio:
			return "", fmt.Errorf("index template %s matches the same indices with the same priority %s: give it another priority (above %d to override Vigil's templates)",
				t.Name, strconv.FormatFloat(tp, 'f', -1, 64), MaxPriority)
		}
	}
	if len(over) == 0 {
		return "", nil
	}
	sort.Strings(over)
	return "overridden by " + strings.Join(over, "; "), nil
}

func number(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

func stringList(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	case string:
		return []string{x}
	}
	return nil
}

// patternsOverlap reports whether some index name could match a pattern of
// each list. Patterns are OpenSearch wildcards ("*" only); two patterns
// overlap when their literal prefixes (before the first "*") are one a
// prefix of the other and, if neither has a "*", they are equal.
func patternsOverlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if globOverlap(x, y) {
				return true
			}
		}
	}
	return false
}

func globOverlap(x, y string) bool {
	if x == y {
		return true
	}
	if ok, _ := path.Match(x, y); ok {
		return true
	}
	if ok, _ := path.Match(y, x); ok {
		return true
	}
	lx, _, wx := strings.Cut(x, "*")
	ly, _, wy := strings.Cut(y, "*")
	if !wx || !wy {
		return false // a literal name was matched against the other pattern above
	}
	if len(lx) > len(ly) {
		lx, ly = ly, lx
	}
	return strings.HasPrefix(ly, lx)
}

// ismPolicyAnswer is GET _plugins/_ism/policies/<id>.
type ismPolicyAnswer struct {
	SeqNo       *int64         `json:"_seq_no"`
	PrimaryTerm *int64         `json:"_primary_term"`
	Policy      map[string]any `json:"policy"`
}

// policy installs one ISM policy; an update names the sequence number and
// primary term read, as ISM requires.
func (r *run) policy(ctx context.Context, o Object) {
	p := "/_plugins/_ism/policies/" + url.PathEscape(o.Name)
	var got ismPolicyAnswer
	found, err := get(ctx, r.in.Cluster, p, &got)
	if err != nil {
		r.fail(o.Kind, o.Name, err)
		return
	}
	desired, _ := o.Body["policy"].(map[string]any)
	outcome := Created
	target := p
	if found {
		same, err := samePolicy(desired, got.Policy)
		if err != nil {
			r.fail(o.Kind, o.Name, err)
			return
		}
		if same {
			r.report(o.Kind, o.Name, UpToDate, "")
			return
		}
		if got.SeqNo == nil || got.PrimaryTerm == nil {
			r.fail(o.Kind, o.Name, errors.New("the installed policy came without _seq_no and _primary_term, needed to update it"))
			return
		}
		outcome = Updated
		target = fmt.Sprintf("%s?if_seq_no=%d&if_primary_term=%d", p, *got.SeqNo, *got.PrimaryTerm)
	}
	if err := r.write(ctx, r.in.Cluster, http.MethodPut, target, o.Body, nil); err != nil {
		r.fail(o.Kind, o.Name, err)
		return
	}
	r.report(o.Kind, o.Name, outcome, "")
}

// writeAlias makes sure the write alias of an index_rotation = auto index
// name exists, creating its first index when it does not.
func (r *run) writeAlias(ctx context.Context, o Object) {
	var aliases map[string]any
	found, err := get(ctx, r.in.Cluster, "/_alias/"+url.PathEscape(o.Name), &aliases)
	if err != nil {
		r.fail(o.Kind, o.Name, err)
		return
	}
	if found && len(aliases) > 0 {
		r.report(o.Kind, o.Name, UpToDate, "")
		return
	}
	res, err := r.in.Cluster.Do(ctx, http.MethodHead, "/"+url.PathEscape(o.Name), nil, nil)
	if err != nil {
		r.fail(o.Kind, o.Name, err)
		return
	}
	if res.StatusCode == http.StatusOK {
		r.fail(o.Kind, o.Name, fmt.Errorf("an index named %s exists: rollover needs %s to be an alias; reindex it into %s and delete it", o.Name, o.Name, o.Index))
		return
	}
	if err := r.write(ctx, r.in.Cluster, http.MethodPut, "/"+url.PathEscape(o.Index), o.Body, nil); err != nil {
		r.fail(o.Kind, o.Name, err)
		return
	}
	r.report(o.Kind, o.Name, Created, "first index "+o.Index)
}
