//go:build conformance

package demo

import (
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vigil-siem/vigil/internal/enrich/geoip"
)

// TestNetworksAgreeWithMaxMind checks the demo's networks against MaxMind's
// test City database (in the shared folder: VIGIL_SHARED, default ../shared
// beside the repository): the ones it holds are placed in the same country,
// so loading the demo with that database gives the same countries as with
// the demo's own.
func TestNetworksAgreeWithMaxMind(t *testing.T) {
	dir := os.Getenv("VIGIL_SHARED")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
	}
	path := filepath.Join(dir, "corpus", "geoip", "GeoIP2-City-Test.mmdb")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("MaxMind test database not found (set VIGIL_SHARED): %v", err)
	}
	db, err := geoip.Open(path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	held := 0
	for _, n := range geoNetworks() {
		for _, a := range []netip.Addr{n.prefix.Masked().Addr(), lastAddr(n.prefix)} {
			r := db.Lookup(a)
			if r.Geo == nil || r.Geo.CountryISOCode == "" {
				continue
			}
			held++
			if r.Geo.CountryISOCode != n.country || r.Geo.CountryName != n.name {
				t.Errorf("%s (%v): MaxMind places it in %s (%s), the demo in %s (%s)", a, n.prefix, r.Geo.CountryName, r.Geo.CountryISOCode, n.name, n.country)
			}
		}
	}
	if held < 10 {
		t.Errorf("MaxMind's test database holds %d of the demo's network ends, want at least 10", held)
	}
	t.Logf("%d network ends checked against MaxMind's test database", held)
}
