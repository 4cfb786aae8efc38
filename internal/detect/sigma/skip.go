package sigma

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// Skipping JSON strings is most of what reading a document costs: a
// normalized CloudTrail document is 3.6 KB, nearly all of it in strings,
// half of it the raw record embedded as one escaped string ("@message").

// skipString returns the offset after the string token at d[i] == '"', or
// -1 when it does not end.
func skipString(d []byte, i int) int {
	return skipStringFrom(d, i+1)
}

// skipStringFrom is skipString from d[i] inside the string, a byte that is
// not escaped.
//
// It reads eight bytes at a time and stops at the first quote or
// backslash of a word: a quote ends the string, a backslash escapes the
// byte after it and the search goes on after that byte. The word test is
// the classic "has a zero byte" trick on the word XOR-ed with the quote
// and backslash bytes; it may flag bytes above a real match (a borrow runs
// upward) but never below one, so its lowest flagged byte is exact. Most
// strings end within two words; a longer one goes on 64 bytes at a time
// (skipBlocks) where the platform gives a block's quote and backslash
// masks cheaply.
func skipStringFrom(d []byte, i int) int {
	return skipWords(d, i, haveBlockMasks)
}

// skipWords is skipStringFrom; blocks says whether to go on with
// skipBlocks after two words.
func skipWords(d []byte, i int, blocks bool) int {
	n := len(d)
	// The constants live in variables so that they stay in registers
	// instead of being rematerialized for every word.
	qc, bc, lsb, msb := swarConst[0], swarConst[1], swarConst[2], swarConst[3]
	base := unsafe.Pointer(unsafe.SliceData(d))
	for words := 0; i+8 <= n; words++ {
		if words == 2 && blocks && i+64 <= n {
			return skipBlocks(d, i)
		}
		// d[i:i+8] is in bounds: read it without the slice's checks.
		x := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(base, i))[:])
		t, u := x^qc, x^bc
		m := ((t-lsb)&^t | (u-lsb)&^u) & msb
		if m == 0 {
			i += 8
			continue
		}
		j := i + bits.TrailingZeros64(m)>>3
		if *(*byte)(unsafe.Add(base, j)) == '"' {
			return j + 1
		}
		i = j + 2
	}
	for i < n {
		switch d[i] {
		case '"':
			return i + 1
		case '\\':
			i += 2
			continue
		}
		i++
	}
	return -1
}

// evenBits has the bits of the even positions of a block set.
const evenBits = 0x5555555555555555

// skipBlocks is skipStringFrom 64 bytes at a time: blockMasks gives the
// bit masks of a block's quotes and backslashes, and the escaped bytes
// are worked out on the masks, without a branch per escape.
//
// A byte is escaped when a run of backslashes ends right before it and
// the run has an odd length, counting from its first backslash (one not
// preceded by a backslash). Equivalently, within a run starting at
// position s, the escaped positions among s+1, s+2, ... are those of the
// other parity than s. Adding the run starts at odd positions to the
// backslash mask turns each such run into a single bit just after it (the
// carry runs through the run), while runs starting at even positions stay
// as they are; shifted left by one, that marks exactly the positions after
// a backslash of even-start runs. XOR-ed with the even positions, it gives
// the positions of the right parity for both kinds of run. A carry out of
// the block (an odd-start run reaching its end, so of odd length) escapes
// the next block's first byte.
func skipBlocks(d []byte, i int) int {
	var carry uint64 // 1 when the block's first byte is escaped
	for i+64 <= len(d) {
		q, b := blockMasks((*[64]byte)(d[i : i+64]))
		if b|carry == 0 {
			if q != 0 {
				return i + bits.TrailingZeros64(q) + 1
			}
			i += 64
			continue
		}
		b &^= carry                              // an escaped backslash starts no run
		follows := b<<1 | carry                  // bytes right after a backslash
		oddStarts := b &^ evenBits &^ follows    // runs starting at odd positions
		sum, out := bits.Add64(oddStarts, b, 0)  // those runs become the bit after them
		escaped := (evenBits ^ sum<<1) & follows // the right parity per kind of run
		if q &^= escaped; q != 0 {
			return i + bits.TrailingZeros64(q) + 1
		}
		carry = out
		i += 64
	}
	return skipWords(d, i+int(carry), false)
}

// blockMasksGo is blockMasks with word arithmetic, for platforms without
// vector instructions for it: the exact "has a zero byte" masks of each
// word, their high bits gathered into one byte by a multiplication.
func blockMasksGo(p *[64]byte) (q, b uint64) {
	hi := swarConst[3]
	lo7 := ^hi
	for k := 0; k < 8; k++ {
		x := binary.LittleEndian.Uint64(p[8*k:])
		yq, yb := x^swarConst[0], x^swarConst[1]
		mq := ^((yq&lo7 + lo7) | yq) & hi
		mb := ^((yb&lo7 + lo7) | yb) & hi
		q |= (mq >> 7 * 0x0102040810204080 >> 56) << (8 * k)
		b |= (mb >> 7 * 0x0102040810204080 >> 56) << (8 * k)
	}
	return q, b
}

// swarConst holds the word constants: every byte '"', every byte '\\', the
// lowest bit of every byte, the highest bit of every byte.
var swarConst = [4]uint64{lsb8 * '"', lsb8 * '\\', lsb8, msb8}
