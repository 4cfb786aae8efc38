package setup

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/vigil-siem/vigil/internal/logtype"
)

// RetentionKey is the log type setting (in a user.ini section, or in
// DEFAULT for every type) that gives the days an index of that type is
// kept before Index State Management deletes it.
const RetentionKey = "retention_days"

// Defaults of Options.
const (
	// DefaultRolloverSize is the primary store size at which an index of an
	// index_rotation = auto type rolls over.
	DefaultRolloverSize = "50gb"
	// DefaultRolloverAge is the age at which it rolls over even when
	// smaller.
	DefaultRolloverAge = "30d"
	// basePriority is the priority of Vigil's index templates and ISM
	// templates for a one-word index name; every "-" in the name adds one,
	// so a longer name that extends a shorter one (log-aws-cloudtrail-org
	// and log-aws-cloudtrail) never has the same priority.
	basePriority = 100
	// MaxPriority is the highest priority Vigil's templates can have for
	// the built-in index names; a template of the user's own with a higher
	// priority overrides Vigil's.
	MaxPriority = 199
	// FirstRolloverIndex is the suffix of the first index behind a write
	// alias.
	FirstRolloverIndex = "-000001"
	// ManagedBy is the _meta.managed_by value of every object Vigil
	// writes.
	ManagedBy = "vigil"
)

// Options are the settings of the desired state that the log types do not
// give.
type Options struct {
	// RetentionDays is the retention of log types without retention_days;
	// 0 keeps their indices forever.
	RetentionDays int
	// RolloverSize and RolloverAge are the rollover conditions of
	// index_rotation = auto types; empty means DefaultRolloverSize and
	// DefaultRolloverAge.
	RolloverSize, RolloverAge string
}

// Kind names a kind of object in reports.
type Kind string

// Kinds of objects installed.
const (
	KindComponentTemplate Kind = "component template"
	KindIndexTemplate     Kind = "index template"
	KindISMPolicy         Kind = "ISM policy"
	KindWriteAlias        Kind = "write alias"
)

// Object is one OpenSearch object in its desired state.
type Object struct {
	Kind Kind
	// Name is the template, policy or alias name.
	Name string
	// Body is what is sent to create it (for a write alias: the body that
	// creates its first index, Index).
	Body map[string]any
	// Index is, for a write alias, the first index created behind it.
	Index string
	// Source is the body as written in its embedded file (component
	// templates); nil when it is built.
	Source []byte
}

// IndexPlan is what the plan holds for one index name.
type IndexPlan struct {
	// Name is the index name prefix (index_name), or the write alias for
	// index_rotation = auto.
	Name string
	// Types are the log types writing to it.
	Types []string
	// Auto is true when one of them has index_rotation = auto.
	Auto bool
	// RetentionDays is the longest retention of its types; 0 is forever
	// (one type without retention keeps the index forever).
	RetentionDays int
	// Priority is the priority of its index template and ISM template.
	Priority int
	// Components are the component templates its index template is
	// composed of, in order.
	Components []string
}

// Pattern is the index pattern of the index name: every dated or numbered
// index behind it.
func (ip IndexPlan) Pattern() string { return ip.Name + "-*" }

// Plan is the desired state: everything Install writes when it differs.
type Plan struct {
	Indices        []IndexPlan
	Components     []Object
	IndexTemplates []Object
	Policies       []Object
	WriteAliases   []Object
	SavedObjects   []SavedObject
}

var (
	sizeRE = regexp.MustCompile(`^[1-9][0-9]*(b|kb|mb|gb|tb|pb)$`)
	ageRE  = regexp.MustCompile(`^[1-9][0-9]*(d|h|m|s)$`)
)

// NewPlan builds the desired state for the log types of reg: one index
// template (and, with a retention or auto rotation, one ISM policy) per
// distinct index_name, the embedded component templates, and the saved
// objects of the dashboards. Errors name the setting and the bad value.
func NewPlan(reg *logtype.Registry, opts Options) (*Plan, error) {
	if opts.RetentionDays < 0 {
		return nil, fmt.Errorf("retention days %d: must not be negative", opts.RetentionDays)
	}
	if opts.RolloverSize == "" {
		opts.RolloverSize = DefaultRolloverSize
	}
	if opts.RolloverAge == "" {
		opts.RolloverAge = DefaultRolloverAge
	}
	if !sizeRE.MatchString(opts.RolloverSize) {
		return nil, fmt.Errorf("rollover size %q: want a number and a unit (b, kb, mb, gb, tb, pb), e.g. 50gb", opts.RolloverSize)
	}
	if !ageRE.MatchString(opts.RolloverAge) {
		return nil, fmt.Errorf("rollover age %q: want a number and a unit (d, h, m, s), e.g. 30d", opts.RolloverAge)
	}
	comps, err := loadComponents()
	if err != nil {
		return nil, err
	}
	indices, err := planIndices(reg, opts, comps)
	if err != nil {
		return nil, err
	}
	p := &Plan{Indices: indices}
	for _, c := range comps {
		p.Components = append(p.Components, Object{Kind: KindComponentTemplate, Name: c.name, Body: c.body, Source: c.raw})
	}
	for _, ip := range indices {
		p.IndexTemplates = append(p.IndexTemplates, Object{Kind: KindIndexTemplate, Name: IndexTemplateName(ip.Name), Body: indexTemplateBody(ip)})
		if pol := policyBody(ip, opts); pol != nil {
			p.Policies = append(p.Policies, Object{Kind: KindISMPolicy, Name: PolicyName(ip.Name), Body: pol})
		}
		if ip.Auto {
			first := ip.Name + FirstRolloverIndex
			p.WriteAliases = append(p.WriteAliases, Object{
				Kind: KindWriteAlias, Name: ip.Name, Index: first,
				Body: map[string]any{"aliases": map[string]any{ip.Name: map[string]any{"is_write_index": true}}},
			})
		}
	}
	p.SavedObjects = savedObjects(reg, indices)
	return p, nil
}

// IndexTemplateName is the name of Vigil's index template for an index name.
func IndexTemplateName(index string) string { return "vigil-" + index }

// PolicyName is the id of Vigil's ISM policy for an index name.
func PolicyName(index string) string { return "vigil-" + index }

// priority is the template priority of an index name (see basePriority).
func priority(index string) int { return basePriority + strings.Count(index, "-") }

// planIndices groups the log types by index name.
func planIndices(reg *logtype.Registry, opts Options, comps []component) ([]IndexPlan, error) {
	byName := map[string]*IndexPlan{}
	forever := map[string]bool{}
	var errs []error
	for _, t := range reg.Types() {
		if t.IndexName == "" {
			continue // es-loader refuses to load such a type; nothing to prepare
		}
		if strings.ContainsAny(t.IndexName, "*?,\" <>|/\\#:") || strings.ToLower(t.IndexName) != t.IndexName {
			errs = append(errs, fmt.Errorf("[%s] index_name = %q: not a valid lowercase index name", t.Name, t.IndexName))
			continue
		}
		days := opts.RetentionDays
		if t.RetentionDays > 0 {
			days = t.RetentionDays
		}
		ip := byName[t.IndexName]
		if ip == nil {
			ip = &IndexPlan{Name: t.IndexName, Priority: priority(t.IndexName)}
			byName[t.IndexName] = ip
		}
		ip.Types = append(ip.Types, t.Name)
		if t.IndexRotation == logtype.RotationAuto {
			ip.Auto = true
		}
		if days == 0 {
			forever[t.IndexName] = true
		}
		ip.RetentionDays = max(ip.RetentionDays, days)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []IndexPlan
	for name, ip := range byName {
		if forever[name] {
			ip.RetentionDays = 0
		}
		ip.Components = []string{BaseComponent}
		for _, c := range comps {
			for _, idx := range c.indices {
				if idx == name {
					ip.Components = append(ip.Components, c.name)
				}
			}
		}
		out = append(out, *ip)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// indexTemplateBody is the composable index template of one index name.
func indexTemplateBody(ip IndexPlan) map[string]any {
	comps := make([]any, len(ip.Components))
	for i, c := range ip.Components {
		comps[i] = c
	}
	body := map[string]any{
		"index_patterns": []any{ip.Pattern()},
		"priority":       ip.Priority,
		"composed_of":    comps,
		"version":        1,
		"_meta": map[string]any{
			"managed_by":  ManagedBy,
			"description": "Vigil: indices of the log types " + strings.Join(ip.Types, ", "),
		},
	}
	if ip.Auto {
		body["template"] = map[string]any{"settings": map[string]any{
			"plugins.index_state_management.rollover_alias": ip.Name,
		}}
	}
	return body
}

// policyBody is the ISM policy of one index name, nil when it needs none
// (no retention and no rollover).
func policyBody(ip IndexPlan, opts Options) map[string]any {
	if !ip.Auto && ip.RetentionDays == 0 {
		return nil
	}
	hot := map[string]any{"name": "hot", "actions": []any{}, "transitions": []any{}}
	var desc []string
	if ip.Auto {
		hot["actions"] = []any{map[string]any{"rollover": map[string]any{
			"min_size": opts.RolloverSize, "min_index_age": opts.RolloverAge,
		}}}
		desc = append(desc, fmt.Sprintf("rolls %s over at %s or %s", ip.Name, opts.RolloverSize, opts.RolloverAge))
	}
	states := []any{hot}
	if ip.RetentionDays > 0 {
		hot["transitions"] = []any{map[string]any{
			"state_name": "delete",
			"conditions": map[string]any{"min_index_age": fmt.Sprintf("%dd", ip.RetentionDays)},
		}}
		states = append(states, map[string]any{"name": "delete", "actions": []any{map[string]any{"delete": map[string]any{}}}, "transitions": []any{}})
		desc = append(desc, fmt.Sprintf("deletes indices %d days after their creation", ip.RetentionDays))
	}
	return map[string]any{"policy": map[string]any{
		"description":   "Vigil: " + strings.Join(desc, "; ") + " (managed by vigil setup opensearch)",
		"default_state": "hot",
		"states":        states,
		"ism_template": []any{map[string]any{
			"index_patterns": []any{ip.Pattern()},
			"priority":       ip.Priority,
		}},
	}}
}

// DeployRetentionDays is the retention written into the ISM policies of
// deploy/opensearch (edit min_index_age there before installing them by
// hand).
const DeployRetentionDays = 365

// DeployOptions are the options deploy/opensearch is generated with.
func DeployOptions() Options {
	return Options{RetentionDays: DeployRetentionDays}
}
