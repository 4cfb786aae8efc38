package geoip

import (
	"net/netip"

	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/normalize"
)

// Enricher returns the normalization step that adds GeoIP fields to the
// documents of every log type with a geoip setting (for
// normalize.WithEnrichers, or pipeline.ObjectConfig.Enrichers). It is nil
// when the DB has no database, so that normalization then does no work for
// it at all.
func (db *DB) Enricher() normalize.Enricher {
	if !db.Enabled() {
		return nil
	}
	return enricher{db: db}
}

// enricher adapts a DB to normalize.Enricher.
type enricher struct {
	db *DB
}

// objectPaths are the document paths of one ECS object the type names.
type objectPaths struct {
	ip  string
	geo [nGeoFields]string
	as  [nASFields]string
}

// Prepare returns the enrichment of t's documents, nil when t has no geoip
// setting.
func (e enricher) Prepare(t *logtype.Type) (func(d *normalize.Doc) error, []string) {
	if len(t.GeoIP) == 0 {
		return nil, nil
	}
	objs := make([]objectPaths, len(t.GeoIP))
	paths := make([]string, len(t.GeoIP))
	for i, name := range t.GeoIP {
		o := &objs[i]
		o.ip = name + ".ip"
		for j, s := range geoSuffixes {
			o.geo[j] = name + "." + s
		}
		for j, s := range asSuffixes {
			o.as[j] = name + "." + s
		}
		paths[i] = o.ip
	}
	// The function runs on one normalizer's goroutine only, so it keeps a
	// small cache of its own in front of the shared one, without locks.
	local := &localCache{}
	return func(d *normalize.Doc) error {
		e.enrich(d, objs, local)
		return nil
	}, paths
}

// enrich looks up each object's address and sets what the databases hold.
// Like es-loader, it reads <object>.ip as the document has it after the
// transform, and only a single address in a string.
func (e enricher) enrich(d *normalize.Doc, objs []objectPaths, local *localCache) {
	for i := range objs {
		o := &objs[i]
		v, k := d.Value(o.ip)
		if k != normalize.KindString {
			continue
		}
		addr, ok := parseAddr(v)
		if !ok {
			continue
		}
		ent := local.get(addr)
		if ent == nil {
			ent = e.db.entry(addr)
			local.put(addr, ent)
		}
		if ent.geo != nil {
			for j, f := range ent.geo.fields {
				d.ECS.SetRaw(o.geo[j], f)
			}
		}
		if ent.as != nil {
			for j, f := range ent.as.fields {
				d.ECS.SetRaw(o.as[j], f)
			}
		}
	}
}

// parseAddr parses an IPv4 or IPv6 address, the common dotted quad without
// allocating.
func parseAddr(b []byte) (netip.Addr, bool) {
	var a [4]byte
	part, digits, val := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || val > 255 || (digits > 1 && b[i-digits] == '0') || part == 4 {
				return slowParseAddr(b)
			}
			a[part] = byte(val)
			part++
			val, digits = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || digits == 3 {
			return slowParseAddr(b)
		}
		val = val*10 + int(c-'0')
		digits++
	}
	if part != 4 {
		return slowParseAddr(b)
	}
	return netip.AddrFrom4(a), true
}

func slowParseAddr(b []byte) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(string(b))
	return addr, err == nil
}

// localCache is a direct-mapped cache of recent answers for one goroutine.
type localCache struct {
	slots [localSlots]struct {
		addr netip.Addr
		e    *entry
	}
}

const localSlots = 1024

func localSlot(addr netip.Addr) int {
	var h uint64
	if addr.Is4() {
		b := addr.As4()
		h = uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	} else {
		b := addr.As16()
		for i := range 16 {
			h = h*31 + uint64(b[i])
		}
	}
	return int((h * 0x9e3779b97f4a7c15) >> (64 - 10))
}

func (c *localCache) get(addr netip.Addr) *entry {
	s := &c.slots[localSlot(addr)]
	if s.e != nil && s.addr == addr {
		return s.e
	}
	return nil
}

func (c *localCache) put(addr netip.Addr, e *entry) {
	s := &c.slots[localSlot(addr)]
	s.addr, s.e = addr, e
}
