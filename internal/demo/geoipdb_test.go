package demo

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/enrich/geoip"
)

// lastAddr returns the last address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func TestDemoGeoIPPlacesEveryNetwork(t *testing.T) {
	city, asn, err := writeGeoIP(t.TempDir(), time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(city, asn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	nets := geoNetworks()
	if len(nets) < 20 {
		t.Fatalf("only %d networks", len(nets))
	}
	for _, n := range nets {
		want := geoip.Result{
			Geo: &geoip.Geo{CityName: n.city, CountryISOCode: n.country, CountryName: n.name, Location: &geoip.Location{Lat: n.lat, Lon: n.lon}},
			AS:  &geoip.AS{Number: uint32(n.asn), HasNumber: true, Organization: n.org}}
		for _, a := range []netip.Addr{n.prefix.Masked().Addr(), lastAddr(n.prefix)} {
			got := db.Lookup(a)
			if got.Geo == nil || got.AS == nil || !sameGeo(got.Geo, want.Geo) || *got.AS != *want.AS {
				t.Errorf("%s (%v): got %+v %+v, want %+v %+v", a, n.prefix, got.Geo, got.AS, want.Geo, want.AS)
			}
		}
	}
	for _, a := range []string{"10.0.1.5", "172.31.0.2", "8.8.8.8"} {
		if r := db.Lookup(netip.MustParseAddr(a)); r.Geo != nil || r.AS != nil {
			t.Errorf("%s is placed: %+v", a, r)
		}
	}
}

func sameGeo(a, b *geoip.Geo) bool {
	return a.CityName == b.CityName && a.CountryISOCode == b.CountryISOCode && a.CountryName == b.CountryName &&
		a.Location != nil && b.Location != nil && *a.Location == *b.Location
}

func TestCheckNetworks(t *testing.T) {
	tests := []struct {
		name    string
		nets    []network
		wantErr string
	}{
		{name: "disjoint", nets: []network{netHomeUS, netHomeDE}},
		{name: "same network twice", nets: []network{netHomeUS, netHomeUS}},
		{name: "nested, placed differently", nets: []network{netHomeUS, {prefix: mustPrefix("73.1.0.0/16"), country: "US", city: "Chicago"}},
			wantErr: "73.0.0.0/11 (Seattle) and 73.1.0.0/16 (Chicago) overlap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkNetworks(tc.nets)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("checkNetworks = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
