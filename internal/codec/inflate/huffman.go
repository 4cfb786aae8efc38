package inflate

import "math/bits"

// Decoding tables map the next input bits (least significant first, as
// DEFLATE packs them) to an entry: a uint32 laid out as
//
//	bits 0-4    input bits the entry consumes: the code length plus the
//	            extra bits of a length or distance, or both code lengths of a
//	            pair of literals (0 for a subtable pointer)
//	bits 5-6    the number of literal bytes (1 or 2)
//	bits 8-11   the code length (of the first literal of a pair); the index
//	            bits of a subtable
//	bit 12      entBad: no code starts with these bits
//	bit 13      entEOB: the end-of-block symbol
//	bit 14      entSub: a pointer to the subtable of the codes longer than
//	            the table's primary bits that start with these bits
//	bit 15      entLit: one or two literal bytes
//	bits 16-31  the literal byte(s) (first in 16-23, second in 24-31), the
//	            length or distance base, or the subtable's offset
//
// So a length or distance is its base plus (bits & (1<<consumed - 1)) >>
// code length. A table holds 1<<primary entries indexed by the next primary
// input bits, then the subtables, each indexed by the input bits that follow
// the primary ones. Subtable entries hold the full code length.
const (
	entBad = 1 << 12
	entEOB = 1 << 13
	entSub = 1 << 14
	entLit = 1 << 15
)

// Table sizes. A subtable of 1<<k entries needs at least k+1 codes, so the
// subtables of a 286-symbol code with 11 primary bits hold at most
// 286*16/5 < 2048 entries, and those of a 30-symbol code with 8 primary
// bits at most 30*128/8 = 480. Both sizes are powers of two so that masking
// an index proves it in range.
const (
	litBits      = 11
	litMask      = 1<<litBits - 1
	litTableSize = 4096
	distBits     = 8
	distMask     = 1<<distBits - 1
	distTabSize  = 1024
	preBits      = 7 // code length codes are at most 7 bits long
	preMask      = 1<<preBits - 1

	maxLitSyms  = 288 // 286 usable, 2 more in the fixed code
	maxDistSyms = 32  // 30 usable, 2 more in the fixed code
	numPreSyms  = 19
)

type (
	litTable  [litTableSize]uint32
	distTable [distTabSize]uint32
)

// litSyms, distSyms and preSyms are the table entries of every symbol of
// the three alphabets, without the code length: bits 0-4 hold the number of
// extra bits, to which buildTable adds the code length. They are constant.
var (
	litSyms  = makeLitSyms()
	distSyms = makeDistSyms()
	preSyms  = makePreSyms()
)

func makeLitSyms() (s [maxLitSyms]uint32) {
	for i := range 256 {
		s[i] = entLit | 1<<5 | uint32(i)<<16
	}
	s[256] = entEOB
	for i := range 28 { // symbols 257-284
		base, extra := uint32(3+i), uint32(0)
		if i >= 8 {
			extra = uint32(i-4) / 4
			base = (4+uint32(i&3))<<extra + 3
		}
		s[257+i] = extra | base<<16
	}
	s[285] = 258 << 16
	s[286], s[287] = entBad, entBad
	return s
}

func makeDistSyms() (s [maxDistSyms]uint32) {
	for i := range 30 {
		base, extra := uint32(1+i), uint32(0)
		if i >= 4 {
			extra = uint32(i-2) / 2
			base = (2+uint32(i&1))<<extra + 1
		}
		s[i] = extra | base<<16
	}
	s[30], s[31] = entBad, entBad
	return s
}

func makePreSyms() (s [numPreSyms]uint32) {
	for i := range s {
		s[i] = uint32(i) << 16
	}
	return s
}

// buildTable fills t with the decoding table of the canonical Huffman code in
// which symbol s has code length lens[s] (0: s is unused); syms[s] is the
// entry of s without its length. It reports false when the code is
// over-subscribed, or incomplete other than by being empty or a single
// 1-bit code (RFC 1951 allows the latter for one distance code; the
// decoder fails on the unused bit patterns when they occur). lens may hold
// at most maxLitSyms lengths, each at most 15.
func buildTable(t []uint32, pbits uint, lens []uint8, syms []uint32) bool {
	var count [16]uint16
	for _, l := range lens {
		count[l&15]++
	}
	count[0] = 0
	left, maxLen := 1, uint(0)
	for l := uint(1); l < 16; l++ {
		left = left<<1 - int(count[l])
		if left < 0 {
			return false // over-subscribed
		}
		if count[l] != 0 {
			maxLen = l
		}
	}
	primary := t[:1<<pbits]
	if left > 0 {
		if maxLen > 1 {
			return false // incomplete
		}
		for i := range primary {
			primary[i] = entBad
		}
		if maxLen == 0 {
			return true // empty: any use fails
		}
		for s, l := range lens { // a single 1-bit code: 0
			if l != 0 {
				for j := 0; j < len(primary); j += 2 {
					primary[j] = syms[s] + 1 | 1<<8
				}
			}
		}
		return true
	}

	// Sort the used symbols by code length, then by symbol: the canonical
	// order in which codes are assigned.
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + count[l]
	}
	var sorted [maxLitSyms]uint16
	for s, l := range lens {
		if l != 0 {
			sorted[offs[l&15]%maxLitSyms] = uint16(s)
			offs[l&15]++
		}
	}

	// Codes up to pbits long fill the primary table as it grows: while
	// placing the codes of length l it has 1<<l entries, and doubling it
	// copies every shorter code's entry to the indexes that differ only in
	// the new bit. The code is complete, so every entry ends up holding a
	// code or (below) a subtable pointer.
	code := 0 // the next code, most significant bit first
	i := 0
	size := 1
	l := uint(1)
	for ; l <= min(maxLen, pbits); l++ {
		copy(primary[size:2*size], primary[:size])
		size *= 2
		for range count[l] {
			s := sorted[i%maxLitSyms]
			i++
			rev := int(bits.Reverse16(uint16(code)) >> (16 - l)) // the code as read
			code++
			primary[rev&(len(primary)-1)] = syms[s] + uint32(l) | uint32(l)<<8
		}
		code <<= 1
	}
	for size < len(primary) {
		copy(primary[size:2*size], primary[:size])
		size *= 2
	}

	// Longer codes go to subtables. Those starting with the same pbits
	// come one after another in canonical order and fill a complete
	// subtree.
	remaining := count
	next := 1 << pbits
	subPrefix, subStart, subBits := -1, 0, uint(0)
	for ; l <= maxLen; l++ {
		for range count[l] {
			s := sorted[i%maxLitSyms]
			i++
			rev := int(bits.Reverse16(uint16(code)) >> (16 - l))
			code++
			e := syms[s] + uint32(l) | uint32(l)<<8
			prefix := rev & (1<<pbits - 1)
			if prefix != subPrefix {
				// Find the depth of the subtree: the fewest bits the
				// remaining codes fill.
				sb := l - pbits
				room := 1 << sb
				for pbits+sb < maxLen {
					room -= int(remaining[pbits+sb])
					if room <= 0 {
						break
					}
					sb++
					room <<= 1
				}
				if next+1<<sb > len(t) {
					return false // cannot happen for a complete code
				}
				primary[prefix] = entSub | uint32(sb)<<8 | uint32(next)<<16
				subPrefix, subStart, subBits = prefix, next, sb
				next += 1 << sb
			}
			sub := t[subStart : subStart+1<<subBits]
			for j := rev >> pbits; j < len(sub); j += 1 << (l - pbits) {
				sub[j] = e
			}
			remaining[l]--
		}
		code <<= 1
	}
	return true
}

// pairLiterals rewrites the primary entries of a literal/length table whose
// bits hold two whole literal codes into entries for both literals.
func pairLiterals(t *litTable) {
	// Descending, so that t[i>>l1] (< i, or i itself when i is 0) still
	// holds a single-symbol entry when it is read.
	for i := litMask; i >= 0; i-- {
		e := t[i]
		if e&entLit == 0 {
			continue
		}
		l1 := e & 31
		e2 := t[(i>>l1)&litMask]
		l2 := e2 & 31
		if e2&entLit == 0 || l1+l2 > litBits {
			continue
		}
		t[i] = entLit | 2<<5 | (l1 + l2) | l1<<8 | (e>>16&0xff)<<16 | (e2>>16&0xff)<<24
	}
}
