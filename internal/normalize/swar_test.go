package normalize

import "testing"

func TestPlainRun(t *testing.T) {
	for _, tc := range []struct {
		in       string
		from     int
		stopHigh bool
		want     int
	}{
		{in: "", want: 0},
		{in: "abcdefghijklmnop", want: 16},
		{in: `abcdefghij"klmnop`, want: 10},
		{in: `abc\def`, want: 3},
		{in: "abcdefgh\x01", want: 8},
		{in: "abcdéfgh", want: 9},
		{in: "abcdéfgh", stopHigh: true, want: 4},
		{in: `"abcdefghijklmnop"`, from: 1, want: 17},
		{in: "0123456789abcdef\x7f", want: 17},
		// Past the first word, sixteen bytes at a time on amd64.
		{in: "0123456789abcdefghijklmnopqrstuvwxyz0123456789", stopHigh: true, want: 46},
		{in: "0123456789abcdefghijklmnopqrstuv\"wxyz", stopHigh: true, want: 32},
		{in: "0123456789abcdefghijklmnopqrstu\\vwxyz", stopHigh: true, want: 31},
		{in: "0123456789abcdefghijklmnopqrstuvwxyz\x1f", stopHigh: true, want: 36},
		{in: "0123456789abcdefghijklmnopqrstuvwx\x80yz", stopHigh: true, want: 34},
		{in: "0123456789abcdefghijklmnopqrstuvwx\xffyz", stopHigh: true, want: 34},
		{in: "0123456789abcdefghijklmnopqrstuvwx\x7fyz", stopHigh: true, want: 37},
		{in: "0123456789abcdefghijklmnopqrstuvwx\x20yz", stopHigh: true, want: 37},
		{in: "01234567\"9abcdefghijklmnopqrstuvwxyz", from: 9, stopHigh: true, want: 36},
	} {
		if got := plainRun(tc.in, tc.from, tc.stopHigh); got != tc.want {
			t.Errorf("plainRun(%q, %d, %v) = %d, want %d", tc.in, tc.from, tc.stopHigh, got, tc.want)
		}
		if got := plainRun([]byte(tc.in), tc.from, tc.stopHigh); got != tc.want {
			t.Errorf("plainRun([]byte(%q)) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func FuzzPlainRun(f *testing.F) {
	f.Add("abc\"def\\ghi\x00é")
	f.Fuzz(func(t *testing.T, s string) {
		for _, high := range []bool{false, true} {
			want := len(s)
			for i := 0; i < len(s); i++ {
				c := s[i]
				if c == '"' || c == '\\' || c < 0x20 || (high && c >= 0x80) {
					want = i
					break
				}
			}
			if got := plainRun(s, 0, high); got != want {
				t.Fatalf("plainRun(%q, %v) = %d, want %d", s, high, got, want)
			}
			// From a later start, as strings are scanned inside records.
			if len(s) > 3 && want >= 3 {
				if got := plainRun(s, 3, high); got != want {
					t.Fatalf("plainRun(%q, 3, %v) = %d, want %d", s, high, got, want)
				}
			}
		}
	})
}
