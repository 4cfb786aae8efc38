// Package store is the pipeline sink that writes documents into the
// embedded store (internal/store). It gathers batches into larger writes,
// because the store's cost per write is mostly fixed, and acknowledges a
// document only after the write that holds it has returned.
package store

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/store"
)

// Limits of one write to the store.
const (
	// DefaultMaxDocs is the most documents gathered before a write.
	DefaultMaxDocs = 8192
	// DefaultMaxBytes is the most document bytes gathered before a write.
	DefaultMaxBytes = 16 << 20
)

// Sink writes documents to a store.Store. It is used by the pipeline's one
// sink goroutine: Write and Close are not safe for concurrent use. Closing
// the sink does not close the store.
type Sink struct {
	st       store.Store
	log      *slog.Logger
	maxDocs  int
	maxBytes int

	buf     []byte      // the pending documents' sources, one after another
	pending []store.Doc // Source is set from ends at flush time
	ends    []int       // end offset in buf of each pending source
	acks    []*event.Ack
	written int64
}

// New returns a sink writing to st.
func New(st store.Store, logger *slog.Logger) *Sink {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sink{st: st, log: logger, maxDocs: DefaultMaxDocs, maxBytes: DefaultMaxBytes}
}

// BytesWritten returns the document bytes written to the store so far.
func (s *Sink) BytesWritten() int64 { return s.written }

// Write copies the batch's documents and writes them to the store once
// enough are gathered; their acks resolve then.
func (s *Sink) Write(ctx context.Context, b *pipeline.Batch) error {
	for i := range b.Docs {
		d := &b.Docs[i]
		s.buf = append(s.buf, d.Source...)
		s.ends = append(s.ends, len(s.buf))
		s.pending = append(s.pending, store.Doc{ID: d.ID, Index: d.Index, LogType: d.LogType, TimestampMs: d.TimestampMs})
		s.acks = append(s.acks, d.Ack)
	}
	if len(s.pending) >= s.maxDocs || len(s.buf) >= s.maxBytes {
		return s.flush(ctx)
	}
	return nil
}

// flush writes the pending documents and acknowledges them.
func (s *Sink) flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	start := 0
	for i, end := range s.ends {
		s.pending[i].Source = s.buf[start:end:end]
		start = end
	}
	if err := s.st.Write(ctx, s.pending); err != nil {
		// The documents stay unacknowledged: their objects are not
		// reported as loaded, and the run fails with this error.
		return fmt.Errorf("writing %d documents to the store: %w", len(s.pending), err)
	}
	s.written += int64(len(s.buf))
	for _, a := range s.acks {
		a.Done(event.Delivered)
	}
	clear(s.acks)
	clear(s.pending)
	s.buf, s.ends, s.pending, s.acks = s.buf[:0], s.ends[:0], s.pending[:0], s.acks[:0]
	return nil
}

// Close writes what is pending. The store stays open.
func (s *Sink) Close(ctx context.Context) error {
	return s.flush(ctx)
}
