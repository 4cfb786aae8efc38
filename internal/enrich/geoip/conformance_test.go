//go:build conformance

package geoip_test

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/enrich/geoip"
	"github.com/vigil-siem/vigil/internal/logtype"
)

// maxmindDir returns the folder of MaxMind's test databases in the shared
// folder (VIGIL_SHARED, default ../shared beside the repository), or fails.
func maxmindDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VIGIL_SHARED")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared")
	}
	dir = filepath.Join(dir, "corpus", "geoip")
	if _, err := os.Stat(filepath.Join(dir, "GeoIP2-City-Test.mmdb")); err != nil {
		t.Fatalf("MaxMind test databases not found in %s (set VIGIL_SHARED): %v", dir, err)
	}
	return dir
}

func TestMaxMindTestDatabases(t *testing.T) {
	dir := maxmindDir(t)
	london := &geoip.Geo{CityName: "London", CountryISOCode: "GB", CountryName: "United Kingdom", Location: &geoip.Location{Lat: 51.5142, Lon: -0.0931}}
	for _, city := range []string{"GeoIP2-City-Test.mmdb", "GeoLite2-City-Test.mmdb"} {
		t.Run(city, func(t *testing.T) {
			db, err := geoip.Open(filepath.Join(dir, city), filepath.Join(dir, "GeoLite2-ASN-Test.mmdb"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			tests := []struct {
				addr string
				want geoip.Result
			}{
				{"81.2.69.142", geoip.Result{Geo: london}},
				{"81.2.69.200", geoip.Result{Geo: london}},
				{"89.160.20.130", geoip.Result{Geo: &geoip.Geo{CityName: "Linköping", CountryISOCode: "SE", CountryName: "Sweden", Location: &geoip.Location{Lat: 58.4167, Lon: 15.6167}},
					AS: &geoip.AS{Number: 29518, HasNumber: true, Organization: "Bredband2 AB"}}},
				{"175.16.199.7", geoip.Result{Geo: &geoip.Geo{CityName: "Changchun", CountryISOCode: "CN", CountryName: "China", Location: &geoip.Location{Lat: 43.88, Lon: 125.3228}}}},
				{"216.160.83.57", geoip.Result{Geo: &geoip.Geo{CityName: "Milton", CountryISOCode: "US", CountryName: "United States", Location: &geoip.Location{Lat: 47.2513, Lon: -122.3149}},
					AS: &geoip.AS{Number: 209, HasNumber: true}}},
				// A country without a city; an AS without its organization.
				{"67.43.156.1", geoip.Result{Geo: &geoip.Geo{CountryISOCode: "BT", CountryName: "Bhutan", Location: &geoip.Location{Lat: 27.5, Lon: 90.5}},
					AS: &geoip.AS{Number: 35908, HasNumber: true}}},
				// In the ASN database only; then with the number alone.
				{"1.128.0.1", geoip.Result{AS: &geoip.AS{Number: 1221, HasNumber: true, Organization: "Telstra Pty Ltd"}}},
				{"12.81.92.5", geoip.Result{AS: &geoip.AS{Number: 7018, HasNumber: true, Organization: "AT&T Services"}}},
				{"12.81.96.5", geoip.Result{AS: &geoip.AS{Number: 7018, HasNumber: true}}},
				{"10.0.0.1", geoip.Result{}},
				{"192.168.1.1", geoip.Result{}},
			}
			for _, tc := range tests {
				if got := db.Lookup(netip.MustParseAddr(tc.addr)); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Lookup(%s) = %s, want %s", tc.addr, show(got), show(tc.want))
				}
			}
		})
	}
}

// TestMaxMindRecordWithoutCountry: GeoIP2-City-Test holds networks whose
// record has no country; es-loader then sets every geo field to None, which
// removes what mapping set.
func TestMaxMindRecordWithoutCountry(t *testing.T) {
	dir := maxmindDir(t)
	db, err := geoip.Open(filepath.Join(dir, "GeoIP2-City-Test.mmdb"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Lookup(netip.MustParseAddr("2.3.3.3")); !reflect.DeepEqual(got, geoip.Result{Geo: &geoip.Geo{}}) {
		t.Fatalf("Lookup(2.3.3.3) = %s, want an empty City record", show(got))
	}
	reg, err := logtype.LoadFrom(logtype.NamedReader{Name: "enrich.ini", R: strings.NewReader(enrichINI)})
	if err != nil {
		t.Fatal(err)
	}
	out := normalizeDoc(t, db, reg, "t-mapped-geo", `{"time":"2024-03-14T10:00:00Z","ip":"2.3.3.3","city":"Exampleville","country":"Exampleland","loc":{"lat":1.5,"lon":2.5}}`)
	if !bytes.Contains(out, []byte(`"source":{"ip":"2.3.3.3"}`)) {
		t.Errorf("mapped geo not removed: %s", out)
	}
}

func TestMaxMindSwapped(t *testing.T) {
	dir := maxmindDir(t)
	_, err := geoip.Open(filepath.Join(dir, "GeoLite2-ASN-Test.mmdb"), filepath.Join(dir, "GeoLite2-City-Test.mmdb"))
	if err == nil || !strings.Contains(err.Error(), `it is an ASN database (type "GeoLite2-ASN")`) {
		t.Fatalf("error %v, want one saying the City database is an ASN one", err)
	}
	_, err = geoip.Open("", filepath.Join(dir, "GeoIP2-City-Test.mmdb"))
	if err == nil || !strings.Contains(err.Error(), `it is a City database (type "GeoIP2-City")`) {
		t.Fatalf("error %v, want one saying the ASN database is a City one", err)
	}
}

func TestMaxMindEnrichCloudTrail(t *testing.T) {
	dir := maxmindDir(t)
	db, err := geoip.Open(filepath.Join(dir, "GeoIP2-City-Test.mmdb"), filepath.Join(dir, "GeoLite2-ASN-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg, err := logtype.Load()
	if err != nil {
		t.Fatal(err)
	}
	out := normalizeDoc(t, db, reg, "cloudtrail", `{"eventVersion":"1.08","eventTime":"2024-03-14T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"89.160.20.115","eventID":"e3","recipientAccountId":"123456789012"}`)
	want := `"source":{"address":"89.160.20.115","ip":"89.160.20.115","geo":{"city_name":"Linköping","country_iso_code":"SE","country_name":"Sweden","location":{"lon":15.6167,"lat":58.4167}},` +
		`"as":{"number":29518,"organization":{"name":"Bredband2 AB"}}}`
	if !bytes.Contains(out, []byte(want)) {
		t.Errorf("document lacks\n  %s\n%s", want, out)
	}
}
