package sigma

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf16"
)

// maxWindashVariants bounds the permutations windash may create for one
// value (5 characters per dash: 5^5).
const maxWindashVariants = 3125

var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

type modSet struct {
	all, cased, re, cidr, exists, neq, fieldref, expand bool
	reFlags                                             string
	cmp                                                 string
	timePart                                            string
	transforms                                          []string
}

func parseModifiers(mods []string) (*modSet, error) {
	ms := &modSet{}
	for _, m := range mods {
		switch lm := strings.ToLower(m); lm {
		case "all":
			ms.all = true
		case "cased":
			ms.cased = true
		case "re":
			ms.re = true
		case "i", "m", "s":
			if !strings.Contains(ms.reFlags, lm) {
				ms.reFlags += lm
			}
		case "cidr":
			ms.cidr = true
		case "exists":
			ms.exists = true
		case "neq":
			ms.neq = true
		case "fieldref":
			ms.fieldref = true
		case "expand":
			ms.expand = true
		case "lt", "lte", "gt", "gte":
			if ms.cmp != "" {
				return nil, fmt.Errorf("modifiers %s and %s cannot be combined", ms.cmp, lm)
			}
			ms.cmp = lm
		case "minute", "hour", "day", "week", "month", "year":
			if ms.timePart != "" {
				return nil, fmt.Errorf("modifiers %s and %s cannot be combined", ms.timePart, lm)
			}
			ms.timePart = lm
		case "contains", "startswith", "endswith", "windash", "base64", "base64offset",
			"utf16le", "utf16be", "utf16", "wide":
			ms.transforms = append(ms.transforms, lm)
		case "":
			return nil, fmt.Errorf("empty modifier")
		default:
			return nil, fmt.Errorf("unknown modifier %q", m)
		}
	}
	if ms.reFlags != "" && !ms.re {
		return nil, fmt.Errorf("modifiers i, m and s need re")
	}
	typed := 0
	for _, b := range []bool{ms.re, ms.cidr, ms.exists, ms.fieldref, ms.cmp != "" || ms.timePart != ""} {
		if b {
			typed++
		}
	}
	if typed > 1 {
		return nil, fmt.Errorf("modifiers %s cannot be combined", strings.Join(mods, "|"))
	}
	if (ms.re || ms.cidr || ms.exists || ms.cmp != "" || ms.timePart != "") && len(ms.transforms) > 0 {
		return nil, fmt.Errorf("modifier %s cannot be combined with %s", ms.transforms[0], strings.Join(mods, "|"))
	}
	if ms.fieldref {
		for _, t := range ms.transforms {
			if t != "contains" && t != "startswith" && t != "endswith" {
				return nil, fmt.Errorf("fieldref cannot be combined with %s", t)
			}
		}
	}
	if ms.exists && (ms.neq || ms.all || ms.expand) {
		return nil, fmt.Errorf("exists cannot be combined with other modifiers")
	}
	return ms, nil
}

// compileFieldCondition compiles one `field|mods: values` entry.
func compileFieldCondition(fc *FieldCondition, opts *Options) (*fieldMatcher, error) {
	ms, err := parseModifiers(fc.Modifiers)
	if err != nil {
		return nil, err
	}
	f := &fieldMatcher{all: ms.all, neq: ms.neq}
	if fc.Field != "" {
		f.path = opts.paths.get(fc.Field)
	}
	if ms.exists {
		if f.path == nil {
			return nil, fmt.Errorf("exists needs a field")
		}
		if len(fc.Values) != 1 || fc.Values[0].Kind != KindBool {
			return nil, fmt.Errorf("field %q: exists takes a single true or false", fc.Field)
		}
		if b, _ := strconv.ParseBool(strings.ToLower(fc.Values[0].Raw)); b {
			f.kind = fkExists
		} else {
			f.kind = fkNotExists
		}
		return f, nil
	}
	keyword := f.path == nil
	for _, v := range fc.Values {
		if v.Kind == KindNull {
			if keyword || len(fc.Modifiers) > 0 {
				return nil, fmt.Errorf("field %q: null cannot be used with modifiers or keywords", fc.Field)
			}
			f.nullOK = true
			continue
		}
		raws := []string{v.Raw}
		if ms.expand {
			raws, err = expandPlaceholders(v.Raw, opts)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", fc.Field, err)
			}
			if raws == nil {
				f.ms = append(f.ms, matchNothing{})
				continue
			}
		}
		for _, raw := range raws {
			vms, err := compileValue(v, raw, ms, keyword, opts)
			if err != nil {
				return nil, fmt.Errorf("field %q value %q: %w", fc.Field, raw, err)
			}
			f.ms = append(f.ms, vms...)
		}
	}
	if len(f.ms) == 0 && !f.nullOK {
		return nil, fmt.Errorf("field %q has no values", fc.Field)
	}
	return f, nil
}

func compileValue(v Value, raw string, ms *modSet, keyword bool, opts *Options) ([]valueMatcher, error) {
	switch {
	case ms.re:
		expr := raw
		if ms.reFlags != "" {
			expr = "(?" + ms.reFlags + ")" + raw
		}
		m, err := newReMatcher(expr)
		if err != nil {
			return nil, fmt.Errorf("unsupported regular expression (Go RE2 syntax): %w", err)
		}
		return []valueMatcher{m}, nil
	case ms.cidr:
		pf, err := netip.ParsePrefix(strings.TrimSpace(raw))
		if err != nil {
			addr, aerr := netip.ParseAddr(strings.TrimSpace(raw))
			if aerr != nil {
				return nil, fmt.Errorf("invalid CIDR: %w", err)
			}
			pf = netip.PrefixFrom(addr, addr.BitLen())
		}
		if pf.Addr().Is4In6() {
			pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
		}
		return []valueMatcher{&cidrMatcher{prefixes: []netip.Prefix{pf.Masked()}}}, nil
	case ms.cmp != "" || ms.timePart != "":
		f, err := parseNumber(v, raw)
		if err != nil {
			return nil, err
		}
		op := ms.cmp
		if op == "" {
			op = "eq"
		}
		return []valueMatcher{&numMatcher{op: op, val: f, timePart: ms.timePart}}, nil
	case ms.fieldref:
		if keyword {
			return nil, fmt.Errorf("fieldref needs a field")
		}
		m := &refMatcher{ref: opts.paths.get(raw), ci: !ms.cased}
		for _, t := range ms.transforms {
			switch t {
			case "contains":
				m.mode = modeContains
			case "startswith":
				m.mode = modePrefix
			case "endswith":
				m.mode = modeSuffix
			}
		}
		return []valueMatcher{m}, nil
	}
	// Plain and transformed strings.
	var p pattern
	isNum := false
	var num float64
	switch v.Kind {
	case KindString:
		p = parseSigmaString(raw)
	case KindInt, KindFloat:
		f, err := parseNumber(v, raw)
		if err != nil {
			return nil, err
		}
		if len(ms.transforms) == 0 {
			isNum, num = true, f
			raw = strconv.FormatFloat(f, 'f', -1, 64)
		}
		p = literalPattern(raw)
	default:
		p = literalPattern(strings.ToLower(raw))
	}
	pats := []pattern{p}
	ci := !ms.cased
	explicitPos := false
	for _, t := range ms.transforms {
		var err error
		switch t {
		case "contains", "startswith", "endswith":
			explicitPos = true
		case "base64", "base64offset":
			ci = false // base64 text is case-significant
		}
		pats, err = applyTransform(t, pats)
		if err != nil {
			return nil, err
		}
	}
	if keyword && !explicitPos {
		// A keyword matches anywhere in a value.
		pats, _ = applyTransform("contains", pats)
	}
	out := make([]valueMatcher, 0, len(pats))
	for _, p := range pats {
		m := newStrMatcher(p, ci)
		m.isNum, m.num = isNum, num
		out = append(out, m)
	}
	return out, nil
}

func parseNumber(v Value, raw string) (float64, error) {
	if v.Kind == KindInt {
		if n, err := strconv.ParseInt(raw, 0, 64); err == nil {
			return float64(n), nil
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil {
		return 0, fmt.Errorf("want a number")
	}
	return f, nil
}

func applyTransform(t string, pats []pattern) ([]pattern, error) {
	var out []pattern
	for _, p := range pats {
		switch t {
		case "contains":
			out = append(out, append(append(pattern{{k: tStar}}, p...), ptok{k: tStar}).normalize())
		case "startswith":
			out = append(out, append(append(pattern{}, p...), ptok{k: tStar}).normalize())
		case "endswith":
			out = append(out, append(pattern{{k: tStar}}, p...).normalize())
		case "windash":
			vs, err := windash(p)
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		case "base64":
			if !p.isLiteral() {
				return nil, fmt.Errorf("base64 of a value with wildcards")
			}
			out = append(out, literalPattern(base64.StdEncoding.EncodeToString([]byte(p.literal()))))
		case "base64offset":
			if !p.isLiteral() {
				return nil, fmt.Errorf("base64offset of a value with wildcards")
			}
			for _, s := range base64Offsets(p.literal()) {
				out = append(out, literalPattern(s))
			}
		case "utf16le", "wide":
			out = append(out, p.mapLiterals(func(s string) string { return encodeUTF16(s, false) }))
		case "utf16be":
			out = append(out, p.mapLiterals(func(s string) string { return encodeUTF16(s, true) }))
		case "utf16":
			q := p.mapLiterals(func(s string) string { return encodeUTF16(s, false) })
			out = append(out, append(pattern{{k: tLit, s: "\xff\xfe"}}, q...).normalize())
		}
	}
	return out, nil
}

// base64Offsets returns the three base64 forms of s as it appears at byte
// offsets 0, 1 and 2 of an encoded text, keeping only the characters that
// depend on s alone.
func base64Offsets(s string) []string {
	out := make([]string, 0, 3)
	for shift := 0; shift < 3; shift++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, shift), s...))
		start := []int{0, 2, 3}[shift]
		end := (8 * (shift + len(s))) / 6
		if end > start {
			out = append(out, enc[start:end])
		}
	}
	return out
}

func encodeUTF16(s string, bigEndian bool) string {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		if bigEndian {
			binary.BigEndian.PutUint16(b[2*i:], u)
		} else {
			binary.LittleEndian.PutUint16(b[2*i:], u)
		}
	}
	return string(b)
}

// windash returns every variant of p with each dash-like character replaced
// by each of - / – — ―.
func windash(p pattern) ([]pattern, error) {
	out := []pattern{{}}
	for _, t := range p {
		if t.k != tLit {
			for i := range out {
				out[i] = append(out[i], t)
			}
			continue
		}
		variants := []string{""}
		for _, r := range t.s {
			c := string(r)
			if isDash(c) {
				next := make([]string, 0, len(variants)*len(windashChars))
				for _, v := range variants {
					for _, d := range windashChars {
						next = append(next, v+d)
					}
				}
				variants = next
				if len(variants)*len(out) > maxWindashVariants {
					return nil, fmt.Errorf("windash: too many dashes (more than %d variants)", maxWindashVariants)
				}
				continue
			}
			for i := range variants {
				variants[i] += c
			}
		}
		next := make([]pattern, 0, len(out)*len(variants))
		for _, o := range out {
			for _, v := range variants {
				q := append(append(pattern{}, o...), ptok{k: tLit, s: v})
				next = append(next, q)
			}
		}
		out = next
	}
	for i := range out {
		out[i] = out[i].normalize()
	}
	return out, nil
}

func isDash(c string) bool {
	for _, d := range windashChars {
		if c == d {
			return true
		}
	}
	return false
}

// MissingPlaceholder says what happens to an expand placeholder that
// Options.Placeholders does not define.
type MissingPlaceholder uint8

// The policies for undefined placeholders.
const (
	// PlaceholderError makes the rule fail to compile (the default).
	PlaceholderError MissingPlaceholder = iota
	// PlaceholderMatchNothing makes the value match nothing.
	PlaceholderMatchNothing
	// PlaceholderWildcard replaces the placeholder with `*`.
	PlaceholderWildcard
)

// expandPlaceholders replaces every %name% in raw with each of the values
// of the placeholder (the result is their cartesian product). `\%` is a
// plain percent sign. A nil result with nil error means "matches nothing".
func expandPlaceholders(raw string, opts *Options) ([]string, error) {
	results := []string{""}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			for i := range results {
				results[i] += lit.String()
			}
			lit.Reset()
		}
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) && raw[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		end := strings.IndexByte(raw[i+1:], '%')
		if end < 0 {
			lit.WriteString(raw[i:])
			break
		}
		name := raw[i+1 : i+1+end]
		i += end + 1
		flush()
		vals, ok := opts.Placeholders[name]
		if !ok {
			switch opts.MissingPlaceholders {
			case PlaceholderMatchNothing:
				return nil, nil
			case PlaceholderWildcard:
				vals = []string{"*"}
			default:
				return nil, fmt.Errorf("placeholder %%%s%% is not defined", name)
			}
		}
		if len(vals) == 0 {
			return nil, nil
		}
		next := make([]string, 0, len(results)*len(vals))
		for _, r := range results {
			for _, v := range vals {
				next = append(next, r+v)
			}
		}
		if len(next) > 10000 {
			return nil, fmt.Errorf("placeholder expansion yields more than 10000 values")
		}
		results = next
	}
	flush()
	return results, nil
}
