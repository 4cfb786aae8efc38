package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

// TestMain fails the package when a test leaves a goroutine behind: Run
// owns an errgroup and must stop every goroutine before it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeSource hands out n objects named obj-000, obj-001, ... (forever when
// n < 0). Each object's Ack reports its Summary to onResolve.
type fakeSource struct {
	n         int
	onResolve func(key string, s event.Summary)
	sent      atomic.Int64
}

func objKey(i int) string { return fmt.Sprintf("obj-%03d", i) }

func (s *fakeSource) Run(ctx context.Context, out chan<- *pipeline.Object) error {
	for i := 0; s.n < 0 || i < s.n; i++ {
		key := objKey(i)
		var ack *event.Ack
		if s.onResolve != nil {
			ack = event.NewAck(func(sum event.Summary) { s.onResolve(key, sum) })
		}
		obj := &pipeline.Object{Origin: event.Origin{Bucket: "b", Key: key, Size: -1}, Ack: ack}
		select {
		case out <- obj:
			s.sent.Add(1)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// fakeProcessor emits docsPer(key) documents per object in batches of at
// most batchDocs, each document carrying the object's Ack; the document id
// is "<key>#<n>". It closes the object's Ack when done, as a Processor must.
type fakeProcessor struct {
	docsPer   func(key string) int
	batchDocs int
	// failKey, when set, makes Process return errObject for that object
	// after emitting nothing.
	failKey string
	// afterEmit is called after every successful Emit.
	afterEmit func()
}

var errObject = errors.New("object is broken")

func (p *fakeProcessor) Process(ctx context.Context, obj *pipeline.Object, out *pipeline.Emitter) error {
	defer obj.Ack.Close()
	if obj.Origin.Key == p.failKey {
		return errObject
	}
	n := p.docsPer(obj.Origin.Key)
	b := out.NewBatch()
	if len(b.Docs) != 0 || len(b.Buf) != 0 {
		return fmt.Errorf("NewBatch returned a batch with %d docs and %d bytes", len(b.Docs), len(b.Buf))
	}
	for i := range n {
		id := fmt.Sprintf("%s#%d", obj.Origin.Key, i)
		start := len(b.Buf)
		b.Buf = fmt.Appendf(b.Buf, `{"id":%q}`, id)
		obj.Ack.Add(1)
		b.Docs = append(b.Docs, event.Document{Index: "idx", ID: id, Ack: obj.Ack})
		b.Docs[len(b.Docs)-1].Source = b.Buf[start:len(b.Buf):len(b.Buf)]
		if len(b.Docs) >= p.batchDocs {
			if err := out.Emit(b); err != nil {
				return err
			}
			if p.afterEmit != nil {
				p.afterEmit()
			}
			b = out.NewBatch()
		}
	}
	if err := out.Emit(b); err != nil { // an empty batch is just returned to the pool
		return err
	}
	if p.afterEmit != nil && n%p.batchDocs != 0 {
		p.afterEmit()
	}
	return nil
}

// fakeSink records every document it is given, then resolves its Ack with
// outcome(id). It can fail on the failAt-th Write (1-based) and sleep in
// every Write.
type fakeSink struct {
	mu       sync.Mutex
	seen     map[string]int // document id -> times written
	perKey   map[string]int // object key -> documents written
	outcome  func(id string) event.Outcome
	failAt   int
	delay    time.Duration
	blockCtx bool // Write waits for ctx to be done

	writes   atomic.Int64
	received atomic.Int64 // batches taken from the queue
	closes   atomic.Int64
}

var errSink = errors.New("sink is full")

func newFakeSink() *fakeSink {
	return &fakeSink{seen: map[string]int{}, perKey: map[string]int{}}
}

func (s *fakeSink) Write(ctx context.Context, b *pipeline.Batch) error {
	s.received.Add(1)
	n := s.writes.Add(1)
	if s.blockCtx {
		<-ctx.Done()
		return ctx.Err()
	}
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if s.failAt > 0 && int(n) == s.failAt {
		return errSink
	}
	for i := range b.Docs {
		d := &b.Docs[i]
		if want := fmt.Sprintf(`{"id":%q}`, d.ID); string(d.Source) != want {
			return fmt.Errorf("document %s has source %s, want %s", d.ID, d.Source, want)
		}
		key := d.ID[:len("obj-000")]
		s.mu.Lock()
		s.seen[d.ID]++
		s.perKey[key]++
		s.mu.Unlock()
		o := event.Delivered
		if s.outcome != nil {
			o = s.outcome(d.ID)
		}
		d.Ack.Done(o)
	}
	return nil
}

func (s *fakeSink) Close(context.Context) error {
	s.closes.Add(1)
	return nil
}

func (s *fakeSink) written(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perKey[key]
}

// resolutions records every Ack resolution.
type resolutions struct {
	mu    sync.Mutex
	got   map[string][]event.Summary
	check func(key string, s event.Summary) // called inside onResolve
}

func (r *resolutions) onResolve(key string, s event.Summary) {
	if r.check != nil {
		r.check(key, s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[key] = append(r.got[key], s)
}

func TestRunDeliversEveryDocumentOnce(t *testing.T) {
	// docs: obj-000 has 0 documents, obj-001 has 1, ... up to 9 (mod 10).
	docsPer := func(key string) int {
		var i int
		fmt.Sscanf(key, "obj-%d", &i)
		return i % 10
	}
	// Every fifth document (by its number within the object) is
	// dead-lettered and every seventh filtered, to check the Summary.
	outcome := func(id string) event.Outcome {
		var i, n int
		fmt.Sscanf(id, "obj-%d#%d", &i, &n)
		switch {
		case n%5 == 4:
			return event.DeadLettered
		case n%7 == 6:
			return event.Filtered
		}
		return event.Delivered
	}
	want := func(key string) event.Summary {
		var s event.Summary
		for n := range docsPer(key) {
			switch outcome(fmt.Sprintf("%s#%d", key, n)) {
			case event.Delivered:
				s.Delivered++
			case event.Filtered:
				s.Filtered++
			case event.DeadLettered:
				s.DeadLettered++
			}
		}
		return s
	}

	tests := []struct {
		name      string
		objects   int
		workers   int
		queueLen  int
		batchDocs int
	}{
		{name: "one worker, batches of one", objects: 20, workers: 1, queueLen: 1, batchDocs: 1},
		{name: "one worker, big batches", objects: 20, workers: 1, queueLen: 0, batchDocs: 100},
		{name: "four workers, batches of three", objects: 57, workers: 4, queueLen: 2, batchDocs: 3},
		{name: "defaults (zero config)", objects: 13, workers: 0, queueLen: 0, batchDocs: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := newFakeSink()
			sink.outcome = outcome
			res := &resolutions{got: map[string][]event.Summary{}}
			res.check = func(key string, s event.Summary) {
				// The token must not resolve before the sink has every
				// document of the object.
				if got := sink.written(key); got != docsPer(key) {
					t.Errorf("%s resolved with %+v when the sink had %d of %d documents", key, s, got, docsPer(key))
				}
			}
			src := &fakeSource{n: tc.objects, onResolve: res.onResolve}
			newProc := func() pipeline.Processor {
				return &fakeProcessor{docsPer: docsPer, batchDocs: tc.batchDocs}
			}
			var objErrs atomic.Int64
			err := pipeline.Run(context.Background(), pipeline.Config{Workers: tc.workers, QueueLen: tc.queueLen},
				src, newProc, sink, func(*pipeline.Object, error) { objErrs.Add(1) })
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if n := objErrs.Load(); n != 0 {
				t.Errorf("onObjectError called %d times, want 0", n)
			}
			if n := sink.closes.Load(); n != 1 {
				t.Errorf("sink.Close called %d times, want 1", n)
			}
			total := 0
			for i := range tc.objects {
				key := objKey(i)
				for n := range docsPer(key) {
					id := fmt.Sprintf("%s#%d", key, n)
					if c := sink.seen[id]; c != 1 {
						t.Errorf("document %s reached the sink %d times, want 1", id, c)
					}
					total++
				}
				got := res.got[key]
				if len(got) != 1 {
					t.Errorf("%s: Ack resolved %d times, want 1", key, len(got))
					continue
				}
				if got[0] != want(key) {
					t.Errorf("%s: Summary = %+v, want %+v", key, got[0], want(key))
				}
			}
			if len(sink.seen) != total {
				t.Errorf("sink saw %d distinct documents, want %d", len(sink.seen), total)
			}
		})
	}
}

func TestRunObjectErrorContinues(t *testing.T) {
	sink := newFakeSink()
	res := &resolutions{got: map[string][]event.Summary{}}
	src := &fakeSource{n: 5, onResolve: res.onResolve}
	newProc := func() pipeline.Processor {
		return &fakeProcessor{docsPer: func(string) int { return 2 }, batchDocs: 10, failKey: objKey(2)}
	}
	var mu sync.Mutex
	var failed []string
	err := pipeline.Run(context.Background(), pipeline.Config{Workers: 2}, src, newProc, sink,
		func(o *pipeline.Object, err error) {
			mu.Lock()
			defer mu.Unlock()
			if !errors.Is(err, errObject) {
				t.Errorf("onObjectError got %v, want errObject", err)
			}
			failed = append(failed, o.Origin.Key)
		})
	if err != nil {
		t.Fatalf("Run: %v (an object error must not stop the run)", err)
	}
	if len(failed) != 1 || failed[0] != objKey(2) {
		t.Errorf("onObjectError objects = %v, want [%s]", failed, objKey(2))
	}
	if got := len(sink.seen); got != 8 {
		t.Errorf("sink got %d documents, want 8 (4 objects × 2)", got)
	}
	for i := range 5 {
		if n := len(res.got[objKey(i)]); n != 1 {
			t.Errorf("%s: Ack resolved %d times, want 1", objKey(i), n)
		}
	}
	if s := res.got[objKey(2)]; len(s) == 1 && s[0] != (event.Summary{}) {
		t.Errorf("failed object resolved with %+v, want an empty Summary", s[0])
	}
}

func TestRunSinkErrorStopsRun(t *testing.T) {
	sink := newFakeSink()
	sink.failAt = 3
	src := &fakeSource{n: -1} // endless: only the sink error can stop the run
	newProc := func() pipeline.Processor {
		return &fakeProcessor{docsPer: func(string) int { return 3 }, batchDocs: 1}
	}
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Run(context.Background(), pipeline.Config{Workers: 2, QueueLen: 2}, src, newProc, sink, nil)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errSink) {
			t.Fatalf("Run returned %v, want the sink's error %v", err, errSink)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after the sink failed")
	}
	if n := sink.writes.Load(); n != 3 {
		t.Errorf("sink.Write called %d times, want 3 (no Write after the failing one)", n)
	}
	if n := sink.closes.Load(); n != 1 {
		t.Errorf("sink.Close called %d times, want 1", n)
	}
}

func TestRunContextCancel(t *testing.T) {
	tests := []struct {
		name string
		// sink shapes the sink; the context is cancelled (or times out)
		// while the run is busy.
		blockSink bool
		timeout   bool
	}{
		{name: "cancel while the source and processors are busy"},
		{name: "cancel while the sink is blocked", blockSink: true},
		{name: "deadline while the sink is blocked", blockSink: true, timeout: true},
		{name: "deadline while the source is busy", timeout: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := newFakeSink()
			sink.blockCtx = tc.blockSink
			src := &fakeSource{n: -1}
			var emitted atomic.Int64
			newProc := func() pipeline.Processor {
				return &fakeProcessor{docsPer: func(string) int { return 4 }, batchDocs: 2,
					afterEmit: func() { emitted.Add(1) }}
			}
			var ctx context.Context
			var cancel context.CancelFunc
			want := context.Canceled
			if tc.timeout {
				ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
				want = context.DeadlineExceeded
			} else {
				ctx, cancel = context.WithCancel(context.Background())
			}
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- pipeline.Run(ctx, pipeline.Config{Workers: 2, QueueLen: 1}, src, newProc, sink, nil)
			}()
			if !tc.timeout {
				// Let the run get going first.
				deadline := time.Now().Add(5 * time.Second)
				for sink.writes.Load() < 1 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}
			select {
			case err := <-done:
				if !errors.Is(err, want) {
					t.Fatalf("Run returned %v, want %v", err, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5s of the context ending")
			}
			if n := sink.closes.Load(); n != 1 {
				t.Errorf("sink.Close called %d times, want 1", n)
			}
			if sink.writes.Load() == 0 {
				t.Errorf("the sink was never written to; the test did not exercise a busy run")
			}
		})
	}
}

func TestRunBackpressure(t *testing.T) {
	const queueLen = 1
	sink := newFakeSink()
	sink.delay = 2 * time.Millisecond
	src := &fakeSource{n: 30}
	var emitted atomic.Int64
	var maxAhead atomic.Int64
	newProc := func() pipeline.Processor {
		return &fakeProcessor{docsPer: func(string) int { return 2 }, batchDocs: 1,
			afterEmit: func() {
				// A batch is either queued (at most queueLen), held by the
				// sink goroutine between dequeue and Write (at most one), or
				// already counted by the sink.
				ahead := emitted.Add(1) - sink.received.Load()
				for {
					m := maxAhead.Load()
					if ahead <= m || maxAhead.CompareAndSwap(m, ahead) {
						break
					}
				}
			}}
	}
	start := time.Now()
	if err := pipeline.Run(context.Background(), pipeline.Config{Workers: 2, QueueLen: queueLen}, src, newProc, sink, nil); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := len(sink.seen); got != 60 {
		t.Errorf("sink got %d documents, want 60", got)
	}
	if m := maxAhead.Load(); m > queueLen+1 {
		t.Errorf("processors got %d batches ahead of the sink, want at most QueueLen+1 = %d: the queue is not bounded", m, queueLen+1)
	}
	// 60 writes of 2ms each cannot take less than 120ms if they are serial.
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("run took %v; the slow sink was not waited for", el)
	}
	if n := src.sent.Load(); n != 30 {
		t.Errorf("source sent %d objects, want 30", n)
	}
}

// TestRunSourceBoundedBySlowSink checks that a slow sink slows the source:
// with the sink stalled, the source can hand out only as many objects as the
// queues between it and the sink hold.
func TestRunSourceBoundedBySlowSink(t *testing.T) {
	sink := newFakeSink()
	sink.blockCtx = true
	src := &fakeSource{n: -1}
	newProc := func() pipeline.Processor {
		return &fakeProcessor{docsPer: func(string) int { return 1 }, batchDocs: 1}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Run(ctx, pipeline.Config{Workers: 1, QueueLen: 1}, src, newProc, sink, nil)
	}()
	time.Sleep(200 * time.Millisecond)
	sent := src.sent.Load()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	// One object in the stalled Write, one batch queued, one worker blocked
	// in Emit, one object waiting in the object channel: about four.
	if sent > 8 {
		t.Errorf("with the sink stalled the source sent %d objects; a slow sink must slow the source", sent)
	}
	if sent == 0 {
		t.Errorf("the source sent nothing")
	}
}
