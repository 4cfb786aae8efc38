package sigma

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse parses, compiles and evaluates arbitrary rule YAML; it must
// never panic. Seeds are the rules in testdata/rules.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "rules", "*.yml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed rules in testdata/rules: %v", err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	ev := map[string]any{
		"eventName": "ConsoleLogin", "sourceIPAddress": "10.1.2.3", "port": 2048.0,
		"userIdentity":     map[string]any{"type": "Root", "arn": "arn:aws:iam::1:root"},
		"responseElements": map[string]any{"ConsoleLogin": "Success"},
		"message":          "Failed password for invalid user bob", "tags": []any{"a", 1.0, nil, map[string]any{"k": "v"}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, _ := Parse("fuzz.yml", data)
		eng, _ := Compile(rules, Options{MissingPlaceholders: PlaceholderWildcard})
		if eng == nil {
			t.Fatal("Compile returned a nil engine")
		}
		eng.Match(ev, "")
		c := eng.NewCorrelator(CorrelatorConfig{MaxGroups: 4, MaxEventsPerGroup: 8})
		for i := 0; i < 3; i++ {
			c.Process(ev, time.Unix(int64(i), 0), "cloudtrail")
		}
		c.Flush(time.Unix(1e6, 0))
		snap, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Restore(snap); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzCondition parses arbitrary condition expressions; it must never
// panic, and a condition that parses must print and parse again.
func FuzzCondition(f *testing.F) {
	fh, err := os.Open(filepath.Join("testdata", "conditions", "seeds.txt"))
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(sc.Text())
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseCondition(s)
		if err != nil {
			return
		}
		if _, err := parseCondition(n.condString()); err != nil {
			t.Fatalf("%q parsed, but its rendering %q does not: %v", s, n.condString(), err)
		}
		parseAggregation(s)
	})
}

func TestSeedRulesCompile(t *testing.T) {
	rs, errs := LoadDir(filepath.Join("testdata", "rules"))
	for _, err := range errs {
		t.Error(err)
	}
	if _, err := Compile(rs.Rules, Options{}); err != nil {
		t.Fatal(err)
	}
}
