//go:build !cgo

package web_test

import (
	"log/slog"
	"testing"

	"github.com/vigil-siem/vigil/internal/web"
)

// browserStore serves the browser test from the in-memory fake store with
// synthetic documents of every log type (this build has no DuckDB).
func browserStore(t *testing.T) *browserData {
	t.Helper()
	srv, err := web.New(web.NewSyntheticStoreForTest(400), web.Options{Version: "browser-test"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &browserData{srv: srv, since: "7d", xssQuery: `user.name:"` + browserXSSScript + `"`}
}
