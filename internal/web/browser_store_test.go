package web

import (
	"testing"
)

// browserStore serves the browser test from the fake store with synthetic
// documents of every log type the dashboards read.
func browserStore(t *testing.T) *browserData {
	t.Helper()
	st := newFakeStore(synthDocs(testNow, 400))
	srv, err := New(st, Options{Version: "browser-test"}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	return &browserData{st: st, srv: srv, since: "7d", xssQuery: `user.name:"` + xssScript + `"`}
}
