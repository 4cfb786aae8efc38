//go:build conformance

// Conformance tests against the shared corpus (../shared, or $VIGIL_SHARED):
//   - corpus/sigma-aws: SigmaHQ AWS CloudTrail rules, from SigmaHQ/sigma,
//     Detection Rule License (DRL) 1.1 — attribution is kept in each rule's
//     author field.
//   - corpus/cloudtrail-events/panther-test-events.jsonl: CloudTrail test
//     events from panther-labs/panther-analysis, Apache License 2.0.
//
// Run with: go test -tags conformance ./internal/detect/...
// These tests fail (never skip) when the shared directory is missing.

package sigma

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sharedDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("VIGIL_SHARED"); d != "" {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("VIGIL_SHARED=%s: %v", d, err)
		}
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(d); err != nil {
				t.Fatalf("shared directory %s missing (set VIGIL_SHARED): %v", d, err)
			}
			return d
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test directory; set VIGIL_SHARED")
		}
	}
}

type pantherEvent struct {
	Rule     string         `json:"rule"`
	Name     string         `json:"name"`
	Expected bool           `json:"expected"`
	Log      map[string]any `json:"log"`
	Raw      []byte         `json:"-"` // the log's JSON text
}

func loadPantherEvents(t *testing.T, shared string) []pantherEvent {
	t.Helper()
	f, err := os.Open(filepath.Join(shared, "corpus", "cloudtrail-events", "panther-test-events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pantherEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev pantherEvent
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %d: %v", len(out)+1, err)
		}
		var raw struct {
			Log json.RawMessage `json:"log"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %d: %v", len(out)+1, err)
		}
		ev.Raw = raw.Log
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// handVerified lists (event line, rule file) pairs checked by reading the
// rule and the event: want says whether the rule must fire.
var handVerified = []struct {
	line int
	file string
	want bool
	why  string
}{
	{423, "aws_sts_getcalleridentity_trufflehog.yml", true, "sts GetCallerIdentity, userAgent TruffleHog"},
	{423, "aws_cloudtrail_pua_trufflehog.yml", true, "userAgent equals TruffleHog"},
	{424, "aws_sts_getcalleridentity_trufflehog.yml", true, "trufflehog/3.63.0 contains TruffleHog case-insensitively"},
	{424, "aws_cloudtrail_pua_trufflehog.yml", false, "trufflehog/3.63.0 is not equal to TruffleHog"},
	{425, "aws_sts_getcalleridentity_trufflehog.yml", false, "aws-cli user agent"},
	{426, "aws_cloudtrail_pua_trufflehog.yml", true, "userAgent TruffleHog on AssumeRole"},
	{426, "aws_sts_getcalleridentity_trufflehog.yml", false, "AssumeRole is not GetCallerIdentity"},
	{85, "aws_cloudtrail_console_login_success_without_mfa.yml", true, "MFAUsed No matches NO (YAML 1.2 string, case-insensitive), login Success"},
	{85, "aws_root_account_usage.yml", true, "Root, eventType AwsConsoleSignIn is not AwsServiceEvent"},
	{87, "aws_cloudtrail_console_login_success_without_mfa.yml", false, "ConsoleLogin Failure"},
	{87, "aws_root_account_usage.yml", true, "Root user"},
	{69, "aws_console_getsignintoken.yml", true, "GetSigninToken from python-requests, not the console's Jersey agent"},
	{95, "aws_ec2_disable_encryption.yml", true, "DisableEbsEncryptionByDefault"},
	{189, "aws_iam_backdoor_users_keys.yml", true, "the filter value is the literal text responseElements.accessKey.userName, not a field reference"},
	{282, "aws_rds_change_master_password.yml", true, "masterUserPassword **** contains the wildcard *"},
	{374, "aws_disable_bucket_versioning.yml", true, "requestParameters object's JSON text contains Suspended"},
	{443, "aws_cloudtrail_vpc_flow_logs_deleted.yml", true, "DeleteFlowLogs without errorCode: null matches the absent field"},
	{51, "aws_cloudtrail_disable_logging.yml", true, "StopLogging on cloudtrail.amazonaws.com"},
	{427, "aws_sts_getsessiontoken_misuse.yml", true, "GetSessionToken by an IAMUser"},
	{441, "aws_update_login_profile.yml", true, "fieldref: assumed-role ARN differs from requestParameters.userName bob"},
}

func TestCorpusMatches(t *testing.T) {
	shared := sharedDir(t)
	sigmaDir := filepath.Join(shared, "corpus", "sigma-aws")
	rs, errs := LoadDir(filepath.Join(sigmaDir, "rules"))
	for _, err := range errs {
		t.Errorf("load: %v", err)
	}
	if len(rs.Rules) != 57 {
		t.Errorf("loaded %d rules, want 57", len(rs.Rules))
	}
	unsup, errs := LoadDir(filepath.Join(sigmaDir, "unsupported"))
	for _, err := range errs {
		t.Errorf("load unsupported: %v", err)
	}
	corrByFile := map[string]bool{}
	for _, r := range unsup.Rules {
		if r.Correlation != nil {
			corrByFile[filepath.Base(r.File)] = true
		}
	}
	if len(corrByFile) != 8 {
		t.Errorf("%d of the 8 unsupported/ rules load as correlations: %v", len(corrByFile), corrByFile)
	}
	placeholder, errs := LoadDir(filepath.Join(sigmaDir, "rules-placeholder"))
	for _, err := range errs {
		t.Errorf("load placeholder: %v", err)
	}
	if _, err := Compile(placeholder.Rules, Options{}); err == nil || !strings.Contains(err.Error(), "Legitimate_Countries") {
		t.Errorf("placeholder rule without placeholders: want a compile error, got %v", err)
	}
	opts := Options{Placeholders: map[string][]string{"Legitimate_Countries": {"US", "DE"}, "Legitimate_IP_Ranges": {"203.0.113.*"}}}
	all := append(append(append([]*Rule{}, rs.Rules...), unsup.Rules...), placeholder.Rules...)
	eng, err := Compile(all, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	det, corrs := eng.Rules()
	t.Logf("rules: %d documents (57 rules, 8 unsupported/ translated into %d, 1 placeholder); compiled %d detection rules (incl. hidden legacy parts) and %d correlations; index %+v",
		len(all), len(unsup.Rules), len(det), len(corrs), eng.IndexStats())

	plain, err := Compile(all, Options{Placeholders: opts.Placeholders, NoIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	events := loadPantherEvents(t, shared)
	if len(events) != 461 {
		t.Errorf("%d events, want 461", len(events))
	}
	corr := eng.NewCorrelator(CorrelatorConfig{RefField: "eventID"})
	jcorr := eng.NewCorrelator(CorrelatorConfig{RefField: "eventID"})
	got := map[string]bool{}
	total, corrTotal, compared := 0, 0, 0
	je := &JSONEvent{}
	timePath := NewPath("eventTime")
	for i, ev := range events {
		line := i + 1
		ts, ok := valueTime(ev.Log["eventTime"])
		if !ok {
			ts = time.Unix(0, 0)
		}
		ms, cms := corr.Process(ev.Log, ts, "cloudtrail")
		// The raw JSON event gives the same detection and correlation
		// matches, the same event time, with and without the index.
		if err := je.Reset(ev.Raw); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		jts, ok := EventTime(je, timePath)
		if !ok {
			jts = time.Unix(0, 0)
		}
		if !jts.Equal(ts) {
			t.Errorf("line %d: event time %v from JSON, %v from the map", line, jts, ts)
		}
		jms, jcms := jcorr.ProcessEvent(je, jts, "cloudtrail")
		if fmt.Sprint(ruleIDs(jms)) != fmt.Sprint(ruleIDs(ms)) || fmt.Sprint(jcms) != fmt.Sprint(cms) {
			t.Errorf("line %d: JSON event matches %v %v, map %v %v", line, ruleIDs(jms), jcms, ruleIDs(ms), cms)
		}
		for _, e := range []*Engine{eng, plain} {
			for _, lt := range []string{"", "cloudtrail"} {
				a, b := e.Match(ev.Log, lt), e.MatchEvent(je, lt)
				if fmt.Sprint(ruleIDs(a)) != fmt.Sprint(ruleIDs(b)) {
					t.Errorf("line %d, log type %q: map %v, JSON event %v", line, lt, ruleIDs(a), ruleIDs(b))
				}
				compared++
			}
		}
		for _, m := range ms {
			total++
			got[fmt.Sprintf("%d %s", line, filepath.Base(m.Rule.File))] = true
			t.Logf("line %d (%s / %s): %s", line, ev.Rule, ev.Name, m.Title)
		}
		for _, cm := range cms {
			corrTotal++
			t.Logf("line %d: correlation %s (%s) group %v value %v", line, cm.Title, cm.Type, cm.GroupBy, cm.Value)
		}
		// The index changes nothing, with or without a log type.
		for _, lt := range []string{"", "cloudtrail"} {
			a, b := eng.Match(ev.Log, lt), plain.Match(ev.Log, lt)
			if fmt.Sprint(ruleIDs(a)) != fmt.Sprint(ruleIDs(b)) {
				t.Errorf("line %d, log type %q: indexed %v, unindexed %v", line, lt, ruleIDs(a), ruleIDs(b))
			}
		}
	}
	t.Logf("%d events evaluated: %d detection matches, %d correlation matches; %d evaluations compared between map and JSON event", len(events), total, corrTotal, compared)
	for _, hv := range handVerified {
		if got[fmt.Sprintf("%d %s", hv.line, hv.file)] != hv.want {
			t.Errorf("line %d, %s: fired = %v, want %v (%s)", hv.line, hv.file, !hv.want, hv.want, hv.why)
		}
	}
}

func ruleIDs(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.RuleID
	}
	return out
}
