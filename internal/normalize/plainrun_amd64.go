package normalize

// haveRun16 says plainRun16 is the vector one.
const haveRun16 = true

// plainRun16 returns the offset of the first byte among the n at p that is
// '"', '\\', a control character or >= 0x80, looking at whole groups of
// sixteen bytes only (SSE2, in every amd64): n rounded down to a multiple
// of 16 when there is none there.
//
//go:noescape
func plainRun16(p *byte, n int) int

// specialBits writes, for each of the blocks of 64 bytes at p, a word to
// out with bit k set when byte k is '"', '\\', a control character or
// >= 0x80 (SSE2).
//
//go:noescape
func specialBits(p *byte, blocks int, out *uint64)
