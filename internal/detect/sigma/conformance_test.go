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
	"sort"
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
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCorpusMatches(t *testing.T) {
	shared := sharedDir(t)
	rs, errs := LoadDir(filepath.Join(shared, "corpus", "sigma-aws", "rules"))
	for _, err := range errs {
		t.Errorf("load: %v", err)
	}
	eng, err := Compile(rs.Rules, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	det, _ := eng.Rules()
	t.Logf("rules: %d loaded, %d compiled; index %+v", len(rs.Rules), len(det), eng.IndexStats())
	events := loadPantherEvents(t, shared)
	corr := eng.NewCorrelator(CorrelatorConfig{})
	got := map[string]bool{}
	total := 0
	for i, ev := range events {
		ts, _ := time.Parse(time.RFC3339, fmt.Sprint(ev.Log["eventTime"]))
		ms, _ := corr.Process(ev.Log, ts, "cloudtrail")
		for _, m := range ms {
			total++
			got[fmt.Sprintf("%d %s", i+1, m.Rule.Title)] = true
			t.Logf("line %d (%s / %s): %s", i+1, ev.Rule, ev.Name, m.Title)
		}
	}
	t.Logf("%d events, %d matches", len(events), total)
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	_ = strings.Join
}
