package codec

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-siem/vigil/internal/codec/inflate"
)

// Format is a compression (or archive) format, as detected by Sniff.
type Format uint8

// The formats Decompress recognises.
const (
	FormatPlain Format = iota // not compressed
	FormatGzip                // gzip, any number of concatenated members
	FormatBzip2               // bzip2, any number of concatenated streams
	FormatZstd                // Zstandard, any number of frames
	FormatZip                 // zip archive; each file is a member
)

// String returns the format's name for logs: plain, gzip, bzip2, zstd, zip.
func (f Format) String() string {
	switch f {
	case FormatGzip:
		return "gzip"
	case FormatBzip2:
		return "bzip2"
	case FormatZstd:
		return "zstd"
	case FormatZip:
		return "zip"
	default:
		return "plain"
	}
}

// ErrCorrupt is matched (errors.Is) by every error Decompress, or a body it
// hands out, returns for compressed data that is corrupt or truncated. Such
// an error is permanent: reading the object again gives the same result. An
// error that does not match ErrCorrupt comes from the underlying reader (or
// the temporary file a zip archive is spooled to) and may be worth a retry.
var ErrCorrupt = errors.New("codec: corrupt or truncated compressed data")

// SniffLen is the number of leading bytes Sniff needs to tell every format.
const SniffLen = 4

// Sniff returns the format that the leading bytes of an object announce
// (FormatPlain when they announce none). head may be shorter than SniffLen.
func Sniff(head []byte) Format {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return FormatGzip
	case len(head) >= 4 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h' && head[3] >= '1' && head[3] <= '9':
		return FormatBzip2
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return FormatZstd
	case len(head) >= 4 && head[0]&0xf0 == 0x50 && bytes.Equal(head[1:4], []byte{0x2a, 0x4d, 0x18}):
		return FormatZstd // a zstd skippable frame
	case len(head) >= 4 && head[0] == 'P' && head[1] == 'K' &&
		((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)):
		return FormatZip
	}
	return FormatPlain
}

// sniffBufSize is the size of the buffered reader the compressed input is
// read through.
const sniffBufSize = 256 << 10

// Pools of reusable readers: their allocation dominates small objects.
var (
	bufPool  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, sniffBufSize) }}
	gzipPool sync.Pool // *inflate.GzipReader
	zstdPool sync.Pool // *zstd.Decoder, synchronous: it starts no goroutine
)

// zstdMaxWindow bounds the memory a zstd frame may ask for (zstd --long=27).
const zstdMaxWindow = 128 << 20

// Decompress detects the compression of r by its magic bytes (never by a
// name) and calls fn with the decompressed content: once with member "" for
// plain, gzip, bzip2 and zstd input, and once per file of a zip archive, in
// archive order, with member set to the file's name (directories are
// skipped). Concatenated gzip members, bzip2 streams and zstd frames are read
// as one stream.
//
// body is valid only while fn runs; fn need not read it to the end. Read
// errors from body match ErrCorrupt when the data is corrupt or truncated; the
// bytes decompressed before the damage are delivered first. A zip archive
// needs random access: r is used directly when it is an *os.File of a regular
// file or an io.ReaderAt with a Size() int64 method (read from offset 0, as
// bytes.Reader and io.SectionReader are), else it is copied to a temporary
// file that is removed before Decompress returns.
//
// Decompress returns fn's error unchanged, else an error about the input. It
// is safe for concurrent use; each call reads its own r.
func Decompress(r io.Reader, fn func(member string, body io.Reader) error) error {
	return DecompressFormat(r, func(_ Format, member string, body io.Reader) error {
		return fn(member, body)
	})
}

// DecompressFormat is Decompress that also passes the detected format to fn
// (for logs and metrics).
func DecompressFormat(r io.Reader, fn func(f Format, member string, body io.Reader) error) error {
	src := &trackReader{r: r}
	br := bufPool.Get().(*bufio.Reader)
	br.Reset(src)
	defer func() {
		br.Reset(nil)
		bufPool.Put(br)
	}()
	head, err := br.Peek(SniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("codec: reading input: %w", err)
	}
	f := Sniff(head)
	b := &body{src: src, f: f}
	switch f {
	case FormatGzip:
		zr, _ := gzipPool.Get().(*inflate.GzipReader)
		if zr == nil {
			zr = new(inflate.GzipReader)
		}
		defer func() {
			_ = zr.Reset(nil) // drop references to br
			gzipPool.Put(zr)
		}()
		if err := zr.Reset(br); err != nil {
			return b.classify(err)
		}
		b.r = zr
	case FormatBzip2:
		b.r = bzip2.NewReader(br)
	case FormatZstd:
		zd, _ := zstdPool.Get().(*zstd.Decoder)
		if zd == nil {
			zd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
			if err != nil {
				return fmt.Errorf("codec: creating zstd decoder: %w", err)
			}
		}
		defer func() {
			_ = zd.Reset(nil) // drop references to br
			zstdPool.Put(zd)
		}()
		if err := zd.Reset(br); err != nil {
			return b.classify(err)
		}
		b.r = zd
	case FormatZip:
		return unzip(r, br, src, fn)
	default:
		b.r = br
	}
	return fn(f, "", b)
}

// unzip calls fn for every file of the zip archive read from r, or from br
// spooled to a temporary file when r has no random access.
func unzip(r io.Reader, br *bufio.Reader, src *trackReader, fn func(Format, string, io.Reader) error) error {
	ra, size, ok := randomAccess(r)
	if !ok {
		tmp, err := os.CreateTemp("", "vigil-zip-*")
		if err != nil {
			return fmt.Errorf("codec: spooling zip: %w", err)
		}
		defer func() {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}()
		n, err := io.Copy(tmp, br)
		if err != nil {
			return fmt.Errorf("codec: spooling zip to %s: %w", tmp.Name(), err)
		}
		ra, size = tmp, n
	}
	tra := &trackReaderAt{ra: ra, src: src}
	zr, err := zip.NewReader(tra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are not paths here
		return (&body{src: src, f: FormatZip}).classify(err)
	}
	for _, zf := range zr.File {
		if zf.Mode().IsDir() {
			continue
		}
		b := &body{src: src, f: FormatZip}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("codec: zip member %q: %w", zf.Name, b.classify(err))
		}
		b.r = rc
		err = fn(FormatZip, zf.Name, b)
		_ = rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// randomAccess returns r as an io.ReaderAt and its size, if it is one.
func randomAccess(r io.Reader) (io.ReaderAt, int64, bool) {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return f, st.Size(), true
		}
		return nil, 0, false
	}
	if ra, ok := r.(interface {
		io.ReaderAt
		Size() int64
	}); ok {
		return ra, ra.Size(), true
	}
	return nil, 0, false
}

// trackReader remembers the last error of the underlying reader other than
// io.EOF, so that errors coming from it can be told from decoder errors.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}

var errNegativeOffset = errors.New("negative offset")

// trackReaderAt is trackReader for random access.
type trackReaderAt struct {
	ra  io.ReaderAt
	src *trackReader
}

func (t *trackReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 { // a corrupt archive points before its start
		return 0, errNegativeOffset
	}
	n, err := t.ra.ReadAt(p, off)
	if err != nil && err != io.EOF {
		t.src.err = err
	}
	return n, err
}

// body is the decompressed stream handed to fn; it types its errors.
type body struct {
	r   io.Reader
	src *trackReader
	f   Format
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.classify(err)
	}
	return n, err
}

// classify wraps err as a read error when it comes from the underlying
// reader, else as ErrCorrupt.
func (b *body) classify(err error) error {
	if b.src.err != nil && errors.Is(err, b.src.err) {
		return fmt.Errorf("codec: reading %s input: %w", b.f, err)
	}
	if b.f == FormatPlain {
		return fmt.Errorf("codec: reading input: %w", err)
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // a header cut short
	}
	return fmt.Errorf("codec: %s: %w: %w", b.f, ErrCorrupt, err)
}
