//go:build cgo

package duckdb

import (
	"math/bits"
)

// idHash is the 64-bit hash of a document id stored in the h column: FNV-1a
// with a final mix, stable across versions and processes (it is on disk).
func idHash(id string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= fnvPrime
	}
	// Finalise (the murmur3 mix) so that the low bits are as good as the
	// high ones.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// bloom is a blocked Bloom filter over id hashes: it answers "certainly
// not stored" for almost every new id, so a write needs no lookup in the
// table unless an id may already be there. Each key sets bloomK bits in
// one 512-bit block (one cache line).
type bloom struct {
	blocks [][8]uint64
	n      int // keys added
	cap    int // keys it was sized for
}

const (
	bloomBitsPerKey = 24 // about 1 false positive in 30,000 at capacity
	bloomK          = 8
)

// newBloom returns a filter sized for capacity keys.
func newBloom(capacity int) *bloom {
	if capacity < 1<<16 {
		capacity = 1 << 16
	}
	nb := capacity * bloomBitsPerKey / 512
	return &bloom{blocks: make([][8]uint64, nb), cap: capacity}
}

// full reports whether the filter holds more keys than it was sized for.
func (b *bloom) full() bool { return b.n > b.cap }

func (b *bloom) block(h uint64) *[8]uint64 {
	i, _ := bits.Mul64(h, uint64(len(b.blocks)))
	return &b.blocks[i]
}

// add records h.
func (b *bloom) add(h uint64) {
	blk := b.block(h)
	g := h*0x9e3779b97f4a7c15 | 1
	for range bloomK {
		g = g*6364136223846793005 + 1442695040888963407
		bit := g >> 55 // 0..511
		blk[bit>>6] |= 1 << (bit & 63)
	}
	b.n++
}

// has reports whether h may have been added.
func (b *bloom) has(h uint64) bool {
	blk := b.block(h)
	g := h*0x9e3779b97f4a7c15 | 1
	for range bloomK {
		g = g*6364136223846793005 + 1442695040888963407
		bit := g >> 55
		if blk[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}
