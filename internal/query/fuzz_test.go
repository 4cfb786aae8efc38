package query

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fuzzSchema resolves every field, deriving its kind, list-ness and Num
// from the name's length so that fuzzing reaches every rendering.
type fuzzSchema struct{}

func (fuzzSchema) Field(name string) (SQLField, bool) {
	if name == "nosuch" {
		return SQLField{}, false
	}
	k := Kind(len(name) % 7)
	f := SQLField{Expr: "json_extract_string(doc, ?)", Args: []any{"$." + name}, Kind: k}
	if len(name)%5 == 0 && (k == Keyword || k == IP || k == Text) {
		f = SQLField{Expr: "l", List: true, Kind: k}
	}
	if k == IP && len(name)%2 == 0 {
		f.Num = "n"
	}
	return f, true
}

func (fuzzSchema) FreeText() []SQLField {
	return []SQLField{{Expr: "message", Kind: Text}, {Expr: "l", Kind: Text, List: true}}
}

func (fuzzSchema) Kind(name string) Kind { return Kind(len(name) % 7) }

// FuzzParse checks that Parse never panics, that its errors are
// *SyntaxError inside the input, that String parses back to the same AST,
// and that ToSQL and ToDSL never panic on a parsed node and bind every
// value as a parameter.
func FuzzParse(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.in)
	}
	for _, c := range errorCases {
		f.Add(c.in)
	}
	for _, c := range sqlCases {
		f.Add(c.in)
	}
	for _, c := range dslCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseAt(s, testNow)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseAt(%q) error %T, want *SyntaxError", s, err)
			}
			if se.Pos < 0 || se.Pos > len(s) {
				t.Fatalf("ParseAt(%q) error position %d outside the input", s, se.Pos)
			}
			return
		}
		str := n.String()
		again, err := ParseAt(str, testNow)
		if err != nil {
			t.Fatalf("ParseAt(%q).String() = %q does not parse: %v", s, str, err)
		}
		if !reflect.DeepEqual(n, again) {
			t.Fatalf("ParseAt(%q).String() = %q parses to %#v, want %#v", s, str, again, n)
		}
		where, args, err := ToSQL(n, fuzzSchema{})
		if err == nil {
			if c := strings.Count(where, "?"); c != len(args) {
				t.Fatalf("ToSQL(%q) = %q with %d placeholders and %d args", s, where, c, len(args))
			}
		} else {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ToSQL(%q) error %T %v, want *FieldError", s, err, err)
			}
		}
		q, err := ToDSL(n, fuzzSchema{})
		if err == nil {
			if _, err := json.Marshal(q); err != nil {
				t.Fatalf("ToDSL(%q) does not marshal: %v", s, err)
			}
		}
		if _, err := ToDSL(n, nil); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ToDSL(%q, nil) error %T %v, want *FieldError", s, err, err)
			}
		}
	})
}
