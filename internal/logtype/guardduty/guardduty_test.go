package guardduty_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype/guardduty"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/testutil"
)

const key = "AWSLogs/123456789012/GuardDuty/us-east-1/2024/01/02/finding.jsonl.gz"

func normalizeFinding(t *testing.T, rec string) (map[string]any, normalize.Meta) {
	t.Helper()
	return testutil.Normalize(t, "guardduty", guardduty.Script{}, event.Origin{Bucket: "gd-bucket", Key: key}, rec, "")
}

var (
	get    = testutil.Get
	absent = testutil.Absent
)

// finding builds a GuardDuty finding with the given type, severity and
// service.action (JSON, may be empty).
func finding(typ, severity, action string) string {
	svc := `"service":{"serviceName":"guardduty","count":3,"eventFirstSeen":"2024-01-01T00:00:00Z"`
	if action != "" {
		svc += `,"action":` + action
	}
	svc += `}`
	return `{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","partition":"aws",
		"id":"f0f0f0f0","arn":"arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f0f0f0f0",
		"type":"` + typ + `","title":"Finding title.","description":"A finding.","severity":` + severity + `,
		"createdAt":"2024-01-02T03:00:00.000Z","updatedAt":"2024-01-02T03:04:05.678Z",
		"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0123456789abcdef0",
		"networkInterfaces":[{"privateIpAddress":"10.0.0.5","publicIp":"54.0.0.5"}]}},` + svc + `}`
}

const (
	outboundConn = `{"actionType":"NETWORK_CONNECTION","networkConnectionAction":{"connectionDirection":"OUTBOUND",
		"protocol":"TCP","blocked":false,
		"remoteIpDetails":{"ipAddressV4":"198.51.100.7","country":{"countryName":"Exampleland"}},
		"remotePortDetails":{"port":443,"portName":"HTTPS"},
		"localIpDetails":{"ipAddressV4":"10.0.0.5"},"localPortDetails":{"port":49152,"portName":"Unknown"}}}`
	inboundConn = `{"actionType":"NETWORK_CONNECTION","networkConnectionAction":{"connectionDirection":"INBOUND",
		"remoteIpDetails":{"ipAddressV4":"203.0.113.9"},"remotePortDetails":{"port":40000},
		"localIpDetails":{"ipAddressV4":"10.0.0.5"},"localPortDetails":{"port":22}}}`
	dnsRequest = `{"actionType":"DNS_REQUEST","dnsRequestAction":{"domain":"evil.example.com","protocol":"UDP","blocked":false}}`
	portProbe  = `{"actionType":"PORT_PROBE","portProbeAction":{"blocked":false,"portProbeDetails":[
		{"localPortDetails":{"port":22,"portName":"SSH"},"remoteIpDetails":{"ipAddressV4":"192.0.2.99"}}]}}`
)

func TestTransform(t *testing.T) {
	tests := []struct {
		name string
		rec  string
		want map[string]any
	}{
		{
			name: "outbound connection: the instance is the source",
			rec:  finding("Backdoor:EC2/C&CActivity.B!DNS", "8", outboundConn),
			want: map[string]any{
				"network.direction": "outbound",
				"source.ip":         "10.0.0.5", "source.port": json.Number("49152"),
				"destination.ip": "198.51.100.7", "destination.port": json.Number("443"),
				"destination.geo.country_name": "Exampleland",
				"event.category":               "malware", "severitylabel": "high",
				"ThreatPurpose": "Backdoor", "ResourceTypeAffected": "EC2", "ThreatFamilyName": "C&CActivity",
				"DetectionMechanism": "B", "Artifact": "DNS",
				"rule.name": "Finding title", "rule.id": "Backdoor:EC2/C&CActivity.B!DNS",
			},
		},
		{
			name: "inbound connection: the remote side is the source",
			rec:  finding("UnauthorizedAccess:EC2/SSHBruteForce", "2", inboundConn),
			want: map[string]any{
				"network.direction": "inbound",
				"source.ip":         "203.0.113.9", "source.port": json.Number("40000"),
				"destination.ip": "10.0.0.5", "destination.port": json.Number("22"),
				"severitylabel": "low", "event.category": []any{"intrusion_detection"},
				"DetectionMechanism": absent, "Artifact": absent,
			},
		},
		{
			name: "DNS request is outbound",
			rec:  finding("CryptoCurrency:EC2/BitcoinTool.B!DNS", "5", dnsRequest),
			want: map[string]any{
				"network.direction": "outbound", "dns.question.name": "evil.example.com",
				"source.ip": "10.0.0.5", "destination.ip": absent,
				"event.category": "malware", "severitylabel": "medium",
			},
		},
		{
			name: "port probe is inbound",
			rec:  finding("Recon:EC2/Portscan", "5", portProbe),
			want: map[string]any{
				"network.direction": "inbound", "source.ip": "192.0.2.99", "destination.ip": "10.0.0.5",
				"ThreatPurpose": "Recon", "ResourceTypeAffected": "EC2", "ThreatFamilyName": "Portscan",
				"DetectionMechanism": absent, "Artifact": absent,
				"event.category": []any{"intrusion_detection"},
			},
		},
		{
			name: "trojan is malware",
			rec:  finding("Trojan:EC2/DNSDataExfiltration", "9.5", dnsRequest),
			want: map[string]any{"event.category": "malware", "severitylabel": "critical"},
		},
		{
			name: "malicious file finding has no direction and is malware",
			rec:  finding("Execution:EC2/MaliciousFile!Snapshot", "8", ""),
			want: map[string]any{"network.direction": absent, "event.category": "malware",
				"ThreatPurpose": "Execution", "ThreatFamilyName": "MaliciousFile", "Artifact": "Snapshot"},
		},
		{
			name: "malformed type: no parts, no direction",
			rec:  finding("NoColon", "5", inboundConn),
			want: map[string]any{"ThreatPurpose": absent, "network.direction": absent, "severitylabel": "medium",
				"rule.name": "Finding title"},
		},
		{
			name: "EventBridge event is unwrapped",
			rec:  `{"version":"0","id":"ev-1","detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":` + finding("Recon:EC2/Portscan", "2", portProbe) + `}`,
			want: map[string]any{"network.direction": "inbound", "detail-type": absent, "id": "f0f0f0f0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, meta := normalizeFinding(t, tc.rec)
			if meta.ID != "f0f0f0f0_3" {
				t.Errorf("ID = %q, want id_count f0f0f0f0_3", meta.ID)
			}
			if meta.Index != "log-aws-guardduty-2024-01" {
				t.Errorf("Index = %q", meta.Index)
			}
			if got, _ := get(doc, "@timestamp"); got != "2024-01-02T03:04:05.678000+00:00" {
				t.Errorf("@timestamp = %#v", got)
			}
			testutil.CheckFields(t, doc, tc.want)
		})
	}
}

func TestSeverityLabel(t *testing.T) {
	tests := []struct {
		name     string
		severity string
		want     string
	}{
		{name: "2 is low", severity: "2", want: "low"},
		{name: "3.9 is low", severity: "3.9", want: "low"},
		{name: "4 is medium", severity: "4", want: "medium"},
		{name: "5 is medium", severity: "5", want: "medium"},
		{name: "6.9 is medium", severity: "6.9", want: "medium"},
		{name: "7 is high", severity: "7", want: "high"},
		{name: "8 is high", severity: "8", want: "high"},
		{name: "8.9 is high", severity: "8.9", want: "high"},
		{name: "9.5 is critical", severity: "9.5", want: "critical"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, _ := normalizeFinding(t, finding("Recon:EC2/Portscan", tc.severity, portProbe))
			if got, _ := get(doc, "severitylabel"); got != tc.want {
				t.Errorf("severitylabel = %#v, want %q", got, tc.want)
			}
			if got, _ := get(doc, "event.severity"); got != json.Number(tc.severity) {
				t.Errorf("event.severity = %#v, want the number %s", got, tc.severity)
			}
		})
	}
}

func TestLabel(t *testing.T) {
	tests := []struct {
		sev  float64
		want string
	}{
		{0, "low"}, {1, "low"}, {3.9, "low"}, {3.95, "medium"}, {4, "medium"}, {6.9, "medium"},
		{7, "high"}, {8.9, "high"}, {8.95, "critical"}, {9, "critical"}, {10, "critical"},
	}
	for _, tc := range tests {
		if got := guardduty.Label(tc.sev); got != tc.want {
			t.Errorf("Label(%v) = %q, want %q", tc.sev, got, tc.want)
		}
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   guardduty.FindingType
		wantOK bool
	}{
		{name: "all parts", in: "Backdoor:EC2/C&CActivity.B!DNS", wantOK: true,
			want: guardduty.FindingType{ThreatPurpose: "Backdoor", ResourceTypeAffected: "EC2", ThreatFamilyName: "C&CActivity", DetectionMechanism: "B", Artifact: "DNS"}},
		{name: "no mechanism or artifact", in: "Recon:EC2/Portscan", wantOK: true,
			want: guardduty.FindingType{ThreatPurpose: "Recon", ResourceTypeAffected: "EC2", ThreatFamilyName: "Portscan"}},
		{name: "artifact without mechanism", in: "Execution:EC2/MaliciousFile!Snapshot", wantOK: true,
			want: guardduty.FindingType{ThreatPurpose: "Execution", ResourceTypeAffected: "EC2", ThreatFamilyName: "MaliciousFile", Artifact: "Snapshot"}},
		{name: "mechanism without artifact", in: "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", wantOK: true,
			want: guardduty.FindingType{ThreatPurpose: "UnauthorizedAccess", ResourceTypeAffected: "IAMUser", ThreatFamilyName: "InstanceCredentialExfiltration", DetectionMechanism: "OutsideAWS"}},
		{name: "no colon", in: "NoColon", wantOK: false},
		{name: "no slash", in: "Recon:EC2", wantOK: false},
		{name: "empty", in: "", wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := guardduty.ParseType(tc.in)
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("ParseType(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func FuzzParseType(f *testing.F) {
	for _, s := range []string{"Backdoor:EC2/C&CActivity.B!DNS", "Recon:EC2/Portscan", "Execution:EC2/MaliciousFile!Snapshot", "NoColon", ":/", "a:b/c.d!e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ft, ok := guardduty.ParseType(s)
		if !ok {
			if ft != (guardduty.FindingType{}) {
				t.Errorf("ParseType(%q) failed but returned %+v", s, ft)
			}
			return
		}
		if !strings.HasPrefix(s, ft.ThreatPurpose+":"+ft.ResourceTypeAffected+"/"+ft.ThreatFamilyName) {
			t.Errorf("ParseType(%q) = %+v: parts are not a prefix of the input", s, ft)
		}
	})
}
