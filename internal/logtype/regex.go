package logtype

import (
	"fmt"
	"regexp"
	"strings"
)

// CompilePython compiles a regular expression written for Python's re
// module with Go's RE2 engine. Named groups "(?P<name>...)" work as they
// are. Two Python spellings are rewritten: "\Z" (end of text) becomes "\z"
// and the quantifier "{,n}" becomes "{0,n}". Constructs RE2 lacks
// (look-around, back-references, conditionals, atomic groups) are errors.
//
// Known differences that remain: in Python "$" also matches before a final
// "\n", and \d, \w, \s and \b follow Unicode; in Go they are ASCII-only.
// Object keys and log lines handed to these patterns have no trailing
// newline, and the built-in patterns only need ASCII classes.
func CompilePython(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(translatePython(pattern))
	if err != nil {
		return nil, fmt.Errorf("regular expression not supported by Go (RE2): %w", err)
	}
	return re, nil
}

// translatePython rewrites the Python-only spellings described on
// CompilePython, leaving character classes untouched.
func translatePython(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			if !inClass && p[i+1] == 'Z' {
				b.WriteString(`\z`)
			} else {
				b.WriteByte(c)
				b.WriteByte(p[i+1])
			}
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal member.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case c == '{' && i+1 < len(p) && p[i+1] == ',':
			j := i + 2
			for j < len(p) && p[j] >= '0' && p[j] <= '9' {
				j++
			}
			if j > i+2 && j < len(p) && p[j] == '}' {
				b.WriteString("{0,")
				b.WriteString(p[i+2 : j+1])
				i = j
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
