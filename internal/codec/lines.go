package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// LineReader splits a stream into text lines. It is the framing for every
// line-oriented log (VPC flow logs, ELB, S3 access, syslog, CSV rows).
//
// Lines end with "\n" or "\r\n"; the terminator is not part of the returned
// line. A last line without a terminator is returned too. Bytes are passed
// through untouched (invalid UTF-8 included). A LineReader is not safe for
// concurrent use.
type LineReader struct {
	r     io.Reader
	max   int
	buf   []byte
	start int // first unconsumed byte
	scan  int // buf[start:scan] holds no '\n'
	end   int // end of buffered data
	line  int // number of the line last returned
	err   error
	skip  bool // discarding the rest of a too-large line
}

// NewLineReader returns a LineReader reading from r with the settings of cfg.
func NewLineReader(r io.Reader, cfg Config) *LineReader {
	return &LineReader{r: r, max: cfg.maxRecord()}
}

// Reset makes l read from r as if newly made, keeping its buffer.
func (l *LineReader) Reset(r io.Reader) {
	*l = LineReader{r: r, max: l.max, buf: l.buf}
}

// Line returns the 1-based number of the line last returned by Next (or of
// the line an ErrRecordTooLarge error refers to).
func (l *LineReader) Line() int { return l.line }

// Next returns the next line without its terminator. The slice aliases the
// reader's buffer and is valid until the next call; copy it to keep it.
//
// At the end of the input Next returns io.EOF. A line longer than
// MaxRecordBytes yields an error matching ErrRecordTooLarge, after which Next
// continues with the following line. Any other read error is returned after
// the complete lines read before it, is sticky, and drops an unterminated
// partial line (it is most likely cut, e.g. by a truncated gzip stream).
func (l *LineReader) Next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(l.buf[l.scan:l.end], '\n'); i >= 0 {
			nl := l.scan + i
			line := l.buf[l.start:nl]
			l.start = nl + 1
			l.scan = l.start
			return l.finish(line)
		}
		l.scan = l.end
		if l.err != nil {
			return l.last()
		}
		if l.end-l.start > l.max+1 { // +1: a trailing '\r' is not counted
			l.skip = true
			l.start, l.scan, l.end = 0, 0, 0
		}
		l.fill()
	}
}

// last handles the end of the input once no '\n' is left in the buffer.
func (l *LineReader) last() ([]byte, error) {
	if !errors.Is(l.err, io.EOF) {
		l.start, l.scan, l.end, l.skip = 0, 0, 0, false
		return nil, l.err
	}
	if l.start == l.end && !l.skip {
		return nil, io.EOF
	}
	line := l.buf[l.start:l.end]
	l.start, l.scan, l.end = 0, 0, 0
	return l.finish(line)
}

// finish counts the line and returns it without its "\r", or the error
// for a line over the limit.
func (l *LineReader) finish(line []byte) ([]byte, error) {
	l.line++
	if l.skip {
		l.skip = false
		return nil, tooLarge("line", l.line, l.max)
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > l.max {
		return nil, tooLarge("line", l.line, l.max)
	}
	return line, nil
}

// fill moves the unconsumed bytes to the front, grows the buffer if it is
// full, and reads more. A read error is stored in l.err.
func (l *LineReader) fill() {
	if l.start > 0 {
		n := copy(l.buf, l.buf[l.start:l.end])
		l.scan -= l.start
		l.start, l.end = 0, n
	}
	if l.end == len(l.buf) {
		l.buf = grow(l.buf, l.end, l.max)
	}
	for empty := 0; ; empty++ {
		n, err := l.r.Read(l.buf[l.end:])
		l.end += n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("codec: reading lines: %w", err)
			}
			l.err = err
			return
		}
		if n > 0 {
			return
		}
		if empty >= maxEmptyReads {
			l.err = io.ErrNoProgress
			return
		}
	}
}
