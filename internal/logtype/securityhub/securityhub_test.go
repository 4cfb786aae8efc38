package securityhub_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype/securityhub"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/testutil"
)

const key = "AWSLogs/123456789012/SecurityHub/us-east-1/2024/01/02/03/firehose-1-2024-01-02-03-04-05-abc.gz"

var absent = testutil.Absent

// finding returns an ASFF finding: the product, its first type, the
// workflow status, and extra top-level members (JSON, without braces).
func finding(product, typ, status, extra string) string {
	f := `{"SchemaVersion":"2018-10-08","Id":"fid-1","AwsAccountId":"123456789012","Region":"us-east-1",
		"Types":["` + typ + `"],"Title":"  A finding title. ","Description":"A finding.",
		"CreatedAt":"2024-01-02T03:00:00.000Z","UpdatedAt":"2024-01-02T03:04:05.678Z",
		"Severity":{"Label":"HIGH","Normalized":70,"Product":8},
		"ProductFields":{"aws/securityhub/ProductName":"` + product + `","aws/securityhub/CompanyName":"Amazon"` +
		`}`
	if !strings.Contains(extra, `"Resources"`) {
		f += `,"Resources":[{"Type":"AwsAccount","Id":"AWS::::Account:123456789012","Region":"us-east-1"}]`
	}
	if status != "" {
		f += `,"Workflow":{"Status":"` + status + `"}`
	}
	if extra != "" {
		f += "," + extra
	}
	return f + "}"
}

// gdFields are ProductFields of a GuardDuty network connection.
func gdFields(direction string) string {
	return `"ProductFields":{"aws/securityhub/ProductName":"GuardDuty",
		"aws/guardduty/service/action/actionType":"NETWORK_CONNECTION",
		"aws/guardduty/service/action/networkConnectionAction/connectionDirection":"` + direction + `",
		"aws/guardduty/service/action/networkConnectionAction/remoteIpDetails/ipAddressV4":"203.0.113.9",
		"aws/guardduty/service/action/networkConnectionAction/remotePortDetails/port":"40000",
		"aws/guardduty/service/action/networkConnectionAction/localPortDetails/port":"22",
		"aws/guardduty/service/action/networkConnectionAction/localIpDetails/ipAddressV4":"10.0.0.5"}`
}

const instanceResource = `"Resources":[{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
	"Details":{"AwsEc2Instance":{"IpV4Addresses":["10.0.0.5","54.0.0.5"]}}}]`

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestTransform(t *testing.T) {
	tests := []struct {
		name   string
		rec    string
		want   map[string]any
		wantID string
	}{
		{
			name: "GuardDuty inbound connection",
			rec: strings.Replace(finding("GuardDuty", "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce", "NEW", instanceResource),
				`"ProductFields":{"aws/securityhub/ProductName":"GuardDuty","aws/securityhub/CompanyName":"Amazon"}`, gdFields("INBOUND"), 1),
			want: map[string]any{
				"event.module": "guardduty", "event.category": "intrusion_detection", "network.direction": "inbound",
				"ThreatPurpose": "UnauthorizedAccess", "ResourceTypeAffected": "EC2", "ThreatFamilyName": "SSHBruteForce",
				"DetectionMechanism": absent, "source.ip": "203.0.113.9", "destination.ip": "10.0.0.5",
				"cloud.instance.id": "i-0123456789abcdef0", "related.hosts": []any{"i-0123456789abcdef0"},
				"related.ip": []any{"10.0.0.5", "203.0.113.9", "54.0.0.5"},
				"rule.name":  "A finding title", "@timestamp": "2024-01-02T03:04:05.678+00:00",
			},
			wantID: "fid-1_" + md5hex("2024-01-02T03:04:05.678+00:00NEW"),
		},
		{
			name: "GuardDuty outbound connection swaps the sides",
			rec: strings.Replace(finding("GuardDuty", "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS", "NOTIFIED", ""),
				`"ProductFields":{"aws/securityhub/ProductName":"GuardDuty","aws/securityhub/CompanyName":"Amazon"}`, gdFields("OUTBOUND"), 1),
			want: map[string]any{
				"network.direction": "outbound", "source.ip": "10.0.0.5", "destination.ip": "203.0.113.9",
				"event.category": "malware", "ThreatFamilyName": "C&CActivity", "DetectionMechanism": "B", "Artifact": "DNS",
				"@timestamp": "2024-01-02T03:04:05.678000+00:00",
			},
			wantID: "fid-1_" + md5hex("2024-01-02T03:04:05.678000+00:00NOTIFIED"),
		},
		{
			name: "GuardDuty API call by an access key",
			rec: finding("GuardDuty", "TTPs/Initial Access/UnauthorizedAccess:IAMUser-InstanceCredentialExfiltration.OutsideAWS", "NEW",
				`"Resources":[{"Type":"AwsIamAccessKey","Id":"AWS::IAM::AccessKey:ASIAEXAMPLE","Details":{"AwsIamAccessKey":{"PrincipalId":"AROAEXAMPLE:i-0123","PrincipalName":"app-role"}}}]`),
			want: map[string]any{
				"network.direction": "inbound", "ThreatFamilyName": "InstanceCredentialExfiltration", "DetectionMechanism": "OutsideAWS",
				"user.id": "ASIAEXAMPLE", "user.name": "app-role", "related.user": []any{"ASIAEXAMPLE", "app-role"},
			},
		},
		{
			name: "access key id null falls back to the principal",
			rec: finding("GuardDuty", "Recon:IAMUser/MaliciousIPCaller", "NEW",
				`"Resources":[{"Type":"AwsIamAccessKey","Id":"AWS::IAM::AccessKey:null","Details":{"AwsIamAccessKey":{"PrincipalId":"AIDAEXAMPLE:x","PrincipalName":"alice"}}}]`),
			want: map[string]any{"user.id": "AIDAEXAMPLE", "user.name": "alice", "ThreatPurpose": "Recon", "ThreatFamilyName": "MaliciousIPCaller"},
		},
		{
			name: "Security Hub control",
			rec: finding("Security Hub", "Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices", "NEW",
				`"GeneratorId":"security-control/EC2.8","Compliance":{"Status":"FAILED","SecurityControlId":"EC2.8"}`),
			want: map[string]any{
				"event.module": "security hub", "rule.id": "security-control/EC2.8",
				"consolidated_controls_view": true, "consolidated_control_findings": true,
				"ThreatPurpose": absent, "network.direction": absent,
			},
		},
		{
			name: "Inspector v2 vulnerability",
			rec: strings.Replace(finding("Inspector", "Software and Configuration Checks/Vulnerabilities/CVE", "NEW", instanceResource),
				`"Title":"  A finding title. "`, `"Title":"CVE-2023-38545 - curl, libcurl"`, 1),
			want: map[string]any{
				"event.module": "inspector", "rule.id": "Software and Configuration Checks/Vulnerabilities/CVE-2023-38545",
				"event.category": "package", "cloud.instance.id": "i-0123456789abcdef0",
			},
		},
		{
			name: "role resource names the user",
			rec: finding("IAM Access Analyzer", "Software and Configuration Checks/AWS Security Best Practices/External Access Granted", "NEW",
				`"Resources":[{"Type":"AwsIamRole","Id":"arn:aws:iam::123456789012:role/deploy"}]`),
			want: map[string]any{"event.module": "iam access analyzer", "user.name": "deploy", "user.id": absent, "related.user": []any{"deploy"}},
		},
		{
			name:   "no workflow: no suffix",
			rec:    finding("Security Hub", "Software and Configuration Checks/AWS Security Best Practices", "", `"GeneratorId":"arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/1.1"`),
			want:   map[string]any{"consolidated_controls_view": false, "consolidated_control_findings": false},
			wantID: "fid-1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, meta := testutil.Normalize(t, "securityhub", securityhub.Script{}, event.Origin{Bucket: "b", Key: key}, tc.rec, "")
			if tc.wantID != "" && meta.ID != tc.wantID {
				t.Errorf("ID = %q, want %q", meta.ID, tc.wantID)
			}
			testutil.CheckFields(t, doc, tc.want)
		})
	}
}

func TestSplitType(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   securityhub.FindingType
		wantOK bool
	}{
		{name: "ASFF with category", in: "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce", wantOK: true,
			want: securityhub.FindingType{ThreatPurpose: "UnauthorizedAccess", ResourceTypeAffected: "EC2", ThreatFamilyName: "SSHBruteForce"}},
		{name: "ASFF with all parts", in: "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS", wantOK: true,
			want: securityhub.FindingType{ThreatPurpose: "Backdoor", ResourceTypeAffected: "EC2", ThreatFamilyName: "C&CActivity", DetectionMechanism: "B", Artifact: "DNS"}},
		{name: "Macie type: the category stands for the purpose", in: "Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal", wantOK: true,
			want: securityhub.FindingType{ThreatPurpose: "SensitiveData", ResourceTypeAffected: "S3Object", ThreatFamilyName: "Personal"}},
		{name: "bare GuardDuty type", in: "Recon:EC2/Portscan", wantOK: true,
			want: securityhub.FindingType{ThreatPurpose: "Recon", ResourceTypeAffected: "EC2", ThreatFamilyName: "Portscan"}},
		{name: "no shape", in: "nothing here", wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := securityhub.SplitType(tc.in)
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("SplitType(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

var _ normalize.PathsScript = securityhub.Script{}

// FuzzTransform feeds findings with arbitrary products, types, workflow
// states and resources: the transform must never fail or panic.
func FuzzTransform(f *testing.F) {
	f.Add("GuardDuty", "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce", "NEW", instanceResource)
	f.Add("Inspector", "Software and Configuration Checks/Vulnerabilities/CVE", "NOTIFIED", `"Resources":[]`)
	f.Add("Security Hub", "x", "RESOLVED", `"Resources":[{"Type":"AwsIamAccessKey","Id":"null"}]`)
	f.Add("Macie", "Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal", "", `"Resources":[{"Type":"AwsEc2Volume"}]`)
	f.Fuzz(func(t *testing.T, product, typ, status, resources string) {
		esc := func(s string) string {
			b, _ := json.Marshal(s)
			return string(b[1 : len(b)-1])
		}
		extra := ""
		if json.Valid([]byte("{" + resources + "}")) {
			extra = resources
		}
		rec := finding(esc(product), esc(typ), esc(status), extra)
		if !json.Valid([]byte(rec)) {
			return
		}
		testutil.Normalize(t, "securityhub", securityhub.Script{}, event.Origin{Bucket: "b", Key: key}, rec, "")
	})
}
