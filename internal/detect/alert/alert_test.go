package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
)

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

func newProc(t testing.TB, cfg Config) *Processor {
	t.Helper()
	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseTags(t *testing.T) {
	tests := []struct {
		name string
		tags []string
		want Threat
	}{
		{name: "none", tags: []string{"cve.2021-44228", "detection.threat-hunting"}, want: Threat{}},
		{
			name: "tactic names, hyphen and underscore",
			tags: []string{"attack.initial-access", "attack.defense_evasion", "attack.initial_access"},
			want: Threat{TacticIDs: []string{"TA0001", "TA0005"}, TacticNames: []string{"initial-access", "defense-evasion"}},
		},
		{
			name: "tactic id",
			tags: []string{"attack.ta0040"},
			want: Threat{TacticIDs: []string{"TA0040"}, TacticNames: []string{"impact"}},
		},
		{
			name: "techniques and sub-techniques",
			tags: []string{"attack.t1078.004", "attack.T1078", "attack.t1562.008", "attack.t1562.008"},
			want: Threat{TechniqueIDs: []string{"T1078", "T1562"}, SubtechniqueIDs: []string{"T1078.004", "T1562.008"}},
		},
		{
			name: "groups, software, junk",
			tags: []string{"attack.g0016", "attack.s0002", "attack.t10", "attack.", "attack.nonsense"},
			want: Threat{Groups: []string{"G0016"}, Software: []string{"S0002"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseTags(tt.tags); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTags(%q) = %+v, want %+v", tt.tags, got, tt.want)
			}
		})
	}
}

func TestComputeIDDeterministic(t *testing.T) {
	a := ComputeID("r1", "k=v", t0)
	if a != ComputeID("r1", "k=v", t0) || len(a) != 32 {
		t.Fatalf("id %q not stable or not 32 hex chars", a)
	}
	for _, other := range []string{
		ComputeID("r2", "k=v", t0), ComputeID("r1", "k=w", t0), ComputeID("r1", "k=v", t0.Add(time.Nanosecond)),
		ComputeID("r1k=v", "", t0), // separators matter
	} {
		if other == a {
			t.Errorf("different inputs gave the same id %s", a)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "zero is fine", cfg: Config{}},
		{name: "negative window", cfg: Config{DedupWindow: -time.Second}, wantErr: "alert.dedup_window: -1s"},
		{name: "negative max_open", cfg: Config{MaxOpen: -1}, wantErr: "alert.max_open: -1"},
		{name: "rule window", cfg: Config{Rules: map[string]RuleConfig{"r": {DedupWindow: -time.Minute}}}, wantErr: `alert.rules["r"].dedup_window: -1m0s`},
		{name: "too many suppression fields", cfg: Config{Rules: map[string]RuleConfig{"r": {Suppressions: []Suppression{{
			Fields: map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}, Start: t0, Duration: time.Hour,
		}}}}}, wantErr: `alert.rules["r"].suppressions[0].fields: 4 fields, at most 3`},
		{name: "suppression without duration", cfg: Config{Suppressions: []Suppression{{Fields: map[string]string{"a": "1"}, Start: t0}}}, wantErr: "alert.suppressions[0].duration: 0s"},
		{name: "suppression without start", cfg: Config{Suppressions: []Suppression{{Fields: map[string]string{"a": "1"}, Duration: time.Hour}}}, wantErr: "alert.suppressions[0].start: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func match(rule string, at time.Duration, doc string, fields map[string]string) Match {
	return Match{RuleID: rule, Title: "title " + rule, Level: "high", Tags: []string{"attack.t1078.004"},
		Time: t0.Add(at), DocIDs: []string{doc}, Fields: fields, KeyFields: []string{"source.ip"}}
}

func TestDedup(t *testing.T) {
	ip := func(v string) map[string]string { return map[string]string{"source.ip": v, "user.name": "bob"} }
	type step struct {
		m       Match
		wantNew bool
		wantCnt int
		sameAs  int // index of an earlier step whose alert this one updates; -1 for none
	}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{
			name: "same key within the window updates one alert",
			steps: []step{
				{m: match("r", 0, "d1", ip("1.1.1.1")), wantNew: true, wantCnt: 1, sameAs: -1},
				{m: match("r", 10*time.Minute, "d2", ip("1.1.1.1")), wantCnt: 2, sameAs: 0},
				{m: match("r", 59*time.Minute, "d3", ip("1.1.1.1")), wantCnt: 3, sameAs: 0},
			},
		},
		{
			name: "another key or another rule is another alert",
			steps: []step{
				{m: match("r", 0, "d1", ip("1.1.1.1")), wantNew: true, wantCnt: 1, sameAs: -1},
				{m: match("r", time.Minute, "d2", ip("2.2.2.2")), wantNew: true, wantCnt: 1, sameAs: -1},
				{m: match("q", time.Minute, "d3", ip("1.1.1.1")), wantNew: true, wantCnt: 1, sameAs: -1},
			},
		},
		{
			name: "the next window is a new alert",
			steps: []step{
				{m: match("r", 0, "d1", ip("1.1.1.1")), wantNew: true, wantCnt: 1, sameAs: -1},
				{m: match("r", time.Hour, "d2", ip("1.1.1.1")), wantNew: true, wantCnt: 1, sameAs: -1},
			},
		},
		{
			name: "dedup fields override the rule's fields",
			cfg:  Config{Rules: map[string]RuleConfig{"r": {DedupFields: []string{"user.name"}, DedupWindow: 24 * time.Hour}}},
			steps: []step{
				{m: match("r", 0, "d1", ip("1.1.1.1")), wantNew: true, wantCnt: 1, sameAs: -1},
				{m: match("r", 5*time.Hour, "d2", ip("2.2.2.2")), wantCnt: 2, sameAs: 0},
			},
		},
		{
			name: "out of order within the window",
			steps: []step{
				{m: match("r", 30*time.Minute, "d1", ip("1.1.1.1")), wantNew: true, wantCnt: 1, sameAs: -1},
				{m: match("r", 5*time.Minute, "d2", ip("1.1.1.1")), wantCnt: 2, sameAs: 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProc(t, tt.cfg)
			var ids []string
			for i, s := range tt.steps {
				r := p.Process(s.m)
				if r.Alert == nil || r.New != s.wantNew || r.Alert.Count != s.wantCnt {
					t.Fatalf("step %d: got %+v, want new=%v count=%d", i, r, s.wantNew, s.wantCnt)
				}
				ids = append(ids, r.Alert.ID)
				if s.sameAs >= 0 && r.Alert.ID != ids[s.sameAs] {
					t.Errorf("step %d: alert %s, want the alert of step %d (%s)", i, r.Alert.ID, s.sameAs, ids[s.sameAs])
				}
				for j := 0; j < i; j++ {
					if s.sameAs < 0 && ids[j] == r.Alert.ID {
						t.Errorf("step %d: reused the alert of step %d", i, j)
					}
				}
			}
		})
	}
}

func TestAlertContents(t *testing.T) {
	p := newProc(t, Config{MaxDocIDs: 2})
	var r Result
	for i, d := range []time.Duration{20 * time.Minute, 5 * time.Minute, 40 * time.Minute} {
		r = p.Process(match("r", d, fmt.Sprintf("d%d", i), map[string]string{"source.ip": "1.1.1.1"}))
	}
	a := r.Alert
	want := &Alert{
		ID: ComputeID("r", "source.ip=1.1.1.1", t0), RuleID: "r", RuleTitle: "title r", Level: "high",
		Tags:      []string{"attack.t1078.004"},
		Threat:    Threat{TechniqueIDs: []string{"T1078"}, SubtechniqueIDs: []string{"T1078.004"}},
		DedupKey:  "source.ip=1.1.1.1",
		KeyFields: map[string]string{"source.ip": "1.1.1.1"},
		DocIDs:    []string{"d0", "d1"}, DocIDsDropped: 1,
		FirstSeen: t0.Add(5 * time.Minute), LastSeen: t0.Add(40 * time.Minute),
		WindowStart: t0, WindowEnd: t0.Add(time.Hour), Count: 3, Status: StatusOpen,
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("alert\n got %+v\nwant %+v", a, want)
	}
	// The copy is the caller's: changing it leaves the state alone.
	a.DocIDs[0] = "changed"
	if g, _ := p.Get(a.ID); g.DocIDs[0] != "d0" {
		t.Errorf("Process returned the state's alert, not a copy")
	}
}

func TestReplaySameIDs(t *testing.T) {
	var ms []Match
	for i := 0; i < 200; i++ {
		ip := fmt.Sprintf("10.0.0.%d", i%7)
		ms = append(ms, match(fmt.Sprintf("r%d", i%3), time.Duration(i)*97*time.Second, fmt.Sprint(i), map[string]string{"source.ip": ip}))
	}
	run := func(order []Match) map[string]int {
		p := newProc(t, Config{})
		out := map[string]int{}
		for _, m := range order {
			r := p.Process(m)
			out[r.Alert.ID]++
		}
		return out
	}
	first := run(ms)
	shuffled := append([]Match(nil), ms...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if second := run(shuffled); !reflect.DeepEqual(first, second) {
		t.Errorf("a shuffled replay gave other alerts: %d vs %d ids", len(first), len(second))
	}
}

func TestCorrelationGroupByKey(t *testing.T) {
	p := newProc(t, Config{})
	cm := func(ip string, at time.Duration) Match {
		return Match{RuleID: "c", Level: "critical", Time: t0.Add(at), GroupBy: map[string]string{"source.ip": ip},
			DocIDs: []string{"a", "b"}, Count: 11, Correlation: true}
	}
	r1 := p.Process(cm("1.1.1.1", 0))
	r2 := p.Process(cm("1.1.1.1", time.Minute))
	r3 := p.Process(cm("2.2.2.2", time.Minute))
	if !r1.New || r2.New || !r3.New || r2.Alert.ID != r1.Alert.ID || r2.Alert.Count != 22 {
		t.Fatalf("got %+v / %+v / %+v", r1, r2, r3)
	}
	if r1.Alert.DedupKey != "source.ip=1.1.1.1" || !r1.Alert.Correlation || r1.Alert.GroupBy["source.ip"] != "1.1.1.1" {
		t.Errorf("correlation alert %+v", r1.Alert)
	}
}

func TestSuppression(t *testing.T) {
	supp := Suppression{Fields: map[string]string{"source.ip": "1.2.3.4"}, Start: t0, Duration: 24 * time.Hour, Reason: "pentest"}
	both := Suppression{Fields: map[string]string{"source.ip": "1.2.3.4", "user.name": "alice"}, Start: t0, Duration: time.Hour}
	tests := []struct {
		name    string
		cfg     Config
		dynamic *Suppression
		m       Match
		want    bool
	}{
		{name: "rule suppression, inside", cfg: Config{Rules: map[string]RuleConfig{"r": {Suppressions: []Suppression{supp}}}},
			m: match("r", 23*time.Hour, "d", map[string]string{"source.ip": "1.2.3.4"}), want: true},
		{name: "rule suppression, after the period", cfg: Config{Rules: map[string]RuleConfig{"r": {Suppressions: []Suppression{supp}}}},
			m: match("r", 24*time.Hour, "d", map[string]string{"source.ip": "1.2.3.4"})},
		{name: "rule suppression, before the period", cfg: Config{Rules: map[string]RuleConfig{"r": {Suppressions: []Suppression{supp}}}},
			m: match("r", -time.Second, "d", map[string]string{"source.ip": "1.2.3.4"})},
		{name: "rule suppression, other rule", cfg: Config{Rules: map[string]RuleConfig{"r": {Suppressions: []Suppression{supp}}}},
			m: match("q", time.Hour, "d", map[string]string{"source.ip": "1.2.3.4"})},
		{name: "rule suppression, other value", cfg: Config{Rules: map[string]RuleConfig{"r": {Suppressions: []Suppression{supp}}}},
			m: match("r", time.Hour, "d", map[string]string{"source.ip": "1.2.3.5"})},
		{name: "global, every rule", cfg: Config{Suppressions: []Suppression{supp}},
			m: match("q", time.Hour, "d", map[string]string{"source.ip": "1.2.3.4"}), want: true},
		{name: "two fields, both equal", cfg: Config{Suppressions: []Suppression{both}},
			m: match("q", time.Minute, "d", map[string]string{"source.ip": "1.2.3.4", "user.name": "alice"}), want: true},
		{name: "two fields, one differs", cfg: Config{Suppressions: []Suppression{both}},
			m: match("q", time.Minute, "d", map[string]string{"source.ip": "1.2.3.4", "user.name": "bob"})},
		{name: "dynamic, for one rule", dynamic: &Suppression{RuleID: "r", Fields: supp.Fields, Start: t0, Duration: time.Hour},
			m: match("r", time.Minute, "d", map[string]string{"source.ip": "1.2.3.4"}), want: true},
		{name: "dynamic, other rule", dynamic: &Suppression{RuleID: "r", Fields: supp.Fields, Start: t0, Duration: time.Hour},
			m: match("q", time.Minute, "d", map[string]string{"source.ip": "1.2.3.4"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProc(t, tt.cfg)
			if tt.dynamic != nil {
				if err := p.Suppress(*tt.dynamic); err != nil {
					t.Fatal(err)
				}
			}
			r := p.Process(tt.m)
			if r.Suppressed != tt.want || (r.Alert == nil) != tt.want {
				t.Fatalf("suppressed = %v (alert %v), want %v", r.Suppressed, r.Alert != nil, tt.want)
			}
			if tt.want && p.Stats().Suppressed != 1 {
				t.Errorf("stats %+v", p.Stats())
			}
		})
	}
}

func TestFieldsFor(t *testing.T) {
	p := newProc(t, Config{
		Rules:        map[string]RuleConfig{"r": {DedupFields: []string{"user.name"}, Suppressions: []Suppression{{Fields: map[string]string{"host.name": "h"}, Start: t0, Duration: time.Hour}}}},
		Suppressions: []Suppression{{RuleID: "q", Fields: map[string]string{"x": "1"}, Start: t0, Duration: time.Hour}},
	})
	got := p.FieldsFor("r", []string{"source.ip", "user.name"})
	if want := []string{"source.ip", "user.name", "host.name"}; !reflect.DeepEqual(got, want) {
		t.Errorf("FieldsFor = %q, want %q", got, want)
	}
}

func TestBoundedState(t *testing.T) {
	t.Run("MaxOpen evicts the least recently updated", func(t *testing.T) {
		p := newProc(t, Config{MaxOpen: 2})
		a := p.Process(match("r", 0, "1", map[string]string{"source.ip": "a"}))
		b := p.Process(match("r", 0, "2", map[string]string{"source.ip": "b"}))
		p.Process(match("r", time.Second, "3", map[string]string{"source.ip": "a"})) // a is now the most recent
		p.Process(match("r", 2*time.Second, "4", map[string]string{"source.ip": "c"}))
		if _, ok := p.Get(b.Alert.ID); ok {
			t.Error("b was not evicted")
		}
		if _, ok := p.Get(a.Alert.ID); !ok {
			t.Error("a was evicted")
		}
		if s := p.Stats(); s.Evicted != 1 || s.Open != 2 {
			t.Errorf("stats %+v", s)
		}
	})
	t.Run("windows expire with the watermark; late matches keep their id", func(t *testing.T) {
		p := newProc(t, Config{DedupWindow: time.Hour, Lateness: 10 * time.Minute})
		first := p.Process(match("r", 0, "1", map[string]string{"source.ip": "a"}))
		// Within the lateness the window is still there.
		p.Process(match("r", 65*time.Minute, "2", map[string]string{"source.ip": "b"}))
		if r := p.Process(match("r", 59*time.Minute, "3", map[string]string{"source.ip": "a"})); r.New || r.Alert.ID != first.Alert.ID {
			t.Fatalf("late match within the lateness: %+v", r)
		}
		p.Process(match("r", 71*time.Minute, "4", map[string]string{"source.ip": "b"}))
		if _, ok := p.Get(first.Alert.ID); ok {
			t.Fatal("window did not expire")
		}
		r := p.Process(match("r", 30*time.Minute, "5", map[string]string{"source.ip": "a"}))
		if !r.New || !r.Late || r.Alert.ID != first.Alert.ID {
			t.Fatalf("late match after expiry: %+v", r)
		}
		// The late alert stays for the lateness from its creation: the
		// late matches after it update it.
		if s := p.Stats(); s.Expired != 1 || s.Open != 2 {
			t.Errorf("stats %+v", s)
		}
		if r2 := p.Process(match("r", 40*time.Minute, "6", map[string]string{"source.ip": "a"})); r2.New || r2.Alert.ID != first.Alert.ID || r2.Alert.Count != 2 {
			t.Fatalf("second late match: %+v", r2)
		}
		// It leaves once the watermark (71m) has moved on by the lateness.
		p.Process(match("r", 80*time.Minute, "7", map[string]string{"source.ip": "b"}))
		if _, ok := p.Get(first.Alert.ID); !ok {
			t.Fatal("late alert left before the lateness passed")
		}
		p.Process(match("r", 82*time.Minute, "8", map[string]string{"source.ip": "b"}))
		if _, ok := p.Get(first.Alert.ID); ok {
			t.Fatal("late alert did not leave")
		}
		if s := p.Stats(); s.Expired != 2 || s.Open != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestSnapshotRestore(t *testing.T) {
	p := newProc(t, Config{})
	ms := []Match{
		match("r", 0, "1", map[string]string{"source.ip": "a"}),
		match("r", time.Minute, "2", map[string]string{"source.ip": "b"}),
		match("r", 2*time.Minute, "3", map[string]string{"source.ip": "a"}),
	}
	for _, m := range ms {
		p.Process(m)
	}
	ackd := p.Process(ms[1]).Alert.ID
	if _, ok := p.Acknowledge(ackd); !ok {
		t.Fatal("Acknowledge")
	}
	if err := p.Suppress(Suppression{Fields: map[string]string{"source.ip": "z"}, Start: t0, Duration: time.Hour, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	q := newProc(t, Config{})
	if err := q.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	if err := q.Snapshot(&buf2); err != nil {
		t.Fatal(err)
	}
	if buf.String() != buf2.String() {
		t.Errorf("snapshot after restore differs:\n%s\n%s", buf.String(), buf2.String())
	}
	// The restored state goes on deduplicating and suppressing.
	r := q.Process(match("r", 3*time.Minute, "4", map[string]string{"source.ip": "b"}))
	if r.New || r.Alert.ID != ackd || r.Alert.Count != 3 || r.Alert.Status != StatusAcknowledged {
		t.Errorf("after restore: %+v", r.Alert)
	}
	if r := q.Process(match("r", 3*time.Minute, "5", map[string]string{"source.ip": "z"})); !r.Suppressed {
		t.Error("run-time suppression lost in the snapshot")
	}
	for _, bad := range []string{`{"version":2}`, `{"version":1,"alerts":[{"event":{"kind":"alert"},"alert":{"id":"x","status":"weird"}}]}`, `nope`} {
		if err := q.Restore(strings.NewReader(bad)); err == nil {
			t.Errorf("Restore(%s) accepted", bad)
		}
	}
}

func TestJSONDocument(t *testing.T) {
	p := newProc(t, Config{})
	m := match("r", 0, "d1", map[string]string{"source.ip": "1.1.1.1"})
	m.Tags = []string{"attack.initial-access", "attack.t1078.004", "attack.g0016"}
	a := p.Process(m).Alert
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			v = v.(map[string]any)[k]
		}
		return v
	}
	for path, want := range map[string]any{
		"@timestamp":                       "2025-06-01T10:00:00Z",
		"event.kind":                       "alert",
		"event.severity":                   73.0,
		"rule.id":                          "r",
		"rule.name":                        "title r",
		"threat.framework":                 "MITRE ATT&CK",
		"threat.tactic.id":                 []any{"TA0001"},
		"threat.technique.id":              []any{"T1078"},
		"threat.technique.subtechnique.id": []any{"T1078.004"},
		"alert.id":                         a.ID,
		"alert.status":                     "open",
		"alert.count":                      1.0,
		"alert.doc_ids":                    []any{"d1"},
		"alert.key_fields":                 map[string]any{"source.ip": "1.1.1.1"},
		"alert.mitre_groups":               []any{"G0016"},
	} {
		if got := get(path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	var back Alert
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, a) {
		t.Errorf("round trip\n got %+v\nwant %+v", &back, a)
	}
}

func TestFromSigma(t *testing.T) {
	rules, err := sigma.Parse("r.yml", []byte(`title: Console login without MFA
id: 11111111-2222-3333-4444-555555555555
level: high
tags: [attack.initial-access, attack.t1078.004]
fields: [sourceIPAddress, userIdentity.arn]
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: ConsoleLogin
  condition: sel
`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sigma.Compile(rules, sigma.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := newProc(t, Config{Suppressions: []Suppression{{Fields: map[string]string{"awsRegion": "eu-west-3"}, Start: t0, Duration: time.Hour}}})
	ev := sigma.MapEvent{"eventName": "ConsoleLogin", "sourceIPAddress": "198.51.100.7", "awsRegion": "us-east-1",
		"userIdentity": map[string]any{"arn": "arn:aws:iam::1:user/bob"}}
	ms := eng.MatchEvent(ev, "")
	if len(ms) != 1 {
		t.Fatalf("%d matches", len(ms))
	}
	m := p.FromSigma(ms[0], ev, t0, "doc-1")
	want := map[string]string{"sourceIPAddress": "198.51.100.7", "userIdentity.arn": "arn:aws:iam::1:user/bob", "awsRegion": "us-east-1"}
	if !reflect.DeepEqual(m.Fields, want) || m.RuleID != rules[0].ID || !reflect.DeepEqual(m.DocIDs, []string{"doc-1"}) {
		t.Fatalf("FromSigma = %+v", m)
	}
	r := p.Process(m)
	if !r.New || r.Alert.DedupKey != "sourceIPAddress=198.51.100.7\x00userIdentity.arn=arn:aws:iam::1:user/bob" {
		t.Errorf("alert %+v", r.Alert)
	}
	cm := FromCorrelation(sigma.CorrelationMatch{RuleID: "c", Time: t0, GroupBy: map[string]string{"sourceIPAddress": "x"}, Refs: []string{"e1"}, Count: 10})
	if !cm.Correlation || cm.Count != 10 || cm.GroupBy["sourceIPAddress"] != "x" {
		t.Errorf("FromCorrelation = %+v", cm)
	}
}

func TestFieldString(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want string
	}{
		{"s", "s"}, {json.Number("4624"), "4624"}, {200.5, "200.5"}, {true, "true"},
		{[]any{"a", 1.0}, `["a",1]`}, {map[string]any{"b": 1.0, "a": "x"}, `{"a":"x","b":1}`},
	} {
		if got := FieldString(tt.in); got != tt.want {
			t.Errorf("FieldString(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMemoryPerAlert measures the heap held per open alert with typical
// contents (3 tags, 2 key fields, 20 doc ids of 40 bytes); docs/alerts.md
// quotes the figure.
func TestMemoryPerAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory")
	}
	const n = 10000
	p := newProc(t, Config{MaxOpen: n, MaxDocIDs: 20})
	mk := func(i int) Match {
		docs := make([]string, 20)
		for j := range docs {
			docs[j] = fmt.Sprintf("%039d%d", i, j%10)
		}
		return Match{RuleID: "3a1f2b7c-0000-4000-8000-000000000000", Title: "Console login without MFA", Level: "high",
			Tags: []string{"attack.initial-access", "attack.t1078.004", "attack.defense-evasion"}, Time: t0,
			DocIDs: docs, KeyFields: []string{"source.ip", "user.name"},
			Fields: map[string]string{"source.ip": fmt.Sprintf("10.0.%d.%d", i/256, i%256), "user.name": "arn:aws:iam::123456789012:user/someone"}}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		p.Process(mk(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per open alert (%d alerts)", per, p.Stats().Open)
	if per > 8192 {
		t.Errorf("%.0f bytes per alert", per)
	}
	runtime.KeepAlive(p)
}

func BenchmarkProcess(b *testing.B) {
	p := newProc(b, Config{})
	ms := make([]Match, 1024)
	for i := range ms {
		ms[i] = match("r", time.Duration(i)*time.Second, "d", map[string]string{"source.ip": fmt.Sprintf("10.0.0.%d", i%50)})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Process(ms[i%len(ms)])
	}
}

// TestSetStatusSurvivesUpdates checks that an alert acknowledged in the
// state stays acknowledged when later matches update it, and can be
// reopened.
func TestSetStatusSurvivesUpdates(t *testing.T) {
	p := newProc(t, Config{})
	m := func(at time.Duration, ref string) Match {
		return match("r", at, ref, map[string]string{"source.ip": "a"})
	}
	id := p.Process(m(0, "1")).Alert.ID
	if !p.SetStatus(id, StatusAcknowledged) {
		t.Fatal("SetStatus: the state does not hold the alert")
	}
	if r := p.Process(m(time.Minute, "2")); r.Alert.ID != id || r.Alert.Status != StatusAcknowledged {
		t.Fatalf("update: alert %s status %q, want %s acknowledged", r.Alert.ID, r.Alert.Status, id)
	}
	p.SetStatus(id, StatusOpen)
	if r := p.Process(m(2*time.Minute, "3")); r.Alert.Status != StatusOpen {
		t.Fatalf("after reopening: status %q", r.Alert.Status)
	}
	if p.SetStatus("no-such-alert", StatusAcknowledged) {
		t.Error("SetStatus of an unknown alert reported true")
	}
}
