//go:build cgo

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/demo"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

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
	addr := serverAddr(t, data)
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
	serveExited(t, done, &stderr)
	if !regexp.MustCompile(`(?m)^vigil serve: \d+ files`).MatchString(stderr.String()) || strings.Contains(stderr.String(), "vigil load:") {
		t.Errorf("the summary of serve --watch is not labelled vigil serve:\n%s", stderr.String())
	}
}

// TestServeAcknowledgeKeepsStatus acknowledges an alert in the console
// of vigil serve --watch --rules, then drops a file whose events update
// that alert: the update keeps the status a person set.
func TestServeAcknowledgeKeepsStatus(t *testing.T) {
	dir := t.TempDir()
	data, watch := filepath.Join(dir, "data"), filepath.Join(dir, "watch")
	keyDir := filepath.Join(watch, "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "2026", "01", "05")
	if err := os.MkdirAll(keyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	stop := func(id string, at time.Time) map[string]any {
		return map[string]any{
			"eventVersion": "1.09", "eventID": id, "eventTime": at.UTC().Format(time.RFC3339),
			"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "us-east-1",
			"sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0", "eventType": "AwsApiCall",
			"recipientAccountId": "123456789012",
			"userIdentity": map[string]any{"type": "IAMUser", "userName": "mallory", "accountId": "123456789012",
				"arn": "arn:aws:iam::123456789012:user/mallory", "principalId": "AIDAMALLORY"},
			"requestParameters": map[string]any{"name": "org-trail"},
		}
	}
	drop := func(name string, recs ...map[string]any) {
		t.Helper()
		b, err := json.Marshal(map[string]any{"Records": recs})
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, name)
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(keyDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--watch", watch, "--rules", "../../rules"},
			strings.NewReader(""), io.Discard, &stderr)
	}()
	addr := serverAddr(t, data)
	remote := newRemoteStore(addr, "")
	// alertState waits for the StopLogging alert to reach count n.
	alertState := func(n int) (id, status string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			res, err := remote.Search(ctx, store.SearchRequest{Filter: store.Filter{LogTypes: []string{"alert"}}})
			if err != nil || len(res.Hits) == 0 {
				continue
			}
			var doc struct {
				Alert struct {
					Status string `json:"status"`
					Count  int    `json:"count"`
				} `json:"alert"`
			}
			if err := json.Unmarshal(res.Hits[0].Source, &doc); err == nil && doc.Alert.Count == n {
				return res.Hits[0].ID, doc.Alert.Status
			}
		}
		t.Fatalf("no alert with count %d within 30 s\n%s", n, stderr.String())
		return "", ""
	}
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	drop("123456789012_CloudTrail_us-east-1_20260105T1000Z_a.json", stop("stop-1", t0))
	id, status := alertState(1)
	if status != "open" {
		t.Fatalf("new alert status %q, want open", status)
	}
	resp, err := http.Post(addr+"/api/alerts/"+id+"/status", "application/json", strings.NewReader(`{"status":"acknowledged"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("acknowledging: HTTP %d", resp.StatusCode)
	}
	drop("123456789012_CloudTrail_us-east-1_20260105T1005Z_b.json", stop("stop-2", t0.Add(5*time.Minute)))
	if id2, status := alertState(2); id2 != id || status != "acknowledged" {
		t.Errorf("after an update: alert %s status %q, want %s acknowledged", id2, status, id)
	}
	cancel()
	serveExited(t, done, &stderr)
}

// serverAddr waits for a vigil serve over the data directory to take its
// store and returns the address it serves.
func serverAddr(t *testing.T, data string) string {
	t.Helper()
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, _, addr, _ = storeHolder(data)
	}
	if addr == "" {
		t.Fatal("vigil serve did not take the store within 20 s")
	}
	return addr
}

// serveExited waits for a vigil serve whose context ended to exit cleanly.
func serveExited(t *testing.T, done <-chan int, stderr *bytes.Buffer) {
	t.Helper()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("serve: exit %d\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of its context")
	}
}
