package geoip

import (
	"net/netip"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
)

// defaultCacheSize is about how many addresses the cache keeps answers for
// (each costs some 60 bytes; the records they point to are shared).
const defaultCacheSize = 1 << 16

// recordsPerShard bounds the decoded records a shard keeps.
const recordsPerShard = 4096

// nShards splits the cache so that workers rarely wait for each other.
const nShards = 16

// cache keeps recent answers per address, and decoded records per database
// record (many addresses share one network's record). Each shard holds two
// generations of addresses: a hit in the older one moves the address to the
// newer, and when the newer is full the older is dropped, so the addresses
// in use stay while the rest age out, without a list to maintain.
type cache struct {
	shards [nShards]shard
}

type shard struct {
	mu       sync.Mutex
	cur, old map[netip.Addr]*entry
	limit    int // addresses per generation
	geo      map[uintptr]*geoRecord
	as       map[uintptr]*asRecord
}

func newCache(size int) *cache {
	c := &cache{}
	per := max(size/nShards/2, 16)
	for i := range c.shards {
		s := &c.shards[i]
		s.limit = per
		s.cur = make(map[netip.Addr]*entry, per)
		s.geo = map[uintptr]*geoRecord{}
		s.as = map[uintptr]*asRecord{}
	}
	return c
}

// shard returns the shard of addr.
func (c *cache) shard(addr netip.Addr) *shard {
	b := addr.As16()
	var lo, hi uint64
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	h := (lo ^ hi*0xff51afd7ed558ccd) * 0x9e3779b97f4a7c15
	return &c.shards[h>>60]
}

// get returns the cached answer for addr, or nil.
func (s *shard) get(addr netip.Addr) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.cur[addr]; e != nil {
		return e
	}
	if e := s.old[addr]; e != nil {
		s.putLocked(addr, e)
		return e
	}
	return nil
}

// put caches the answer for addr.
func (s *shard) put(addr netip.Addr, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(addr, e)
}

func (s *shard) putLocked(addr netip.Addr, e *entry) {
	if len(s.cur) >= s.limit {
		s.old, s.cur = s.cur, make(map[netip.Addr]*entry, s.limit)
	}
	s.cur[addr] = e
}

// geoRecord returns the decoded City record of a lookup, decoding it on
// first use.
func (s *shard) geoRecord(res maxminddb.Result) *geoRecord {
	off := res.Offset()
	s.mu.Lock()
	r := s.geo[off]
	s.mu.Unlock()
	if r != nil {
		return r
	}
	r = decodeGeo(res)
	s.mu.Lock()
	if len(s.geo) >= recordsPerShard {
		clear(s.geo)
	}
	s.geo[off] = r
	s.mu.Unlock()
	return r
}

// asRecord returns the decoded ASN record of a lookup likewise.
func (s *shard) asRecord(res maxminddb.Result) *asRecord {
	off := res.Offset()
	s.mu.Lock()
	r := s.as[off]
	s.mu.Unlock()
	if r != nil {
		return r
	}
	r = decodeAS(res)
	s.mu.Lock()
	if len(s.as) >= recordsPerShard {
		clear(s.as)
	}
	s.as[off] = r
	s.mu.Unlock()
	return r
}
