package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parse(t *testing.T, name, text string) *INI {
	t.Helper()
	f, err := ParseINI(name, strings.NewReader(text))
	if err != nil {
		t.Fatalf("ParseINI(%s): %v", name, err)
	}
	return f
}

func TestParseINIValues(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		section string
		key     string
		want    string
		found   bool
	}{
		{name: "equals", text: "[s]\nk = v\n", section: "s", key: "k", want: "v", found: true},
		{name: "colon", text: "[s]\nk: v\n", section: "s", key: "k", want: "v", found: true},
		{name: "first delimiter wins", text: "[s]\na:b = c\n", section: "s", key: "a", want: "b = c", found: true},
		{name: "case sensitive miss", text: "[s]\nKey = v\n", section: "s", key: "key"},
		{name: "case sensitive hit", text: "[s]\nKey = v\n", section: "s", key: "Key", want: "v", found: true},
		{name: "quotes kept", text: "[s]\nk = \"v\"\n", section: "s", key: "k", want: `"v"`, found: true},
		{name: "inline comment kept", text: "[s]\nk = v # c ; d\n", section: "s", key: "k", want: "v # c ; d", found: true},
		{name: "key with spaces", text: "[s]\nDuration (us) = x\n", section: "s", key: "Duration (us)", want: "x", found: true},
		{name: "empty value", text: "[s]\nk =\n", section: "s", key: "k", want: "", found: true},
		{name: "continuation", text: "[s]\nk = a\n  b\n\tc\n", section: "s", key: "k", want: "a\nb\nc", found: true},
		{name: "continuation relative to key indent", text: "[s]\n  k = a\n  j = b\n", section: "s", key: "k", want: "a", found: true},
		{name: "deeper than indented key", text: "[s]\n  k = a\n   b\n", section: "s", key: "k", want: "a\nb", found: true},
		{name: "blank line inside value", text: "[s]\nk = a\n\n  b\n", section: "s", key: "k", want: "a\n\nb", found: true},
		{name: "trailing blank lines dropped", text: "[s]\nk = a\n  b\n\n\nj = c\n", section: "s", key: "k", want: "a\nb", found: true},
		{name: "comment inside value skipped", text: "[s]\nk = a\n# c\n  b\n", section: "s", key: "k", want: "a\nb", found: true},
		{name: "indented comment", text: "[s]\nk = a\n   ; c\n", section: "s", key: "k", want: "a", found: true},
		{name: "empty first line", text: "[s]\nk =\n  a\n  b\n", section: "s", key: "k", want: "\na\nb", found: true},
		{name: "crlf", text: "[s]\r\nk = a\r\n  b\r\n", section: "s", key: "k", want: "a\nb", found: true},
		{name: "bom", text: "\ufeff[s]\nk = v\n", section: "s", key: "k", want: "v", found: true},
		{name: "permissive header", text: "[a]b]\nk = v\n", section: "a]b", key: "k", want: "v", found: true},
		{name: "default inherited", text: "[DEFAULT]\nk = d\n[s]\nj = 1\n", section: "s", key: "k", want: "d", found: true},
		{name: "default overridden", text: "[DEFAULT]\nk = d\n[s]\nk = own\n", section: "s", key: "k", want: "own", found: true},
		{name: "default readable", text: "[DEFAULT]\nk = d\n", section: "DEFAULT", key: "k", want: "d", found: true},
		{name: "no section", text: "[s]\n", section: "t", key: "k"},
		{name: "same section ref", text: "[s]\na = x\nb = <${a}>\n", section: "s", key: "b", want: "<x>", found: true},
		{name: "default ref late bound", text: "[DEFAULT]\nb = ${a}!\n[s]\na = x\n", section: "s", key: "b", want: "x!", found: true},
		{name: "other section ref", text: "[o]\na = x\n[s]\nb = ${o:a}\n", section: "s", key: "b", want: "x", found: true},
		{name: "ref resolves in its own section", text: "[o]\na = ${c}\nc = oc\n[s]\nc = sc\nb = ${o:a}\n", section: "s", key: "b", want: "oc", found: true},
		{name: "ref to default section", text: "[DEFAULT]\na = x\n[s]\nb = ${DEFAULT:a}\n", section: "s", key: "b", want: "x", found: true},
		{name: "dollar escape", text: "[s]\nk = a$$b$$\n", section: "s", key: "k", want: "a$b$", found: true},
		{name: "escaped dollar not re-read", text: "[s]\na = $${x}\nb = ${a}\n", section: "s", key: "b", want: "${x}", found: true},
		{name: "depth ten ok", text: "[s]\nk1 = ${k2}\nk2 = ${k3}\nk3 = ${k4}\nk4 = ${k5}\nk5 = ${k6}\nk6 = ${k7}\nk7 = ${k8}\nk8 = ${k9}\nk9 = ${k10}\nk10 = ${k11}\nk11 = end\n", section: "s", key: "k1", want: "end", found: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, "t.ini", tc.text)
			got, found, err := f.Get(tc.section, tc.key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got != tc.want || found != tc.found {
				t.Errorf("Get(%q, %q) = %q, %v; want %q, %v", tc.section, tc.key, got, found, tc.want, tc.found)
			}
		})
	}
}

func TestParseINIErrors(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		wantLine int
		want     string
	}{
		{name: "key before section", text: "# c\nk = v\n", wantLine: 2, want: "before any section"},
		{name: "garbage line", text: "[s]\nk = v\njunk\n", wantLine: 3, want: "neither a section"},
		{name: "empty header", text: "[s]\n[]\n", wantLine: 2, want: "neither a section"},
		{name: "duplicate section", text: "[s]\n[t]\n[s]\n", wantLine: 3, want: `section "s" already exists`},
		{name: "duplicate key", text: "[s]\nk = 1\nj = 2\nk = 3\n", wantLine: 4, want: `key "k" already exists in section [s]`},
		{name: "duplicate default key", text: "[DEFAULT]\nk = 1\n[s]\n[DEFAULT]\nk = 2\n", wantLine: 5, want: `key "k" already exists`},
		{name: "empty key", text: "[s]\n= v\n", wantLine: 2, want: "empty key"},
		{name: "invalid utf8", text: "[s]\nk = \xff\n", wantLine: 1, want: "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseINI("bad.ini", strings.NewReader(tc.text))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.File != "bad.ini" || se.Line != tc.wantLine || !strings.Contains(se.Reason, tc.want) {
				t.Errorf("error = %v; want bad.ini:%d with %q", err, tc.wantLine, tc.want)
			}
		})
	}
}

func TestParseINIReportsEveryBadLine(t *testing.T) {
	_, err := ParseINI("bad.ini", strings.NewReader("[s]\nbad one\nk = v\nbad two\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.ini:2:") || !strings.Contains(err.Error(), "bad.ini:4:") {
		t.Errorf("error = %v; want both bad lines", err)
	}
}

func TestDuplicatesAcrossFilesAllowed(t *testing.T) {
	f := parse(t, "a.ini", "[s]\nk = 1\n")
	f.Merge(parse(t, "b.ini", "[s]\nk = 2\n"))
	if v, _, _ := f.Get("s", "k"); v != "2" {
		t.Errorf("k = %q, want 2", v)
	}
}

func TestInterpolationErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		key  string
		want []string
	}{
		{name: "missing key", text: "[s]\nk = ${nope}\n", key: "k", want: []string{"t.ini:2:", "[s] k", "${nope}"}},
		{name: "missing section", text: "[s]\nk = ${x:y}\n", key: "k", want: []string{"[s] k", "${x:y}"}},
		{name: "two colons", text: "[s]\nk = ${a:b:c}\n", key: "k", want: []string{"more than one ':'"}},
		{name: "lone dollar", text: "[s]\nk = 5$\n", key: "k", want: []string{"'$' must be followed"}},
		{name: "dollar letter", text: "[s]\nk = $x\n", key: "k", want: []string{"'$' must be followed"}},
		{name: "unclosed", text: "[s]\nk = ${abc\n", key: "k", want: []string{"bad interpolation reference"}},
		{name: "empty ref", text: "[s]\nk = ${}\n", key: "k", want: []string{"bad interpolation reference"}},
		{name: "self cycle", text: "[s]\nk = ${k}\n", key: "k", want: []string{"[s] k", "deeper than 10"}},
		{name: "too deep", text: "[s]\nk1 = ${k2}\nk2 = ${k3}\nk3 = ${k4}\nk4 = ${k5}\nk5 = ${k6}\nk6 = ${k7}\nk7 = ${k8}\nk8 = ${k9}\nk9 = ${k10}\nk10 = ${k11}\nk11 = ${k12}\nk12 = end\n", key: "k1", want: []string{"deeper than 10"}},
		{name: "nested missing names the top key", text: "[o]\na = ${gone}\n[s]\nk = ${o:a}\n", key: "k", want: []string{"t.ini:4:", "[s] k", "${gone}", "seen from [o]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, "t.ini", tc.text)
			_, found, err := f.Get("s", tc.key)
			var ie *InterpolationError
			if !found || !errors.As(err, &ie) {
				t.Fatalf("Get = found %v, err %v; want *InterpolationError", found, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMergeAndOrder(t *testing.T) {
	f := parse(t, "aws.ini", "[DEFAULT]\nd1 = a\nd2 = b\n[one]\nx = 1\ny = 2\n[two]\nz = 3\n")
	f.Merge(parse(t, "user.ini", "[DEFAULT]\nd2 = B\nd3 = c\n[three]\nw = 4\n[one]\nq = 9\nx = 10\n"))

	if got, want := f.Sections(), []string{"one", "two", "three"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sections() = %v, want %v", got, want)
	}
	tests := []struct {
		name    string
		section string
		want    []string
	}{
		{name: "own then defaults, override keeps position", section: "one", want: []string{"x", "y", "q", "d1", "d2", "d3"}},
		{name: "defaults only", section: "DEFAULT", want: []string{"d1", "d2", "d3"}},
		{name: "unknown", section: "nope", want: nil},
		{name: "default key overridden in section", section: "two", want: []string{"z", "d1", "d2", "d3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.Keys(tc.section); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Keys(%q) = %v, want %v", tc.section, got, tc.want)
			}
		})
	}
	if v, _, _ := f.Get("one", "x"); v != "10" {
		t.Errorf("one.x = %q", v)
	}
	if v, _, _ := f.Get("two", "d2"); v != "B" {
		t.Errorf("two.d2 = %q, want the user DEFAULT", v)
	}
	if file, line, ok := f.Origin("one", "x"); !ok || file != "user.ini" || line != 8 {
		t.Errorf("Origin(one, x) = %s:%d %v", file, line, ok)
	}
	if file, line, _ := f.Origin("one", "d1"); file != "aws.ini" || line != 2 {
		t.Errorf("Origin(one, d1) = %s:%d", file, line)
	}
	if !f.HasSection("DEFAULT") || !f.HasSection("three") || f.HasSection("four") {
		t.Error("HasSection wrong")
	}
	if raw, _ := f.GetRaw("one", "d1"); raw != "a" {
		t.Errorf("GetRaw = %q", raw)
	}
}

func TestReadINIFiles(t *testing.T) {
	f, err := ReadINIFiles("testdata/basic.ini", "testdata/multiline.ini")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		section, key, want string
	}{
		{section: "first", key: "greeting", want: "hello world"},
		{section: "second", key: "name", want: "world!"},
		{section: "second", key: "greeting", want: "hello world!"},
		{section: "second", key: "price", want: "$5"},
		{section: "first", key: "Key", want: "Value with: colons = and equals"},
		{section: "first", key: "inline", want: "value # not a comment"},
		{section: "list", key: "ecs", want: "a\nb\n\nc"},
		{section: "list", key: "pattern", want: "start(\nmiddle\n)end"},
		{section: "empty", key: "other", want: ""},
	}
	for _, tc := range tests {
		got, found, err := f.Get(tc.section, tc.key)
		if err != nil || !found || got != tc.want {
			t.Errorf("Get(%s, %s) = %q, %v, %v; want %q", tc.section, tc.key, got, found, err, tc.want)
		}
	}
	if _, err := ReadINIFiles("testdata/missing.ini"); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzParseINI(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.ini")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("[s]\nk = ${k}\n")
	f.Add("[s]\nk = a\n\n  b\n# c\n  d\n")
	f.Fuzz(func(t *testing.T, text string) {
		ini, err := ParseINI("fuzz.ini", strings.NewReader(text))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.ini:") {
				t.Errorf("error without location: %v", err)
			}
			return
		}
		for _, s := range append(ini.Sections(), DefaultSection) {
			for _, k := range ini.Keys(s) {
				v, found, err := ini.Get(s, k)
				if !found {
					t.Errorf("key %q of [%s] listed but not found", k, s)
				}
				if err == nil && !strings.Contains(text, "$") && v != mustRaw(ini, s, k) {
					t.Errorf("value changed without '$': %q", v)
				}
			}
		}
		// Layering a file on itself changes nothing.
		again, _ := ParseINI("fuzz.ini", strings.NewReader(text))
		ini.Merge(again)
		if !reflect.DeepEqual(ini.Sections(), again.Sections()) {
			t.Errorf("self merge changed sections")
		}
	})
}

func mustRaw(f *INI, s, k string) string {
	v, _ := f.GetRaw(s, k)
	return v
}
