package demo

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/vigil-siem/vigil/internal/enrich/geoip"
)

// The demo's own GeoIP databases, relative to the output directory. They
// place every public address the sample data uses, so the country panels
// have data without any database from elsewhere.
const (
	geoipCityFile = "geoip/demo-City.mmdb"
	geoipASNFile  = "geoip/demo-ASN.mmdb"
)

// geoNetworks returns every public network the generators draw addresses
// from, each once, in a fixed order.
func geoNetworks() []network {
	var nets []network
	nets = append(nets, netAttacker, netOfficeUS, netOfficeGB, netHomeUS, netHomeDE, netCI)
	for _, e := range netScanners {
		nets = append(nets, e.net)
	}
	for _, e := range netCustomers {
		nets = append(nets, e.net)
	}
	for _, m := range []map[string]network{awsNetworks, s3Networks} {
		for _, region := range slices.Sorted(maps.Keys(m)) {
			nets = append(nets, m[region])
		}
	}
	var out []network
	for _, n := range nets {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// checkNetworks reports networks that overlap while placing their
// addresses differently: a database can hold only one answer per address.
func checkNetworks(nets []network) error {
	for i, a := range nets {
		for _, b := range nets[i+1:] {
			if a.prefix.Overlaps(b.prefix) && a != b {
				return fmt.Errorf("demo networks %v (%s) and %v (%s) overlap", a.prefix, a.city, b.prefix, b.city)
			}
		}
	}
	return nil
}

// writeGeoIP writes the demo's City and ASN databases under dir and
// returns their paths. built is recorded as their build time, so the same
// options give the same bytes.
func writeGeoIP(dir string, built time.Time) (city, asn string, err error) {
	nets := geoNetworks()
	if err := checkNetworks(nets); err != nil {
		return "", "", err
	}
	db := make([]geoip.Network, len(nets))
	for i, n := range nets {
		db[i] = geoip.Network{Prefix: n.prefix,
			Geo: &geoip.Geo{CityName: n.city, CountryISOCode: n.country, CountryName: n.name, Location: &geoip.Location{Lat: n.lat, Lon: n.lon}},
			AS:  &geoip.AS{Number: uint32(n.asn), HasNumber: true, Organization: n.org}}
	}
	city, asn = filepath.Join(dir, filepath.FromSlash(geoipCityFile)), filepath.Join(dir, filepath.FromSlash(geoipASNFile))
	err = geoip.WriteFiles(city, asn, db, geoip.WriteOptions{
		Name: "Vigil-Demo", Description: "Vigil demo: where the sample data's addresses are", Built: built})
	if err != nil {
		return "", "", err
	}
	return city, asn, nil
}
