package normalize

import (
	"testing"
	"unicode/utf8"
)

func TestAppendPythonJSON(t *testing.T) {
	for _, tc := range pyJSONCases {
		got, err := AppendPythonJSON(nil, []byte(tc.in))
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if string(got) != tc.want {
			t.Errorf("in  %q\ngot  %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestAppendPythonJSONRejectsGarbage(t *testing.T) {
	for _, in := range []string{`{"a":tru}`, `{"a":"x`, `{"a":"\q"}`, `@`} {
		if _, err := AppendPythonJSON(nil, []byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func FuzzAppendPythonJSON(f *testing.F) {
	for _, tc := range pyJSONCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = AppendPythonJSON(nil, in)
	})
}

// The scanner's @message must be AppendPythonJSON's text as a JSON string.
func TestScanMessageMatchesPythonJSON(t *testing.T) {
	for _, tc := range pyJSONCases {
		checkScanMessage(t, []byte(tc.in))
	}
}

func checkScanMessage(t *testing.T, raw []byte) {
	t.Helper()
	plain, err := AppendPythonJSON(nil, raw)
	if err != nil {
		return
	}
	var sc scanner
	plan := &typePlan{index: map[string]int32{}}
	plan.prefixes = append(plan.prefixes, prefixNode{parent: -1})
	py, err := sc.scan(raw, plan, nil, true)
	if err != nil {
		return // not an object: the scanner only takes records
	}
	if want := AppendQuoted(nil, string(plain)); string(py) != string(want) {
		t.Errorf("in %q\nscan %s\nwant %s", raw, py, want)
	}
}

func FuzzScanMessage(f *testing.F) {
	for _, tc := range pyJSONCases {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(`{"a":"\u00e9\ud83d\ude00","b":[1.50,-0,1e2,{"c":null}],"d":"x\ty"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !utf8.Valid(raw) {
			return // the scanner replaces invalid UTF-8; Python would fail
		}
		checkScanMessage(t, raw)
	})
}
