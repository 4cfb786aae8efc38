// Package guardduty holds what is particular to GuardDuty findings: the
// severity label, the parts of the finding type, the direction of the
// traffic (swapping source and destination for outbound findings) and the
// malware category.
package guardduty

import (
	"strconv"
	"strings"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// FindingType is a finding type such as "Backdoor:EC2/C&CActivity.B!DNS"
// split into its documented parts.
type FindingType struct {
	ThreatPurpose, ResourceTypeAffected, ThreatFamilyName, DetectionMechanism, Artifact string
}

// ParseType splits a finding type, ThreatPurpose:ResourceTypeAffected/
// ThreatFamilyName[.DetectionMechanism][!Artifact]; ok is false when the
// type does not have that shape.
func ParseType(s string) (ft FindingType, ok bool) {
	word := func(extra byte) string {
		i := 0
		for i < len(s) {
			c := s[i]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || (extra != 0 && c == extra) {
				i++
				continue
			}
			break
		}
		w := s[:i]
		s = s[i:]
		return w
	}
	ft.ThreatPurpose = word(0)
	if s == "" || s[0] != ':' {
		return FindingType{}, false
	}
	s = s[1:]
	ft.ResourceTypeAffected = word(0)
	if s == "" || s[0] != '/' {
		return FindingType{}, false
	}
	s = s[1:]
	ft.ThreatFamilyName = word('&')
	if s != "" && s[0] == '.' {
		s = s[1:]
		ft.DetectionMechanism = word(0)
	}
	if s != "" && s[0] == '!' {
		s = s[1:]
		ft.Artifact = word(0)
	}
	return ft, true
}

// Script is the guardduty transform.
type Script struct{}

// Label returns the severity label of a GuardDuty severity score: low up to
// 3.9, medium up to 6.9, high up to 8.9 and critical above.
func Label(sev float64) string {
	switch {
	case sev <= 3.9:
		return "low"
	case sev <= 6.9:
		return "medium"
	case sev <= 8.9:
		return "high"
	}
	return "critical"
}

// Paths lists the record fields the transform reads.
func (Script) Paths() []string {
	return []string{"severity", "type", "service.action.actionType",
		"service.action.networkConnectionAction.connectionDirection"}
}

// Transform adds the GuardDuty-specific fields.
func (Script) Transform(d *normalize.Doc) error {
	ov := d.ECS
	if !ov.Has("rule.name") {
		return nil
	}
	// Most titles need no trimming: leave them as mapped.
	name := ov.View("rule.name")
	if trimmed := strings.TrimRight(strings.TrimSpace(name), "."); name == "" || trimmed != name {
		ov.SetString("rule.name", trimmed)
	}
	if d.Kind("severity") == normalize.KindNumber {
		if f, err := strconv.ParseFloat(d.View("severity"), 64); err == nil {
			ov.SetString("severitylabel", Label(f))
		}
	}
	ft, ok := ParseType(d.View("type"))
	if !ok {
		return nil
	}
	for _, kv := range [...]struct{ k, v string }{
		{"ThreatPurpose", ft.ThreatPurpose}, {"ResourceTypeAffected", ft.ResourceTypeAffected},
		{"ThreatFamilyName", ft.ThreatFamilyName}, {"DetectionMechanism", ft.DetectionMechanism},
		{"Artifact", ft.Artifact},
	} {
		if kv.v != "" {
			ov.SetString(kv.k, kv.v)
		}
	}
	purpose := ft.ThreatPurpose
	fileFinding := ft.ThreatFamilyName == "SuspiciousFile" || ft.ThreatFamilyName == "MaliciousFile"

	var direction string
	switch d.View("service.action.actionType") {
	case "NETWORK_CONNECTION":
		direction = d.View("service.action.networkConnectionAction.connectionDirection")
	case "DNS_REQUEST":
		direction = "OUTBOUND"
	default:
		if !fileFinding {
			direction = "INBOUND"
		}
	}
	switch direction {
	case "":
	case "INBOUND":
		ov.SetString("network.direction", "inbound")
	case "OUTBOUND":
		ov.SetString("network.direction", "outbound")
	default:
		ov.SetString("network.direction", strings.ToLower(direction))
	}
	switch {
	case purpose == "Backdoor" || purpose == "CryptoCurrency" || purpose == "Trojan" || fileFinding:
		ov.SetString("event.category", "malware")
	}
	if direction == "OUTBOUND" {
		// The finding's remote side was mapped to source: for outbound
		// traffic the instance is the source.
		ov.Swap("source", "destination")
	}
	return nil
}
