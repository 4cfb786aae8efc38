package normalize

import (
	"math/rand/v2"
	"strconv"
	"strings"
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

// TestPyFloatAsIs checks the shortcut against the full conversion: every
// decimal it takes as it is must be what Python's repr writes for it.
func TestPyFloatAsIs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		b := make([]byte, n)
		for k := range b {
			b[k] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	cases := []string{"8.0", "0.0", "-0.0", "0.0001", "0.00001", "1.10", "01.5", "123456789012345.0",
		"1234567890123456.0", "0.1", "2.5", "-35.6895", "1e5", "1.5e3", "12", "0.000123456789012345"}
	for range 200000 {
		s := digits(1+rng.IntN(17)) + "." + digits(1+rng.IntN(17))
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		cases = append(cases, s, "0."+strings.Repeat("0", rng.IntN(6))+digits(1+rng.IntN(16)))
	}
	took := 0
	for _, c := range cases {
		if !pyFloatAsIs([]byte(c)) {
			continue
		}
		took++
		f, err := strconv.ParseFloat(c, 64)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if got := string(AppendPythonFloat(nil, f)); got != c {
			t.Fatalf("%s is taken as it is, but Python writes %s", c, got)
		}
	}
	if took < len(cases)/10 {
		t.Fatalf("only %d of %d cases taken as they are", took, len(cases))
	}
}
