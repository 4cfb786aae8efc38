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

// randomString returns a '"' and up to n bytes from an alphabet of
// quotes, backslashes (often in runs), '#' (which the word-at-a-time
// search may flag next to a quote) and other bytes.
func randomString(r *rand.Rand, n int) []byte {
	alphabet := []byte{'"', '\\', '\\', '\\', '#', ']', '!', 'a', 0x80, 0xff, 0x7f, 0x5c ^ 0x80, 0x22 ^ 0x80}
	d := make([]byte, 1+r.IntN(n))
	d[0] = '"'
	plain := r.IntN(4) // some strings are mostly plain, as real ones are
	for i := 1; i < len(d); i++ {
		if r.IntN(4) < plain {
			d[i] = 'x'
			continue
		}
		d[i] = alphabet[r.IntN(len(alphabet))]
	}
	return d
}

// escapedString returns a long string token made of escapes (\", \\,
// \n, runs of them) and plain runs, as a JSON text embedded in a string
// is, followed by other bytes.
func escapedString(r *rand.Rand) []byte {
	d := []byte{'"'}
	for len(d) < 40+r.IntN(600) {
		switch r.IntN(5) {
		case 0:
			d = append(d, `"`...)
		case 1:
			d = append(d, `\`...)
		case 2:
			d = append(d, `\"`...)
		case 3:
			d = append(d, `
`...)
		default:
			for range r.IntN(20) {
				d = append(d, 'a'+byte(r.IntN(26)))
			}
		}
	}
	return append(d, `", "x": "y""`...)
}

// TestSkipString compares skipString, the word loop alone and the block
// loop with the byte-at-a-time definition on random strings, short and
// long (runs of backslashes across the 64-byte blocks).
func TestSkipString(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 300000; n++ {
		var d []byte
		switch n % 3 {
		case 0:
			d = randomString(r, 60)
		case 1:
			d = randomString(r, 300)
		default:
			d = escapedString(r)
		}
		want := skipStringRef(d, 0)
		for name, got := range map[string]int{
			"skipString": skipString(d, 0),
			"words":      skipWords(d, 1, false),
			"blocks":     skipBlocks(d, 1),
		} {
			if got != want {
				t.Fatalf("%s(%q) = %d, want %d", name, d, got, want)
			}
		}
	}
}

// TestBlockMasks compares blockMasks and blockMasksGo with a byte loop.
func TestBlockMasks(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := 0; n < 100000; n++ {
		var p [64]byte
		for i := range p {
			p[i] = []byte{'"', '\\', 'a', 0x22 ^ 0x80, 0x5c ^ 0x80, 0xa2, 0xdc, 0}[r.IntN(8)]
		}
		var wq, wb uint64
		for i, c := range p {
			if c == '"' {
				wq |= 1 << i
			}
			if c == '\\' {
				wb |= 1 << i
			}
		}
		if q, b := blockMasks(&p); q != wq || b != wb {
			t.Fatalf("blockMasks(%q) = %x, %x; want %x, %x", p, q, b, wq, wb)
		}
		if q, b := blockMasksGo(&p); q != wq || b != wb {
			t.Fatalf("blockMasksGo(%q) = %x, %x; want %x, %x", p, q, b, wq, wb)
		}
	}
}

// FuzzSkipString checks skipString against the definition on any bytes.
func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`"a"`, `"a\"b"`, `"\\\\\"`, `"` + string(make([]byte, 100)) + `\\"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		if len(d) == 0 || d[0] != '"' {
			return
		}
		want := skipStringRef(d, 0)
		if got := skipString(d, 0); got != want {
			t.Fatalf("skipString(%q) = %d, want %d", d, got, want)
		}
		if got := skipWords(d, 1, false); got != want {
			t.Fatalf("skipWords(%q) = %d, want %d", d, got, want)
		}
	})
}
