package alert

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
)

// pathCache keeps the parsed field paths FromSigma reads.
type pathCache struct {
	mu sync.Mutex
	m  map[string]*sigma.Path
}

func (c *pathCache) get(name string) *sigma.Path {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.m[name]; ok {
		return p
	}
	if c.m == nil {
		c.m = make(map[string]*sigma.Path)
	}
	p := sigma.NewPath(name)
	c.m[name] = p
	return p
}

// FromSigma builds the Match of a detection match m of event ev (at event
// time t, document id docID), reading from ev the fields the rule's alerts
// need (FieldsFor).
func (p *Processor) FromSigma(m sigma.Match, ev sigma.Event, t time.Time, docID string) Match {
	var keyFields []string
	if m.Rule != nil {
		keyFields = m.Rule.Fields
	}
	out := Match{
		RuleID: m.RuleID, Title: m.Title, Level: m.Level, Tags: m.Tags,
		Time: t, KeyFields: keyFields,
	}
	if docID != "" {
		out.DocIDs = []string{docID}
	}
	for _, f := range p.FieldsFor(m.RuleID, keyFields) {
		v, ok := ev.Field(p.paths.get(f))
		if !ok || v == nil {
			continue
		}
		if out.Fields == nil {
			out.Fields = make(map[string]string)
		}
		out.Fields[f] = FieldString(v)
	}
	return out
}

// FromCorrelation builds the Match of a correlation match: its group-by
// values are the fields, its references the document ids.
func FromCorrelation(cm sigma.CorrelationMatch) Match {
	var keyFields []string
	if cm.Rule != nil {
		keyFields = cm.Rule.Fields
	}
	return Match{
		RuleID: cm.RuleID, Title: cm.Title, Level: cm.Level, Tags: cm.Tags,
		Time: cm.Time, DocIDs: cm.Refs, Count: cm.Count,
		KeyFields: keyFields, GroupBy: cm.GroupBy, Correlation: true,
	}
}

// FieldString renders an event value as alert text: strings as they are,
// numbers as their JSON text, booleans as true/false, anything else
// (arrays, objects) as JSON.
func FieldString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []byte:
		return string(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
