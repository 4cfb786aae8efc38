package normalize

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Word-at-a-time scanning: eight bytes are tested together for the bytes
// that end a run of plain string content.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialMask has the high bit set in every byte of x that is '"', '\\',
// a control character (< 0x20) or, when stopHigh, a byte >= 0x80.
func specialMask(x uint64, stopHigh bool) uint64 {
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	m := ((q - lsb) &^ q) | ((b - lsb) &^ b) | ((x - lsb*0x20) &^ x)
	if stopHigh {
		m |= x
	}
	return m & msb
}

// plainRun returns the index of the first byte at or after i that is '"',
// '\\', a control character, or (when stopHigh) a non-ASCII byte; len(s)
// when there is none.
func plainRun[T ~string | ~[]byte](s T, i int, stopHigh bool) int {
	return plainRunBytes(bytesOf(&s), i, stopHigh)
}

// bytesOf returns a read-only view of the bytes of a string or byte
// slice, without copying them or boxing s in an interface: a string's
// header is the first two words of a slice's.
func bytesOf[T ~string | ~[]byte](s *T) []byte {
	str := *(*string)(unsafe.Pointer(s))
	return unsafe.Slice(unsafe.StringData(str), len(str))
}

// plainRunBytes is plainRun for byte slices, eight bytes at a time (past
// the first eight, sixteen at a time where the CPU can).
func plainRunBytes(s []byte, i int, stopHigh bool) int {
	if i+8 <= len(s) {
		x := binary.LittleEndian.Uint64(s[i:])
		if m := specialMask(x, stopHigh); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
		if haveRun16 && stopHigh && len(s)-i >= 16 {
			i += plainRun16(&s[i], len(s)-i)
		}
	}
	for i+8 <= len(s) {
		x := binary.LittleEndian.Uint64(s[i:])
		if m := specialMask(x, stopHigh); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || (stopHigh && c >= 0x80) {
			return i
		}
	}
	return i
}
