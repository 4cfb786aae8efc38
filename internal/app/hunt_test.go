//go:build cgo

package app

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/store"
)

// huntRule matches every finding gdFinding makes.
const huntRule = `title: Port probe
id: r-probe
logsource: {product: aws, service: guardduty}
detection:
  sel: {type: Recon:EC2/PortProbeUnprotectedPort}
  condition: sel
`

// TestHuntThroughServe runs vigil hunt on a store, then again while vigil
// serve (with a token) holds it: found by the lock or named by --serve,
// the server answers with the same matches; a wrong token says which
// variable to set.
func TestHuntThroughServe(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	root := writeBucket(t, map[string][]byte{gdPrefix + "findings.jsonl": []byte(strings.Join([]string{
		gdFinding(1), gdFinding(2), gdFinding(3), gdFinding(4), gdFinding(5)}, "\n") + "\n")})
	if code, _, stderr := runApp(t, "load", "--sink", "store:"+data, "--dead-letter", filepath.Join(dir, "dl.ndjson"), root); code != ExitOK {
		t.Fatalf("load: exit %d\n%s", code, stderr)
	}
	rule := filepath.Join(writeFiles(t, map[string]string{"probe.yml": huntRule}), "probe.yml")
	hunt := []string{"hunt", "--data-dir", data, "--since", "2024-01-01", "--until", "2024-01-03", "--json", rule}
	code, want, stderr := runApp(t, hunt...)
	if code != ExitOK || strings.Count(want, "\n") != 5 {
		t.Fatalf("hunt over the store: exit %d, %d matches, want 5\n%s%s", code, strings.Count(want, "\n"), want, stderr)
	}

	const token = "0123456789abcdef0123"
	t.Setenv(envAuthToken, token)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var serveErr bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--auth-token", token},
			strings.NewReader(""), &bytes.Buffer{}, &serveErr)
	}()
	addr := serverAddr(t, data)
	if _, err := openStore(ctx, data, true, "", nil); err == nil || !strings.Contains(err.Error(), store.ErrLocked.Error()) {
		t.Fatalf("the served store opened: %v; the test needs it locked", err)
	}
	tests := []struct {
		name    string
		args    []string
		token   string
		code    int
		wantErr string
	}{
		{name: "found by the lock", args: hunt, token: token},
		{name: "named by --serve", args: append([]string{"hunt", "--serve", addr}, hunt[1:]...), token: token},
		{name: "--serve without scheme", args: append([]string{"hunt", "--serve", strings.TrimPrefix(addr, "http://")}, hunt[1:]...), token: token},
		{name: "wrong token", args: hunt, token: "nope", code: ExitFailure, wantErr: "set " + envAuthToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envAuthToken, tc.token)
			code, out, stderr := runApp(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if tc.code == ExitOK && out != want {
				t.Errorf("matches through the server:\n%s\nwant:\n%s", out, want)
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.wantErr, stderr)
			}
		})
	}
	cancel()
	serveExited(t, done, &serveErr)
}
