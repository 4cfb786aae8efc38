package sigma

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// reMatcher matches the string form of a value with a regular expression.
//
// Most values a rule's expression is tried on do not match, and running
// the expression costs microseconds on a long value (an unanchored `.+x.+`
// backtracks from every position), so the matcher first looks for a
// literal that every match contains: no literal, no match.
type reMatcher struct {
	re *regexp.Regexp
	// lit is a literal every match contains; "" when the expression has
	// none worth looking for. When fold is set, lit is lowercase ASCII and
	// matches ignoring case (it comes from a case-insensitive part).
	lit  string
	fold bool
}

func newReMatcher(expr string) (*reMatcher, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	m := &reMatcher{re: re}
	m.lit, m.fold = requiredLiteral(expr)
	return m, nil
}

func (m *reMatcher) matchValue(v any, _ *evalCtx) bool {
	s, ok := valueString(v)
	if !ok {
		return false
	}
	if m.lit != "" {
		if !m.fold {
			if !strings.Contains(s, m.lit) {
				return false
			}
		} else if isASCII(s) && indexFoldASCII(s, m.lit) < 0 {
			// Only an ASCII value is decided here: case-insensitive
			// matching also pairs some ASCII letters with non-ASCII
			// runes (k with U+212A KELVIN SIGN, s with U+017F).
			return false
		}
	}
	return m.re.MatchString(s)
}

// requiredLiteral returns the longest literal that every match of the
// regular expression expr contains, and whether it is case-insensitive
// (then it is returned lowercased). It returns "" when it finds none it
// can vouch for: a literal holding U+FFFD (which matches any invalid byte
// of a value) or, case-insensitive, a non-ASCII rune.
func requiredLiteral(expr string) (string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl) // as regexp.Compile parses
	if err != nil {
		return "", false
	}
	var best reLit
	for _, l := range requiredLits(re.Simplify()) {
		if l.usable() && len(l.s) > len(best.s) {
			best = l
		}
	}
	if best.fold {
		return strings.ToLower(best.s), true
	}
	return best.s, false
}

// reLit is a literal a match must contain; fold: ignoring case.
type reLit struct {
	s    string
	fold bool
}

func (l reLit) usable() bool {
	if l.s == "" || strings.ContainsRune(l.s, utf8.RuneError) {
		return false
	}
	return !l.fold || isASCII(l.s)
}

// requiredLits returns literals every match of re contains.
func requiredLits(re *syntax.Regexp) []reLit {
	switch re.Op {
	case syntax.OpLiteral:
		l, _ := exactLit(re)
		return []reLit{l}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLits(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLits(re.Sub[0])
		}
	case syntax.OpConcat:
		// Adjacent literals join into one longer literal; a literal
		// that ignores case makes the joined one ignore case (a weaker
		// but still necessary condition).
		var out []reLit
		var run reLit
		flush := func() {
			if run.s != "" {
				out = append(out, run)
			}
			run = reLit{}
		}
		for _, sub := range re.Sub {
			if l, ok := exactLit(sub); ok {
				run.s += l.s
				run.fold = run.fold || l.fold
				continue
			}
			flush()
			out = append(out, requiredLits(sub)...)
		}
		flush()
		return out
	}
	return nil
}

// exactLit returns the literal re matches exactly (a literal, possibly
// in a group), or ok=false.
func exactLit(re *syntax.Regexp) (reLit, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		if fold && !hasCase(re.Rune) {
			fold = false // digits and punctuation match only themselves
		}
		return reLit{s: string(re.Rune), fold: fold}, true
	case syntax.OpCapture:
		return exactLit(re.Sub[0])
	}
	return reLit{}, false
}

// hasCase reports whether some rune of rs has other case forms.
func hasCase(rs []rune) bool {
	for _, r := range rs {
		if unicode.SimpleFold(r) != r {
			return true
		}
	}
	return false
}
