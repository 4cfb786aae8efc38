package opensearch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	osgo "github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"
)

// Client sends requests to one cluster. It is safe for concurrent use; Close
// releases its connections.
type Client struct {
	os      *osgo.Client
	cfg     Config
	timeout time.Duration
	log     *slog.Logger
}

// Response is an HTTP answer, its body read whole.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	method     string
	path       string
}

// Err returns a *StatusError when the status is not 2xx, else nil.
func (r *Response) Err() error {
	if r.StatusCode >= 200 && r.StatusCode < 300 {
		return nil
	}
	return newStatusError(r.method, r.path, r)
}

// RetryAfter returns the server's Retry-After delay, zero when absent.
func (r *Response) RetryAfter() time.Duration {
	return ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
}

// New validates cfg and returns a client. With SigV4 it loads the AWS
// credential chain (environment, shared files, SSO, web identity, container
// and instance roles) once; credentials are refreshed as they expire. It
// sends no request.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	oc := osgo.Config{
		Addresses:             []string{cfg.URL},
		Username:              cfg.Username,
		Password:              cfg.Password,
		Transport:             tr,
		DisableRetry:          true, // retries are the caller's: per item, with its own budget
		HealthCheckMaxRetries: -1,
		DiscoverNodesOnStart:  new(false),
	}
	if cfg.SigV4() {
		var opts []func(*awsconfig.LoadOptions) error
		if cfg.AWSRegion != "" {
			opts = append(opts, awsconfig.WithRegion(cfg.AWSRegion))
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("loading AWS configuration for SigV4: %w", err)
		}
		if awsCfg.Region == "" {
			return nil, fmt.Errorf("opensearch AWS region: none in the host name %q, the flags or the AWS configuration", cfg.URL)
		}
		cfg.AWSRegion = awsCfg.Region
		sg, err := awsv2.NewSignerWithService(awsCfg, cfg.AWSService)
		if err != nil {
			return nil, fmt.Errorf("creating the SigV4 signer: %w", err)
		}
		oc.Signer = sg
	}
	c, err := osgo.NewClient(oc)
	if err != nil {
		return nil, fmt.Errorf("creating the OpenSearch client for %s: %w", redactRaw(cfg.URL), err)
	}
	if cfg.InsecureSkipVerify {
		logger.Warn("TLS certificate verification is off", slog.String("url", redactRaw(cfg.URL)))
	}
	return &Client{os: c, cfg: cfg, timeout: cfg.Timeout, log: logger}, nil
}

// newTransport returns the HTTP transport with the TLS settings of cfg.
func newTransport(cfg Config) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // only when asked for explicitly
	if cfg.CACertFile != "" {
		pem, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("reading opensearch CA certificate file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading opensearch CA certificate file %s: no PEM certificate in it", cfg.CACertFile)
		}
		tc.RootCAs = pool
	}
	tr.TLSClientConfig = tc
	return tr, nil
}

// Config returns the validated settings (with the SigV4 region resolved).
func (c *Client) Config() Config { return c.cfg }

// Serverless reports whether the target is an OpenSearch Serverless
// collection.
func (c *Client) Serverless() bool { return c.cfg.Serverless() }

// Close releases idle connections and background resources.
func (c *Client) Close() error {
	if err := c.os.Close(); err != nil {
		return fmt.Errorf("closing the OpenSearch client: %w", err)
	}
	return nil
}

// Do sends one request. path is relative to the cluster URL and may carry a
// query ("/_bulk?filter_path=items"). body may be nil. hdr (may be nil) adds
// headers; Content-Type defaults to application/json when there is a body.
// Any HTTP answer is returned with a nil error, whatever its status: use
// Response.Err to turn a non-2xx status into a *StatusError. A request that
// got no answer returns a *TransportError (wrapping context errors, so
// errors.Is(err, context.DeadlineExceeded) tells a timeout). The call is
// bounded by the client's timeout.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, hdr http.Header) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	logPath := pathOnly(path)
	req, err := http.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return nil, fmt.Errorf("building request %s %s: %w", method, logPath, stripURLError(err))
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	res, err := c.os.Stream(req)
	if err != nil {
		if res != nil && res.Body != nil {
			_ = res.Body.Close()
		}
		err = &TransportError{Method: method, Path: logPath, Err: cleanTransportErr(ctx, err)}
		c.log.DebugContext(ctx, "opensearch request failed", slog.String("method", method),
			slog.String("path", logPath), slog.Duration("took", time.Since(start)), slog.Any("error", err))
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, &TransportError{Method: method, Path: logPath, Err: fmt.Errorf("reading the answer: %w", cleanTransportErr(ctx, err))}
	}
	c.log.DebugContext(ctx, "opensearch request", slog.String("method", method), slog.String("path", logPath),
		slog.Int("status", res.StatusCode), slog.Duration("took", time.Since(start)))
	return &Response{StatusCode: res.StatusCode, Header: res.Header, Body: b, method: method, path: logPath}, nil
}

// DoJSON sends in (nil for no body; []byte and json.RawMessage are sent as
// they are) as JSON and decodes a 2xx answer into out (may be nil). A
// non-2xx answer is returned as a *StatusError.
func (c *Client) DoJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(v)
	case json.RawMessage:
		body = bytes.NewReader(v)
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the body of %s %s: %w", method, pathOnly(path), err)
		}
		body = bytes.NewReader(b)
	}
	res, err := c.Do(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return err
	}
	if out != nil && len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, out); err != nil {
			return fmt.Errorf("decoding the answer of %s %s: %w", method, pathOnly(path), err)
		}
	}
	return nil
}

// pathOnly drops the query of a request path, for messages.
func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// cleanTransportErr keeps the cause of a failed request without the URL a
// *url.Error repeats, and says so when the call's deadline ran out.
func cleanTransportErr(ctx context.Context, err error) error {
	err = stripURLError(err)
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}
