package pipeline_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/logtype/vpcflowlogs"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

// memSource hands out in-memory objects.
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

// memObject is an object whose bytes are data.
func memObject(key string, data string, ack *event.Ack) *pipeline.Object {
	return &pipeline.Object{
		Origin: event.Origin{Bucket: "logs", Key: key, Size: int64(len(data))},
		Open: func(context.Context) (pipeline.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(data)), nil
		},
		Ack: ack,
	}
}

// gotDoc is a document as the sink saw it (Source copied).
type gotDoc struct {
	Index, ID, LogType, Key string
	TimestampMs             int64
	Source                  map[string]any
}

// collectSink keeps copies of every document and delivers it.
type collectSink struct {
	t    *testing.T
	mu   sync.Mutex
	docs []gotDoc
}

func (s *collectSink) Write(_ context.Context, b *pipeline.Batch) error {
	for i := range b.Docs {
		d := &b.Docs[i]
		var src map[string]any
		if err := json.Unmarshal(d.Source, &src); err != nil {
			s.t.Errorf("document %s is not valid JSON: %v\n%s", d.ID, err, d.Source)
		}
		key, _ := src["@log_s3key"].(string)
		s.mu.Lock()
		s.docs = append(s.docs, gotDoc{Index: d.Index, ID: d.ID, LogType: d.LogType, Key: key, TimestampMs: d.TimestampMs, Source: src})
		s.mu.Unlock()
		d.Ack.Done(event.Delivered)
	}
	return nil
}

func (s *collectSink) Close(context.Context) error { return nil }

// fakeDeadLetter keeps copies of the failures.
type fakeDeadLetter struct {
	mu       sync.Mutex
	failures []pipeline.Failure
}

func (d *fakeDeadLetter) Add(f pipeline.Failure) error {
	f.Raw = bytes.Clone(f.Raw)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failures = append(d.failures, f)
	return nil
}

const (
	ctKey  = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0305Z_abc.json"
	vpcKey = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/123456789012_vpcflowlogs_us-east-1_fl-0abc_20240102T0305Z_def.log"
)

// ctObject has two good records and, on line 4, one without eventTime.
const ctObject = `{"Records":[
{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","userIdentity":{"type":"IAMUser","userName":"alice"},"eventID":"11111111-1111-1111-1111-111111111111","recipientAccountId":"123456789012"},
{"eventVersion":"1.08","eventTime":"2024-02-03T04:05:06Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.11","errorCode":"AccessDenied","userIdentity":{"type":"IAMUser","userName":"bob"},"eventID":"22222222-2222-2222-2222-222222222222","recipientAccountId":"123456789012"},
{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"ListUsers","eventID":"33333333-3333-3333-3333-333333333333"}
]}
`

const (
	vpcHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
	vpcLine1  = "2 123456789012 eni-0a1b2c3d 10.0.0.5 198.51.100.7 49152 443 6 10 840 1704164645 1704164705 ACCEPT OK"
	vpcLine2  = "2 123456789012 eni-0a1b2c3d 198.51.100.9 10.0.0.5 5353 22 17 1 60 1704164645 1704164705 REJECT OK"
	vpcJSON   = `{"version": 2, "account_id": "123456789012", "action": "ACCEPT"}`
)

// gdKey is a GuardDuty export key.
const gdKey = "AWSLogs/123456789012/GuardDuty/us-east-1/2024/01/02/findings.jsonl.gz"

// gdFinding is a minimal GuardDuty finding on one line.
func gdFinding(id string, count int) string {
	return `{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","id":"` + id +
		`","type":"Recon:EC2/Portscan","severity":5,"updatedAt":"2024-01-02T03:04:05.000Z","title":"Port scan.","service":{"count":` +
		strconv.Itoa(count) + `,"action":{"actionType":"PORT_PROBE"}}}`
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

type wantDoc struct {
	index, id, logType string
	fields             map[string]any // dotted path -> decoded JSON value
}

type wantFailure struct {
	line       int
	raw        string
	reasonPart string
}

func TestObjectProcessor(t *testing.T) {
	reg, err := logtype.LoadFrom()
	if err != nil {
		t.Fatalf("LoadFrom: %v", err)
	}
	tests := []struct {
		name         string
		key          string
		data         string
		wantDocs     []wantDoc
		wantFailures []wantFailure
		wantErr      error // errors.Is on the object error; nil: none expected unless failures
		wantSummary  event.Summary
	}{
		{
			name: "cloudtrail records, one without eventTime",
			key:  ctKey,
			data: ctObject,
			wantDocs: []wantDoc{
				{index: "log-aws-cloudtrail-2024-01", id: "11111111-1111-1111-1111-111111111111", logType: "cloudtrail",
					fields: map[string]any{"@log_type": "cloudtrail", "@timestamp": "2024-01-02T03:04:05+00:00",
						"event.outcome": "success", "user.name": "alice", "source.ip": "192.0.2.10", "eventName": "GetObject",
						"@log_s3bucket": "logs", "@log_s3key": ctKey, "cloud.account.id": "123456789012"}},
				{index: "log-aws-cloudtrail-2024-02", id: "22222222-2222-2222-2222-222222222222", logType: "cloudtrail",
					fields: map[string]any{"event.outcome": "failure", "user.name": "bob", "error.code": "AccessDenied"}},
			},
			wantFailures: []wantFailure{{line: 4, raw: `"eventID":"33333333-3333-3333-3333-333333333333"`, reasonPart: "timestamp"}},
			wantSummary:  event.Summary{Delivered: 2},
		},
		{
			name: "vpc flow logs with a header line",
			key:  vpcKey,
			data: vpcHeader + "\n" + vpcLine1 + "\n" + vpcLine2 + "\n",
			wantDocs: []wantDoc{
				{index: "log-aws-vpcflowlogs-2024-01", id: md5hex(vpcLine1), logType: "vpcflowlogs",
					fields: map[string]any{"@timestamp": "2024-01-02T03:05:05+00:00", "@message": vpcLine1,
						"source.ip": "10.0.0.5", "destination.port": 443.0, "network.transport": "tcp",
						"event.outcome": "success", "log_status": "OK", "account_id": "123456789012"}},
				{index: "log-aws-vpcflowlogs-2024-01", id: md5hex(vpcLine2), logType: "vpcflowlogs",
					fields: map[string]any{"source.ip": "198.51.100.9", "network.transport": "udp", "event.outcome": "failure"}},
			},
			wantSummary: event.Summary{Delivered: 2},
		},
		{
			name: "vpc flow logs without a header line",
			key:  vpcKey,
			data: vpcLine1 + "\n" + vpcLine2 + "\n",
			wantDocs: []wantDoc{
				{index: "log-aws-vpcflowlogs-2024-01", id: md5hex(vpcLine1), logType: "vpcflowlogs",
					fields: map[string]any{"source.ip": "10.0.0.5", "account_id": "123456789012", "interface_id": "eni-0a1b2c3d"}},
				{index: "log-aws-vpcflowlogs-2024-01", id: md5hex(vpcLine2), logType: "vpcflowlogs",
					fields: map[string]any{"source.ip": "198.51.100.9"}},
			},
			wantSummary: event.Summary{Delivered: 2},
		},
		{
			name: "vpc flow log whose first line is JSON",
			key:  vpcKey,
			data: vpcJSON + "\n" + vpcLine1 + "\n",
			wantDocs: []wantDoc{
				{index: "log-aws-vpcflowlogs-2024-01", id: md5hex(vpcLine1), logType: "vpcflowlogs",
					fields: map[string]any{"source.ip": "10.0.0.5"}},
			},
			wantFailures: []wantFailure{{line: 1, raw: vpcJSON, reasonPart: "fields"}},
			wantSummary:  event.Summary{Delivered: 1},
		},
		{
			name: "guardduty lines, two findings on one line",
			key:  gdKey,
			data: gdFinding("f1", 1) + gdFinding("f2", 2) + "\n" + gdFinding("f3", 3) + "\n",
			wantDocs: []wantDoc{
				{index: "log-aws-guardduty-2024-01", id: "f1_1", logType: "guardduty", fields: map[string]any{"rule.id": "Recon:EC2/Portscan"}},
				{index: "log-aws-guardduty-2024-01", id: "f2_2", logType: "guardduty"},
				{index: "log-aws-guardduty-2024-01", id: "f3_3", logType: "guardduty"},
			},
			wantSummary: event.Summary{Delivered: 3},
		},
		{
			name: "guardduty finding written over several lines",
			key:  gdKey,
			data: strings.ReplaceAll(gdFinding("f4", 4), `,"`, ",\n  \""),
			wantDocs: []wantDoc{
				{index: "log-aws-guardduty-2024-01", id: "f4_4", logType: "guardduty", fields: map[string]any{"rule.id": "Recon:EC2/Portscan", "event.severity": 5.0}},
			},
			wantSummary: event.Summary{Delivered: 1},
		},
		{
			name: "guardduty line cut in half",
			key:  gdKey,
			data: gdFinding("f5", 5) + "\n" + gdFinding("f6", 6)[:40] + "\n" + gdFinding("f7", 7) + "\n",
			wantDocs: []wantDoc{
				{index: "log-aws-guardduty-2024-01", id: "f5_5", logType: "guardduty"},
				{index: "log-aws-guardduty-2024-01", id: "f7_7", logType: "guardduty"},
			},
			wantFailures: []wantFailure{{line: 2, raw: gdFinding("f6", 6)[:40], reasonPart: "syntax error"}},
			wantSummary:  event.Summary{Delivered: 2},
		},
		{
			name:        "unknown key",
			key:         "nothing/matches/this.txt",
			data:        "x\n",
			wantErr:     pipeline.ErrUnknownType,
			wantSummary: event.Summary{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var summaries []event.Summary
			var smu sync.Mutex
			ack := event.NewAck(func(s event.Summary) {
				smu.Lock()
				defer smu.Unlock()
				summaries = append(summaries, s)
			})
			dl := &fakeDeadLetter{}
			stats := &pipeline.Stats{}
			cfg := &pipeline.ObjectConfig{
				Registry: reg,
				Scripts: map[string]normalize.Script{
					"cloudtrail":  cloudtrail.Script{},
					"vpcflowlogs": vpcflowlogs.Script{},
				},
				DeadLetter: dl,
				Stats:      stats,
				BatchDocs:  1, // one batch per document: exercises batch hand-off
			}
			sink := &collectSink{t: t}
			var objErrs []error
			err := pipeline.Run(context.Background(), pipeline.Config{Workers: 1},
				&memSource{objs: []*pipeline.Object{memObject(tc.key, tc.data, ack)}},
				func() pipeline.Processor { return pipeline.NewObjectProcessor(cfg) },
				sink, func(_ *pipeline.Object, err error) { objErrs = append(objErrs, err) })
			if err != nil {
				t.Fatalf("Run: %v", err)
			}

			// Object errors: an *ObjectError when records failed or the
			// object failed as a whole.
			switch {
			case tc.wantErr != nil:
				if len(objErrs) != 1 || !errors.Is(objErrs[0], tc.wantErr) {
					t.Errorf("object errors = %v, want one matching %v", objErrs, tc.wantErr)
				}
			case len(tc.wantFailures) > 0:
				var oe *pipeline.ObjectError
				if len(objErrs) != 1 || !errors.As(objErrs[0], &oe) {
					t.Fatalf("object errors = %v, want one *ObjectError", objErrs)
				}
				if oe.Records != int64(len(tc.wantFailures)) || oe.Key != tc.key {
					t.Errorf("ObjectError = %+v, want Key %s and Records %d", oe, tc.key, len(tc.wantFailures))
				}
			default:
				if len(objErrs) != 0 {
					t.Errorf("object errors = %v, want none", objErrs)
				}
			}

			// Documents.
			got := sink.docs
			sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
			want := append([]wantDoc(nil), tc.wantDocs...)
			sort.Slice(want, func(i, j int) bool { return want[i].id < want[j].id })
			if len(got) != len(want) {
				ids := make([]string, len(got))
				for i, d := range got {
					ids[i] = d.ID
				}
				t.Fatalf("got %d documents %v, want %d", len(got), ids, len(want))
			}
			for i, w := range want {
				g := got[i]
				if g.Index != w.index || g.ID != w.id || g.LogType != w.logType {
					t.Errorf("document %d: index/id/type = %s/%s/%s, want %s/%s/%s", i, g.Index, g.ID, g.LogType, w.index, w.id, w.logType)
				}
				if g.Key != tc.key {
					t.Errorf("document %s: @log_s3key = %q, want %q", g.ID, g.Key, tc.key)
				}
				for path, wv := range w.fields {
					if gv, ok := lookup(g.Source, path); !ok || gv != wv {
						t.Errorf("document %s: %s = %#v (present %v), want %#v", g.ID, path, gv, ok, wv)
					}
				}
			}

			// Dead letters.
			if len(dl.failures) != len(tc.wantFailures) {
				t.Fatalf("dead letter got %d failures %+v, want %d", len(dl.failures), dl.failures, len(tc.wantFailures))
			}
			for i, wf := range tc.wantFailures {
				f := dl.failures[i]
				if f.Line != wf.line {
					t.Errorf("failure %d: Line = %d, want %d", i, f.Line, wf.line)
				}
				if !strings.Contains(string(f.Raw), wf.raw) {
					t.Errorf("failure %d: Raw = %q, want it to contain %q", i, f.Raw, wf.raw)
				}
				if !strings.Contains(f.Reason, wf.reasonPart) {
					t.Errorf("failure %d: Reason = %q, want it to mention %q", i, f.Reason, wf.reasonPart)
				}
				if f.Origin.Key != tc.key || f.Origin.Bucket != "logs" {
					t.Errorf("failure %d: Origin = %+v, want bucket logs key %s", i, f.Origin, tc.key)
				}
				if f.LogType == "" {
					t.Errorf("failure %d: LogType is empty", i)
				}
			}
			if n := stats.Errors.Load(); n != int64(len(tc.wantFailures)) {
				t.Errorf("Stats.Errors = %d, want %d", n, len(tc.wantFailures))
			}
			if n := stats.Files.Load(); n != 1 {
				t.Errorf("Stats.Files = %d, want 1", n)
			}
			if tc.wantErr == nil {
				if n, w := stats.Records.Load(), int64(len(tc.wantDocs)+len(tc.wantFailures)); n != w {
					t.Errorf("Stats.Records = %d, want %d (a header line is not a record)", n, w)
				}
			}

			// The object's token resolves once, after the sink.
			if len(summaries) != 1 {
				t.Fatalf("Ack resolved %d times, want 1", len(summaries))
			}
			// Records that failed before becoming documents are reported
			// to the dead letter, not through the token, so only the
			// delivered and filtered counts are checked here.
			if s := summaries[0]; s.Delivered != tc.wantSummary.Delivered || s.Filtered != tc.wantSummary.Filtered {
				t.Errorf("Summary = %+v, want %+v", s, tc.wantSummary)
			}
		})
	}
}

// lookup walks a dotted path through decoded JSON objects.
func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, seg := range strings.Split(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = o[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}
