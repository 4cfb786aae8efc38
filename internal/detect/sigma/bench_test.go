package sigma

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var benchServices = []string{
	"iam", "s3", "ec2", "sts", "kms", "lambda", "cloudtrail", "guardduty", "rds", "ecs",
	"eks", "sso", "organizations", "secretsmanager", "ssm", "logs", "config", "route53",
	"elasticloadbalancing", "dynamodb", "sns", "sqs", "kinesis", "athena", "glue", "bedrock",
	"signin", "waf", "backup", "efs",
}

var benchVerbs = []string{"Create", "Delete", "Update", "Put", "Get", "List", "Describe", "Attach", "Detach", "Modify", "Start", "Stop", "Enable", "Disable", "Tag"}
var benchNouns = []string{"User", "Role", "Policy", "Bucket", "Instance", "Key", "Function", "Trail", "Detector", "Cluster", "Secret", "Parameter", "LogGroup", "Snapshot", "SecurityGroup", "AccessKey", "LoginProfile", "Table", "Topic", "Queue"}

func benchEventName(r *rand.Rand) string {
	return benchVerbs[r.IntN(len(benchVerbs))] + benchNouns[r.IntN(len(benchNouns))]
}

// generateRules builds n realistic CloudTrail rules: selections on
// eventSource and eventName (single values and lists), some with
// contains/startswith conditions, filters and user-agent checks, and a few
// without any indexable equality.
func generateRules(t testing.TB, n int) []*Rule {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := 0; i < n; i++ {
		svc := benchServices[r.IntN(len(benchServices))]
		fmt.Fprintf(&b, "title: generated rule %d\nid: gen-%04d\nlevel: medium\ntags: [attack.t%04d]\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n", i, i, 1000+r.IntN(600))
		switch k := r.IntN(50); {
		case k < 20: // eventSource + list of eventNames
			fmt.Fprintf(&b, "  selection:\n    eventSource: %s.amazonaws.com\n    eventName:\n", svc)
			for j := 0; j < 1+r.IntN(5); j++ {
				fmt.Fprintf(&b, "      - %s\n", benchEventName(r))
			}
			b.WriteString("  condition: selection\n")
		case k < 28: // eventName + user agent contains
			fmt.Fprintf(&b, "  selection:\n    eventName: %s\n    userAgent|contains: '%s'\n  condition: selection\n", benchEventName(r), []string{"Boto3", "aws-cli", "S3 Browser", "console"}[r.IntN(4)])
		case k < 36: // selection and not filter
			fmt.Fprintf(&b, "  selection:\n    eventSource: %s.amazonaws.com\n    eventName: %s\n  filter:\n    userIdentity.type: AWSService\n  condition: selection and not filter\n", svc, benchEventName(r))
		case k < 42: // startswith on eventName, indexed by eventSource
			fmt.Fprintf(&b, "  selection:\n    eventSource: %s.amazonaws.com\n    eventName|startswith: '%s'\n  condition: selection\n", svc, benchVerbs[r.IntN(len(benchVerbs))])
		case k < 46: // 1 of selection_* with errors
			fmt.Fprintf(&b, "  selection_a:\n    eventName: %s\n    errorCode|exists: true\n  selection_b:\n    eventName: %s\n    requestParameters.userName|contains: admin\n  condition: 1 of selection_*\n", benchEventName(r), benchEventName(r))
		case k < 49: // regex on the ARN with an eventSource
			fmt.Fprintf(&b, "  selection:\n    eventSource: %s.amazonaws.com\n    userIdentity.arn|re: ':user/(adm|root)[0-9]+$'\n  condition: selection\n", svc)
		default: // nothing to index (2%, as in the SigmaHQ AWS rules)
			fmt.Fprintf(&b, "  selection:\n    userAgent|contains: 'suspicious-tool-%d'\n  condition: selection\n", i)
		}
		b.WriteString("---\n")
	}
	rules, err := Parse("generated.yml", []byte(b.String()))
	if err != nil {
		t.Fatalf("generated rules: %v", err)
	}
	return rules
}

// generateEvents returns n CloudTrail-like JSON events.
func generateEvents(n int) [][]byte {
	out := make([][]byte, n)
	for i, ev := range generateRecords(n) {
		out[i], _ = json.Marshal(ev)
	}
	return out
}

// generateDocuments returns n documents shaped like Vigil's CloudTrail
// documents: the raw record's fields, the ECS fields the normalizer adds,
// and the raw record as "@message" (about 1.3 KB each).
func generateDocuments(n int) [][]byte {
	out := make([][]byte, n)
	for i, ev := range generateRecords(n) {
		// Records of the size of the benchmark data's (1.3 KB on average).
		ev["resources"] = []any{
			map[string]any{"accountId": "123456789012", "type": "AWS::IAM::Role", "ARN": "arn:aws:iam::123456789012:role/service-role/example-role"},
		}
		ev["sessionCredentialFromConsole"] = "true"
		raw, _ := json.Marshal(ev)
		ui := ev["userIdentity"].(map[string]any)
		ip := ev["sourceIPAddress"].(string)
		ev["@message"] = string(raw)
		ev["@timestamp"] = ev["eventTime"]
		ev["@id"] = ev["eventID"]
		ev["@log_type"] = "cloudtrail"
		ev["@log_s3bucket"] = "aws-cloudtrail-logs-123456789012"
		ev["@log_s3key"] = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/01/123456789012_CloudTrail_us-east-1_20240101T0000Z_abc.json.gz"
		ev["cloud"] = map[string]any{"provider": "aws", "account": map[string]any{"id": "123456789012"}, "region": "us-east-1"}
		ev["source"] = map[string]any{"ip": ip, "address": ip}
		ev["user"] = map[string]any{"name": ui["userName"]}
		ev["event"] = map[string]any{"module": "cloudtrail", "action": ev["eventName"], "outcome": "success"}
		ev["related"] = map[string]any{"ip": []any{ip}, "user": []any{ui["userName"]}}
		out[i], _ = json.Marshal(ev)
	}
	return out
}

// generateRecords returns n CloudTrail-like records.
func generateRecords(n int) []map[string]any {
	r := rand.New(rand.NewPCG(3, 4))
	agents := []string{"aws-cli/2.13.5 Python/3.11.4", "Boto3/1.28.0 Python/3.11", "console.amazonaws.com", "S3 Browser 10.9.9", "aws-sdk-go-v2/1.21.0", "Terraform/1.5.7"}
	types := []string{"IAMUser", "AssumedRole", "AWSService", "Root"}
	out := make([]map[string]any, n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		svc := benchServices[r.IntN(len(benchServices))]
		ev := map[string]any{
			"eventVersion": "1.08",
			"userIdentity": map[string]any{
				"type":        types[r.IntN(len(types))],
				"principalId": fmt.Sprintf("AIDA%08d", r.IntN(1000)),
				"arn":         fmt.Sprintf("arn:aws:iam::123456789012:user/user%d", r.IntN(50)),
				"accountId":   "123456789012",
				"accessKeyId": fmt.Sprintf("AKIA%012d", r.IntN(1000)),
				"userName":    fmt.Sprintf("user%d", r.IntN(50)),
				"sessionContext": map[string]any{
					"attributes": map[string]any{"mfaAuthenticated": "false", "creationDate": "2024-01-01T00:00:00Z"},
				},
			},
			"eventTime":          base.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
			"eventSource":        svc + ".amazonaws.com",
			"eventName":          benchEventName(r),
			"awsRegion":          "us-east-1",
			"sourceIPAddress":    fmt.Sprintf("203.0.113.%d", r.IntN(255)),
			"userAgent":          agents[r.IntN(len(agents))],
			"requestParameters":  map[string]any{"userName": fmt.Sprintf("user%d", r.IntN(60)), "maxResults": 100},
			"responseElements":   nil,
			"requestID":          fmt.Sprintf("req-%d", i),
			"eventID":            fmt.Sprintf("evt-%d", i),
			"readOnly":           r.IntN(2) == 0,
			"eventType":          "AwsApiCall",
			"managementEvent":    true,
			"recipientAccountId": "123456789012",
			"eventCategory":      "Management",
			"tlsDetails":         map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": svc + ".amazonaws.com"},
		}
		if r.IntN(10) == 0 {
			ev["errorCode"] = "AccessDenied"
			ev["errorMessage"] = "User is not authorized"
		}
		out[i] = ev
	}
	return out
}

func decodeAll(b testing.TB, raws [][]byte) []map[string]any {
	b.Helper()
	evs := make([]map[string]any, len(raws))
	for i, raw := range raws {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	return evs
}

// BenchmarkEngine measures Match over CloudTrail-like events with 0, 100
// and 1,000 rules (events already decoded: the cost of detection alone).
//
// The events cycle through a pool of 256 distinct events, small enough to
// stay in the CPU caches as a just-decoded event would in the pipeline.
func BenchmarkEngine(b *testing.B) {
	evs := decodeAll(b, generateEvents(256))
	all := generateRules(b, 1000)
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			eng, err := Compile(all[:n], Options{})
			if err != nil {
				b.Fatal(err)
			}
			matches := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				matches += len(eng.Match(evs[i%len(evs)], "cloudtrail"))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(matches)/float64(b.N), "matches/event")
		})
	}
	b.Run("noindex-rules=1000", func(b *testing.B) {
		eng, err := Compile(all, Options{NoIndex: true})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			eng.Match(evs[i%len(evs)], "cloudtrail")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkEngineJSON measures detection as the pipeline runs it: on each
// normalized document's JSON bytes (CloudTrail-like, about 1.3 KB with
// "@message"), read through one reused JSONEvent, with 0, 100 and 1,000
// rules; the field access is included. decode-map decodes each document
// with encoding/json into a map first, for comparison.
func BenchmarkEngineJSON(b *testing.B) {
	docs := generateDocuments(256)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	all := generateRules(b, 1000)
	for _, n := range []int{0, 100, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			eng, err := Compile(all[:n], Options{})
			if err != nil {
				b.Fatal(err)
			}
			ev := &JSONEvent{}
			var dst []Match
			matches := 0
			b.SetBytes(int64(size / len(docs)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := ev.Reset(docs[i%len(docs)]); err != nil {
					b.Fatal(err)
				}
				dst = eng.AppendMatches(dst[:0], ev, "cloudtrail")
				matches += len(dst)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(matches)/float64(b.N), "matches/event")
		})
	}
	b.Run("decode-map-rules=1000", func(b *testing.B) {
		eng, err := Compile(all, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(size / len(docs)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(docs[i%len(docs)]))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				b.Fatal(err)
			}
			eng.Match(m, "cloudtrail")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkCorrelator measures Process with 1,000 rules plus an
// event_count correlation on every event.
func BenchmarkCorrelator(b *testing.B) {
	evs := decodeAll(b, generateEvents(4096))
	rules := generateRules(b, 1000)
	extra, err := Parse("corr.yml", []byte(`title: any api call
id: any-call
name: any_call
detection:
  sel:
    eventType: AwsApiCall
  condition: sel
---
title: many calls by ip
id: many-calls
correlation:
  type: event_count
  rules: [any_call]
  group-by: [sourceIPAddress]
  timespan: 5m
  condition: {gte: 100}
`))
	if err != nil {
		b.Fatal(err)
	}
	eng, err := Compile(append(rules, extra...), Options{})
	if err != nil {
		b.Fatal(err)
	}
	c := eng.NewCorrelator(CorrelatorConfig{})
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Process(evs[i%len(evs)], base.Add(time.Duration(i)*time.Millisecond), "cloudtrail")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
