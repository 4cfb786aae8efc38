package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Status is the triage state of an alert.
type Status string

// The alert statuses. An alert is created open; a person acknowledges it
// (the console, later). Closing is the window's end, not a status.
const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
)

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s == StatusOpen || s == StatusAcknowledged }

// Alert is one alert document: every match of one rule with one dedup key
// within one dedup window. The Processor owns the Alerts in its state and
// hands out copies; a copy may be read and modified freely.
type Alert struct {
	// ID is deterministic: ComputeID(RuleID, DedupKey, WindowStart).
	ID string
	// RuleID, RuleTitle, Level and Tags are copied from the rule.
	RuleID    string
	RuleTitle string
	Level     string
	Tags      []string
	// Threat holds the MITRE ATT&CK ids parsed from Tags.
	Threat Threat
	// Correlation is true for alerts raised by correlation rules.
	Correlation bool
	// DedupKey is the canonical text of the dedup fields and their values
	// (see DedupKey); empty when the rule deduplicates by rule alone.
	DedupKey string
	// GroupBy holds a correlation's group-by values.
	GroupBy map[string]string
	// KeyFields holds the values of the rule's key fields (its `fields`,
	// or the dedup fields) from the first match.
	KeyFields map[string]string
	// DocIDs are the ids of the matched documents, in arrival order, at
	// most Config.MaxDocIDs; DocIDsDropped counts the ids left out.
	DocIDs        []string
	DocIDsDropped int
	// FirstSeen and LastSeen are the earliest and latest event times of the
	// matches; WindowStart and WindowEnd delimit the dedup window.
	FirstSeen   time.Time
	LastSeen    time.Time
	WindowStart time.Time
	WindowEnd   time.Time
	// Count is the number of matches (for a correlation match, the number
	// of events it counted).
	Count  int
	Status Status
}

// Clone returns a deep copy of a.
func (a *Alert) Clone() *Alert {
	c := *a
	c.Tags = append([]string(nil), a.Tags...)
	c.Threat = a.Threat.clone()
	c.GroupBy = cloneMap(a.GroupBy)
	c.KeyFields = cloneMap(a.KeyFields)
	c.DocIDs = append([]string(nil), a.DocIDs...)
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// ComputeID returns the deterministic id of the alert of rule ruleID with
// dedup key key in the window starting at windowStart: the first 16 bytes
// of SHA-256 over the three, NUL-separated, in hex (32 characters).
func ComputeID(ruleID, key string, windowStart time.Time) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(windowStart.UnixNano(), 10)))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// DedupKey returns the canonical text of field values: `name=value` pairs
// sorted by name, joined by NUL bytes (which no field name or text value of
// a log contains in practice), so the same values always give the same key.
func DedupKey(values map[string]string) string {
	if len(values) == 0 {
		return ""
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(values[k])
	}
	return b.String()
}

// Severity returns the ECS event.severity number of a Sigma level, on the
// scale Elastic's detection engine uses (low 21, medium 47, high 73,
// critical 99; informational 0); unknown levels are 0.
func Severity(level string) int {
	switch strings.ToLower(level) {
	case "low":
		return 21
	case "medium":
		return 47
	case "high":
		return 73
	case "critical":
		return 99
	}
	return 0
}

// LevelRank orders Sigma levels: informational 0, low 1, medium 2, high 3,
// critical 4; ok is false for anything else.
func LevelRank(level string) (rank int, ok bool) {
	switch strings.ToLower(level) {
	case "informational":
		return 0, true
	case "low":
		return 1, true
	case "medium":
		return 2, true
	case "high":
		return 3, true
	case "critical":
		return 4, true
	}
	return 0, false
}

// The JSON document. Field names follow ECS where ECS has one (rule.*,
// threat.*, event.*); the rest is under alert.*. docs/alerts.md is the
// reference.
type jsonAlert struct {
	Timestamp time.Time  `json:"@timestamp"`
	Event     jsonEvent  `json:"event"`
	Rule      jsonRule   `json:"rule"`
	Tags      []string   `json:"tags,omitempty"`
	Threat    *jsonThrt  `json:"threat,omitempty"`
	Alert     jsonDetail `json:"alert"`
}

type jsonEvent struct {
	Kind     string    `json:"kind"`
	Severity int       `json:"severity"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

type jsonRule struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Ruleset string `json:"ruleset"`
}

type jsonThrt struct {
	Framework string     `json:"framework"`
	Tactic    jsonIDName `json:"tactic"`
	Technique jsonTech   `json:"technique"`
}

type jsonIDName struct {
	ID   []string `json:"id,omitempty"`
	Name []string `json:"name,omitempty"`
}

type jsonTech struct {
	ID           []string   `json:"id,omitempty"`
	Subtechnique jsonIDName `json:"subtechnique"`
}

type jsonDetail struct {
	ID            string            `json:"id"`
	Status        Status            `json:"status"`
	Level         string            `json:"level"`
	Count         int               `json:"count"`
	FirstSeen     time.Time         `json:"first_seen"`
	LastSeen      time.Time         `json:"last_seen"`
	WindowStart   time.Time         `json:"window_start"`
	WindowEnd     time.Time         `json:"window_end"`
	DedupKey      string            `json:"dedup_key,omitempty"`
	Correlation   bool              `json:"correlation,omitempty"`
	GroupBy       map[string]string `json:"group_by,omitempty"`
	KeyFields     map[string]string `json:"key_fields,omitempty"`
	DocIDs        []string          `json:"doc_ids"`
	DocIDsDropped int               `json:"doc_ids_dropped,omitempty"`
	Groups        []string          `json:"mitre_groups,omitempty"`
	Software      []string          `json:"mitre_software,omitempty"`
}

// MarshalJSON encodes the alert as its ECS document (docs/alerts.md).
func (a *Alert) MarshalJSON() ([]byte, error) {
	j := jsonAlert{
		Timestamp: a.FirstSeen.UTC(),
		Event:     jsonEvent{Kind: "alert", Severity: Severity(a.Level), Start: a.FirstSeen.UTC(), End: a.LastSeen.UTC()},
		Rule:      jsonRule{ID: a.RuleID, Name: a.RuleTitle, Ruleset: "sigma"},
		Tags:      a.Tags,
		Alert: jsonDetail{
			ID: a.ID, Status: a.Status, Level: a.Level, Count: a.Count,
			FirstSeen: a.FirstSeen.UTC(), LastSeen: a.LastSeen.UTC(),
			WindowStart: a.WindowStart.UTC(), WindowEnd: a.WindowEnd.UTC(),
			DedupKey: a.DedupKey, Correlation: a.Correlation,
			GroupBy: a.GroupBy, KeyFields: a.KeyFields,
			DocIDs: a.DocIDs, DocIDsDropped: a.DocIDsDropped,
			Groups: a.Threat.Groups, Software: a.Threat.Software,
		},
	}
	if j.Alert.DocIDs == nil {
		j.Alert.DocIDs = []string{}
	}
	t := a.Threat
	if len(t.TacticIDs)+len(t.TacticNames)+len(t.TechniqueIDs)+len(t.SubtechniqueIDs) > 0 {
		j.Threat = &jsonThrt{
			Framework: "MITRE ATT&CK",
			Tactic:    jsonIDName{ID: t.TacticIDs, Name: t.TacticNames},
			Technique: jsonTech{ID: t.TechniqueIDs, Subtechnique: jsonIDName{ID: t.SubtechniqueIDs}},
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes (the queue and the state
// snapshot use the same document).
func (a *Alert) UnmarshalJSON(b []byte) error {
	var j jsonAlert
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Event.Kind != "alert" {
		return fmt.Errorf("decoding alert: event.kind is %q, want \"alert\"", j.Event.Kind)
	}
	*a = Alert{
		ID: j.Alert.ID, RuleID: j.Rule.ID, RuleTitle: j.Rule.Name, Level: j.Alert.Level,
		Tags: j.Tags, Correlation: j.Alert.Correlation, DedupKey: j.Alert.DedupKey,
		GroupBy: j.Alert.GroupBy, KeyFields: j.Alert.KeyFields,
		DocIDs: j.Alert.DocIDs, DocIDsDropped: j.Alert.DocIDsDropped,
		FirstSeen: j.Alert.FirstSeen, LastSeen: j.Alert.LastSeen,
		WindowStart: j.Alert.WindowStart, WindowEnd: j.Alert.WindowEnd,
		Count: j.Alert.Count, Status: j.Alert.Status,
	}
	if len(a.DocIDs) == 0 {
		a.DocIDs = nil
	}
	a.Threat = Threat{Groups: j.Alert.Groups, Software: j.Alert.Software}
	if j.Threat != nil {
		a.Threat.TacticIDs = j.Threat.Tactic.ID
		a.Threat.TacticNames = j.Threat.Tactic.Name
		a.Threat.TechniqueIDs = j.Threat.Technique.ID
		a.Threat.SubtechniqueIDs = j.Threat.Technique.Subtechnique.ID
	}
	return nil
}
