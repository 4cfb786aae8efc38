//go:build conformance

// Package conformance holds the tests that measure Vigil against material in
// the shared folder (VIGIL_SHARED, default ../shared beside the repository):
// es-loader's own output and Elastic's ECS test pipelines. They are run by
// `make conformance` and fail, never skip, when the folder is missing.
package conformance

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// sharedDir returns the shared folder or fails the test.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("VIGIL_SHARED")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
	}
	if st, err := os.Stat(filepath.Join(dir, "corpus")); err != nil || !st.IsDir() {
		t.Fatalf("shared folder not found at %s (set VIGIL_SHARED): %v", dir, err)
	}
	return dir
}

// flatten turns nested objects into dotted leaf paths: lists and empty
// objects are leaves (as compare_ecs.py counts them).
func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok || (len(m) == 0 && prefix != "") {
		out[prefix] = v
		return
	}
	for k, e := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		flatten(p, e, out)
	}
}
