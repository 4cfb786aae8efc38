package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

// runSetupCmd runs one command function with the cluster environment
// cleared, and returns its exit code, stdout and stderr.
func runSetupCmd(t *testing.T, run func(context.Context, *Env, []string) int, args ...string) (int, string, string) {
	t.Helper()
	for _, k := range []string{"ENDPOINT", "OPENSEARCH_USERNAME", "OPENSEARCH_PASSWORD", "OPENSEARCH_AWS_SERVICE", EnvDashboardsURL} {
		t.Setenv(k, "")
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func TestSetupUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "no target", args: nil, code: ExitUsage, want: "what to set up?"},
		{name: "unknown target", args: []string{"elastic"}, code: ExitUsage, want: `unknown target "elastic"`},
		{name: "no cluster", args: []string{"opensearch"}, code: ExitUsage, want: "give --opensearch URL or set ENDPOINT"},
		{name: "bad retention", args: []string{"opensearch", "--opensearch", "http://127.0.0.1:1", "--retention-days", "-2"}, code: ExitUsage, want: "--retention-days must not be negative"},
		{name: "bad rollover", args: []string{"opensearch", "--opensearch", "http://127.0.0.1:1", "--rollover-size", "big"}, code: ExitUsage, want: `rollover size "big"`},
		{name: "extra argument", args: []string{"opensearch", "now", "--opensearch", "http://127.0.0.1:1"}, code: ExitUsage, want: `unexpected argument "now"`},
		{name: "help", args: []string{"--help"}, code: ExitOK},
		{name: "help of target", args: []string{"opensearch", "--help"}, code: ExitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runSetupCmd(t, runSetup, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tc.code, tc.want)
			}
			if tc.code == ExitOK && !strings.Contains(out, "usage: vigil setup opensearch") {
				t.Errorf("help output: %q", out)
			}
		})
	}
}

func TestSetupTwice(t *testing.T) {
	s := opensearchtest.New(t, opensearchtest.Options{})
	ini := filepath.Join(t.TempDir(), "user.ini")
	if err := os.WriteFile(ini, []byte("[cloudtrail]\nindex_rotation = auto\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"opensearch", "--opensearch", s.URL(), "--config", ini, "--retention-days", "90"}
	code, out, errs := runSetupCmd(t, runSetup, args...)
	if code != ExitOK {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "index template vigil-log-aws-cloudtrail: created\n") || !strings.Contains(out, "write alias log-aws-cloudtrail: created") {
		t.Errorf("first run output:\n%s", out)
	}
	s.ResetLog()
	code, out, errs = runSetupCmd(t, runSetup, args...)
	if code != ExitOK {
		t.Fatalf("second run: exit %d\n%s", code, errs)
	}
	if w := s.WriteRequests(); len(w) != 0 {
		t.Errorf("second run sent %d writes, first %s %s", len(w), w[0].Method, w[0].Path)
	}
	if !strings.HasSuffix(out, "objects, all up to date\n") {
		t.Errorf("second run output:\n%s", out)
	}
}

func TestSetupExportOnly(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runSetupCmd(t, runSetup, "opensearch", "--export", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, f := range []string{"component_templates/vigil-ecs.json", "index_templates/vigil-log-aws-cloudtrail.json", "dashboards.ndjson"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("export lacks %s: %v", f, err)
		}
	}
}

func TestSetupUnreachableClusterFails(t *testing.T) {
	code, out, errs := runSetupCmd(t, runSetup, "opensearch", "--opensearch", "http://127.0.0.1:1")
	t.Logf("stdout:\n%sstderr:\n%s", out, errs)
	if code != ExitFailure || !strings.Contains(out, "component template vigil-ecs: failed") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestRetentionCommand(t *testing.T) {
	s := opensearchtest.New(t, opensearchtest.Options{})
	for _, n := range []string{"log-aws-cloudtrail-2001-01", "log-aws-cloudtrail-2999-01", "log-aws-cloudtrail-000001"} {
		s.CreateIndex(n)
	}
	code, out, errs := runSetupCmd(t, runRetention, "--older-than", "90d", "--opensearch", s.URL(), "--dry-run")
	if code != ExitOK || !strings.Contains(out, "index log-aws-cloudtrail-2001-01: would be deleted") || len(s.Indices()) != 3 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runSetupCmd(t, runRetention, "--opensearch", s.URL(), "--older-than", "90d")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if want := []string{"log-aws-cloudtrail-000001", "log-aws-cloudtrail-2999-01"}; !slices.Equal(s.Indices(), want) {
		t.Errorf("indices left %v, want %v", s.Indices(), want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--opensearch", s.URL()}, "--older-than is required"},
		{[]string{"--older-than", "soon", "--opensearch", s.URL()}, `age "soon"`},
	} {
		code, _, errs := runSetupCmd(t, runRetention, tc.args...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want usage error %q", tc.args, code, errs, tc.want)
		}
	}
}
