package sigma

import (
	"regexp"
	"testing"
)

func TestRequiredLiteral(t *testing.T) {
	for _, tc := range []struct {
		expr string
		lit  string
		fold bool
	}{
		{expr: `.+:assumed-role/aws:.+`, lit: ":assumed-role/aws:"},
		{expr: `(?i).+:Assumed-Role/AWS:.+`, lit: ":assumed-role/aws:", fold: true},
		{expr: `(?i)^[0-9]+-12$`, lit: "-12"},
		{expr: `^abc(def)ghi[0-9]`, lit: "abcdefghi"},
		{expr: `x(?i:ab)cd`, lit: "xabcd", fold: true},
		{expr: `a|b`},
		{expr: `(abc)?x`, lit: "x"},
		{expr: `(?:abcd)+`, lit: "abcd"},
		{expr: `(?:abcd){2,3}e`, lit: "abcdabcd"},
		{expr: `(?:abcd)*`},
		{expr: `.*`},
		{expr: `(?i)straße`}, // fold with a non-ASCII rune: not used
		{expr: "a\uFFFDb"},   // U+FFFD matches any invalid byte: not used
		{expr: `[ab]cde`, lit: "cde"},
	} {
		lit, fold := requiredLiteral(tc.expr)
		if lit != tc.lit || fold != tc.fold {
			t.Errorf("requiredLiteral(%q) = %q, %v; want %q, %v", tc.expr, lit, fold, tc.lit, tc.fold)
		}
	}
}

// reInputs are values the prefilter must not misjudge: case variants,
// the runes that fold to ASCII letters, invalid UTF-8.
var reInputs = []string{
	"", "x", "arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/i-0abc",
	"arn:aws:sts::123456789012:assumed-role/Admin/github", "ARN:AWS:STS::1:ASSUMED-ROLE/AWS:X",
	"arn:aws:sts::1:assumed-role/aws:", ":assumed-role/aws:", "x:assumed-role/aws:y",
	"\u212a", "\u017f", "\u212aelvin", "KELVIN", "stra\u00dfe", "STRASSE", "a\xffb", "a\uFFFDb",
	"abcdefghi0", "ABCDEFGHI0", "xABcd", "xabCD", "abcdabcde", "cde", "1-12", "12-12", "\u0130", "i",
}

var reExprs = []string{
	`.+:assumed-role/aws:.+`, `(?i).+:Assumed-Role/AWS:.+`, `(?i)^[0-9]+-12$`, `^abc(def)ghi[0-9]`,
	`x(?i:ab)cd`, `(?i)x(?:ab)cd`, `a|b`, `(abc)?x`, `(?:abcd){2,3}e`, `(?i)k`, `(?i)kelvin`, `(?i)s`,
	`(?i)straße`, "a\uFFFDb", `(?s)a.b`, `(?m)^cde$`, `(?i)I`, `[ab]cde`,
}

func TestReMatcherPrefilter(t *testing.T) {
	for _, expr := range reExprs {
		m, err := newReMatcher(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		re := regexp.MustCompile(expr)
		for _, s := range reInputs {
			if got, want := m.matchValue(s, nil), re.MatchString(s); got != want {
				t.Errorf("expression %q (literal %q, fold %v) on %q: %v, want %v", expr, m.lit, m.fold, s, got, want)
			}
		}
	}
}

// FuzzReMatcher checks that the literal prefilter never changes what an
// expression matches.
func FuzzReMatcher(f *testing.F) {
	for _, e := range reExprs {
		for _, s := range reInputs[:6] {
			f.Add(e, s)
		}
	}
	f.Fuzz(func(t *testing.T, expr, s string) {
		m, err := newReMatcher(expr)
		if err != nil {
			return
		}
		if got, want := m.matchValue(s, nil), m.re.MatchString(s); got != want {
			t.Errorf("expression %q (literal %q, fold %v) on %q: %v, want %v", expr, m.lit, m.fold, s, got, want)
		}
	})
}
