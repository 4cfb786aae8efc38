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
	"unicode/utf8"
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
	return a.AppendJSON(nil)
}

// AppendJSON appends the alert's ECS document (MarshalJSON's) to dst. It
// writes what encoding/json writes for the document's struct (field
// order, omitted empty fields, sorted map keys, HTML-safe string
// escapes), without reflection. It fails only for a time outside years
// 0-9999, as encoding/json does; dst is then returned unchanged.
func (a *Alert) AppendJSON(dst []byte) ([]byte, error) {
	start := len(dst)
	var err error
	fail := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	b := append(dst, `{"@timestamp":`...)
	b, e := appendTime(b, a.FirstSeen)
	fail(e)
	b = append(b, `,"event":{"kind":"alert","severity":`...)
	b = strconv.AppendInt(b, int64(Severity(a.Level)), 10)
	b = append(b, `,"start":`...)
	b, e = appendTime(b, a.FirstSeen)
	fail(e)
	b = append(b, `,"end":`...)
	b, e = appendTime(b, a.LastSeen)
	fail(e)
	b = append(b, `},"rule":{"id":`...)
	b = appendString(b, a.RuleID)
	b = append(b, `,"name":`...)
	b = appendString(b, a.RuleTitle)
	b = append(b, `,"ruleset":"sigma"}`...)
	if len(a.Tags) > 0 {
		b = append(b, `,"tags":`...)
		b = appendStrings(b, a.Tags)
	}
	t := &a.Threat
	if len(t.TacticIDs)+len(t.TacticNames)+len(t.TechniqueIDs)+len(t.SubtechniqueIDs) > 0 {
		b = append(b, `,"threat":{"framework":"MITRE ATT\u0026CK","tactic":{`...)
		b = appendIDName(b, t.TacticIDs, t.TacticNames)
		b = append(b, `},"technique":{`...)
		if len(t.TechniqueIDs) > 0 {
			b = append(b, `"id":`...)
			b = appendStrings(b, t.TechniqueIDs)
			b = append(b, ',')
		}
		b = append(b, `"subtechnique":{`...)
		b = appendIDName(b, t.SubtechniqueIDs, nil)
		b = append(b, `}}}`...)
	}
	b = append(b, `,"alert":{"id":`...)
	b = appendString(b, a.ID)
	b = append(b, `,"status":`...)
	b = appendString(b, string(a.Status))
	b = append(b, `,"level":`...)
	b = appendString(b, a.Level)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(a.Count), 10)
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{`,"first_seen":`, a.FirstSeen}, {`,"last_seen":`, a.LastSeen}, {`,"window_start":`, a.WindowStart}, {`,"window_end":`, a.WindowEnd}} {
		b = append(b, f.name...)
		b, e = appendTime(b, f.t)
		fail(e)
	}
	if a.DedupKey != "" {
		b = append(b, `,"dedup_key":`...)
		b = appendString(b, a.DedupKey)
	}
	if a.Correlation {
		b = append(b, `,"correlation":true`...)
	}
	if len(a.GroupBy) > 0 {
		b = append(b, `,"group_by":`...)
		b = appendMap(b, a.GroupBy)
	}
	if len(a.KeyFields) > 0 {
		b = append(b, `,"key_fields":`...)
		b = appendMap(b, a.KeyFields)
	}
	b = append(b, `,"doc_ids":`...)
	b = appendStrings(b, a.DocIDs)
	if a.DocIDsDropped != 0 {
		b = append(b, `,"doc_ids_dropped":`...)
		b = strconv.AppendInt(b, int64(a.DocIDsDropped), 10)
	}
	if len(t.Groups) > 0 {
		b = append(b, `,"mitre_groups":`...)
		b = appendStrings(b, t.Groups)
	}
	if len(t.Software) > 0 {
		b = append(b, `,"mitre_software":`...)
		b = appendStrings(b, t.Software)
	}
	b = append(b, `}}`...)
	if err != nil {
		return dst[:start], fmt.Errorf("encoding alert %s: %w", a.ID, err)
	}
	return b, nil
}

// appendIDName appends the members of a jsonIDName: "id" and "name",
// each omitted when empty.
func appendIDName(b []byte, ids, names []string) []byte {
	if len(ids) > 0 {
		b = append(b, `"id":`...)
		b = appendStrings(b, ids)
	}
	if len(names) > 0 {
		if len(ids) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"name":`...)
		b = appendStrings(b, names)
	}
	return b
}

// appendTime appends t in UTC as encoding/json writes a time.Time.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.UTC().AppendText(b)
	return append(b, '"'), err
}

// appendStrings appends ss as a JSON array (an empty one for nil).
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendMap appends m as a JSON object with its keys sorted.
func appendMap(b []byte, m map[string]string) []byte {
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, escaped as encoding/json
// escapes by default: quotes, backslashes and control characters, the
// HTML characters <, > and &, U+2028 and U+2029; invalid UTF-8 becomes
// U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
