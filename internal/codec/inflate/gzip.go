package inflate

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// gzip header flags (RFC 1952 2.3.1). The reserved bits are ignored, as
// compress/gzip does.
const (
	flagHCRC    = 1 << 1
	flagExtra   = 1 << 2
	flagName    = 1 << 3
	flagComment = 1 << 4
)

// GzipReader decompresses a gzip file: one or more members (RFC 1952), read
// as one stream, each checked against its CRC-32 and length. It reads its
// input in large chunks, so it may read past the end of the gzip data.
//
// The zero value is ready for Reset. A GzipReader is not safe for
// concurrent use; reuse one (after Reset) rather than make another: each
// holds about 350 KiB of buffers and tables.
type GzipReader struct {
	d decoder
}

// NewGzipReader returns a reader of the gzip file r, after reading the first
// member's header. It fails with io.EOF when r is empty, and with an error
// matching ErrCorrupt when the header is invalid or cut short.
func NewGzipReader(r io.Reader) (*GzipReader, error) {
	z := new(GzipReader)
	if err := z.Reset(r); err != nil {
		return nil, err
	}
	return z, nil
}

// Reset discards z's state and makes it read the gzip file r, reading the
// first member's header; it returns the errors NewGzipReader does, which Read
// then returns too. Reset(nil) drops the reference to the previous input (for
// pooling); Read then fails until the next Reset.
func (z *GzipReader) Reset(r io.Reader) error {
	z.d.reset(r, true)
	if r == nil {
		return nil
	}
	z.d.err = z.d.readGzipHeader()
	return z.d.err
}

// Read implements io.Reader. It returns io.EOF only at the end of the input
// after a whole member; errors about the data match ErrCorrupt, and the
// output decoded before the damage is returned first.
func (z *GzipReader) Read(p []byte) (int, error) {
	return z.d.read(p)
}

// WriteTo implements io.WriterTo: it writes all the remaining output to w
// straight from the decoder's window, without the copy Read makes.
func (z *GzipReader) WriteTo(w io.Writer) (int64, error) {
	return z.d.writeTo(w)
}

// Reader decompresses a raw DEFLATE stream (RFC 1951), such as a zip
// member's data. It reads its input in large chunks, so it may read past the
// end of the stream. The zero value is ready for Reset; it is not safe for
// concurrent use.
type Reader struct {
	d decoder
}

// NewReader returns a reader of the DEFLATE stream r.
func NewReader(r io.Reader) *Reader {
	z := new(Reader)
	z.Reset(r)
	return z
}

// Reset discards z's state and makes it read the DEFLATE stream r.
// Reset(nil) drops the reference to the previous input.
func (z *Reader) Reset(r io.Reader) {
	z.d.reset(r, false)
}

// Read implements io.Reader. It returns io.EOF after the stream's last block;
// errors about the data match ErrCorrupt.
func (z *Reader) Read(p []byte) (int, error) {
	return z.d.read(p)
}

// WriteTo implements io.WriterTo, writing straight from the window.
func (z *Reader) WriteTo(w io.Writer) (int64, error) {
	return z.d.writeTo(w)
}

// updateCRC adds p to the CRC-32 (IEEE) crc.
func updateCRC(crc uint32, p []byte) uint32 {
	return crc32.Update(crc, crc32.IEEETable, p)
}

// readGzipHeader reads a member header, or reports io.EOF when the input
// ends cleanly instead. The bit buffer is empty here.
func (d *decoder) readGzipHeader() error {
	if !d.ensure(10) {
		if d.ip == d.end && d.rerr == io.EOF { //nolint:errorlint // io.EOF is never wrapped by readers
			return io.EOF
		}
		return d.truncated()
	}
	h := d.in[d.ip : d.ip+10]
	if h[0] != 0x1f || h[1] != 0x8b {
		return d.corrupt("gzip magic %#02x %#02x, want 0x1f 0x8b", h[0], h[1])
	}
	if h[2] != 8 {
		return d.corrupt("gzip compression method %d, want 8 (deflate)", h[2])
	}
	flg := h[3]
	hcrc := updateCRC(0, h)
	d.ip += 10
	if flg&flagExtra != 0 {
		if !d.ensure(2) {
			return d.truncated()
		}
		n := int(binary.LittleEndian.Uint16(d.in[d.ip:]))
		hcrc = updateCRC(hcrc, d.in[d.ip:d.ip+2])
		d.ip += 2
		for n > 0 {
			if d.ip == d.end && !d.readInput() {
				return d.truncated()
			}
			k := min(n, d.end-d.ip)
			hcrc = updateCRC(hcrc, d.in[d.ip:d.ip+k])
			d.ip += k
			n -= k
		}
	}
	for _, f := range [...]byte{flagName, flagComment} {
		if flg&f == 0 {
			continue
		}
		for {
			if d.ip == d.end && !d.readInput() {
				return d.truncated()
			}
			i := bytes.IndexByte(d.in[d.ip:d.end], 0)
			k := i + 1
			if i < 0 {
				k = d.end - d.ip
			}
			hcrc = updateCRC(hcrc, d.in[d.ip:d.ip+k])
			d.ip += k
			if i >= 0 {
				break
			}
		}
	}
	if flg&flagHCRC != 0 {
		if !d.ensure(2) {
			return d.truncated()
		}
		if got := binary.LittleEndian.Uint16(d.in[d.ip:]); got != uint16(hcrc) {
			return d.corrupt("gzip header checksum %#04x, header has %#04x", got, uint16(hcrc))
		}
		d.ip += 2
	}
	d.state = stBlock
	d.crc, d.size = 0, 0
	d.crcPos, d.hist = d.op, d.op
	return nil
}

// readGzipTrailer checks a member's CRC-32 and length.
func (d *decoder) readGzipTrailer() error {
	d.alignInput()
	d.sum()
	if !d.ensure(8) {
		return d.truncated()
	}
	crc := binary.LittleEndian.Uint32(d.in[d.ip:])
	size := binary.LittleEndian.Uint32(d.in[d.ip+4:])
	if crc != d.crc {
		return d.corrupt("gzip member CRC-32 %08x, data has %08x", crc, d.crc)
	}
	if size != d.size {
		return d.corrupt("gzip member length %d (mod 2^32), data has %d", size, d.size)
	}
	d.ip += 8
	d.state = stHeader
	return nil
}
