// Package config holds Vigil's configuration loaders. This file implements
// an INI reader that follows Python configparser as es-loader uses it
// (ConfigParser with ExtendedInterpolation, strict mode, optionxform=str),
// so that aws.ini and user.ini files are read exactly as es-loader reads them.
//
// Reading rules, in short:
//   - "[name]" starts a section; "[DEFAULT]" holds keys every section inherits.
//   - "key = value" or "key: value"; the first '=' or ':' splits; keys are
//     case-sensitive; values are trimmed but never unquoted.
//   - A line indented deeper than its key line continues the value; the
//     parts are joined with "\n"; blank lines inside a value are kept,
//     trailing ones dropped.
//   - Lines whose first non-blank character is '#' or ';' are comments, even
//     inside a multi-line value; inline comments are not recognised.
//   - Within one file a section or a key of a section may appear only once.
//   - Later files override keys of earlier ones; sections keep the order in
//     which they were first seen.
//   - "${key}" (same section, then DEFAULT) and "${section:key}" are
//     substituted when a value is looked up, recursively up to depth 10;
//     "$$" is a literal '$'; any other '$' is an error.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultSection is the name of the section whose keys every other section
// inherits.
const DefaultSection = "DEFAULT"

// MaxInterpolationDepth is how deeply "${...}" references may nest before a
// lookup fails, as in configparser.
const MaxInterpolationDepth = 10

// SyntaxError reports a line of an INI file that cannot be read.
type SyntaxError struct {
	File   string // name given to ParseINI
	Line   int    // 1-based line number
	Reason string // what is wrong with the line
}

// Error implements error as "file:line: reason".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// InterpolationError reports a value whose "${...}" references cannot be
// resolved.
type InterpolationError struct {
	Section string // section of the key that was looked up
	Key     string // key that was looked up
	File    string // file where the key's value is defined
	Line    int    // line where the key's value is defined
	Ref     string // the offending reference, if any
	Reason  string // what went wrong
}

// Error implements error.
func (e *InterpolationError) Error() string {
	loc := ""
	if e.File != "" {
		loc = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	}
	return fmt.Sprintf("%s[%s] %s: %s", loc, e.Section, e.Key, e.Reason)
}

// value is one key's raw value and where it was defined.
type value struct {
	raw  string
	file string
	line int
}

// section is an ordered key/value map.
type section struct {
	keys   []string
	values map[string]*value
}

func newSection() *section { return &section{values: map[string]*value{}} }

func (s *section) set(key string, v *value) {
	if _, ok := s.values[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.values[key] = v
}

// INI is a set of INI files layered in order. The zero value is not usable;
// create one with NewINI, ParseINI or ReadINIFiles. An INI is not safe for
// concurrent mutation; lookups (Get, Keys, ...) may run concurrently once
// no Merge is in progress.
type INI struct {
	defaults *section
	sections map[string]*section
	order    []string
}

// NewINI returns an empty INI.
func NewINI() *INI {
	return &INI{defaults: newSection(), sections: map[string]*section{}}
}

// ReadINIFiles parses the named files and layers them in order, as
// configparser's read([...]) does. Unlike configparser, a file that cannot
// be opened is an error.
func ReadINIFiles(paths ...string) (*INI, error) {
	out := NewINI()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("reading ini file: %w", err)
		}
		one, err := ParseINI(p, f)
		_ = f.Close() // read-only: nothing to flush
		if err != nil {
			return nil, err
		}
		out.Merge(one)
	}
	return out, nil
}

// pyIsSpace reports whether r is whitespace for Python's str.strip/isspace.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// splitLines splits on "\r\n", "\r" and "\n" like Python's universal
// newlines.
func splitLines(data []byte) []string {
	s := string(data)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// indentOf returns the number of leading whitespace characters (runes).
func indentOf(line string) int {
	n := 0
	for _, r := range line {
		if !pyIsSpace(r) {
			return n
		}
		n++
	}
	return n
}

// ParseINI reads one INI file. name is used in error messages. Lines that
// are neither section, key, comment nor continuation are all reported, as
// one joined error of *SyntaxError values; a duplicate section or key stops
// reading at once.
func ParseINI(name string, r io.Reader) (*INI, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, &SyntaxError{File: name, Line: 1, Reason: "file is not valid UTF-8"}
	}
	out := NewINI()
	var (
		errs      []error
		cur       *section
		curName   string
		optKey    string
		optParts  []string
		optVal    *value
		indent    = 0
		seenSects = map[string]bool{}
		seenKeys  = map[[2]string]bool{}
	)
	flush := func() {
		if optVal != nil {
			optVal.raw = strings.TrimRightFunc(strings.Join(optParts, "\n"), pyIsSpace)
		}
		optKey, optParts, optVal = "", nil, nil
	}
	for i, line := range splitLines(data) {
		lineno := i + 1
		stripped := pyStrip(line)
		if stripped == "" || stripped[0] == '#' || stripped[0] == ';' {
			// Blank lines belong to the value being read (trailing ones are
			// trimmed when it is finished); comment lines are skipped.
			if stripped == "" && optVal != nil {
				optParts = append(optParts, "")
			}
			continue
		}
		lineIndent := indentOf(line)
		if cur != nil && optVal != nil && lineIndent > indent {
			optParts = append(optParts, stripped)
			continue
		}
		indent = lineIndent
		if hdr, ok := sectionHeader(stripped); ok {
			flush()
			switch {
			case hdr == DefaultSection:
				cur = out.defaults
			case seenSects[hdr]:
				errs = append(errs, &SyntaxError{File: name, Line: lineno,
					Reason: fmt.Sprintf("section %q already exists in this file", hdr)})
				return nil, errors.Join(errs...)
			default:
				seenSects[hdr] = true
				cur = newSection()
				out.sections[hdr] = cur
				out.order = append(out.order, hdr)
			}
			curName = hdr
			continue
		}
		if cur == nil {
			errs = append(errs, &SyntaxError{File: name, Line: lineno,
				Reason: fmt.Sprintf("key before any section header: %q", stripped)})
			return nil, errors.Join(errs...)
		}
		j := strings.IndexAny(stripped, "=:")
		if j < 0 {
			errs = append(errs, &SyntaxError{File: name, Line: lineno,
				Reason: fmt.Sprintf("line is neither a section, a key nor a continuation: %q", stripped)})
			continue
		}
		flush()
		key := pyStrip(stripped[:j])
		if key == "" {
			errs = append(errs, &SyntaxError{File: name, Line: lineno,
				Reason: fmt.Sprintf("empty key name: %q", stripped)})
		}
		if seenKeys[[2]string{curName, key}] {
			errs = append(errs, &SyntaxError{File: name, Line: lineno,
				Reason: fmt.Sprintf("key %q already exists in section [%s] of this file", key, curName)})
			return nil, errors.Join(errs...)
		}
		seenKeys[[2]string{curName, key}] = true
		optKey = key
		optParts = []string{pyStrip(stripped[j+1:])}
		optVal = &value{file: name, line: lineno}
		cur.set(optKey, optVal)
	}
	flush()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// sectionHeader matches configparser's permissive `\[(?P<header>.+)\]`
// against a stripped line: the header runs to the last ']'.
func sectionHeader(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return "", false
	}
	end := strings.LastIndexByte(s, ']')
	if end < 2 {
		return "", false
	}
	return s[1:end], true
}

// Merge layers other on top of f: keys of other replace keys of the same
// section in f (keeping their position), new keys and sections are
// appended. other is not modified and shares no state with f afterwards.
func (f *INI) Merge(other *INI) {
	mergeSection(f.defaults, other.defaults)
	for _, name := range other.order {
		dst, ok := f.sections[name]
		if !ok {
			dst = newSection()
			f.sections[name] = dst
			f.order = append(f.order, name)
		}
		mergeSection(dst, other.sections[name])
	}
}

func mergeSection(dst, src *section) {
	for _, k := range src.keys {
		v := *src.values[k]
		dst.set(k, &v)
	}
}

// Sections returns the section names in first-seen order, without DEFAULT.
func (f *INI) Sections() []string {
	return append([]string(nil), f.order...)
}

// HasSection reports whether the section exists. DEFAULT always exists.
func (f *INI) HasSection(name string) bool {
	if name == DefaultSection {
		return true
	}
	_, ok := f.sections[name]
	return ok
}

// Keys returns the keys visible in section in configparser order: the
// section's own keys in first-seen order, then the DEFAULT keys it does not
// define. For DEFAULT it returns DEFAULT's keys; for an unknown section, nil.
func (f *INI) Keys(sectionName string) []string {
	if sectionName == DefaultSection {
		return append([]string(nil), f.defaults.keys...)
	}
	s, ok := f.sections[sectionName]
	if !ok {
		return nil
	}
	keys := append([]string(nil), s.keys...)
	for _, k := range f.defaults.keys {
		if _, own := s.values[k]; !own {
			keys = append(keys, k)
		}
	}
	return keys
}

// lookup finds the raw value of key as seen from section (own, then DEFAULT).
func (f *INI) lookup(sectionName, key string) (*value, bool) {
	if sectionName != DefaultSection {
		s, ok := f.sections[sectionName]
		if !ok {
			return nil, false
		}
		if v, ok := s.values[key]; ok {
			return v, true
		}
	}
	v, ok := f.defaults.values[key]
	return v, ok
}

// GetRaw returns the value of key in section without interpolation.
func (f *INI) GetRaw(sectionName, key string) (string, bool) {
	v, ok := f.lookup(sectionName, key)
	if !ok {
		return "", false
	}
	return v.raw, true
}

// Origin returns the file and line where the value of key, as seen from
// section, is defined.
func (f *INI) Origin(sectionName, key string) (file string, line int, ok bool) {
	v, ok := f.lookup(sectionName, key)
	if !ok {
		return "", 0, false
	}
	return v.file, v.line, true
}

// Get returns the value of key in section with "${...}" references
// resolved. found is false when the section or the key does not exist; err
// is an *InterpolationError when a reference cannot be resolved.
func (f *INI) Get(sectionName, key string) (string, bool, error) {
	v, ok := f.lookup(sectionName, key)
	if !ok {
		return "", false, nil
	}
	var b strings.Builder
	if err := f.interpolate(&b, sectionName, key, v.raw, 1); err != nil {
		var ie *InterpolationError
		if errors.As(err, &ie) {
			ie.Section, ie.Key, ie.File, ie.Line = sectionName, key, v.file, v.line
		}
		return "", true, err
	}
	return b.String(), true, nil
}

// interpolate mirrors configparser.ExtendedInterpolation._interpolate_some.
func (f *INI) interpolate(b *strings.Builder, sect, key, rest string, depth int) error {
	if depth > MaxInterpolationDepth {
		return &InterpolationError{Reason: fmt.Sprintf(
			"interpolation deeper than %d levels (last reference: [%s] %s); is there a cycle?",
			MaxInterpolationDepth, sect, key)}
	}
	for rest != "" {
		p := strings.IndexByte(rest, '$')
		if p < 0 {
			b.WriteString(rest)
			return nil
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "$$"):
			b.WriteByte('$')
			rest = rest[2:]
		case strings.HasPrefix(rest, "${"):
			end := strings.IndexByte(rest, '}')
			if end < 3 {
				return &InterpolationError{Reason: fmt.Sprintf("bad interpolation reference %q", rest)}
			}
			ref := rest[2:end]
			rest = rest[end+1:]
			path := strings.Split(ref, ":")
			refSect, refKey := sect, ""
			switch len(path) {
			case 1:
				refKey = path[0]
			case 2:
				refSect, refKey = path[0], path[1]
			default:
				return &InterpolationError{Ref: ref, Reason: fmt.Sprintf("more than one ':' in reference ${%s}", ref)}
			}
			v, ok := f.lookup(refSect, refKey)
			if !ok {
				return &InterpolationError{Ref: ref, Reason: fmt.Sprintf(
					"reference ${%s} names a key that does not exist (seen from [%s])", ref, sect)}
			}
			if strings.Contains(v.raw, "$") {
				if err := f.interpolate(b, refSect, refKey, v.raw, depth+1); err != nil {
					return err
				}
			} else {
				b.WriteString(v.raw)
			}
		default:
			return &InterpolationError{Reason: fmt.Sprintf("'$' must be followed by '$' or '{', found %q", rest)}
		}
	}
	return nil
}
