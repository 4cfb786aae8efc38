package geoip_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/enrich/geoip"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/normalize"
)

// testNets is the content of the databases the unit tests write.
var testNets = []geoip.Network{
	{Prefix: netip.MustParsePrefix("81.2.69.160/27"),
		Geo: &geoip.Geo{CityName: "London", CountryISOCode: "GB", CountryName: "United Kingdom", Location: &geoip.Location{Lat: 51.5142, Lon: -0.0931}},
		AS:  &geoip.AS{Number: 20712, HasNumber: true, Organization: "Andrews & Arnold Ltd"}},
	// Country only, and an AS without its organization.
	{Prefix: netip.MustParsePrefix("1.128.0.0/11"),
		Geo: &geoip.Geo{CountryISOCode: "AU", CountryName: "Australia"},
		AS:  &geoip.AS{Number: 1221, HasNumber: true}},
	// In the City database only, with a whole-number coordinate.
	{Prefix: netip.MustParsePrefix("175.16.199.0/24"),
		Geo: &geoip.Geo{CityName: "Changchun", CountryISOCode: "CN", CountryName: "China", Location: &geoip.Location{Lat: 43.88, Lon: 125}}},
	// In the ASN database only.
	{Prefix: netip.MustParsePrefix("12.81.92.0/22"), AS: &geoip.AS{Number: 7018, HasNumber: true, Organization: "AT&T Services"}},
	// A record with nothing in it.
	{Prefix: netip.MustParsePrefix("89.160.20.112/28"), Geo: &geoip.Geo{}},
	{Prefix: netip.MustParsePrefix("2a02:ff0::/32"),
		Geo: &geoip.Geo{CityName: "Zürich", CountryISOCode: "CH", CountryName: "Switzerland", Location: &geoip.Location{Lat: 47.3769, Lon: 8.5417}},
		AS:  &geoip.AS{Number: 3303, HasNumber: true, Organization: "Swisscom (Schweiz) AG"}},
}

// writeDBs writes the City and ASN databases of nets into a temporary
// directory and returns their paths.
func writeDBs(t testing.TB, nets []geoip.Network) (city, asn string) {
	t.Helper()
	dir := t.TempDir()
	city, asn = filepath.Join(dir, "test-City.mmdb"), filepath.Join(dir, "test-ASN.mmdb")
	if err := geoip.WriteFiles(city, asn, nets, geoip.WriteOptions{Description: "unit tests", Built: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	return city, asn
}

func openTest(t testing.TB) *geoip.DB {
	t.Helper()
	db, err := geoip.Open(writeDBs(t, testNets))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLookup(t *testing.T) {
	db := openTest(t)
	tests := []struct {
		name string
		addr string
		want geoip.Result
	}{
		{name: "city and AS", addr: "81.2.69.170", want: geoip.Result{Geo: testNets[0].Geo, AS: testNets[0].AS}},
		{name: "country only", addr: "1.150.3.4", want: geoip.Result{Geo: testNets[1].Geo, AS: testNets[1].AS}},
		{name: "city database only", addr: "175.16.199.1", want: geoip.Result{Geo: testNets[2].Geo}},
		{name: "ASN database only", addr: "12.81.93.200", want: geoip.Result{AS: testNets[3].AS}},
		{name: "empty record", addr: "89.160.20.113", want: geoip.Result{Geo: &geoip.Geo{}}},
		{name: "IPv6", addr: "2a02:ff0:1::5", want: geoip.Result{Geo: testNets[5].Geo, AS: testNets[5].AS}},
		{name: "IPv4-mapped IPv6", addr: "::ffff:81.2.69.170", want: geoip.Result{Geo: testNets[0].Geo, AS: testNets[0].AS}},
		{name: "private", addr: "10.1.2.3"},
		{name: "loopback", addr: "127.0.0.1"},
		{name: "public, unknown", addr: "8.8.8.8"},
		{name: "IPv6 unknown", addr: "2600::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // a miss, then the cache
				got := db.Lookup(netip.MustParseAddr(tc.addr))
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("Lookup(%s) = %s, want %s", tc.addr, show(got), show(tc.want))
				}
			}
		})
	}
}

func show(r geoip.Result) string {
	b, _ := json.Marshal(r)
	return string(b)
}

func TestNilAndEmpty(t *testing.T) {
	var nilDB *geoip.DB
	empty, err := geoip.Open("", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, db := range map[string]*geoip.DB{"nil": nilDB, "no database": empty} {
		if db.Enabled() {
			t.Errorf("%s: Enabled", name)
		}
		if r := db.Lookup(netip.MustParseAddr("81.2.69.170")); r.Geo != nil || r.AS != nil {
			t.Errorf("%s: Lookup found %s", name, show(r))
		}
		if e := db.Enricher(); e != nil {
			t.Errorf("%s: Enricher is %v, want nil so normalization skips it", name, e)
		}
		if err := db.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
	}
}

func TestOpenOne(t *testing.T) {
	city, asn := writeDBs(t, testNets)
	tests := []struct {
		name      string
		city, asn string
		geo, as   bool
	}{
		{name: "city only", city: city, geo: true},
		{name: "asn only", asn: asn, as: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := geoip.Open(tc.city, tc.asn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			r := db.Lookup(netip.MustParseAddr("81.2.69.170"))
			if (r.Geo != nil) != tc.geo || (r.AS != nil) != tc.as {
				t.Errorf("Lookup = %s, want geo %v, as %v", show(r), tc.geo, tc.as)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	city, asn := writeDBs(t, testNets)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mmdb")
	if err := os.WriteFile(junk, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		city, asn string
		want      []string // in the message
	}{
		{name: "missing city", city: filepath.Join(dir, "nope.mmdb"), want: []string{"city database", "nope.mmdb"}},
		{name: "missing asn", city: city, asn: filepath.Join(dir, "nope.mmdb"), want: []string{"asn database", "nope.mmdb"}},
		{name: "not a database", asn: junk, want: []string{"asn database", "junk.mmdb"}},
		{name: "swapped", city: asn, asn: city, want: []string{"city database", "test-ASN.mmdb", "is an ASN database", "Vigil-ASN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := geoip.Open(tc.city, tc.asn)
			if err == nil {
				db.Close()
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestConcurrentLookups checks answers from several goroutines at once
// (run with -race), with more addresses than fit in the cache.
func TestConcurrentLookups(t *testing.T) {
	db := openTest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 40000 {
				a := netip.AddrFrom4([4]byte{1, byte(128 + (i+g)%32), byte(i >> 8), byte(i)})
				r := db.Lookup(a)
				if r.Geo == nil || r.Geo.CountryISOCode != "AU" || r.AS == nil || r.AS.Number != 1221 {
					errs <- fmt.Errorf("Lookup(%s) = %s", a, show(r))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// enrichINI adds types shaped like GuardDuty (geo from the record) and
// like a flow log (source and destination).
const enrichINI = `
[t-mapped-geo]
s3_key = vigiltest-mapped-geo/
file_format = json
index_name = log-mapped-geo
timestamp_key = time
ecs = source.ip source.geo.city_name source.geo.country_name source.geo.location
source.ip = ip
source.geo.city_name = city
source.geo.country_name = country
source.geo.location = loc
geoip = source

[t-flow]
s3_key = vigiltest-flow/
file_format = json
index_name = log-flow
timestamp_key = time
ecs = source.ip destination.ip
source.ip = src
destination.ip = dst
geoip = source destination
`

// normalizeDoc normalizes one record of the named type with db's enricher
// and returns the document.
func normalizeDoc(t *testing.T, db *geoip.DB, reg *logtype.Registry, typeName, raw string) []byte {
	t.Helper()
	ty, ok := reg.Get(typeName)
	if !ok {
		t.Fatalf("no type %s", typeName)
	}
	scripts := map[string]normalize.Script{"cloudtrail": cloudtrail.Script{}}
	n := normalize.New(scripts, func() time.Time { return time.Unix(0, 0) }, normalize.WithEnrichers(db.Enricher()))
	out, _, err := n.Normalize(nil, normalize.Input{Type: ty, Origin: &event.Origin{Key: "AWSLogs/123456789012/x"}, RawJSON: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEnrichDocuments(t *testing.T) {
	db := openTest(t)
	reg, err := logtype.LoadFrom(logtype.NamedReader{Name: "enrich.ini", R: strings.NewReader(enrichINI)})
	if err != nil {
		t.Fatal(err)
	}
	const london = `"geo":{"city_name":"London","country_iso_code":"GB","country_name":"United Kingdom","location":{"lon":-0.0931,"lat":51.5142}},` +
		`"as":{"number":20712,"organization":{"name":"Andrews & Arnold Ltd"}}`
	tests := []struct {
		name string
		typ  string
		raw  string
		// want are objects of the document, as JSON.
		want map[string]string
		// text is a part of the document as written (key order).
		text string
	}{
		{name: "cloudtrail", typ: "cloudtrail",
			raw:  `{"eventVersion":"1.08","eventTime":"2024-03-14T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"81.2.69.170","eventID":"e1","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","userName":"alice"}}`,
			want: map[string]string{"source": `{"ip":"81.2.69.170","address":"81.2.69.170",` + london + `}`},
			text: london},
		{name: "cloudtrail, AWS service instead of an address", typ: "cloudtrail",
			raw:  `{"eventVersion":"1.08","eventTime":"2024-03-14T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"cloudtrail.amazonaws.com","eventID":"e2","recipientAccountId":"123456789012"}`,
			want: map[string]string{"source": `{"address":"cloudtrail.amazonaws.com"}`}},
		{name: "both objects", typ: "t-flow",
			raw: `{"time":"2024-03-14T10:00:00Z","src":"1.128.0.1","dst":"2a02:ff0::1"}`,
			want: map[string]string{
				"source":      `{"ip":"1.128.0.1","geo":{"country_iso_code":"AU","country_name":"Australia"},"as":{"number":1221}}`,
				"destination": `{"ip":"2a02:ff0::1","geo":{"city_name":"Zürich","country_iso_code":"CH","country_name":"Switzerland","location":{"lon":8.5417,"lat":47.3769}},"as":{"number":3303,"organization":{"name":"Swisscom (Schweiz) AG"}}}`,
			}},
		{name: "private destination adds nothing", typ: "t-flow",
			raw: `{"time":"2024-03-14T10:00:00Z","src":"175.16.199.9","dst":"10.0.0.5"}`,
			want: map[string]string{
				"source":      `{"ip":"175.16.199.9","geo":{"city_name":"Changchun","country_iso_code":"CN","country_name":"China","location":{"lon":125.0,"lat":43.88}}}`,
				"destination": `{"ip":"10.0.0.5"}`,
			}},
		// es-loader sets every field of a found record, None included, over
		// what mapping set; the None ones are then dropped.
		{name: "database record replaces mapped geo", typ: "t-mapped-geo",
			raw:  `{"time":"2024-03-14T10:00:00Z","ip":"1.128.0.1","city":"Exampleville","country":"Exampleland","loc":{"lat":1.5,"lon":2.5}}`,
			want: map[string]string{"source": `{"ip":"1.128.0.1","geo":{"country_name":"Australia","country_iso_code":"AU"},"as":{"number":1221}}`}},
		{name: "empty record removes mapped geo", typ: "t-mapped-geo",
			raw:  `{"time":"2024-03-14T10:00:00Z","ip":"89.160.20.120","city":"Exampleville","country":"Exampleland","loc":{"lat":1.5,"lon":2.5}}`,
			want: map[string]string{"source": `{"ip":"89.160.20.120"}`}},
		{name: "unknown address keeps mapped geo", typ: "t-mapped-geo",
			raw:  `{"time":"2024-03-14T10:00:00Z","ip":"8.8.8.8","city":"Exampleville","country":"Exampleland","loc":{"lat":1.5,"lon":2.5}}`,
			want: map[string]string{"source": `{"ip":"8.8.8.8","geo":{"city_name":"Exampleville","country_name":"Exampleland","location":{"lat":1.5,"lon":2.5}}}`}},
		{name: "city and location from the database", typ: "t-mapped-geo",
			raw:  `{"time":"2024-03-14T10:00:00Z","ip":"81.2.69.161","city":"Exampleville","loc":{"lat":1.5,"lon":2.5}}`,
			want: map[string]string{"source": `{"ip":"81.2.69.161",` + london + `}`}},
		{name: "ip in the record itself", typ: "t-flow",
			raw:  `{"time":"2024-03-14T10:00:00Z","source":{"ip":"12.81.92.1","port":443}}`,
			want: map[string]string{"source": `{"ip":"12.81.92.1","port":443,"as":{"number":7018,"organization":{"name":"AT&T Services"}}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := normalizeDoc(t, db, reg, tc.typ, tc.raw)
			var doc map[string]any
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			for key, want := range tc.want {
				var w any
				if err := json.Unmarshal([]byte(want), &w); err != nil {
					t.Fatalf("bad want %s: %v", want, err)
				}
				if !reflect.DeepEqual(doc[key], w) {
					got, _ := json.Marshal(doc[key])
					t.Errorf("%s =\n  %s\nwant\n  %s", key, got, want)
				}
			}
			if tc.text != "" && !bytes.Contains(out, []byte(tc.text)) {
				t.Errorf("document does not have %s:\n%s", tc.text, out)
			}
		})
	}
}
