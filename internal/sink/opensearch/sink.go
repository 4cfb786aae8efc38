// Package opensearch is the sink that loads documents into OpenSearch with
// the _bulk API: requests bounded by bytes and documents, gzip-compressed,
// several in flight, and every item's result handled on its own. A 2xx item
// is delivered; a 409 on create is a duplicate of a document already there,
// also delivered; 429 and 5xx items are sent again (only they) with
// exponential backoff and jitter, honouring Retry-After; a 413 or a 400 for
// the whole request splits it to isolate the cause; other 4xx items go to
// the dead letter with OpenSearch's error. A request that gets no answer is
// sent again whole. Retries are bounded; a document whose budget is spent
// goes to the dead letter, never nowhere. A document's ack token is told
// only once the document is delivered or dead-lettered.
//
// Writes to an index that is read-only (a block, closed, UltraWarm or cold)
// go to "<index>_01", "<index>_02"... as es-loader does.
package opensearch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

// Defaults of Config.
const (
	DefaultMaxBulkBytes   = 5 << 20
	DefaultMaxBulkDocs    = 10000
	DefaultConcurrency    = 2
	DefaultFlushInterval  = time.Second
	DefaultMaxAttempts    = 10
	DefaultMaxRetryTime   = 5 * time.Minute
	DefaultInitialBackoff = 200 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
)

// Bulk operation types.
const (
	// OpIndex writes a document, replacing one with the same _id: a replay
	// overwrites. It is what es-loader sends.
	OpIndex = "index"
	// OpCreate writes a document only when its _id is new; a 409 answer
	// means it is already there and counts as delivered.
	OpCreate = "create"
)

// Config configures the sink. Zero values take the defaults above.
type Config struct {
	// OpenSearch is how to reach the cluster.
	OpenSearch opensearch.Config
	// MaxBulkBytes bounds one request's body before compression.
	MaxBulkBytes int
	// MaxBulkDocs bounds the documents in one request.
	MaxBulkDocs int
	// Concurrency is the number of requests in flight.
	Concurrency int
	// FlushInterval sends a request that is not full once its first
	// document has waited this long (for streams).
	FlushInterval time.Duration
	// OpType is OpIndex (default) or OpCreate.
	OpType string
	// NoCompression sends bodies uncompressed.
	NoCompression bool
	// MaxAttempts bounds how many times one document is sent.
	MaxAttempts int
	// MaxRetryTime bounds how long one document is retried, from its first
	// attempt.
	MaxRetryTime time.Duration
	// InitialBackoff and MaxBackoff shape the exponential backoff (full
	// jitter) between attempts.
	InitialBackoff, MaxBackoff time.Duration
	// WriteAliases are aliases written to directly (log types with
	// index_rotation = auto). At start, an alias that does not exist is
	// created on "<alias>-000001" as its write index, so rollover can
	// manage it. Ignored on Serverless, which has no aliases.
	WriteAliases []string
	// ServerlessTimeSeries sends no _id, for an OpenSearch Serverless
	// time-series collection, which assigns its own. Documents are then
	// de-duplicated only within this process (see docs/opensearch.md).
	ServerlessTimeSeries bool
	// NoReadOnlyCheck skips reading the cluster's index blocks (and, on
	// Amazon OpenSearch Service, its cold indices) at start.
	NoReadOnlyCheck bool
}

// Validate fills defaults and checks the values, naming the bad field.
func (c *Config) Validate() error {
	def := func(v *int, d int, name string) error {
		if *v < 0 {
			return fmt.Errorf("opensearch sink %s: %d must not be negative", name, *v)
		}
		if *v == 0 {
			*v = d
		}
		return nil
	}
	defD := func(v *time.Duration, d time.Duration, name string) error {
		if *v < 0 {
			return fmt.Errorf("opensearch sink %s: %v must not be negative", name, *v)
		}
		if *v == 0 {
			*v = d
		}
		return nil
	}
	for _, err := range []error{
		def(&c.MaxBulkBytes, DefaultMaxBulkBytes, "max bulk bytes"),
		def(&c.MaxBulkDocs, DefaultMaxBulkDocs, "max bulk documents"),
		def(&c.Concurrency, DefaultConcurrency, "concurrency"),
		def(&c.MaxAttempts, DefaultMaxAttempts, "max attempts"),
		defD(&c.FlushInterval, DefaultFlushInterval, "flush interval"),
		defD(&c.MaxRetryTime, DefaultMaxRetryTime, "max retry time"),
		defD(&c.InitialBackoff, DefaultInitialBackoff, "initial backoff"),
		defD(&c.MaxBackoff, DefaultMaxBackoff, "max backoff"),
	} {
		if err != nil {
			return err
		}
	}
	switch c.OpType {
	case "":
		c.OpType = OpIndex
	case OpIndex, OpCreate:
	default:
		return fmt.Errorf("opensearch sink op type %q: want index or create", c.OpType)
	}
	if c.MaxBulkBytes < 1024 {
		return fmt.Errorf("opensearch sink max bulk bytes %d: want at least 1024", c.MaxBulkBytes)
	}
	if c.Concurrency > 64 {
		return fmt.Errorf("opensearch sink concurrency %d: want at most 64", c.Concurrency)
	}
	if c.InitialBackoff > c.MaxBackoff {
		return fmt.Errorf("opensearch sink initial backoff %v: more than the max backoff %v", c.InitialBackoff, c.MaxBackoff)
	}
	for _, a := range c.WriteAliases {
		if a == "" {
			return errors.New("opensearch sink write aliases: an empty name")
		}
	}
	return nil
}

// EnvAOSSType is es-loader's variable for the kind of a Serverless
// collection; TIMESERIES turns on Config.ServerlessTimeSeries.
const EnvAOSSType = "AOSS_TYPE"

// ConfigFromURL returns the sink settings for `--sink opensearch:URL`: the
// connection from the URL (ENDPOINT when empty) and the environment
// (opensearch.FromEnv), Serverless time-series mode from AOSS_TYPE, and
// defaults for the rest. getenv is os.Getenv when nil.
func ConfigFromURL(rawURL string, getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Config{
		OpenSearch:           opensearch.FromEnv(rawURL, getenv),
		ServerlessTimeSeries: strings.EqualFold(getenv(EnvAOSSType), "TIMESERIES"),
	}
}

// AutoAliases returns the index names of the log types whose rotation is
// auto: the write aliases to give Config.WriteAliases.
func AutoAliases(reg *logtype.Registry) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range reg.Types() {
		if t.IndexRotation == logtype.RotationAuto && t.IndexName != "" && !seen[t.IndexName] {
			seen[t.IndexName] = true
			out = append(out, t.IndexName)
		}
	}
	return out
}

// bulkAPI is what the sink needs of a cluster client.
type bulkAPI interface {
	Do(ctx context.Context, method, path string, body io.Reader, hdr http.Header) (*opensearch.Response, error)
}

// Stats count what the sink did. Read them with Sink.Stats.
type Stats struct {
	// Delivered documents, Duplicates among them (409 on create, or ids
	// already sent in this process on a Serverless time-series collection).
	Delivered, Duplicates int64
	// DeadLettered documents.
	DeadLettered int64
	// Requests sent, Retried item sends, whole-request retries, Splits.
	Requests, Retried, RequestRetries, Splits int64
	// BytesRaw is the size of the bodies sent before compression,
	// BytesSent after.
	BytesRaw, BytesSent int64
}

// Sink is the OpenSearch sink. Write is called from one goroutine at a time
// (pipeline.Sink); requests run on Concurrency goroutines of an errgroup
// started by New and stopped by Close.
type Sink struct {
	cfg    Config
	client bulkAPI
	closer func() error
	dl     pipeline.DeadLetter
	log    *slog.Logger

	mu       sync.Mutex
	cur      *bulk // being filled by Write
	curSince time.Time

	queue     chan *bulk
	g         *errgroup.Group
	cancel    context.CancelFunc
	stop      chan struct{} // closed by Close: the flusher ends
	flushDone chan struct{} // closed when the flusher has ended
	failed    chan struct{} // closed when a worker failed
	fatal     atomic.Pointer[error]
	closed    bool

	ro   *readOnly
	seen *idSet // Serverless time-series: ids delivered by this process

	pool sync.Pool // *bulk

	st struct {
		delivered, duplicates, dead               atomic.Int64
		requests, retried, requestRetries, splits atomic.Int64
		bytesRaw, bytesSent                       atomic.Int64
	}
}

var _ pipeline.Sink = (*Sink)(nil)

// New connects the sink: it validates cfg, reads the cluster's read-only
// indices (unless turned off), creates missing write aliases and starts the
// request goroutines. dl receives the documents that cannot be delivered;
// it must not be nil. The caller must call Close.
func New(ctx context.Context, cfg Config, dl pipeline.DeadLetter, logger *slog.Logger) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := opensearch.New(ctx, cfg.OpenSearch, logger)
	if err != nil {
		return nil, err
	}
	s, err := newSink(ctx, cfg, c, c.Config(), dl, logger)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	s.closer = c.Close
	return s, nil
}

// newSink builds the sink on a client; cfg is validated.
func newSink(ctx context.Context, cfg Config, client bulkAPI, conn opensearch.Config, dl pipeline.DeadLetter, logger *slog.Logger) (*Sink, error) {
	if dl == nil {
		return nil, errors.New("opensearch sink: no dead-letter sink")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		cfg:       cfg,
		client:    client,
		dl:        dl,
		log:       logger.With(slog.String("sink", "opensearch")),
		queue:     make(chan *bulk, cfg.Concurrency),
		stop:      make(chan struct{}),
		flushDone: make(chan struct{}),
		failed:    make(chan struct{}),
		ro:        newReadOnly(),
	}
	if cfg.ServerlessTimeSeries {
		s.seen = newIDSet(1 << 20)
	}
	if !cfg.NoReadOnlyCheck && !conn.Serverless() {
		if err := s.ro.discover(ctx, client, conn.AWSService == opensearch.ServiceES, s.log); err != nil {
			return nil, err
		}
	}
	if len(cfg.WriteAliases) > 0 && !conn.Serverless() {
		if err := bootstrapAliases(ctx, client, cfg.WriteAliases, s.log); err != nil {
			return nil, err
		}
	}
	// The workers' context outlives New's ctx; Close cancels it when its
	// own ctx ends before the queue is drained.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	g, gctx := errgroup.WithContext(runCtx)
	s.g = g
	for range cfg.Concurrency {
		g.Go(func() error { return s.worker(gctx) })
	}
	g.Go(func() error { return s.flusher(gctx) })
	s.log.Info("opensearch sink ready", slog.String("cluster", conn.String()),
		slog.Int("max_bulk_bytes", cfg.MaxBulkBytes), slog.Int("concurrency", cfg.Concurrency), slog.String("op", cfg.OpType))
	return s, nil
}

// Stats returns the counters so far.
func (s *Sink) Stats() Stats {
	return Stats{
		Delivered: s.st.delivered.Load(), Duplicates: s.st.duplicates.Load(), DeadLettered: s.st.dead.Load(),
		Requests: s.st.requests.Load(), Retried: s.st.retried.Load(), RequestRetries: s.st.requestRetries.Load(),
		Splits: s.st.splits.Load(), BytesRaw: s.st.bytesRaw.Load(), BytesSent: s.st.bytesSent.Load(),
	}
}

// BytesWritten returns the bytes sent on the wire (after compression), for
// the load summary.
func (s *Sink) BytesWritten() int64 { return s.st.bytesSent.Load() }

// Write encodes the batch's documents into bulk requests and queues every
// full request; it blocks while all request goroutines are busy and the
// queue is full. The batch is not kept. Acks resolve later, from the
// request goroutines.
func (s *Sink) Write(ctx context.Context, b *pipeline.Batch) error {
	if err := s.err(); err != nil {
		return err
	}
	for i := range b.Docs {
		d := &b.Docs[i]
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errors.New("opensearch sink: write after close")
		}
		if s.cur == nil {
			s.cur = s.newBulk()
			s.curSince = time.Now()
		}
		if s.seen != nil && s.seen.has(d.ID) {
			s.mu.Unlock()
			s.st.duplicates.Add(1)
			s.st.delivered.Add(1)
			d.Ack.Done(event.Delivered)
			continue
		}
		reason := s.cur.add(d, s.ro.writable(d.Index), s.cfg.OpType, !s.cfg.ServerlessTimeSeries)
		var full *bulk
		if len(s.cur.body) >= s.cfg.MaxBulkBytes || len(s.cur.items) >= s.cfg.MaxBulkDocs {
			full, s.cur = s.cur, nil
		}
		s.mu.Unlock()
		if reason != "" {
			if err := s.deadLetter(d.LogType, d.Index, d.ID, d.Source, reason, d.Ack); err != nil {
				return err
			}
		}
		if full != nil {
			if err := s.enqueue(ctx, full); err != nil {
				return err
			}
		}
	}
	return nil
}

// enqueue hands a full request to the request goroutines.
func (s *Sink) enqueue(ctx context.Context, b *bulk) error {
	if len(b.items) == 0 {
		s.putBulk(b)
		return nil
	}
	select {
	case s.queue <- b:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("opensearch sink: %w", ctx.Err())
	case <-s.failed:
		return s.err()
	}
}

// flusher sends a request that is not full once it has waited
// FlushInterval. It ends when Close is called or a worker fails; a request
// it could not queue then is put back for Close.
func (s *Sink) flusher(ctx context.Context) error {
	defer close(s.flushDone)
	tick := time.NewTicker(max(s.cfg.FlushInterval/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return nil
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		s.mu.Lock()
		var b *bulk
		if s.cur != nil && len(s.cur.items) > 0 && time.Since(s.curSince) >= s.cfg.FlushInterval {
			b, s.cur = s.cur, nil
		}
		s.mu.Unlock()
		if b == nil {
			continue
		}
		select {
		case s.queue <- b:
		case <-ctx.Done():
			return nil
		case <-s.stop:
			s.mu.Lock()
			if s.cur == nil {
				s.cur = b
			} else {
				s.cur.merge(b)
				s.putBulk(b)
			}
			s.mu.Unlock()
			return nil
		}
	}
}

// Close sends what is buffered, waits for every request to end (each
// document delivered or dead-lettered) and releases the client. When ctx
// ends first, requests are abandoned: their documents stay unresolved, so
// their source keeps them for a later run.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	done := make(chan error, 1)
	go func() {
		<-s.flushDone
		s.mu.Lock()
		last := s.cur
		s.cur = nil
		s.mu.Unlock()
		var err error
		if last != nil {
			err = s.enqueue(ctx, last)
		}
		close(s.queue)
		werr := s.g.Wait()
		if err == nil {
			err = werr
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		s.cancel()
		<-done
		err = fmt.Errorf("opensearch sink: closing: %w", ctx.Err())
	}
	s.cancel()
	if s.closer != nil {
		if cerr := s.closer(); err == nil {
			err = cerr
		}
	}
	if ferr := s.err(); ferr != nil && err == nil {
		err = ferr
	}
	st := s.Stats()
	s.log.Info("opensearch sink closed", slog.Int64("delivered", st.Delivered), slog.Int64("duplicates", st.Duplicates),
		slog.Int64("dead_lettered", st.DeadLettered), slog.Int64("requests", st.Requests), slog.Int64("retried", st.Retried),
		slog.Int64("bytes_sent", st.BytesSent))
	return err
}

// err returns the fatal error of a failed worker, if any.
func (s *Sink) err() error {
	if p := s.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

// fail records the first fatal error and wakes writers.
func (s *Sink) fail(err error) error {
	if s.fatal.CompareAndSwap(nil, &err) {
		close(s.failed)
		s.log.Error("opensearch sink stopped", slog.Any("error", err))
	}
	return err
}

func (s *Sink) newBulk() *bulk {
	if b, ok := s.pool.Get().(*bulk); ok {
		b.reset()
		return b
	}
	return &bulk{body: make([]byte, 0, s.cfg.MaxBulkBytes+s.cfg.MaxBulkBytes/8)}
}

func (s *Sink) putBulk(b *bulk) {
	b.reset()
	s.pool.Put(b)
}

// deadLetter keeps one document that cannot be delivered, then resolves
// its ack. An error writing the dead letter is fatal: the document would
// otherwise be lost.
func (s *Sink) deadLetter(logType, index, id string, source []byte, reason string, ack *event.Ack) error {
	f := pipeline.Failure{
		Origin:  event.Origin{Key: index, Size: -1},
		LogType: logType,
		Reason:  "opensearch: " + reason,
		Raw:     documentLine(index, id, source),
	}
	if err := s.dl.Add(f); err != nil {
		return s.fail(fmt.Errorf("opensearch sink: keeping document %s/%s in the dead letter: %w", index, id, err))
	}
	s.st.dead.Add(1)
	ack.Done(event.DeadLettered)
	return nil
}
