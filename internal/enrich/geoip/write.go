package geoip

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Network is a block of addresses with what a database says about it, for
// writing databases of one's own (the demo's, tests').
type Network struct {
	Prefix netip.Prefix
	// Geo goes into the City database; nil leaves the block out of it.
	Geo *Geo
	// AS goes into the ASN database; nil leaves the block out of it.
	AS *AS
}

// WriteOptions describe a database being written.
type WriteOptions struct {
	// Name names the databases: their types become <Name>-City and
	// <Name>-ASN (default Vigil; names starting with GeoIP are MaxMind's).
	Name string
	// Description says what it holds, in English.
	Description string
	// Built is the build time recorded in it (default: now). Set it for
	// output that is the same from run to run.
	Built time.Time
}

// WriteCity writes a City database, in the layout of MaxMind's City
// databases (English names only), holding the networks that have a Geo. A
// later network overrides an earlier one where they overlap.
func WriteCity(w io.Writer, nets []Network, o WriteOptions) error {
	return write(w, nets, o, "City", func(n Network) mmdbtype.DataType {
		if n.Geo == nil {
			return nil
		}
		return cityRecord(n.Geo)
	})
}

// WriteASN writes an ASN database, in the layout of MaxMind's ASN
// databases, holding the networks that have an AS.
func WriteASN(w io.Writer, nets []Network, o WriteOptions) error {
	return write(w, nets, o, "ASN", func(n Network) mmdbtype.DataType {
		if n.AS == nil {
			return nil
		}
		m := mmdbtype.Map{}
		if n.AS.HasNumber {
			m["autonomous_system_number"] = mmdbtype.Uint32(n.AS.Number)
		}
		if n.AS.Organization != "" {
			m["autonomous_system_organization"] = mmdbtype.String(n.AS.Organization)
		}
		return m
	})
}

// WriteFiles writes a City and an ASN database of nets to the given paths
// (creating their directories), each through a temporary file renamed into
// place so that a reader never sees half a database.
func WriteFiles(cityPath, asnPath string, nets []Network, o WriteOptions) error {
	for _, f := range []struct {
		path  string
		write func(io.Writer, []Network, WriteOptions) error
	}{{cityPath, WriteCity}, {asnPath, WriteASN}} {
		if err := writeFile(f.path, func(w io.Writer) error { return f.write(w, nets, o) }); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing GeoIP database %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing GeoIP database %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after the rename, there is nothing to remove
	bw := bufio.NewWriter(tmp)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing GeoIP database %s: %w", path, err)
	}
	return nil
}

// cityRecord is a Geo in the City layout; unknown fields are left out.
func cityRecord(g *Geo) mmdbtype.Map {
	m := mmdbtype.Map{}
	names := func(s string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(s)} }
	if g.CityName != "" {
		m["city"] = mmdbtype.Map{"names": names(g.CityName)}
	}
	if g.CountryISOCode != "" || g.CountryName != "" {
		c := mmdbtype.Map{}
		if g.CountryISOCode != "" {
			c["iso_code"] = mmdbtype.String(g.CountryISOCode)
		}
		if g.CountryName != "" {
			c["names"] = names(g.CountryName)
		}
		m["country"] = c
	}
	if g.Location != nil {
		m["location"] = mmdbtype.Map{"latitude": mmdbtype.Float64(g.Location.Lat), "longitude": mmdbtype.Float64(g.Location.Lon)}
	}
	return m
}

func write(w io.Writer, nets []Network, o WriteOptions, kind string, record func(Network) mmdbtype.DataType) error {
	name := o.Name
	if name == "" {
		name = "Vigil"
	}
	dbType := name + "-" + kind
	built := o.Built
	if built.IsZero() {
		built = time.Now()
	}
	opts := mmdbwriter.Options{DatabaseType: dbType, Languages: []string{"en"}, BuildEpoch: built.Unix(), RecordSize: 28}
	if o.Description != "" {
		opts.Description = map[string]string{"en": o.Description}
	}
	tree, err := mmdbwriter.New(opts)
	if err != nil {
		return fmt.Errorf("creating %s database: %w", dbType, err)
	}
	for _, n := range nets {
		rec := record(n)
		if rec == nil {
			continue
		}
		p := n.Prefix.Masked()
		if !p.IsValid() {
			return fmt.Errorf("writing %s database: invalid network %v", dbType, n.Prefix)
		}
		ipn := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
		if err := tree.Insert(ipn, rec); err != nil {
			return fmt.Errorf("writing %s database: network %v: %w", dbType, p, err)
		}
	}
	if _, err := tree.WriteTo(w); err != nil {
		return fmt.Errorf("writing %s database: %w", dbType, err)
	}
	return nil
}
