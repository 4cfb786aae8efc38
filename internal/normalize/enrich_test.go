package normalize_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/normalize"
)

// enrichINI has a type whose source.ip comes from the ECS mapping and whose
// transform may move it, and a type without geoip.
const enrichINI = `
[t-geo]
s3_key = vigiltest-geo/
file_format = json
index_name = log-geo
timestamp_key = time
ecs = source.ip
source.ip = addr
script_ecs = source.ip
geoip = source destination

[t-nogeo]
s3_key = vigiltest-nogeo/
file_format = json
index_name = log-nogeo
timestamp_key = time
`

// fakeEnricher sets <object>.geo.country_name to "seen <ip>" and counts
// Prepare calls and the kinds it read.
type fakeEnricher struct {
	prepared atomic.Int32
}

func (f *fakeEnricher) Prepare(t *logtype.Type) (func(d *normalize.Doc) error, []string) {
	f.prepared.Add(1)
	if len(t.GeoIP) == 0 {
		return nil, nil
	}
	var paths []string
	for _, o := range t.GeoIP {
		paths = append(paths, o+".ip")
	}
	return func(d *normalize.Doc) error {
		for _, o := range t.GeoIP {
			v, k := d.Value(o + ".ip")
			switch k {
			case normalize.KindString:
				d.ECS.SetString(o+".geo.country_name", "seen "+string(v))
			case normalize.KindMissing, normalize.KindNull:
			default:
				d.ECS.SetString(o+".geo.kind", string(rune(k)))
			}
		}
		return nil
	}, paths
}

func TestEnricherHook(t *testing.T) {
	reg, err := logtype.LoadFrom(logtype.NamedReader{Name: "enrich.ini", R: strings.NewReader(enrichINI)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		typ    string
		raw    string
		script normalize.ScriptFunc
		want   map[string]string // dotted path -> value ("" = absent)
	}{
		{name: "mapped address", typ: "t-geo", raw: `{"time":"2024-01-02T03:04:05Z","addr":"192.0.2.7"}`,
			want: map[string]string{"source.ip": "192.0.2.7", "source.geo.country_name": "seen 192.0.2.7", "destination.geo.country_name": ""}},
		{name: "address already in the record", typ: "t-geo", raw: `{"time":"2024-01-02T03:04:05Z","destination":{"ip":"198.51.100.1","port":80}}`,
			want: map[string]string{"destination.geo.country_name": "seen 198.51.100.1", "destination.port": "80", "source.geo.country_name": ""}},
		{name: "escaped record string", typ: "t-geo", raw: `{"time":"2024-01-02T03:04:05Z","destination":{"ip":"198.51.100.\u0032"}}`,
			want: map[string]string{"destination.geo.country_name": "seen 198.51.100.2"}},
		{name: "the transform's value wins", typ: "t-geo", raw: `{"time":"2024-01-02T03:04:05Z","addr":"192.0.2.7","source":{"ip":"203.0.113.9"}}`,
			script: func(d *normalize.Doc) error { d.ECS.SetString("source.ip", "203.0.113.10"); return nil },
			want:   map[string]string{"source.ip": "203.0.113.10", "source.geo.country_name": "seen 203.0.113.10"}},
		{name: "the transform swapped the objects", typ: "t-geo", raw: `{"time":"2024-01-02T03:04:05Z","addr":"192.0.2.7"}`,
			script: func(d *normalize.Doc) error { d.ECS.Swap("source", "destination"); return nil },
			want:   map[string]string{"destination.ip": "192.0.2.7", "destination.geo.country_name": "seen 192.0.2.7", "source.geo.country_name": ""}},
		{name: "deleted by the transform", typ: "t-geo", raw: `{"time":"2024-01-02T03:04:05Z","source":{"ip":"203.0.113.9"}}`,
			script: func(d *normalize.Doc) error { d.ECS.Delete("source.ip"); return nil },
			want:   map[string]string{"source.ip": "", "source.geo.country_name": ""}},
		{name: "object replaced by a value", typ: "t-geo", raw: `{"time":"2024-01-02T03:04:05Z","source":{"ip":"203.0.113.9"}}`,
			script: func(d *normalize.Doc) error { d.ECS.SetString("source", "x"); return nil },
			want:   map[string]string{"source": "x", "source.geo.country_name": ""}},
		{name: "not a string", typ: "t-geo", raw: `{"time":"2024-01-02T03:04:05Z","destination":{"ip":["192.0.2.1"]}}`,
			want: map[string]string{"destination.geo.kind": "[", "destination.geo.country_name": ""}},
		{name: "type without geoip", typ: "t-nogeo", raw: `{"time":"2024-01-02T03:04:05Z","source":{"ip":"203.0.113.9"}}`,
			want: map[string]string{"source.ip": "203.0.113.9", "source.geo.country_name": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fe := &fakeEnricher{}
			scripts := map[string]normalize.Script{}
			if tc.script != nil {
				scripts[tc.typ] = tc.script
			}
			n := normalize.New(scripts, fixedNow, normalize.WithEnrichers(fe, nil))
			ty := typ(t, reg, tc.typ)
			for range 2 { // the second record runs on the prepared plan
				out, _, err := n.Normalize(nil, normalize.Input{Type: ty, Origin: &event.Origin{Key: "k"}, RawJSON: []byte(tc.raw)})
				if err != nil {
					t.Fatal(err)
				}
				var doc map[string]any
				if err := json.Unmarshal(out, &doc); err != nil {
					t.Fatalf("%s: %v", out, err)
				}
				for path, want := range tc.want {
					if got := dig(doc, path); got != want {
						t.Errorf("%s = %q, want %q in %s", path, got, want, out)
					}
				}
			}
			if got := fe.prepared.Load(); got != 1 {
				t.Errorf("Prepare called %d times for one type, want 1", got)
			}
		})
	}
}

// dig returns the text of the value at a dotted path, "" when absent.
func dig(doc map[string]any, path string) string {
	var v any = doc
	for seg := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		if v, ok = m[seg]; !ok {
			return ""
		}
	}
	switch x := v.(type) {
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func TestEnricherError(t *testing.T) {
	reg, err := logtype.LoadFrom(logtype.NamedReader{Name: "enrich.ini", R: strings.NewReader(enrichINI)})
	if err != nil {
		t.Fatal(err)
	}
	e := enricherFunc(func(*normalize.Doc) error { return errBoom })
	n := normalize.New(nil, fixedNow, normalize.WithEnrichers(e))
	_, _, err = n.Normalize(nil, normalize.Input{Type: typ(t, reg, "t-geo"), Origin: &event.Origin{Key: "k"},
		RawJSON: []byte(`{"time":"2024-01-02T03:04:05Z"}`)})
	if err == nil || !strings.Contains(err.Error(), "t-geo enrichment: boom") {
		t.Fatalf("error %v, want the type and the enricher's error", err)
	}
}

type enricherFunc func(*normalize.Doc) error

func (f enricherFunc) Prepare(*logtype.Type) (func(*normalize.Doc) error, []string) {
	return f, nil
}

type boomError struct{}

func (boomError) Error() string { return "boom" }

var errBoom error = boomError{}
