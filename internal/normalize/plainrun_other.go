//go:build !amd64

package normalize

// haveRun16 says plainRun16 is the vector one; here it is not.
const haveRun16 = false

// plainRun16 is only called where haveRun16 is set.
func plainRun16(*byte, int) int { return 0 }
