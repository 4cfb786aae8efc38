package opensearch

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Config
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "empty", in: Config{}, wantErr: "empty"},
		{name: "bare host is https", in: Config{URL: "search-x.us-east-1.es.amazonaws.com"}, check: func(t *testing.T, c Config) {
			if c.URL != "https://search-x.us-east-1.es.amazonaws.com" || c.AWSService != ServiceES || c.AWSRegion != "us-east-1" {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "aoss host", in: Config{URL: "https://abc.eu-west-1.aoss.amazonaws.com/"}, check: func(t *testing.T, c Config) {
			if !c.Serverless() || c.AWSRegion != "eu-west-1" || c.URL != "https://abc.eu-west-1.aoss.amazonaws.com" {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "local host signs nothing", in: Config{URL: "http://127.0.0.1:9200"}, check: func(t *testing.T, c Config) {
			if c.SigV4() || c.Timeout != DefaultTimeout {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "credentials in URL move out", in: Config{URL: "https://admin:s3cret@localhost:9200"}, check: func(t *testing.T, c Config) {
			if c.Username != "admin" || c.Password != "s3cret" || strings.Contains(c.URL, "s3cret") {
				t.Errorf("got %+v", c)
			}
			if strings.Contains(c.String(), "s3cret") {
				t.Errorf("String() shows the password: %s", c)
			}
		}},
		{name: "basic auth on an AWS host turns SigV4 off", in: Config{URL: "https://search-x.us-east-1.es.amazonaws.com", Username: "u", Password: "p"}, check: func(t *testing.T, c Config) {
			if c.SigV4() {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "basic auth and forced SigV4", in: Config{URL: "https://h", Username: "u", AWSService: "es"}, wantErr: "use one"},
		{name: "bad service", in: Config{URL: "https://h", AWSService: "s3"}, wantErr: `service "s3"`},
		{name: "bad scheme", in: Config{URL: "ftp://h"}, wantErr: "scheme"},
		{name: "bad port", in: Config{URL: "http://h:99999"}, wantErr: "port"},
		{name: "query", in: Config{URL: "http://h/?x=1"}, wantErr: "query"},
		{name: "password without user", in: Config{URL: "http://h", Password: "p"}, wantErr: "password without"},
		{name: "bad region", in: Config{URL: "http://h", AWSService: "es", AWSRegion: "US EAST"}, wantErr: "region"},
		{name: "negative timeout", in: Config{URL: "http://h", Timeout: -1}, wantErr: "timeout"},
		{name: "missing CA file", in: Config{URL: "https://h", CACertFile: "/nonexistent/ca.pem"}, wantErr: "CA certificate"},
		{name: "unparsable URL with password", in: Config{URL: "http://u:s3cret@h:port%"}, wantErr: "xxxxx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in
			err := c.Validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		EnvEndpoint: "search-d.ap-northeast-1.es.amazonaws.com", EnvInsecure: "true",
		EnvCACert: "/ca.pem", EnvAWSDefaultRegion: "us-west-2",
	}
	c := FromEnv("", func(k string) string { return env[k] })
	if c.URL != env[EnvEndpoint] || !c.InsecureSkipVerify || c.CACertFile != "/ca.pem" || c.AWSRegion != "us-west-2" {
		t.Errorf("got %+v", c)
	}
	if c := FromEnv("http://x:9200", func(k string) string { return env[k] }); c.URL != "http://x:9200" {
		t.Errorf("flag URL lost: %+v", c)
	}
}

// TestFromEnvInsecure checks that OPENSEARCH_INSECURE_SKIP_VERIFY takes
// the boolean spellings and that any other value is reported by Validate,
// naming the variable, instead of being ignored.
func TestFromEnvInsecure(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
		wantErr     bool
	}{
		{name: "unset", value: ""},
		{name: "true", value: "true", want: true},
		{name: "one", value: "1", want: true},
		{name: "false", value: "false"},
		{name: "yes", value: "yes", wantErr: true},
		{name: "on", value: "on", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{EnvEndpoint: "http://localhost:9200", EnvInsecure: tc.value}
			c := FromEnv("", func(k string) string { return env[k] })
			err := c.Validate()
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), EnvInsecure) || !strings.Contains(err.Error(), "true or false") {
					t.Fatalf("Validate: %v, want an error naming %s and the accepted values", err, EnvInsecure)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if c.InsecureSkipVerify != tc.want {
				t.Errorf("InsecureSkipVerify %v, want %v", c.InsecureSkipVerify, tc.want)
			}
		})
	}
}

func TestDo(t *testing.T) {
	s := opensearchtest.New(t, opensearchtest.Options{BasicAuth: "admin:s3cret"})
	ctx := context.Background()
	c, err := New(ctx, Config{URL: s.URL(), Username: "admin", Password: "s3cret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var info struct {
		Version struct {
			Distribution string `json:"distribution"`
		} `json:"version"`
	}
	if err := c.DoJSON(ctx, "GET", "/", nil, &info); err != nil || info.Version.Distribution != "opensearch" {
		t.Fatalf("GET /: %v %+v", err, info)
	}
	err = c.DoJSON(ctx, "GET", "/_index_template/missing", nil, nil)
	var se *StatusError
	if !errors.As(err, &se) || !errors.Is(err, ErrNotFound) || se.Type != "resource_not_found_exception" {
		t.Errorf("missing template: %v", err)
	}
	if err := c.DoJSON(ctx, "PUT", "/idx", map[string]any{"settings": map[string]any{"number_of_shards": 1}}, nil); err != nil {
		t.Errorf("PUT index: %v", err)
	}
	res, err := c.Do(ctx, "POST", "/_bulk", strings.NewReader("{\"index\":{\"_index\":\"idx\",\"_id\":\"1\"}}\n{}\n"),
		http.Header{"Content-Type": {"application/x-ndjson"}})
	if err != nil || res.Err() != nil || res.StatusCode != 200 {
		t.Fatalf("bulk: %v %v", err, res)
	}
	if len(s.Docs("idx")) != 1 {
		t.Error("document not stored")
	}

	bad, err := New(ctx, Config{URL: s.URL(), Username: "admin", Password: "wrong-s3cret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	err = bad.DoJSON(ctx, "GET", "/", nil, nil)
	if !errors.As(err, &se) || se.StatusCode != 401 || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestTransportErrors(t *testing.T) {
	s := opensearchtest.New(t, opensearchtest.Options{Faults: opensearchtest.Faults{Latency: 300 * time.Millisecond}})
	ctx := context.Background()
	c, err := New(ctx, Config{URL: s.URL(), Timeout: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Do(ctx, "GET", "/_cat/indices", nil, nil)
	var te *TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	s.SetFaults(opensearchtest.Faults{ResetRate: 1})
	c2, err := New(ctx, Config{URL: s.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err = c2.Do(ctx, "POST", "/_bulk", strings.NewReader("x\n"), nil); !errors.As(err, &te) {
		t.Errorf("reset: %v", err)
	}
}

func TestTLS(t *testing.T) {
	s := opensearchtest.New(t, opensearchtest.Options{TLS: true})
	ctx := context.Background()
	// Verification is on by default: a self-signed certificate fails.
	c, err := New(ctx, Config{URL: s.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.DoJSON(ctx, "GET", "/", nil, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("self-signed certificate accepted: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, s.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	c2, err := New(ctx, Config{URL: s.URL(), CACertFile: ca}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.DoJSON(ctx, "GET", "/", nil, nil); err != nil {
		t.Errorf("with the CA file: %v", err)
	}
	c3, err := New(ctx, Config{URL: s.URL(), InsecureSkipVerify: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := c3.DoJSON(ctx, "GET", "/", nil, nil); err != nil {
		t.Errorf("insecure: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("nothing"), 0o600)
	if _, err := New(ctx, Config{URL: s.URL(), CACertFile: notPEM}, nil); err == nil {
		t.Error("a CA file without PEM accepted")
	}
}

func TestSigV4(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	s := opensearchtest.New(t, opensearchtest.Options{})
	ctx := context.Background()
	for _, svc := range []string{ServiceES, ServiceAOSS} {
		c, err := New(ctx, Config{URL: s.URL(), AWSService: svc, AWSRegion: "eu-central-1"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Do(ctx, "PUT", "/_component_template/x", strings.NewReader(`{"template":{}}`), nil); err != nil {
			t.Fatal(err)
		}
		c.Close()
		reqs := s.Requests()
		h := reqs[len(reqs)-1].Header
		if h.Get("X-Amz-Date") == "" || h.Get("X-Amz-Content-Sha256") == "" ||
			!strings.Contains(h.Get("Authorization"), "/eu-central-1/"+svc+"/aws4_request") {
			t.Errorf("%s: request not signed for the service: %v", svc, h)
		}
	}
}

func TestAddFlags(t *testing.T) {
	env := map[string]string{EnvEndpoint: "http://env:9200", EnvUsername: "envuser", EnvPassword: "envpass"}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	get := AddFlags(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--user", "flaguser", "--insecure", "--opensearch-timeout", "5s"}); err != nil {
		t.Fatal(err)
	}
	c := get()
	if c.URL != "http://env:9200" || c.Username != "flaguser" || c.Password != "envpass" || !c.InsecureSkipVerify || c.Timeout != 5*time.Second {
		t.Errorf("got %+v", c)
	}
}

// TestNoCredentialsInLogs runs requests that succeed and fail with debug
// logging on; neither the logs nor the errors show the password.
func TestNoCredentialsInLogs(t *testing.T) {
	const secret = "pa55-w0rd-secret"
	s := opensearchtest.New(t, opensearchtest.Options{BasicAuth: "admin:" + secret})
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	var errs []string
	for _, u := range []string{"http://admin:" + secret + "@" + strings.TrimPrefix(s.URL(), "http://"), "http://admin:wrong" + secret + "@" + strings.TrimPrefix(s.URL(), "http://")} {
		c, err := New(ctx, Config{URL: u, Timeout: time.Second}, log)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("config", slog.String("cluster", c.Config().String()))
		if err := c.DoJSON(ctx, "GET", "/", nil, nil); err != nil {
			errs = append(errs, err.Error())
		}
		s.SetFaults(opensearchtest.Faults{ResetRate: 1})
		if err := c.DoJSON(ctx, "POST", "/_bulk", []byte("{}\n"), nil); err != nil {
			errs = append(errs, err.Error())
		}
		s.SetFaults(opensearchtest.Faults{})
		c.Close()
	}
	if len(errs) < 3 {
		t.Errorf("expected failures, got %q", errs)
	}
	all := buf.String() + strings.Join(errs, "\n")
	if strings.Contains(all, secret) {
		t.Errorf("the password shows:\n%s", all)
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Header.Get("Authorization"), secret) {
			t.Error("the request log keeps the password")
		}
	}
}
