// Package pipeline runs objects from a source through a processor into a
// sink: bounded queues between the stages (a slow sink slows the source),
// one errgroup owning every goroutine, counters for the summary, and the
// interfaces each stage implements.
package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-siem/vigil/internal/event"
)

// Object is one unit a source hands out: a file or S3 object, with the
// token that resolves when every document derived from it has ended.
type Object struct {
	Origin event.Origin
	// Open returns the object's bytes. The caller closes the reader.
	Open func(ctx context.Context) (ReadCloser, error)
	// Ack resolves when the object is fully processed.
	Ack *event.Ack
}

// ReadCloser is the byte stream of an object.
type ReadCloser interface {
	Read(p []byte) (int, error)
	Close() error
}

// Source produces objects until it is exhausted or ctx is done. It sends on
// out and must not close it. Run is called once.
type Source interface {
	Run(ctx context.Context, out chan<- *Object) error
}

// Batch is a group of documents whose Source slices point into Buf. A batch
// belongs to whoever holds it; a sink that keeps documents past Write must
// copy them.
type Batch struct {
	Docs []event.Document
	Buf  []byte
	// Lines says Buf holds the documents as NDJSON lines,
	// {"_index":...,"_id":...,"_source":...}, one after another and nothing
	// else, so an NDJSON sink can write Buf as it is.
	Lines bool
	// Members, filled when an Inspect hook is set, locates the members of
	// the documents' top-level objects so the hook need not scan them:
	// for document i < len(MembersEnd), Members[MembersEnd[i-1]:
	// MembersEnd[i]] (from 0 for the first) holds four offsets into its
	// Source per member, as normalize.Normalizer.Members gives them; an
	// empty range means they are not known.
	Members    []int32
	MembersEnd []int32
}

// DocMembers returns the member offsets of document i (see Members), or
// nil.
func (b *Batch) DocMembers(i int) []int32 {
	if i >= len(b.MembersEnd) {
		return nil
	}
	lo := int32(0)
	if i > 0 {
		lo = b.MembersEnd[i-1]
	}
	return b.Members[lo:b.MembersEnd[i]]
}

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.Docs = b.Docs[:0]
	b.Buf = b.Buf[:0]
	b.Lines = false
	b.Members = b.Members[:0]
	b.MembersEnd = b.MembersEnd[:0]
}

// Sink makes documents durable. Write is called from one goroutine at a
// time; it resolves every document's Ack (delivered or dead-lettered) before
// or after returning, and never drops one silently. A returned error stops
// the pipeline.
type Sink interface {
	Write(ctx context.Context, b *Batch) error
	// Close flushes and releases the sink. It is called once, after the
	// last Write.
	Close(ctx context.Context) error
}

// Processor turns one object into batches of documents handed to out.
// Process reports per-record failures itself (dead letter, counters) and
// returns an error only for a failure of the whole object (it may have
// emitted documents before that). A Processor is used by one goroutine; the
// runner creates one per worker.
type Processor interface {
	Process(ctx context.Context, obj *Object, out *Emitter) error
}

// Emitter hands batches from a processor to the sink. NewBatch returns an
// empty batch owned by the caller; Emit passes its ownership on and blocks
// while the sink queue is full.
type Emitter struct {
	pool  *sync.Pool
	queue chan<- *Batch
	done  <-chan struct{}
	err   func() error
}

// NewBatch returns an empty batch for the caller to fill.
func (e *Emitter) NewBatch() *Batch {
	b := e.pool.Get().(*Batch)
	b.Reset()
	return b
}

// Emit queues b for the sink; the caller must not touch b afterwards.
func (e *Emitter) Emit(b *Batch) error {
	if len(b.Docs) == 0 {
		e.pool.Put(b)
		return nil
	}
	select {
	case e.queue <- b:
		return nil
	case <-e.done:
		e.pool.Put(b)
		return e.err()
	}
}

// Stats are the counters of a run. All fields are updated atomically.
type Stats struct {
	Files     atomic.Int64 // objects finished (including failed ones)
	FileErrs  atomic.Int64 // objects that failed as a whole or in part
	Skipped   atomic.Int64 // objects skipped on purpose (ignored keys)
	Records   atomic.Int64 // records read
	Documents atomic.Int64 // documents delivered to the sink
	Errors    atomic.Int64 // records that failed (dead-lettered)
	Filtered  atomic.Int64 // records dropped on purpose
	BytesIn   atomic.Int64 // bytes read from sources (as stored)
	BytesOut  atomic.Int64 // bytes written by the sink
	Start     time.Time
}

// Config sets the shape of a run.
type Config struct {
	// Workers is the number of objects processed at once.
	Workers int
	// QueueLen bounds the batches waiting for the sink.
	QueueLen int
}

// Run drives src through per-worker processors into sink and returns when
// everything is written or the first fatal error happens. newProc is called
// once per worker. The sink is closed before Run returns.
func Run(ctx context.Context, cfg Config, src Source, newProc func() Processor, sink Sink, onObjectError func(*Object, error)) error {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.QueueLen < 1 {
		cfg.QueueLen = 2 * cfg.Workers
	}
	g, gctx := errgroup.WithContext(ctx)
	objects := make(chan *Object, cfg.Workers)
	batches := make(chan *Batch, cfg.QueueLen)
	pool := sync.Pool{New: func() any { return &Batch{} }}

	g.Go(func() error {
		defer close(objects)
		return src.Run(gctx, objects)
	})

	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Add(1)
		g.Go(func() error {
			defer wg.Done()
			p := newProc()
			em := &Emitter{pool: &pool, queue: batches, done: gctx.Done(), err: gctx.Err}
			for obj := range objects {
				err := p.Process(gctx, obj, em)
				if err != nil {
					if gctx.Err() != nil {
						return gctx.Err()
					}
					if onObjectError != nil {
						onObjectError(obj, err)
					}
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		wg.Wait()
		close(batches)
		return nil
	})

	var sinkErr error
	g.Go(func() error {
		for b := range batches {
			if sinkErr == nil {
				sinkErr = sink.Write(gctx, b)
			}
			pool.Put(b)
			if sinkErr != nil {
				return sinkErr
			}
		}
		return nil
	})
	err := g.Wait()
	if cerr := sink.Close(ctx); err == nil {
		err = cerr
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
