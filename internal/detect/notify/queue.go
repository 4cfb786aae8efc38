package notify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// queue is one destination's persistent queue: pending alerts in memory
// (at most max), the same alerts in append-only segment files
// (<first seq, 20 digits>.jsonl, one {"seq":N,"alert":{...}} per line)
// and the acknowledged offset in the file "ack". Enqueue and ack may be
// called from any goroutine; one worker peeks and acks.
type queue struct {
	dir      string
	max      int
	segBytes int64
	fsync    bool
	log      *slog.Logger

	mu       sync.Mutex
	items    []item // pending, oldest first, items[head:] are live
	head     int
	nextSeq  uint64
	acked    uint64
	segs     []segment // oldest first; the last is open for appending
	f        *os.File
	fsize    int64
	closed   bool
	dropped  int64
	lastWarn time.Time

	wake chan struct{} // capacity 1: signalled when an item is added
}

type item struct {
	seq uint64
	doc []byte // the alert's JSON document
}

type segment struct {
	first uint64
	path  string
}

type line struct {
	Seq   uint64          `json:"seq"`
	Alert json.RawMessage `json:"alert"`
}

const ackFile = "ack"

// openQueue opens (creating) the queue in dir and loads what a previous
// run left unacknowledged; a torn last line (a crash mid-write) is
// skipped. Appends go to a new segment.
func openQueue(dir string, max int, segBytes int64, fsync bool, log *slog.Logger) (*queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening notification queue: %w", err)
	}
	q := &queue{dir: dir, max: max, segBytes: segBytes, fsync: fsync, log: log, wake: make(chan struct{}, 1)}
	if b, err := os.ReadFile(filepath.Join(dir, ackFile)); err == nil {
		if q.acked, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, ackFile), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading notification queue: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	q.nextSeq = q.acked + 1
	for _, name := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".jsonl"), 10, 64)
		if err != nil {
			continue // not ours
		}
		n, err := q.load(name)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			_ = os.Remove(name) // fully acknowledged or empty
			continue
		}
		q.segs = append(q.segs, segment{first: first, path: name})
	}
	for len(q.items)-q.head > q.max {
		q.dropLocked()
	}
	if err := q.rotateLocked(); err != nil {
		return nil, err
	}
	return q, nil
}

// load reads one segment, appending its unacknowledged items; it returns
// how many it found.
func (q *queue) load(name string) (int, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, fmt.Errorf("reading notification queue: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Seq == 0 {
			q.log.Warn("notification queue: skipping a damaged line", slog.String("file", name))
			continue
		}
		if l.Seq >= q.nextSeq {
			q.nextSeq = l.Seq + 1
		}
		if l.Seq <= q.acked {
			continue
		}
		q.items = append(q.items, item{seq: l.Seq, doc: append([]byte(nil), l.Alert...)})
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("reading %s: %w", name, err)
	}
	return n, nil
}

// rotateLocked closes the current segment and starts a new one whose name
// is the next sequence number.
func (q *queue) rotateLocked() error {
	if q.f != nil {
		if err := q.f.Close(); err != nil {
			return fmt.Errorf("closing notification queue segment: %w", err)
		}
		q.f = nil
	}
	name := filepath.Join(q.dir, fmt.Sprintf("%020d.jsonl", q.nextSeq))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening notification queue segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close() // the Stat error is the one to report
		return fmt.Errorf("opening notification queue segment: %w", err)
	}
	q.f, q.fsize = f, st.Size()
	if n := len(q.segs); n == 0 || q.segs[n-1].path != name {
		q.segs = append(q.segs, segment{first: q.nextSeq, path: name})
	}
	return nil
}

var errClosed = errors.New("notification queue closed")

// push appends doc. It keeps the alert in memory even when the write to
// disk fails (the error says it is not durable).
func (q *queue) push(doc []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errClosed
	}
	if len(q.items)-q.head >= q.max {
		q.dropLocked()
	}
	seq := q.nextSeq
	q.nextSeq++
	q.items = append(q.items, item{seq: seq, doc: doc})
	select {
	case q.wake <- struct{}{}:
	default:
	}
	var b bytes.Buffer
	b.Grow(len(doc) + 32)
	b.WriteString(`{"seq":`)
	b.WriteString(strconv.FormatUint(seq, 10))
	b.WriteString(`,"alert":`)
	b.Write(doc)
	b.WriteString("}\n")
	if q.fsize > 0 && q.fsize+int64(b.Len()) > q.segBytes {
		if err := q.rotateLocked(); err != nil {
			return err
		}
	}
	if q.f == nil {
		return errors.New("notification queue segment unavailable")
	}
	n, err := q.f.Write(b.Bytes())
	q.fsize += int64(n)
	if err == nil && q.fsync {
		err = q.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("writing notification queue: %w", err)
	}
	return nil
}

// dropLocked drops the oldest pending item, as if delivered.
func (q *queue) dropLocked() {
	it := q.items[q.head]
	q.popLocked()
	q.dropped++
	if err := q.setAckedLocked(it.seq); err != nil {
		q.log.Error("notification queue: persisting the acknowledged offset", slog.Any("error", err))
	}
	if now := time.Now(); now.Sub(q.lastWarn) >= 10*time.Second {
		q.lastWarn = now
		q.log.Warn("notification queue full: dropped the oldest alert",
			slog.String("queue", q.dir), slog.Int("max_queue", q.max), slog.Int64("dropped_total", q.dropped))
	}
}

func (q *queue) popLocked() {
	q.items[q.head] = item{}
	q.head++
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0:0], q.items[q.head:]...)
		q.head = 0
	}
}

// peek returns the oldest pending item.
func (q *queue) peek() (item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return item{}, false
	}
	return q.items[q.head], true
}

// ack marks seq done (delivered or failed for good). It is a no-op when
// seq was dropped meanwhile.
func (q *queue) ack(seq uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) || q.items[q.head].seq != seq {
		return nil
	}
	q.popLocked()
	return q.setAckedLocked(seq)
}

// setAckedLocked persists the acknowledged offset (write a temporary file,
// rename it over "ack") and removes the segments it has passed.
func (q *queue) setAckedLocked(seq uint64) error {
	if seq <= q.acked {
		return nil
	}
	q.acked = seq
	tmp := filepath.Join(q.dir, ackFile+".tmp")
	if err := writeFile(tmp, []byte(strconv.FormatUint(seq, 10)+"\n"), q.fsync); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(q.dir, ackFile)); err != nil {
		return fmt.Errorf("writing notification queue offset: %w", err)
	}
	// A segment is done when the next one starts at or before acked+1.
	for len(q.segs) > 1 && q.segs[1].first <= q.acked+1 {
		if err := os.Remove(q.segs[0].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing notification queue segment: %w", err)
		}
		q.segs = q.segs[1:]
	}
	return nil
}

func writeFile(name string, b []byte, fsync bool) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing notification queue offset: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing notification queue offset: %w", err)
	}
	return nil
}

// stats returns the pending count, drops and acknowledged offset.
func (q *queue) stats() (pending int, dropped int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head, q.dropped
}

// close stops appends and closes the segment file.
func (q *queue) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.f == nil {
		return nil
	}
	err := q.f.Close()
	q.f = nil
	return err
}
