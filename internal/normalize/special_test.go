package normalize

import (
	"math/rand/v2"
	"testing"
)

// TestSpecial checks the scanner's bit-per-byte search against
// plainRunBytes at every position of random texts of every length
// around the block sizes, asked in order and out of order.
func TestSpecial(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	alphabet := []byte("abcdefghij:,{}[] 0123456789\"\\\x01\x1f\x7f\x80\xc3\xff")
	var s scanner
	for n := range 1200 {
		raw := make([]byte, n)
		rare := 1 + rng.IntN(40) // how often a byte is not a letter
		for k := range raw {
			if rng.IntN(rare) == 0 {
				raw[k] = alphabet[rng.IntN(len(alphabet))]
			} else {
				raw[k] = byte('a' + rng.IntN(26))
			}
		}
		s.raw, s.bits = raw, s.bits[:0]
		for i := 0; i <= n; i++ {
			if got, want := s.special(i), plainRunBytes(raw, i, true); got != want {
				t.Fatalf("length %d, from %d: special %d, plainRunBytes %d", n, i, got, want)
			}
		}
		s.bits = s.bits[:0]
		for range 20 {
			i := rng.IntN(n + 1)
			if got, want := s.special(i), plainRunBytes(raw, i, true); got != want {
				t.Fatalf("length %d, from %d (random order): special %d, plainRunBytes %d", n, i, got, want)
			}
		}
	}
}

func BenchmarkSpecialBits(b *testing.B) {
	raw := make([]byte, 4096)
	for k := range raw {
		raw[k] = byte('a' + k%26)
	}
	out := make([]uint64, len(raw)/64)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		specialBits(&raw[0], len(out), &out[0])
	}
}
