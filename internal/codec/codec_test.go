package codec

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// recordReader is what every framing reader implements.
type recordReader interface {
	Next() ([]byte, error)
	Line() int
}

// collect reads rr to the end and renders each result as "line:record",
// "line:!syntax", "line:!toolarge" or "!err <error>" (which ends reading).
func collect(t testing.TB, rr recordReader) []string {
	t.Helper()
	var out []string
	for n := 0; ; n++ {
		if n > 100000 {
			t.Fatal("reader does not stop")
		}
		rec, err := rr.Next()
		var se *SyntaxError
		switch {
		case err == nil:
			out = append(out, fmt.Sprintf("%d:%s", rr.Line(), rec))
		case errors.Is(err, io.EOF):
			return out
		case errors.As(err, &se):
			if se.Line != rr.Line() {
				t.Errorf("SyntaxError.Line %d != Line() %d", se.Line, rr.Line())
			}
			out = append(out, fmt.Sprintf("%d:!syntax", rr.Line()))
		case errors.Is(err, ErrRecordTooLarge):
			out = append(out, fmt.Sprintf("%d:!toolarge", rr.Line()))
		default:
			return append(out, "!err "+err.Error())
		}
	}
}

// readers wraps an input in the ways a source may deliver it.
var readers = []struct {
	name string
	wrap func(string) io.Reader
}{
	{name: "whole", wrap: func(s string) io.Reader { return strings.NewReader(s) }},
	{name: "onebyte", wrap: func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
	{name: "dataerr", wrap: func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) }},
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 300<<10)
	tests := []struct {
		name  string
		input string
		max   int
		want  []string
	}{
		{name: "empty", input: "", want: nil},
		{name: "whitespace only", input: "  \n\t\n", want: []string{"1:  ", "2:\t"}},
		{name: "lf", input: "a\nb\n", want: []string{"1:a", "2:b"}},
		{name: "crlf", input: "a\r\nb\r\n\r\n", want: []string{"1:a", "2:b", "3:"}},
		{name: "last line without newline", input: "a\nb", want: []string{"1:a", "2:b"}},
		{name: "last line crlf without lf", input: "a\nb\r", want: []string{"1:a", "2:b"}},
		{name: "lone cr inside", input: "a\rb\n", want: []string{"1:a\rb"}},
		{name: "invalid utf8", input: "\xff\xfe\n\x00", want: []string{"1:\xff\xfe", "2:\x00"}},
		{name: "300 KB line", input: "a\n" + long + "\nb", want: []string{"1:a", "2:" + long, "3:b"}},
		{name: "too large then next", input: "ok\n0123456789abcdef\nnext\n", max: 8,
			want: []string{"1:ok", "2:!toolarge", "3:next"}},
		{name: "too large last line", input: "ok\n0123456789abcdef", max: 8, want: []string{"1:ok", "2:!toolarge"}},
		{name: "max exact with crlf", input: "12345678\r\n", max: 8, want: []string{"1:12345678"}},
		{name: "huge too large", input: "a\n" + long + "\nb\n", max: 1000, want: []string{"1:a", "2:!toolarge", "3:b"}},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got := collect(t, NewLineReader(rd.wrap(tt.input), Config{MaxRecordBytes: tt.max}))
				if !equal(got, tt.want) {
					t.Errorf("got %.200q\nwant %.200q", got, tt.want)
				}
			})
		}
	}
}

func TestLineReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a\nb\npartial"), iotest.ErrReader(boom))
	lr := NewLineReader(r, Config{})
	got := collect(t, lr)
	want := []string{"1:a", "2:b", "!err codec: reading lines: boom"}
	if !equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if _, err := lr.Next(); !errors.Is(err, boom) {
		t.Fatalf("error not sticky: %v", err)
	}
}

func TestMultilineReader(t *testing.T) {
	first := regexp.MustCompile(`^\d{4}-`)
	tests := []struct {
		name  string
		input string
		max   int
		want  []string
	}{
		{name: "empty", input: "", want: nil},
		{name: "grouping", input: "2024-01 a\n  at x\n  at y\n2024-02 b\n2024-03 c\n  tail",
			want: []string{"1:2024-01 a\n  at x\n  at y", "4:2024-02 b", "5:2024-03 c\n  tail"}},
		{name: "leading lines form one record", input: "orphan 1\norphan 2\n2024-01 a\n",
			want: []string{"1:orphan 1\norphan 2", "3:2024-01 a"}},
		{name: "crlf", input: "2024-01 a\r\n b\r\n", want: []string{"1:2024-01 a\n b"}},
		{name: "no match at all", input: "x\ny\n", want: []string{"1:x\ny"}},
		{name: "too large record skipped", input: "2024-01 a\n bbbbbbbbbb\n cccccccccc\n2024-02 b\n", max: 16,
			want: []string{"1:!toolarge", "4:2024-02 b"}},
		{name: "too large last record", input: "2024-01 a\n2024-02 bbbbbbbb\n cccccccccc", max: 16,
			want: []string{"1:2024-01 a", "2:!toolarge"}},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got := collect(t, NewMultilineReader(rd.wrap(tt.input), first, Config{MaxRecordBytes: tt.max}))
				if !equal(got, tt.want) {
					t.Errorf("got %q\nwant %q", got, tt.want)
				}
			})
		}
	}
}

func TestJSONReader(t *testing.T) {
	pad := strings.Repeat("p", 100)
	big := `{"k":"` + strings.Repeat("v", 300<<10) + `"}`
	tests := []struct {
		name  string
		input string
		delim string
		max   int
		want  []string
	}{
		{name: "empty", input: "", want: nil},
		{name: "whitespace only", input: " \n\t\r\n ", want: nil},
		{name: "records", delim: "Records",
			input: `{"Records":[{"a":1},{"b":2}]}`, want: []string{`1:{"a":1}`, `1:{"b":2}`}},
		{name: "records key after other keys", delim: "Records",
			input: `{"Version":"1.0","Meta":{"Records":[9]},"Records":[ {"a":[1,{"x":"]}"}]} ,` + "\n" + `{"b":"\"}{"}` + "\n" + `],"Tail":[1,2]}`,
			want:  []string{`1:{"a":[1,{"x":"]}"}]}`, `2:{"b":"\"}{"}`}},
		{name: "records empty", delim: "Records", input: `{"Records":[]}`, want: nil},
		{name: "records scalars", delim: "Records", input: `{"Records":[1,"two",null,-3.5e2]}`,
			want: []string{"1:1", `1:"two"`, "1:null", "1:-3.5e2"}},
		{name: "object without delimiter is the record", delim: "Records",
			input: `{"a":1}` + "\n" + `{"Records":{"b":2}}`, want: []string{`1:{"a":1}`, `2:{"Records":{"b":2}}`}},
		{name: "ndjson of envelopes", delim: "Records",
			input: `{"Records":[{"a":1}]}` + "\n" + `{"Records":[{"b":2}]}` + "\n",
			want:  []string{`1:{"a":1}`, `2:{"b":2}`}},
		{name: "ndjson", input: "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}",
			want: []string{`1:{"a":1}`, `2:{"b":2}`, `4:{"c":3}`}},
		{name: "concatenated", input: "{\"a\":1}{\"b\":2}  \t{\"c\":\n3}\n\"s\" 1 true false null",
			want: []string{`1:{"a":1}`, `1:{"b":2}`, "1:{\"c\":\n3}", `3:"s"`, "3:1", "3:true", "3:false", "3:null"}},
		{name: "top-level array", input: "[{\"a\":1},\n {\"b\":[2]}]\n[3]",
			want: []string{`1:{"a":1}`, `2:{"b":[2]}`, "3:3"}},
		{name: "nested and escapes", input: `{"s":"a\"}]\\","u":"\u00e9\n","n":[[[{}]],[]],"e":-0.1E+5}`,
			want: []string{`1:{"s":"a\"}]\\","u":"\u00e9\n","n":[[[{}]],[]],"e":-0.1E+5}`}},
		{name: "bom", input: "\xef\xbb\xbf{\"a\":1}", want: []string{`1:{"a":1}`}},
		{name: "cut line in ndjson", input: "{\"a\":1}\n{\"b\":\"cut\n{\"c\":3}\n{\"d\":4}",
			want: []string{`1:{"a":1}`, "2:!syntax", `3:{"c":3}`, `4:{"d":4}`}},
		{name: "cut after comma in ndjson", input: "{\"a\":1,\n  {\"c\":3}\n{\"d\":4}",
			want: []string{"1:!syntax", `2:{"c":3}`, `3:{"d":4}`}},
		{name: "garbage lines", input: "hello world\n  {\"a\":1}\nx}\n[1]",
			want: []string{"1:!syntax", `2:{"a":1}`, "3:!syntax", "4:1"}},
		{name: "truncated ndjson", input: "{\"a\":1}\n{\"b\":[1,", want: []string{`1:{"a":1}`, "2:!syntax"}},
		{name: "truncated records", delim: "Records", input: "{\"Records\":[{\"a\":1},\n{\"b\":",
			want: []string{`1:{"a":1}`, "2:!syntax"}},
		{name: "truncated between records", delim: "Records", input: "{\"Records\":[{\"a\":1},",
			want: []string{`1:{"a":1}`, "1:!syntax"}},
		{name: "bad element resyncs to next", delim: "Records",
			input: `{"Records":[{"a":1},{"b":tru},{"c":[{"x":1},{"y":2}]},{"d":4}]}`,
			want:  []string{`1:{"a":1}`, "1:!syntax", `1:{"c":[{"x":1},{"y":2}]}`, `1:{"d":4}`}},
		{name: "bad last element ends", delim: "Records",
			input: `{"Records":[{"a":1},{"b":"x` + "\x01" + `"}]}`, want: []string{`1:{"a":1}`, "1:!syntax"}},
		{name: "bad element then next envelope line", delim: "Records",
			input: "{\"Records\":[{\"a\":1},{\"b\":01}]}\n{\"Records\":[{\"c\":3}]}",
			want:  []string{`1:{"a":1}`, "1:!syntax", `2:{"c":3}`}},
		{name: "bad array element", input: `[{"a":1},{"b" 2},{"c":3}]`,
			want: []string{`1:{"a":1}`, "1:!syntax", `1:{"c":3}`}},
		{name: "invalid tokens", input: "[1,]\n{\"a\":1,}\n{\"a\" 1}\n[01]\n{\"a\":\"\\x\"}\n{\"a\":1]\n{\"a\":-}\n{\"a\":1.}\n{\"a\":1e}\n{1:2}\n{\"ok\":1}",
			want: []string{"1:1", "1:!syntax", "2:!syntax", "3:!syntax", "4:0", "4:!syntax", "5:!syntax", "6:!syntax", "7:!syntax", "8:!syntax", "9:!syntax", "10:!syntax", `11:{"ok":1}`}},
		{name: "too large ndjson", max: 16, input: "{\"a\":\"0123456789abcdef\"}\n{\"b\":1}",
			want: []string{"1:!toolarge", `2:{"b":1}`}},
		{name: "envelope larger than max streams", delim: "Records", max: 32,
			input: `{"Records":[{"a":"0123456789"},{"a":"0123456789"},{"a":"0123456789"},{"a":"0123456789"}]}`,
			want:  []string{`1:{"a":"0123456789"}`, `1:{"a":"0123456789"}`, `1:{"a":"0123456789"}`, `1:{"a":"0123456789"}`}},
		{name: "large keys before delimiter", delim: "Records", max: 32,
			input: `{"pad":"` + pad + `","Records":[{"a":1}],"more":"` + pad + `"}` + "\n" + `{"pad":"` + pad + `"}`,
			want:  []string{`1:{"a":1}`, "2:!toolarge"}},
		{name: "300 KB record", input: "{\"a\":1}\n" + big + "\n{\"b\":2}",
			want: []string{`1:{"a":1}`, "2:" + big, `3:{"b":2}`}},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got := collect(t, NewJSONReader(rd.wrap(tt.input), tt.delim, Config{MaxRecordBytes: tt.max}))
				if !equal(got, tt.want) {
					t.Errorf("got %.300q\nwant %.300q", got, tt.want)
				}
				peeked := collect(t, &peekFramer{jr: NewJSONReader(rd.wrap(tt.input), tt.delim, Config{MaxRecordBytes: tt.max})})
				if !equal(peeked, tt.want) {
					t.Errorf("with PeekRecord: got %.300q\nwant %.300q", peeked, tt.want)
				}
				for _, g := range got {
					if _, rec, ok := strings.Cut(g, ":"); ok && !strings.HasPrefix(rec, "!") && !json.Valid([]byte(rec)) {
						t.Errorf("invalid JSON returned: %.100q", rec)
					}
				}
			})
		}
	}
}

func TestJSONReaderDepth(t *testing.T) {
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	ok := strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)
	got := collect(t, NewJSONReader(strings.NewReader("{\"a\":"+deep+"}\n{\"a\":"+ok[1:len(ok)-1]+"}"), "", Config{}))
	if len(got) != 2 || got[0] != "1:!syntax" || !strings.HasPrefix(got[1], "2:{") {
		t.Fatalf("got %.80q", got)
	}
}

func TestJSONReaderSyntaxErrorFields(t *testing.T) {
	jr := NewJSONReader(strings.NewReader("{\"a\":1}\n{\"b\":x}\n"), "", Config{})
	if _, err := jr.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := jr.Next()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("want *SyntaxError, got %v", err)
	}
	if se.Line != 2 || se.Offset != 13 || !strings.Contains(se.Msg, "expected value") {
		t.Fatalf("got %+v", se)
	}
}

// ---- decompression ----

func gzipBytes(t testing.TB, parts ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range parts { // one member per part
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, s string) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll([]byte(s), nil)
}

func zipBytes(t testing.TB, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("dir/"); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// onlyReader hides every method but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// decompressLines runs Decompress and frames every member into lines.
func decompressLines(t testing.TB, r io.Reader) (got []string, format Format, err error) {
	err = DecompressFormat(r, func(f Format, member string, body io.Reader) error {
		format = f
		lr := NewLineReader(body, Config{})
		for {
			line, err := lr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			got = append(got, member+"|"+string(line))
		}
	})
	return got, format, err
}

func TestDecompress(t *testing.T) {
	bz2, err := os.ReadFile("testdata/lines.txt.bz2")
	if err != nil {
		t.Fatal(err)
	}
	random := []byte{0x00, 0x9c, 0xff, 0x1f, '\n', 0x8b, 0x28, 'B', 'Z'}
	tests := []struct {
		name   string
		input  []byte
		format Format
		want   []string
	}{
		{name: "empty", input: nil, format: FormatPlain},
		{name: "plain", input: []byte("a\nb"), format: FormatPlain, want: []string{"|a", "|b"}},
		{name: "random bytes are plain", input: random, format: FormatPlain, want: []string{"|\x00\x9c\xff\x1f", "|\x8b(BZ"}},
		{name: "gzip", input: gzipBytes(t, "a\nb\n"), format: FormatGzip, want: []string{"|a", "|b"}},
		{name: "gzip multi-member", input: gzipBytes(t, "a\nb", "c\n", "", "d\n"), format: FormatGzip,
			want: []string{"|a", "|bc", "|d"}},
		{name: "bzip2 two streams", input: bz2, format: FormatBzip2,
			want: []string{"|first line", "|second line", "|third line", "|last line without newline"}},
		{name: "zstd", input: append(zstdBytes(t, "a\nb\n"), zstdBytes(t, "c")...), format: FormatZstd,
			want: []string{"|a", "|b", "|c"}},
		{name: "zip two members", input: zipBytes(t, [2]string{"one.log", "a\nb\n"}, [2]string{"two.log", "c"}),
			format: FormatZip, want: []string{"one.log|a", "one.log|b", "two.log|c"}},
		{name: "zip empty", input: zipBytes(t), format: FormatZip},
	}
	for _, tt := range tests {
		inputs := []struct {
			name string
			r    io.Reader
		}{
			{name: "readerat", r: bytes.NewReader(tt.input)},
			{name: "stream", r: onlyReader{bytes.NewReader(tt.input)}},
			{name: "onebyte", r: iotest.OneByteReader(bytes.NewReader(tt.input))},
		}
		for _, in := range inputs {
			t.Run(tt.name+"/"+in.name, func(t *testing.T) {
				got, f, err := decompressLines(t, in.r)
				if err != nil {
					t.Fatal(err)
				}
				if len(tt.want) > 0 && f != tt.format {
					t.Errorf("format %v, want %v", f, tt.format)
				}
				if !equal(got, tt.want) {
					t.Errorf("got %q\nwant %q", got, tt.want)
				}
			})
		}
	}
}

func TestDecompressZipFile(t *testing.T) {
	path := t.TempDir() + "/a.zip"
	if err := os.WriteFile(path, zipBytes(t, [2]string{"x", "1\n"}, [2]string{"y", "2\n"}), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _, err := decompressLines(t, f)
	if err != nil || !equal(got, []string{"x|1", "y|2"}) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDecompressCorrupt(t *testing.T) {
	var sb strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&sb, "2 123456789012 eni-%08x 10.0.0.1 10.0.0.2 443 %d 6 10 840 1620000000 1620000060 ACCEPT OK\n", i, i)
	}
	text := sb.String()
	gz := gzipBytes(t, text)
	zs := zstdBytes(t, text)
	zp := zipBytes(t, [2]string{"a", text})
	tests := []struct {
		name     string
		input    []byte
		minLines int // complete lines expected before the error
	}{
		{name: "truncated gzip", input: gz[:len(gz)/2], minLines: 1000},
		{name: "gzip cut in trailer", input: gz[:len(gz)-4], minLines: 20000},
		{name: "gzip header only", input: gz[:2]},
		{name: "gzip bad member after first", input: append(append([]byte{}, gz...), 0x1f, 0x8b, 0xff, 0xff)},
		{name: "truncated zstd", input: zs[:len(zs)/2]},
		{name: "truncated zip", input: zp[:len(zp)/2]},
		{name: "corrupt bzip2", input: []byte("BZh91AY&SYgarbage-garbage-garbage")},
	}
	lines := strings.Split(text, "\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := decompressLines(t, bytes.NewReader(tt.input))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			if len(got) < tt.minLines {
				t.Errorf("%d lines before the error, want >= %d", len(got), tt.minLines)
			}
			for i, g := range got {
				if g != "|"+lines[i] && g != "a|"+lines[i] {
					t.Fatalf("line %d = %q, want %q", i+1, g, lines[i])
				}
			}
		})
	}
}

func TestDecompressReadError(t *testing.T) {
	boom := errors.New("connection reset")
	gz := gzipBytes(t, strings.Repeat("line\n", 100000))
	for _, tt := range []struct {
		name  string
		input []byte
	}{
		{name: "plain", input: []byte(strings.Repeat("line\n", 100000))},
		{name: "gzip", input: gz},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := io.MultiReader(bytes.NewReader(tt.input[:len(tt.input)/2]), iotest.ErrReader(boom))
			_, _, err := decompressLines(t, r)
			if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want the read error and not ErrCorrupt", err)
			}
		})
	}
}

func TestDecompressCallbackError(t *testing.T) {
	stop := errors.New("stop")
	for _, in := range [][]byte{[]byte("x"), gzipBytes(t, "x"), zipBytes(t, [2]string{"a", "x"}, [2]string{"b", "y"})} {
		n := 0
		err := Decompress(bytes.NewReader(in), func(string, io.Reader) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("got %v after %d calls", err, n)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want Format
	}{
		{name: "empty", head: nil, want: FormatPlain},
		{name: "gzip", head: []byte{0x1f, 0x8b}, want: FormatGzip},
		{name: "bzip2", head: []byte("BZh9"), want: FormatBzip2},
		{name: "bzip2 bad level", head: []byte("BZh0"), want: FormatPlain},
		{name: "zstd", head: []byte{0x28, 0xb5, 0x2f, 0xfd}, want: FormatZstd},
		{name: "zstd skippable", head: []byte{0x5a, 0x2a, 0x4d, 0x18}, want: FormatZstd},
		{name: "zip", head: []byte("PK\x03\x04"), want: FormatZip},
		{name: "empty zip", head: []byte("PK\x05\x06"), want: FormatZip},
		{name: "json", head: []byte(`{"Re`), want: FormatPlain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff(tt.head); got != tt.want {
				t.Errorf("Sniff = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{MaxRecordBytes: -1}).Validate(); err == nil {
		t.Error("negative MaxRecordBytes accepted")
	}
	if err := (Config{}).Validate(); err != nil {
		t.Error(err)
	}
}

// peekFramer reads records the way a consumer that validates JSON itself
// does: through PeekRecord and SkipRecord, with encoding/json finding where
// each object ends, and through Next where that fails. It must yield what
// Next alone yields.
type peekFramer struct {
	jr *JSONReader
}

func (p *peekFramer) Next() ([]byte, error) {
	if buf, ok := p.jr.PeekRecord(); ok {
		dec := json.NewDecoder(bytes.NewReader(buf))
		var v json.RawMessage
		if err := dec.Decode(&v); err == nil {
			n := int(dec.InputOffset())
			rec := append([]byte(nil), buf[:n]...)
			p.jr.SkipRecord(n)
			return rec, nil
		}
	}
	return p.jr.Next()
}

func (p *peekFramer) Line() int { return p.jr.Line() }
