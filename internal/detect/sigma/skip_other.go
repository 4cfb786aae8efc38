//go:build !amd64

package sigma

// haveBlockMasks says blockMasks is the vector one; here it is not, and
// the word loop is faster than the word arithmetic of blockMasksGo.
const haveBlockMasks = false

// blockMasks returns the bit masks of the quotes and of the backslashes
// among the 64 bytes at p (bit k for byte k).
func blockMasks(p *[64]byte) (q, b uint64) { return blockMasksGo(p) }
