package normalize

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// pyStr is Python's str() of a value decoded from JSON: strings as they
// are, objects and lists in repr form ({'a': 1, 'b': [True, None]}), which
// is how es-loader turns json_to_text fields into text.
func pyStr(v *fastjson.Value) string {
	if v.Type() == fastjson.TypeString {
		return string(v.GetStringBytes())
	}
	return string(appendPyRepr(nil, v))
}

func appendPyRepr(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, '{')
		i := 0
		o.Visit(func(k []byte, e *fastjson.Value) {
			if i > 0 {
				dst = append(dst, ',', ' ')
			}
			i++
			dst = appendPyStrRepr(dst, string(k))
			dst = append(dst, ':', ' ')
			dst = appendPyRepr(dst, e)
		})
		return append(dst, '}')
	case fastjson.TypeArray:
		a, _ := v.Array()
		dst = append(dst, '[')
		for i, e := range a {
			if i > 0 {
				dst = append(dst, ',', ' ')
			}
			dst = appendPyRepr(dst, e)
		}
		return append(dst, ']')
	case fastjson.TypeString:
		return appendPyStrRepr(dst, string(v.GetStringBytes()))
	case fastjson.TypeTrue:
		return append(dst, "True"...)
	case fastjson.TypeFalse:
		return append(dst, "False"...)
	case fastjson.TypeNull:
		return append(dst, "None"...)
	default:
		num := v.MarshalTo(nil)
		if strings.ContainsAny(string(num), ".eE") {
			if f, err := strconv.ParseFloat(string(num), 64); err == nil {
				return AppendPythonFloat(dst, f)
			}
		}
		return append(dst, num...)
	}
}

// appendPyStrRepr writes Python's repr() of a string.
func appendPyStrRepr(dst []byte, s string) []byte {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	dst = append(dst, q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r < 0x20 || r == 0x7f:
			dst = append(dst, '\\', 'x', hexDigits[r>>4], hexDigits[r&0xf])
		case r < utf8.RuneSelf || unicode.IsPrint(r):
			dst = utf8.AppendRune(dst, r)
		case r <= 0xff:
			dst = append(dst, '\\', 'x', hexDigits[r>>4], hexDigits[r&0xf])
		case r <= 0xffff:
			dst = appendU4(dst, r)
		default:
			dst = append(dst, '\\', 'U')
			for sh := 28; sh >= 0; sh -= 4 {
				dst = append(dst, hexDigits[r>>sh&0xf])
			}
		}
	}
	return append(dst, q)
}

// PyRepr returns Python's repr() of a value decoded from JSON.
func PyRepr(v *fastjson.Value) string { return string(appendPyRepr(nil, v)) }
