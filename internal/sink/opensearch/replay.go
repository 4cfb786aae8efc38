package opensearch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/pipeline"
)

// DocumentProcessor replays documents that are already normalized: NDJSON
// document lines as the NDJSON sink writes them
// ({"_index":...,"_id":...,"_source":{...}}), or dead-letter entries whose
// raw bytes are such a line (what this sink dead-letters). It is the
// pipeline.Processor for `vigil load` of a dead-letter file into a sink:
// documents keep their index and id, so a replay overwrites instead of
// duplicating. Other dead-letter entries (raw records that failed to parse)
// are not documents: they are dead-lettered again with that reason, to be
// replayed through their log type. Create one per worker.
type DocumentProcessor struct {
	// DeadLetter receives lines that are not documents; nil drops them
	// after counting them in Stats.
	DeadLetter pipeline.DeadLetter
	// Stats receives the counters; may be nil.
	Stats *pipeline.Stats
	// BatchDocs bounds one batch (default 1000).
	BatchDocs int
	// MaxLineBytes bounds one line (default 64 MiB).
	MaxLineBytes int
}

var _ pipeline.Processor = (*DocumentProcessor)(nil)

// deadEntry is the part of a dead-letter entry a replay reads.
type deadEntry struct {
	LogType   string  `json:"log_type"`
	Reason    string  `json:"reason"`
	Raw       *string `json:"raw"`
	RawBase64 *string `json:"raw_base64"`
}

// docLine is a document line.
type docLine struct {
	Index  string          `json:"_index"`
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
}

// errNotDocument says a line holds no document.
var errNotDocument = errors.New("not a document line ({\"_index\",\"_id\",\"_source\"}) nor a dead-letter entry holding one")

// ParseDocumentLine reads one line: a document line or a dead-letter entry
// holding one. It returns the document (Source is a copy) and the log type
// the entry names ("" for a bare document line).
func ParseDocumentLine(line []byte) (event.Document, error) {
	var probe struct {
		docLine
		deadEntry
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return event.Document{}, fmt.Errorf("reading a document line: %w", err)
	}
	d := probe.docLine
	logType := probe.LogType
	if d.Source == nil {
		var raw []byte
		switch {
		case probe.Raw != nil:
			raw = []byte(*probe.Raw)
		case probe.RawBase64 != nil:
			b, err := base64.StdEncoding.DecodeString(*probe.RawBase64)
			if err != nil {
				return event.Document{}, fmt.Errorf("reading raw_base64: %w", err)
			}
			raw = b
		default:
			return event.Document{}, errNotDocument
		}
		d = docLine{}
		if err := json.Unmarshal(raw, &d); err != nil || d.Source == nil {
			if probe.Reason != "" {
				return event.Document{}, fmt.Errorf("%w (the entry keeps a raw record that failed with: %s; replay it with --type %s)", errNotDocument, probe.Reason, logType)
			}
			return event.Document{}, errNotDocument
		}
	}
	if d.Index == "" {
		return event.Document{}, errors.New("document line without _index")
	}
	src := bytes.TrimSpace(d.Source)
	if len(src) == 0 || src[0] != '{' {
		return event.Document{}, errors.New("document line whose _source is not an object")
	}
	var c bytes.Buffer
	if err := json.Compact(&c, src); err != nil {
		return event.Document{}, fmt.Errorf("reading _source: %w", err)
	}
	return event.Document{Index: d.Index, ID: d.ID, Source: c.Bytes(), LogType: logType}, nil
}

// Process reads the object's lines and emits their documents.
func (p *DocumentProcessor) Process(ctx context.Context, obj *pipeline.Object, out *pipeline.Emitter) error {
	st := p.Stats
	if st == nil {
		st = &pipeline.Stats{}
	}
	ack := obj.Ack
	defer func() {
		st.Files.Add(1)
		ack.Close()
	}()
	rc, err := obj.Open(ctx)
	if err != nil {
		st.FileErrs.Add(1)
		return &pipeline.ObjectError{Key: obj.Origin.Key, Err: err}
	}
	defer func() { _ = rc.Close() }() // read-only
	maxLine := p.MaxLineBytes
	if maxLine <= 0 {
		maxLine = 64 << 20
	}
	batchDocs := p.BatchDocs
	if batchDocs <= 0 {
		batchDocs = 1000
	}
	br := bufio.NewReaderSize(rc, 1<<20)
	b := out.NewBatch()
	var failed int64
	line := 0
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rerr, err error
		buf, rerr, err = readLine(br, buf[:0], maxLine)
		if err != nil {
			st.FileErrs.Add(1)
			return &pipeline.ObjectError{Key: obj.Origin.Key, Err: err, Records: failed}
		}
		if buf == nil {
			break
		}
		line++
		if len(bytes.TrimSpace(buf)) == 0 {
			continue
		}
		st.Records.Add(1)
		var d event.Document
		if rerr == nil {
			d, rerr = ParseDocumentLine(bytes.TrimSpace(buf))
		}
		if rerr != nil {
			failed++
			st.Errors.Add(1)
			if p.DeadLetter != nil {
				if err := p.DeadLetter.Add(pipeline.Failure{Origin: obj.Origin, Line: line, Reason: rerr.Error(), Raw: bytes.TrimRight(buf, "\r\n")}); err != nil {
					return err
				}
			}
			continue
		}
		ack.Add(1)
		d.Ack = ack
		b.Docs = append(b.Docs, d)
		if len(b.Docs) >= batchDocs {
			if err := out.Emit(b); err != nil {
				return err
			}
			b = out.NewBatch()
		}
	}
	if err := out.Emit(b); err != nil {
		return err
	}
	if failed > 0 {
		st.FileErrs.Add(1)
		return &pipeline.ObjectError{Key: obj.Origin.Key, Records: failed}
	}
	return nil
}

// readLine reads one line into buf. It returns nil at the end of input;
// lineErr when the line is too long (the line is read whole anyway, only
// its first maxLine bytes kept); err for a read error.
func readLine(br *bufio.Reader, buf []byte, maxLine int) (line []byte, lineErr, err error) {
	n := 0
	for {
		chunk, rerr := br.ReadSlice('\n')
		n += len(chunk)
		if len(buf)+len(chunk) <= maxLine {
			buf = append(buf, chunk...)
		} else if lineErr == nil {
			lineErr = fmt.Errorf("line longer than %d bytes", maxLine)
		}
		switch {
		case errors.Is(rerr, bufio.ErrBufferFull):
			continue
		case errors.Is(rerr, io.EOF):
			if n == 0 {
				return nil, nil, nil
			}
			if buf == nil {
				buf = []byte{}
			}
			return buf, lineErr, nil
		case rerr != nil:
			return nil, nil, rerr
		}
		if buf == nil {
			buf = []byte{}
		}
		return buf, lineErr, nil
	}
}
