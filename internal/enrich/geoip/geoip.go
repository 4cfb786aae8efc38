// Package geoip places IP addresses with a MaxMind DB City database and an
// ASN database, and adds what it finds to documents as es-loader does: for
// each ECS object a log type's geoip setting names ("source destination"),
// the address in <object>.ip gives <object>.geo.{city_name,
// country_iso_code, country_name, location {lon, lat}} and <object>.as.
// {number, organization.name}, with English names. Addresses a database
// does not hold (private, reserved, unknown) add nothing.
//
// The databases are memory-mapped and read in place; answers are cached per
// address and per database record, since the same addresses recur.
package geoip

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// DB answers where addresses are. It is safe for concurrent use. A nil *DB,
// or one opened with no database, finds nothing.
type DB struct {
	city, asn *maxminddb.Reader
	cache     *cache
}

// Open opens a City database (GeoLite2-City, GeoIP2-City or one of the same
// shape) and an ASN database (GeoLite2-ASN or the same shape). Either path
// may be empty to do without it; with both empty the DB finds nothing.
func Open(cityPath, asnPath string) (*DB, error) {
	db := &DB{cache: newCache(defaultCacheSize)}
	var err error
	if cityPath != "" {
		if db.city, err = openKind(cityPath, "city"); err != nil {
			return nil, err
		}
	}
	if asnPath != "" {
		if db.asn, err = openKind(asnPath, "asn"); err != nil {
			if db.city != nil {
				_ = db.city.Close()
			}
			return nil, err
		}
	}
	return db, nil
}

// openKind opens one database and checks that its records are of the kind
// asked for, so that swapped flags fail at start instead of finding nothing.
func openKind(path, kind string) (*maxminddb.Reader, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening GeoIP %s database %s: %w", kind, path, err)
	}
	if got := classify(r.Metadata.DatabaseType); got != "" && got != kind {
		_ = r.Close()
		article := map[string]string{"city": "a City", "asn": "an ASN"}
		return nil, fmt.Errorf("opening GeoIP %s database %s: it is %s database (type %q)", kind, path, article[got], r.Metadata.DatabaseType)
	}
	return r, nil
}

// classify tells city from asn databases by their type name ("" when the
// name says neither, such as a database of one's own).
func classify(dbType string) string {
	for i := 0; i+3 <= len(dbType); i++ {
		switch dbType[i : i+3] {
		case "ASN":
			return "asn"
		case "Cit":
			if i+4 <= len(dbType) && dbType[i:i+4] == "City" {
				return "city"
			}
		}
	}
	return ""
}

// Close releases the databases. The DB must not be used afterwards.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	var errs []error
	for _, r := range []*maxminddb.Reader{db.city, db.asn} {
		if r != nil {
			if err := r.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing GeoIP database: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// Enabled reports whether the DB has at least one database.
func (db *DB) Enabled() bool { return db != nil && (db.city != nil || db.asn != nil) }

// Result is what the databases hold for one address.
type Result struct {
	// Geo is the City database's record; nil when it holds none for the
	// address (or there is no City database).
	Geo *Geo
	// AS is the ASN database's record; nil likewise.
	AS *AS
}

// Geo is where a City database places an address. Empty fields are unknown.
type Geo struct {
	CityName       string
	CountryISOCode string
	CountryName    string
	// Location is nil when the record has no coordinates.
	Location *Location
}

// Location is a point on the earth in degrees.
type Location struct {
	Lat, Lon float64
}

// AS is the autonomous system an ASN database assigns an address to.
type AS struct {
	// Number is the AS number; HasNumber is false when the record lacks it.
	Number    uint32
	HasNumber bool
	// Organization is the AS organization's name ("" when unknown).
	Organization string
}

// Lookup returns what the databases hold for addr.
func (db *DB) Lookup(addr netip.Addr) Result {
	if !db.Enabled() {
		return Result{}
	}
	e := db.entry(addr)
	var r Result
	if e.geo != nil {
		r.Geo = e.geo.value
	}
	if e.as != nil {
		r.AS = e.as.value
	}
	return r
}

// entry returns the cached answer for addr, looking it up on a miss.
func (db *DB) entry(addr netip.Addr) *entry {
	sh := db.cache.shard(addr)
	if e := sh.get(addr); e != nil {
		return e
	}
	e := &entry{}
	if db.city != nil {
		if res := db.city.Lookup(addr); res.Found() {
			e.geo = sh.geoRecord(res)
		}
	}
	if db.asn != nil {
		if res := db.asn.Lookup(addr); res.Found() {
			e.as = sh.asRecord(res)
		}
	}
	if e.geo == nil && e.as == nil {
		e = noEntry
	}
	sh.put(addr, e)
	return e
}

// entry is the answer for one address: the records of both databases.
type entry struct {
	geo *geoRecord
	as  *asRecord
}

// noEntry is the answer for an address neither database holds.
var noEntry = &entry{}

// Field suffixes the records fill, in es-loader's order.
const (
	fCityName = iota
	fCountryISOCode
	fCountryName
	fLocation
	nGeoFields
)

const (
	fASNumber = iota
	fASOrganization
	nASFields
)

// geoSuffixes and asSuffixes are the paths, under the ECS object, of the
// fields a record fills.
var (
	geoSuffixes = [nGeoFields]string{"geo.city_name", "geo.country_iso_code", "geo.country_name", "geo.location"}
	asSuffixes  = [nASFields]string{"as.number", "as.organization.name"}
)

// geoRecord is one City record decoded, with its fields already encoded as
// JSON ("null" for the ones it lacks: es-loader sets them to None, which
// removes a value an earlier step set, and then drops them).
type geoRecord struct {
	value  *Geo
	fields [nGeoFields][]byte
}

// asRecord is one ASN record decoded and encoded likewise.
type asRecord struct {
	value  *AS
	fields [nASFields][]byte
}

// cityData is the part of a City record that is read.
type cityData struct {
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"country"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// asnData is the part of an ASN record that is read.
type asnData struct {
	Number       *uint32 `maxminddb:"autonomous_system_number"`
	Organization string  `maxminddb:"autonomous_system_organization"`
}

// decodeGeo decodes a City record. A record that does not decode counts
// as empty: its address is in the database, with nothing usable.
func decodeGeo(res maxminddb.Result) *geoRecord {
	var d cityData
	_ = res.Decode(&d)
	g := &Geo{CityName: d.City.Names.EN, CountryISOCode: d.Country.ISOCode, CountryName: d.Country.Names.EN}
	if lat, lon := d.Location.Latitude, d.Location.Longitude; lat != nil && lon != nil && finite(*lat) && finite(*lon) {
		g.Location = &Location{Lat: *lat, Lon: *lon}
	}
	r := &geoRecord{value: g}
	r.fields[fCityName] = encString(g.CityName)
	r.fields[fCountryISOCode] = encString(g.CountryISOCode)
	r.fields[fCountryName] = encString(g.CountryName)
	r.fields[fLocation] = null
	if g.Location != nil {
		b := append([]byte(nil), `{"lon":`...)
		b = appendPyFloat(b, g.Location.Lon)
		b = append(b, `,"lat":`...)
		b = appendPyFloat(b, g.Location.Lat)
		r.fields[fLocation] = append(b, '}')
	}
	return r
}

// decodeAS decodes an ASN record.
func decodeAS(res maxminddb.Result) *asRecord {
	var d asnData
	_ = res.Decode(&d)
	a := &AS{Organization: d.Organization}
	if d.Number != nil {
		a.Number, a.HasNumber = *d.Number, true
	}
	r := &asRecord{value: a}
	r.fields[fASNumber] = null
	if a.HasNumber {
		r.fields[fASNumber] = strconv.AppendUint(nil, uint64(a.Number), 10)
	}
	r.fields[fASOrganization] = encString(a.Organization)
	return r
}

var null = []byte("null")

// encString encodes s as a JSON string, or null when empty.
func encString(s string) []byte {
	if s == "" {
		return null
	}
	return normalize.AppendQuoted(nil, s)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// appendPyFloat writes a float the way Python's json module does: the
// shortest text that reads back the same, with ".0" on whole numbers.
func appendPyFloat(b []byte, f float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	for _, c := range b[start:] {
		if c == '.' || c == 'e' {
			return b
		}
	}
	return append(b, '.', '0')
}
