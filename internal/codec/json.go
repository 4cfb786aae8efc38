package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
)

// SyntaxError reports malformed JSON. The reader has skipped the bad record
// and resynchronised; the next call to Next continues after it.
type SyntaxError struct {
	// Line is the 1-based line where the bad record starts (where the
	// offending byte is, when it is outside any record).
	Line int
	// Offset is the 0-based offset, in the decompressed input, of the byte
	// where the error was found.
	Offset int64
	// Msg describes the error.
	Msg string
	// Raw holds the bytes of the bad record as far as they were read
	// (for a line that is not a record, the line), for dead-lettering and
	// replay. It is a copy owned by the caller.
	Raw []byte
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return "codec: json syntax error at line " + strconv.Itoa(e.Line) +
		" (offset " + strconv.FormatInt(e.Offset, 10) + "): " + e.Msg
}

// maxJSONDepth is the nesting limit; encoding/json rejects deeper values.
const maxJSONDepth = 10000

// Scanner states.
const (
	stValue        uint8 = iota // a value is expected (or, at depth 0, whitespace/EOF)
	stValueOrClose              // after '['
	stKeyOrClose                // after '{'
	stKey                       // after ',' in an object
	stColon                     // after a key
	stCommaOrClose              // after a value in a container
	stString                    // inside a string
	stStrEsc                    // after '\' in a string
	stStrU                      // inside \uXXXX
	stNumMinus                  // after '-'
	stNumZero                   // after a leading '0'
	stNumInt                    // in integer digits
	stNumDot                    // after '.'
	stNumFrac                   // in fraction digits
	stNumE                      // after 'e' or 'E'
	stNumESign                  // after the exponent sign
	stNumExp                    // in exponent digits
	stLit                       // inside true, false or null
)

// Resynchronisation states after a syntax error.
const (
	rsNone      uint8 = iota
	rsLineSeek        // looking for '\n'
	rsLineStart       // at a line start: a '{' or '[' after blanks restarts
	rsElemBrace       // in a records array: looking for '}' (or a line starting with '{' / '[')
	rsElemNL          // in a records array, after '\n': a '{' or '[' starts a top-level value
	rsElemComma       // after '}': ',' expected
	rsElemOpen        // after "},": '{' restarts an element
)

// strSafe marks the bytes that need no attention inside a JSON string.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// SWAR constants for skipString.
const (
	lsb   = 0x0101010101010101
	msb   = 0x8080808080808080
	quote = 0x22 * lsb
	bslsh = 0x5c * lsb
	space = 0x20 * lsb
)

func isDigit(c byte) bool { return c-'0' < 10 }

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// JSONReader streams JSON records out of a stream. It accepts
//
//   - an object holding the records in an array under the delimiter key
//     (es-loader's json_delimiter, e.g. {"Records":[{...},{...}]}): each
//     element is a record, the other keys of the object are skipped, and the
//     key may come after other keys; an object without that key (or whose
//     value there is not an array) is itself a record;
//   - a top-level array: each element is a record;
//   - NDJSON and concatenated JSON values separated by any whitespace: each
//     top-level value is a record (and any mix of the above, one after the
//     other).
//
// The object is never read whole: memory holds one record, and the bytes of
// the enclosing object are dropped as they are scanned (an object that may
// turn out to be a record is kept until it is known not to be one, up to
// MaxRecordBytes). The structure, strings, escapes, numbers and literals are
// validated, so every record returned is valid JSON (as encoding/json.Valid
// judges it; invalid UTF-8 inside strings is passed through). A leading UTF-8
// byte order mark is skipped. Keys are compared with the delimiter as raw
// bytes, without unescaping.
//
// On malformed input Next returns a *SyntaxError and resynchronises:
//   - outside a records array (NDJSON, concatenated values), it continues
//     with a fresh top-level value at the offending byte if that is '{' or
//     '[' (a cut line followed by the next record), else at the next line
//     whose first non-blank byte is '{' or '[';
//   - inside a records array, it skips to the next "}" "," "{" sequence
//     (whitespace allowed between) and continues with the element starting at
//     that '{'; a line starting with '{' or '[' in column 0 met first is
//     taken as a fresh top-level value instead. Without either, the input
//     ends.
//
// Input ending inside a value yields a SyntaxError "unexpected end of input",
// then io.EOF. A JSONReader is not safe for concurrent use.
type JSONReader struct {
	r     io.Reader
	delim []byte
	max   int

	buf  []byte
	pos  int   // next byte to scan
	end  int   // end of buffered data
	base int64 // input offset of buf[0]
	line int   // line number at pos
	err  error // io.EOF or read error from r, once seen
	done error // sticky terminal result of Next
	bom  bool  // the byte order mark check is done

	// Scanner state.
	st        uint8
	rs        uint8
	strKey    bool // the string being scanned is a key
	delimNext bool // the next value is that of the delimiter key
	tentative bool // the depth-0 record is an object that may be an envelope
	recSkip   bool // the record in progress exceeded max; its bytes are dropped
	lit       string
	uLeft     int
	stack     []byte // '{' or '[' per open container
	keyStart  int    // buffer index of the delimiter candidate key's quote, or -1
	recDepth  int    // depth at which values are records, -1 for none
	recStart  int    // buffer index of the record in progress, or -1
	recLine   int
	lastLine  int
	peek      int // buffer index of the record PeekRecord found
}

// NewJSONReader returns a JSONReader reading from r. delimiter is the key of
// the records array in an enclosing object ("" for none: every top-level value,
// or top-level array element, is a record).
func NewJSONReader(r io.Reader, delimiter string, cfg Config) *JSONReader {
	j := &JSONReader{delim: []byte(delimiter), max: cfg.maxRecord()}
	j.Reset(r)
	return j
}

// Reset makes j read from r as if newly made, keeping its buffers and
// settings.
func (j *JSONReader) Reset(r io.Reader) {
	*j = JSONReader{
		r: r, delim: j.delim, max: j.max, buf: j.buf, stack: j.stack[:0],
		line: 1, keyStart: -1, recStart: -1,
	}
}

// Line returns the 1-based line where the record last returned by Next
// starts (or the Line of the error last returned).
func (j *JSONReader) Line() int { return j.lastLine }

// Next returns the raw bytes of the next JSON record (without surrounding
// whitespace). The slice aliases the reader's buffer and is valid until the
// next call.
//
// At the end of the input Next returns io.EOF. Malformed input yields a
// *SyntaxError (see the type's documentation for how reading resumes); a
// record longer than MaxRecordBytes yields an error matching
// ErrRecordTooLarge and is skipped. A read error is returned once the records
// read completely before it have been returned; it is sticky.
func (j *JSONReader) Next() ([]byte, error) {
	for {
		if j.done != nil {
			return nil, j.done
		}
		if !j.bom {
			if j.end-j.pos < 3 && j.err == nil {
				j.fill()
				continue
			}
			j.bom = true
			if bytes.HasPrefix(j.buf[j.pos:j.end], []byte("\xef\xbb\xbf")) {
				j.pos += 3
			}
		}
		if j.rs != rsNone {
			if j.resync() {
				continue
			}
		} else if rec, ok, err := j.scan(); ok {
			return rec, err
		}
		// The buffer is used up.
		if j.err != nil {
			return j.atEOF()
		}
		j.fill()
	}
}

// atEOF ends the input once every buffered byte is scanned.
func (j *JSONReader) atEOF() ([]byte, error) {
	if !errors.Is(j.err, io.EOF) {
		j.done = j.err
		return nil, j.err
	}
	j.done = io.EOF
	if j.rs != rsNone || (len(j.stack) == 0 && j.st == stValue) {
		return nil, io.EOF
	}
	if len(j.stack) == 0 {
		switch j.st {
		case stNumZero, stNumInt, stNumFrac, stNumExp: // a top-level number ends here
			j.st = stValue
			return j.yield(j.end)
		}
	}
	line := j.line
	if j.recStart >= 0 || j.recSkip {
		line = j.recLine
	}
	j.lastLine = line
	return nil, &SyntaxError{Line: line, Offset: j.base + int64(j.end), Msg: "unexpected end of input"}
}

// yield returns the record ending at buffer index i.
func (j *JSONReader) yield(i int) ([]byte, error) {
	j.tentative = false
	j.lastLine = j.recLine
	start := j.recStart
	j.recStart = -1
	if j.recSkip || i-start > j.max {
		j.recSkip = false
		return nil, tooLarge("JSON value", j.recLine, j.max)
	}
	return j.buf[start:i], nil
}

// fill drops the bytes no longer needed, grows the buffer if it is full and
// reads more.
func (j *JSONReader) fill() {
	if j.recStart >= 0 && j.end-j.recStart > j.max {
		j.recStart = -1 // too large: keep scanning, drop its bytes
		j.recSkip = true
	}
	if j.keyStart >= 0 && j.end-j.keyStart > len(j.delim)+2 {
		j.keyStart = -1 // too long to be the delimiter
	}
	keep := j.pos
	if j.recStart >= 0 && j.recStart < keep {
		keep = j.recStart
	}
	if j.keyStart >= 0 && j.keyStart < keep {
		keep = j.keyStart
	}
	if keep > 0 {
		n := copy(j.buf, j.buf[keep:j.end])
		j.pos -= keep
		j.end = n
		j.base += int64(keep)
		if j.recStart >= 0 {
			j.recStart -= keep
		}
		if j.keyStart >= 0 {
			j.keyStart -= keep
		}
	}
	if j.end == len(j.buf) {
		j.buf = grow(j.buf, j.end, j.max)
	}
	for empty := 0; ; empty++ {
		n, err := j.r.Read(j.buf[j.end:])
		j.end += n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("codec: reading JSON: %w", err)
			}
			j.err = err
			return
		}
		if n > 0 {
			return
		}
		if empty >= maxEmptyReads {
			j.err = io.ErrNoProgress
			return
		}
	}
}

// fail records a syntax error at buffer index i and sets up resynchronisation.
func (j *JSONReader) fail(i int, msg string) ([]byte, bool, error) {
	line := j.line
	if j.recStart >= 0 || j.recSkip {
		line = j.recLine
	}
	j.lastLine = line
	err := &SyntaxError{Line: line, Offset: j.base + int64(i), Msg: msg, Raw: j.badBytes(i)}
	j.recStart, j.recSkip, j.keyStart = -1, false, -1
	j.delimNext, j.tentative = false, false
	j.pos = i
	j.st = stValue
	if j.recDepth >= 1 && len(j.stack) >= j.recDepth {
		j.stack = j.stack[:j.recDepth]
		j.rs = rsElemBrace
		return nil, true, err
	}
	j.stack = j.stack[:0]
	j.recDepth = 0
	j.rs = rsLineSeek
	if c := j.buf[i]; c == '{' || c == '[' {
		j.rs = rsNone // a value starts where the bad one went on: restart there
	}
	return nil, true, err
}

// badBytes copies the bad record around buffer index i: from the record's
// start (or i) to i, or to the end of the line when the offending byte does
// not start a new value.
func (j *JSONReader) badBytes(i int) []byte {
	start := i
	if j.recStart >= 0 && j.recStart < i {
		start = j.recStart
	}
	end := i
	if i < j.end {
		if c := j.buf[i]; c != '{' && c != '[' {
			if k := bytes.IndexByte(j.buf[i:j.end], '\n'); k >= 0 {
				end = i + k
			} else {
				end = j.end
			}
		}
	}
	if end-start > j.max {
		end = start + j.max
	}
	return bytes.TrimSpace(append([]byte(nil), j.buf[start:end]...))
}

func failMsg(what string, c byte) string {
	return what + ", found " + strconv.QuoteRune(rune(c))
}

// resync skips input after a syntax error. It reports whether it is done
// (scanning may go on) or whether the buffer is used up.
func (j *JSONReader) resync() bool {
	buf := j.buf[:j.end]
	i := j.pos
	for i < len(buf) {
		c := buf[i]
		switch j.rs {
		case rsLineSeek:
			k := bytes.IndexByte(buf[i:], '\n')
			if k < 0 {
				i = len(buf)
				continue
			}
			i += k + 1
			j.line++
			j.rs = rsLineStart
		case rsLineStart:
			switch c {
			case ' ', '\t', '\r':
				i++
			case '\n':
				i++
				j.line++
			case '{', '[':
				j.rs = rsNone
				j.pos = i
				return true
			default:
				j.rs = rsLineSeek
			}
		case rsElemBrace:
			i++
			switch c {
			case '}':
				j.rs = rsElemComma
			case '\n':
				j.line++
				j.rs = rsElemNL
			}
		case rsElemNL:
			if c == '{' || c == '[' {
				j.stack = j.stack[:0]
				j.recDepth = 0
				j.rs = rsNone
				j.pos = i
				return true
			}
			j.rs = rsElemBrace
		case rsElemComma, rsElemOpen:
			switch {
			case c == ' ' || c == '\t' || c == '\r':
				i++
			case c == '\n':
				i++
				j.line++
				if j.rs == rsElemComma { // "}" then a line: a '{' there is top-level
					j.rs = rsElemNL
				}
			case c == ',' && j.rs == rsElemComma:
				i++
				j.rs = rsElemOpen
			case c == '{' && j.rs == rsElemOpen:
				j.rs = rsNone
				j.pos = i
				return true
			default:
				j.rs = rsElemBrace
			}
		}
	}
	j.pos = i
	return false
}

// scan runs the scanner over the buffered bytes. ok reports a record or an
// error to return; otherwise the buffer is used up.
func (j *JSONReader) scan() (rec []byte, ok bool, err error) {
	buf := j.buf[:j.end]
	i := j.pos
	st := j.st
	var d int
	for i < len(buf) {
		c := buf[i]
		switch st {
		case stString:
			// skipString, inlined by hand: most strings are short.
			for i <= len(buf)-8 {
				x := binary.LittleEndian.Uint64(buf[i : i+8])
				q, b := x^quote, x^bslsh
				m := (((q - lsb) &^ q) | ((b - lsb) &^ b) | ((x - space) &^ x)) & msb
				if m != 0 {
					i += bits.TrailingZeros64(m) >> 3
					goto strStop
				}
				i += 8
			}
			for i < len(buf) && strSafe[buf[i]] {
				i++
			}
		strStop:
			if i == len(buf) {
				continue
			}
			c = buf[i]
			i++
			if c == '"' {
				if j.strKey {
					if j.keyStart >= 0 {
						j.delimNext = bytes.Equal(buf[j.keyStart+1:i-1], j.delim)
						j.keyStart = -1
					}
					// Fast path: `"key":"` where the value is no record.
					if i+1 < len(buf) && buf[i] == ':' && buf[i+1] == '"' && !j.delimNext && len(j.stack) != j.recDepth {
						j.strKey = false
						i += 2
						continue
					}
					st = stColon
					continue
				}
				goto valueEnd
			}
			if c == '\\' {
				st = stStrEsc
				continue
			}
			return j.fail(i-1, failMsg("invalid character in string", c))
		case stStrEsc:
			switch c {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				st = stString
			case 'u':
				st = stStrU
				j.uLeft = 4
			default:
				return j.fail(i, failMsg("invalid escape in string", c))
			}
			i++
		case stStrU:
			if !isHex(c) {
				return j.fail(i, failMsg("invalid \\u escape in string", c))
			}
			i++
			if j.uLeft--; j.uLeft == 0 {
				st = stString
			}
		case stColon:
			switch c {
			case ':':
				i++
				st = stValue
			case ' ', '\t', '\r':
				i++
			case '\n':
				i++
				j.line++
			default:
				return j.fail(i, failMsg("expected ':' after object key", c))
			}
		case stCommaOrClose:
			switch c {
			case ',':
				i++
				if j.stack[len(j.stack)-1] == '{' {
					st = stKey
				} else {
					st = stValue
				}
			case '}', ']':
				if j.stack[len(j.stack)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
					return j.fail(i, failMsg("mismatched close", c))
				}
				i++
				goto containerEnd
			case ' ', '\t', '\r':
				i++
			case '\n':
				i++
				j.line++
			default:
				return j.fail(i, failMsg("expected ',' or close after value", c))
			}
		case stKeyOrClose, stKey:
			switch c {
			case '"':
				j.strKey = true
				if j.tentative && len(j.stack) == 1 {
					j.keyStart = i
				}
				i++
				st = stString
			case '}':
				if st == stKey {
					return j.fail(i, "expected object key after ','")
				}
				i++
				goto containerEnd
			case ' ', '\t', '\r':
				i++
			case '\n':
				i++
				j.line++
			default:
				return j.fail(i, failMsg("expected object key", c))
			}
		case stValue, stValueOrClose:
			switch c {
			case ' ', '\t', '\r':
				i++
				continue
			case '\n':
				i++
				j.line++
				continue
			case ']':
				if st == stValueOrClose {
					i++
					goto containerEnd
				}
			}
			d = len(j.stack)
			if j.delimNext {
				j.delimNext = false
				if c == '[' { // the records array: the object is an envelope
					j.tentative, j.recSkip = false, false
					j.recStart = -1
					j.recDepth = 2
				}
			} else if d == j.recDepth {
				switch {
				case d == 0 && c == '[': // a top-level array: its elements are records
					j.recDepth = 1
				default:
					j.recStart = i
					j.recSkip = false
					j.recLine = j.line
					j.tentative = d == 0 && c == '{' && len(j.delim) > 0
				}
			}
			switch c {
			case '{', '[':
				if d >= maxJSONDepth {
					rec, ok, err = j.fail(i, "exceeded max depth")
					if j.rs == rsNone {
						j.rs = rsLineSeek // do not restart inside the deep value
					}
					return rec, ok, err
				}
				j.stack = append(j.stack, c)
				if c == '{' {
					st = stKeyOrClose
				} else {
					st = stValueOrClose
				}
			case '"':
				j.strKey = false
				st = stString
			case '-':
				st = stNumMinus
			case '0':
				st = stNumZero
			case '1', '2', '3', '4', '5', '6', '7', '8', '9':
				st = stNumInt
			case 't':
				st, j.lit = stLit, "rue"
			case 'f':
				st, j.lit = stLit, "alse"
			case 'n':
				st, j.lit = stLit, "ull"
			default:
				return j.fail(i, failMsg("expected value", c))
			}
			i++
		case stLit:
			if c != j.lit[0] {
				return j.fail(i, failMsg("invalid literal", c))
			}
			i++
			if j.lit = j.lit[1:]; len(j.lit) == 0 {
				goto valueEnd
			}
		case stNumMinus:
			switch {
			case c == '0':
				st = stNumZero
			case isDigit(c):
				st = stNumInt
			default:
				return j.fail(i, failMsg("invalid number", c))
			}
			i++
		case stNumInt, stNumZero:
			if st == stNumInt {
				for i < len(buf) && isDigit(buf[i]) {
					i++
				}
				if i == len(buf) {
					continue
				}
				c = buf[i]
			}
			switch c {
			case '.':
				st = stNumDot
				i++
			case 'e', 'E':
				st = stNumE
				i++
			default:
				goto valueEnd
			}
		case stNumDot:
			if !isDigit(c) {
				return j.fail(i, failMsg("invalid number", c))
			}
			st = stNumFrac
			i++
		case stNumFrac:
			for i < len(buf) && isDigit(buf[i]) {
				i++
			}
			if i == len(buf) {
				continue
			}
			if c = buf[i]; c == 'e' || c == 'E' {
				st = stNumE
				i++
				continue
			}
			goto valueEnd
		case stNumE:
			switch {
			case c == '+' || c == '-':
				st = stNumESign
			case isDigit(c):
				st = stNumExp
			default:
				return j.fail(i, failMsg("invalid number", c))
			}
			i++
		case stNumESign:
			if !isDigit(c) {
				return j.fail(i, failMsg("invalid number", c))
			}
			st = stNumExp
			i++
		case stNumExp:
			for i < len(buf) && isDigit(buf[i]) {
				i++
			}
			if i == len(buf) {
				continue
			}
			goto valueEnd
		}
		continue

	containerEnd:
		j.stack = j.stack[:len(j.stack)-1]
		d = len(j.stack)
		if d == j.recDepth-1 { // the records array ends
			j.recDepth = -1
		}
		if d == 0 {
			j.recDepth = 0
		}

	valueEnd:
		d = len(j.stack)
		if d == 0 {
			st = stValue
		} else {
			st = stCommaOrClose
		}
		if d == j.recDepth && (j.recStart >= 0 || j.recSkip) {
			j.pos, j.st = i, st
			rec, err = j.yield(i)
			return rec, true, err
		}
		// Fast path: `,"` starting the next key of an object.
		if d > 0 && i+1 < len(buf) && buf[i] == ',' && buf[i+1] == '"' && j.stack[d-1] == '{' {
			j.strKey = true
			if j.tentative && d == 1 {
				j.keyStart = i + 1
			}
			i += 2
			st = stString
		}
	}
	j.pos, j.st = i, st
	return nil, false, nil
}

// PeekRecord lets a consumer that validates JSON itself frame records
// without a second pass. When the reader stands between records (inside a
// records array or at the top level of an input whose every top-level
// object is a record) and the next record is an object that starts within
// the buffered input, it returns the buffered bytes from that record's '{'
// on, at most MaxRecordBytes of them, and ok. The consumer finds where the
// object ends (it may end past the buffered bytes, and then the consumer
// must fall back to Next) and calls SkipRecord with its length. Otherwise
// ok is false and Next must be used. The slice aliases the buffer and is
// valid until the next call to any method.
//
// The caller must only pass SkipRecord the length of a complete, valid JSON
// object that contains no raw control characters in strings and nests no
// deeper than Next allows, so that Next would have returned exactly those
// bytes as a record.
func (j *JSONReader) PeekRecord() ([]byte, bool) {
	if j.done != nil || !j.bom || j.rs != rsNone || j.recStart >= 0 || j.recSkip {
		return nil, false
	}
	d := len(j.stack)
	if d != j.recDepth || (d == 0 && len(j.delim) > 0) || (d > 0 && j.stack[d-1] != '[') {
		return nil, false
	}
	buf := j.buf[:j.end]
	i := skipBlanks(buf, j.pos)
	switch j.st {
	case stCommaOrClose:
		if d == 0 || i >= len(buf) || buf[i] != ',' {
			return nil, false
		}
		i = skipBlanks(buf, i+1)
	case stValue, stValueOrClose:
	default:
		return nil, false
	}
	if i >= len(buf) || buf[i] != '{' {
		return nil, false
	}
	j.peek = i
	end := len(buf)
	if end-i > j.max {
		end = i + j.max
	}
	return buf[i:end], true
}

// SkipRecord consumes the record of n bytes that starts where the last
// PeekRecord's slice starts, as Next would have returned it (Line then
// reports its line).
func (j *JSONReader) SkipRecord(n int) {
	i := j.peek
	j.line += bytes.Count(j.buf[j.pos:i], []byte{'\n'})
	j.lastLine = j.line
	j.line += bytes.Count(j.buf[i:i+n], []byte{'\n'})
	j.pos = i + n
	j.tentative = false
	if len(j.stack) == 0 {
		j.st = stValue
	} else {
		j.st = stCommaOrClose
	}
}

// skipBlanks returns the index of the first byte at or after i that is not
// JSON white space.
func skipBlanks(buf []byte, i int) int {
	for i < len(buf) {
		switch buf[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}
