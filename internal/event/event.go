// Package event holds the types every pipeline stage shares: where data came
// from (Origin), the acknowledgement token that ties derived documents back to
// their source object (Ack), raw records and output documents.
package event

import (
	"sync"
	"sync/atomic"
)

// Origin says where an object came from. Key is the S3-style key used to
// detect the log type: for local files it is the path relative to the
// directory given on the command line (or the path as given).
type Origin struct {
	// Bucket is the S3 bucket, or the base name of the directory walked for
	// local files.
	Bucket string
	// Key is the object key used for log type detection and @log_s3key.
	Key string
	// Path is the local file path, empty for remote objects.
	Path string
	// Size is the object size in bytes when known, else -1.
	Size int64
}

// Outcome is how one document (or a whole object) ended.
type Outcome int

// Outcomes a document can end with. Every derived document must end with
// exactly one of them before the source may commit.
const (
	// Delivered means the sink made the document durable.
	Delivered Outcome = iota
	// Filtered means an exclusion rule dropped the document on purpose.
	Filtered
	// DeadLettered means the document failed and was written to the
	// dead-letter sink with its reason.
	DeadLettered
)

// Ack is the acknowledgement token of one source object or record. A stage
// that derives N documents calls Add(N) before handing them on; each document
// resolves once through Done. When Close has been called (no more documents
// will be added) and every added document is done, the OnResolve callback
// runs exactly once. Ack is safe for concurrent use.
type Ack struct {
	pending   atomic.Int64
	closed    atomic.Bool
	once      sync.Once
	delivered atomic.Int64
	filtered  atomic.Int64
	dead      atomic.Int64
	onResolve func(Summary)
}

// Summary counts how the documents of one Ack ended.
type Summary struct {
	Delivered, Filtered, DeadLettered int64
}

// NewAck returns a token that calls onResolve (may be nil) once every
// document added to it has ended and Close was called.
func NewAck(onResolve func(Summary)) *Ack {
	return &Ack{onResolve: onResolve}
}

// Add registers n more documents that must end before the token resolves.
// It must not be called after Close.
func (a *Ack) Add(n int) {
	if a == nil {
		return
	}
	a.pending.Add(int64(n))
}

// Done ends one document with the given outcome.
func (a *Ack) Done(o Outcome) {
	if a == nil {
		return
	}
	switch o {
	case Delivered:
		a.delivered.Add(1)
	case Filtered:
		a.filtered.Add(1)
	case DeadLettered:
		a.dead.Add(1)
	}
	if a.pending.Add(-1) == 0 && a.closed.Load() {
		a.resolve()
	}
}

// Close says no more documents will be added. If all added documents have
// already ended, the token resolves now.
func (a *Ack) Close() {
	if a == nil {
		return
	}
	a.closed.Store(true)
	if a.pending.Load() == 0 {
		a.resolve()
	}
}

func (a *Ack) resolve() {
	a.once.Do(func() {
		if a.onResolve != nil {
			a.onResolve(Summary{
				Delivered:    a.delivered.Load(),
				Filtered:     a.filtered.Load(),
				DeadLettered: a.dead.Load(),
			})
		}
	})
}

// Document is one output document, ready for a sink.
type Document struct {
	// Index is the target index name (with rotation suffix applied).
	Index string
	// ID is the deterministic document id (_id).
	ID string
	// Source is the serialized JSON of the document body (_source). The
	// sink owns it after Write is called.
	Source []byte
	// LogType is the log type name (the config section).
	LogType string
	// TimestampMs is @timestamp as epoch milliseconds.
	TimestampMs int64
	// Ack is resolved by the sink with the document's outcome.
	Ack *Ack
}
