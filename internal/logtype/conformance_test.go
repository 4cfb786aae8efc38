//go:build conformance

package logtype

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/vigil-siem/vigil/internal/config"
)

// sharedDir returns the shared folder: $VIGIL_SHARED, else ../shared next to
// the repository root (three levels up from this package).
func sharedDir() string {
	if d := os.Getenv("VIGIL_SHARED"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared")
}

// comparable is the part of a Type that decides behaviour, with compiled
// expressions replaced by their source text.
func comparableType(t *Type) Type {
	c := *t
	c.S3Key, c.S3KeyIgnored, c.MultilineFirstline, c.XMLFirstline = nil, nil, nil, nil
	c.LogPattern, c.FileTimestampFormat = nil, nil
	c.IndexTZ, c.TimestampTZ = nil, nil
	c.Raw = nil
	return c
}

func reString(re *regexp.Regexp) string {
	if re == nil {
		return ""
	}
	return re.String()
}

// TestBuiltinConformsToAWSINI loads es-loader's aws.ini from the shared
// reference folder and checks that every log type behaves the same as the
// built-in definition: same sections in the same order, same detection of
// the sample keys, and every parsed and raw setting equal.
func TestBuiltinConformsToAWSINI(t *testing.T) {
	path := filepath.Join(sharedDir(), "reference", "es-loader", "aws.ini")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("conformance reference missing (set VIGIL_SHARED): %v", err)
	}
	ini, err := config.ReadINIFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := FromINI(ini)
	if err != nil {
		t.Fatalf("aws.ini does not load: %v", err)
	}
	ours, err := LoadFrom()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ref.Names(), ours.Names()) {
		t.Fatalf("section order differs:\naws.ini %v\nbuiltin %v", ref.Names(), ours.Names())
	}
	for _, tc := range builtinDetectCases {
		rt, rres := ref.Detect(tc.key)
		ot, ores := ours.Detect(tc.key)
		if rres != ores || rt == nil || ot == nil || rt.Name != ot.Name || rt.Name != tc.name {
			t.Errorf("Detect(%q): aws.ini %v %v, builtin %v %v, want %s", tc.key, rt, rres, ot, ores, tc.name)
		}
	}
	for _, name := range ref.Names() {
		rt, _ := ref.Get(name)
		ot, _ := ours.Get(name)
		t.Run(name, func(t *testing.T) {
			if rt.IndexName != ot.IndexName {
				t.Errorf("index_name: aws.ini %q, builtin %q", rt.IndexName, ot.IndexName)
			}
			if !reflect.DeepEqual(rt.ECS, ot.ECS) {
				t.Errorf("ECS mapping differs:\naws.ini %+v\nbuiltin %+v", rt.ECS, ot.ECS)
			}
			for _, p := range []struct {
				key  string
				a, b *regexp.Regexp
			}{
				{"s3_key", rt.S3Key, ot.S3Key},
				{"s3_key_ignored", rt.S3KeyIgnored, ot.S3KeyIgnored},
				{"multiline_firstline", rt.MultilineFirstline, ot.MultilineFirstline},
				{"xml_firstline", rt.XMLFirstline, ot.XMLFirstline},
				{"log_pattern", rt.LogPattern, ot.LogPattern},
				{"file_timestamp_format", rt.FileTimestampFormat, ot.FileTimestampFormat},
			} {
				if reString(p.a) != reString(p.b) {
					t.Errorf("%s: aws.ini %q, builtin %q", p.key, reString(p.a), reString(p.b))
				}
			}
			if rt.IndexTZ.String() != ot.IndexTZ.String() || rt.TimestampTZ.String() != ot.TimestampTZ.String() {
				t.Errorf("zones differ: %v/%v vs %v/%v", rt.IndexTZ, rt.TimestampTZ, ot.IndexTZ, ot.TimestampTZ)
			}
			if a, b := comparableType(rt), comparableType(ot); !reflect.DeepEqual(a, b) {
				t.Errorf("parsed settings differ:\naws.ini %+v\nbuiltin %+v", a, b)
			}
			if !reflect.DeepEqual(rt.Raw, ot.Raw) {
				for k, v := range rt.Raw {
					if ot.Raw[k] != v {
						t.Errorf("raw %s: aws.ini %q, builtin %q", k, v, ot.Raw[k])
					}
				}
				for k := range ot.Raw {
					if _, ok := rt.Raw[k]; !ok {
						t.Errorf("raw %s only in builtin", k)
					}
				}
			}
		})
	}
	// User overrides through references must reach the same sections.
	for _, key := range ini.Keys(config.DefaultSection) {
		rv, _ := ref.Default(key)
		ov, _ := ours.Default(key)
		if rv != ov {
			t.Errorf("DEFAULT %s: aws.ini %q, builtin %q", key, rv, ov)
		}
	}
}

// TestBuiltinReferencesMatchAWSINI checks that every "${...}" reference of
// aws.ini is kept in the built-in file, so that a user override of a
// referenced key propagates exactly as in es-loader.
func TestBuiltinReferencesMatchAWSINI(t *testing.T) {
	path := filepath.Join(sharedDir(), "reference", "es-loader", "aws.ini")
	ref, err := config.ReadINIFiles(path)
	if err != nil {
		t.Fatalf("conformance reference missing or unreadable (set VIGIL_SHARED): %v", err)
	}
	ours, err := config.ParseINI(BuiltinName, stringsReader(BuiltinINI()))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(ref.Sections(), config.DefaultSection) {
		for _, k := range ref.Keys(s) {
			a, _ := ref.GetRaw(s, k)
			b, ok := ours.GetRaw(s, k)
			if !ok || a != b {
				t.Errorf("[%s] %s: aws.ini raw %q, builtin raw %q", s, k, a, b)
			}
		}
	}
}
