package web

import "github.com/vigil-siem/vigil/internal/store"

// NewSyntheticStoreForTest returns the in-memory fake store holding n
// synthetic documents per log type, dated within the day before now; the
// browser test uses it when the build has no DuckDB (no cgo).
func NewSyntheticStoreForTest(n int) store.Store {
	return newFakeStore(synthDocs(testNow, n))
}

// SyntheticDocsForTest returns n synthetic documents per log type, dated
// within the day before now, two of them carrying the XSS strings.
func SyntheticDocsForTest(n int) []store.Doc {
	return synthDocs(testNow, n)
}
