package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

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

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rejectStore stores every document but those whose source is not an
// object, which it reports the way the DuckDB store does.
type rejectStore struct {
	memStore
}

type rejections map[int]error

func (r rejections) Error() string             { return fmt.Sprintf("%d rejected", len(r)) }
func (r rejections) Rejections() map[int]error { return r }

func (m *rejectStore) Write(ctx context.Context, docs []store.Doc) error {
	rej := rejections{}
	var good []store.Doc
	for i, d := range docs {
		if len(d.Source) == 0 || d.Source[0] != '{' {
			rej[i] = errors.New("not a JSON object")
			continue
		}
		good = append(good, d)
	}
	if err := m.memStore.Write(ctx, good); err != nil {
		return err
	}
	if len(rej) > 0 {
		return fmt.Errorf("writing: %w", rej)
	}
	return nil
}

// memDeadLetter keeps failures.
type memDeadLetter struct {
	mu   sync.Mutex
	got  []pipeline.Failure
	fail error
}

func (d *memDeadLetter) Add(f pipeline.Failure) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	d.got = append(d.got, f)
	return nil
}

func TestSinkDeadLettersRejectedDocuments(t *testing.T) {
	tests := []struct {
		name      string
		dl        *memDeadLetter
		wantErr   bool
		wantDead  int64
		wantStore int
	}{
		{name: "to the dead letter", dl: &memDeadLetter{}, wantDead: 1, wantStore: 2},
		{name: "logged without a dead letter", wantDead: 1, wantStore: 2},
		{name: "dead letter fails", dl: &memDeadLetter{fail: errors.New("disk full")}, wantErr: true, wantStore: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := &rejectStore{}
			var opts []Option
			if tc.dl != nil {
				opts = append(opts, WithDeadLetter(tc.dl))
			}
			s := New(ms, nil, opts...)
			var sum event.Summary
			resolved := false
			ack := event.NewAck(func(s event.Summary) { sum, resolved = s, true })
			b := batch(0, 3, ack)
			b.Docs[1].Source = []byte(`[1]`)
			if err := s.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			err := s.Close(context.Background())
			ack.Close()
			if tc.wantErr {
				if err == nil || !errors.Is(err, tc.dl.fail) {
					t.Fatalf("Close: %v, want the dead letter's error", err)
				}
				if resolved {
					t.Fatal("a document neither stored nor dead-lettered was acknowledged")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum != (event.Summary{Delivered: 2, DeadLettered: tc.wantDead}) || s.DeadLettered() != tc.wantDead || s.Delivered() != 2 {
				t.Fatalf("summary %+v, sink counts %d/%d", sum, s.Delivered(), s.DeadLettered())
			}
			if tc.dl != nil {
				if len(tc.dl.got) != 1 || !strings.Contains(tc.dl.got[0].Reason, `_id "1"`) || string(tc.dl.got[0].Raw) != `[1]` || tc.dl.got[0].LogType != "t" {
					t.Fatalf("dead letters %+v", tc.dl.got)
				}
			}
			if len(ms.writes) != 1 || len(ms.writes[0]) != tc.wantStore {
				t.Fatalf("writes %v", ms.writes)
			}
		})
	}
}

func TestSinkWritesHeldDocumentsAfterMaxWait(t *testing.T) {
	ms := &lockedStore{}
	s := New(ms, nil, WithLimits(1000, 0, 20*time.Millisecond))
	done := make(chan event.Summary, 1)
	ack := event.NewAck(func(s event.Summary) { done <- s })
	if err := s.Write(context.Background(), batch(0, 5, ack)); err != nil {
		t.Fatal(err)
	}
	ack.Close()
	select {
	case sum := <-done:
		if sum.Delivered != 5 {
			t.Fatalf("summary %+v", sum)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held documents were not written without another Write")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ms.count(); n != 5 {
		t.Fatalf("%d documents stored, want 5", n)
	}
}

func TestSinkTimerErrorIsReported(t *testing.T) {
	ms := &lockedStore{}
	ms.fail = errors.New("disk full")
	s := New(ms, nil, WithLimits(1000, 0, 10*time.Millisecond))
	ack := event.NewAck(nil)
	if err := s.Write(context.Background(), batch(0, 2, ack)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.Write(context.Background(), batch(2, 1, ack))
		if err != nil {
			if !errors.Is(err, ms.fail) {
				t.Fatalf("Write after a failed timed write: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the timed write's error never surfaced")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(context.Background()); !errors.Is(err, ms.fail) {
		t.Fatalf("Close: %v", err)
	}
}

// lockedStore is a memStore safe to use from the sink's timer goroutine.
type lockedStore struct {
	mu sync.Mutex
	memStore
}

func (l *lockedStore) Write(ctx context.Context, docs []store.Doc) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.memStore.Write(ctx, docs)
}

func (l *lockedStore) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, w := range l.writes {
		n += len(w)
	}
	return n
}

// gateStore holds each Write until the test releases it.
type gateStore struct {
	lockedStore
	entered chan int // the size of each write, as it starts
	release chan struct{}
}

func (g *gateStore) Write(ctx context.Context, docs []store.Doc) error {
	g.entered <- len(docs)
	<-g.release
	return g.lockedStore.Write(ctx, docs)
}

// TestSinkGathersWhileWriting checks that the pipeline is not held up by
// a write in flight, that a second full write waits for the first, and
// that writes reach the store in order.
func TestSinkGathersWhileWriting(t *testing.T) {
	gs := &gateStore{entered: make(chan int, 4), release: make(chan struct{})}
	s := New(gs, nil, WithLimits(10, 0, time.Hour))
	var sum event.Summary
	ack := event.NewAck(func(s event.Summary) { sum = s })
	ctx := context.Background()
	if err := s.Write(ctx, batch(0, 10, ack)); err != nil {
		t.Fatal(err)
	}
	if n := <-gs.entered; n != 10 {
		t.Fatalf("first write of %d documents, want 10", n)
	}
	// The first write is held by the store: the sink still takes batches.
	if err := s.Write(ctx, batch(10, 5, ack)); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- s.Write(ctx, batch(15, 5, ack)) }() // full: waits for the first write
	select {
	case err := <-second:
		t.Fatalf("a second full write did not wait for the first: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	gs.release <- struct{}{}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if n := <-gs.entered; n != 10 {
		t.Fatalf("second write of %d documents, want 10", n)
	}
	if err := s.Write(ctx, batch(20, 3, ack)); err != nil {
		t.Fatal(err)
	}
	go func() {
		gs.release <- struct{}{} // the second write
		<-gs.entered
		gs.release <- struct{}{} // the rest, written by Close
	}()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ack.Close()
	var ids []string
	for _, w := range gs.writes {
		for _, d := range w {
			ids = append(ids, d.ID)
		}
	}
	for i, id := range ids {
		if id != fmt.Sprint(i) {
			t.Fatalf("documents stored in the order %v", ids)
		}
	}
	if len(ids) != 23 || sum.Delivered != 23 || s.Delivered() != 23 {
		t.Fatalf("%d stored, %d delivered (%d counted), want 23", len(ids), sum.Delivered, s.Delivered())
	}
}

// ctxStore fails a write whose context ends while it runs.
type ctxStore struct {
	lockedStore
}

func (c *ctxStore) Write(ctx context.Context, docs []store.Doc) error {
	time.Sleep(20 * time.Millisecond)
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.lockedStore.Write(ctx, docs)
}

// TestSinkWriteOutlivesItsContext checks that a write started by Write
// finishes when the caller's context ends right after (the pipeline's ends
// as its last Write returns).
func TestSinkWriteOutlivesItsContext(t *testing.T) {
	cs := &ctxStore{}
	s := New(cs, nil, WithLimits(10, 0, time.Hour))
	ack := event.NewAck(nil)
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Write(ctx, batch(0, 10, ack)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ack.Close()
	if n := cs.count(); n != 10 {
		t.Fatalf("%d documents stored, want 10", n)
	}
}
