package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/iotest"
)

// addSeeds adds every file of testdata and the given inputs to the corpus.
func addSeeds(f *testing.F, extra ...string) {
	f.Helper()
	paths, err := filepath.Glob("testdata/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(0))
		f.Add(b, uint16(16))
	}
	for _, s := range extra {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(8))
	}
}

// results renders what a reader returns, for comparing two ways of reading.
func results(t *testing.T, rr recordReader, limit int) ([]string, [][]byte) {
	t.Helper()
	var out []string
	var recs [][]byte
	for n := 0; ; n++ {
		if n > limit {
			t.Fatalf("more than %d results: no progress", limit)
		}
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return out, recs
		}
		var se *SyntaxError
		switch {
		case err == nil:
			recs = append(recs, bytes.Clone(rec))
			out = append(out, string(rune(rr.Line()))+string(rec))
		case errors.As(err, &se):
			out = append(out, string(rune(rr.Line()))+"!syntax")
		case errors.Is(err, ErrRecordTooLarge):
			out = append(out, string(rune(rr.Line()))+"!toolarge")
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
}

func FuzzLineReader(f *testing.F) {
	addSeeds(f, "", "\n", "\r\n", "a\r", "a\nb", "\r\r\n\n")
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		cfg := Config{MaxRecordBytes: int(max)}
		whole, lines := results(t, NewLineReader(bytes.NewReader(data), cfg), len(data)+2)
		chunked, _ := results(t, NewLineReader(iotest.OneByteReader(bytes.NewReader(data)), cfg), len(data)+2)
		if !equal(whole, chunked) {
			t.Fatalf("whole %q != one-byte reads %q", whole, chunked)
		}
		if max != 0 {
			return
		}
		// Oracle: split on '\n', drop one trailing '\r' per line and an empty last piece.
		want := bytes.Split(data, []byte("\n"))
		if len(want[len(want)-1]) == 0 {
			want = want[:len(want)-1]
		}
		if len(want) != len(lines) {
			t.Fatalf("%d lines, want %d", len(lines), len(want))
		}
		for i := range want {
			if w := bytes.TrimSuffix(want[i], []byte("\r")); !bytes.Equal(w, lines[i]) {
				t.Fatalf("line %d = %q, want %q", i+1, lines[i], w)
			}
		}
	})
}

func FuzzMultilineReader(f *testing.F) {
	addSeeds(f, "2024 a\n b\n2024 c", " x\n2024")
	first := regexp.MustCompile(`^\d`)
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		cfg := Config{MaxRecordBytes: int(max)}
		whole, recs := results(t, NewMultilineReader(bytes.NewReader(data), first, cfg), len(data)+2)
		chunked, _ := results(t, NewMultilineReader(iotest.OneByteReader(bytes.NewReader(data)), first, cfg), len(data)+2)
		if !equal(whole, chunked) {
			t.Fatalf("whole %q != one-byte reads %q", whole, chunked)
		}
		for i, r := range recs {
			if i > 0 && !first.Match(r) {
				t.Fatalf("record %d %q does not start with a first line", i, r)
			}
		}
	})
}

func FuzzJSONReader(f *testing.F) {
	addSeeds(f, `{"Records":[{"a":1},{"b":[2,"]"]}]}`, "{\"a\":1}\n{\"b\":\"cut\n{\"c\":3}",
		`[1,{"a":"\u00e9\"\\"},-0.5e+3,true,null]`, `{"x":1,"Records":[{"a":1},{"b":x},{"c":3}]}`)
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		cfg := Config{MaxRecordBytes: int(max)}
		for _, delim := range []string{"", "Records"} {
			whole, recs := results(t, NewJSONReader(bytes.NewReader(data), delim, cfg), len(data)+2)
			chunked, _ := results(t, NewJSONReader(iotest.OneByteReader(bytes.NewReader(data)), delim, cfg), len(data)+2)
			if !equal(whole, chunked) {
				t.Fatalf("delim %q: whole %q != one-byte reads %q", delim, whole, chunked)
			}
			peeked, _ := results(t, &peekFramer{jr: NewJSONReader(bytes.NewReader(data), delim, cfg)}, len(data)+2)
			if !equal(whole, peeked) {
				t.Fatalf("delim %q: Next %q != PeekRecord %q", delim, whole, peeked)
			}
			for _, r := range recs {
				if !json.Valid(r) {
					t.Fatalf("delim %q: invalid JSON returned: %q", delim, r)
				}
			}
			// Oracle: one valid non-array value is one record, itself.
			trimmed := bytes.TrimSpace(data)
			if delim == "" && max == 0 && json.Valid(data) && len(trimmed) > 0 && trimmed[0] != '[' {
				if len(whole) != 1 || len(recs) != 1 || !bytes.Equal(recs[0], trimmed) {
					t.Fatalf("valid value %q framed as %q", data, whole)
				}
			}
		}
	})
}

func FuzzDecompress(f *testing.F) {
	f.Add(gzipBytes(f, "a\nb\n", "c"), uint16(0))
	f.Add(zstdBytes(f, "{\"a\":1}\n"), uint16(0))
	f.Add(zipBytes(f, [2]string{"a", "1\n"}, [2]string{"b", "2"}), uint16(0))
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, _ uint16) {
		calls := 0
		err := Decompress(bytes.NewReader(data), func(_ string, body io.Reader) error {
			calls++
			lr := NewLineReader(body, Config{})
			for {
				if _, err := lr.Next(); err != nil {
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
			}
		})
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v from in-memory input does not match ErrCorrupt", err)
		}
		if f := Sniff(data); err == nil && f != FormatZip && calls != 1 {
			t.Fatalf("%v: fn called %d times", f, calls)
		}
	})
}
