package query

// SQLField is how the store exposes one field to SQL.
type SQLField struct {
	// Expr is the SQL expression for the value. It may contain ?
	// placeholders bound to Args (e.g. json_extract_string(doc, ?)), and is
	// repeated, with its Args, wherever the rendering needs the value. Its
	// SQL type must fit Kind: VARCHAR for Keyword, Text and IP, BIGINT for
	// Long, DOUBLE for Double, BIGINT epoch milliseconds for Date, BOOLEAN
	// for Bool; or VARCHAR[] when List is set.
	Expr string
	// Args are the values bound to Expr's placeholders, in order.
	Args []any
	// Kind decides how values compare.
	Kind Kind
	// List says Expr is a VARCHAR[] list (e.g. related.ip); a document
	// matches if any element matches.
	List bool
	// Num, for Kind IP, is an optional SQL expression (with no
	// placeholders) giving the address as UHUGEINT, IPv4 addresses
	// mapped into ::ffff:0:0/96. CIDRs, ranges and exact addresses then
	// compare numerically against it: a CIDR renders as
	// Num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT), the bounds
	// bound as decimal strings. When Num is empty, CIDRs and ranges
	// compare vigil_ip2num(Expr) (see IP2NumMacro), which knows IPv4
	// only: an IPv6 CIDR or range on such a field is a *FieldError, and
	// exact addresses compare Expr as text (the canonical form, IPv4 as a
	// dotted quad). Num is ignored when List is set.
	Num string
}

// SQLSchema is how the store describes its fields to ToSQL.
type SQLSchema interface {
	// Field returns how to read the named field; false means there is no
	// such field, which ToSQL reports as a *FieldError.
	Field(name string) (SQLField, bool)
	// FreeText returns the expressions free text searches, as
	// case-insensitive substrings (e.g. the @message column).
	FreeText() []SQLField
}

// IP2NumMacro defines the DuckDB macro vigil_ip2num(s): the IPv4 address in
// the VARCHAR s as a UHUGEINT mapped into ::ffff:0:0/96 (the same numbers as
// SQLField.Num), or NULL when s is not a dotted-quad IPv4 address. The store
// runs it once per connection before using ToSQL's output on IP fields
// without Num, or CIDRs on keyword fields.
const IP2NumMacro = `CREATE OR REPLACE MACRO vigil_ip2num(s) AS ` +
	`CASE WHEN regexp_full_match(s, '((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])') ` +
	`THEN CAST(281470681743360 AS UHUGEINT) + ` +
	`CAST(split_part(s, '.', 1) AS UHUGEINT) * 16777216 + ` +
	`CAST(split_part(s, '.', 2) AS UHUGEINT) * 65536 + ` +
	`CAST(split_part(s, '.', 3) AS UHUGEINT) * 256 + ` +
	`CAST(split_part(s, '.', 4) AS UHUGEINT) END`

// ToSQL renders n as a boolean DuckDB SQL expression for a WHERE clause, with
// every value bound as a parameter: where holds ? placeholders, args their
// values in order. MatchAll renders as "TRUE". Errors about fields and
// values are *FieldError.
func ToSQL(n Node, s SQLSchema) (where string, args []any, err error) {
	return toSQL(n, s)
}
