// Package guardduty holds what is particular to GuardDuty findings: the
// severity label, the parts of the finding type, the direction of the
// traffic (swapping source and destination for outbound findings) and the
// malware category.
package guardduty

import (
	"regexp"
	"strings"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// typeRe splits a finding type such as "Backdoor:EC2/C&CActivity.B!DNS"
// into its documented parts.
var typeRe = regexp.MustCompile(`^(?P<ThreatPurpose>\w*):(?P<ResourceTypeAffected>\w*)/(?P<ThreatFamilyName>[\w&]*)(\.(?P<DetectionMechanism>\w*))?(!(?P<Artifact>\w*))?`)

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

// Transform adds the GuardDuty-specific fields.
func (Script) Transform(d *normalize.Doc) error {
	ov := d.ECS
	if !ov.Has("rule.name") {
		return nil
	}
	ov.SetString("rule.name", strings.TrimRight(strings.TrimSpace(ov.String("rule.name")), "."))
	if sev := d.Get("severity"); sev != nil {
		if f, err := sev.Float64(); err == nil {
			ov.SetString("severitylabel", Label(f))
		}
	}
	m := typeRe.FindStringSubmatch(d.Str("type"))
	if m == nil {
		return nil
	}
	family := ""
	for i, name := range typeRe.SubexpNames() {
		if name == "" || m[i] == "" {
			continue
		}
		ov.SetString(name, m[i])
		if name == "ThreatFamilyName" {
			family = m[i]
		}
	}
	purpose := m[typeRe.SubexpIndex("ThreatPurpose")]
	fileFinding := family == "SuspiciousFile" || family == "MaliciousFile"

	var direction string
	switch d.Str("service.action.actionType") {
	case "NETWORK_CONNECTION":
		direction = d.Str("service.action.networkConnectionAction.connectionDirection")
	case "DNS_REQUEST":
		direction = "OUTBOUND"
	default:
		if !fileFinding {
			direction = "INBOUND"
		}
	}
	if direction != "" {
		ov.SetString("network.direction", strings.ToLower(direction))
	}
	if direction == "OUTBOUND" {
		// The finding's remote side was mapped to source: for outbound
		// traffic the instance is the source.
		ov.Swap("source", "destination")
	}
	switch {
	case purpose == "Backdoor" || purpose == "CryptoCurrency" || purpose == "Trojan" || fileFinding:
		ov.SetString("event.category", "malware")
	}
	return nil
}
