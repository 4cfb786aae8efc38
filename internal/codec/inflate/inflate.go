package inflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrCorrupt is matched (errors.Is) by every error a reader of this package
// returns for compressed data that is corrupt or truncated. Truncated input
// also matches io.ErrUnexpectedEOF. Errors that do not match ErrCorrupt come
// from the underlying reader, which they wrap.
var ErrCorrupt = errors.New("inflate: corrupt or truncated data")

// errNoInput is returned by a reader reset with a nil io.Reader.
var errNoInput = errors.New("inflate: reader has no input (Reset with nil)")

const (
	maxMatch = 258      // the longest match
	histSize = 32 << 10 // how far back a match may reach
	winSize  = 256 << 10
	winSlack = 64       // past winSize, so that 8 bytes at a masked index are in range
	slideAt  = 64 << 10 // slide the window when less room than this is left
	inSize   = 64 << 10 // input buffer
	inMask   = inSize - 1
	winMask  = winSize - 1

	// The fast loop runs while the input has fastInMargin bytes (three 8-byte
	// refills, each advancing at most 7 bytes) and the window room for three
	// literal pairs and a match with its 16-byte overrun.
	fastInMargin = 24
	fastOutMax   = winSize - maxMatch - 32
)

// Decoder states, in stream order.
const (
	stHeader  uint8 = iota // before a gzip member header
	stBlock                // before a block header
	stHuffman              // inside a Huffman-coded block
	stStored               // inside a stored block
	stTrailer              // after the last block of a gzip member
	stDone                 // after the last block of a raw stream
)

// decoder is the state shared by the gzip and raw readers. Output is decoded
// into win, which keeps the last histSize bytes when it slides; win[rpos:op]
// is decoded output not yet handed out.
type decoder struct {
	r      io.Reader
	rerr   error            // sticky error (io.EOF included) of the last read from r
	in     [inSize + 8]byte // input buffer (8 spare bytes as for win); in[ip:end] is unconsumed
	ip     int
	end    int
	inBase int64 // input offset of in[0], for error messages

	// The bit buffer: nb bits, least significant first. Bits above nb are
	// zero or copies of the input bytes at in[ip:], never anything else.
	bits uint64
	nb   uint

	win  [winSize + winSlack]byte
	op   int // where the next output byte goes
	rpos int // where the next byte to hand out is
	hist int // where the current stream's output starts (0 once slid past)

	state  uint8
	final  bool // the current block is the stream's last
	gzip   bool // gzip members, else a raw DEFLATE stream
	fixed  bool // fixLit and fixDist are built
	stored int  // bytes left in the current stored block

	lit     litTable // the current block's literal/length code
	dist    distTable
	fixLit  [1 << litBits]uint32
	fixDist [1 << distBits]uint32
	lens    [maxLitSyms + maxDistSyms]uint8

	// gzip member checks
	crc    uint32
	size   uint32
	crcPos int // output before crcPos is in crc and size

	err error // sticky: io.EOF after the clean end of the input
}

// reset prepares d to read a new input from r.
func (d *decoder) reset(r io.Reader, gzip bool) {
	d.r, d.rerr = r, nil
	d.ip, d.end, d.inBase = 0, 0, 0
	d.bits, d.nb = 0, 0
	d.op, d.rpos, d.hist, d.crcPos = 0, 0, 0, 0
	d.crc, d.size = 0, 0
	d.gzip, d.final, d.stored = gzip, false, 0
	d.state = stBlock
	if gzip {
		d.state = stHeader
	}
	d.err = nil
	if r == nil {
		d.err = errNoInput
	}
}

// read implements io.Reader.
func (d *decoder) read(p []byte) (int, error) {
	for d.rpos == d.op {
		if d.err != nil {
			return 0, d.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		d.fill()
	}
	n := copy(p, d.win[d.rpos:d.op])
	d.rpos += n
	return n, nil
}

// writeTo implements io.WriterTo.
func (d *decoder) writeTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if d.rpos < d.op {
			n, err := w.Write(d.win[d.rpos:d.op])
			if n < 0 || n > d.op-d.rpos {
				n = 0
				if err == nil {
					err = errors.New("inflate: writer returned an invalid count")
				}
			}
			d.rpos += n
			total += int64(n)
			if err == nil && d.rpos < d.op {
				err = io.ErrShortWrite
			}
			if err != nil {
				return total, err
			}
		}
		if d.err != nil {
			if d.err == io.EOF { //nolint:errorlint // our own sentinel, never wrapped
				return total, nil
			}
			return total, d.err
		}
		d.fill()
	}
}

// fill decodes more output into the window until it is full, the input ends
// or an error occurs (kept in d.err). It is called only when all output has
// been handed out and d.err is nil, and always makes progress.
func (d *decoder) fill() {
	if d.r == nil { // a zero reader, or one reset with nil
		d.err = errNoInput
		return
	}
	if d.op > winSize-slideAt {
		d.slide()
	}
loop:
	for d.err == nil {
		switch d.state {
		case stHeader:
			d.err = d.readGzipHeader()
		case stBlock:
			d.err = d.readBlockHeader()
		case stHuffman:
			if !d.huffman() {
				break loop
			}
		case stStored:
			if !d.copyStored() {
				break loop
			}
		case stTrailer:
			d.err = d.readGzipTrailer()
		default:
			d.err = io.EOF
		}
	}
	d.sum()
}

// slide moves the last histSize bytes of output to the start of the window.
func (d *decoder) slide() {
	keep := d.op - histSize
	copy(d.win[:], d.win[keep:d.op])
	d.op -= keep
	d.rpos -= keep
	d.crcPos -= keep
	d.hist = max(d.hist-keep, 0)
}

// endBlock moves on from the end of a block.
func (d *decoder) endBlock() {
	switch {
	case !d.final:
		d.state = stBlock
	case d.gzip:
		d.state = stTrailer
	default:
		d.state = stDone
	}
}

// offset returns the input offset of the next unconsumed bit's byte.
func (d *decoder) offset() int64 {
	return d.inBase + int64(d.ip) - int64(d.nb>>3)
}

// corrupt returns an ErrCorrupt error saying what is wrong and where.
func (d *decoder) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s at input byte %d", ErrCorrupt, fmt.Sprintf(format, args...), d.offset())
}

// truncated returns the error for input that ends (or fails) too soon.
func (d *decoder) truncated() error {
	if d.rerr != nil && d.rerr != io.EOF { //nolint:errorlint // io.EOF is never wrapped by readers
		return fmt.Errorf("inflate: reading input: %w", d.rerr)
	}
	return fmt.Errorf("%w: input ends after %d bytes: %w", ErrCorrupt, d.inBase+int64(d.end), io.ErrUnexpectedEOF)
}

// readInput reads more input from r, first moving the unconsumed input, and
// the 8 bytes before it that the bit buffer may give back, to the front of
// the buffer. It reports whether it read anything.
func (d *decoder) readInput() bool {
	if d.rerr != nil {
		return false
	}
	if keep := d.ip - 8; keep > 0 {
		copy(d.in[:], d.in[keep:d.end])
		d.ip -= keep
		d.end -= keep
		d.inBase += int64(keep)
	}
	for range 100 {
		n, err := d.r.Read(d.in[d.end:inSize])
		if n < 0 || n > inSize-d.end {
			n, err = 0, errors.New("inflate: input reader returned an invalid count")
		}
		d.end += n
		if err != nil {
			d.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	d.rerr = io.ErrNoProgress
	return false
}

// ensure reports whether at least n (at most fastInMargin) unconsumed input
// bytes are buffered, reading more if needed.
func (d *decoder) ensure(n int) bool {
	for d.end-d.ip < n {
		if !d.readInput() {
			return false
		}
	}
	return true
}

// refill loads input bytes into the bit buffer until it holds more than 56
// bits or the input ends.
func (d *decoder) refill() {
	for d.nb <= 56 {
		if d.ip == d.end && !d.readInput() {
			return
		}
		d.bits |= uint64(d.in[d.ip]) << d.nb
		d.ip++
		d.nb += 8
	}
}

// need makes sure the bit buffer holds at least n bits.
func (d *decoder) need(n uint) error {
	if d.nb < n {
		d.refill()
		if d.nb < n {
			return d.truncated()
		}
	}
	return nil
}

// take consumes n bits, which the bit buffer holds, and returns them.
func (d *decoder) take(n uint) uint32 {
	v := uint32(d.bits & (1<<n - 1))
	d.bits >>= n
	d.nb -= n
	return v
}

// alignInput drops the bits up to the next byte boundary and gives the
// whole bytes left in the bit buffer back to the input.
func (d *decoder) alignInput() {
	d.ip -= int(d.nb >> 3)
	d.bits, d.nb = 0, 0
}

// readBlockHeader reads a block header and, for a dynamic block, its code.
func (d *decoder) readBlockHeader() error {
	if err := d.need(3); err != nil {
		return err
	}
	h := d.take(3)
	d.final = h&1 != 0
	switch h >> 1 {
	case 0:
		d.alignInput()
		if !d.ensure(4) {
			return d.truncated()
		}
		n := binary.LittleEndian.Uint16(d.in[d.ip:])
		if nn := binary.LittleEndian.Uint16(d.in[d.ip+2:]); n != ^nn {
			return d.corrupt("stored block length %#04x does not match its complement %#04x", n, nn)
		}
		d.ip += 4
		d.stored = int(n)
		d.state = stStored
	case 1:
		if !d.fixed {
			d.buildFixed()
		}
		copy(d.lit[:], d.fixLit[:])
		copy(d.dist[:], d.fixDist[:])
		d.state = stHuffman
	case 2:
		if err := d.readDynamic(); err != nil {
			return err
		}
		d.state = stHuffman
	default:
		return d.corrupt("reserved block type 3")
	}
	return nil
}

// buildFixed builds the tables of the fixed Huffman code (RFC 1951 3.2.6).
func (d *decoder) buildFixed() {
	var lens [maxLitSyms]uint8
	for i := range lens {
		switch {
		case i < 144:
			lens[i] = 8
		case i < 256:
			lens[i] = 9
		case i < 280:
			lens[i] = 7
		default:
			lens[i] = 8
		}
	}
	buildTable(d.fixLit[:], litBits, lens[:], litSyms[:]) // no code is longer than litBits
	var dl [maxDistSyms]uint8
	for i := range dl {
		dl[i] = 5
	}
	buildTable(d.fixDist[:], distBits, dl[:], distSyms[:]) // nor than distBits
	d.fixed = true
}

// preOrder is the order in which code length code lengths are sent.
var preOrder = [numPreSyms]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// readDynamic reads the code of a dynamic block (RFC 1951 3.2.7) and builds
// its tables.
func (d *decoder) readDynamic() error {
	if err := d.need(14); err != nil {
		return err
	}
	nlit := int(d.take(5)) + 257
	ndist := int(d.take(5)) + 1
	npre := int(d.take(4)) + 4
	if nlit > 286 {
		return d.corrupt("%d literal/length codes (at most 286)", nlit)
	}
	if ndist > 30 {
		return d.corrupt("%d distance codes (at most 30)", ndist)
	}
	var plens [numPreSyms]uint8
	for _, s := range preOrder[:npre] {
		if err := d.need(3); err != nil {
			return err
		}
		plens[s] = uint8(d.take(3))
	}
	var pt [1 << preBits]uint32
	if !buildTable(pt[:], preBits, plens[:], preSyms[:]) {
		return d.corrupt("invalid code length code")
	}
	// The code lengths, with a local bit buffer refilled 8 bytes at a time
	// while the input has them: a symbol and its extra bits take at most 14.
	n := nlit + ndist
	lens := d.lens[:n]
	bits, nb := d.bits, d.nb
	for i := 0; i < n; {
		if nb < 14 {
			if d.end-d.ip >= 8 {
				bits |= binary.LittleEndian.Uint64(d.in[d.ip:]) << (nb & 63)
				d.ip += int((63 - nb) >> 3)
				nb |= 56
			} else {
				d.bits, d.nb = bits, nb
				d.refill()
				bits, nb = d.bits, d.nb
			}
		}
		e := pt[bits&preMask]
		l := uint(e & 31)
		if e&entBad != 0 || l > nb {
			d.bits, d.nb = bits, nb
			if nb < preBits {
				return d.truncated()
			}
			return d.corrupt("invalid code length symbol")
		}
		bits >>= l
		nb -= l
		sym := uint8(e >> 16)
		if sym < 16 {
			lens[i] = sym
			i++
			continue
		}
		rep, val, x := 3, uint8(0), uint(2)
		switch sym {
		case 16:
			if i == 0 {
				d.bits, d.nb = bits, nb
				return d.corrupt("code length repeat with no previous length")
			}
			val = lens[i-1]
		case 17:
			x = 3
		default:
			rep, x = 11, 7
		}
		if x > nb {
			d.bits, d.nb = bits, nb
			return d.truncated()
		}
		rep += int(bits & (1<<x - 1))
		bits >>= x
		nb -= x
		if i+rep > n {
			d.bits, d.nb = bits, nb
			return d.corrupt("code lengths repeat past the %d codes", n)
		}
		for j := range lens[i : i+rep] {
			lens[i+j] = val
		}
		i += rep
	}
	d.bits, d.nb = bits, nb
	if !buildTable(d.lit[:], litBits, lens[:nlit], litSyms[:]) {
		return d.corrupt("invalid literal/length code lengths")
	}
	if !buildTable(d.dist[:], distBits, lens[nlit:], distSyms[:]) {
		return d.corrupt("invalid distance code lengths")
	}
	pairLiterals(&d.lit)
	return nil
}

// copyStored copies the current stored block to the window. It reports
// false when the window is full.
func (d *decoder) copyStored() bool {
	for d.stored > 0 {
		room := winSize - d.op
		if room == 0 {
			return false
		}
		if d.ip == d.end && !d.readInput() {
			d.err = d.truncated()
			return true
		}
		n := min(d.stored, room, d.end-d.ip)
		copy(d.win[d.op:], d.in[d.ip:d.ip+n])
		d.op += n
		d.ip += n
		d.stored -= n
	}
	d.endBlock()
	return true
}

// huffman decodes the current Huffman-coded block until its end, an error
// (kept in d.err), or until the window is full: then it reports false.
func (d *decoder) huffman() bool {
	for {
		if d.end-d.ip < fastInMargin {
			for d.end-d.ip < fastInMargin && d.readInput() {
			}
		}
		if d.end-d.ip >= fastInMargin && d.op <= fastOutMax {
			eob, err := d.fastLoop()
			if err != nil {
				d.err = err
				return true
			}
			if eob {
				d.endBlock()
				return true
			}
			continue
		}
		if d.op > winSize-maxMatch {
			return false
		}
		eob, err := d.slowSymbol()
		if err != nil {
			d.err = err
			return true
		}
		if eob {
			d.endBlock()
			return true
		}
	}
}

// slowSymbol decodes one literal, match or end of block, checking every step
// against the bits the input has left.
func (d *decoder) slowSymbol() (eob bool, err error) {
	d.refill()
	e := d.lit[d.bits&litMask]
	if e&entSub != 0 {
		e = d.lit[(e>>16+uint32(d.bits>>litBits)&(1<<(e>>8&15)-1))&(litTableSize-1)]
	}
	n := uint(e & 31)
	if e&entLit != 0 && n > d.nb && e>>5&3 == 2 {
		// Only the first literal of the pair is whole.
		n = uint(e >> 8 & 15)
		e = e&^(3<<5) | 1<<5
	}
	if e&entBad != 0 || n > d.nb {
		if d.nb < 15 {
			return false, d.truncated()
		}
		if e&entBad != 0 {
			return false, d.corrupt("invalid literal/length code")
		}
		return false, d.truncated() // the extra bits are missing
	}
	v := d.take(n)
	switch {
	case e&entLit != 0:
		d.win[d.op] = byte(e >> 16)
		if e>>5&3 == 2 {
			d.win[d.op+1] = byte(e >> 24)
			d.op++
		}
		d.op++
		return false, nil
	case e&entEOB != 0:
		return true, nil
	}
	length := int(e>>16) + int(v>>(e>>8&15))

	e = d.dist[d.bits&distMask]
	if e&entSub != 0 {
		e = d.dist[(e>>16+uint32(d.bits>>distBits)&(1<<(e>>8&15)-1))&(distTabSize-1)]
	}
	n = uint(e & 31)
	if e&entBad != 0 || n > d.nb {
		if d.nb < 15 || e&entBad == 0 {
			return false, d.truncated()
		}
		return false, d.corrupt("invalid distance code")
	}
	dist := int(e>>16) + int(d.take(n)>>(e>>8&15))
	if dist > d.op-d.hist {
		return false, d.corrupt("distance %d reaches before the start of the output (%d bytes)", dist, d.op-d.hist)
	}
	src := d.win[d.op-dist : d.op-dist+length]
	dst := d.win[d.op : d.op+length]
	for i := range dst {
		dst[i] = src[i]
	}
	d.op += length
	return false, nil
}

// fastLoop decodes the current block while the input holds fastInMargin
// bytes and the window room for the longest step; see fastOutMax. It returns
// at the end of the block (eob), at an error or when a margin is reached.
//
// Indexes into the input and the window are masked to the power-of-two
// sizes below the arrays' lengths: the loop's margins already keep them in
// range, and the masks let the compiler drop its bounds checks.
//
// Each refill loads 8 bytes but counts only the whole bytes that fit: the
// bits above nb are the next input bits until shifted out. At most 48 bits
// are consumed between refills, so the 11 bits of a table index are always
// real input, and the next entry is looked up before the refill, off the
// refill's critical path.
func (d *decoder) fastLoop() (eob bool, err error) {
	var (
		bits  = d.bits
		nb    = d.nb
		ip    = uint(d.ip)
		op    = uint(d.op)
		hist  = uint(d.hist)
		ipMax = uint(d.end - fastInMargin)
	)
	if ip > ipMax || op > fastOutMax {
		return false, nil
	}
	bits |= binary.LittleEndian.Uint64(d.in[ip&inMask:]) << (nb & 63)
	ip += (63 - nb) >> 3
	nb |= 56
	for ip <= ipMax && op <= fastOutMax {
		e := d.lit[bits&litMask]
		// Refill to 56-63 bits: enough for a length, a distance and their
		// extra bits (15+5+15+13), or three primary literal entries.
		bits |= binary.LittleEndian.Uint64(d.in[ip&inMask:]) << (nb & 63)
		ip += (63 - nb) >> 3
		nb |= 56

		if e&entLit != 0 {
			n := e & 31
			bits >>= n
			nb -= uint(n)
			binary.LittleEndian.PutUint16(d.win[op&winMask:], uint16(e>>16))
			op += uint(e >> 5 & 3)
			e = d.lit[bits&litMask]
			if e&entLit != 0 {
				n := e & 31
				bits >>= n
				nb -= uint(n)
				binary.LittleEndian.PutUint16(d.win[op&winMask:], uint16(e>>16))
				op += uint(e >> 5 & 3)
				e = d.lit[bits&litMask]
				if e&entLit != 0 {
					n := e & 31
					bits >>= n
					nb -= uint(n)
					binary.LittleEndian.PutUint16(d.win[op&winMask:], uint16(e>>16))
					op += uint(e >> 5 & 3)
					continue
				}
			}
			bits |= binary.LittleEndian.Uint64(d.in[ip&inMask:]) << (nb & 63)
			ip += (63 - nb) >> 3
			nb |= 56
		}
		if e&entSub != 0 {
			e = d.lit[(e>>16+uint32(bits>>litBits)&(1<<(e>>8&15)-1))&(litTableSize-1)]
			if e&entLit != 0 {
				n := e & 31
				bits >>= n
				nb -= uint(n)
				d.win[op&winMask] = byte(e >> 16)
				op++
				continue
			}
		}
		if e&(entEOB|entBad) != 0 {
			if e&entBad != 0 {
				err = errInvalidLit
				break
			}
			n := e & 31
			bits >>= n
			nb -= uint(n)
			eob = true
			break
		}
		n := e & 31
		length := uint(e>>16) + uint((uint32(bits)&(1<<n-1))>>(e>>8&15))
		bits >>= n
		nb -= uint(n)

		e = d.dist[bits&distMask]
		if e&entSub != 0 {
			e = d.dist[(e>>16+uint32(bits>>distBits)&(1<<(e>>8&15)-1))&(distTabSize-1)]
		}
		if e&entBad != 0 {
			err = errInvalidDist
			break
		}
		n = e & 31
		dist := uint(e>>16) + uint((uint32(bits)&(1<<n-1))>>(e>>8&15))
		bits >>= n
		nb -= uint(n)
		if dist > op-hist {
			err = errFarDist
			break
		}

		src := op - dist
		end := op + length
		switch {
		case dist >= 8:
			binary.LittleEndian.PutUint64(d.win[op&winMask:], binary.LittleEndian.Uint64(d.win[src&winMask:]))
			binary.LittleEndian.PutUint64(d.win[(op+8)&winMask:], binary.LittleEndian.Uint64(d.win[(src+8)&winMask:]))
			if length > 16 {
				if dist >= length {
					copy(d.win[op+16:end], d.win[src+16:src+length])
				} else {
					op += 16
					src += 16
					for op < end {
						binary.LittleEndian.PutUint64(d.win[op&winMask:], binary.LittleEndian.Uint64(d.win[src&winMask:]))
						op += 8
						src += 8
					}
				}
			}
		case dist == 1:
			v := uint64(d.win[src&winMask]) * 0x0101010101010101
			for op < end {
				binary.LittleEndian.PutUint64(d.win[op&winMask:], v)
				op += 8
			}
		default:
			// Each 8-byte copy gets dist bytes right: step by dist.
			for op < end {
				binary.LittleEndian.PutUint64(d.win[op&winMask:], binary.LittleEndian.Uint64(d.win[src&winMask:]))
				op += dist
				src += dist
			}
		}
		op = end
	}
	d.bits, d.nb, d.ip, d.op = bits, nb, int(ip), int(op)
	if err != nil {
		err = d.corrupt("%v", err)
	}
	return eob, err
}

// Reasons the fast loop stops with an error.
var (
	errInvalidLit  = errors.New("invalid literal/length code")
	errInvalidDist = errors.New("invalid distance code")
	errFarDist     = errors.New("distance reaches before the start of the output")
)

// sum adds the output decoded since the last call to the gzip checks.
func (d *decoder) sum() {
	if d.gzip && d.crcPos < d.op {
		d.crc = updateCRC(d.crc, d.win[d.crcPos:d.op])
		d.size += uint32(d.op - d.crcPos)
		d.crcPos = d.op
	}
}
