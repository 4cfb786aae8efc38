// Package query is Vigil's search language: the query-bar syntax security
// engineers know from OpenSearch Dashboards (Lucene style), parsed once into
// an AST and rendered either to a DuckDB SQL WHERE clause with bound
// parameters (the embedded store) or to an OpenSearch query DSL clause.
//
// # Syntax
//
//	error                        free text: case-insensitive substring of the free-text fields
//	"access denied"              free-text phrase, the same
//	adm*n  us?r                  free-text wildcards: * any run of characters, ? one character
//	eventName:ConsoleLogin       field:value
//	userAgent:"aws cli/2.0"      field:"quoted value" (\" and \\ escape inside quotes)
//	eventName:Get*               wildcard on a field
//	userIdentity.arn:arn\:aws\:iam*   backslash escapes any character (here ':')
//	field:(a OR b)               grouping: the field applies to every term in the parentheses
//	destination.port:[1024 TO 65535]  inclusive range; {a TO b} exclusive; [a TO b} mixed; * open end
//	destination.port:>=1024      comparisons >= > <= < (numbers, dates, strings)
//	@timestamp:>=now-24h         relative dates: now, now-24h, now-7d, now-1d/d (see below)
//	source.ip:10.0.0.0/8         CIDR on IP fields (IPv6 too: source.ip:2001:db8::/32)
//	_exists_:user.name           the field has a value; user.name:* is the same
//	a AND b, a && b, a b         conjunction; juxtaposition is AND
//	a OR b, a || b               disjunction
//	NOT a, !a, -a                negation
//	( ... )                      grouping
//	*                            matches everything; so does the empty query
//
// Operators AND, OR, NOT and TO are upper case; in lower case they are
// words. Precedence, tightest first: NOT (and ! and -), AND (and
// juxtaposition), OR. Operators must be separated from their operands by
// white space or parentheses ("a&&b" is one word). Inside a field's value an
// unescaped ':' is an ordinary character, so IPv6 addresses and ARNs need no
// escaping after the first colon: source.ip:2001:db8::1. Field names consist
// of letters, digits and . @ _ - and do not start with -.
//
// # Semantics
//
// The AST does not know field types; the renderers learn them from a schema
// (SQLSchema or DSLSchema) and apply these rules:
//
//   - Keyword: exact, case-sensitive match, like OpenSearch keyword fields.
//     Wildcards become SQL LIKE (with '%', '_' and '\' in the value escaped)
//     or an OpenSearch wildcard query.
//   - Text: case-insensitive substring match for terms, phrases and
//     wildcards (SQL ILIKE); in OpenSearch match, match_phrase and a
//     case-insensitive wildcard.
//   - Long, Double: numeric comparison; a value that is not a number is an
//     error naming the field and the value. Long takes integers only.
//   - Date: ISO 8601 (2024-05-01, 2024-05-01T10:00:00Z, with fraction or
//     offset; no offset means UTC) or epoch milliseconds, compared as epoch
//     ms. A value denotes the interval of its precision, as in OpenSearch:
//     @timestamp:2024-05-01 is the whole day, [a TO b] includes all of b's
//     day, {a TO b} excludes all of both days. Relative dates (now, now-24h,
//     now+1h, now-7d/d; units y M w d h H m s) are allowed in ranges and
//     comparisons and resolve against the clock reading given to ParseAt
//     (Parse uses the current time).
//   - IP: exact address, CIDR prefix, or a range of addresses. Comparison is
//     numeric (IPv4 as IPv4-mapped IPv6), so 10.0.0.1 and ::ffff:10.0.0.1
//     are the same address.
//   - Bool: true or false (any case).
//
// Free text (a term, phrase or wildcard without a field) in SQL is a
// case-insensitive substring match over SQLSchema.FreeText(), any of which
// may match. In OpenSearch it becomes a query_string query over the fields
// named by the schema's FreeTextFields method when it has one (see
// FreeTextDSLSchema), else over every field ("*"), with lenient parsing;
// OpenSearch then matches analysed words in text fields and whole values in
// keyword fields, so a substring needs wildcards there (*admin*).
//
// A negation matches documents where the field is missing, as in
// OpenSearch: NOT user.name:root includes documents without user.name.
package query

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Node is a parsed query: one node of the AST. Parse returns pointers to
// the node types below (*And, *Or, *Not, *Term, *Phrase, *Wildcard,
// *Range, *Exists, *CIDR, *MatchAll), which the renderers accept. String
// renders a node back to query syntax that parses to an equal node.
type Node interface {
	String() string
}

// MatchAll matches every document: the empty query and "*".
type MatchAll struct{}

// And matches documents that match every one of Nodes (at least two).
type And struct{ Nodes []Node }

// Or matches documents that match at least one of Nodes (at least two).
type Or struct{ Nodes []Node }

// Not matches documents that do not match Node, including documents that
// lack the fields Node tests.
type Not struct{ Node Node }

// Term matches one value: Field exactly equal to Value (keyword, number,
// date, IP, bool) or containing it (text). Field "" is free text. Value has
// its escapes removed.
type Term struct{ Field, Value string }

// Phrase is a quoted value: like Term, but never a wildcard or a CIDR.
// Field "" is free text.
type Phrase struct{ Field, Value string }

// Wildcard matches Field against Pattern, where an unescaped * is any run of
// characters, ? is exactly one character, and a backslash makes the next
// character literal (so \*, \? and \\ are the literal characters). Field ""
// is free text.
type Wildcard struct{ Field, Pattern string }

// Range bounds Field between From and To. A bound is the value as written
// (escapes removed): a number, a date (ISO 8601, epoch ms, or relative like
// now-24h), an IP address or a string. An empty bound leaves that side
// open, and its Include flag is then false.
type Range struct {
	Field                  string
	From, To               string
	IncludeFrom, IncludeTo bool
	// Now resolves relative dates such as now-24h. ParseAt sets it.
	Now time.Time
}

// Exists matches documents where Field has a value: _exists_:field or
// field:*.
type Exists struct{ Field string }

// CIDR matches IP addresses inside Prefix (field:10.0.0.0/8). Prefix is kept
// as written; renderers use Prefix.Masked().
type CIDR struct {
	Field  string
	Prefix netip.Prefix
}

// Kind is the type of a field, which decides how a value is compared.
type Kind int

// The field kinds; their String forms are the store's type names.
const (
	// Keyword is an exact, case-sensitive string (the zero Kind).
	Keyword Kind = iota
	// Text is free text matched case-insensitively as a substring.
	Text
	// Long is a 64-bit integer.
	Long
	// Double is a floating-point number.
	Double
	// IP is an IPv4 or IPv6 address.
	IP
	// Date is a point in time; SQL expressions hold epoch milliseconds.
	Date
	// Bool is true or false.
	Bool
)

var kindNames = [...]string{"keyword", "text", "long", "double", "ip", "date", "boolean"}

// String returns the type name the store and OpenSearch mappings use:
// keyword, text, long, double, ip, date or boolean.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// KindOf maps a type name (a Kind's String form, or the OpenSearch mapping
// types integer, short, byte, float, half_float, scaled_float,
// match_only_text, wildcard, constant_keyword, date_nanos, bool) to its
// Kind; ok is false for other names.
func KindOf(typeName string) (k Kind, ok bool) {
	switch typeName {
	case "keyword", "constant_keyword", "wildcard":
		return Keyword, true
	case "text", "match_only_text":
		return Text, true
	case "long", "integer", "short", "byte", "unsigned_long":
		return Long, true
	case "double", "float", "half_float", "scaled_float":
		return Double, true
	case "ip":
		return IP, true
	case "date", "date_nanos":
		return Date, true
	case "boolean", "bool":
		return Bool, true
	}
	return Keyword, false
}

// SyntaxError is the error Parse returns for input it cannot parse. Pos is
// the byte offset in the input (0-based) where the problem was found.
type SyntaxError struct {
	Pos int
	Msg string
}

// Error returns "query: position N: msg".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("query: position %d: %s", e.Pos, e.Msg)
}

// FieldError is the error ToSQL and ToDSL return when a query does not fit
// the schema: an unknown field, or a value the field's kind cannot take
// (a word for a number field, an IPv6 CIDR where only IPv4 is possible).
// Value is empty when the problem is not about one value; Field is empty
// when the problem is about free text.
type FieldError struct {
	Field string
	Value string
	Msg   string
}

// Error returns `query: field "f": value "v": msg`, or `query: free text:
// msg` when Field is empty.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return "query: free text: " + e.Msg
	}
	if e.Value == "" {
		return fmt.Sprintf("query: field %q: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("query: field %q: value %q: %s", e.Field, e.Value, e.Msg)
}

// Parse parses a query-bar string. The empty string and "*" give MatchAll.
// Relative dates resolve against the current time; use ParseAt for a
// fixed clock. Errors are *SyntaxError.
func Parse(s string) (Node, error) {
	return ParseAt(s, time.Now())
}

// ParseAt is Parse with relative dates (now-24h) resolved against now.
func ParseAt(s string, now time.Time) (Node, error) {
	return parse(s, now)
}

// Relative reports whether n holds a range bound relative to the current
// time (now-24h, or now itself), whose documents change with the clock
// even when the stored documents do not. Escapes do not hide one: n holds
// the values as parsed.
func Relative(n Node) bool {
	switch n := n.(type) {
	case *And:
		return slices.ContainsFunc(n.Nodes, Relative)
	case *Or:
		return slices.ContainsFunc(n.Nodes, Relative)
	case *Not:
		return Relative(n.Node)
	case *Range:
		return relative(n.From) || relative(n.To)
	}
	return false
}
