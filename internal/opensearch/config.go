// Package opensearch is Vigil's narrow client for OpenSearch and Amazon
// OpenSearch Service (managed domains and Serverless collections): the
// connection settings (URL, basic auth, AWS SigV4, TLS), one Do method with a
// per-call timeout and wrapped errors, and the typed errors callers use to
// tell a retryable failure from a permanent one. Credentials never appear in
// its errors or log records.
package opensearch

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// AWS service names for SigV4 signing.
const (
	// ServiceES signs for Amazon OpenSearch Service managed domains.
	ServiceES = "es"
	// ServiceAOSS signs for Amazon OpenSearch Serverless collections.
	ServiceAOSS = "aoss"
	// ServiceNone turns SigV4 signing off even for an AWS host name.
	ServiceNone = "none"
)

// DefaultTimeout bounds one HTTP call when Config.Timeout is zero. It matches
// the 60 s es-loader gives its client.
const DefaultTimeout = 60 * time.Second

// Environment variables read by FromEnv.
const (
	// EnvEndpoint is the cluster endpoint, a URL or a bare host name (as
	// es-loader's ENDPOINT, which means https on port 443).
	EnvEndpoint = "ENDPOINT"
	// EnvUsername and EnvPassword are the basic-auth credentials.
	EnvUsername = "OPENSEARCH_USERNAME"
	EnvPassword = "OPENSEARCH_PASSWORD"
	// EnvAWSService forces the SigV4 service: es, aoss or none.
	EnvAWSService = "OPENSEARCH_AWS_SERVICE"
	// EnvCACert is a PEM file of certificate authorities to trust.
	EnvCACert = "OPENSEARCH_CA_CERT"
	// EnvInsecure, when true, turns certificate verification off.
	EnvInsecure = "OPENSEARCH_INSECURE_SKIP_VERIFY"
	// EnvAWSRegion and EnvAWSDefaultRegion give the SigV4 region when the
	// host name does not carry one.
	EnvAWSRegion        = "AWS_REGION"
	EnvAWSDefaultRegion = "AWS_DEFAULT_REGION"
)

// Config says how to reach and authenticate to a cluster. The zero value of
// every field but URL is a sensible default. Parse it once with Validate (New
// calls it).
type Config struct {
	// URL is the cluster's base URL, http or https, with an optional port
	// and path prefix. Credentials written in it (https://user:pass@host)
	// are moved to Username and Password by Validate.
	URL string
	// Username and Password turn on HTTP basic authentication.
	Username string
	Password string
	// AWSRegion is the SigV4 region; empty takes it from the host name
	// (search-x.REGION.es.amazonaws.com, as es-loader does), else from the
	// AWS configuration.
	AWSRegion string
	// AWSService is the SigV4 service: "es", "aoss", "none", or empty to
	// detect it from the host name (…​.es.amazonaws.com → es,
	// …​.aoss.amazonaws.com → aoss, anything else → no signing). Basic-auth
	// credentials and SigV4 cannot be used together.
	AWSService string
	// CACertFile is a PEM file of certificate authorities to trust instead
	// of the system pool.
	CACertFile string
	// InsecureSkipVerify turns TLS certificate verification off. Only an
	// explicit setting does this; it is logged as a warning.
	InsecureSkipVerify bool
	// Timeout bounds one HTTP call (connect, send, answer); zero means
	// DefaultTimeout.
	Timeout time.Duration

	// envErr is a variable FromEnv could not read; Validate reports it.
	envErr error
}

// FromEnv builds a Config from a URL given on the command line (may be
// empty: then ENDPOINT is used) and the environment read through getenv
// (os.Getenv when nil). Flags the caller parsed afterwards may override the
// returned fields. It does not validate; New does, and reports a variable
// that does not parse (OPENSEARCH_INSECURE_SKIP_VERIFY=yes).
func FromEnv(rawURL string, getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	if rawURL == "" {
		rawURL = getenv(EnvEndpoint)
	}
	c := Config{
		URL:        rawURL,
		Username:   getenv(EnvUsername),
		Password:   getenv(EnvPassword),
		AWSService: getenv(EnvAWSService),
		CACertFile: getenv(EnvCACert),
		AWSRegion:  getenv(EnvAWSRegion),
	}
	if c.AWSRegion == "" {
		c.AWSRegion = getenv(EnvAWSDefaultRegion)
	}
	if v := getenv(EnvInsecure); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			c.envErr = fmt.Errorf("%s=%q: want true or false (also accepted: 1, t, TRUE, True, 0, f, FALSE, False)", EnvInsecure, v)
		}
		c.InsecureSkipVerify = b
	}
	return c
}

// Validate checks the settings, normalizes the URL (a bare host name, as in
// es-loader's ENDPOINT, becomes https://HOST), moves credentials out of the
// URL, and resolves the SigV4 service and region from the host name when
// they are not given. Errors name the field and the bad value, never a
// password.
func (c *Config) Validate() error {
	if c.envErr != nil {
		return c.envErr
	}
	if c.URL == "" {
		return fmt.Errorf("opensearch URL: empty (give --opensearch URL or set %s)", EnvEndpoint)
	}
	raw := c.URL
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("opensearch URL %q: %w", redactRaw(c.URL), stripURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("opensearch URL %q: scheme %q, want http or https", u.Redacted(), u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("opensearch URL %q: no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, perr := strconv.Atoi(p); perr != nil || n < 1 || n > 65535 {
			return fmt.Errorf("opensearch URL %q: bad port %q", u.Redacted(), p)
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("opensearch URL %q: a query or fragment is not allowed", u.Redacted())
	}
	if u.User != nil {
		if c.Username != "" {
			return fmt.Errorf("opensearch URL %q: credentials both in the URL and given separately", u.Redacted())
		}
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		u.User = nil
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c.URL = u.String()

	host := strings.ToLower(u.Hostname())
	region, service := awsHost(host)
	switch c.AWSService {
	case "":
		c.AWSService = service
		if c.AWSService == "" || c.Username != "" {
			// Not an AWS host, or basic auth asked for explicitly (a domain
			// with fine-grained access control and an internal user).
			c.AWSService = ServiceNone
		}
	case ServiceES, ServiceAOSS, ServiceNone:
	default:
		return fmt.Errorf("opensearch AWS service %q: want es, aoss or none", c.AWSService)
	}
	if c.AWSService != ServiceNone && c.Username != "" {
		return fmt.Errorf("opensearch auth: both basic-auth user %q and AWS SigV4 (service %s) given; use one", c.Username, c.AWSService)
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("opensearch auth: a password without a user name")
	}
	if c.AWSRegion == "" && c.AWSService != ServiceNone {
		c.AWSRegion = region
	}
	if c.AWSRegion != "" && !validRegion(c.AWSRegion) {
		return fmt.Errorf("opensearch AWS region %q: not a region name", c.AWSRegion)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("opensearch timeout %v: must not be negative", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.CACertFile != "" {
		if _, err := os.Stat(c.CACertFile); err != nil {
			return fmt.Errorf("opensearch CA certificate file: %w", err)
		}
	}
	return nil
}

// SigV4 reports whether requests are signed with AWS SigV4.
func (c *Config) SigV4() bool { return c.AWSService == ServiceES || c.AWSService == ServiceAOSS }

// Serverless reports whether the target is an OpenSearch Serverless
// collection (SigV4 service aoss).
func (c *Config) Serverless() bool { return c.AWSService == ServiceAOSS }

// String describes the config for logs: the URL and the kind of auth, never
// a credential.
func (c Config) String() string {
	auth := "none"
	switch {
	case c.Username != "":
		auth = "basic user " + c.Username
	case c.AWSService == ServiceES || c.AWSService == ServiceAOSS:
		auth = "sigv4 " + c.AWSService
		if c.AWSRegion != "" {
			auth += " " + c.AWSRegion
		}
	}
	return fmt.Sprintf("%s (auth %s)", redactRaw(c.URL), auth)
}

// awsHost reads region and service from an AWS endpoint name such as
// search-dom-abc.us-east-1.es.amazonaws.com or id.us-east-1.aoss.amazonaws.com.
// The labels are es-loader's: the second is the region, the third the service.
func awsHost(host string) (region, service string) {
	if !strings.HasSuffix(host, ".amazonaws.com") && !strings.HasSuffix(host, ".amazonaws.com.cn") {
		return "", ""
	}
	labels := strings.Split(host, ".")
	if len(labels) < 4 {
		return "", ""
	}
	switch labels[2] {
	case ServiceES, ServiceAOSS:
		return labels[1], labels[2]
	}
	return "", ""
}

func validRegion(r string) bool {
	if len(r) > 32 {
		return false
	}
	for _, ch := range r {
		if (ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') && ch != '-' {
			return false
		}
	}
	return true
}

// redactRaw hides a password written in a URL that may not parse.
func redactRaw(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, _, _ := strings.Cut(rest[:at], ":")
		rest = user + ":xxxxx" + rest[at:]
	}
	if scheme != "" {
		return scheme + "://" + rest
	}
	return rest
}

// stripURLError drops the URL a *url.Error repeats (it may hold a password).
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
