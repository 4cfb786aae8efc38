// Package securityhub holds what is particular to Security Hub findings
// (AWS Security Finding Format): the product that produced the finding as
// event.module, an id suffix per workflow state, the parts of GuardDuty and
// Macie finding types, the traffic direction of GuardDuty findings, the
// rule id of Security Hub controls and Inspector findings, and the
// instance, user and addresses named in the finding's resources.
package securityhub

import (
	"crypto/md5"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// Record paths the transform reads.
const (
	productName   = "ProductFields.aws/securityhub/ProductName"
	workflow      = "Workflow.Status"
	updatedAt     = "UpdatedAt"
	firstType     = "Types.0"
	generatorID   = "GeneratorId"
	controlID     = "Compliance.SecurityControlId"
	actionType    = "ProductFields.aws/guardduty/service/action/actionType"
	connDirection = "ProductFields.aws/guardduty/service/action/networkConnectionAction/connectionDirection"
	inspectorV1ID = "ProductFields.aws/inspector/id"
	types         = "Types"
	title         = "Title"
)

// asffType splits an ASFF finding type carrying a GuardDuty or Macie type,
// "namespace[/category]/[ThreatPurpose:]ResourceTypeAffected(/|-|.)
// ThreatFamilyName[.DetectionMechanism][!Artifact]".
var asffType = regexp.MustCompile(`^(?P<ns>[^/]*)(/(?P<category>[^/]*))?/((?P<purpose>\w*):)?(?P<resource>\w*)(/|-|\.)(?P<family>[\w&]*)(\.(?P<mechanism>\w*))?(!(?P<artifact>\w*))?`)

// plainType is the older form, a bare GuardDuty finding type.
var plainType = regexp.MustCompile(`^(?P<purpose>\w*):(?P<resource>\w*)/(?P<family>[\w&]*)(\.(?P<mechanism>\w*))?(!(?P<artifact>\w*))?`)

// FindingType is a GuardDuty or Macie finding type split into its parts.
type FindingType struct {
	ThreatPurpose, ResourceTypeAffected, ThreatFamilyName, DetectionMechanism, Artifact string
}

// SplitType splits the first ASFF type of a GuardDuty or Macie finding,
// such as "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce" or
// the bare "Recon:EC2/Portscan". Without a threat purpose, the ASFF
// category (spaces removed) stands for it. ok is false when the type has
// neither shape.
func SplitType(s string) (ft FindingType, ok bool) {
	re := asffType
	m := re.FindStringSubmatch(s)
	if m == nil {
		re = plainType
		if m = re.FindStringSubmatch(s); m == nil {
			return FindingType{}, false
		}
	}
	group := func(name string) string {
		if i := re.SubexpIndex(name); i >= 0 {
			return m[i]
		}
		return ""
	}
	ft = FindingType{
		ThreatPurpose:        group("purpose"),
		ResourceTypeAffected: group("resource"),
		ThreatFamilyName:     group("family"),
		DetectionMechanism:   group("mechanism"),
		Artifact:             group("artifact"),
	}
	if ft.ThreatPurpose == "" {
		ft.ThreatPurpose = strings.ReplaceAll(group("category"), " ", "")
	}
	return ft, true
}

// Script is the securityhub transform.
type Script struct{}

// Paths lists the record fields the transform reads.
func (Script) Paths() []string {
	return []string{productName, workflow, updatedAt, firstType, generatorID, controlID,
		actionType, connDirection, inspectorV1ID, types, title}
}

// Transform adds the Security Hub fields.
func (Script) Transform(d *normalize.Doc) error {
	ov := d.ECS
	module := strings.ToLower(d.Str(productName))
	if module != "" {
		ov.SetString("event.module", module)
	}

	if status := d.Str(workflow); status != "" {
		ts := ov.String("@timestamp")
		if status == "NEW" {
			if u := d.Str(updatedAt); u != "" {
				if _, err := normalize.ParseISO8601(u, time.UTC); err == nil {
					ts = strings.ReplaceAll(u, "Z", "+00:00")
					ov.SetString("@timestamp", ts)
				}
			}
		}
		sum := md5.Sum([]byte(ts + status))
		d.IDSuffix = hex.EncodeToString(sum[:])
	}

	var ft FindingType
	if module == "guardduty" || module == "macie" {
		var ok bool
		if ft, ok = SplitType(d.Str(firstType)); ok {
			for _, kv := range [...]struct{ k, v string }{
				{"ThreatPurpose", ft.ThreatPurpose}, {"ResourceTypeAffected", ft.ResourceTypeAffected},
				{"ThreatFamilyName", ft.ThreatFamilyName}, {"DetectionMechanism", ft.DetectionMechanism},
				{"Artifact", ft.Artifact},
			} {
				if kv.v != "" {
					ov.SetString(kv.k, kv.v)
				}
			}
		}
	}

	fileFinding := ft.ThreatFamilyName == "SuspiciousFile" || ft.ThreatFamilyName == "MaliciousFile"
	switch {
	case strings.Contains(module, "security hub"):
		gen := d.Str(generatorID)
		if gen != "" {
			ov.SetString("rule.id", gen)
		}
		ov.SetRaw("consolidated_controls_view", boolJSON(d.Str(controlID) != ""))
		ov.SetRaw("consolidated_control_findings", boolJSON(strings.HasPrefix(gen, "security-control")))
	case strings.Contains(module, "guardduty"):
		ov.SetString("event.category", "intrusion_detection")
		var direction string
		switch d.Str(actionType) {
		case "NETWORK_CONNECTION":
			direction = strings.ToLower(d.Str(connDirection))
		case "DNS_REQUEST":
			direction = "outbound"
		default:
			if !fileFinding {
				direction = "inbound"
			}
		}
		if direction != "" {
			ov.SetString("network.direction", direction)
		}
		if direction == "outbound" {
			ov.Swap("source", "destination")
		}
		switch ft.ThreatPurpose {
		case "Backdoor", "CryptoCurrency", "Trojan":
			ov.SetString("event.category", "malware")
		default:
			if fileFinding {
				ov.SetString("event.category", "malware")
			}
		}
	case strings.Contains(module, "inspector"):
		inspector(d)
	case strings.Contains(module, "macie"):
		ov.SetString("event.category", "intrusion_detection")
	}

	if ov.Raw("rule.name") != nil {
		name := strings.TrimRight(strings.TrimSpace(ov.String("rule.name")), ".")
		ov.SetString("rule.name", name)
	}
	resources(d)
	return nil
}

// inspector sets the rule id of an Inspector finding: the v1 finding id,
// or for v2 the type with the CVE of the title.
func inspector(d *normalize.Doc) {
	ov := d.ECS
	if v1 := d.Str(inspectorV1ID); v1 != "" {
		ov.SetString("rule.name", v1)
		// rule.id keeps the list of types mapped from Types.
		if v := d.Get(types); v != nil && v.Type() == fastjson.TypeArray {
			a, _ := v.Array()
			for _, e := range a {
				if string(e.GetStringBytes()) == "Vulnerabilities" {
					ov.SetString("event.category", "package")
					break
				}
			}
		}
		return
	}
	typ := d.Str(types)
	if d.Kind(types) == normalize.KindArray {
		typ = d.Str(firstType)
	}
	typ, _, _ = strings.Cut(typ, "/CVE")
	if strings.Contains(typ, "Vulnerabilities") {
		if f := strings.Fields(d.Str(title)); len(f) > 0 {
			typ += "/" + f[0]
		}
		ov.SetString("event.category", "package")
	}
	ov.SetString("rule.id", typ)
}

// resources takes the instance, the user and the addresses from the
// finding's resources: EC2 instances and volumes name the instance, access
// keys and roles the user (the last such resource wins).
func resources(d *normalize.Doc) {
	ov := d.ECS
	list := d.Get("Resources")
	if list == nil || list.Type() != fastjson.TypeArray {
		return
	}
	items, _ := list.Array()
	var instance, userID, userName string
	var ips []string
	str := func(v *fastjson.Value, keys ...string) string { return string(v.GetStringBytes(keys...)) }
	for _, r := range items {
		id := str(r, "Id")
		switch str(r, "Type") {
		case "AwsEc2Instance":
			instance = id[strings.LastIndexByte(id, '/')+1:]
			for _, k := range [...]string{"IpV4Addresses", "IpV6Addresses"} {
				if a := r.GetArray("Details", "AwsEc2Instance", k); a != nil {
					for _, ip := range a {
						if s := string(ip.GetStringBytes()); s != "" {
							ips = append(ips, s)
						}
					}
				}
			}
		case "AwsIamAccessKey":
			key := id[strings.LastIndexByte(id, ':')+1:]
			if key == "null" {
				key, _, _ = strings.Cut(str(r, "Details", "AwsIamAccessKey", "PrincipalId"), ":")
			}
			userID, userName = key, str(r, "Details", "AwsIamAccessKey", "PrincipalName")
		case "AwsEc2Volume":
			if i := str(r, "Details", "AwsEc2Volume", "Attachments", "0", "InstanceId"); i != "" {
				instance = i
			}
		case "AwsIamRole":
			userID, userName = "", id[strings.LastIndexByte(id, '/')+1:]
		}
	}
	if instance != "" {
		ov.SetString("cloud.instance.id", instance)
		ov.SetStrings("related.hosts", []string{instance})
	}
	var users []string
	for _, u := range [...]string{userID, userName} {
		if u != "" {
			users = append(users, u)
		}
	}
	if userID != "" {
		ov.SetString("user.id", userID)
	}
	if userName != "" {
		ov.SetString("user.name", userName)
	}
	if len(users) > 0 {
		ov.SetStrings("related.user", users)
	}
	if len(ips) > 0 {
		all := mappedList(ov.Raw("related.ip"))
		for _, ip := range ips {
			if !slices.Contains(all, ip) {
				all = append(all, ip)
			}
		}
		ov.SetStrings("related.ip", all)
	}
}

// mappedList reads an encoded JSON string or list of strings.
func mappedList(raw []byte) []string {
	if raw == nil {
		return nil
	}
	v, err := fastjson.ParseBytes(raw)
	if err != nil {
		return nil
	}
	if v.Type() == fastjson.TypeString {
		return []string{string(v.GetStringBytes())}
	}
	a, _ := v.Array()
	out := make([]string, 0, len(a))
	for _, e := range a {
		if s := string(e.GetStringBytes()); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func boolJSON(b bool) []byte {
	if b {
		return []byte("true")
	}
	return []byte("false")
}
