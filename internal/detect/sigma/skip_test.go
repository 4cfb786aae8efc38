package sigma

import (
	"math/rand/v2"
	"testing"
)

// skipStringRef is the byte-at-a-time definition skipString must agree
// with: a backslash escapes the byte after it.
func skipStringRef(d []byte, i int) int {
	for i++; i < len(d); i++ {
		switch d[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	return -1
}

// TestSkipString compares skipString with the byte-at-a-time definition on
// random strings made of quotes, backslashes, '#' (which the word-at-a-time
// search may flag next to a quote) and other bytes.
func TestSkipString(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte{'"', '\\', '\\', '#', ']', '!', 'a', 0x80, 0xff, 0x7f, 0x5c ^ 0x80, 0x22 ^ 0x80}
	for n := 0; n < 200000; n++ {
		d := make([]byte, 1+r.IntN(60))
		d[0] = '"'
		for i := 1; i < len(d); i++ {
			d[i] = alphabet[r.IntN(len(alphabet))]
		}
		if got, want := skipString(d, 0), skipStringRef(d, 0); got != want {
			t.Fatalf("skipString(%q) = %d, want %d", d, got, want)
		}
	}
}
