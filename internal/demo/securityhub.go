package demo

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// shFinding is one Security Hub finding version (ASFF) and when it was
// delivered.
type shFinding struct {
	at      time.Time
	account *account
	region  string
	doc     map[string]any
}

// severityLabel is Security Hub's label of a normalized severity.
func severityLabel(normalized int) string {
	switch {
	case normalized >= 90:
		return "CRITICAL"
	case normalized >= 70:
		return "HIGH"
	case normalized >= 40:
		return "MEDIUM"
	case normalized >= 1:
		return "LOW"
	}
	return "INFORMATIONAL"
}

// asffCategories are the ASFF type prefixes of GuardDuty threat purposes.
var asffCategories = map[string]string{
	"UnauthorizedAccess": "TTPs/Initial Access",
	"Recon":              "TTPs/Discovery",
	"PenTest":            "TTPs/Discovery",
	"Persistence":        "TTPs/Persistence",
	"Stealth":            "TTPs/Defense Evasion",
	"Policy":             "Software and Configuration Checks",
	"CryptoCurrency":     "Effects/Resource Consumption",
	"Backdoor":           "TTPs/Command and Control",
}

// asffGuardDutyType turns "Purpose:Resource/Family.Mechanism!Artifact" into
// its ASFF form "<category>/Purpose:Resource-Family.Mechanism!Artifact".
func asffGuardDutyType(typ string) string {
	purpose, _, _ := strings.Cut(typ, ":")
	cat, ok := asffCategories[purpose]
	if !ok {
		cat = "Unusual Behaviors"
	}
	return cat + "/" + strings.Replace(typ, "/", "-", 1)
}

// flatten writes a JSON-like value as ASFF ProductFields: nested keys
// joined with "/", list elements as ".<i>_", values as text.
func flatten(dst map[string]any, prefix string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(dst, prefix+"/"+k, e)
		}
	case []any:
		for i, e := range x {
			flatten(dst, prefix+"."+strconv.Itoa(i)+"_", e)
		}
	case nil:
	case string:
		dst[prefix] = x
	default:
		b, _ := json.Marshal(x)
		dst[prefix] = string(b)
	}
}

// asffBase returns the members every ASFF finding has.
func asffBase(id, productArn, product, company, generator string, a *account, region string, types []string,
	first, last, created, updated time.Time, normalized int, original, title, desc string) map[string]any {
	sev := map[string]any{"Label": severityLabel(normalized), "Normalized": normalized}
	if original != "" {
		sev["Original"] = original
	}
	return map[string]any{
		"SchemaVersion": "2018-10-08", "Id": id, "ProductArn": productArn, "ProductName": product, "CompanyName": company,
		"Region": region, "GeneratorId": generator, "AwsAccountId": a.id, "Types": types,
		"FirstObservedAt": gdTime(first), "LastObservedAt": gdTime(last), "CreatedAt": gdTime(created), "UpdatedAt": gdTime(updated),
		"Severity": sev, "Title": title, "Description": desc,
		"RecordState": "ACTIVE", "WorkflowState": "NEW", "Workflow": map[string]any{"Status": "NEW"},
		"FindingProviderFields": map[string]any{"Severity": map[string]any{"Label": severityLabel(normalized), "Original": original}, "Types": types},
		"ProcessedAt":           gdTime(updated.Add(1500 * time.Millisecond)),
	}
}

// withWorkflow sets the workflow status (and the older WorkflowState
// that goes with it).
func withWorkflow(doc map[string]any, status string) {
	doc["Workflow"] = map[string]any{"Status": status}
	state := "NEW"
	switch status {
	case "RESOLVED":
		state = "RESOLVED"
	case "NOTIFIED":
		state = "IN_PROGRESS"
	}
	doc["WorkflowState"] = state
}

// instanceResource is the ASFF resource of an instance.
func instanceResource(a *account, h *host, region string) map[string]any {
	ips := []any{h.privateIP}
	if h.publicIP != "" {
		ips = append(ips, h.publicIP)
	}
	return map[string]any{
		"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:" + region + ":" + a.id + ":instance/" + h.instanceID,
		"Partition": "aws", "Region": region, "Tags": map[string]any{"Name": h.name, "env": a.name},
		"Details": map[string]any{"AwsEc2Instance": map[string]any{
			"Type": h.instanceType, "ImageId": h.ami, "IpV4Addresses": ips, "VpcId": a.vpc.id, "SubnetId": h.subnet,
			"IamInstanceProfileArn": "arn:aws:iam::" + a.id + ":instance-profile/" + h.role}},
	}
}

// shFromGuardDuty is the Security Hub copy of a GuardDuty finding version.
func shFromGuardDuty(f *gdFinding, v gdVersion, rec map[string]any) shFinding {
	a := f.account
	svc := rec["service"].(map[string]any)
	normalized := int(f.severity * 10)
	doc := asffBase(rec["arn"].(string), "arn:aws:securityhub:"+f.region+"::product/aws/guardduty", "GuardDuty", "Amazon",
		"arn:aws:guardduty:"+f.region+":"+a.id+":detector/"+a.detector[f.region], a, f.region, []string{asffGuardDutyType(f.typ)},
		f.first, mustTime(svc["eventLastSeen"].(string)), f.versions[0].at, v.at, normalized, "", f.title, f.desc)
	doc["Severity"].(map[string]any)["Product"] = f.severity
	doc["FindingProviderFields"].(map[string]any)["Severity"] = map[string]any{"Product": f.severity, "Label": severityLabel(normalized)}
	pf := map[string]any{}
	for k, val := range svc {
		if k == "additionalInfo" {
			continue
		}
		flatten(pf, "aws/guardduty/service/"+k, val)
	}
	if inst, ok := rec["resource"].(map[string]any)["instanceDetails"]; ok {
		ifaces := inst.(map[string]any)["networkInterfaces"]
		flatten(pf, "aws/guardduty/resource/instanceDetails/networkInterfaces", ifaces)
	}
	pf["aws/securityhub/FindingId"] = "arn:aws:securityhub:" + f.region + "::product/aws/guardduty/" + rec["arn"].(string)
	pf["aws/securityhub/ProductName"] = "GuardDuty"
	pf["aws/securityhub/CompanyName"] = "Amazon"
	doc["ProductFields"] = pf
	var res []any
	switch {
	case f.host != nil:
		res = append(res, instanceResource(a, f.host, f.region))
	default:
		res = append(res, map[string]any{"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:" + f.key.accessKey, "Partition": "aws", "Region": f.region,
			"Details": map[string]any{"AwsIamAccessKey": map[string]any{"PrincipalId": f.key.principalID, "PrincipalType": f.key.userType, "PrincipalName": f.key.userName}}})
		if f.bucket != "" {
			res = append(res, map[string]any{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::" + f.bucket, "Partition": "aws", "Region": f.region})
		}
	}
	doc["Resources"] = res
	doc["SourceUrl"] = "https://" + f.region + ".console.aws.amazon.com/guardduty/home?region=" + f.region + "#/findings?macros=current&fId=" + f.id
	return shFinding{at: v.at.Add(90 * time.Second), account: a, region: f.region, doc: doc}
}

func mustTime(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04:05.000Z", s)
	if err != nil {
		panic("demo: bad time " + s)
	}
	return t
}

// control is a Security Hub control and the resources it fails on.
type control struct {
	id, title, severity string
	// resources returns the checked resources of an account with whether
	// each fails at time t.
	resources func(w *world, a *account) []checked
}

type checked struct {
	typ, id string
	fails   func(t time.Time) bool
}

// controls are the Security Hub controls the demo evaluates.
func controls() []control {
	fails := func(v bool) func(time.Time) bool { return func(time.Time) bool { return v } }
	sg := func(w *world, a *account, h *host) checked {
		c := checked{typ: "AwsEc2SecurityGroup", id: "arn:aws:ec2:" + a.home + ":" + a.id + ":security-group/" + h.sg, fails: fails(h.sshOpen)}
		if s := w.story; a == s.account && h == s.target {
			c.fails = func(t time.Time) bool { return !t.Before(s.sgOpened) && t.Before(s.revoked) }
		}
		return c
	}
	inst := func(a *account, h *host, f func(time.Time) bool) checked {
		return checked{typ: "AwsEc2Instance", id: "arn:aws:ec2:" + a.home + ":" + a.id + ":instance/" + h.instanceID, fails: f}
	}
	acct := func(a *account, v bool) []checked {
		return []checked{{typ: "AwsAccount", id: "AWS::::Account:" + a.id, fails: fails(v)}}
	}
	return []control{
		{"EC2.19", "Security groups should not allow unrestricted access to ports with high risk", "CRITICAL", func(w *world, a *account) []checked {
			var out []checked
			for _, h := range a.hosts {
				if h.publicIP != "" {
					out = append(out, sg(w, a, h))
				}
			}
			return out
		}},
		{"EC2.8", "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)", "HIGH", func(w *world, a *account) []checked {
			var out []checked
			for _, h := range a.hosts {
				switch {
				case h.instanceID == "":
				case a == w.story.account && h == w.story.target:
					fixed := w.story.resumed.Add(10 * time.Minute)
					out = append(out, inst(a, h, func(t time.Time) bool { return t.Before(fixed) }))
				default:
					out = append(out, inst(a, h, fails(h.kind == kindDev || h.kind == kindBastion)))
				}
			}
			return out
		}},
		{"EC2.9", "Amazon EC2 instances should not have a public IPv4 address", "HIGH", func(w *world, a *account) []checked {
			var out []checked
			for _, h := range a.hosts {
				if h.publicIP != "" {
					out = append(out, inst(a, h, fails(true)))
				}
			}
			return out
		}},
		{"IAM.6", "Hardware MFA should be enabled for the root user", "CRITICAL", func(w *world, a *account) []checked { return acct(a, true) }},
		{"IAM.5", "MFA should be enabled for all IAM users that have a console password", "MEDIUM", func(w *world, a *account) []checked {
			return []checked{{typ: "AwsIamUser", id: "arn:aws:iam::" + a.id + ":user/bob", fails: fails(true)},
				{typ: "AwsIamUser", id: "arn:aws:iam::" + a.id + ":user/alice", fails: fails(false)}}
		}},
		{"S3.8", "S3 general purpose buckets should block public access", "HIGH", func(w *world, a *account) []checked {
			var out []checked
			for i, b := range a.buckets {
				out = append(out, checked{typ: "AwsS3Bucket", id: "arn:aws:s3:::" + b, fails: fails(i == 0 && a.name == "dev")})
			}
			return out
		}},
		{"S3.5", "S3 general purpose buckets should require requests to use SSL", "MEDIUM", func(w *world, a *account) []checked {
			var out []checked
			for i, b := range a.buckets {
				out = append(out, checked{typ: "AwsS3Bucket", id: "arn:aws:s3:::" + b, fails: fails(i%2 == 0)})
			}
			return out
		}},
		{"CloudTrail.1", "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and write management events", "HIGH",
			func(w *world, a *account) []checked {
				c := checked{typ: "AwsAccount", id: "AWS::::Account:" + a.id, fails: fails(false)}
				if s := w.story; a == s.account {
					c.fails = func(t time.Time) bool { return !t.Before(s.stopped) && t.Before(s.resumed) }
				}
				return []checked{c}
			}},
		{"CloudTrail.2", "CloudTrail should have encryption at-rest enabled", "MEDIUM", func(w *world, a *account) []checked {
			return []checked{{typ: "AwsCloudTrailTrail", id: "arn:aws:cloudtrail:" + a.home + ":" + a.id + ":trail/" + a.trail, fails: fails(true)}}
		}},
		{"GuardDuty.1", "GuardDuty should be enabled", "HIGH", func(w *world, a *account) []checked { return acct(a, false) }},
		{"KMS.4", "AWS KMS key rotation should be enabled", "MEDIUM", func(w *world, a *account) []checked {
			return []checked{{typ: "AwsKmsKey", id: "arn:aws:kms:" + a.home + ":" + a.id + ":key/" + a.vpc.id[4:12] + "-1b2c-4d5e-8f90-" + a.vpc.id[8:20], fails: fails(true)}}
		}},
		{"EC2.2", "VPC default security groups should not allow inbound or outbound traffic", "HIGH", func(w *world, a *account) []checked {
			return []checked{{typ: "AwsEc2SecurityGroup", id: "arn:aws:ec2:" + a.home + ":" + a.id + ":security-group/sg-0" + a.vpc.id[5:21], fails: fails(true)}}
		}},
		{"Config.1", "AWS Config should be enabled and use the service-linked role for resource recording", "MEDIUM", func(w *world, a *account) []checked { return acct(a, false) }},
	}
}

// controlFindings evaluates the controls once a day per account, and again
// when the attack changes a result.
func (w *world) controlFindings() []shFinding {
	r := newRNG(w.seed, "securityhub")
	var out []shFinding
	for _, a := range w.accounts {
		hour := time.Duration(3+r.IntN(4))*time.Hour + time.Duration(r.IntN(3600))*time.Second
		var checks []time.Time
		for d := w.start.Truncate(24 * time.Hour); d.Before(w.end); d = d.Add(24 * time.Hour) {
			checks = append(checks, d.Add(hour))
		}
		if a == w.story.account {
			s := w.story
			checks = append(checks, s.sgOpened.Add(14*time.Minute), s.stopped.Add(11*time.Minute), s.resumed.Add(13*time.Minute), s.revoked.Add(12*time.Minute), s.resumed.Add(24*time.Minute))
			sort.Slice(checks, func(i, j int) bool { return checks[i].Before(checks[j]) })
		}
		for _, c := range controls() {
			for _, res := range c.resources(w, a) {
				id := "arn:aws:securityhub:" + a.home + ":" + a.id + ":security-control/" + c.id + "/finding/" + r.uuid()
				first := time.Time{}
				prev := ""
				for _, t := range checks {
					if t.Before(w.start) || t.After(w.end) {
						continue
					}
					status := "PASSED"
					if res.fails(t) {
						status = "FAILED"
					}
					if first.IsZero() {
						first = t
					}
					// A result that did not change only refreshes the daily
					// evaluation; extra checks record changes only.
					if prev == status && !isDaily(t, hour) {
						continue
					}
					prev = status
					out = append(out, w.controlFinding(r, a, c, res, id, status, first, t))
				}
			}
		}
	}
	out = append(out, w.inspectorFindings()...)
	out = append(out, w.analyzerFindings()...)
	return out
}

func isDaily(t time.Time, hour time.Duration) bool { return t.Sub(t.Truncate(24*time.Hour)) == hour }

var controlSeverity = map[string]int{"CRITICAL": 90, "HIGH": 70, "MEDIUM": 40, "LOW": 1}

func (w *world) controlFinding(r *rng, a *account, c control, res checked, id, status string, first, t time.Time) shFinding {
	normalized, original := controlSeverity[c.severity], c.severity
	if status == "PASSED" {
		normalized, original = 0, "INFORMATIONAL"
	}
	types := []string{"Software and Configuration Checks/Industry and Regulatory Standards"}
	doc := asffBase(id, "arn:aws:securityhub:"+a.home+"::product/aws/securityhub", "Security Hub", "AWS", "security-control/"+c.id,
		a, a.home, types, first, t, first, t, normalized, original, c.title,
		"This control checks: "+strings.ToLower(c.title[:1])+c.title[1:]+".")
	doc["Compliance"] = map[string]any{"Status": status, "SecurityControlId": c.id,
		"AssociatedStandards": []any{map[string]any{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}}}
	if status == "PASSED" {
		withWorkflow(doc, "RESOLVED")
	} else if r.chance(0.15) {
		withWorkflow(doc, "NOTIFIED")
	}
	doc["ProductFields"] = map[string]any{
		"RelatedAWSResources:0/name":  "securityhub-" + strings.ToLower(strings.ReplaceAll(c.id, ".", "-")) + "-" + a.vpc.id[4:12],
		"RelatedAWSResources:0/type":  "AWS::Config::ConfigRule",
		"aws/securityhub/ProductName": "Security Hub", "aws/securityhub/CompanyName": "AWS",
		"Resources:0/Id": res.id, "aws/securityhub/FindingId": "arn:aws:securityhub:" + a.home + "::product/aws/securityhub/" + id,
	}
	doc["Resources"] = []any{map[string]any{"Type": res.typ, "Id": res.id, "Partition": "aws", "Region": a.home}}
	doc["Remediation"] = map[string]any{"Recommendation": map[string]any{"Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation."}}
	return shFinding{at: t.Add(2 * time.Minute), account: a, region: a.home, doc: doc}
}

// vulnerability is a CVE Inspector reports on instances.
type vulnerability struct {
	cve, pkg, version, fixed string
	score                    float64
	title                    string
	kinds                    []hostKind
}

var vulnerabilities = []vulnerability{
	{"CVE-2023-38545", "curl", "8.2.1", "8.4.0", 9.8, "curl, libcurl", []hostKind{kindBuild, kindDev}},
	{"CVE-2024-6387", "openssh-server", "8.7p1", "8.7p1-38", 8.1, "openssh", []hostKind{kindBastion, kindBuild, kindDev}},
	{"CVE-2023-4911", "glibc", "2.34", "2.34-52", 7.8, "glibc", []hostKind{kindWeb, kindApp, kindBuild}},
	{"CVE-2023-44487", "nghttp2", "1.51.0", "1.57.0", 7.5, "nghttp2", []hostKind{kindWeb}},
	{"CVE-2024-21626", "runc", "1.1.7", "1.1.12", 8.6, "runc", []hostKind{kindNode}},
	{"CVE-2023-46218", "curl", "8.2.1", "8.5.0", 6.5, "curl, libcurl", []hostKind{kindWeb, kindApp, kindNode}},
	{"CVE-2024-0727", "openssl", "3.0.8", "3.0.8-1", 5.5, "openssl", []hostKind{kindApp, kindDB, kindNode}},
}

// inspectorFindings are Inspector's vulnerability findings, refreshed daily.
func (w *world) inspectorFindings() []shFinding {
	r := newRNG(w.seed, "inspector")
	var out []shFinding
	for _, a := range w.accounts {
		for _, v := range vulnerabilities {
			for _, h := range a.hosts {
				if h.instanceID == "" || !contains(v.kinds, h.kind) {
					continue
				}
				id := "arn:aws:inspector2:" + a.home + ":" + a.id + ":finding/" + r.hex(32)
				first := w.start.Add(-time.Duration(24+r.IntN(240)) * time.Hour)
				normalized := int(v.score * 10)
				title := v.cve + " - " + v.title
				offset := time.Duration(r.IntN(86400)) * time.Second
				for d := w.start.Truncate(24 * time.Hour); d.Before(w.end); d = d.Add(24 * time.Hour) {
					t := d.Add(offset)
					if t.Before(w.start) || t.After(w.end) {
						continue
					}
					doc := asffBase(id, "arn:aws:securityhub:"+a.home+"::product/aws/inspector", "Inspector", "Amazon", "AWSInspector",
						a, a.home, []string{"Software and Configuration Checks/Vulnerabilities/CVE"}, first, t, first, t,
						normalized, strconv.FormatFloat(v.score, 'f', 1, 64), title,
						"A vulnerability in package "+v.pkg+" "+v.version+" allows an attacker to affect the confidentiality, integrity or availability of the instance. Upgrade to "+v.fixed+" or later.")
					doc["ProductFields"] = map[string]any{
						"aws/inspector/ProductVersion": "2", "aws/inspector/FindingStatus": "ACTIVE",
						"aws/inspector/inspectorScore":                                             strconv.FormatFloat(v.score, 'f', 1, 64),
						"aws/inspector/resources/1/resourceDetails/awsEc2InstanceDetails/platform": "AMAZON_LINUX_2023",
						"aws/securityhub/FindingId":                                                "arn:aws:securityhub:" + a.home + "::product/aws/inspector/" + id,
						"aws/securityhub/ProductName":                                              "Inspector", "aws/securityhub/CompanyName": "Amazon",
					}
					doc["Resources"] = []any{instanceResource(a, h, a.home)}
					doc["Vulnerabilities"] = []any{map[string]any{
						"Id": v.cve, "FixAvailable": "YES",
						"VulnerablePackages": []any{map[string]any{"Name": v.pkg, "Version": v.version, "Epoch": "0", "Architecture": "X86_64", "PackageManager": "OS", "FixedInVersion": v.fixed}},
						"Cvss":               []any{map[string]any{"Version": "3.1", "BaseScore": v.score, "Source": "NVD"}},
						"Vendor":             map[string]any{"Name": "NVD", "VendorSeverity": severityLabel(normalized)},
					}}
					out = append(out, shFinding{at: t.Add(3 * time.Minute), account: a, region: a.home, doc: doc})
				}
			}
		}
	}
	return out
}

func contains[T comparable](list []T, v T) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

// analyzerFindings are IAM Access Analyzer's findings about resources
// shared outside the account, refreshed daily.
func (w *world) analyzerFindings() []shFinding {
	r := newRNG(w.seed, "analyzer")
	var out []shFinding
	for _, a := range w.accounts {
		analyzer := "arn:aws:access-analyzer:" + a.home + ":" + a.id + ":analyzer/ConsoleAnalyzer-" + r.uuid()
		shared := []struct{ typ, arn, what string }{
			{"AwsIamRole", "arn:aws:iam::" + a.id + ":role/vendor-readonly", "allows cross-account access"},
			{"AwsS3Bucket", "arn:aws:s3:::" + a.buckets[0], "allows cross-account access"},
		}
		for _, s := range shared {
			id := analyzer + "/" + s.arn
			first := w.start.Add(-72 * time.Hour)
			offset := time.Duration(r.IntN(86400)) * time.Second
			for d := w.start.Truncate(24 * time.Hour); d.Before(w.end); d = d.Add(24 * time.Hour) {
				t := d.Add(offset)
				if t.Before(w.start) || t.After(w.end) {
					continue
				}
				title := s.typ + "/" + s.arn + "/ " + s.what
				doc := asffBase(id, "arn:aws:securityhub:"+a.home+"::product/aws/access-analyzer", "IAM Access Analyzer", "AWS", "aws/access-analyzer",
					a, a.home, []string{"Software and Configuration Checks/AWS Security Best Practices/External Access Granted"},
					first, t, first, t, 1, "", title, s.typ+" "+s.arn+" "+s.what+".")
				doc["ProductFields"] = map[string]any{"ResourceOwnerAccount": a.id,
					"aws/securityhub/FindingId":   "arn:aws:securityhub:" + a.home + "::product/aws/access-analyzer/" + id,
					"aws/securityhub/ProductName": "IAM Access Analyzer", "aws/securityhub/CompanyName": "AWS"}
				doc["Resources"] = []any{map[string]any{"Type": s.typ, "Id": s.arn, "Partition": "aws", "Region": a.home}}
				out = append(out, shFinding{at: t.Add(2 * time.Minute), account: a, region: a.home, doc: doc})
			}
		}
	}
	return out
}

// writeSecurityHub files the findings where a Firehose stream fed by
// Security Hub's EventBridge events puts them:
// AWSLogs/<account>/SecurityHub/<region>/YYYY/MM/DD/HH/<stream>-1-<time>-<id>.gz.
// Each line is the detail of one event, {"findings":[...]}: the loader
// does not unwrap the EventBridge envelope of a type with a json_delimiter
// yet, so the envelope is left out.
func writeSecurityHub(w *world, out *output, all []shFinding) error {
	r := newRNG(w.seed, "securityhub/files")
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	type fileKey struct {
		account, region string
		hour            time.Time
	}
	var keys []fileKey
	files := map[fileKey][]byte{}
	counts := map[fileKey]int{}
	for _, f := range all {
		if f.at.After(w.end) || f.at.Before(w.start) {
			continue
		}
		line, err := json.Marshal(map[string]any{"findings": []any{f.doc}})
		if err != nil {
			return fmt.Errorf("encoding Security Hub finding %v: %w", f.doc["Id"], err)
		}
		k := fileKey{f.account.id, f.region, f.at.Truncate(time.Hour)}
		if files[k] == nil {
			keys = append(keys, k)
		}
		files[k] = append(append(files[k], line...), '\n')
		counts[k]++
	}
	for _, k := range keys {
		stamp := k.hour.Add(time.Duration(r.IntN(3600)) * time.Second)
		key := fmt.Sprintf("AWSLogs/%s/SecurityHub/%s/%s/aes-siem-firehose-securityhub-1-%s-%s.gz",
			k.account, k.region, k.hour.Format("2006/01/02/15"), stamp.Format("2006-01-02-15-04-05"), r.uuid())
		if err := out.write(TypeSecurityHub, key, files[k], counts[k]); err != nil {
			return err
		}
	}
	return nil
}
