// Package ndjson is the sink that writes one JSON object per document,
// {"_index": ..., "_id": ..., "_source": {...}}, to a file or stdout, and
// the dead-letter writer that keeps failed records for replay.
package ndjson

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

// Sink writes documents as NDJSON lines. Each batch is flushed before its
// documents are acknowledged, so an acknowledged document is in the file.
type Sink struct {
	w       *bufio.Writer
	dst     io.Writer // what w writes to: a batch of whole lines goes there directly
	c       io.Closer
	line    []byte
	written atomic.Int64
}

// Open returns a sink writing to path; "-" means standard output.
func Open(path string) (*Sink, error) {
	if path == "-" {
		return New(os.Stdout, nil), nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("opening NDJSON sink: %w", err)
	}
	return New(f, f), nil
}

// New returns a sink writing to w; c (may be nil) is closed by Close.
func New(w io.Writer, c io.Closer) *Sink {
	return &Sink{w: bufio.NewWriterSize(w, 1<<20), dst: w, c: c}
}

// BytesWritten returns how many bytes the sink has written.
func (s *Sink) BytesWritten() int64 { return s.written.Load() }

// Write appends the batch and flushes it, then acknowledges its documents.
func (s *Sink) Write(_ context.Context, b *pipeline.Batch) error {
	var n int64
	if b.Lines {
		// The batch already holds the lines: written as they are, without
		// a copy into the buffer.
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("writing NDJSON: %w", err)
		}
		if _, err := s.dst.Write(b.Buf); err != nil {
			return fmt.Errorf("writing NDJSON: %w", err)
		}
		n = int64(len(b.Buf))
	}
	for i := range b.Docs {
		if b.Lines {
			break
		}
		d := &b.Docs[i]
		s.line = appendHead(s.line[:0], d)
		// bufio.Writer keeps its first error, so checking the last write
		// of the line is enough.
		_, _ = s.w.Write(s.line)
		_, _ = s.w.Write(d.Source)
		if _, err := s.w.Write(tail); err != nil {
			return fmt.Errorf("writing NDJSON: %w", err)
		}
		n += int64(len(s.line) + len(d.Source) + len(tail))
	}
	s.written.Add(n)
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing NDJSON: %w", err)
	}
	for i := range b.Docs {
		b.Docs[i].Ack.Done(event.Delivered)
	}
	return nil
}

// tail ends a document line.
var tail = []byte("}\n")

// appendHead appends the start of a document line, up to its _source.
func appendHead(dst []byte, d *event.Document) []byte {
	return pipeline.AppendLineHead(dst, d.Index, d.ID)
}

// Close flushes and closes the output.
func (s *Sink) Close(context.Context) error {
	err := s.w.Flush()
	if s.c != nil {
		if cerr := s.c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("closing NDJSON sink: %w", err)
	}
	return nil
}

// DeadLetter keeps records that could not be turned into documents, one
// JSON line each with everything needed to replay them: where the record
// came from, its log type, the line number, the reason and the raw bytes.
// The file is created on the first failure. It is safe for concurrent use.
type DeadLetter struct {
	path  string
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	count atomic.Int64
	line  []byte
}

// NewDeadLetter returns a dead-letter writer for path.
func NewDeadLetter(path string) *DeadLetter { return &DeadLetter{path: path} }

// Path returns where dead letters go.
func (d *DeadLetter) Path() string { return d.path }

// Count returns how many records were dead-lettered.
func (d *DeadLetter) Count() int64 { return d.count.Load() }

// Add writes one entry.
func (d *DeadLetter) Add(e pipeline.Failure) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w == nil {
		f, err := os.Create(d.path)
		if err != nil {
			return fmt.Errorf("opening dead-letter file: %w", err)
		}
		d.f, d.w = f, bufio.NewWriter(f)
	}
	b := d.line[:0]
	b = append(b, `{"bucket":`...)
	b = normalize.AppendQuoted(b, e.Origin.Bucket)
	b = append(b, `,"key":`...)
	b = normalize.AppendQuoted(b, e.Origin.Key)
	b = append(b, `,"path":`...)
	b = normalize.AppendQuoted(b, e.Origin.Path)
	b = append(b, `,"log_type":`...)
	b = normalize.AppendQuoted(b, e.LogType)
	b = append(b, `,"line":`...)
	b = fmt.Appendf(b, "%d", e.Line)
	b = append(b, `,"reason":`...)
	b = normalize.AppendQuoted(b, e.Reason)
	if utf8.Valid(e.Raw) {
		b = append(b, `,"raw":`...)
		b = normalize.AppendQuoted(b, string(e.Raw))
	} else {
		b = append(b, `,"raw_base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, e.Raw)
		b = append(b, '"')
	}
	b = append(b, '}', '\n')
	d.line = b
	d.count.Add(1)
	if _, err := d.w.Write(b); err != nil {
		return fmt.Errorf("writing dead-letter file: %w", err)
	}
	return nil
}

// Close flushes and closes the file, if one was created.
func (d *DeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w == nil {
		return nil
	}
	err := d.w.Flush()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	d.w = nil
	if err != nil {
		return fmt.Errorf("closing dead-letter file: %w", err)
	}
	return nil
}
