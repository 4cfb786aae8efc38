package web

import "github.com/vigil-siem/vigil/internal/store"

// NewFakeStoreForTest returns the in-memory fake store holding docs; the
// browser test uses it when the build has no DuckDB (no cgo).
func NewFakeStoreForTest(docs []store.Doc) store.Store {
	return newFakeStore(docs)
}

// SyntheticDocsForTest returns n synthetic documents per log type, dated
// within the day before now, two of them carrying the XSS strings.
func SyntheticDocsForTest(n int) []store.Doc {
	return synthDocs(testNow, n)
}
