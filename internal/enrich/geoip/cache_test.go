package geoip

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// openInternal writes a database with one /8 of GB addresses (City and
// ASN) and opens it.
func openInternal(tb testing.TB) *DB {
	tb.Helper()
	dir := tb.TempDir()
	city, asn := filepath.Join(dir, "c.mmdb"), filepath.Join(dir, "a.mmdb")
	nets := []Network{{Prefix: netip.MustParsePrefix("81.0.0.0/8"),
		Geo: &Geo{CityName: "London", CountryISOCode: "GB", CountryName: "United Kingdom", Location: &Location{Lat: 51.5142, Lon: -0.0931}},
		AS:  &AS{Number: 20712, HasNumber: true, Organization: "Andrews & Arnold Ltd"}}}
	if err := WriteFiles(city, asn, nets, WriteOptions{Built: time.Unix(1700000000, 0)}); err != nil {
		tb.Fatal(err)
	}
	db, err := Open(city, asn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func addr4(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{81, byte(i >> 16), byte(i >> 8), byte(i)})
}

func TestCacheStaysBounded(t *testing.T) {
	db := openInternal(t)
	db.cache = newCache(1024)
	hot := addr4(0)
	for i := 1; i < 50000; i++ {
		if e := db.entry(addr4(i)); e.geo == nil || e.as == nil {
			t.Fatalf("entry(%s) lacks a record", addr4(i))
		}
		if i%100 == 0 {
			db.entry(hot)
		}
	}
	total, records := 0, 0
	for i := range db.cache.shards {
		s := &db.cache.shards[i]
		if len(s.cur) > s.limit || len(s.old) > s.limit {
			t.Errorf("shard %d holds %d and %d addresses, limit %d", i, len(s.cur), len(s.old), s.limit)
		}
		total += len(s.cur) + len(s.old)
		records += len(s.geo) + len(s.as)
	}
	if total > 1024 {
		t.Errorf("cache holds %d addresses, want at most 1024", total)
	}
	// Every address shares one network: one record per database and shard.
	if records > 2*nShards {
		t.Errorf("cache holds %d decoded records, want at most %d", records, 2*nShards)
	}
	sh := db.cache.shard(hot)
	if sh.cur[hot] == nil && sh.old[hot] == nil {
		t.Error("an address in steady use fell out of the cache")
	}
}

func TestParseAddr(t *testing.T) {
	for _, s := range []string{"1.2.3.4", "255.255.255.255", "0.0.0.0", "01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3",
		"1.2.3.4 ", "", ".", "::1", "::ffff:1.2.3.4", "fe80::1%eth0", "2001:db8::", "1.2.3.-4", "１.2.3.4", "1234.1.1.1"} {
		got, gotOK := parseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		if gotOK != (err == nil) || got != want {
			t.Errorf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, gotOK, want, err)
		}
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "10.0.0.255", "01.2.3.4", "::1", "2a02:ff0::1", "::ffff:81.2.69.170", "1.2.3.4.5", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := parseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		if gotOK != (err == nil) || got != want {
			t.Fatalf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, gotOK, want, err)
		}
	})
}

func FuzzLookup(f *testing.F) {
	db := openInternal(f)
	f.Add([]byte{81, 2, 69, 170})
	f.Add([]byte{10, 0, 0, 1})
	f.Add(netip.MustParseAddr("2a02:ff0::1").AsSlice())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		r := db.Lookup(a)
		if in := a.Unmap().Is4() && a.Unmap().As4()[0] == 81; in != (r.Geo != nil) || in != (r.AS != nil) {
			t.Fatalf("Lookup(%s) = %+v", a, r)
		}
	})
}

// BenchmarkLookup measures one address's answer: from the cache, for a new
// address of a network already seen (the tree walk only), and without any
// cache (tree walk and decoding, both databases).
func BenchmarkLookup(b *testing.B) {
	db := openInternal(b)
	b.Run("cached", func(b *testing.B) {
		for i := range 1024 {
			db.Lookup(addr4(i))
		}
		i := 0
		for b.Loop() {
			db.Lookup(addr4(i & 1023))
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("new-address", func(b *testing.B) {
		i := 1 << 20
		for b.Loop() {
			db.Lookup(addr4(i))
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("uncached", func(b *testing.B) {
		i := 0
		for b.Loop() {
			a := addr4(i)
			if decodeGeo(db.city.Lookup(a)) == nil || decodeAS(db.asn.Lookup(a)) == nil {
				b.Fatal("no record")
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
}

func TestLocalCache(t *testing.T) {
	var c localCache
	e1, e2 := &entry{}, &entry{}
	a := addr4(1)
	// Find an address sharing a's slot.
	b := a
	for i := 2; localSlot(b) != localSlot(a) || b == a; i++ {
		b = addr4(i)
	}
	c.put(a, e1)
	if c.get(a) != e1 || c.get(b) != nil {
		t.Fatal("wrong answer after one put")
	}
	c.put(b, e2)
	if c.get(a) != nil || c.get(b) != e2 {
		t.Fatal("a colliding address did not replace the slot")
	}
	v6 := netip.MustParseAddr("2a02:ff0::1")
	c.put(v6, e1)
	if c.get(v6) != e1 || c.get(netip.MustParseAddr("2a02:ff0::2")) != nil {
		t.Fatal("IPv6 answer wrong")
	}
}
