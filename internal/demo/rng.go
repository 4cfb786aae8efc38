package demo

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// rng is a seeded random source with the helpers the generators share.
// Every generator has its own, derived from the seed and the generator's
// name, so that the output does not depend on the order they run in.
type rng struct{ *rand.Rand }

func newRNG(seed int64, stream string) *rng {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return &rng{rand.New(rand.NewPCG(uint64(seed), h.Sum64()))}
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.Float64() < p }

// between returns an integer in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// pick returns one element of list.
func pick[T any](r *rng, list []T) T { return list[r.IntN(len(list))] }

// poisson draws a count with mean lambda (a normal approximation for large
// means).
func (r *rng) poisson(lambda float64) int {
	switch {
	case lambda <= 0:
		return 0
	case lambda > 30:
		n := int(math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64()))
		return max(n, 0)
	}
	limit, p, k := math.Exp(-lambda), 1.0, 0
	for {
		p *= r.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

const (
	hexChars    = "0123456789abcdef"
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	keyChars    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	alnumChars  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// str returns n characters drawn from chars.
func (r *rng) str(n int, chars string) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(chars[r.IntN(len(chars))])
	}
	return b.String()
}

func (r *rng) hex(n int) string { return r.str(n, hexChars) }

// uuid returns a random (version 4) UUID.
func (r *rng) uuid() string {
	h := []byte(r.hex(32))
	h[12] = '4'
	h[16] = "89ab"[r.IntN(4)]
	s := string(h)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// resourceID returns an AWS resource id such as "i-0" and 16 hex digits.
func (r *rng) resourceID(prefix string) string { return prefix + "-0" + r.hex(16) }

// at returns a time in [from, to).
func (r *rng) at(from, to time.Time) time.Time {
	d := to.Sub(from)
	if d <= 0 {
		return from
	}
	return from.Add(time.Duration(r.Int64N(int64(d))))
}

// ipIn returns an address of prefix p, avoiding the first and last of
// each /24.
func (r *rng) ipIn(p netip.Prefix) string {
	a := p.Masked().Addr().As4()
	base := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	size := uint32(1) << (32 - p.Bits())
	for {
		v := base + uint32(r.Int64N(int64(size)))
		if last := v & 0xff; size >= 256 && (last == 0 || last == 255) {
			continue
		}
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
	}
}

// weighted picks among choices with the given weights.
type weighted[T any] struct {
	items []T
	cum   []float64
}

func newWeighted[T any](items []T, weight func(i int, item T) float64) *weighted[T] {
	w := &weighted[T]{items: items, cum: make([]float64, len(items))}
	total := 0.0
	for i, it := range items {
		total += weight(i, it)
		w.cum[i] = total
	}
	return w
}

// zipf weighs the items 1, 1/2^s, 1/3^s, ... in their order.
func zipf[T any](items []T, s float64) *weighted[T] {
	return newWeighted(items, func(i int, _ T) float64 { return 1 / math.Pow(float64(i+1), s) })
}

func (w *weighted[T]) pick(r *rng) T {
	x := r.Float64() * w.cum[len(w.cum)-1]
	return w.items[sort.SearchFloat64s(w.cum, x)]
}
