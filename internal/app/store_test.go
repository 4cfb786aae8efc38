//go:build cgo

package app

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/demo"
)

// runApp runs Main and returns the exit code, stdout and stderr.
func runApp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestStoreReplayKeepsCount loads the same input into the store twice: the
// second load replaces documents by _id, so the count stays the same.
func TestStoreReplayKeepsCount(t *testing.T) {
	dir := t.TempDir()
	sum, err := demo.Generate(filepath.Join(dir, "src"), demo.Options{Seed: 3, Now: time.Now(), Days: 2, Scale: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	count := func() string {
		code, out, errs := runApp(t, "search", "--data-dir", data, "--all-time", "--count")
		if code != ExitOK {
			t.Fatalf("search: exit %d\n%s", code, errs)
		}
		return strings.TrimSpace(out)
	}
	for i := range 2 {
		code, _, errs := runApp(t, "load", "--quiet", "--sink", "store:"+data, "--dead-letter", filepath.Join(dir, "dl.ndjson"), sum.LogDir)
		if code != ExitOK {
			t.Fatalf("load %d: exit %d\n%s", i+1, code, errs)
		}
		if got, want := count(), strconv.Itoa(sum.Total()); got != want {
			t.Errorf("after load %d: %s documents, want %s", i+1, got, want)
		}
	}
	code, out, errs := runApp(t, "search", "--data-dir", data, "--all-time", "--json", "source.ip:"+sum.Attack.AttackerIP)
	if code != ExitOK || !strings.Contains(out, sum.Attack.AttackerIP) {
		t.Errorf("search for the attacker: exit %d, %d bytes\n%s", code, len(out), errs)
	}
	code, _, errs = runApp(t, "search", "--data-dir", data, "source.ip:[")
	if code != ExitUsage || !strings.Contains(errs, "position") {
		t.Errorf("broken query: exit %d, %q; want a usage error naming the position", code, errs)
	}
}

// TestDemoNoServe runs vigil demo --no-serve and searches for the attack
// story it prints.
func TestDemoNoServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out, errs := runApp(t, "demo", "--no-serve", "--days", "2", "--scale", "0.1", "--data-dir", data)
	if code != ExitOK {
		t.Fatalf("demo: exit %d\n%s%s", code, out, errs)
	}
	var ip string
	for _, line := range strings.Split(out, "\n") {
		if q, ok := strings.CutPrefix(strings.TrimSpace(line), "source.ip:"); ok {
			ip = q
		}
	}
	if ip == "" {
		t.Fatalf("demo printed no source.ip search:\n%s", out)
	}
	code, n, errs := runApp(t, "search", "--data-dir", data, "--since", "2d", "--count", "source.ip:"+ip)
	if code != ExitOK || strings.TrimSpace(n) == "0" {
		t.Errorf("search source.ip:%s: exit %d, count %q\n%s", ip, code, n, errs)
	}
	code, n, errs = runApp(t, "search", "--data-dir", data, "--all-time", "--count", "--type", "alert", `rule.name:"SSH brute force followed by a successful login from the same source"`)
	if code != ExitOK || strings.TrimSpace(n) != "1" {
		t.Errorf("the demo's brute force raised %q alerts (exit %d), want exactly 1\n%s", strings.TrimSpace(n), code, errs)
	}
	code, out, errs = runApp(t, "retention", "--data-dir", data, "--older-than", "1d", "--dry-run")
	if code != ExitOK || !strings.Contains(out, "would delete") {
		t.Errorf("retention dry run: exit %d\n%s%s", code, out, errs)
	}
}
