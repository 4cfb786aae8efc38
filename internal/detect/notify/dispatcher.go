package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-siem/vigil/internal/detect/alert"
)

// Destination delivers one alert. Send is called by one goroutine at a
// time per destination, with a ctx bounded by DestinationConfig.Timeout;
// doc is the alert's JSON document (docs/alerts.md), which Send must not
// modify. An error is retried unless it is permanent (wrapped by Permanent,
// or a *StatusError that is not Temporary).
type Destination interface {
	Send(ctx context.Context, a *alert.Alert, doc []byte) error
}

// ErrClosed is returned by Enqueue and Run after Close.
var ErrClosed = errors.New("notification dispatcher closed")

// Stats counts one destination's deliveries since the Dispatcher was
// created.
type Stats struct {
	Sent    int64 // delivered
	Retries int64 // failed attempts that were retried
	Failed  int64 // given up: permanent errors
	Dropped int64 // dropped from a full queue
	Pending int   // waiting now
}

// Dispatcher queues alerts per destination and delivers them; see the
// package comment for the guarantees. Enqueue, Stats and Close are safe
// for concurrent use; Run is called once.
type Dispatcher struct {
	log   *slog.Logger
	cfg   Config
	dests []*destState

	mu      sync.Mutex
	closed  bool
	running bool
	stop    context.CancelFunc // cancels Run's workers
	done    chan struct{}      // closed when Run returns
	drain   chan struct{}      // closed by Close: workers exit once empty
}

type destState struct {
	cfg     DestinationConfig
	minRank int
	dest    Destination
	q       *queue
	bucket  *tokenBucket
	sent    atomic.Int64
	retries atomic.Int64
	failed  atomic.Int64
}

// New opens the queues of the destinations cfg lists; dests holds the
// Destination of each, by name (NewDestination builds them from their
// configuration; tests pass fakes). Alerts a previous run left unsent are
// delivered once Run starts.
func New(cfg Config, dests map[string]Destination, log *slog.Logger) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{log: log, cfg: cfg, drain: make(chan struct{})}
	for _, dc := range cfg.Destinations {
		dest, ok := dests[dc.Name]
		if !ok || dest == nil {
			_ = d.closeQueues() // the configuration error is the one to report
			return nil, fmt.Errorf("notify: destination %q is configured but has no Destination", dc.Name)
		}
		dlog := log.With(slog.String("destination", dc.Name), slog.String("type", dc.Type))
		q, err := openQueue(filepath.Join(cfg.Dir, dc.Name), cfg.MaxQueue, cfg.SegmentBytes, cfg.Fsync, dlog)
		if err != nil {
			_ = d.closeQueues() // the open error is the one to report
			return nil, fmt.Errorf("destination %q: %w", dc.Name, err)
		}
		rank := 0
		if dc.MinLevel != "" {
			rank, _ = alert.LevelRank(dc.MinLevel)
		}
		d.dests = append(d.dests, &destState{cfg: dc, minRank: rank, dest: dest, q: q,
			bucket: newTokenBucket(dc.RatePerMinute, dc.Burst, time.Now)})
		if p, _ := q.stats(); p > 0 {
			dlog.Info("notification queue: resuming unsent alerts", slog.Int("pending", p))
		}
	}
	return d, nil
}

// Enqueue queues a for every destination whose MinLevel it reaches. It
// never waits for a destination: see the package comment for what happens
// when a queue is full. An error means a queue could not write the alert
// to disk (it is still delivered unless the process stops first) or the
// Dispatcher is closed.
func (d *Dispatcher) Enqueue(a *alert.Alert) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encoding alert %s: %w", a.ID, err)
	}
	rank, ok := alert.LevelRank(a.Level)
	var errs []error
	for _, ds := range d.dests {
		if ds.minRank > 0 && (!ok || rank < ds.minRank) {
			continue
		}
		if err := ds.q.push(doc); err != nil {
			if errors.Is(err, errClosed) {
				return ErrClosed
			}
			errs = append(errs, fmt.Errorf("queueing alert %s for %s: %w", a.ID, ds.cfg.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Run delivers queued alerts until ctx is cancelled or Close has drained
// the queues; it owns one worker goroutine per destination. It returns nil
// on either; ErrClosed when called after Close.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	if d.running {
		d.mu.Unlock()
		return errors.New("notify: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.running, d.stop, d.done = true, cancel, make(chan struct{})
	done := d.done
	d.mu.Unlock()
	defer close(done)

	g, gctx := errgroup.WithContext(ctx)
	for _, ds := range d.dests {
		g.Go(func() error { return d.deliver(gctx, ds) })
	}
	return g.Wait()
}

// Close stops accepting alerts and lets Run's workers empty their queues
// until ctx is done; then it stops them (what is left stays queued on disk
// for the next run) and closes the files. It returns ctx's error when the
// queues were not drained in time.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.drain)
	done, stop := d.done, d.stop
	d.mu.Unlock()
	var err error
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			stop()
			<-done
			err = fmt.Errorf("draining notification queues: %w", ctx.Err())
		}
	}
	if cerr := d.closeQueues(); err == nil {
		err = cerr
	}
	return err
}

func (d *Dispatcher) closeQueues() error {
	var errs []error
	for _, ds := range d.dests {
		errs = append(errs, ds.q.close())
	}
	return errors.Join(errs...)
}

// Stats returns the counters by destination name.
func (d *Dispatcher) Stats() map[string]Stats {
	out := make(map[string]Stats, len(d.dests))
	for _, ds := range d.dests {
		p, dropped := ds.q.stats()
		out[ds.cfg.Name] = Stats{Sent: ds.sent.Load(), Retries: ds.retries.Load(), Failed: ds.failed.Load(), Dropped: dropped, Pending: p}
	}
	return out
}

// sleep waits for d or until ctx is done; it reports whether it slept the
// whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff returns the wait after the n-th consecutive failure (n >= 1):
// InitialBackoff·2^(n-1) capped at MaxBackoff, drawn uniformly from its
// upper half (jitter), and at least what the server asked for.
func backoff(c *DestinationConfig, n int, err error) time.Duration {
	b := c.InitialBackoff
	for i := 1; i < n && b < c.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, c.MaxBackoff)
	if b > 1 {
		b = b/2 + rand.N(b/2+1)
	}
	return max(b, retryAfter(err))
}

// deliver is one destination's worker: it sends the queue's oldest alert
// until it is delivered, failed for good or dropped, then the next. It
// returns nil when ctx is done, or when the Dispatcher is closing and the
// queue is empty.
func (d *Dispatcher) deliver(ctx context.Context, ds *destState) error {
	log := d.log.With(slog.String("destination", ds.cfg.Name))
	var lastSeq uint64
	failures := 0
	for {
		it, ok := ds.q.peek()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-d.drain:
				if _, ok := ds.q.peek(); !ok {
					return nil
				}
				continue
			case <-ds.q.wake:
				continue
			}
		}
		if it.seq != lastSeq {
			lastSeq, failures = it.seq, 0
			if !sleep(ctx, ds.bucket.take()) {
				return nil
			}
		}
		var a alert.Alert
		if err := json.Unmarshal(it.doc, &a); err != nil {
			log.Error("notification queue: undecodable alert, skipping it", slog.Uint64("seq", it.seq), slog.Any("error", err))
			ds.failed.Add(1)
			d.ack(log, ds, it.seq)
			continue
		}
		actx, cancel := context.WithTimeout(ctx, ds.cfg.Timeout)
		err := ds.dest.Send(actx, &a, it.doc)
		cancel()
		switch {
		case err == nil:
			ds.sent.Add(1)
			d.ack(log, ds, it.seq)
		case ctx.Err() != nil:
			return nil // stopping: the alert stays queued
		case isPermanent(err):
			ds.failed.Add(1)
			log.Error("alert notification failed for good", slog.String("alert_id", a.ID), slog.Any("error", err))
			d.ack(log, ds, it.seq)
		default:
			failures++
			ds.retries.Add(1)
			wait := backoff(&ds.cfg, failures, err)
			log.Warn("alert notification failed, retrying", slog.String("alert_id", a.ID),
				slog.Int("attempt", failures), slog.Duration("retry_in", wait), slog.Any("error", err))
			if !sleep(ctx, wait) {
				return nil
			}
		}
	}
}

func (d *Dispatcher) ack(log *slog.Logger, ds *destState, seq uint64) {
	if err := ds.q.ack(seq); err != nil {
		// The alert is done; on restart it may be sent once more.
		log.Error("notification queue: persisting the acknowledged offset", slog.Any("error", err))
	}
}
