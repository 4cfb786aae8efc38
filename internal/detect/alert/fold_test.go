package alert

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestFoldMatchesProcess runs one random stream of matches through
// Process and through Fold on two processors and expects the same
// results and alert states (dedup fields, group-by keys, suppressions,
// window ends, evictions).
func TestFoldMatchesProcess(t *testing.T) {
	cfg := func() Config {
		return Config{
			MaxOpen:   15,
			MaxDocIDs: 5,
			Rules: map[string]RuleConfig{
				"dedup": {DedupFields: []string{"user.name", "source.ip", "user.name"}, DedupWindow: 10 * time.Minute},
				"muted": {Suppressions: []Suppression{{Fields: map[string]string{"source.ip": "10.0.0.1"}, Start: t0, Duration: time.Hour}}},
			},
			Suppressions: []Suppression{{RuleID: "keyed", Fields: map[string]string{"user.name": "root"}, Start: t0.Add(time.Hour), Duration: time.Hour}},
		}
	}
	pp, pf := newProc(t, cfg()), newProc(t, cfg())
	r := rand.New(rand.NewPCG(9, 10))
	rules := []string{"dedup", "muted", "keyed", "plain", "corr"}
	var refs []Ref
	var copies []*Alert
	for i := 0; i < 5000; i++ {
		rule := rules[r.IntN(len(rules))]
		m := Match{RuleID: rule, Title: "t " + rule, Level: "high", Tags: []string{"attack.t1078"},
			Time: t0.Add(time.Duration(2*i-r.IntN(900)) * time.Second), DocIDs: []string{fmt.Sprint("d", i)}}
		switch rule {
		case "corr":
			m.GroupBy = map[string]string{"source.ip": fmt.Sprint("10.0.0.", r.IntN(3)), "user.name": fmt.Sprint("u", r.IntN(2))}
			m.Count, m.Correlation = 1+r.IntN(5), true
		case "plain":
		default:
			m.KeyFields = []string{"source.ip"}
			m.Fields = map[string]string{"source.ip": fmt.Sprint("10.0.0.", r.IntN(4))}
			if r.IntN(2) == 0 {
				m.Fields["user.name"] = []string{"root", "bob"}[r.IntN(2)]
			}
		}
		want := pp.Process(m)
		ref, got := pf.Fold(&m)
		if got.Alert != nil || got.New != want.New || got.Late != want.Late || got.Suppressed != want.Suppressed || got.Reason != want.Reason {
			t.Fatalf("match %d: Fold result %+v, Process %+v", i, got, want)
		}
		if ref.IsZero() != (want.Alert == nil) {
			t.Fatalf("match %d: Fold ref %v, Process alert %v", i, ref, want.Alert)
		}
		if c := pf.Copy(ref); !reflect.DeepEqual(c, want.Alert) {
			t.Fatalf("match %d: Fold state\n%+v\nProcess state\n%+v", i, c, want.Alert)
		}
		if !ref.IsZero() {
			refs = append(refs, ref)
			copies = append(copies, want.Alert)
		}
	}
	if s1, s2 := pp.Stats(), pf.Stats(); s1 != s2 || s1.Evicted == 0 || s1.Expired == 0 || s1.Suppressed == 0 {
		t.Fatalf("stats: Process %+v, Fold %+v (want evictions, expiries and suppressions)", s1, s2)
	}
	// A ref stays readable after its alert left the state.
	n := 0
	pf.Read(refs[:10], func(a *Alert) {
		if a.ID != copies[n].ID {
			t.Errorf("Read %d: alert %s, want %s", n, a.ID, copies[n].ID)
		}
		n++
	})
	if n != 10 {
		t.Fatalf("Read called back %d times, want 10", n)
	}
}

func BenchmarkFold(b *testing.B) {
	p := newProc(b, Config{})
	ms := make([]Match, 1024)
	for i := range ms {
		ms[i] = match("r", time.Duration(i)*time.Second, "d", map[string]string{"source.ip": fmt.Sprintf("10.0.0.%d", i%50)})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Fold(&ms[i%len(ms)])
	}
}
