package stage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/detect/alert"
	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/stage"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/logtype/guardduty"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rulePack is the repository's rule pack.
var rulePack = filepath.Join("..", "..", "..", "rules")

// corrRules holds the correlation scenarios' rules.
var corrRules = filepath.Join("testdata", "correlation")

// Rule ids of the scenarios.
const (
	bruteForceID   = "0b6f3c52-4f0e-4d8e-9a61-2b1b8e0c9a04"
	gdThenIAMID    = "5e0c7a1d-8c44-4a53-9f0e-6d3a7b2c1e03"
	stopLoggingID  = "a40c96b4-6911-4c2b-aba7-db271a1f680d"
	noMFAID        = "3f40da00-f7ac-4e53-b1bb-b9d7fb05ec28"
	gdHighID       = "657af3b1-a98c-4588-b979-29c711b3d104"
	accessKeyID    = "c9639651-8421-461d-8bb5-79bed1084a26"
	ctKeyPrefix    = "AWSLogs/123456789012/CloudTrail/us-east-1/2025/06/01/123456789012_CloudTrail_us-east-1_"
	gdKeyPrefix    = "AWSLogs/123456789012/GuardDuty/us-east-1/2025/06/01/"
	scenarioStart  = "2025-06-01T10:20:00Z"
	accountID      = "123456789012"
	attackerIP     = "198.51.100.23"
	compromisedKey = "AIDAEXAMPLECOMPROMISED"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// at returns the scenario's start plus d, as CloudTrail writes times.
func at(d time.Duration) string {
	t, _ := time.Parse(time.RFC3339, scenarioStart)
	return t.Add(d).UTC().Format(time.RFC3339)
}

// ctRecord is a CloudTrail record with the given fields over a benign
// default (an IAM user reading S3).
func ctRecord(id string, fields map[string]any) map[string]any {
	r := map[string]any{
		"eventVersion": "1.09",
		"userIdentity": map[string]any{
			"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE", "userName": "alice",
			"arn": "arn:aws:iam::123456789012:user/alice", "accountId": accountID,
		},
		"eventTime":          scenarioStart,
		"eventSource":        "s3.amazonaws.com",
		"eventName":          "ListBuckets",
		"awsRegion":          "us-east-1",
		"sourceIPAddress":    "192.0.2.10",
		"userAgent":          "aws-cli/2.15.0",
		"eventID":            id,
		"eventType":          "AwsApiCall",
		"recipientAccountId": accountID,
	}
	for k, v := range fields {
		r[k] = v
	}
	return r
}

func consoleLogin(id, ip, result string, t string) map[string]any {
	return ctRecord(id, map[string]any{
		"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "eventTime": t,
		"sourceIPAddress": ip, "eventType": "AwsConsoleSignIn",
		"responseElements":    map[string]any{"ConsoleLogin": result},
		"additionalEventData": map[string]any{"MFAUsed": "Yes"},
	})
}

func iamCall(id, principal, name, t string) map[string]any {
	return ctRecord(id, map[string]any{
		"eventSource": "iam.amazonaws.com", "eventName": name, "eventTime": t,
		"userIdentity": map[string]any{
			"type": "IAMUser", "principalId": principal, "userName": "build-bot",
			"arn": "arn:aws:iam::123456789012:user/build-bot", "accountId": accountID,
		},
		"requestParameters": map[string]any{"userName": "build-bot", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
	})
}

func gdFinding(id string, severity float64, principal, t string) map[string]any {
	return map[string]any{
		"schemaVersion": "2.0", "accountId": accountID, "region": "us-east-1", "id": id,
		"type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom", "severity": severity,
		"createdAt": t, "updatedAt": t, "title": "API called from a known malicious IP.",
		"resource": map[string]any{
			"resourceType": "AccessKey",
			"accessKeyDetails": map[string]any{
				"accessKeyId": "AKIAEXAMPLE", "principalId": principal, "userName": "build-bot", "userType": "IAMUser",
			},
		},
		"service": map[string]any{"archived": false, "count": 1, "serviceName": "guardduty"},
	}
}

// object is one log object of the test: CloudTrail ({"Records": [...]})
// or GuardDuty (one finding per line).
type object struct {
	key     string
	records []map[string]any
}

func (o object) bytes() []byte {
	var b bytes.Buffer
	if strings.Contains(o.key, "/GuardDuty/") {
		for _, r := range o.records {
			js, _ := json.Marshal(r)
			b.Write(js)
			b.WriteByte('\n')
		}
		return b.Bytes()
	}
	js, _ := json.Marshal(map[string]any{"Records": o.records})
	return js
}

// memSource hands out in-memory objects in order.
type memSource struct{ objs []*pipeline.Object }

func (s *memSource) Run(ctx context.Context, out chan<- *pipeline.Object) error {
	for _, o := range s.objs {
		select {
		case out <- o:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// gotDoc is a document as the sink saw it.
type gotDoc struct {
	Index, ID, LogType string
	TimestampMs        int64
	Source             map[string]any
	Acked              bool
}

// collectSink keeps every document and checks that NDJSON batches hold
// exactly their documents' lines.
type collectSink struct {
	t      *testing.T
	mu     sync.Mutex
	docs   []gotDoc
	closed bool
}

func (s *collectSink) Write(_ context.Context, b *pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Lines {
		lines := bytes.Split(bytes.TrimSuffix(b.Buf, []byte("\n")), []byte("\n"))
		if len(lines) != len(b.Docs) {
			s.t.Errorf("batch has %d NDJSON lines for %d documents", len(lines), len(b.Docs))
		}
		for i, l := range lines {
			var line struct {
				Index  string          `json:"_index"`
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			}
			if err := json.Unmarshal(l, &line); err != nil {
				s.t.Errorf("NDJSON line %d is not valid: %v\n%s", i, err, l)
				continue
			}
			if i < len(b.Docs) && (line.ID != b.Docs[i].ID || line.Index != b.Docs[i].Index || !bytes.Equal(line.Source, b.Docs[i].Source)) {
				s.t.Errorf("NDJSON line %d is %s/%s, document is %s/%s", i, line.Index, line.ID, b.Docs[i].Index, b.Docs[i].ID)
			}
		}
	}
	for i := range b.Docs {
		d := &b.Docs[i]
		var src map[string]any
		if err := json.Unmarshal(d.Source, &src); err != nil {
			s.t.Errorf("document %s is not valid JSON: %v", d.ID, err)
		}
		s.docs = append(s.docs, gotDoc{Index: d.Index, ID: d.ID, LogType: d.LogType, TimestampMs: d.TimestampMs, Source: src, Acked: d.Ack != nil})
		d.Ack.Done(event.Delivered)
	}
	return nil
}

func (s *collectSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// alerts returns the alert documents by alert id (the last written wins,
// as an upsert would leave it).
func (s *collectSink) alerts() map[string]gotDoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]gotDoc{}
	for _, d := range s.docs {
		if d.LogType == stage.AlertLogType {
			out[d.ID] = d
		}
	}
	return out
}

func (s *collectSink) events() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.docs {
		if d.LogType != stage.AlertLogType {
			n++
		}
	}
	return n
}

// runOpts shape a pipeline run.
type runOpts struct {
	workers   int
	lines     bool
	batchDocs int
}

// runPipeline runs objs through the real pipeline with d's Inspect hook
// and d's sink wrapper, and returns the sink and the documents the
// sources' acks counted as delivered.
func runPipeline(t *testing.T, d *stage.Detector, objs []object, o runOpts) (*collectSink, int64) {
	t.Helper()
	reg, err := logtype.LoadFrom()
	if err != nil {
		t.Fatalf("loading log types: %v", err)
	}
	var delivered sync.WaitGroup
	var mu sync.Mutex
	var count int64
	var pobjs []*pipeline.Object
	for _, ob := range objs {
		data := ob.bytes()
		delivered.Add(1)
		ack := event.NewAck(func(s event.Summary) {
			mu.Lock()
			count += s.Delivered
			mu.Unlock()
			delivered.Done()
		})
		pobjs = append(pobjs, &pipeline.Object{
			Origin: event.Origin{Bucket: "logs", Key: ob.key, Size: int64(len(data))},
			Open: func(context.Context) (pipeline.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(data)), nil
			},
			Ack: ack,
		})
	}
	cfg := &pipeline.ObjectConfig{
		Registry:  reg,
		Scripts:   map[string]normalize.Script{"cloudtrail": cloudtrail.Script{}, "guardduty": guardduty.Script{}},
		Lines:     o.lines,
		BatchDocs: o.batchDocs,
		Inspect:   d.Inspect,
		OnRecordError: func(f pipeline.Failure) {
			t.Errorf("record failed: %s:%d: %s", f.Origin.Key, f.Line, f.Reason)
		},
	}
	sink := &collectSink{t: t}
	err = pipeline.Run(context.Background(), pipeline.Config{Workers: max(o.workers, 1)}, &memSource{objs: pobjs},
		func() pipeline.Processor { return pipeline.NewObjectProcessor(cfg) },
		d.Sink(sink), func(obj *pipeline.Object, err error) { t.Errorf("object %s failed: %v", obj.Origin.Key, err) })
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	delivered.Wait()
	if !sink.closed {
		t.Error("the inner sink was not closed")
	}
	return sink, count
}

func newDetector(t *testing.T, cfg stage.Config) *stage.Detector {
	t.Helper()
	d, err := stage.New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("stage.New: %v", err)
	}
	if p := d.Problems(); len(p) > 0 {
		t.Fatalf("rule problems: %v", p)
	}
	return d
}

// countingNotifier counts notified alerts; it fails when told to.
type countingNotifier struct {
	mu   sync.Mutex
	ids  []string
	fail bool
}

func (n *countingNotifier) Enqueue(a *alert.Alert) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return errors.New("destination down")
	}
	n.ids = append(n.ids, a.ID)
	return nil
}

func (n *countingNotifier) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.ids)
}

// byRule counts alerts per rule id.
func byRule(alerts map[string]gotDoc) map[string]int {
	out := map[string]int{}
	for _, a := range alerts {
		rule, _ := a.Source["rule"].(map[string]any)
		id, _ := rule["id"].(string)
		out[id]++
	}
	return out
}

func TestRulePackThroughPipeline(t *testing.T) {
	ct := object{key: ctKeyPrefix + "20250601T1020Z_pack.json", records: []map[string]any{
		ctRecord("e-benign-1", nil),
		ctRecord("e-stop-1", map[string]any{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "eventTime": at(time.Minute)}),
		ctRecord("e-stop-2", map[string]any{"eventSource": "cloudtrail.amazonaws.com", "eventName": "DeleteTrail", "eventTime": at(2 * time.Minute)}),
		ctRecord("e-nomfa", map[string]any{
			"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "eventTime": at(3 * time.Minute),
			"responseElements": map[string]any{"ConsoleLogin": "Success"}, "additionalEventData": map[string]any{"MFAUsed": "No"},
		}),
		ctRecord("e-key", map[string]any{
			"eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "eventTime": at(4 * time.Minute),
			"requestParameters": map[string]any{"userName": "bob"},
		}),
		ctRecord("e-ownkey", map[string]any{
			"eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "eventTime": at(5 * time.Minute),
			"requestParameters": map[string]any{"userName": "alice"},
		}),
		ctRecord("e-benign-2", map[string]any{"eventName": "GetObject", "eventTime": at(6 * time.Minute)}),
	}}
	gd := object{key: gdKeyPrefix + "findings.jsonl", records: []map[string]any{
		gdFinding("f-high", 8, "AIDAOTHER", at(7*time.Minute)),
		gdFinding("f-low", 2, "AIDAOTHER", at(8*time.Minute)),
	}}
	want := map[string]int{stopLoggingID: 1, noMFAID: 1, accessKeyID: 1, gdHighID: 1}
	for _, tc := range []struct {
		name string
		opts runOpts
	}{
		{name: "documents", opts: runOpts{workers: 1}},
		{name: "ndjson lines", opts: runOpts{workers: 1, lines: true}},
		{name: "two workers", opts: runOpts{workers: 2, lines: true}},
		{name: "one document per batch", opts: runOpts{workers: 2, lines: true, batchDocs: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notes := &countingNotifier{}
			d := newDetector(t, stage.Config{RuleDirs: []string{rulePack}, Notifier: notes})
			sink, delivered := runPipeline(t, d, []object{ct, gd}, tc.opts)
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := sink.events(); got != 9 || delivered != 9 {
				t.Errorf("%d event documents written, %d counted delivered; want 9 and 9 (alerts count toward no object)", got, delivered)
			}
			alerts := sink.alerts()
			if got := byRule(alerts); !mapsEqual(got, want) {
				t.Errorf("alerts by rule = %v, want %v", got, want)
			}
			if notes.count() != len(alerts) {
				t.Errorf("%d notifications for %d alerts", notes.count(), len(alerts))
			}
			for id, a := range alerts {
				if a.Index != stage.DefaultAlertIndex || a.Acked {
					t.Errorf("alert %s: index %q, ack %v; want %q and no ack", id, a.Index, a.Acked, stage.DefaultAlertIndex)
				}
				al := a.Source["alert"].(map[string]any)
				if al["id"] != id {
					t.Errorf("alert %s: alert.id %v", id, al["id"])
				}
				last, _ := time.Parse(time.RFC3339, al["last_seen"].(string))
				if a.TimestampMs != last.UnixMilli() {
					t.Errorf("alert %s: timestamp %d, want last_seen %s", id, a.TimestampMs, last)
				}
			}
			// The StopLogging alert: two matches, MITRE ids, the documents' ids.
			for _, a := range alerts {
				rule := a.Source["rule"].(map[string]any)
				if rule["id"] != stopLoggingID {
					continue
				}
				al := a.Source["alert"].(map[string]any)
				if al["count"] != float64(2) || fmt.Sprint(al["doc_ids"]) != "[e-stop-1 e-stop-2]" && fmt.Sprint(al["doc_ids"]) != "[e-stop-2 e-stop-1]" {
					t.Errorf("StopLogging alert: count %v, doc_ids %v; want 2 and both events", al["count"], al["doc_ids"])
				}
				threat, _ := a.Source["threat"].(map[string]any)
				if !strings.Contains(fmt.Sprint(threat), "T1562") {
					t.Errorf("StopLogging alert: threat %v lacks T1562", threat)
				}
			}
			// The alert state keeps its own copies of the key fields, not
			// views of batch buffers that were reused since.
			for id := range alerts {
				a, ok := d.Alerts().Get(id)
				if !ok {
					t.Errorf("alert %s is not in the state", id)
					continue
				}
				if a.RuleID == noMFAID && (a.KeyFields["sourceIPAddress"] != "192.0.2.10" || a.KeyFields["userIdentity.arn"] != "arn:aws:iam::123456789012:user/alice") {
					t.Errorf("no-MFA alert key fields in the state: %v", a.KeyFields)
				}
			}
			st := d.Stats()
			if st.AlertsNew != 4 || st.Documents != 9 {
				t.Errorf("stats: %+v; want 4 new alerts over 9 documents", st)
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// bruteForce: 12 failed console sign-ins from one address over 3 minutes,
// then a success; failures from another address; a success elsewhere.
func bruteForce() []map[string]any {
	var rs []map[string]any
	for i := range 12 {
		rs = append(rs, consoleLogin(fmt.Sprintf("bf-fail-%02d", i), attackerIP, "Failure", at(time.Duration(i)*15*time.Second)))
	}
	rs = append(rs, consoleLogin("bf-ok", attackerIP, "Success", at(3*time.Minute+30*time.Second)))
	for i := range 4 {
		rs = append(rs, consoleLogin(fmt.Sprintf("other-fail-%d", i), "203.0.113.9", "Failure", at(time.Duration(i)*time.Minute)))
	}
	rs = append(rs, consoleLogin("other-ok", "203.0.113.9", "Success", at(4*time.Minute)))
	return rs
}

// gdThenIAM: a GuardDuty finding about a principal, then IAM changes by
// it; IAM changes by another principal; a finding about a third.
func gdThenIAM() (findings, calls []map[string]any) {
	findings = []map[string]any{
		gdFinding("gd-1", 5, compromisedKey, at(0)),
		gdFinding("gd-2", 5, "AIDAUNRELATED", at(time.Minute)),
	}
	calls = []map[string]any{
		iamCall("iam-1", compromisedKey, "CreateAccessKey", at(10*time.Minute)),
		iamCall("iam-2", compromisedKey, "AttachUserPolicy", at(12*time.Minute)),
		iamCall("iam-3", "AIDAINNOCENT", "CreateUser", at(13*time.Minute)),
		iamCall("iam-4", compromisedKey, "ListUsers", at(14*time.Minute)),
	}
	return findings, calls
}

// scenario is the objects of one run of a correlation scenario.
type scenario struct {
	name string
	rule string
	objs func(order string) []object
}

func scenarios() []scenario {
	return []scenario{
		{name: "console brute force", rule: bruteForceID, objs: func(order string) []object {
			rs := bruteForce()
			switch order {
			case "reversed":
				for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
					rs[i], rs[j] = rs[j], rs[i]
				}
			case "shuffled":
				r := rand.New(rand.NewPCG(7, 11))
				r.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
			}
			// Three objects, as CloudTrail delivers several files per period.
			third := len(rs) / 3
			return []object{
				{key: ctKeyPrefix + "20250601T1020Z_a.json", records: rs[:third]},
				{key: ctKeyPrefix + "20250601T1020Z_b.json", records: rs[third : 2*third]},
				{key: ctKeyPrefix + "20250601T1020Z_c.json", records: rs[2*third:]},
			}
		}},
		{name: "guardduty then iam", rule: gdThenIAMID, objs: func(order string) []object {
			findings, calls := gdThenIAM()
			gd := object{key: gdKeyPrefix + "findings.jsonl", records: findings}
			ct := object{key: ctKeyPrefix + "20250601T1030Z_iam.json", records: calls}
			switch order {
			case "reversed":
				// The IAM changes arrive first: CloudTrail is delivered
				// before the finding is exported.
				return []object{ct, gd}
			case "shuffled":
				r := rand.New(rand.NewPCG(3, 5))
				r.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
				return []object{{key: ct.key, records: calls[:2]}, gd, {key: ctKeyPrefix + "20250601T1030Z_iam2.json", records: calls[2:]}}
			}
			return []object{gd, ct}
		}},
	}
}

func TestCorrelationScenarios(t *testing.T) {
	for _, sc := range scenarios() {
		for _, order := range []string{"in order", "reversed", "shuffled"} {
			t.Run(sc.name+"/"+order, func(t *testing.T) {
				notes := &countingNotifier{}
				d := newDetector(t, stage.Config{RuleDirs: []string{corrRules}, Notifier: notes})
				sink, _ := runPipeline(t, d, sc.objs(order), runOpts{workers: 1, lines: true})
				first := sink.alerts()
				if got := byRule(first); !mapsEqual(got, map[string]int{sc.rule: 1}) {
					t.Fatalf("alerts by rule = %v, want exactly one of %s", got, sc.rule)
				}
				var id string
				for k := range first {
					id = k
				}
				al := first[id].Source["alert"].(map[string]any)
				if al["correlation"] != true || len(al["group_by"].(map[string]any)) != 1 {
					t.Errorf("alert %s: correlation %v, group_by %v", id, al["correlation"], al["group_by"])
				}
				if len(al["doc_ids"].([]any)) == 0 {
					t.Errorf("alert %s lists no documents", id)
				}

				// Replayed into the same detector: the same alert, nothing
				// new to notify.
				sink2, _ := runPipeline(t, d, sc.objs(order), runOpts{workers: 2, lines: true})
				if got := keys(sink2.alerts()); len(got) > 1 || len(got) == 1 && got[0] != id {
					t.Errorf("replay wrote alerts %v, want at most %s", got, id)
				}
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
				if notes.count() != 1 {
					t.Errorf("%d notifications, want 1", notes.count())
				}

				// Replayed into a new detector (state lost): the same id.
				d2 := newDetector(t, stage.Config{RuleDirs: []string{corrRules}})
				sink3, _ := runPipeline(t, d2, sc.objs(order), runOpts{workers: 2})
				if err := d2.Close(); err != nil {
					t.Fatal(err)
				}
				if got := keys(sink3.alerts()); len(got) != 1 || got[0] != id {
					t.Errorf("fresh replay wrote alerts %v, want [%s]", got, id)
				}
			})
		}
	}
}

func keys(m map[string]gotDoc) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestCorrelationStateSurvivesRestart(t *testing.T) {
	state := t.TempDir()
	rs := bruteForce()[:13] // 12 failures and the success
	notes := &countingNotifier{}
	cfg := stage.Config{RuleDirs: []string{corrRules, rulePack}, StateDir: state, Notifier: notes}

	// Run 1: seven failures, and a StopLogging (a detection alert).
	d1 := newDetector(t, cfg)
	stop := ctRecord("stop-1", map[string]any{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "eventTime": at(0)})
	s1, _ := runPipeline(t, d1, []object{{key: ctKeyPrefix + "20250601T1020Z_1.json", records: append(append([]map[string]any(nil), rs[:7]...), stop)}}, runOpts{workers: 1})
	if err := d1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := byRule(s1.alerts()); !mapsEqual(got, map[string]int{stopLoggingID: 1}) {
		t.Fatalf("run 1 alerts = %v, want the StopLogging alert only", got)
	}
	for _, f := range []string{"correlation-state.json", "alert-state.json", "detector-state.json"} {
		if _, err := os.Stat(filepath.Join(state, f)); err != nil {
			t.Errorf("state file: %v", err)
		}
	}

	// Run 2, restarted: five more failures, the success, another StopLogging.
	d2 := newDetector(t, cfg)
	stop2 := ctRecord("stop-2", map[string]any{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "eventTime": at(5 * time.Minute)})
	s2, _ := runPipeline(t, d2, []object{{key: ctKeyPrefix + "20250601T1025Z_2.json", records: append(append([]map[string]any(nil), rs[7:]...), stop2)}}, runOpts{workers: 1})
	if err := d2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	alerts := s2.alerts()
	if got := byRule(alerts); !mapsEqual(got, map[string]int{bruteForceID: 1, stopLoggingID: 1}) {
		t.Fatalf("run 2 alerts = %v, want the brute force correlation and the StopLogging update", got)
	}
	for _, a := range alerts {
		al := a.Source["alert"].(map[string]any)
		if a.Source["rule"].(map[string]any)["id"] == stopLoggingID && al["count"] != float64(2) {
			t.Errorf("StopLogging alert after restart: count %v, want 2 (the open alert was restored)", al["count"])
		}
	}
	// Notified: StopLogging once (run 1), the correlation once (run 2).
	if notes.count() != 2 {
		t.Errorf("%d notifications, want 2", notes.count())
	}
}

func TestCorruptStateIsSetAside(t *testing.T) {
	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, "correlation-state.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDetector(t, stage.Config{RuleDirs: []string{corrRules}, StateDir: state})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, "correlation-state.json.bad")); err != nil {
		t.Errorf("the unreadable state was not set aside: %v", err)
	}
}

func TestFailingNotifierDoesNotBlock(t *testing.T) {
	notes := &countingNotifier{fail: true}
	d := newDetector(t, stage.Config{RuleDirs: []string{rulePack}, Notifier: notes})
	ct := object{key: ctKeyPrefix + "20250601T1020Z_n.json", records: []map[string]any{
		ctRecord("n-1", map[string]any{"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"}),
		ctRecord("n-2", nil),
	}}
	sink, delivered := runPipeline(t, d, []object{ct}, runOpts{workers: 1})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if delivered != 2 || len(sink.alerts()) != 1 {
		t.Errorf("%d documents delivered, %d alerts written; want 2 and 1", delivered, len(sink.alerts()))
	}
	if st := d.Stats(); st.NotifyErrors != 1 {
		t.Errorf("NotifyErrors = %d, want 1", st.NotifyErrors)
	}
}

const goodRule = `title: Good rule %d
id: 00000000-0000-4000-8000-00000000000%d
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: %s
  condition: sel
level: medium
`

func TestReloadKeepsValidRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yml", fmt.Sprintf(goodRule, 1, 1, "StopLogging"))
	d := newDetector(t, stage.Config{RuleDirs: []string{dir}, WatchInterval: 20 * time.Millisecond})
	defer func() { _ = d.Close() }()

	// A second good rule and a broken one.
	write("b.yml", fmt.Sprintf(goodRule, 2, 2, "DeleteTrail"))
	write("broken.yml", "title: broken\nlogsource: {product: aws}\ndetection:\n  sel:\n    eventName|nosuchmodifier: x\n  condition: sel\n")
	problems := d.Reload()
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "broken.yml") {
		t.Fatalf("Reload problems = %v, want one naming broken.yml", problems)
	}
	if st := d.Stats(); st.Rules != 2 || st.RuleProblems != 1 {
		t.Errorf("after reload: %d rules, %d problems; want 2 and 1", st.Rules, st.RuleProblems)
	}
	ct := object{key: ctKeyPrefix + "20250601T1020Z_r.json", records: []map[string]any{
		ctRecord("r-1", map[string]any{"eventName": "StopLogging"}),
		ctRecord("r-2", map[string]any{"eventName": "DeleteTrail"}),
	}}
	sink, _ := runPipeline(t, d, []object{ct}, runOpts{workers: 1})
	if got := byRule(sink.alerts()); !mapsEqual(got, map[string]int{"00000000-0000-4000-8000-000000000001": 1, "00000000-0000-4000-8000-000000000002": 1}) {
		t.Errorf("alerts after reload = %v, want one per good rule", got)
	}

	// A missing directory keeps the current rules.
	bad, err := stage.New(stage.Config{RuleDirs: []string{filepath.Join(dir, "missing")}}, testLogger(t))
	if err == nil || bad != nil {
		t.Errorf("New with a missing rule directory: %v, want an error", err)
	}

	// Watch notices a change: the broken file removed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx) }()
	if err := os.Remove(filepath.Join(dir, "broken.yml")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.Stats().RuleProblems != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
	if st := d.Stats(); st.RuleProblems != 0 || st.Rules != 2 || st.Reloads < 2 {
		t.Errorf("after Watch: %+v; want 2 rules, no problems, 2 reloads", st)
	}
}

func TestReloadCarriesCorrelationState(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(corrRules, "console_bruteforce.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bf.yml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDetector(t, stage.Config{RuleDirs: []string{dir}})
	defer func() { _ = d.Close() }()
	rs := bruteForce()[:13]
	s1, _ := runPipeline(t, d, []object{{key: ctKeyPrefix + "20250601T1020Z_1.json", records: rs[:8]}}, runOpts{workers: 1})
	if n := len(s1.alerts()); n != 0 {
		t.Fatalf("%d alerts before the reload", n)
	}
	// An unrelated rule file is added: the windows stay.
	if err := os.WriteFile(filepath.Join(dir, "other.yml"), []byte(fmt.Sprintf(goodRule, 3, 3, "DeleteTrail")), 0o600); err != nil {
		t.Fatal(err)
	}
	if p := d.Reload(); len(p) != 0 {
		t.Fatalf("Reload: %v", p)
	}
	s2, _ := runPipeline(t, d, []object{{key: ctKeyPrefix + "20250601T1020Z_2.json", records: rs[8:]}}, runOpts{workers: 1})
	if got := byRule(s2.alerts()); !mapsEqual(got, map[string]int{bruteForceID: 1}) {
		t.Errorf("alerts after reload = %v, want the brute force correlation", got)
	}
}

func TestNoRuleDir(t *testing.T) {
	if _, err := stage.New(stage.Config{}, nil); err == nil {
		t.Error("New without rule directories succeeded")
	}
}

// quietTrail is decided when its window closes: fewer than 3 trail
// lookups by a principal within 10 minutes of its first.
const quietTrail = `title: Trail lookup
name: stage_test_trail_lookup
id: 7d1e0000-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: DescribeTrails
  condition: sel
level: low
---
title: Few trail lookups
id: 7d1e0000-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [stage_test_trail_lookup]
  group-by: [userIdentity.principalId]
  timespan: 10m
  condition:
    lt: 3
level: low
`

func TestWindowsDecidedAtClose(t *testing.T) {
	for _, tc := range []struct {
		name        string
		decideAtEnd bool
		want        int
	}{
		{name: "kept open for the next run", decideAtEnd: false, want: 0},
		{name: "decided at the end of a one-shot run", decideAtEnd: true, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "quiet.yml"), []byte(quietTrail), 0o600); err != nil {
				t.Fatal(err)
			}
			d := newDetector(t, stage.Config{RuleDirs: []string{dir}, DecideAtEnd: tc.decideAtEnd})
			ct := object{key: ctKeyPrefix + "20250601T1020Z_q.json", records: []map[string]any{
				ctRecord("q-1", map[string]any{"eventName": "DescribeTrails"}),
				ctRecord("q-2", map[string]any{"eventName": "DescribeTrails", "eventTime": at(time.Minute)}),
			}}
			sink, _ := runPipeline(t, d, []object{ct}, runOpts{workers: 1, lines: true})
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if got := len(sink.alerts()); got != tc.want {
				t.Errorf("%d alerts, want %d", got, tc.want)
			}
		})
	}
}

// TestAlertStateOwnsItsStrings: values read from a document (JSONEvent
// strings view the batch's buffer) are copied before the alert state keeps
// them; the buffer is reused by later batches.
func TestAlertStateOwnsItsStrings(t *testing.T) {
	recs := []map[string]any{ctRecord("e-nomfa", map[string]any{
		"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
		"responseElements": map[string]any{"ConsoleLogin": "Success"}, "additionalEventData": map[string]any{"MFAUsed": "No"},
	})}
	for i := range 50 {
		recs = append(recs, ctRecord(fmt.Sprintf("b-%d", i), map[string]any{"sourceIPAddress": "203.0.113.99", "eventName": "GetObject"}))
	}
	d := newDetector(t, stage.Config{RuleDirs: []string{rulePack}})
	sink, _ := runPipeline(t, d, []object{{key: ctKeyPrefix + "20250601T1020Z_v.json", records: recs}}, runOpts{workers: 1, batchDocs: 1})
	want := map[string]string{"sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0", "userIdentity.arn": "arn:aws:iam::123456789012:user/alice"}
	alerts := sink.alerts()
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	for id := range alerts {
		a, ok := d.Alerts().Get(id)
		if !ok || fmt.Sprint(a.KeyFields) != fmt.Sprint(want) {
			t.Errorf("key fields in the alert state = %v, want %v", a.KeyFields, want)
		}
	}
}

// TestInspectAddsNoAllocation: on documents that match nothing, Inspect
// allocates no more than the engine's own evaluation (which boxes the
// string values it reads).
func TestInspectAddsNoAllocation(t *testing.T) {
	d := newDetector(t, stage.Config{RuleDirs: []string{rulePack}})
	defer func() { _ = d.Close() }()
	b := &pipeline.Batch{}
	for i := range 100 {
		src, _ := json.Marshal(ctRecord(fmt.Sprintf("a-%d", i), map[string]any{"eventName": "GetObject", "@timestamp": scenarioStart}))
		b.Docs = append(b.Docs, event.Document{Index: "log-aws-cloudtrail-2025-06", ID: fmt.Sprintf("a-%d", i), LogType: "cloudtrail", TimestampMs: 1748773200000, Source: src})
	}
	rs, errs := sigma.LoadDir(rulePack)
	eng, err := sigma.Compile(rs.Rules, sigma.Options{})
	if len(errs) > 0 || err != nil {
		t.Fatalf("rule pack: %v %v", errs, err)
	}
	var ev sigma.JSONEvent
	var ms []sigma.Match
	engine := testing.AllocsPerRun(50, func() {
		for i := range b.Docs {
			_ = ev.Reset(b.Docs[i].Source)
			ms = eng.AppendMatches(ms[:0], &ev, "cloudtrail")
		}
	})
	inspect := testing.AllocsPerRun(50, func() {
		b.Docs = b.Docs[:100]
		d.Inspect(b)
	})
	t.Logf("allocations per batch of 100: Inspect %.0f, engine alone %.0f", inspect, engine)
	slack := 0.0
	if raceEnabled {
		slack = 0.05 * engine // pooled scratch space is dropped at random
	}
	if inspect > engine+slack || len(b.Docs) != 100 || len(ms) != 0 {
		t.Errorf("Inspect: %.1f allocations per batch of 100 documents, the engine alone %.1f; %d documents after, want 100", inspect, engine, len(b.Docs))
	}
}

// TestLateMatchesFoldIntoOneAlert: matches whose window ended long before
// the watermark (a replay of old logs) create their alert once and then
// update it; each batch writes it once, in its latest state.
func TestLateMatchesFoldIntoOneAlert(t *testing.T) {
	dir := t.TempDir()
	rule := "title: bucket listing\nid: list-buckets\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName: ListBuckets\n  condition: sel\nlevel: low\n"
	if err := os.WriteFile(filepath.Join(dir, "r.yml"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDetector(t, stage.Config{RuleDirs: []string{dir}})
	defer func() { _ = d.Close() }()
	batch := func(n int, ts time.Time) *pipeline.Batch {
		b := &pipeline.Batch{}
		for i := range n {
			id := fmt.Sprintf("%d-%d", ts.Unix(), i)
			src, _ := json.Marshal(ctRecord(id, map[string]any{"eventTime": ts.Format(time.RFC3339)}))
			b.Docs = append(b.Docs, event.Document{Index: "log-aws-cloudtrail", ID: id, LogType: "cloudtrail", TimestampMs: ts.UnixMilli(), Source: src})
		}
		return b
	}
	alertDocs := func(b *pipeline.Batch) []map[string]any {
		var out []map[string]any
		for _, doc := range b.Docs {
			if doc.LogType == stage.AlertLogType {
				var m map[string]any
				if err := json.Unmarshal(doc.Source, &m); err != nil {
					t.Fatal(err)
				}
				out = append(out, m["alert"].(map[string]any))
			}
		}
		return out
	}
	start, _ := time.Parse(time.RFC3339, scenarioStart)
	d.Inspect(batch(1, start.Add(5*time.Hour))) // moves the watermark on
	for round := 1; round <= 2; round++ {
		b := batch(10, start)
		d.Inspect(b)
		got := alertDocs(b)
		if len(got) != 1 || got[0]["count"] != float64(10*round) {
			t.Fatalf("round %d: alert documents %v, want one with count %d", round, got, 10*round)
		}
	}
	if st := d.Stats(); st.AlertsNew != 2 || st.AlertsUpdated != 19 {
		t.Errorf("stats %+v, want 2 alerts created (one late) and 19 updates", st)
	}
}

// TestOneShotRunKeepsOlderWindows loads, in one run whose state is not
// kept, an object of events a day later than a brute force, then the
// brute force split over two objects, flushing after every batch: the
// watermark the later object set must not close or drop the windows the
// older objects are still filling (with concurrent workers, objects far
// apart in time are read in any order).
func TestOneShotRunKeepsOlderWindows(t *testing.T) {
	d := newDetector(t, stage.Config{RuleDirs: []string{corrRules}, DecideAtEnd: true, FlushInterval: time.Nanosecond})
	later := ctRecord("later-1", map[string]any{"eventTime": at(24 * time.Hour)})
	later2 := ctRecord("later-2", map[string]any{"eventTime": at(25 * time.Hour)})
	rs := bruteForce()[:13] // 12 failures and the success
	// The second later record stands for another worker's object read
	// between the two halves: it moves the watermark on again.
	objs := []object{
		{key: ctKeyPrefix + "20250601T1019Z_later.json", records: []map[string]any{later}},
		{key: ctKeyPrefix + "20250601T1020Z_1.json", records: append(append([]map[string]any(nil), rs[:6]...), later2)},
		{key: ctKeyPrefix + "20250601T1021Z_2.json", records: rs[6:]},
	}
	wantOneBruteForce(t, d, objs)
}

// TestOneShotRunKeepsGroupsBehind: another object's failed logins from
// another source, an hour later, arrive between the two halves of a brute
// force (two workers reading two objects). A one-shot run must not expire
// the brute force's group because those events are far ahead of it.
func TestOneShotRunKeepsGroupsBehind(t *testing.T) {
	d := newDetector(t, stage.Config{RuleDirs: []string{corrRules}, DecideAtEnd: true})
	rs := bruteForce()[:13] // 12 failures and the success
	var ahead []map[string]any
	for i := range 3 {
		ahead = append(ahead, consoleLogin(fmt.Sprintf("ahead-fail-%d", i), "192.0.2.99", "Failure", at(time.Hour+time.Duration(i)*time.Second)))
	}
	objs := []object{
		{key: ctKeyPrefix + "20250601T1020Z_1.json", records: rs[:6]},
		{key: ctKeyPrefix + "20250601T1120Z_ahead.json", records: ahead},
		{key: ctKeyPrefix + "20250601T1021Z_2.json", records: rs[6:]},
	}
	wantOneBruteForce(t, d, objs)
}

// wantOneBruteForce reads objs in order on one worker and checks that the
// run raised exactly one brute force alert.
func wantOneBruteForce(t *testing.T, d *stage.Detector, objs []object) {
	t.Helper()
	sink, _ := runPipeline(t, d, objs, runOpts{workers: 1, batchDocs: 2})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := byRule(sink.alerts()); !mapsEqual(got, map[string]int{bruteForceID: 1}) {
		t.Fatalf("alerts by rule = %v, want exactly one brute force alert", got)
	}
}
