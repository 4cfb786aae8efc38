package normalize

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestIsIPv4 checks the fast dotted-quad test against net/netip on random
// strings of digits and dots and on hand-picked cases.
func TestIsIPv4(t *testing.T) {
	cases := []string{"1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "0.0.0.0", "1.2.3", "1.2.3.4.5",
		"1.2.3.04", "1..2.3", ".1.2.3", "1.2.3.", "1234.1.1.1", "10.0.15.18", "::1", "1.2.3.4 ", ""}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300000 {
		b := make([]byte, 1+rng.IntN(16))
		for k := range b {
			if rng.IntN(4) == 0 {
				b[k] = '.'
			} else {
				b[k] = byte('0' + rng.IntN(10))
			}
		}
		cases = append(cases, string(b))
	}
	valid := 0
	for _, c := range cases {
		a, err := netip.ParseAddr(c)
		want := err == nil && a.Is4()
		if got := isIPv4([]byte(c)); got != want {
			t.Fatalf("isIPv4(%q) = %v, netip says %v", c, got, want)
		}
		if want {
			valid++
		}
	}
	if valid < 100 {
		t.Fatalf("only %d valid addresses among the cases", valid)
	}
}
