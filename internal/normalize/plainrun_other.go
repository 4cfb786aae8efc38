//go:build !amd64

package normalize

import "unsafe"

// haveRun16 says plainRun16 is the vector one; here it is not.
const haveRun16 = false

// plainRun16 is only called where haveRun16 is set.
func plainRun16(*byte, int) int { return 0 }

// specialBits writes, for each of the blocks of 64 bytes at p, a word to
// out with bit k set when byte k is '"', '\\', a control character or
// >= 0x80. (The word-at-a-time test of specialMask finds the first such
// byte only: a borrow may mark the bytes after it.)
func specialBits(p *byte, blocks int, out *uint64) {
	src := unsafe.Slice(p, blocks*64)
	dst := unsafe.Slice(out, blocks)
	for b := range dst {
		var w uint64
		for k, c := range src[b*64 : b*64+64] {
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				w |= 1 << k
			}
		}
		dst[b] = w
	}
}
