// Package sharedtest finds the read-only shared corpus for tests. The corpus
// lives beside the repository (../shared from the repository root) and is
// read in place, never copied, so tests walk up from their package directory
// to find it and skip when it is absent.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of shared/corpus/symbols, or skips t.
func Dir(t testing.TB) string {
	t.Helper()
	d, ok := Find()
	if !ok {
		t.Skip("shared corpus (../shared/corpus/symbols) not found; skipping")
	}
	return d
}

// Find walks up from the working directory to the first directory holding
// shared/corpus/symbols and returns that path.
func Find() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(dir, "shared", "corpus", "symbols")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
