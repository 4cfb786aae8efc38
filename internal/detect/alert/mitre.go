package alert

import (
	"strings"
)

// Threat holds the MITRE ATT&CK references of a rule's tags, in the
// order the tags give them, without duplicates.
type Threat struct {
	// TacticIDs (TA0001) and TacticNames (initial-access) are parallel
	// where a tactic was named; a tag giving only an id adds its name too.
	TacticIDs   []string
	TacticNames []string
	// TechniqueIDs holds technique ids (T1078); a sub-technique tag
	// (attack.t1078.004) adds its parent here and itself to
	// SubtechniqueIDs (T1078.004).
	TechniqueIDs    []string
	SubtechniqueIDs []string
	// Groups (G0016) and Software (S0002) are kept for completeness.
	Groups   []string
	Software []string
}

func (t Threat) clone() Threat {
	return Threat{
		TacticIDs:       append([]string(nil), t.TacticIDs...),
		TacticNames:     append([]string(nil), t.TacticNames...),
		TechniqueIDs:    append([]string(nil), t.TechniqueIDs...),
		SubtechniqueIDs: append([]string(nil), t.SubtechniqueIDs...),
		Groups:          append([]string(nil), t.Groups...),
		Software:        append([]string(nil), t.Software...),
	}
}

// tactics are the ATT&CK Enterprise tactics, by the names Sigma tags use
// (hyphenated since Sigma v2; underscores are accepted too).
var tactics = [...]struct{ id, name string }{
	{"TA0043", "reconnaissance"},
	{"TA0042", "resource-development"},
	{"TA0001", "initial-access"},
	{"TA0002", "execution"},
	{"TA0003", "persistence"},
	{"TA0004", "privilege-escalation"},
	{"TA0005", "defense-evasion"},
	{"TA0006", "credential-access"},
	{"TA0007", "discovery"},
	{"TA0008", "lateral-movement"},
	{"TA0009", "collection"},
	{"TA0011", "command-and-control"},
	{"TA0010", "exfiltration"},
	{"TA0040", "impact"},
}

// ParseTags extracts the MITRE ATT&CK references from Sigma tags
// (`attack.initial-access`, `attack.ta0001`, `attack.t1078`,
// `attack.t1078.004`, `attack.g0016`, `attack.s0002`). Other tags (cve.*,
// detection.*, tlp.*) and unknown attack.* values are ignored.
func ParseTags(tags []string) Threat {
	var t Threat
	addTactic := func(id, name string) {
		if !contains(t.TacticIDs, id) {
			t.TacticIDs = append(t.TacticIDs, id)
			t.TacticNames = append(t.TacticNames, name)
		}
	}
	for _, tag := range tags {
		v, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(tag)), "attack.")
		if !ok || v == "" {
			continue
		}
		switch {
		case isID(v, "ta", false):
			for _, tc := range tactics {
				if strings.EqualFold(tc.id, v) {
					addTactic(tc.id, tc.name)
				}
			}
		case isID(v, "t", true):
			tech, _, sub := strings.Cut(v, ".")
			id := strings.ToUpper(tech)
			if !contains(t.TechniqueIDs, id) {
				t.TechniqueIDs = append(t.TechniqueIDs, id)
			}
			if sub {
				s := strings.ToUpper(v)
				if !contains(t.SubtechniqueIDs, s) {
					t.SubtechniqueIDs = append(t.SubtechniqueIDs, s)
				}
			}
		case isID(v, "g", false):
			t.Groups = appendUnique(t.Groups, strings.ToUpper(v))
		case isID(v, "s", false):
			t.Software = appendUnique(t.Software, strings.ToUpper(v))
		default:
			name := strings.ReplaceAll(v, "_", "-")
			for _, tc := range tactics {
				if tc.name == name {
					addTactic(tc.id, tc.name)
				}
			}
		}
	}
	return t
}

// isID reports whether v is prefix followed by four digits, optionally (sub)
// followed by a dot and three digits.
func isID(v, prefix string, sub bool) bool {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return false
	}
	if sub && len(rest) == 8 && rest[4] == '.' {
		return digits(rest[:4]) && digits(rest[5:])
	}
	return len(rest) == 4 && digits(rest)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func appendUnique(s []string, v string) []string {
	if contains(s, v) {
		return s
	}
	return append(s, v)
}
