package opensearch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/valyala/fastjson"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/opensearch"
)

// bulkPath asks only for what the sink reads: whether anything failed and
// each item's status and error.
const bulkPath = "/_bulk?filter_path=errors,items.*.status,items.*.error"

// maxRetryAfter caps a server's Retry-After.
const maxRetryAfter = 5 * time.Minute

// worker sends queued requests until the queue is closed or ctx ends. A
// returned error is fatal for the sink.
func (s *Sink) worker(ctx context.Context) error {
	w := &sender{s: s}
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-s.queue:
			if !ok {
				return nil
			}
			err := w.send(ctx, b, 0)
			s.putBulk(b)
			if err != nil {
				if ctx.Err() != nil {
					return nil // abandoned by Close; documents stay unresolved
				}
				return s.fail(err)
			}
		}
	}
}

// sender is one request goroutine's reusable state.
type sender struct {
	s       *Sink
	z       compressor
	p       fastjson.Parser
	results []result
	spare   []*bulk
}

// send delivers the items of b, retrying and splitting as needed, until
// each is delivered or dead-lettered. It returns an error only when the
// sink must stop.
func (w *sender) send(ctx context.Context, b *bulk, depth int) error {
	s := w.s
	cur := b
	defer func() {
		if cur != b {
			w.release(cur)
		}
	}()
	for round := 0; ; round++ {
		if len(cur.items) == 0 {
			return nil
		}
		now := time.Now()
		for i := range cur.items {
			it := &cur.items[i]
			if it.first.IsZero() {
				it.first = now
			}
			it.attempts++
		}
		res, err := w.post(ctx, cur)
		var retry []item
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// No answer: the request may or may not have been applied. Send
			// it all again; deterministic ids make that an overwrite.
			s.st.requestRetries.Add(1)
			msg := err.Error()
			for i := range cur.items {
				cur.items[i].lastErr = msg
			}
			retry = cur.items
			s.log.Debug("bulk request failed, retrying", slog.Int("documents", len(cur.items)), slog.Any("error", err))
		case res.StatusCode == http.StatusRequestEntityTooLarge || bodyRefused(res):
			reason := res.Err().Error()
			if res.StatusCode == http.StatusRequestEntityTooLarge {
				reason = "HTTP 413: the request is larger than the cluster accepts (http.max_content_length)"
			}
			if len(cur.items) == 1 {
				it := &cur.items[0]
				return s.deadLetter(it.logType, it.orig, it.id, cur.source(it), reason, it.ack)
			}
			// Split to isolate what the cluster refuses; a split is not an
			// attempt.
			s.st.splits.Add(1)
			for i := range cur.items {
				cur.items[i].attempts--
			}
			half := len(cur.items) / 2
			for _, part := range [][]item{cur.items[:half], cur.items[half:]} {
				sub := cur.subset(w.spareBulk(), part, s.cfg.OpType, !s.cfg.ServerlessTimeSeries)
				err := w.send(ctx, sub, depth+1)
				w.release(sub)
				if err != nil {
					return err
				}
			}
			return nil
		case opensearch.RetryableStatus(res.StatusCode):
			s.st.requestRetries.Add(1)
			msg := res.Err().Error()
			for i := range cur.items {
				cur.items[i].lastErr = msg
			}
			retry = cur.items
			wait = min(res.RetryAfter(), maxRetryAfter)
		case res.StatusCode >= 300:
			// 401, 403, 404...: the cluster refuses every request alike;
			// dead-lettering everything would empty the source for nothing.
			return fmt.Errorf("opensearch sink: bulk request refused: %w", res.Err())
		default:
			retry, err = w.items(cur, res.Body)
			if err != nil {
				return err
			}
		}
		if len(retry) == 0 {
			return nil
		}
		keep := retry[:0]
		for _, it := range retry {
			if it.attempts >= s.cfg.MaxAttempts || now.Sub(it.first) >= s.cfg.MaxRetryTime {
				reason := fmt.Sprintf("gave up after %d attempts in %v: %s", it.attempts, now.Sub(it.first).Round(time.Millisecond), it.lastErr)
				if err := s.deadLetter(it.logType, it.orig, it.id, cur.source(&it), reason, it.ack); err != nil {
					return err
				}
				continue
			}
			keep = append(keep, it)
		}
		if len(keep) == 0 {
			return nil
		}
		s.st.retried.Add(int64(len(keep)))
		if d := w.backoff(round); d > wait {
			wait = d
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		next := cur.subset(w.spareBulk(), keep, s.cfg.OpType, !s.cfg.ServerlessTimeSeries)
		if cur != b {
			w.release(cur)
		}
		cur = next
	}
}

// items handles a 2xx bulk answer: it resolves delivered and refused items
// and returns those to send again (in their own slice).
func (w *sender) items(cur *bulk, body []byte) ([]item, error) {
	s := w.s
	rs, err := parseBulk(&w.p, body, len(cur.items), w.results)
	if err != nil {
		// The request was applied or not; its answer is lost. Send again.
		s.st.requestRetries.Add(1)
		retry := make([]item, len(cur.items))
		copy(retry, cur.items)
		for i := range retry {
			retry[i].lastErr = err.Error()
		}
		return retry, nil
	}
	w.results = rs
	var retry []item
	for i, r := range rs {
		it := &cur.items[i]
		switch {
		case r.status >= 200 && r.status < 300:
			s.delivered(it, false)
		case r.status == http.StatusConflict && s.cfg.OpType == OpCreate:
			s.delivered(it, true)
		case opensearch.RetryableStatus(r.status):
			it.lastErr = r.String()
			retry = append(retry, *it)
		case r.status == http.StatusForbidden && r.errType == "security_exception":
			// The cluster's access control refuses the user: a setup
			// problem, not the document's. Stop with the documents
			// unresolved rather than dead-letter them all.
			return nil, fmt.Errorf("opensearch sink: writing to index %s refused: %s", it.index, r)
		case r.readOnlyError():
			s.ro.mark(it.index)
			next := s.ro.writable(it.orig)
			if next == it.index {
				if err := s.deadLetter(it.logType, it.orig, it.id, cur.source(it), r.String(), it.ack); err != nil {
					return nil, err
				}
				continue
			}
			s.log.Warn("index is read-only, writing to another", slog.String("index", it.index), slog.String("to", next))
			it.lastErr = r.String()
			it.index = next
			retry = append(retry, *it)
		case r.status == http.StatusForbidden:
			// Other blocks (index creation, disk): es-loader retries them;
			// so does the sink, within the budget.
			it.lastErr = r.String()
			retry = append(retry, *it)
		default:
			if err := s.deadLetter(it.logType, it.orig, it.id, cur.source(it), r.String(), it.ack); err != nil {
				return nil, err
			}
		}
	}
	return retry, nil
}

// bodyRefused reports a 400 for the whole request with an OpenSearch error
// about its body (a malformed line): splitting the request isolates the
// document at fault. A 400 without such an error (a wrong URL, a proxy) is
// not the documents' fault.
func bodyRefused(res *opensearch.Response) bool {
	if res.StatusCode != http.StatusBadRequest {
		return false
	}
	var se *opensearch.StatusError
	if !errors.As(res.Err(), &se) {
		return false
	}
	switch se.Type {
	case "illegal_argument_exception", "parse_exception", "json_parse_exception", "x_content_parse_exception",
		"action_request_validation_exception", "mapper_parsing_exception", "not_x_content_exception":
		return true
	}
	return false
}

// delivered resolves one item as delivered.
func (s *Sink) delivered(it *item, dup bool) {
	if dup {
		s.st.duplicates.Add(1)
	}
	if s.seen != nil {
		s.seen.add(it.id)
	}
	s.st.delivered.Add(1)
	it.ack.Done(event.Delivered)
}

// post sends one request, gzip-compressed unless turned off.
func (w *sender) post(ctx context.Context, b *bulk) (*opensearch.Response, error) {
	s := w.s
	body := b.body
	hdr := http.Header{"Content-Type": {"application/x-ndjson"}}
	if !s.cfg.NoCompression {
		z, err := w.z.compress(b.body)
		if err != nil {
			return nil, err
		}
		body = z
		hdr.Set("Content-Encoding", "gzip")
	}
	s.st.requests.Add(1)
	s.st.bytesRaw.Add(int64(len(b.body)))
	s.st.bytesSent.Add(int64(len(body)))
	return s.client.Do(ctx, http.MethodPost, bulkPath, bytes.NewReader(body), hdr)
}

// backoff is the wait before retry round n: exponential from
// InitialBackoff, capped at MaxBackoff, with jitter over its upper half.
func (w *sender) backoff(n int) time.Duration {
	d := w.s.cfg.InitialBackoff << min(n, 20)
	if d <= 0 || d > w.s.cfg.MaxBackoff {
		d = w.s.cfg.MaxBackoff
	}
	half := d / 2
	return half + rand.N(half+1) //nolint:gosec // jitter, not security
}

func (w *sender) spareBulk() *bulk {
	if n := len(w.spare); n > 0 {
		b := w.spare[n-1]
		w.spare = w.spare[:n-1]
		return b
	}
	return &bulk{}
}

func (w *sender) release(b *bulk) {
	if len(w.spare) < 4 {
		b.reset()
		w.spare = append(w.spare, b)
	}
}
