//go:build cgo

package app

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/demo"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
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

// TestServeWatch runs vigil serve --watch: a file dropped into the watched
// directory becomes searchable through the running server, and the server
// stops cleanly with its context.
func TestServeWatch(t *testing.T) {
	dir := t.TempDir()
	sum, err := demo.Generate(filepath.Join(dir, "src"), demo.Options{Seed: 5, Now: time.Now(), Days: 2, Scale: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	data, watch := filepath.Join(dir, "data"), filepath.Join(dir, "watch")
	if err := os.MkdirAll(watch, 0o755); err != nil {
		t.Fatal(err)
	}
	osrv := opensearchtest.New(t, opensearchtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stdout, stderr bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--watch", watch, "--rules", "../../rules"},
			strings.NewReader(""), &stdout, &stderr)
	}()
	osDone := make(chan int, 1)
	var osErr bytes.Buffer
	go func() {
		osDone <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data2"), "--watch", watch, "--sink", "opensearch:" + osrv.URL()},
			strings.NewReader(""), io.Discard, &osErr)
	}()
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, _, addr, _ = storeHolder(data)
	}
	if addr == "" {
		t.Fatal("vigil serve did not take the store within 20 s")
	}
	// The demo's log bucket, moved into the watched directory.
	if err := os.Rename(sum.LogDir, filepath.Join(watch, filepath.Base(sum.LogDir))); err != nil {
		t.Fatal(err)
	}
	remote := newRemoteStore(addr, "")
	var n int64
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		res, err := remote.Aggregate(ctx, store.AggRequest{Kind: store.AggCount, Filter: store.Filter{LogTypes: demo.Types}})
		if err == nil && int64(res.Value) == int64(sum.Total()) {
			n = int64(res.Value)
			break
		}
	}
	if n != int64(sum.Total()) {
		t.Errorf("the server holds %d documents of the watched files, want %d", n, sum.Total())
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && osrv.Count() < sum.Total(); time.Sleep(200 * time.Millisecond) {
	}
	if osrv.Count() != sum.Total() {
		t.Errorf("serve --sink opensearch: %d documents in OpenSearch, want %d", osrv.Count(), sum.Total())
	}
	cancel()
	if code := <-osDone; code != ExitOK {
		t.Errorf("serve --sink opensearch: exit %d\n%s", code, osErr.String())
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("serve: exit %d\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of its context")
	}
}
