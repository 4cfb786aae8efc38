package normalize

import "testing"

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

func TestAppendPythonJSONString(t *testing.T) {
	for _, tc := range pyJSONCases {
		plain, err := AppendPythonJSON(nil, []byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendPythonJSONString(nil, []byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if want := AppendQuoted(nil, string(plain)); string(got) != string(want) {
			t.Errorf("in %q\ngot  %s\nwant %s", tc.in, got, want)
		}
	}
}
