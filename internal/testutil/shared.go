package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// SharedDir returns the shared folder beside the repository ($VIGIL_SHARED,
// else ../shared), or fails the test saying where it looked.
func SharedDir(t testing.TB) string {
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
