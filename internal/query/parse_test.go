package query

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testNow is the clock of every test: relative dates resolve against it.
var testNow = time.Date(2024, 5, 15, 12, 30, 0, 0, time.UTC)

// parseCases pairs queries with the String form of their AST. They also
// seed FuzzParse.
var parseCases = []struct {
	name string
	in   string
	want string
}{
	{name: "empty", in: "", want: "*"},
	{name: "blank", in: "  \t ", want: "*"},
	{name: "star", in: "*", want: "*"},
	{name: "free text", in: "error", want: "error"},
	{name: "free phrase", in: `"access denied"`, want: `"access denied"`},
	{name: "free wildcard", in: "adm*n", want: "adm*n"},
	{name: "free wildcard one char", in: "us?r", want: "us?r"},
	{name: "field term", in: "eventName:ConsoleLogin", want: "eventName:ConsoleLogin"},
	{name: "field with at and dots", in: "@log_type:cloudtrail", want: "@log_type:cloudtrail"},
	{name: "field with dash", in: "user-agent.original:curl", want: "user-agent.original:curl"},
	{name: "space after colon", in: "eventName: ConsoleLogin", want: "eventName:ConsoleLogin"},
	{name: "field phrase", in: `userAgent:"aws cli/2.0"`, want: `userAgent:"aws cli/2.0"`},
	{name: "escaped quotes in phrase", in: `a:"say \"hi\" \\ bye"`, want: `a:"say \"hi\" \\ bye"`},
	{name: "field wildcard", in: "eventName:Get*", want: "eventName:Get*"},
	{name: "escaped colons", in: `userIdentity.arn:arn\:aws\:iam*`, want: `userIdentity.arn:arn:aws:iam*`},
	{name: "colons in value", in: `userIdentity.arn:arn:aws:iam::123456789012:root`, want: `userIdentity.arn:arn:aws:iam::123456789012:root`},
	{name: "escaped star is literal", in: `a:b\*c`, want: `a:b\*c`},
	{name: "escaped star in wildcard", in: `a:b\*c*`, want: `a:b\*c*`},
	{name: "escaped space", in: `a:b\ c`, want: `a:b\ c`},
	{name: "escaped paren", in: `a:f\(x\)`, want: `a:f\(x\)`},
	{name: "exists", in: "_exists_:user.name", want: "_exists_:user.name"},
	{name: "field star is exists", in: "user.name:*", want: "_exists_:user.name"},
	{name: "range inclusive", in: "destination.port:[1024 TO 65535]", want: "destination.port:[1024 TO 65535]"},
	{name: "range exclusive", in: "destination.port:{1024 TO 65535}", want: "destination.port:{1024 TO 65535}"},
	{name: "range mixed", in: "destination.port:[1024 TO 65535}", want: "destination.port:[1024 TO 65535}"},
	{name: "range open upper", in: "destination.port:[1024 TO *]", want: "destination.port:>=1024"},
	{name: "range open lower", in: "destination.port:{* TO 1024}", want: "destination.port:<1024"},
	{name: "range both open", in: "a:[* TO *]", want: "_exists_:a"},
	{name: "range quoted bounds", in: `a:["a b" TO "c]"]`, want: `a:["a b" TO "c]"]`},
	{name: "range dates", in: "@timestamp:[2024-01-01 TO now-1d/d]", want: "@timestamp:[2024-01-01 TO now-1d/d]"},
	{name: "gte", in: "destination.port:>=1024", want: "destination.port:>=1024"},
	{name: "gt", in: "bytes:>10", want: "bytes:>10"},
	{name: "lte", in: "bytes:<=10", want: "bytes:<=10"},
	{name: "lt", in: "@timestamp:<now-24h", want: "@timestamp:<now-24h"},
	{name: "compare negative", in: "temp:>-5", want: "temp:>-5"},
	{name: "cidr v4", in: "source.ip:10.0.0.0/8", want: "source.ip:10.0.0.0/8"},
	{name: "cidr v6", in: "source.ip:2001:db8::/32", want: "source.ip:2001:db8::/32"},
	{name: "ipv6 address", in: "source.ip:2001:db8::1", want: "source.ip:2001:db8::1"},
	{name: "quoted cidr stays phrase", in: `source.ip:"10.0.0.0/8"`, want: `source.ip:"10.0.0.0/8"`},
	{name: "escaped slash is a term", in: `path:10.0.0.0\/8`, want: `path:10.0.0.0\/8`},
	{name: "path is a term", in: `url.path:/admin/login`, want: `url.path:/admin/login`},
	{name: "and", in: "a:1 AND b:2", want: "a:1 AND b:2"},
	{name: "and symbols", in: "a:1 && b:2", want: "a:1 AND b:2"},
	{name: "implicit and", in: "a:1 b:2 c", want: "a:1 AND b:2 AND c"},
	{name: "or", in: "a:1 OR b:2", want: "a:1 OR b:2"},
	{name: "or symbols", in: "a:1 || b:2", want: "a:1 OR b:2"},
	{name: "and binds tighter", in: "a OR b AND c", want: "a OR (b AND c)"},
	{name: "parens", in: "(a OR b) AND c", want: "(a OR b) AND c"},
	{name: "nested parens flatten", in: "((a AND b)) AND (c AND d)", want: "a AND b AND c AND d"},
	{name: "not", in: "NOT a:1", want: "NOT a:1"},
	{name: "bang", in: "!a:1", want: "NOT a:1"},
	{name: "bang space", in: "! a:1", want: "NOT a:1"},
	{name: "minus", in: "-a:1", want: "NOT a:1"},
	{name: "plus", in: "+a:1 +b", want: "a:1 AND b"},
	{name: "not group", in: "NOT (a OR b)", want: "NOT (a OR b)"},
	{name: "not not", in: "NOT NOT a", want: "NOT NOT a"},
	{name: "minus in word", in: "a-b", want: "a-b"},
	{name: "lowercase operators are words", in: "a and b or c not d", want: "a AND and AND b AND or AND c AND not AND d"},
	{name: "NOTE is a word", in: "NOTE ORACLE ANDROID", want: "NOTE AND ORACLE AND ANDROID"},
	{name: "operator before paren", in: "a AND(b OR c)", want: "a AND (b OR c)"},
	{name: "field group", in: "eventName:(ConsoleLogin OR AssumeRole*)", want: "eventName:ConsoleLogin OR eventName:AssumeRole*"},
	{name: "field group in and", in: "x:1 AND eventName:(a OR b)", want: "x:1 AND (eventName:a OR eventName:b)"},
	{name: "field group implicit and", in: "tags:(a b)", want: "tags:a AND tags:b"},
	{name: "field group not", in: `a:(x -y "z w")`, want: `a:x AND NOT a:y AND a:"z w"`},
	{name: "field group range", in: "port:([1 TO 5] OR >=8000)", want: "port:[1 TO 5] OR port:>=8000"},
	{name: "field group colon literal", in: "source.ip:(10.0.0.0/8 OR 2001:db8::/32)", want: "source.ip:10.0.0.0/8 OR source.ip:2001:db8::/32"},
	{name: "escaped keyword", in: `\AND`, want: `\AND`},
	{name: "escaped minus", in: `\-a`, want: `\-a`},
	{name: "free text colon escaped", in: `a\:b`, want: `a\:b`},
	{name: "unicode", in: `user.name:José "日本 語"`, want: `user.name:José AND "日本 語"`},
	{name: "star and term", in: "* AND a", want: "* AND a"},
	{name: "field value keyword", in: `a:\OR`, want: `a:\OR`},
	{name: "bool", in: "event.outcome:true", want: "event.outcome:true"},
}

func TestParseString(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseAt(tc.in, testNow)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tc.in, err)
			}
			got := n.String()
			if got != tc.want {
				t.Errorf("ParseAt(%q).String() = %q, want %q", tc.in, got, tc.want)
			}
			again, err := ParseAt(got, testNow)
			if err != nil {
				t.Fatalf("reparsing %q: %v", got, err)
			}
			if !reflect.DeepEqual(n, again) {
				t.Errorf("reparsing %q gives %#v, want %#v", got, again, n)
			}
		})
	}
}

func TestParseAST(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Node
	}{
		{name: "empty", in: "", want: &MatchAll{}},
		{name: "term", in: "a:b", want: &Term{Field: "a", Value: "b"}},
		{name: "free term", in: "b", want: &Term{Value: "b"}},
		{name: "escapes removed", in: `a:x\:y\\z`, want: &Term{Field: "a", Value: `x:y\z`}},
		{name: "phrase", in: `a:"x \"y\""`, want: &Phrase{Field: "a", Value: `x "y"`}},
		{name: "wildcard keeps needed escapes", in: `a:x\:y\*z*`, want: &Wildcard{Field: "a", Pattern: `x:y\*z*`}},
		{name: "range", in: "p:{1 TO 5]", want: &Range{Field: "p", From: "1", To: "5", IncludeTo: true, Now: testNow}},
		{name: "gt", in: "p:>1", want: &Range{Field: "p", From: "1", Now: testNow}},
		{name: "lte", in: "p:<=now-1d", want: &Range{Field: "p", To: "now-1d", IncludeTo: true, Now: testNow}},
		{name: "open end not inclusive", in: "p:[1 TO *]", want: &Range{Field: "p", From: "1", IncludeFrom: true, Now: testNow}},
		{name: "exists", in: "_exists_:a.b", want: &Exists{Field: "a.b"}},
		{name: "cidr", in: "ip:10.1.2.3/8", want: &CIDR{Field: "ip", Prefix: netip.MustParsePrefix("10.1.2.3/8")}},
		{name: "cidr v6", in: "ip:fe80::/10", want: &CIDR{Field: "ip", Prefix: netip.MustParsePrefix("fe80::/10")}},
		{name: "not", in: "-a", want: &Not{Node: &Term{Value: "a"}}},
		{name: "precedence", in: "a OR b c", want: &Or{Nodes: []Node{&Term{Value: "a"}, &And{Nodes: []Node{&Term{Value: "b"}, &Term{Value: "c"}}}}}},
		{name: "group", in: "f:(a OR -b)", want: &Or{Nodes: []Node{&Term{Field: "f", Value: "a"}, &Not{Node: &Term{Field: "f", Value: "b"}}}}},
		{name: "group ends", in: "f:(a) b", want: &And{Nodes: []Node{&Term{Field: "f", Value: "a"}, &Term{Value: "b"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAt(tc.in, testNow)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseAt(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

// errorCases are broken queries with the position and message of their
// error. They also seed FuzzParse.
var errorCases = []struct {
	name string
	in   string
	pos  int
	msg  string
}{
	{name: "unclosed paren", in: "(a OR b", pos: 0, msg: "'(' is never closed"},
	{name: "unclosed nested", in: "a AND (b OR (c)", pos: 6, msg: "'(' is never closed"},
	{name: "stray close", in: "a OR b)", pos: 6, msg: "')' without a matching '('"},
	{name: "leading close", in: ")", pos: 0, msg: "')' without a matching '('"},
	{name: "empty parens", in: "a ()", pos: 2, msg: "empty parentheses"},
	{name: "dangling and", in: "a AND", pos: 2, msg: "AND needs a term on its right"},
	{name: "dangling and symbol", in: "a &&  ", pos: 2, msg: "AND needs a term on its right"},
	{name: "dangling or", in: "a OR ", pos: 2, msg: "OR needs a term on its right"},
	{name: "and before close", in: "(a AND) b", pos: 3, msg: "AND needs a term on its right"},
	{name: "leading and", in: "AND a", pos: 0, msg: "AND needs a term on its left"},
	{name: "leading or", in: "|| a", pos: 0, msg: "OR needs a term on its left"},
	{name: "and or", in: "a AND OR b", pos: 2, msg: "AND needs a term on its right"},
	{name: "dangling not", in: "a NOT", pos: 2, msg: "NOT needs a term on its right"},
	{name: "dangling bang", in: "!", pos: 0, msg: "NOT needs a term on its right"},
	{name: "lone minus", in: "a - b", pos: 2, msg: "'-' needs a term right after it"},
	{name: "missing value", in: "a:", pos: 2, msg: `missing value after "a:"`},
	{name: "missing value before and", in: "a: AND b", pos: 3, msg: `missing value after "a:"`},
	{name: "missing field", in: ":a", pos: 0, msg: "missing field name before ':'"},
	{name: "bad field", in: `a\ b:c`, pos: 0, msg: "invalid field name"},
	{name: "bad exists", in: "_exists_:a*", pos: 9, msg: "_exists_ needs a field name"},
	{name: "range without TO", in: "p:[1 5]", pos: 5, msg: "bad range: expected TO"},
	{name: "range lowercase to", in: "p:[1 to 5]", pos: 5, msg: "bad range: expected TO"},
	{name: "range unclosed", in: "p:[1 TO 5", pos: 2, msg: "bad range: missing the closing ] or }"},
	{name: "range missing upper", in: "p:[1 TO]", pos: 7, msg: "bad range: missing bound"},
	{name: "range bad close", in: "p:[1 TO 5 6]", pos: 10, msg: "bad range: expected ] or }"},
	{name: "range ends early", in: "p:[1", pos: 2, msg: "bad range: expected TO before the end"},
	{name: "range empty bound", in: `p:["" TO 5]`, pos: 3, msg: "bad range: empty bound"},
	{name: "range without field", in: "[1 TO 5]", pos: 0, msg: "a range needs a field"},
	{name: "compare without field", in: ">=5", pos: 0, msg: "a comparison needs a field"},
	{name: "compare without value", in: "p:>= 5", pos: 2, msg: `missing value after ">="`},
	{name: "compare star", in: "p:<*", pos: 3, msg: "a comparison needs a value, not *"},
	{name: "bad cidr prefix", in: "source.ip:10.0.0.0/33", pos: 10, msg: `bad CIDR "10.0.0.0/33"`},
	{name: "bad cidr address", in: "a:1 source.ip:300.0.0.0/8", pos: 14, msg: `bad CIDR "300.0.0.0/8"`},
	{name: "bad cidr v6", in: "source.ip:2001:db8::/129", pos: 10, msg: `bad CIDR`},
	{name: "unterminated phrase", in: `a:"abc`, pos: 2, msg: "unterminated quoted phrase"},
	{name: "trailing escape", in: `abc\`, pos: 3, msg: "escape character '\\' at the end"},
	{name: "trailing escape in phrase", in: `"abc\`, pos: 4, msg: "escape character '\\' at the end"},
	{name: "too deep", in: strings.Repeat("(", 200) + "a" + strings.Repeat(")", 200), pos: 100, msg: "deeper than 100"},
	{name: "too many nots", in: strings.Repeat("NOT ", 200) + "a", pos: 400, msg: "deeper than 100"},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseAt(tc.in, testNow)
			if err == nil {
				t.Fatalf("ParseAt(%q) = %v, want an error", tc.in, n)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseAt(%q) error %T %v, want *SyntaxError", tc.in, err, err)
			}
			if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("ParseAt(%q) = position %d %q, want position %d containing %q", tc.in, se.Pos, se.Msg, tc.pos, tc.msg)
			}
			if want := "query: position "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
		})
	}
}

// TestRelative checks which queries hold a bound relative to the clock,
// escaped or nested ones included.
func TestRelative(t *testing.T) {
	tests := []struct {
		q    string
		want bool
	}{
		{q: `@timestamp:>=now-24h`, want: true},
		{q: `@timestamp:<n\ow`, want: true},
		{q: `@timestamp:[now-7d TO now]`, want: true},
		{q: `user.name:x AND NOT (a:1 OR @timestamp:<now)`, want: true},
		{q: `user.name:now`, want: false},
		{q: `snow`, want: false},
		{q: `@timestamp:[2026-01-01 TO 2026-02-01]`, want: false},
		{q: ``, want: false},
	}
	for _, tt := range tests {
		n, err := Parse(tt.q)
		if err != nil {
			t.Fatalf("%q: %v", tt.q, err)
		}
		if got := Relative(n); got != tt.want {
			t.Errorf("Relative(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}
