package web

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// The two hostile strings every rendering test plants in the data.
const (
	xssScript = `<script>alert(1)</script>`
	xssImg    = `"><img src=x onerror=alert(1)>`
)

// synthDocs makes n documents per log type spread over the 24 hours before
// now, with the fields the dashboards read, and a few carrying the XSS
// strings (as a user name, an event name and a domain).
func synthDocs(now time.Time, n int) []store.Doc {
	r := rand.New(rand.NewPCG(20240101, 7))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	countries := []string{"United States", "China", "Russia", "Netherlands", "Brazil", "India", "Germany", "South Korea", "Vietnam", "Iran"}
	ip := func() string {
		return fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(220), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
	privIP := func() string { return fmt.Sprintf("10.0.%d.%d", r.IntN(16), 1+r.IntN(254)) }
	var docs []store.Doc
	add := func(lt, index string, i int, ts time.Time, src map[string]any) {
		src["@log_type"] = lt
		src["@timestamp"] = ts.UTC().Format(time.RFC3339)
		b, err := json.Marshal(src)
		if err != nil {
			panic(err)
		}
		docs = append(docs, store.Doc{ID: fmt.Sprintf("%s-%05d", lt, i), Index: index + ts.UTC().Format("-2006-01"), LogType: lt, TimestampMs: ts.UnixMilli(), Source: b})
	}
	at := func() time.Time {
		return now.Add(-time.Duration(r.Int64N(int64(24 * time.Hour)))).Truncate(time.Second)
	}
	for i := range n {
		ts := at()
		user := pick("alice", "bob", "terraform", "ci-deployer", "admin")
		action := pick("GetObject", "PutObject", "DescribeInstances", "AssumeRole", "ConsoleLogin", "ListBuckets", "CreateUser")
		if i == 1 {
			user, action = xssScript, xssImg
		}
		src := map[string]any{
			"eventName": action, "eventSource": "s3.amazonaws.com",
			"event":  map[string]any{"action": action, "module": pick("s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"), "outcome": "success"},
			"cloud":  map[string]any{"region": pick("us-east-1", "eu-west-1", "ap-northeast-1"), "account": map[string]any{"id": "123456789012"}},
			"user":   map[string]any{"name": user},
			"source": map[string]any{"ip": ip(), "geo": map[string]any{"country_name": pick(countries...)}},
		}
		if r.IntN(8) == 0 {
			src["error"] = map[string]any{"code": pick("AccessDenied", "UnauthorizedOperation", "NoSuchBucket")}
			src["event"].(map[string]any)["outcome"] = "failure"
		}
		add("cloudtrail", "log-aws-cloudtrail", i, ts, src)

		ts = at()
		act := "ACCEPT"
		if r.IntN(5) == 0 {
			act = "REJECT"
		}
		add("vpcflowlogs", "log-aws-vpcflowlogs", i, ts, map[string]any{
			"event":       map[string]any{"action": act},
			"source":      map[string]any{"ip": ip(), "port": 1024 + r.IntN(60000), "geo": map[string]any{"country_name": pick(countries...)}},
			"destination": map[string]any{"ip": privIP(), "port": []int{22, 80, 443, 3389, 53}[r.IntN(5)]},
			"network":     map[string]any{"bytes": 100 + r.IntN(100000), "transport": pick("tcp", "udp", "icmp")},
		})

		ts = at()
		sev := float64(1 + r.IntN(8))
		label := "low"
		if sev >= 7 {
			label = "high"
		} else if sev >= 4 {
			label = "medium"
		}
		add("guardduty", "log-aws-guardduty", i, ts, map[string]any{
			"severitylabel": label, "ThreatPurpose": pick("Recon", "UnauthorizedAccess", "CryptoCurrency", "Backdoor"),
			"event":    map[string]any{"severity": sev},
			"rule":     map[string]any{"id": pick("Recon:EC2/PortProbeUnprotectedPort", "UnauthorizedAccess:EC2/SSHBruteForce", "CryptoCurrency:EC2/BitcoinTool.B!DNS")},
			"source":   map[string]any{"ip": ip(), "geo": map[string]any{"country_name": pick(countries...)}},
			"cloud":    map[string]any{"instance": map[string]any{"id": pick("i-0a1", "i-0b2", "i-0c3")}},
			"resource": map[string]any{"resourceType": pick("Instance", "AccessKey")},
			"user":     map[string]any{"name": pick("EC2-WebServer", "deploy")},
		})

		ts = at()
		add("securityhub", "log-aws-securityhub", i, ts, map[string]any{
			"Severity":   map[string]any{"Label": pick("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")},
			"event":      map[string]any{"module": pick("security hub", "guardduty", "inspector", "macie")},
			"Workflow":   map[string]any{"Status": pick("NEW", "NOTIFIED", "RESOLVED")},
			"Compliance": map[string]any{"Status": pick("PASSED", "FAILED")},
			"rule":       map[string]any{"name": pick("EC2.3 Attached EBS volumes should be encrypted at-rest", "S3.1 Block public access", "IAM.6 Hardware MFA for root")},
			"cloud":      map[string]any{"account": map[string]any{"id": pick("111111111111", "222222222222")}},
		})

		ts = at()
		domain := pick("example.com.", "s3.amazonaws.com.", "evil.test.", "api.github.test.")
		if i == 3 {
			domain = xssImg
		}
		add("route53resolver", "log-aws-r53resolver", i, ts, map[string]any{
			"vpc_id": pick("vpc-01", "vpc-02"),
			"dns":    map[string]any{"question": map[string]any{"name": domain, "type": pick("A", "AAAA", "TXT")}, "response_code": pick("NOERROR", "NOERROR", "NXDOMAIN")},
			"cloud":  map[string]any{"instance": map[string]any{"id": pick("i-0a1", "i-0b2")}},
			"source": map[string]any{"ip": privIP()},
		})

		ts = at()
		outcome := "failure"
		if r.IntN(4) == 0 {
			outcome = "success"
		}
		add("linux-secure", "log-linux-secure", i, ts, map[string]any{
			"process": map[string]any{"name": "sshd"},
			"event":   map[string]any{"outcome": outcome},
			"user":    map[string]any{"name": pick("root", "admin", "ubuntu", "ec2-user")},
			"host":    map[string]any{"hostname": pick("web-1", "bastion")},
			"source":  map[string]any{"ip": ip(), "geo": map[string]any{"country_name": pick(countries...)}},
		})
	}
	return docs
}
