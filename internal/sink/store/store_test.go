package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/store"
)

// memStore records writes; it implements only what the sink calls.
type memStore struct {
	store.Store
	writes [][]store.Doc
	fail   error
}

func (m *memStore) Write(_ context.Context, docs []store.Doc) error {
	if m.fail != nil {
		return m.fail
	}
	cp := make([]store.Doc, len(docs))
	for i, d := range docs {
		d.Source = append([]byte(nil), d.Source...)
		cp[i] = d
	}
	m.writes = append(m.writes, cp)
	return nil
}

// batch returns a batch of n documents whose sources share one buffer, as
// the pipeline's do, and the ack they resolve.
func batch(first, n int, ack *event.Ack) *pipeline.Batch {
	b := &pipeline.Batch{}
	for i := first; i < first+n; i++ {
		ack.Add(1)
		start := len(b.Buf)
		b.Buf = fmt.Appendf(b.Buf, `{"n":%d}`, i)
		b.Docs = append(b.Docs, event.Document{ID: fmt.Sprint(i), Index: "ix", LogType: "t", TimestampMs: int64(i), Ack: ack})
		b.Docs[len(b.Docs)-1].Source = b.Buf[start:len(b.Buf):len(b.Buf)]
	}
	return b
}

func TestSinkGathersWritesAndAcks(t *testing.T) {
	tests := []struct {
		name       string
		maxDocs    int
		batches    int
		perBatch   int
		wantWrites int
	}{
		{name: "one write at close", maxDocs: 100, batches: 3, perBatch: 10, wantWrites: 1},
		{name: "a write when full, the rest at close", maxDocs: 25, batches: 4, perBatch: 10, wantWrites: 2},
		{name: "nothing to write", maxDocs: 10, batches: 0, wantWrites: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := &memStore{}
			s := New(ms, nil)
			s.maxDocs = tc.maxDocs
			var sum event.Summary
			ack := event.NewAck(func(s event.Summary) { sum = s })
			for i := 0; i < tc.batches; i++ {
				b := batch(i*tc.perBatch, tc.perBatch, ack)
				if err := s.Write(context.Background(), b); err != nil {
					t.Fatal(err)
				}
				// The pipeline reuses the batch's memory after Write.
				for j := range b.Buf {
					b.Buf[j] = 'x'
				}
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			ack.Close()
			if len(ms.writes) != tc.wantWrites {
				t.Errorf("%d writes, want %d", len(ms.writes), tc.wantWrites)
			}
			n := 0
			for _, w := range ms.writes {
				for _, d := range w {
					if want := fmt.Sprintf(`{"n":%s}`, d.ID); string(d.Source) != want {
						t.Errorf("document %s: source %q, want %q", d.ID, d.Source, want)
					}
					n++
				}
			}
			if n != tc.batches*tc.perBatch || sum.Delivered != int64(n) {
				t.Errorf("%d documents written, %d delivered; want %d", n, sum.Delivered, tc.batches*tc.perBatch)
			}
		})
	}
}

func TestSinkFailedWriteIsNotAcked(t *testing.T) {
	ms := &memStore{fail: errors.New("disk full")}
	s := New(ms, nil)
	resolved := false
	ack := event.NewAck(func(event.Summary) { resolved = true })
	if err := s.Write(context.Background(), batch(0, 3, ack)); err != nil {
		t.Fatal(err)
	}
	err := s.Close(context.Background())
	if err == nil || !errors.Is(err, ms.fail) {
		t.Fatalf("Close: %v, want the store's error", err)
	}
	ack.Close()
	if resolved {
		t.Error("documents whose write failed were acknowledged")
	}
}
