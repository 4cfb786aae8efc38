package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/codec"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/normalize"
)

// Failure is one record (or object) that could not become a document.
type Failure struct {
	Origin  event.Origin
	LogType string
	// Line is the 1-based line where the record starts; 0 for the object.
	Line   int
	Reason string
	Raw    []byte
}

// DeadLetter keeps failures for replay. Add is safe for concurrent use.
type DeadLetter interface {
	Add(f Failure) error
}

// ErrUnknownType means no log type matches an object's key.
var ErrUnknownType = errors.New("no log type matches the key")

// ErrIgnored means the object's key matches the type's s3_key_ignored.
var ErrIgnored = errors.New("key matches s3_key_ignored")

// ObjectConfig configures the object processor.
type ObjectConfig struct {
	Registry *logtype.Registry
	// ForceType, when set, is used for every object instead of detection.
	ForceType *logtype.Type
	Scripts   map[string]normalize.Script
	// Enrichers run after each type's transform, in order (GeoIP, ...);
	// nil ones are skipped. Each is shared by every worker.
	Enrichers []normalize.Enricher
	Codec     codec.Config
	// BatchDocs and BatchBytes bound one batch.
	BatchDocs  int
	BatchBytes int
	// Lines makes batches hold NDJSON lines (see Batch.Lines), for a sink
	// that writes them as they are.
	Lines      bool
	DeadLetter DeadLetter
	// Stats receives the counters; nil keeps them private.
	Stats *Stats
	// OnRecordError is told about each failed record (after dead-lettering).
	OnRecordError func(Failure)
	// Inspect, when set, sees every batch just before it is emitted, on
	// the worker's goroutine (so concurrently from several workers). It
	// may read the documents and append documents of its own (detection
	// appends alerts): to Docs, and to Buf as NDJSON lines when b.Lines is
	// set. It must not change the documents already in the batch.
	Inspect func(b *Batch)
}

// ObjectProcessor decodes, splits, parses and normalizes objects. It is the
// Processor of `vigil load`; create one per worker with NewObjectProcessor.
type ObjectProcessor struct {
	cfg    *ObjectConfig
	norm   *normalize.Normalizer
	fields fieldParser
}

// NewObjectProcessor returns a processor for one worker. cfg is shared
// between workers and is not modified.
func NewObjectProcessor(shared *ObjectConfig) *ObjectProcessor {
	cfg := *shared
	if cfg.BatchDocs <= 0 {
		cfg.BatchDocs = 1000
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = 256 << 10
	}
	if cfg.Stats == nil {
		cfg.Stats = &Stats{}
	}
	p := &ObjectProcessor{cfg: &cfg, norm: normalize.New(cfg.Scripts, nil, normalize.WithEnrichers(cfg.Enrichers...))}
	p.norm.RecordMembers(cfg.Inspect != nil)
	return p
}

// countingReader counts bytes read from an object as stored.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// ObjectError is a failure of a whole object, or the reason some of its
// records failed; Records counts the records that failed.
type ObjectError struct {
	Key     string
	Err     error
	Records int64
}

func (e *ObjectError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s: %d records failed", e.Key, e.Records)
	}
	if e.Records > 0 {
		return fmt.Sprintf("%s: %v (and %d records failed)", e.Key, e.Err, e.Records)
	}
	return fmt.Sprintf("%s: %v", e.Key, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// Process handles one object. Documents go to out in batches; failed
// records go to the dead letter. It returns an *ObjectError when the object
// or any of its records failed, ErrIgnored when the key is ignored.
func (p *ObjectProcessor) Process(ctx context.Context, obj *Object, out *Emitter) (err error) {
	st := p.cfg.Stats
	ack := obj.Ack
	defer func() {
		st.Files.Add(1)
		ack.Close()
	}()
	t := p.cfg.ForceType
	if t == nil {
		var res logtype.DetectResult
		t, res = p.cfg.Registry.Detect(obj.Origin.Key)
		switch res {
		case logtype.Matched:
		case logtype.Ignored, logtype.NoData:
			st.Skipped.Add(1)
			return ErrIgnored
		default:
			st.FileErrs.Add(1)
			return &ObjectError{Key: obj.Origin.Key, Err: ErrUnknownType}
		}
	}
	if why := t.Incomplete(); why != "" {
		st.FileErrs.Add(1)
		return &ObjectError{Key: obj.Origin.Key, Err: errors.New(why)}
	}
	rc, err := obj.Open(ctx)
	if err != nil {
		st.FileErrs.Add(1)
		return &ObjectError{Key: obj.Origin.Key, Err: err}
	}
	defer func() { _ = rc.Close() }() // read-only: nothing to flush

	p.norm.TickClock()
	run := &objectRun{p: p, t: t, obj: obj, out: out, ack: ack}
	run.batch = out.NewBatch()
	derr := codec.Decompress(countingReader{rc, &st.BytesIn}, func(member string, body io.Reader) error {
		return run.records(ctx, body)
	})
	if ferr := run.flush(); ferr != nil && derr == nil {
		derr = ferr
	}
	if derr != nil || run.failed > 0 {
		st.FileErrs.Add(1)
		if derr != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return &ObjectError{Key: obj.Origin.Key, Err: derr, Records: run.failed}
	}
	return nil
}

// objectRun is the state of processing one object.
type objectRun struct {
	p      *ObjectProcessor
	t      *logtype.Type
	obj    *Object
	out    *Emitter
	ack    *event.Ack
	batch  *Batch
	failed int64
	// head writes a document's NDJSON line head and body records where
	// the document itself starts.
	head func([]byte, normalize.Meta) []byte
	body int
	// jr is the JSON reader of a stream framed by codec.JSONReader, for
	// framed; end is the record length the last emit found (Meta.End).
	jr  *codec.JSONReader
	end int
}

func (r *objectRun) flush() error {
	b := r.batch
	r.batch = nil
	if b == nil {
		return nil
	}
	return r.emitBatch(b)
}

// emitBatch lets Inspect see b, then emits it.
func (r *objectRun) emitBatch(b *Batch) error {
	if r.p.cfg.Inspect != nil && len(b.Docs) > 0 {
		r.p.cfg.Inspect(b)
	}
	err := r.out.Emit(b)
	r.p.norm.TickClock() // Emit may have waited for the sink
	return err
}

// fail dead-letters one record.
func (r *objectRun) fail(line int, raw []byte, err error) {
	st := r.p.cfg.Stats
	st.Errors.Add(1)
	r.failed++
	r.ack.Add(1)
	r.ack.Done(event.DeadLettered)
	f := Failure{Origin: r.obj.Origin, LogType: r.t.Name, Line: line, Reason: err.Error(), Raw: raw}
	if r.p.cfg.DeadLetter != nil {
		if derr := r.p.cfg.DeadLetter.Add(f); derr != nil {
			f.Reason += "; dead letter failed: " + derr.Error()
		}
	}
	if r.p.cfg.OnRecordError != nil {
		r.p.cfg.OnRecordError(f)
	}
}

// records reads one decompressed stream.
func (r *objectRun) records(ctx context.Context, body io.Reader) error {
	t := r.t
	cfg := r.p.cfg.Codec
	r.jr = nil
	switch t.FileFormat {
	case "json":
		if t.JSONDelimiter == "" {
			// Newline-delimited JSON (one object per line, as GuardDuty
			// and most services write it) needs no structural framing:
			// the normalizer checks each line as it reads it.
			head, rest, ok := peekLine(body, 1<<16)
			if ok && looksLikeObjectLine(head) {
				lr := codec.NewLineReader(rest, cfg)
				return r.loop(ctx, lr.Next, lr.Line, r.jsonLine)
			}
			body = rest
		}
		jr := codec.NewJSONReader(body, t.JSONDelimiter, cfg)
		r.jr = jr
		return r.loop(ctx, jr.Next, jr.Line, r.jsonRecord)
	case "csv":
		lr := codec.NewLineReader(body, cfg)
		r.p.fields.reset(t)
		return r.loop(ctx, lr.Next, lr.Line, r.csvRecord)
	case "text":
		lr := codec.NewLineReader(body, cfg)
		r.p.fields.reset(t)
		return r.loop(ctx, lr.Next, lr.Line, r.textRecord)
	case "multiline":
		if t.MultilineFirstline == nil {
			return fmt.Errorf("log type %s: multiline_firstline is not set", t.Name)
		}
		mr := codec.NewMultilineReader(body, t.MultilineFirstline, cfg)
		r.p.fields.reset(t)
		return r.loop(ctx, mr.Next, mr.Line, r.textRecord)
	default:
		return fmt.Errorf("file_format %q of log type %s is not supported yet", t.FileFormat, t.Name)
	}
}

// loop pulls records, turning per-record errors into failures and stopping
// on stream errors.
func (r *objectRun) loop(ctx context.Context, next func() ([]byte, error), line func() int, handle func(raw []byte, line int) error) error {
	st := r.p.cfg.Stats
	skip := r.t.TextHeaderLineNumber
	if r.t.FileFormat == "json" {
		skip = 0
	}
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if r.jr != nil && r.framed() {
			continue
		}
		raw, err := next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			var se *codec.SyntaxError
			if errors.As(err, &se) {
				st.Records.Add(1)
				r.fail(se.Line, se.Raw, err)
				continue
			}
			if errors.Is(err, codec.ErrRecordTooLarge) {
				st.Records.Add(1)
				r.fail(line(), nil, err)
				continue
			}
			return err
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		st.Records.Add(1)
		if err := handle(raw, line()); err != nil {
			r.fail(line(), raw, err)
		}
	}
}

// framed handles the next JSON record in one pass when the JSON reader
// has it buffered: the normalizer finds where the record ends as it
// validates and converts it, and the reader skips it, instead of framing
// it first with a scan of its own. It reports false, having consumed
// nothing, when the reader must frame the record (it is not buffered
// whole, is malformed, or stands where a record may not start).
func (r *objectRun) framed() bool {
	buf, ok := r.jr.PeekRecord()
	if !ok {
		return false
	}
	err := r.emit(normalize.Input{RawJSON: buf, Prefix: true})
	if errors.Is(err, normalize.ErrUnframed) {
		return false
	}
	r.jr.SkipRecord(r.end)
	r.p.cfg.Stats.Records.Add(1)
	if err != nil {
		r.fail(r.jr.Line(), buf[:r.end], err)
	}
	return true
}

func (r *objectRun) jsonRecord(raw []byte, line int) error {
	// The normalizer replaces invalid UTF-8 itself as it copies strings.
	return r.emit(normalize.Input{RawJSON: raw})
}

// jsonLine handles one line of newline-delimited JSON: usually one object,
// possibly several written one after another.
func (r *objectRun) jsonLine(raw []byte, line int) error {
	for {
		err := r.emit(normalize.Input{RawJSON: raw})
		var te *normalize.TrailingError
		if !errors.As(err, &te) {
			var se *normalize.SyntaxError
			if errors.As(err, &se) {
				se.Line = line
			}
			return err
		}
		if err := r.emit(normalize.Input{RawJSON: raw[:te.Offset]}); err != nil {
			return err
		}
		raw = bytes.TrimLeft(raw[te.Offset:], " \t\r")
		r.p.cfg.Stats.Records.Add(1)
	}
}

// peekLine reads up to max bytes or the first line of r, and returns them
// with a reader that still yields everything from the start.
func peekLine(r io.Reader, max int) ([]byte, io.Reader, bool) {
	buf := make([]byte, 0, 4096)
	for len(buf) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			return buf[:i], io.MultiReader(bytes.NewReader(buf), r), true
		}
		if err != nil {
			return buf, io.MultiReader(bytes.NewReader(buf), errReader{err}), err == io.EOF
		}
	}
	return nil, io.MultiReader(bytes.NewReader(buf), r), false
}

// errReader returns its error, to replay a read error after a peek.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// looksLikeObjectLine reports whether a line starts with '{' and ends with
// '}' (white space aside): the first line of newline-delimited JSON.
func looksLikeObjectLine(line []byte) bool {
	line = bytes.TrimSpace(line)
	return len(line) >= 2 && line[0] == '{' && line[len(line)-1] == '}'
}

func (r *objectRun) csvRecord(raw []byte, line int) error {
	raw = validUTF8(raw)
	vals, isHeader, err := r.p.fields.csv(raw)
	if isHeader {
		r.p.cfg.Stats.Records.Add(-1) // a header line is not a record
	}
	if err != nil || isHeader {
		return err
	}
	return r.emit(normalize.Input{Header: r.p.fields.header, Values: vals, Message: raw})
}

func (r *objectRun) textRecord(raw []byte, line int) error {
	raw = validUTF8(raw)
	obj, err := r.p.fields.text(raw)
	if err != nil {
		return err
	}
	return r.emit(normalize.Input{RawJSON: obj, Message: raw})
}

func (r *objectRun) emit(in normalize.Input) error {
	in.Type = r.t
	in.Origin = &r.obj.Origin
	b := r.batch
	if b == nil {
		b = r.out.NewBatch()
		r.batch = b
	}
	if cap(b.Buf) < r.p.cfg.BatchBytes {
		// Size the buffer once rather than growing it document by document.
		b.Buf = make([]byte, 0, r.p.cfg.BatchBytes+r.p.cfg.BatchBytes/4)
	}
	start := len(b.Buf)
	r.body = start
	if r.p.cfg.Lines {
		b.Lines = true
		if r.head == nil {
			r.head = func(dst []byte, m normalize.Meta) []byte {
				dst = AppendLineHead(dst, m.Index, m.ID)
				r.body = len(dst)
				return dst
			}
		}
		in.Head = r.head
	}
	buf, meta, err := r.p.norm.Normalize(b.Buf, in)
	r.end = meta.End
	if err != nil {
		b.Buf = buf[:start]
		return err
	}
	end := len(buf)
	if r.p.cfg.Lines {
		buf = append(buf, '}', '\n')
	}
	b.Buf = buf
	r.ack.Add(1)
	b.Docs = append(b.Docs, event.Document{
		Index: meta.Index, ID: meta.ID, LogType: r.t.Name, TimestampMs: meta.TimestampMs,
		Ack: r.ack,
	})
	b.Docs[len(b.Docs)-1].Source = b.Buf[r.body:end:end]
	if r.p.cfg.Inspect != nil {
		b.Members = append(b.Members, r.p.norm.Members()...)
		b.MembersEnd = append(b.MembersEnd, int32(len(b.Members)))
	}
	if len(b.Docs) >= r.p.cfg.BatchDocs || len(b.Buf) >= r.p.cfg.BatchBytes {
		// Sources point into b.Buf, which must not move from now on.
		r.batch = nil
		return r.emitBatch(b)
	}
	return nil
}

// AppendLineHead appends the start of a document's NDJSON line, up to its
// "_source" value.
func AppendLineHead(dst []byte, index, id string) []byte {
	dst = append(dst, `{"_index":`...)
	dst = normalize.AppendQuoted(dst, index)
	dst = append(dst, `,"_id":`...)
	dst = normalize.AppendQuoted(dst, id)
	return append(dst, `,"_source":`...)
}

// validUTF8 replaces invalid UTF-8 sequences with U+FFFD, leaving valid
// input untouched (and unallocated).
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// fieldParser turns text records into JSON objects: CSV/space-separated
// lines with a header, or lines matched by the type's log_pattern.
type fieldParser struct {
	t       *logtype.Type
	header  *normalize.Header
	hdrSeen bool
	// defaultHeader is the header of flow logs without a header line.
	defaultHeader *normalize.Header
	vals          [][]byte
	obj           []byte
}

// defaultVPCHeader is the field list of the default (version 2) flow log
// format, used when a file has no header line.
var defaultVPCHeader = []string{
	"version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport",
	"protocol", "packets", "bytes", "start", "end", "action", "log_status",
}

func (f *fieldParser) reset(t *logtype.Type) {
	f.t = t
	f.header = nil
	f.hdrSeen = false
}

// csv splits one line into its fields (valid until the next call), which
// f.header names. The first line is the header when every field of it is
// a field name; otherwise the default flow log header applies.
func (f *fieldParser) csv(line []byte) ([][]byte, bool, error) {
	f.vals = splitFields(f.vals[:0], line, f.t.CSVDelimiter)
	if !f.hdrSeen {
		f.hdrSeen = true
		if isHeader(f.vals) {
			names := make([]string, len(f.vals))
			for i, h := range f.vals {
				names[i] = strings.ReplaceAll(string(h), "-", "_")
			}
			f.header = normalize.NewHeader(names)
			return nil, true, nil
		}
		if f.defaultHeader == nil {
			f.defaultHeader = normalize.NewHeader(defaultVPCHeader)
		}
		f.header = f.defaultHeader
	}
	if len(f.vals) != f.header.Len() {
		return nil, false, fmt.Errorf("line has %d fields, the header has %d", len(f.vals), f.header.Len())
	}
	return f.vals, false, nil
}

// isHeader reports whether a line's fields are all field names (letters,
// digits, "-" and "_", starting with a letter).
func isHeader(fields [][]byte) bool {
	if len(fields) == 0 {
		return false
	}
	for _, f := range fields {
		if len(f) == 0 || !isLetter(f[0]) {
			return false
		}
		for _, c := range f {
			if !isLetter(c) && (c < '0' || c > '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// text parses one line with the type's log_pattern into a JSON object
// (valid until the next call).
func (f *fieldParser) text(line []byte) ([]byte, error) {
	re := f.t.LogPattern
	if re == nil {
		return nil, fmt.Errorf("log type %s has no log_pattern", f.t.Name)
	}
	m := re.FindSubmatchIndex(line)
	if m == nil {
		return nil, fmt.Errorf("line does not match log_pattern of %s", f.t.Name)
	}
	o := append(f.obj[:0], '{')
	n := 0
	for i, name := range re.SubexpNames() {
		if i == 0 || name == "" || m[2*i] < 0 {
			continue
		}
		if n > 0 {
			o = append(o, ',')
		}
		n++
		o = normalize.AppendQuoted(o, name)
		o = append(o, ':')
		o = normalize.AppendQuotedBytes(o, line[m[2*i]:m[2*i+1]])
	}
	f.obj = append(o, '}')
	return f.obj, nil
}

// splitFields splits on delim, or on runs of spaces and tabs when delim is
// empty.
func splitFields(dst [][]byte, line []byte, delim string) [][]byte {
	if delim != "" {
		for {
			i := bytes.Index(line, []byte(delim))
			if i < 0 {
				return append(dst, line)
			}
			dst = append(dst, line[:i])
			line = line[i+len(delim):]
		}
	}
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if j > i {
			dst = append(dst, line[i:j])
		}
		i = j
	}
	return dst
}
