package sigma

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// stamped is an event with its event time and log type.
type stamped struct {
	ev      map[string]any
	at      time.Time
	logType string
}

func login(ip, user, result string, at time.Duration) stamped {
	return stamped{ev: map[string]any{
		"eventSource":      "signin.amazonaws.com",
		"eventName":        "ConsoleLogin",
		"sourceIPAddress":  ip,
		"userIdentity":     map[string]any{"userName": user},
		"responseElements": map[string]any{"ConsoleLogin": result},
		"eventID":          fmt.Sprintf("%s-%s-%s-%d", ip, user, result, at),
	}, at: t0.Add(at), logType: "cloudtrail"}
}

const bruteForceRules = `title: Failed console login
id: failed-login
name: failed_login
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: ConsoleLogin
    responseElements.ConsoleLogin: Failure
  condition: sel
---
title: Successful console login
id: ok-login
name: successful_login
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: ConsoleLogin
    responseElements.ConsoleLogin: Success
  condition: sel
---
title: Many failed logins
id: many-failed
name: many_failed_logins
correlation:
  type: event_count
  rules: [failed_login]
  group-by: [sourceIPAddress]
  timespan: 5m
  condition: {gte: 10}
---
title: Brute force then success
id: brute-force-success
level: high
correlation:
  type: temporal_ordered
  rules: [many_failed_logins, successful_login]
  group-by: [sourceIPAddress]
  timespan: 5m
`

func mustEngine(t testing.TB, src string) *Engine {
	t.Helper()
	eng, err := compileYAML(t, src, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return eng
}

func run(c *Correlator, evs []stamped) ([]Match, []CorrelationMatch) {
	var ms []Match
	var cms []CorrelationMatch
	for _, s := range evs {
		m, cm := c.Process(s.ev, s.at, s.logType)
		ms = append(ms, m...)
		cms = append(cms, cm...)
	}
	return ms, cms
}

func bruteForceEvents() []stamped {
	var evs []stamped
	for i := 0; i < 10; i++ {
		evs = append(evs, login("198.51.100.7", "alice", "Failure", time.Duration(i)*10*time.Second))
	}
	// Noise: another IP with a few failures and a success.
	for i := 0; i < 4; i++ {
		evs = append(evs, login("203.0.113.9", "bob", "Failure", time.Duration(i)*7*time.Second))
	}
	evs = append(evs, login("203.0.113.9", "bob", "Success", 40*time.Second))
	evs = append(evs, login("198.51.100.7", "alice", "Success", 2*time.Minute))
	return evs
}

func ids(cms []CorrelationMatch) []string {
	var out []string
	for _, m := range cms {
		out = append(out, m.RuleID+"@"+m.ID)
	}
	return out
}

func TestScenarioBruteForceThenSuccess(t *testing.T) {
	eng := mustEngine(t, bruteForceRules)
	evs := bruteForceEvents()
	c := eng.NewCorrelator(CorrelatorConfig{RefField: "eventID"})
	ms, cms := run(c, evs)
	if len(ms) != 0 {
		t.Errorf("referenced rules raised %d standalone matches; without generate they must not", len(ms))
	}
	if len(cms) != 1 || cms[0].RuleID != "brute-force-success" {
		t.Fatalf("got %v, want exactly one brute-force-success", ids(cms))
	}
	want := cms[0]
	if want.GroupBy["sourceIPAddress"] != "198.51.100.7" || want.Level != "high" {
		t.Errorf("match %+v", want)
	}
	if !want.WindowStart.Equal(t0.Add(90 * time.Second)) {
		t.Errorf("window start %v, want the time the 10th failure completed the count", want.WindowStart)
	}

	t.Run("out of order", func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for i := 0; i < 50; i++ {
			shuffled := append([]stamped(nil), evs...)
			r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			_, got := run(eng.NewCorrelator(CorrelatorConfig{}), shuffled)
			if len(got) != 1 || got[0].ID != want.ID {
				t.Fatalf("permutation %d: got %v, want [%s]", i, ids(got), want.ID)
			}
		}
	})
	t.Run("replay into the same state raises nothing new", func(t *testing.T) {
		if _, got := run(c, evs); len(got) != 0 {
			t.Fatalf("replay raised %v", ids(got))
		}
	})
	t.Run("replay into fresh state raises the same id", func(t *testing.T) {
		_, got := run(eng.NewCorrelator(CorrelatorConfig{}), evs)
		if len(got) != 1 || got[0].ID != want.ID {
			t.Fatalf("got %v, want [%s]", ids(got), want.ID)
		}
	})
	t.Run("snapshot and restore mid-stream", func(t *testing.T) {
		c1 := eng.NewCorrelator(CorrelatorConfig{})
		_, first := run(c1, evs[:8])
		snap, err := c1.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		c2 := eng.NewCorrelator(CorrelatorConfig{})
		if err := c2.Restore(snap); err != nil {
			t.Fatal(err)
		}
		_, second := run(c2, evs[8:])
		all := append(first, second...)
		if len(all) != 1 || all[0].ID != want.ID {
			t.Fatalf("got %v, want [%s]", ids(all), want.ID)
		}
		// A restored state that already fired does not fire again.
		snap, _ = c2.Snapshot()
		c3 := eng.NewCorrelator(CorrelatorConfig{})
		if err := c3.Restore(snap); err != nil {
			t.Fatal(err)
		}
		if _, again := run(c3, evs); len(again) != 0 {
			t.Fatalf("restored state fired again: %v", ids(again))
		}
	})
	t.Run("success before the failures does not match", func(t *testing.T) {
		var early []stamped
		early = append(early, login("192.0.2.1", "eve", "Success", 0))
		for i := 0; i < 10; i++ {
			early = append(early, login("192.0.2.1", "eve", "Failure", time.Duration(i+1)*time.Second))
		}
		if _, got := run(eng.NewCorrelator(CorrelatorConfig{}), early); len(got) != 0 {
			t.Fatalf("got %v", ids(got))
		}
	})
	t.Run("success outside the window does not match", func(t *testing.T) {
		var late []stamped
		for i := 0; i < 10; i++ {
			late = append(late, login("192.0.2.2", "eve", "Failure", time.Duration(i)*time.Second))
		}
		late = append(late, login("192.0.2.2", "eve", "Success", 20*time.Minute))
		if _, got := run(eng.NewCorrelator(CorrelatorConfig{}), late); len(got) != 0 {
			t.Fatalf("got %v", ids(got))
		}
	})
}

const guardDutyRules = `title: High severity GuardDuty finding
id: gd-high
name: gd_finding
logsource: {product: aws, service: guardduty}
detection:
  sel:
    severity|gte: 7
  condition: sel
---
title: IAM change
id: iam-change
name: iam_change
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventSource: iam.amazonaws.com
    eventName: [CreateAccessKey, AttachUserPolicy, CreateUser, PutUserPolicy]
  condition: sel
---
title: GuardDuty finding followed by IAM changes
id: gd-then-iam
level: critical
correlation:
  type: temporal_ordered
  rules: [gd_finding, iam_change]
  group-by: [principal]
  aliases:
    principal:
      gd_finding: resource.accessKeyDetails.userName
      iam_change: userIdentity.userName
  timespan: 1h
  generate: true
`

func TestScenarioGuardDutyThenIAM(t *testing.T) {
	eng := mustEngine(t, guardDutyRules)
	finding := stamped{ev: map[string]any{
		"type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "severity": 8.0,
		"resource": map[string]any{"accessKeyDetails": map[string]any{"userName": "mallory"}},
	}, at: t0, logType: "guardduty"}
	iam := func(name, user string, at time.Duration) stamped {
		return stamped{ev: map[string]any{
			"eventSource": "iam.amazonaws.com", "eventName": name,
			"userIdentity": map[string]any{"userName": user},
		}, at: t0.Add(at), logType: "cloudtrail"}
	}
	evs := []stamped{
		iam("CreateUser", "mallory", -10*time.Minute), // before the finding
		finding,
		iam("CreateAccessKey", "mallory", 5*time.Minute),
		iam("AttachUserPolicy", "mallory", 6*time.Minute),
		iam("CreateUser", "trent", 7*time.Minute), // another principal
		iam("PutUserPolicy", "mallory", 2*time.Hour),
	}
	ms, cms := run(eng.NewCorrelator(CorrelatorConfig{}), evs)
	if len(cms) != 1 || cms[0].GroupBy["principal"] != "mallory" {
		t.Fatalf("got %v (%+v), want one match for mallory", ids(cms), cms)
	}
	if len(ms) != 6 {
		t.Errorf("generate: true: got %d standalone matches, want 6", len(ms))
	}
	want := cms[0].ID
	// The finding arrives after the IAM changes (delivery lag).
	reordered := []stamped{evs[0], evs[2], evs[3], evs[4], evs[1], evs[5]}
	_, cms = run(eng.NewCorrelator(CorrelatorConfig{}), reordered)
	if len(cms) != 1 || cms[0].ID != want {
		t.Fatalf("out of order: got %v, want [%s]", ids(cms), want)
	}
	// The log type restricts rules: a GuardDuty-shaped event sent as
	// CloudTrail does not start the sequence.
	wrong := finding
	wrong.logType = "cloudtrail"
	_, cms = run(eng.NewCorrelator(CorrelatorConfig{}), []stamped{wrong, evs[2]})
	if len(cms) != 0 {
		t.Fatalf("log type ignored: %v", ids(cms))
	}
}

func TestCorrelationTypes(t *testing.T) {
	base := `title: base
id: base
name: base
detection:
  sel:
    kind: x
  condition: sel
---
title: other
id: other
name: other
detection:
  sel:
    kind: y
  condition: sel
---
`
	ev := func(kind, host, user string, bytes float64, at time.Duration) stamped {
		return stamped{ev: map[string]any{"kind": kind, "host": host, "user": user, "bytes": bytes}, at: t0.Add(at)}
	}
	cases := []struct {
		name   string
		corr   string
		events []stamped
		flush  time.Duration // 0: no flush
		want   int
		value  float64
	}{
		{"event_count", "type: event_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {gte: 3}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, 10*time.Second), ev("x", "g", "a", 0, 11*time.Second), ev("x", "h", "a", 0, 20*time.Second), ev("x", "h", "a", 0, 21*time.Second)}, 0, 1, 3},
		{"event_count outside the window", "type: event_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {gte: 3}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, 50*time.Second), ev("x", "h", "a", 0, 2*time.Minute)}, 0, 0, 0},
		{"event_count without group-by", "type: event_count\n  rules: [base]\n  timespan: 1m\n  condition: {gt: 2}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "g", "a", 0, time.Second), ev("x", "f", "a", 0, 2*time.Second)}, 0, 1, 3},
		{"value_count", "type: value_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {field: user, gte: 3}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, time.Second), ev("x", "h", "b", 0, 2*time.Second), ev("x", "h", "c", 0, 3*time.Second)}, 0, 1, 3},
		{"value_count not reached", "type: value_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {field: user, gte: 3}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, time.Second), ev("x", "h", "b", 0, 2*time.Second)}, 0, 0, 0},
		{"temporal any order", "type: temporal\n  rules: [base, other]\n  group-by: [host]\n  timespan: 1m",
			[]stamped{ev("y", "h", "a", 0, 0), ev("x", "h", "a", 0, 30*time.Second)}, 0, 1, 2},
		{"temporal different groups", "type: temporal\n  rules: [base, other]\n  group-by: [host]\n  timespan: 1m",
			[]stamped{ev("y", "h", "a", 0, 0), ev("x", "g", "a", 0, 30*time.Second)}, 0, 0, 0},
		{"temporal_ordered wrong order", "type: temporal_ordered\n  rules: [base, other]\n  group-by: [host]\n  timespan: 1m",
			[]stamped{ev("y", "h", "a", 0, 0), ev("x", "h", "a", 0, 30*time.Second)}, 0, 0, 0},
		{"temporal_ordered right order, arriving reversed", "type: temporal_ordered\n  rules: [base, other]\n  group-by: [host]\n  timespan: 1m",
			[]stamped{ev("y", "h", "a", 0, 30*time.Second), ev("x", "h", "a", 0, 0)}, 0, 1, 2},
		{"value_sum", "type: value_sum\n  rules: [base]\n  group-by: [user]\n  timespan: 1h\n  condition: {field: bytes, gt: 1000}",
			[]stamped{ev("x", "h", "a", 600, 0), ev("x", "h", "a", 300, time.Minute), ev("x", "h", "a", 200, 2*time.Minute)}, 0, 1, 1100},
		{"value_avg", "type: value_avg\n  rules: [base]\n  group-by: [user]\n  timespan: 1h\n  condition: {field: bytes, gt: 500}",
			[]stamped{ev("x", "h", "a", 100, 0), ev("x", "h", "a", 1000, time.Minute)}, 0, 1, 550},
		{"value_percentile: a rare value", "type: value_percentile\n  rules: [base]\n  group-by: [host]\n  timespan: 1h\n  condition: {field: user, lte: 10}",
			append(repeat(ev("x", "h", "common", 0, 0), 10), ev("x", "h", "rare", 0, time.Minute)), 0, 1, 100.0 / 11},
		{"event_count lt is decided at window close", "type: event_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {lt: 3}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, time.Second)}, 5 * time.Minute, 1, 2},
		{"event_count lt not satisfied", "type: event_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {lt: 2}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, time.Second)}, 5 * time.Minute, 0, 0},
		{"event_count eq closes on a later event", "type: event_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {eq: 2}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, time.Second), ev("x", "h", "a", 0, 3*time.Minute)}, 0, 1, 2},
		{"range gt and lte", "type: event_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {gt: 1, lte: 2}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, time.Second), ev("x", "h", "a", 0, 2*time.Second)}, 5 * time.Minute, 0, 0},
		{"neq", "type: event_count\n  rules: [base]\n  group-by: [host]\n  timespan: 1m\n  condition: {neq: 1}",
			[]stamped{ev("x", "h", "a", 0, 0), ev("x", "h", "a", 0, time.Second)}, 5 * time.Minute, 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eng := mustEngine(t, base+"title: corr\nid: corr\ncorrelation:\n  "+tc.corr+"\n")
			c := eng.NewCorrelator(CorrelatorConfig{})
			_, cms := run(c, tc.events)
			if tc.flush > 0 {
				cms = append(cms, c.Flush(t0.Add(tc.flush))...)
			}
			if len(cms) != tc.want {
				t.Fatalf("got %d matches %+v, want %d", len(cms), cms, tc.want)
			}
			if tc.want > 0 && fmt.Sprintf("%.4f", cms[0].Value) != fmt.Sprintf("%.4f", tc.value) {
				t.Errorf("value %v, want %v", cms[0].Value, tc.value)
			}
		})
	}
}

func repeat(s stamped, n int) []stamped {
	out := make([]stamped, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestLegacyAggregation(t *testing.T) {
	src := `title: Legacy count
id: legacy
level: medium
tags: [attack.discovery]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventName|startswith: List
  timeframe: 10m
  condition: selection | count(eventName) by sourceIPAddress > 2
`
	rules, err := Parse("legacy.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rules); n != 2 || rules[1].Correlation == nil || rules[1].Correlation.Type != ValueCount {
		t.Fatalf("translated into %d rules: %+v", n, rules)
	}
	eng, err := Compile(rules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := eng.NewCorrelator(CorrelatorConfig{})
	var got []CorrelationMatch
	for i, name := range []string{"ListUsers", "ListUsers", "ListRoles", "ListBuckets", "ListKeys"} {
		ms, cms := c.Process(map[string]any{"eventName": name, "sourceIPAddress": "10.0.0.1"}, t0.Add(time.Duration(i)*time.Minute), "cloudtrail")
		if len(ms) != 0 {
			t.Errorf("hidden base rule raised a standalone match")
		}
		got = append(got, cms...)
	}
	if len(got) != 1 || got[0].RuleID != "legacy" || got[0].Value != 3 || got[0].Tags[0] != "attack.discovery" {
		t.Fatalf("got %+v", got)
	}
}

func TestGroupEviction(t *testing.T) {
	eng := mustEngine(t, `title: b
id: b
name: b
detection:
  sel: {kind: x}
  condition: sel
---
title: c
id: c
correlation:
  type: event_count
  rules: [b]
  group-by: [host]
  timespan: 1h
  condition: {gte: 2}
`)
	c := eng.NewCorrelator(CorrelatorConfig{MaxGroups: 2})
	feed := func(host string, at time.Duration) []CorrelationMatch {
		_, cms := c.Process(map[string]any{"kind": "x", "host": host}, t0.Add(at), "")
		return cms
	}
	feed("a", 0)
	feed("b", time.Second)
	feed("c", 2*time.Second) // evicts a, the least recently updated
	if got := feed("a", 3*time.Second); len(got) != 0 {
		t.Fatalf("group a survived eviction: %v", ids(got))
	}
	if got := feed("c", 4*time.Second); len(got) != 1 {
		t.Fatalf("group c: got %v, want one match", ids(got))
	}
	if n := len(c.st[0].groups); n > 2 {
		t.Fatalf("%d groups open, cap is 2", n)
	}
}

func TestLateEventsAreDropped(t *testing.T) {
	eng := mustEngine(t, `title: b
id: b
name: b
detection:
  sel: {kind: x}
  condition: sel
---
title: c
id: c
correlation:
  type: event_count
  rules: [b]
  group-by: [host]
  timespan: 1m
  condition: {gte: 2}
`)
	c := eng.NewCorrelator(CorrelatorConfig{})
	c.Process(map[string]any{"kind": "x", "host": "h"}, t0.Add(10*time.Minute), "")
	// Older than one timespan behind the newest event of the group.
	_, cms := c.Process(map[string]any{"kind": "x", "host": "h"}, t0, "")
	_, cms2 := c.Process(map[string]any{"kind": "x", "host": "h"}, t0.Add(time.Second), "")
	if len(cms)+len(cms2) != 0 {
		t.Fatalf("late events formed a window: %v %v", ids(cms), ids(cms2))
	}
}

// TestKeepBehind interleaves a brute force with the events of another
// source an hour later, as two objects read at once deliver them: by
// default the brute force's group expires between its events (its newest
// event is far behind the correlation's), with KeepBehind it fires.
func TestKeepBehind(t *testing.T) {
	eng := mustEngine(t, bruteForceRules)
	var evs []stamped
	for _, e := range bruteForceEvents()[:10] {
		evs = append(evs, e, login("192.0.2.99", "carol", "Failure", time.Hour+e.at.Sub(t0)))
	}
	evs = append(evs, login("198.51.100.7", "alice", "Success", 2*time.Minute))
	for _, tt := range []struct {
		name string
		keep bool
		want int
	}{
		{name: "expiring", keep: false, want: 0},
		{name: "keeping groups behind", keep: true, want: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := eng.NewCorrelator(CorrelatorConfig{KeepBehind: tt.keep})
			_, cms := run(c, evs)
			n := 0
			for _, m := range cms {
				if m.RuleID == "brute-force-success" {
					n++
				}
			}
			if n != tt.want {
				t.Fatalf("got %v, want %d brute-force-success", ids(cms), tt.want)
			}
		})
	}
}
