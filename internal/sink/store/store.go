// Package store is the pipeline sink that writes documents into the
// embedded store (internal/store). It gathers the pipeline's small batches
// into large writes, because one store write of many documents costs much
// less per document than many small ones, and acknowledges each document
// only after the write that holds it has committed.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/store"
)

// Limits of one write to the store.
const (
	// DefaultMaxDocs is the most documents gathered before a write.
	DefaultMaxDocs = 20000
	// DefaultMaxBytes is the most document bytes gathered before a write.
	DefaultMaxBytes = 32 << 20
	// DefaultMaxWait is the longest a document waits for its write.
	DefaultMaxWait = time.Second
)

// bgTimeout bounds a write started by the flush timer, which has no
// caller's context.
const bgTimeout = 5 * time.Minute

// Sink writes batches into a store.Store. Documents are copied and held
// until DefaultMaxDocs (or DefaultMaxBytes of sources) are gathered or the
// oldest has waited DefaultMaxWait, then written in one call; their acks
// resolve after that call returns. A document the store rejects as
// malformed goes to the dead letter (when one is set) and resolves as
// dead-lettered; any other write error is returned by the next Write or by
// Close, and the documents of the failed write are never acknowledged, so
// their source is replayed.
//
// Write and Close are called from one goroutine, as pipeline.Sink says. A
// timer goroutine, started by the first Write and stopped by Close, writes
// what is held when no Write comes for DefaultMaxWait.
type Sink struct {
	st       store.Store
	logger   *slog.Logger
	dl       pipeline.DeadLetter
	maxDocs  int
	maxBytes int
	maxWait  time.Duration

	mu      sync.Mutex // guards the fields below
	docs    []store.Doc
	acks    []*event.Ack
	arena   []byte
	first   time.Time // when the oldest held document arrived
	err     error     // the first failed write
	started bool
	stop    chan struct{}
	done    chan struct{}

	delivered atomic.Int64
	dead      atomic.Int64
	written   atomic.Int64
}

// Option configures a Sink.
type Option func(*Sink)

// WithDeadLetter sends documents the store rejects to dl.
func WithDeadLetter(dl pipeline.DeadLetter) Option {
	return func(s *Sink) { s.dl = dl }
}

// WithLimits sets how many documents (and bytes of sources) a write
// gathers and how long the oldest may wait; values <= 0 keep the defaults.
func WithLimits(maxDocs, maxBytes int, maxWait time.Duration) Option {
	return func(s *Sink) {
		if maxDocs > 0 {
			s.maxDocs = maxDocs
		}
		if maxBytes > 0 {
			s.maxBytes = maxBytes
		}
		if maxWait > 0 {
			s.maxWait = maxWait
		}
	}
}

// New returns a sink writing into st. It does not close st.
func New(st store.Store, logger *slog.Logger, opts ...Option) *Sink {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{st: st, logger: logger, maxDocs: DefaultMaxDocs, maxBytes: DefaultMaxBytes, maxWait: DefaultMaxWait}
	for _, o := range opts {
		o(s)
	}
	return s
}

// BytesWritten returns the document bytes written to the store so far.
func (s *Sink) BytesWritten() int64 { return s.written.Load() }

// Delivered returns how many documents were written.
func (s *Sink) Delivered() int64 { return s.delivered.Load() }

// DeadLettered returns how many documents the store rejected.
func (s *Sink) DeadLettered() int64 { return s.dead.Load() }

// Write copies the batch's documents and writes what is held when it is
// large enough.
func (s *Sink) Write(ctx context.Context, b *pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if !s.started {
		s.started = true
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.timer()
	}
	if len(s.docs) == 0 {
		s.first = time.Now()
	}
	for i := range b.Docs {
		d := &b.Docs[i]
		start := len(s.arena)
		s.arena = append(s.arena, d.Source...)
		s.docs = append(s.docs, store.Doc{ID: d.ID, Index: d.Index, LogType: d.LogType, TimestampMs: d.TimestampMs, Source: s.arena[start:len(s.arena):len(s.arena)]})
		s.acks = append(s.acks, d.Ack)
	}
	if len(s.docs) >= s.maxDocs || len(s.arena) >= s.maxBytes || time.Since(s.first) >= s.maxWait {
		return s.flushLocked(ctx)
	}
	return nil
}

// timer writes held documents that have waited maxWait. It stops when
// Close closes s.stop.
func (s *Sink) timer() {
	defer close(s.done)
	t := time.NewTicker(s.maxWait / 4)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		if s.err == nil && len(s.docs) > 0 && time.Since(s.first) >= s.maxWait {
			ctx, cancel := context.WithTimeout(context.Background(), bgTimeout)
			// The error is kept in s.err and returned by the next Write
			// or Close.
			_ = s.flushLocked(ctx)
			cancel()
		}
		s.mu.Unlock()
	}
}

// rejecter is implemented by the store's error for malformed documents
// (duckdb.RejectedError): the reason for each rejected document by its
// position in the slice written; the other documents were stored.
type rejecter interface {
	Rejections() map[int]error
}

// flushLocked writes the held documents and resolves their acks.
func (s *Sink) flushLocked(ctx context.Context) error {
	if len(s.docs) == 0 {
		return nil
	}
	docs, acks := s.docs, s.acks
	s.docs, s.acks, s.arena = s.docs[:0], s.acks[:0], s.arena[:0]
	defer clear(docs) // drop references to the sources
	err := s.st.Write(ctx, docs)
	var rej rejecter
	if err != nil && !errors.As(err, &rej) {
		// The documents stay unacknowledged: their objects are not
		// reported as loaded, and the run fails with this error.
		s.err = fmt.Errorf("writing %d documents to the store: %w", len(docs), err)
		return s.err
	}
	var reasons map[int]error
	if rej != nil {
		reasons = rej.Rejections()
	}
	for i := range docs {
		reason, bad := reasons[i]
		if !bad {
			acks[i].Done(event.Delivered)
			s.delivered.Add(1)
			s.written.Add(int64(len(docs[i].Source)))
			continue
		}
		d := &docs[i]
		msg := fmt.Sprintf("store rejected _id %q (index %s): %v", d.ID, d.Index, reason)
		if s.dl != nil {
			if err := s.dl.Add(pipeline.Failure{LogType: d.LogType, Reason: msg, Raw: d.Source}); err != nil {
				// Neither stored nor kept: leave it unacknowledged.
				s.err = fmt.Errorf("store sink: dead-lettering _id %q: %w", d.ID, err)
				return s.err
			}
		} else {
			s.logger.Error("document not stored", "id", d.ID, "index", d.Index, "log_type", d.LogType, "reason", reason.Error())
		}
		acks[i].Done(event.DeadLettered)
		s.dead.Add(1)
	}
	clear(acks)
	return nil
}

// Close writes what is held and stops the timer. It does not close the
// store.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.started = false
	if started {
		close(s.stop)
	}
	s.mu.Unlock()
	if started {
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return s.flushLocked(ctx)
}
