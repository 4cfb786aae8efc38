package inflate

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// readAll reads r to its end the way readMode says: "writeto" through
// WriteTo, else Read calls with buffers of size n.
func readAll(r interface {
	io.Reader
	io.WriterTo
}, n int) ([]byte, error) {
	var out bytes.Buffer
	if n == 0 {
		_, err := r.WriteTo(&out)
		return out.Bytes(), err
	}
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out.Write(buf[:k])
		if errors.Is(err, io.EOF) {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// inputs returns the ways a test feeds compressed bytes to a reader.
func inputs(data []byte) map[string]io.Reader {
	return map[string]io.Reader{
		"whole":   bytes.NewReader(data),
		"onebyte": iotest.OneByteReader(bytes.NewReader(data)),
		"half":    iotest.HalfReader(bytes.NewReader(data)),
		"dataerr": iotest.DataErrReader(bytes.NewReader(data)),
	}
}

// decodeGzip decodes data with a GzipReader, through every input and read
// size, checks that they all agree, and returns the output and error.
func decodeGzip(t *testing.T, data []byte) ([]byte, error) {
	t.Helper()
	var first []byte
	var firstErr error
	i := 0
	for iname, in := range inputs(data) {
		for _, n := range []int{0, 1, 7, 4096, 100000} {
			var got []byte
			z, err := NewGzipReader(in)
			if err == nil {
				got, err = readAll(z, n)
			}
			if i == 0 {
				first, firstErr = got, err
			} else if !bytes.Equal(got, first) || (err == nil) != (firstErr == nil) {
				t.Fatalf("input %s, reads of %d: %d bytes, error %v; other ways: %d bytes, error %v",
					iname, n, len(got), err, len(first), firstErr)
			}
			i++
			if n == 1 && len(data) > 1<<20 {
				break // slow; covered by the other sizes
			}
			in = bytes.NewReader(data) // fresh input for the next read size
		}
	}
	return first, firstErr
}

func concat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func repeat(s string, n int) []byte {
	return bytes.Repeat([]byte(s), n)
}

// match returns a match token.
func match(length, dist int) token {
	return token{length: length, dist: dist}
}

// crafted returns a raw DEFLATE stream built by fn.
func crafted(fn func(w *bitWriter)) []byte {
	var w bitWriter
	fn(&w)
	return w.bytes()
}

// gz frames a crafted raw stream whose content is plain as a gzip member.
func gz(raw, plain []byte) []byte {
	return gzipMember(raw, plain, gzipHeader{})
}

// chainLens gives syms the code lengths 1, 2, ..., len(syms)-1 and
// len(syms)-1 again: a complete code whose longest codes are 15 bits for
// 16 symbols.
func chainLens(n int, syms []int) []uint8 {
	l := make([]uint8, n)
	for i, s := range syms {
		l[s] = uint8(min(i+1, len(syms)-1))
	}
	return l
}

func TestGzip(t *testing.T) {
	json := cloudTrailJSON(800, 1)
	random := randomBytes(200_000, 2)
	small := []byte("the quick brown fox jumps over the lazy dog; the quick brown fox")

	// Content of the crafted streams.
	helloToks := append(lits("hello, hello"), match(5, 7), token{lit: '!'})
	shortDist := func() ([]token, []byte) {
		var toks []token
		var plain []byte
		for d := 1; d <= 9; d++ {
			for i := range d {
				toks = append(toks, token{lit: byte('a' + i)})
				plain = append(plain, byte('a'+i))
			}
			toks = append(toks, match(100+d, d))
			for range 100 + d {
				plain = append(plain, plain[len(plain)-d])
			}
		}
		return toks, plain
	}
	sdToks, sdPlain := shortDist()

	// A stored block of 32 KiB, then a fixed block that copies its start.
	far := randomBytes(32768, 3)
	farRaw := crafted(func(w *bitWriter) {
		w.storedBlock(false, far)
		w.fixedBlock(true, []token{match(258, 32768), match(3, 32768)})
	})
	farPlain := concat(far, far[:258], far[258:261])

	// Codes with 15-bit codes, which need subtables.
	longLit := chainLens(286, []int{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 265, 285, 'o', 256, 'z'})
	longDist := chainLens(30, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	longToks := append(lits("abczozoabk"), match(12, 3), match(258, 10), token{lit: 'z'}, match(11, 1))
	longPlain := expand(longToks...)

	// 255 8-bit literal codes and 16 12-bit codes: several subtables.
	wideLit := make([]uint8, 286)
	for i := range 255 {
		wideLit[i] = 8
	}
	for _, s := range []int{255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270} {
		wideLit[s] = 12
	}
	oneDist := []uint8{1}
	wideToks := append(lits("\xff\x00\xfe"), match(4, 1), match(3, 1), token{lit: 0xff})
	widePlain := []byte("\xff\x00\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xff")

	allLit := make([]uint8, 286)
	for i := range 256 {
		allLit[i] = 8
	}
	fullLit := make([]uint8, 286) // literals and EOB, complete
	for i := range 254 {
		fullLit[i] = 8
	}
	fullLit[254], fullLit[255], fullLit[256] = 9, 9, 8

	tests := []struct {
		name    string
		in      []byte
		want    []byte // the output, or its start when wantErr is set
		wantErr error  // nil, io.EOF, ErrCorrupt or io.ErrUnexpectedEOF
	}{
		{name: "empty content", in: gzipData(t, nil, 6), want: nil},
		{name: "small", in: gzipData(t, small, 6), want: small},
		{name: "stored", in: gzipData(t, random, gzip.NoCompression), want: random},
		{name: "huffman only", in: gzipData(t, json, gzip.HuffmanOnly), want: json},
		{name: "dynamic level 1", in: gzipData(t, json, 1), want: json},
		{name: "dynamic level 6", in: gzipData(t, json, 6), want: json},
		{name: "dynamic level 9", in: gzipData(t, json, 9), want: json},
		{name: "random level 6", in: gzipData(t, random, 6), want: random},
		{name: "zeros (distance 1)", in: gzipData(t, make([]byte, 3<<20), 9), want: make([]byte, 3<<20)},
		{name: "period 3", in: gzipData(t, repeat("abc", 500_000), 6), want: repeat("abc", 500_000)},
		{name: "period 13", in: gzipData(t, repeat("0123456789abc", 100_000), 6), want: repeat("0123456789abc", 100_000)},
		{
			name: "fixed block",
			in:   gz(crafted(func(w *bitWriter) { w.fixedBlock(true, helloToks) }), expand(helloToks...)),
			want: expand(helloToks...),
		},
		{
			name: "fixed block, distances 1-9",
			in:   gz(crafted(func(w *bitWriter) { w.fixedBlock(true, sdToks) }), sdPlain),
			want: sdPlain,
		},
		{name: "32 KiB back-reference", in: gz(farRaw, farPlain), want: farPlain},
		{
			name: "15-bit codes",
			in:   gz(crafted(func(w *bitWriter) { w.dynamicBlock(true, longLit, longDist, longToks) }), longPlain),
			want: longPlain,
		},
		{
			name: "12-bit codes, one 1-bit distance code",
			in:   gz(crafted(func(w *bitWriter) { w.dynamicBlock(true, wideLit, oneDist, wideToks) }), widePlain),
			want: widePlain,
		},
		{
			name: "no distance code, literals only",
			in: gz(crafted(func(w *bitWriter) {
				w.dynamicBlock(true, fullLit, []uint8{0}, lits("\xfe\xff abc"))
			}), []byte("\xfe\xff abc")),
			want: []byte("\xfe\xff abc"),
		},
		{
			name: "stored, fixed and dynamic blocks",
			in: gz(crafted(func(w *bitWriter) {
				w.storedBlock(false, []byte("stored "))
				w.storedBlock(false, nil)
				w.fixedBlock(false, append(lits("fixed "), match(4, 13)))
				w.dynamicBlock(true, longLit, longDist, longToks)
			}), concat([]byte("stored fixed stor"), longPlain)),
			want: concat([]byte("stored fixed stor"), longPlain),
		},
		{
			name: "matches across blocks",
			in: gz(crafted(func(w *bitWriter) {
				w.storedBlock(false, []byte("across "))
				w.fixedBlock(false, []token{match(7, 7)})
				w.dynamicBlock(true, longLit, longDist, append(lits("abc"), match(258, 10)))
			}), expand(append(append(lits("across "), match(7, 7)), append(lits("abc"), match(258, 10))...)...)),
			want: expand(append(append(lits("across "), match(7, 7)), append(lits("abc"), match(258, 10))...)...),
		},
		{
			name: "multiple members",
			in:   concat(gzipData(t, json[:1000], 6), gzipData(t, nil, 6), gzipData(t, random[:5000], 1), gzipData(t, json, 9)),
			want: concat(json[:1000], random[:5000], json),
		},
		{
			name: "header with extra, name, comment and header CRC",
			in: gzipMember(deflateRaw(t, small, 6), small, gzipHeader{
				extra: repeat("x", 70000), name: []byte("file.json"), comment: repeat("c", 100000), hcrc: true,
			}),
			want: small,
		},
		{
			name: "second member with header fields",
			in: concat(gzipData(t, small, 6),
				gzipMember(deflateRaw(t, small, 6), small, gzipHeader{extra: []byte{}, name: []byte{}, comment: []byte{}, hcrc: true})),
			want: concat(small, small),
		},

		// Damage.
		{name: "empty input", in: nil, wantErr: io.EOF},
		{name: "short header", in: []byte{0x1f, 0x8b, 8, 0}, wantErr: io.ErrUnexpectedEOF},
		{name: "not gzip", in: []byte("plain text, not gzip at all"), wantErr: ErrCorrupt},
		{name: "method 7", in: []byte{0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 3, 3, 0}, wantErr: ErrCorrupt},
		{
			name:    "bad header CRC",
			in:      gzipMember(deflateRaw(t, small, 6), small, gzipHeader{name: []byte("n"), hcrc: true, badHCRC: true}),
			wantErr: ErrCorrupt,
		},
		{name: "name cut short", in: []byte{0x1f, 0x8b, 8, flagName, 0, 0, 0, 0, 0, 3, 'a', 'b'}, wantErr: io.ErrUnexpectedEOF},
		{name: "bad CRC", in: flip(gzipData(t, json, 6), -8), want: json, wantErr: ErrCorrupt},
		{name: "bad length", in: flip(gzipData(t, json, 6), -1), want: json, wantErr: ErrCorrupt},
		{name: "trailer cut short", in: gzipData(t, json, 6)[:len(gzipData(t, json, 6))-3], want: json, wantErr: io.ErrUnexpectedEOF},
		{name: "trailing garbage", in: concat(gzipData(t, small, 6), []byte("garbage!!!!")), want: small, wantErr: ErrCorrupt},
		{name: "trailing zeros", in: concat(gzipData(t, small, 6), make([]byte, 512)), want: small, wantErr: ErrCorrupt},
		{name: "trailing partial header", in: concat(gzipData(t, small, 6), []byte{0x1f, 0x8b}), want: small, wantErr: io.ErrUnexpectedEOF},
		{name: "reserved block type", in: gz([]byte{0x07}, nil), wantErr: ErrCorrupt},
		{
			name:    "stored length mismatch",
			in:      gz([]byte{0x01, 0x05, 0x00, 0xfa, 0xfe, 'a', 'b', 'c', 'd', 'e'}, []byte("abcde")),
			wantErr: ErrCorrupt,
		},
		{
			name: "distance before the start",
			in: gz(crafted(func(w *bitWriter) {
				w.fixedBlock(true, append(lits("abc"), match(3, 4)))
			}), []byte("abcabc")),
			want: []byte("abc"), wantErr: ErrCorrupt,
		},
		{
			name: "distance into the previous member",
			in: concat(gzipData(t, small, 6), gz(crafted(func(w *bitWriter) {
				w.fixedBlock(true, []token{match(3, 1)})
			}), []byte("ggg"))),
			want: small, wantErr: ErrCorrupt,
		},
		{
			name:    "literal/length symbol 286",
			in:      gz(crafted(func(w *bitWriter) { w.fixedBlock(true, []token{{dist: -286}}) }), nil),
			wantErr: ErrCorrupt,
		},
		{
			name: "distance symbol 30",
			in: gz(crafted(func(w *bitWriter) {
				w.fixedBlock(true, append(lits("abcd"), token{dist: -257}, token{raw: 0b01111, rawN: 5}))
			}), nil),
			want: []byte("abcd"), wantErr: ErrCorrupt,
		},
		{
			name: "unused half of a 1-bit distance code",
			in: gz(crafted(func(w *bitWriter) {
				w.dynamicBlock(true, wideLit, oneDist, []token{{lit: 1}, {dist: -257}, {raw: 1, rawN: 1}})
			}), nil),
			want: []byte{1}, wantErr: ErrCorrupt,
		},
		{
			name: "match with no distance code",
			in: gz(crafted(func(w *bitWriter) {
				lens := append([]uint8{}, wideLit...)
				w.dynamicBlock(true, lens, []uint8{0}, []token{{lit: 1}, {dist: -257}, {raw: 0, rawN: 8}})
			}), nil),
			want: []byte{1}, wantErr: ErrCorrupt,
		},
		{
			name: "over-subscribed literal/length code",
			in: gz(crafted(func(w *bitWriter) {
				lens := append([]uint8{}, allLit...)
				lens[256] = 8
				w.dynamicBlock(true, lens, []uint8{1}, nil)
			}), nil),
			wantErr: ErrCorrupt,
		},
		{
			name: "incomplete literal/length code",
			in: gz(crafted(func(w *bitWriter) {
				lens := append([]uint8{}, fullLit...)
				lens[0] = 9
				w.dynamicBlock(true, lens, []uint8{1}, nil)
			}), nil),
			wantErr: ErrCorrupt,
		},
		{
			name: "incomplete distance code",
			in: gz(crafted(func(w *bitWriter) {
				w.dynamicBlock(true, fullLit, []uint8{2, 2, 2}, nil)
			}), nil),
			wantErr: ErrCorrupt,
		},
		{
			name: "no end-of-block code",
			in: gz(crafted(func(w *bitWriter) {
				w.dynamicBlock(true, allLit, []uint8{1}, lits("xyz"))
			}), nil),
			wantErr: io.ErrUnexpectedEOF, // after the trailer decoded as literals
		},
		{
			name: "code length repeat with nothing to repeat",
			in: gz(crafted(func(w *bitWriter) {
				w.bits(1|2<<1, 3)
				w.bits(0, 5)
				w.bits(0, 5)
				w.bits(15, 4)
				for _, s := range preOrder {
					w.bits(b2u(s == 16 || s == 0), 3)
				}
				w.code(1, 1) // symbol 16
				w.bits(0, 2)
			}), nil),
			wantErr: ErrCorrupt,
		},
		{
			name: "code lengths repeat past the end",
			in: gz(crafted(func(w *bitWriter) {
				w.bits(1|2<<1, 3)
				w.bits(0, 5)
				w.bits(0, 5)
				w.bits(15, 4)
				for _, s := range preOrder {
					w.bits(b2u(s == 18 || s == 0), 3)
				}
				w.code(0, 1) // a 0 length
				for range 2 {
					w.code(1, 1) // 138 more
					w.bits(127, 7)
				}
			}), nil),
			wantErr: ErrCorrupt,
		},
		{
			name:    "287 literal/length codes",
			in:      gz(crafted(func(w *bitWriter) { w.bits(1|2<<1, 3); w.bits(30, 5); w.bits(0, 5); w.bits(0, 4) }), nil),
			wantErr: ErrCorrupt,
		},
		{
			name:    "31 distance codes",
			in:      gz(crafted(func(w *bitWriter) { w.bits(1|2<<1, 3); w.bits(0, 5); w.bits(30, 5); w.bits(0, 4) }), nil),
			wantErr: ErrCorrupt,
		},
		{
			name: "no final block", // the trailer is read as a stored block
			in:   gz(crafted(func(w *bitWriter) { w.fixedBlock(false, lits("ab")) }), []byte("ab")),
			want: []byte("ab"), wantErr: ErrCorrupt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeGzip(t, tt.in)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if !bytes.Equal(got, tt.want) {
					t.Fatalf("output differs: %d bytes, want %d", len(got), len(tt.want))
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want one matching %v", err, tt.wantErr)
			}
			if !errors.Is(tt.wantErr, io.EOF) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not match ErrCorrupt", err)
			}
			if tt.want != nil && !bytes.HasPrefix(tt.want, got) {
				t.Fatalf("output before the error (%d bytes) is not a prefix of the content", len(got))
			}
			if len(got) < len(tt.want) {
				t.Fatalf("output before the error has %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}

// flip returns a copy of b with the byte at i (from the end when negative)
// changed.
func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	if i < 0 {
		i += len(b)
	}
	b[i] ^= 0x5a
	return b
}

// TestTruncated cuts streams at every byte: each cut must fail with an
// error matching ErrCorrupt and io.ErrUnexpectedEOF (or io.EOF for no input
// at all), after output that is a prefix of the content.
func TestTruncated(t *testing.T) {
	json := cloudTrailJSON(3, 4)
	streams := map[string][]byte{
		"dynamic": gzipData(t, json, 6),
		"stored":  gzipData(t, json[:300], 0),
		"fixed": gz(crafted(func(w *bitWriter) {
			w.fixedBlock(true, append(lits("truncate me, truncate"), match(20, 13)))
		}), expand(append(lits("truncate me, truncate"), match(20, 13))...)),
		"headers": gzipMember(deflateRaw(t, json[:500], 9), json[:500], gzipHeader{
			extra: []byte("extra"), name: []byte("name"), comment: []byte("comment"), hcrc: true,
		}),
	}
	for name, full := range streams {
		z, err := NewGzipReader(bytes.NewReader(full))
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(z)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range len(full) {
			z, err := NewGzipReader(bytes.NewReader(full[:i]))
			var got []byte
			if err == nil {
				got, err = io.ReadAll(z)
			}
			switch {
			case i == 0 && errors.Is(err, io.EOF):
			case errors.Is(err, ErrCorrupt) && errors.Is(err, io.ErrUnexpectedEOF):
			default:
				t.Fatalf("%s cut at %d of %d bytes: error %v", name, i, len(full), err)
			}
			if !bytes.HasPrefix(want, got) {
				t.Fatalf("%s cut at %d: output is not a prefix of the content", name, i)
			}
		}
	}
}

// TestRaw decodes raw DEFLATE streams of compress/flate at every level.
func TestRaw(t *testing.T) {
	corpora := map[string][]byte{
		"json":   cloudTrailJSON(2000, 5),
		"random": randomBytes(300_000, 6),
		"text":   repeat("a DEFLATE stream of words, words and words. ", 20000),
		"empty":  nil,
	}
	for name, data := range corpora {
		for level := -2; level <= 9; level++ {
			raw := deflateRaw(t, data, level)
			for _, n := range []int{0, 4096} {
				// Bytes after the stream are no part of it.
				got, err := readAll(NewReader(bytes.NewReader(concat(raw, []byte("after")))), n)
				if err != nil {
					t.Fatalf("%s level %d: %v", name, level, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("%s level %d: output differs", name, level)
				}
			}
		}
	}
}

// errBoom is an input error.
var errBoom = errors.New("boom")

// failingReader returns its data, then errBoom.
type failingReader struct {
	data []byte
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errBoom
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestInputError checks that errors of the underlying reader come back
// wrapped, not as ErrCorrupt, wherever they happen.
func TestInputError(t *testing.T) {
	full := gzipData(t, cloudTrailJSON(100, 7), 6)
	for _, cut := range []int{0, 5, 10, 100, 5000, len(full) - 4} {
		z, err := NewGzipReader(&failingReader{data: full[:cut]})
		if err == nil {
			_, err = io.Copy(io.Discard, z)
		}
		if !errors.Is(err, errBoom) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: error %v, want errBoom and not ErrCorrupt", cut, err)
		}
	}
	// A reader that never returns anything.
	z, err := NewGzipReader(iotest.ErrReader(nil))
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Fatalf("reader making no progress: error %v", err)
	}
	_ = z
}

// TestReset reuses one reader across good and bad inputs.
func TestReset(t *testing.T) {
	good := cloudTrailJSON(500, 8)
	goodGz := gzipData(t, good, 6)
	var z GzipReader
	if _, err := z.Read(make([]byte, 10)); err == nil {
		t.Fatal("the zero GzipReader read without input")
	}
	for i, in := range [][]byte{goodGz, flip(goodGz, len(goodGz)/2), goodGz, goodGz[:100], nil, goodGz} {
		err := z.Reset(bytes.NewReader(in))
		var got []byte
		if err == nil {
			got, err = io.ReadAll(&z)
		}
		ok := i == 0 || i == 2 || i == 5
		if ok && (err != nil || !bytes.Equal(got, good)) {
			t.Fatalf("input %d: error %v, %d bytes", i, err, len(got))
		}
		if !ok && err == nil {
			t.Fatalf("input %d: no error", i)
		}
	}
	if err := z.Reset(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := z.Read(make([]byte, 10)); err == nil {
		t.Fatal("read after Reset(nil) succeeded")
	}
	var r Reader
	for range 2 {
		r.Reset(bytes.NewReader(deflateRaw(t, good, 1)))
		got, err := io.ReadAll(&r)
		if err != nil || !bytes.Equal(got, good) {
			t.Fatalf("raw reader: %v", err)
		}
	}
}

// TestAgainstStdlib decodes many generated streams and compares with
// compress/gzip, reading in random sizes.
func TestAgainstStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 40 {
		var data []byte
		for range rng.IntN(8) {
			switch rng.IntN(4) {
			case 0:
				data = append(data, cloudTrailJSON(rng.IntN(300), rng.Uint64())...)
			case 1:
				data = append(data, randomBytes(rng.IntN(70000), rng.Uint64())...)
			case 2:
				data = append(data, bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(100000))...)
			default:
				data = append(data, repeat(string(randomBytes(1+rng.IntN(40), rng.Uint64())), rng.IntN(5000))...)
			}
		}
		in := gzipData(t, data, rng.IntN(12)-2)
		z, err := NewGzipReader(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		buf := make([]byte, 1+rng.IntN(200000))
		for {
			n, err := z.Read(buf[:1+rng.IntN(len(buf))])
			got.Write(buf[:n])
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("stream %d: output differs (%d bytes, want %d)", i, got.Len(), len(data))
		}
	}
}
