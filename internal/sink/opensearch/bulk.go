package opensearch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

// item is one document of a bulk request: where its lines are in the
// body, where it is going and how its attempts went.
type item struct {
	start, src, end int // action line, source, end of the source line (after '\n')
	index           string
	orig            string // the index the document asked for
	id              string
	logType         string
	ack             *event.Ack
	attempts        int
	first           time.Time
	lastErr         string
}

// bulk is one request: an NDJSON body and its items, in order.
type bulk struct {
	body  []byte
	items []item
}

func (b *bulk) reset() {
	b.body = b.body[:0]
	clear(b.items)
	b.items = b.items[:0]
}

// add appends one document as an action line and a source line. It returns
// a reason, and adds nothing, when the document cannot be sent.
func (b *bulk) add(d *event.Document, index, op string, withID bool) string {
	src := d.Source
	if len(src) == 0 {
		return "empty document"
	}
	if bytes.IndexByte(src, '\n') >= 0 {
		// A raw newline would break the NDJSON framing: compact it away.
		var c bytes.Buffer
		if err := json.Compact(&c, src); err != nil {
			return "document is not valid JSON: " + err.Error()
		}
		src = c.Bytes()
	}
	it := item{start: len(b.body), index: index, orig: d.Index, id: d.ID, logType: d.LogType, ack: d.Ack}
	b.body = appendAction(b.body, op, index, d.ID, withID)
	it.src = len(b.body)
	b.body = append(b.body, src...)
	b.body = append(b.body, '\n')
	it.end = len(b.body)
	b.items = append(b.items, it)
	return ""
}

// appendAction appends {"op":{"_index":...,"_id":...}}\n.
func appendAction(dst []byte, op, index, id string, withID bool) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, op...)
	dst = append(dst, `":{"_index":`...)
	dst = normalize.AppendQuoted(dst, index)
	if withID && id != "" {
		dst = append(dst, `,"_id":`...)
		dst = normalize.AppendQuoted(dst, id)
	}
	return append(dst, "}}\n"...)
}

// source returns an item's source line, without its newline.
func (b *bulk) source(it *item) []byte { return b.body[it.src : it.end-1] }

// merge appends the items of o.
func (b *bulk) merge(o *bulk) {
	shift := len(b.body)
	b.body = append(b.body, o.body...)
	for _, it := range o.items {
		it.start += shift
		it.src += shift
		it.end += shift
		b.items = append(b.items, it)
	}
}

// subset builds a new request of the given items of b (their sources still
// in b.body), each sent to its item's index.
func (b *bulk) subset(dst *bulk, items []item, op string, withID bool) *bulk {
	dst.reset()
	for _, it := range items {
		src := b.source(&it)
		it.start = len(dst.body)
		dst.body = appendAction(dst.body, op, it.index, it.id, withID)
		it.src = len(dst.body)
		dst.body = append(dst.body, src...)
		dst.body = append(dst.body, '\n')
		it.end = len(dst.body)
		dst.items = append(dst.items, it)
	}
	return dst
}

// documentLine is the document as the NDJSON sink writes it, for the dead
// letter: {"_index":...,"_id":...,"_source":{...}}.
func documentLine(index, id string, source []byte) []byte {
	b := pipeline.AppendLineHead(make([]byte, 0, len(index)+len(id)+len(source)+40), index, id)
	b = append(b, source...)
	return append(b, '}')
}

// compressor gzips request bodies at the fastest level, reusing its
// memory. One per request goroutine.
type compressor struct {
	buf bytes.Buffer
	zw  *gzip.Writer
}

// compress returns body gzip-compressed; the result is valid until the
// next call.
func (c *compressor) compress(body []byte) ([]byte, error) {
	c.buf.Reset()
	if c.zw == nil {
		zw, err := gzip.NewWriterLevel(&c.buf, gzip.BestSpeed)
		if err != nil {
			return nil, fmt.Errorf("starting gzip: %w", err)
		}
		c.zw = zw
	} else {
		c.zw.Reset(&c.buf)
	}
	if _, err := c.zw.Write(body); err != nil {
		return nil, fmt.Errorf("compressing a bulk request: %w", err)
	}
	if err := c.zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing a bulk request: %w", err)
	}
	return c.buf.Bytes(), nil
}

// result is how one item ended in a bulk answer.
type result struct {
	status int
	// errType and reason are OpenSearch's error, with its causes in reason.
	errType, reason string
}

// errBadAnswer is a 2xx bulk answer that cannot be read.
var errBadAnswer = errors.New("unreadable bulk answer")

// parseBulk reads a bulk answer into one result per item. When the answer
// says there were no errors, every item is a success and items are not
// read.
func parseBulk(p *fastjson.Parser, body []byte, n int, out []result) ([]result, error) {
	out = out[:0]
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadAnswer, err)
	}
	if e := v.Get("errors"); e != nil && e.Type() == fastjson.TypeFalse {
		for range n {
			out = append(out, result{status: 200})
		}
		return out, nil
	}
	items := v.GetArray("items")
	if len(items) != n {
		return nil, fmt.Errorf("%w: %d items for %d documents", errBadAnswer, len(items), n)
	}
	for _, it := range items {
		o, err := it.Object()
		if err != nil || o.Len() != 1 {
			return nil, fmt.Errorf("%w: an item is not an object with one operation", errBadAnswer)
		}
		var r result
		o.Visit(func(_ []byte, op *fastjson.Value) {
			r.status = op.GetInt("status")
			if e := op.Get("error"); e != nil {
				r.errType, r.reason = describeError(e)
			}
		})
		if r.status == 0 {
			return nil, fmt.Errorf("%w: an item without a status", errBadAnswer)
		}
		out = append(out, r)
	}
	return out, nil
}

// describeError renders an OpenSearch error object: its type, and its
// reason followed by the chain of causes.
func describeError(e *fastjson.Value) (string, string) {
	if e.Type() == fastjson.TypeString {
		return "", string(e.GetStringBytes())
	}
	typ := string(e.GetStringBytes("type"))
	var b strings.Builder
	b.Write(e.GetStringBytes("reason"))
	for c, depth := e.Get("caused_by"), 0; c != nil && depth < 5; c, depth = c.Get("caused_by"), depth+1 {
		b.WriteString("; caused by ")
		b.Write(c.GetStringBytes("type"))
		if r := c.GetStringBytes("reason"); len(r) > 0 {
			b.WriteString(": ")
			b.Write(r)
		}
	}
	return typ, b.String()
}

// String renders a result for the dead letter and logs.
func (r result) String() string {
	s := "HTTP " + strconv.Itoa(r.status)
	if r.errType != "" {
		s += " " + r.errType
	}
	if r.reason != "" {
		s += ": " + r.reason
	}
	return s
}

// readOnlyError reports whether an item failed because its index does not
// take writes: a write or read-only block, or a closed index.
func (r result) readOnlyError() bool {
	switch {
	case r.errType == "index_closed_exception":
		return true
	case r.status == 403 && r.errType == "cluster_block_exception":
		return strings.Contains(r.reason, "read-only") || strings.Contains(r.reason, "index write") ||
			strings.Contains(r.reason, "index closed")
	}
	return false
}
