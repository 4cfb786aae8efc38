package sigma

import (
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// CorrelationType is the type of a correlation rule.
type CorrelationType string

// The correlation types of Sigma v2.1.
const (
	EventCount      CorrelationType = "event_count"
	ValueCount      CorrelationType = "value_count"
	Temporal        CorrelationType = "temporal"
	TemporalOrdered CorrelationType = "temporal_ordered"
	ValueSum        CorrelationType = "value_sum"
	ValueAvg        CorrelationType = "value_avg"
	ValuePercentile CorrelationType = "value_percentile"
)

// Threshold is one criterion of a correlation condition: Op is gt, gte, lt,
// lte, eq or neq. All thresholds of a condition are AND-ed.
type Threshold struct {
	Op    string
	Value float64
}

// Correlation is the parsed correlation section of a rule.
type Correlation struct {
	Type CorrelationType
	// Rules are the referenced rules, by id or name.
	Rules   []string
	GroupBy []string
	// Timespan is the window length.
	Timespan time.Duration
	// Condition holds the thresholds; for temporal types an empty
	// condition means "all referenced rules".
	Condition []Threshold
	// Field is the condition's field for value_* types (value_count
	// counts distinct tuples when several are given).
	Field []string
	// Aliases maps alias name → rule name → event field.
	Aliases map[string]map[string]string
	// Generate makes the referenced rules also raise their own matches.
	Generate bool
	Line     int
}

// LegacyNearTimespan is the window given to a legacy `near` condition of a
// rule that has no timeframe.
const LegacyNearTimespan = time.Hour

func parseCorrelation(file string, n *yaml.Node) (*Correlation, error) {
	if n.Kind != yaml.MappingNode {
		return nil, ruleErr(file, n.Line, "", "correlation must be a mapping")
	}
	c := &Correlation{Line: n.Line}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		var err error
		switch k.Value {
		case "type":
			var s string
			s, err = scalarString(file, v)
			c.Type = CorrelationType(s)
		case "rules":
			c.Rules, err = stringList(file, v)
		case "group-by":
			c.GroupBy, err = stringList(file, v)
		case "timespan", "timeframe":
			var s string
			if s, err = scalarString(file, v); err == nil {
				c.Timespan, err = parseTimespan(s)
				if err != nil {
					err = ruleErr(file, v.Line, "", "timespan: %w", err)
				}
			}
		case "generate":
			c.Generate, err = scalarBool(file, v)
		case "aliases":
			c.Aliases, err = parseAliases(file, v)
		case "condition":
			err = parseCorrCondition(file, v, c)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := c.validate(); err != nil {
		return nil, ruleErr(file, n.Line, "", "correlation: %w", err)
	}
	return c, nil
}

func parseAliases(file string, v *yaml.Node) (map[string]map[string]string, error) {
	if v.Kind != yaml.MappingNode {
		return nil, ruleErr(file, v.Line, "", "aliases must be a mapping")
	}
	out := map[string]map[string]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		name, m := v.Content[i].Value, resolve(v.Content[i+1])
		if m.Kind != yaml.MappingNode {
			return nil, ruleErr(file, m.Line, "", "alias %q must map rule names to fields", name)
		}
		out[name] = map[string]string{}
		for j := 0; j+1 < len(m.Content); j += 2 {
			f, err := scalarString(file, resolve(m.Content[j+1]))
			if err != nil {
				return nil, err
			}
			out[name][m.Content[j].Value] = f
		}
	}
	return out, nil
}

func parseCorrCondition(file string, v *yaml.Node, c *Correlation) error {
	if v.Kind != yaml.MappingNode {
		return ruleErr(file, v.Line, "", "correlation condition must be a mapping such as {gte: 10}")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i].Value, resolve(v.Content[i+1])
		switch k {
		case "field":
			fs, err := stringList(file, val)
			if err != nil {
				return err
			}
			c.Field = fs
		case "gt", "gte", "lt", "lte", "eq", "neq":
			if val.Kind != yaml.ScalarNode {
				return ruleErr(file, val.Line, "", "condition %s: want a number", k)
			}
			f, err := strconv.ParseFloat(val.Value, 64)
			if err != nil {
				return ruleErr(file, val.Line, "", "condition %s: invalid number %q", k, val.Value)
			}
			c.Condition = append(c.Condition, Threshold{Op: k, Value: f})
		default:
			return ruleErr(file, v.Content[i].Line, "", "unknown correlation condition key %q", k)
		}
	}
	return nil
}

func (c *Correlation) validate() error {
	switch c.Type {
	case EventCount, ValueCount, Temporal, TemporalOrdered, ValueSum, ValueAvg, ValuePercentile:
	case "":
		return fmt.Errorf("missing type")
	default:
		return fmt.Errorf("unknown type %q", c.Type)
	}
	if len(c.Rules) == 0 {
		return fmt.Errorf("no rules referenced")
	}
	if c.Timespan <= 0 {
		return fmt.Errorf("missing timespan")
	}
	switch c.Type {
	case EventCount, ValueCount, ValueSum, ValueAvg, ValuePercentile:
		if len(c.Condition) == 0 {
			return fmt.Errorf("%s needs a condition", c.Type)
		}
	}
	switch c.Type {
	case ValueCount, ValueSum, ValueAvg, ValuePercentile:
		if len(c.Field) == 0 {
			return fmt.Errorf("%s needs condition.field", c.Type)
		}
		if c.Type != ValueCount && len(c.Field) > 1 {
			return fmt.Errorf("%s takes one field, got %d", c.Type, len(c.Field))
		}
	}
	if (c.Type == Temporal || c.Type == TemporalOrdered) && len(c.Rules) < 2 && len(c.Condition) == 0 {
		return fmt.Errorf("%s needs at least two rules", c.Type)
	}
	return nil
}

// translateLegacy turns a rule with a legacy aggregation (`| count() ...`),
// a `near` expression, or a timeframe on a plain conjunction of search
// identifiers into hidden base rules plus a correlation rule that carries
// the original rule's identity (id, title, level, tags).
//
//   - `sel | count() [by f] > N`        → event_count over sel
//   - `sel | count(x) [by f] > N`       → value_count of x over sel
//   - `sel | sum(x)` / `avg(x)`          → value_sum / value_avg
//   - `a | near b and c`                 → temporal over a, b, c
//   - `a and b` with timeframe (no pipe) → temporal over a and b: the legacy
//     way of saying both must happen within the timeframe. An event matching
//     both still satisfies it on its own.
//
// The window is the rule's timeframe (LegacyNearTimespan for near without
// one). Any other rule with a timeframe is kept as a plain rule.
func translateLegacy(r *Rule, agg *legacyAgg) ([]*Rule, error) {
	d := r.Detection
	cond := d.Conditions[0]
	var parts []condNode
	corr := &Correlation{Timespan: d.Timeframe, Line: cond.Line}
	switch {
	case agg == nil:
		and, ok := cond.Root.(*condAnd)
		if !ok || len(d.Conditions) > 1 {
			return []*Rule{r}, nil
		}
		for _, x := range and.Xs {
			if _, ok := x.(*condIdent); !ok {
				return []*Rule{r}, nil
			}
		}
		parts = and.Xs
		corr.Type = Temporal
	case agg.Func == "near":
		parts = []condNode{cond.Root}
		for _, id := range agg.Near {
			parts = append(parts, &condIdent{Name: id})
		}
		corr.Type = Temporal
		if corr.Timespan == 0 {
			corr.Timespan = LegacyNearTimespan
		}
	default:
		parts = []condNode{cond.Root}
		switch {
		case agg.Func == "count" && agg.Field == "":
			corr.Type = EventCount
		case agg.Func == "count":
			corr.Type = ValueCount
			corr.Field = []string{agg.Field}
		case agg.Func == "sum":
			corr.Type = ValueSum
			corr.Field = []string{agg.Field}
		case agg.Func == "avg":
			corr.Type = ValueAvg
			corr.Field = []string{agg.Field}
		}
		corr.GroupBy = agg.GroupBy
		corr.Condition = []Threshold{{Op: agg.Op, Value: agg.Value}}
		if corr.Timespan == 0 {
			return nil, ruleErr(r.File, cond.Line, "", "aggregation %q needs a timeframe", cond.Expr)
		}
	}
	base := r.Ref()
	if r.ID == "" {
		base = fmt.Sprintf("%s:%d", r.File, r.Line)
	}
	out := make([]*Rule, 0, len(parts)+1)
	for i, p := range parts {
		br := *r
		br.ID = fmt.Sprintf("%s#%d", base, i+1)
		br.Name = fmt.Sprintf("legacy:%s#%d", base, i+1)
		br.Title = fmt.Sprintf("%s (part %d)", r.Title, i+1)
		br.Derived = true
		dd := *d
		dd.Timeframe = 0
		dd.Conditions = []*Condition{{Expr: p.condString(), Line: cond.Line, Root: p}}
		br.Detection = &dd
		out = append(out, &br)
		corr.Rules = append(corr.Rules, br.Name)
	}
	if err := corr.validate(); err != nil {
		return nil, ruleErr(r.File, cond.Line, "", "translating legacy condition: %w", err)
	}
	cr := *r
	cr.Detection = nil
	cr.Correlation = corr
	cr.Derived = true
	return append(out, &cr), nil
}
