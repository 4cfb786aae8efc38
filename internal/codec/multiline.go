package codec

import (
	"errors"
	"io"
	"regexp"
)

// MultilineReader groups lines into records: a line matching the first-line
// pattern starts a new record, every other line is appended to the current
// record after a "\n" (stack traces, multi-line syslog messages).
//
// Lines before the first matching line are grouped into one record of their
// own: they are taken to be the tail of a record whose first line is not in
// this input (e.g. it was in the previous, rotated file). Line terminators are
// handled as by LineReader. A MultilineReader is not safe for concurrent use.
type MultilineReader struct {
	lines   *LineReader
	first   *regexp.Regexp
	max     int
	rec     []byte // record being built; returned by Next
	pend    []byte // first line of the next record, already read
	hasPend bool
	pendNo  int
	recNo   int
	err     error // io.EOF or read error, returned once rec is delivered
}

// NewMultilineReader returns a MultilineReader reading from r; first matches
// the first line of a record. cfg.MaxRecordBytes caps a whole record.
func NewMultilineReader(r io.Reader, first *regexp.Regexp, cfg Config) *MultilineReader {
	return &MultilineReader{lines: NewLineReader(r, cfg), first: first, max: cfg.maxRecord()}
}

// Reset makes m read from r as if newly made, keeping its buffers.
func (m *MultilineReader) Reset(r io.Reader) {
	m.lines.Reset(r)
	m.rec, m.pend = m.rec[:0], m.pend[:0]
	m.hasPend, m.pendNo, m.recNo, m.err = false, 0, 0, nil
}

// Line returns the 1-based number of the first line of the record last
// returned by Next.
func (m *MultilineReader) Line() int { return m.recNo }

// Next returns the next record, its lines joined by "\n". The slice aliases
// the reader's buffer and is valid until the next call.
//
// At the end of the input Next returns io.EOF. A record longer than
// MaxRecordBytes yields an error matching ErrRecordTooLarge (Line gives its
// first line) and is skipped. Other errors are those of LineReader.Next and
// come after the record being built when they happened.
func (m *MultilineReader) Next() ([]byte, error) {
	if m.err != nil {
		return nil, m.err // io.EOF or a read error; sticky
	}
	// The record returned by the previous call is no longer needed: its
	// buffer takes the next record's first line.
	m.rec, m.pend = m.pend, m.rec[:0]
	tooBig := false
	if m.hasPend {
		m.hasPend = false
		m.recNo = m.pendNo
	} else {
		line, err := m.lines.Next()
		m.recNo = m.lines.Line()
		switch {
		case errors.Is(err, ErrRecordTooLarge):
			tooBig = true
		case err != nil:
			m.err = err
			return nil, err
		}
		m.rec = append(m.rec[:0], line...)
	}
	for {
		line, err := m.lines.Next()
		if err != nil && !errors.Is(err, ErrRecordTooLarge) {
			if tooBig {
				m.err = err
				return nil, tooLarge("record", m.recNo, m.max)
			}
			m.err = err
			return m.rec, nil
		}
		if err == nil && m.first.Match(line) {
			m.pend = append(m.pend[:0], line...)
			m.hasPend = true
			m.pendNo = m.lines.Line()
			if tooBig {
				return nil, tooLarge("record", m.recNo, m.max)
			}
			return m.rec, nil
		}
		if err != nil || len(m.rec)+1+len(line) > m.max {
			tooBig = true
		}
		if !tooBig {
			m.rec = append(m.rec, '\n')
			m.rec = append(m.rec, line...)
		}
	}
}
