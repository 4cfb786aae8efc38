package alert

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// referenceJSON is the alert document as encoding/json writes it from
// the document's struct: what AppendJSON must write byte for byte.
func referenceJSON(a *Alert) ([]byte, error) {
	j := jsonAlert{
		Timestamp: a.FirstSeen.UTC(),
		Event:     jsonEvent{Kind: "alert", Severity: Severity(a.Level), Start: a.FirstSeen.UTC(), End: a.LastSeen.UTC()},
		Rule:      jsonRule{ID: a.RuleID, Name: a.RuleTitle, Ruleset: "sigma"},
		Tags:      a.Tags,
		Alert: jsonDetail{
			ID: a.ID, Status: a.Status, Level: a.Level, Count: a.Count,
			FirstSeen: a.FirstSeen.UTC(), LastSeen: a.LastSeen.UTC(),
			WindowStart: a.WindowStart.UTC(), WindowEnd: a.WindowEnd.UTC(),
			DedupKey: a.DedupKey, Correlation: a.Correlation,
			GroupBy: a.GroupBy, KeyFields: a.KeyFields,
			DocIDs: a.DocIDs, DocIDsDropped: a.DocIDsDropped,
			Groups: a.Threat.Groups, Software: a.Threat.Software,
		},
	}
	if j.Alert.DocIDs == nil {
		j.Alert.DocIDs = []string{}
	}
	t := a.Threat
	if len(t.TacticIDs)+len(t.TacticNames)+len(t.TechniqueIDs)+len(t.SubtechniqueIDs) > 0 {
		j.Threat = &jsonThrt{
			Framework: "MITRE ATT&CK",
			Tactic:    jsonIDName{ID: t.TacticIDs, Name: t.TacticNames},
			Technique: jsonTech{ID: t.TechniqueIDs, Subtechnique: jsonIDName{ID: t.SubtechniqueIDs}},
		}
	}
	return json.Marshal(j)
}

// encodeStrings are texts whose escaping must follow encoding/json's.
var encodeStrings = []string{
	"", "plain", `q"uote`, `back\slash`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f",
	"é ü 日本", "\u2028\u2029", "bad\xff\xfeutf8", "\xed\xa0\x80", "mixed \x80<\u2028>", "emoji 😀",
}

// randomAlert builds an alert whose fields are drawn from encodeStrings
// and from empty, nil and set values.
func randomAlert(r *rand.Rand) *Alert {
	str := func() string { return encodeStrings[r.IntN(len(encodeStrings))] }
	strs := func() []string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+r.IntN(3))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	smap := func() map[string]string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return map[string]string{}
		}
		m := map[string]string{}
		for range 1 + r.IntN(4) {
			m[str()] = str()
		}
		return m
	}
	tm := func() time.Time {
		t := time.Unix(r.Int64N(4e9), r.Int64N(1e9))
		if r.IntN(2) == 0 {
			t = t.In(time.FixedZone("x", 3600*r.IntN(10)))
		}
		return t
	}
	return &Alert{
		ID: str(), RuleID: str(), RuleTitle: str(), Level: []string{"", "low", "medium", "high", "critical", "HIGH", str()}[r.IntN(7)],
		Tags: strs(),
		Threat: Threat{TacticIDs: strs(), TacticNames: strs(), TechniqueIDs: strs(), SubtechniqueIDs: strs(),
			Groups: strs(), Software: strs()},
		Correlation: r.IntN(2) == 0, DedupKey: str(), GroupBy: smap(), KeyFields: smap(),
		DocIDs: strs(), DocIDsDropped: r.IntN(3) - 1,
		FirstSeen: tm(), LastSeen: tm(), WindowStart: tm(), WindowEnd: tm(),
		Count: r.IntN(1000) - 1, Status: Status(str()),
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 5000; i++ {
		a := randomAlert(r)
		want, werr := referenceJSON(a)
		got, gerr := a.AppendJSON([]byte("prefix"))
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("alert %+v: error %v, encoding/json's %v", a, gerr, werr)
		}
		if werr != nil {
			continue
		}
		if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
			t.Fatalf("alert %+v:\ngot  %s\nwant %s", a, got[6:], want)
		}
	}
}

func TestAppendJSONTimeOutOfRange(t *testing.T) {
	a := &Alert{ID: "x", FirstSeen: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := referenceJSON(a); err == nil {
		t.Fatal("encoding/json accepts the year 10000")
	}
	out, err := a.AppendJSON([]byte("keep"))
	if err == nil || string(out) != "keep" {
		t.Fatalf("AppendJSON = %q, %v; want the input back and an error", out, err)
	}
	if _, err := json.Marshal(a); err == nil {
		t.Fatal("json.Marshal of the alert did not fail")
	}
}

// FuzzAppendJSON checks AppendJSON against encoding/json on arbitrary
// texts.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range encodeStrings {
		f.Add(s, s, int64(0))
	}
	f.Fuzz(func(t *testing.T, s1, s2 string, sec int64) {
		tm := time.Unix(sec%(1<<40), 0)
		a := &Alert{ID: s1, RuleID: s2, RuleTitle: s1 + s2, Level: s2, Tags: []string{s1, s2},
			Threat:   Threat{TacticNames: []string{s1}, SubtechniqueIDs: []string{s2}, Software: []string{s1}},
			DedupKey: s2, KeyFields: map[string]string{s1: s2, s2: s1}, DocIDs: []string{s1},
			FirstSeen: tm, LastSeen: tm, WindowStart: tm, WindowEnd: tm, Status: Status(s1)}
		want, werr := referenceJSON(a)
		got, gerr := a.AppendJSON(nil)
		if (werr != nil) != (gerr != nil) || (werr == nil && !bytes.Equal(got, want)) {
			t.Fatalf("got %s (%v)\nwant %s (%v)", got, gerr, want, werr)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	a := randomAlert(rand.New(rand.NewPCG(1, 1)))
	a.DocIDs = make([]string, 20)
	for i := range a.DocIDs {
		a.DocIDs[i] = "3c1f7a0e-6d2b-4c1e-9a55-0f4b2e8d1c7a"
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = a.AppendJSON(buf[:0])
	}
}
