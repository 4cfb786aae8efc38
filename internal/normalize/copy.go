package normalize

import "encoding/binary"

// appendShort appends src[lo:hi] to dst. A span of up to 32 bytes, when src
// has 32 readable bytes from lo and dst room for 32 more, is copied as
// four words with no call and no branch on its length (the bytes past hi
// are written but not kept): the length-dependent branches of a general
// copy are mispredicted often for the many short keys and values of a
// record. Anything else is appended as usual.
func appendShort(dst, src []byte, lo, hi int) []byte {
	l := len(dst)
	if hi-lo <= 32 && lo+32 <= len(src) && l+32 <= cap(dst) {
		d, s := dst[l:l+32], src[lo:lo+32]
		binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(s))
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:]))
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:]))
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:]))
		return dst[:l+hi-lo]
	}
	return append(dst, src[lo:hi]...)
}
