package normalize

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// errPyJSON reports JSON that could not be re-serialized.
var errPyJSON = errors.New("malformed JSON")

// AppendPythonJSON re-serializes the JSON value raw the way Python's
// json.dumps(obj, ensure_ascii=False) does, which is how es-loader writes
// @message for JSON logs: ", " and ": " separators, no other whitespace,
// non-ASCII characters as they are, only '"', '\\' and control characters
// escaped, "/" unescaped, and floats in Python's repr form. It is a single
// pass over the bytes; raw must be valid JSON.
//
// The scanner writes the same text, escaped as a JSON string, while it
// writes a document; this function serves @id, which hashes the plain text.
func AppendPythonJSON(dst, raw []byte) ([]byte, error) {
	const quoted = false
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == ':':
			dst = append(dst, ':', ' ')
			i++
		case c == ',':
			dst = append(dst, ',', ' ')
			i++
		case c == '{' || c == '}' || c == '[' || c == ']':
			dst = append(dst, c)
			i++
		case c == '"':
			var err error
			dst, i, err = appendPyString(dst, raw, i+1, quoted)
			if err != nil {
				return dst, err
			}
		case c == 't' || c == 'f' || c == 'n':
			j := i
			for j < len(raw) && raw[j] >= 'a' && raw[j] <= 'z' {
				j++
			}
			switch string(raw[i:j]) {
			case "true", "false", "null":
			default:
				return dst, errPyJSON
			}
			dst = append(dst, raw[i:j]...)
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			isFloat := false
			for j < len(raw) {
				d := raw[j]
				if d == '.' || d == 'e' || d == 'E' {
					isFloat = true
				} else if (d < '0' || d > '9') && d != '+' && d != '-' {
					break
				}
				j++
			}
			dst = appendPyNumber(dst, raw[i:j], isFloat)
			i = j
		default:
			return dst, errPyJSON
		}
	}
	return dst, nil
}

func appendPyNumber(dst, num []byte, isFloat bool) []byte {
	if !isFloat || pyFloatAsIs(num) {
		if string(num) == "-0" {
			return append(dst, '0')
		}
		return append(dst, num...)
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return append(dst, num...)
	}
	return AppendPythonFloat(dst, f)
}

// pyFloatAsIs reports whether a JSON number is a decimal fraction that
// Python's repr of its float writes exactly as it is: no exponent, no
// leading zero before other digits, no trailing zero in the fraction but
// a lone one ("8.0"), at least 1e-4 unless zero, and at most 15
// significant digits (any two such decimals are different floats, so no
// shorter text reads back as the same float).
func pyFloatAsIs(num []byte) bool {
	s := num
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	dot := -1
	for k, c := range s {
		if c == '.' && dot < 0 {
			dot = k
		} else if c < '0' || c > '9' {
			return false
		}
	}
	if dot <= 0 || dot == len(s)-1 {
		return false
	}
	whole, frac := s[:dot], s[dot+1:]
	if len(whole) > 1 && whole[0] == '0' || len(frac) > 1 && frac[len(frac)-1] == '0' {
		return false
	}
	if string(whole) != "0" {
		return len(whole)+len(frac) <= 15
	}
	z := 0
	for z < len(frac) && frac[z] == '0' {
		z++
	}
	if z == len(frac) {
		return true // 0.0
	}
	return z <= 3 && len(frac)-z <= 15
}

// AppendPythonFloat appends f as Python's repr(float) writes it: the
// shortest round-trip digits, fixed notation with at least one decimal for
// exponents in [-4, 16), scientific notation with a signed two-digit
// exponent otherwise ("1e+16", "1e-05").
func AppendPythonFloat(dst []byte, f float64) []byte {
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	neg := e[0] == '-'
	if neg {
		e = e[1:]
		dst = append(dst, '-')
	}
	// e is d[.ddd]e±XX
	mant, exp := e, 0
	for k := 0; k < len(e); k++ {
		if e[k] == 'e' {
			mant = e[:k]
			exp, _ = strconv.Atoi(string(e[k+1:]))
			break
		}
	}
	var digitBuf [32]byte
	digits := digitBuf[:0]
	for _, d := range mant {
		if d != '.' {
			digits = append(digits, d)
		}
	}
	decpt := exp + 1 // position of the decimal point after the first digit
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			dst = append(dst, '0', '.')
			for k := 0; k < -decpt; k++ {
				dst = append(dst, '0')
			}
			dst = append(dst, digits...)
		case decpt >= len(digits):
			dst = append(dst, digits...)
			for k := len(digits); k < decpt; k++ {
				dst = append(dst, '0')
			}
			dst = append(dst, '.', '0')
		default:
			dst = append(dst, digits[:decpt]...)
			dst = append(dst, '.')
			dst = append(dst, digits[decpt:]...)
		}
		return dst
	}
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}

// pySafe marks the bytes copied unchanged inside a string: everything but
// the quote, the backslash and control characters (UTF-8 passes through).
var pySafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendPyString re-escapes the JSON string starting after its opening quote
// at raw[i]. It returns the index after the closing quote.
func appendPyString(dst, raw []byte, i int, quoted bool) ([]byte, int, error) {
	dst = appendQuote(dst, quoted)
	for i < len(raw) {
		c := raw[i]
		if pySafe[c] {
			j := plainRun(raw, i+1, false)
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		switch {
		case c == '"':
			return appendQuote(dst, quoted), i + 1, nil
		case c == '\\':
			if i+1 >= len(raw) {
				return dst, i, errPyJSON
			}
			esc := raw[i+1]
			switch esc {
			case 'u':
				if i+6 > len(raw) {
					return dst, i, errPyJSON
				}
				h, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
				if err != nil {
					return dst, i, errPyJSON
				}
				r := rune(h)
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						if l, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16); err == nil {
							if c := utf16.DecodeRune(r, rune(l)); c != utf8.RuneError {
								dst = utf8.AppendRune(dst, c)
								i += 6
								continue
							}
						}
					}
					if quoted {
						dst = append(dst, '\\')
					}
					dst = appendU4(dst, r) // a lone surrogate stays escaped
					continue
				}
				dst = appendPyRune(dst, r, quoted)
				continue
			case '"', '\\', '/':
				dst = appendPyRune(dst, rune(esc), quoted)
			case 'b', 'f', 'n', 'r', 't':
				dst = append(appendBackslash(dst, quoted), esc)
			default:
				return dst, i, errPyJSON
			}
			i += 2
		case c >= 0x20:
			dst = append(dst, c) // printable ASCII and UTF-8 bytes pass through
			i++
		default:
			dst = appendPyRune(dst, rune(c), quoted)
			i++
		}
	}
	return dst, i, errPyJSON
}

// appendPyRune writes one character as Python's encoder with
// ensure_ascii=False does.
func appendPyRune(dst []byte, r rune, quoted bool) []byte {
	switch {
	case r == '"':
		return appendQuote(appendBackslash(dst, quoted), quoted)
	case r == '\\':
		return appendBackslash(appendBackslash(dst, quoted), quoted)
	case r == '\n':
		return append(appendBackslash(dst, quoted), 'n')
	case r == '\r':
		return append(appendBackslash(dst, quoted), 'r')
	case r == '\t':
		return append(appendBackslash(dst, quoted), 't')
	case r == '\b':
		return append(appendBackslash(dst, quoted), 'b')
	case r == '\f':
		return append(appendBackslash(dst, quoted), 'f')
	case r < 0x20:
		if quoted {
			dst = append(dst, '\\')
		}
		return appendU4(dst, r)
	default:
		return utf8.AppendRune(dst, r)
	}
}

// appendBackslash writes the backslash of an escape, itself escaped when
// the text is going inside a JSON string.
func appendBackslash(dst []byte, quoted bool) []byte {
	if quoted {
		return append(dst, '\\', '\\')
	}
	return append(dst, '\\')
}

// appendQuote writes a '"' of the text, escaped when quoted.
func appendQuote(dst []byte, quoted bool) []byte {
	if quoted {
		return append(dst, '\\', '"')
	}
	return append(dst, '"')
}

func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
