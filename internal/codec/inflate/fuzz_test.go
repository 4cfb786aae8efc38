package inflate

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
	"testing"
)

// FuzzInflate checks the decoders against compress/flate and compress/gzip:
// data read as a raw DEFLATE stream and as a gzip file must fail exactly
// when the standard library fails and otherwise give the same output; and
// data compressed by compress/flate at a level picked by level must come
// back unchanged.
func FuzzInflate(f *testing.F) {
	json := cloudTrailJSON(2, 10)
	f.Add([]byte{}, 0)
	f.Add([]byte("plain"), 1)
	f.Add(deflateRaw(f, json, 6), 6)
	f.Add(deflateRaw(f, json, 1), 9)
	f.Add(deflateRaw(f, json, -2), -2)
	f.Add(deflateRaw(f, repeat("ab", 600), 9), 3)
	f.Add(gzipData(f, json, 6), 0)
	f.Add(concat(gzipData(f, json[:200], 9), gzipData(f, nil, 0)), 5)
	f.Add(gzipMember(deflateRaw(f, json[:100], 6), json[:100], gzipHeader{
		extra: []byte("x"), name: []byte("n"), comment: []byte("c"), hcrc: true,
	}), 7)
	f.Add(crafted(func(w *bitWriter) {
		w.fixedBlock(false, append(lits("fuzz fuzz"), match(20, 5), match(9, 1)))
		w.storedBlock(true, []byte("stored"))
	}), 4)
	wide := make([]uint8, 286)
	for i := range 255 {
		wide[i] = 8
	}
	for s := 255; s <= 270; s++ {
		wide[s] = 12
	}
	f.Add(crafted(func(w *bitWriter) {
		w.dynamicBlock(true, wide, []uint8{1}, append(lits("\xff\x00\xfe"), match(4, 1)))
	}), 2)

	// Readers and writers are reused across inputs (a worker runs one at a
	// time): making them dominates the cost of small inputs.
	st := &fuzzState{}
	f.Fuzz(func(t *testing.T, data []byte, level int) {
		st.compareRaw(t, data)
		st.compareGzip(t, data)

		level = (level%12+12)%12 - 2 // -2 (Huffman only) to 9
		raw, gzipped := st.compress(t, data, level)
		st.raw.Reset(bytes.NewReader(raw))
		got, err := io.ReadAll(&st.raw)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("raw round trip at level %d: error %v, output equal %t", level, err, bytes.Equal(got, data))
		}
		err = st.gz.Reset(bytes.NewReader(gzipped))
		if err == nil {
			got, err = io.ReadAll(&st.gz)
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("gzip round trip at level %d: error %v, output equal %t", level, err, bytes.Equal(got, data))
		}
	})
}

// fuzzState holds what FuzzInflate reuses.
type fuzzState struct {
	raw   Reader
	gz    GzipReader
	stdFl io.ReadCloser
	stdGz gzip.Reader
	fw    [12]*flate.Writer
	gw    [12]*gzip.Writer
	buf   bytes.Buffer
}

// compress returns data compressed by compress/flate and compress/gzip.
func (st *fuzzState) compress(t *testing.T, data []byte, level int) (raw, gzipped []byte) {
	t.Helper()
	i := level + 2
	var err error
	if st.fw[i] == nil {
		if st.fw[i], err = flate.NewWriter(nil, level); err != nil {
			t.Fatal(err)
		}
		if st.gw[i], err = gzip.NewWriterLevel(nil, level); err != nil {
			t.Fatal(err)
		}
	}
	st.buf.Reset()
	st.fw[i].Reset(&st.buf)
	if _, err := st.fw[i].Write(data); err != nil {
		t.Fatal(err)
	}
	if err := st.fw[i].Close(); err != nil {
		t.Fatal(err)
	}
	n := st.buf.Len()
	st.gw[i].Reset(&st.buf)
	if _, err := st.gw[i].Write(data); err != nil {
		t.Fatal(err)
	}
	if err := st.gw[i].Close(); err != nil {
		t.Fatal(err)
	}
	return st.buf.Bytes()[:n], st.buf.Bytes()[n:]
}

// compareRaw decodes data as a raw DEFLATE stream with Reader and with
// compress/flate.
func (st *fuzzState) compareRaw(t *testing.T, data []byte) {
	t.Helper()
	if st.stdFl == nil {
		st.stdFl = flate.NewReader(bytes.NewReader(data))
	} else if err := st.stdFl.(flate.Resetter).Reset(bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	want, wantErr := io.ReadAll(st.stdFl)
	st.raw.Reset(bytes.NewReader(data))
	got, err := io.ReadAll(&st.raw)
	compare(t, "raw", got, err, want, wantErr)
}

// compareGzip decodes data as a gzip file with GzipReader and with
// compress/gzip.
func (st *fuzzState) compareGzip(t *testing.T, data []byte) {
	t.Helper()
	var want, got []byte
	wantErr := st.stdGz.Reset(bytes.NewReader(data))
	if wantErr == nil {
		want, wantErr = io.ReadAll(&st.stdGz)
	}
	err := st.gz.Reset(bytes.NewReader(data))
	if err == nil {
		got, err = io.ReadAll(&st.gz)
	}
	if errors.Is(wantErr, gzip.ErrHeader) && err == nil && longString(data) {
		return // compress/gzip refuses names and comments of 512 bytes or more
	}
	compare(t, "gzip", got, err, want, wantErr)
}

// longString reports whether data has a run of 511 non-zero bytes, which a
// gzip name or comment compress/gzip refuses would need.
func longString(data []byte) bool {
	run := 0
	for _, b := range data {
		run++
		if b == 0 {
			run = 0
		}
		if run >= 511 {
			return true
		}
	}
	return false
}

// compare checks one decoding against the standard library's.
func compare(t *testing.T, what string, got []byte, err error, want []byte, wantErr error) {
	t.Helper()
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%s: error %v, standard library: %v", what, err, wantErr)
	}
	if err == nil {
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: output differs from the standard library's (%d bytes, want %d)", what, len(got), len(want))
		}
		return
	}
	if !errors.Is(err, ErrCorrupt) && !errors.Is(err, io.EOF) {
		t.Fatalf("%s: error %v does not match ErrCorrupt", what, err)
	}
	// Both stop at the damage, having produced correct output before it.
	if !bytes.HasPrefix(got, want) && !bytes.HasPrefix(want, got) {
		t.Fatalf("%s: outputs before the error disagree (%d and %d bytes)", what, len(got), len(want))
	}
}
