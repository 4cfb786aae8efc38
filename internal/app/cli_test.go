package app

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/web"
)

// runApp runs Main and returns the exit code, stdout and stderr.
func runApp(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestCommandUsageErrors checks that commands reject bad flags before
// touching the store, with a message naming the flag, and exit 2.
func TestCommandUsageErrors(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{name: "search unknown type", args: []string{"search", "--data-dir", data, "--type", "nosuch", "x"},
			wantStderr: []string{`vigil search: --type "nosuch": unknown log type`, "cloudtrail", "alert"}},
		{name: "search second type unknown", args: []string{"search", "--data-dir", data, "--type", "cloudtrail", "--type", "nosuch", "x"},
			wantStderr: []string{`--type "nosuch": unknown log type`}},
		{name: "serve short token", args: []string{"serve", "--data-dir", data, "--addr", "127.0.0.1:0", "--auth-token", "short"},
			wantStderr: []string{"vigil serve: --auth-token (or VIGIL_AUTH_TOKEN) is 5 characters", "at least 16"}},
		{name: "serve missing watch dir", args: []string{"serve", "--data-dir", data, "--addr", "127.0.0.1:0", "--watch", filepath.Join(data, "nosuch")},
			wantStderr: []string{"vigil serve: --watch " + filepath.Join(data, "nosuch") + ": no such file or directory"}},
		{name: "retention unknown type", args: []string{"retention", "--data-dir", data, "--older-than", "1d", "--type", "nosuch"},
			wantStderr: []string{`vigil retention: --type "nosuch": unknown log type`, "cloudtrail"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runApp(t, tc.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d\n%s", code, ExitUsage, stderr)
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr does not contain %q:\n%s", s, stderr)
				}
			}
		})
	}
}

// TestSearchKnownTypes checks that search accepts the alert type and the
// types of a --config file: they pass the type check (the missing store
// then fails the search, which is not a usage error).
func TestSearchKnownTypes(t *testing.T) {
	dir := writeFiles(t, map[string]string{"user.ini": "[mytype]\nindex_name = log-mytype\ns3_key = mytype/\nfile_format = text\n"})
	ini := filepath.Join(dir, "user.ini")
	tests := []struct {
		name string
		args []string
	}{
		{name: "alert", args: []string{"--type", "alert"}},
		{name: "built-in", args: []string{"--type", "cloudtrail"}},
		{name: "user.ini type", args: []string{"--config", ini, "--type", "mytype"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"search", "--data-dir", filepath.Join(dir, "nodata")}, tc.args...)
			code, _, stderr := runApp(t, append(args, "x")...)
			if code == ExitUsage || strings.Contains(stderr, "unknown log type") {
				t.Errorf("exit %d, want the type accepted:\n%s", code, stderr)
			}
		})
	}
}

// TestAuthTokenLength checks that serve's own token check agrees with the
// web server's: the shortest token it lets through is accepted there.
func TestAuthTokenLength(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		wantErr bool
	}{
		{name: "none", token: ""},
		{name: "one short", token: strings.Repeat("x", web.MinTokenLen-1), wantErr: true},
		{name: "shortest", token: strings.Repeat("x", web.MinTokenLen)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := serveOptions{addr: "127.0.0.1:0", authToken: tc.token}
			_, err := o.webOptions()
			if (err != nil) != tc.wantErr {
				t.Fatalf("webOptions: %v, want error %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "AuthToken") {
				t.Errorf("the message names the Go field, not the flag: %v", err)
			}
		})
	}
}

// TestGeoIPDir checks that a VIGIL_GEOIP_DIR that is set but gives no
// database stops the command with a message naming it, while an unset one
// leaves GeoIP off quietly.
func TestGeoIPDir(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nosuch")
	withCity := writeFiles(t, map[string]string{geoipCityDB: "not read by the check"})
	tests := []struct {
		name      string
		env       string
		city, asn string // flag values; "default" takes the one from the directory
		wantErr   string
	}{
		{name: "unset", env: ""},
		{name: "missing directory", env: missing, wantErr: envGeoIPDir + "=" + missing + ": reading the GeoIP directory"},
		{name: "empty directory", env: dir, wantErr: "holds neither " + geoipCityDB + " nor " + geoipASNDB},
		{name: "one database", env: withCity},
		{name: "both flags given", env: missing, city: "/x/city.mmdb", asn: "/x/asn.mmdb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envGeoIPDir, tc.env)
			city, asn := tc.city, tc.asn
			if city == "" {
				city = geoipDefault(geoipCityDB)
			}
			if asn == "" {
				asn = geoipDefault(geoipASNDB)
			}
			err := checkGeoIPDir(city, asn)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("checkGeoIPDir: %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("checkGeoIPDir: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	t.Run("load and serve stop", func(t *testing.T) {
		t.Setenv(envGeoIPDir, missing)
		watch := t.TempDir()
		for _, args := range [][]string{
			{"load", "--sink", "ndjson:" + filepath.Join(dir, "out.ndjson"), watch},
			{"serve", "--data-dir", filepath.Join(dir, "data"), "--addr", "127.0.0.1:0", "--watch", watch},
		} {
			code, _, stderr := runApp(t, args...)
			if code != ExitUsage || !strings.Contains(stderr, "vigil "+args[0]+": "+envGeoIPDir+"="+missing) {
				t.Errorf("%s: exit %d, want %d and a message naming %s:\n%s", args[0], code, ExitUsage, envGeoIPDir, stderr)
			}
		}
	})
}
