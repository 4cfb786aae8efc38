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

// bgTimeout bounds a write that runs in the background (started by Write
// or by the flush timer), which no caller's context bounds.
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
// A write runs in a goroutine of its own while the sink gathers the next
// one, so the pipeline does not wait for the store (which takes most of a
// second for a full write); at most one write is in flight, the next waits
// for it, so writes reach the store in order and at most two writes'
// documents are held. Close waits for it.
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

	// The write in flight. Its goroutine touches none of the fields
	// above; it sets werr and spare, read after inflight is closed.
	inflight chan struct{} // closed when the write returns; nil if none
	werr     error         // its error
	spare    held          // its buffers, for the next gathering

	delivered atomic.Int64
	dead      atomic.Int64
	written   atomic.Int64
}

// held is the documents of one write, their acks and their sources.
type held struct {
	docs  []store.Doc
	acks  []*event.Ack
	arena []byte
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
	if s.inflight != nil {
		select {
		case <-s.inflight:
			s.waitLocked() // done: keep its error
		default:
		}
	}
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
		return s.flushLocked(ctx, true, bgTimeout)
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
			// The error is kept in s.err and returned by the next Write
			// or Close.
			_ = s.flushLocked(context.Background(), true, bgTimeout)
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

// waitLocked waits for the write in flight and keeps its error.
func (s *Sink) waitLocked() {
	if s.inflight == nil {
		return
	}
	<-s.inflight
	s.inflight = nil
	if s.werr != nil && s.err == nil {
		s.err = s.werr
	}
	s.werr = nil
}

// flushLocked writes the held documents, after the write in flight, and
// resolves their acks: in a goroutine of its own when async, else before it
// returns. A timeout above 0 bounds the write. An async write outlives the
// cancellation of ctx: the caller's context (the pipeline's) may end as
// soon as its last Write returns, and the write it started must still
// finish for Close to acknowledge its documents.
func (s *Sink) flushLocked(ctx context.Context, async bool, timeout time.Duration) error {
	s.waitLocked()
	if s.err != nil {
		return s.err
	}
	if len(s.docs) == 0 {
		return nil
	}
	h := held{docs: s.docs, acks: s.acks, arena: s.arena}
	s.docs, s.acks, s.arena = s.spare.docs[:0], s.spare.acks[:0], s.spare.arena[:0]
	s.spare = held{}
	if !async {
		err := s.write(ctx, h)
		s.spare = h
		if err != nil {
			s.err = err
		}
		return err
	}
	done := make(chan struct{})
	s.inflight = done
	go func() {
		defer close(done)
		wctx := context.WithoutCancel(ctx)
		if timeout > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(wctx, timeout)
			defer cancel()
		}
		s.werr = s.write(wctx, h)
		s.spare = h
	}()
	return nil
}

// write writes one write's documents and resolves their acks. It touches
// only h, the counters, the dead letter and the logger, so it may run
// alongside the sink's Write.
func (s *Sink) write(ctx context.Context, h held) error {
	docs, acks := h.docs, h.acks
	defer clear(docs) // drop references to the sources
	err := s.st.Write(ctx, docs)
	var rej rejecter
	if err != nil && !errors.As(err, &rej) {
		// The documents stay unacknowledged: their objects are not
		// reported as loaded, and the run fails with this error.
		return fmt.Errorf("writing %d documents to the store: %w", len(docs), err)
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
				return fmt.Errorf("store sink: dead-lettering _id %q: %w", d.ID, err)
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
	return s.flushLocked(ctx, false, 0)
}
