package query

// DSLSchema tells ToDSL the kind of each field. A nil DSLSchema makes every
// field Keyword.
type DSLSchema interface {
	Kind(field string) Kind
}

// FreeTextDSLSchema is a DSLSchema that also names the fields free text
// searches in OpenSearch; without it free text searches every field ("*").
type FreeTextDSLSchema interface {
	DSLSchema
	FreeTextFields() []string
}

// ToDSL renders n as one OpenSearch query clause (the value of "query" in a
// search request): bool, term, match, match_phrase, wildcard, range,
// exists, match_all, or query_string for free text. Dates pass through as
// written (OpenSearch resolves now-24h itself, with the same rounding
// rules); numbers become JSON numbers. Errors are *FieldError.
func ToDSL(n Node, s DSLSchema) (map[string]any, error) {
	return toDSL(n, s)
}
