package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/sync/errgroup"

	"github.com/vigil-siem/vigil/internal/detect/notify"
)

// notifyEnv names the environment variable that gives --notify's default
// to the commands that run rules (load and serve, only when --rules is
// given).
const notifyEnv = "VIGIL_NOTIFY"

// notifyDrain bounds how long a command waits, at its end, for the
// notifications still queued; what is left stays queued in the queue
// directory for the next run.
const notifyDrain = 30 * time.Second

// notifyConfig reads the --notify file. path is the flag's value; when it
// is empty and useEnv is set, $VIGIL_NOTIFY is used if the command runs
// rules. defaultDir is the queue directory when the file names none. It
// returns nil when there is nothing to notify, and an error (a usage
// error) when --notify is given without rules or the file is invalid.
func notifyConfig(path string, useEnv, rules bool, defaultDir string) (*notify.Config, error) {
	if path == "" && useEnv && rules {
		path = os.Getenv(notifyEnv)
	}
	if path == "" {
		return nil, nil
	}
	if !rules {
		return nil, errors.New("--notify needs --rules: notifications are sent for the alerts detection rules raise")
	}
	cfg, err := notify.LoadFile(path, defaultDir)
	if err != nil {
		return nil, fmt.Errorf("--notify: %w", err)
	}
	return &cfg, nil
}

// alertNotifier delivers the alerts of one command run: a
// notify.Dispatcher whose Run goroutine belongs to the errgroup g. It
// stops with stop, which lets the queues drain (for notifyDrain at most,
// and not at all once the command's ctx is cancelled: the workers stop at
// once and what is queued stays on disk), then waits for Run to return.
type alertNotifier struct {
	d   *notify.Dispatcher
	g   *errgroup.Group
	cfg notify.Config
}

// startNotifier builds the destinations of cfg, opens their queues (what a
// previous run left is sent first) and starts delivering until stop.
func startNotifier(ctx context.Context, cfg *notify.Config, log *slog.Logger) (*alertNotifier, error) {
	var deps notify.Deps
	for _, dc := range cfg.Destinations {
		if dc.Type == notify.TypeSNS && deps.SNS == nil {
			p, err := newSNSPublisher(ctx)
			if err != nil {
				return nil, fmt.Errorf("notification destination %q: %w", dc.Name, err)
			}
			deps.SNS = p
		}
	}
	dests := make(map[string]notify.Destination, len(cfg.Destinations))
	for _, dc := range cfg.Destinations {
		d, err := notify.NewDestination(dc, deps)
		if err != nil {
			return nil, err
		}
		dests[dc.Name] = d
	}
	d, err := notify.New(*cfg, dests, log)
	if err != nil {
		return nil, fmt.Errorf("opening the notification queues: %w", err)
	}
	g := &errgroup.Group{}
	g.Go(func() error { return d.Run(ctx) }) // returns once stop has closed d, or ctx ends
	return &alertNotifier{d: d, g: g, cfg: *cfg}, nil
}

// stop closes the dispatcher, letting it drain, and reports each
// destination's deliveries on w (unless quiet). A drain cut short is not
// an error: the alerts left are sent by the next run that uses the same
// queue directory. The error is one of closing the queue files or of Run.
func (n *alertNotifier) stop(ctx context.Context, w io.Writer, cmd string, quiet bool) error {
	dctx, cancel := context.WithTimeout(ctx, notifyDrain)
	defer cancel()
	err := n.d.Close(dctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil // the pending count below says what is left
	}
	// Run returns ErrClosed when stop came before it started; its queues
	// are on disk, counted below.
	if werr := n.g.Wait(); err == nil && !errors.Is(werr, notify.ErrClosed) {
		err = werr
	}
	stats := n.d.Stats()
	names := make([]string, 0, len(stats))
	pending := 0
	for name, s := range stats {
		names = append(names, name)
		pending += s.Pending
	}
	sort.Strings(names)
	if !quiet {
		parts := make([]string, len(names))
		for i, name := range names {
			s := stats[name]
			parts[i] = fmt.Sprintf("%s %d sent, %d failed, %d dropped", name, s.Sent, s.Failed, s.Dropped)
		}
		fmt.Fprintf(w, "%s: notifications: %s\n", cmd, strings.Join(parts, "; "))
	}
	if pending > 0 {
		fmt.Fprintf(w, "%s: %d notifications still queued in %s: the next run with this queue directory sends them\n", cmd, pending, n.cfg.Dir)
	}
	return err
}

// snsPublisher publishes to Amazon SNS: the Publish action of its query
// API, signed with SigV4 by the AWS SDK's signer, with the credentials of
// the AWS credential chain. The region is the topic's (from its ARN); the
// endpoint is the region's, or AWS_ENDPOINT_URL_SNS, else AWS_ENDPOINT_URL,
// when set (a local emulator, a VPC endpoint). Errors: HTTP 5xx, 429,
// throttling and network errors are retried by the dispatcher; other
// refusals (authorization, a missing topic) are permanent.
type snsPublisher struct {
	client   *http.Client
	creds    aws.CredentialsProvider
	signer   *v4.Signer
	endpoint string
	now      func() time.Time
}

// newSNSPublisher loads the AWS configuration (it sends no request).
func newSNSPublisher(ctx context.Context) (*snsPublisher, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration for SNS: %w", err)
	}
	if awsCfg.Credentials == nil {
		return nil, errors.New("SNS: no AWS credentials configured")
	}
	ep := os.Getenv("AWS_ENDPOINT_URL_SNS")
	if ep == "" && awsCfg.BaseEndpoint != nil {
		ep = *awsCfg.BaseEndpoint
	}
	return &snsPublisher{client: &http.Client{}, creds: awsCfg.Credentials, signer: v4.NewSigner(), endpoint: ep, now: time.Now}, nil
}

// snsError is the error document of the SNS query API.
type snsError struct {
	Error struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
}

// Publish publishes message to the topic; ctx bounds the call.
func (p *snsPublisher) Publish(ctx context.Context, topicARN, subject, message string) error {
	// arn:PARTITION:sns:REGION:ACCOUNT:NAME, checked by notify.SNSConfig.
	parts := strings.SplitN(topicARN, ":", 6)
	if len(parts) != 6 {
		return notify.Permanent(fmt.Errorf("SNS topic %q: not an ARN", topicARN))
	}
	partition, region := parts[1], parts[3]
	endpoint := p.endpoint
	if endpoint == "" {
		domain := "amazonaws.com"
		if partition == "aws-cn" {
			domain = "amazonaws.com.cn"
		}
		endpoint = "https://sns." + region + "." + domain + "/"
	}
	form := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "TopicArn": {topicARN}, "Message": {message}}
	if subject != "" {
		form.Set("Subject", subject)
	}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return notify.Permanent(fmt.Errorf("SNS endpoint %q: %w", endpoint, err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieving AWS credentials for SNS: %w", err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := p.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sns", region, p.now()); err != nil {
		return fmt.Errorf("signing the SNS request: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("calling SNS Publish: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read below
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var se snsError
	_ = xml.Unmarshal(b, &se) // a body that is not the error document leaves the code empty
	err = fmt.Errorf("SNS Publish: HTTP %d %s: %s", resp.StatusCode, se.Error.Code, se.Error.Message)
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || strings.Contains(se.Error.Code, "Throttl") {
		return err
	}
	return notify.Permanent(err)
}
