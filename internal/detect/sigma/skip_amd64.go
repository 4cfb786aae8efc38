package sigma

// haveBlockMasks says blockMasks is the vector one: long strings are
// skipped 64 bytes at a time.
const haveBlockMasks = true

// blockMasks returns the bit masks of the quotes and of the backslashes
// among the 64 bytes at p (bit k for byte k), with SSE2 (in every amd64).
//
//go:noescape
func blockMasks(p *[64]byte) (q, b uint64)
