package minidumptest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	// The fixtures' full-memory dumps are xz-compressed; the xz command is ten
	// times faster, and this pure-Go decoder stands in where it is missing.
	"github.com/ulikunitz/xz"
)

var unxzMu sync.Mutex

// UnpackXZ returns the path of the decompressed contents of the .xz file at path
// (a fixture's full-memory dump), skipping tb when path does not exist. The
// result is kept in a folder of the system's temporary directory shared by test
// binaries and runs, keyed by the file's name, size and modification time, so a
// 30-50 MB dump is decompressed once per machine rather than once per test
// package. The xz command is used when there is one.
func UnpackXZ(tb testing.TB, path string) string {
	tb.Helper()
	st, err := os.Stat(path)
	if err != nil {
		tb.Skipf("fixture %s: %v", path, err)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("dumpmap-unxz-%d", os.Getuid()))
	out := filepath.Join(dir, fmt.Sprintf("%s-%d-%d", strings.TrimSuffix(filepath.Base(path), ".xz"), st.Size(), st.ModTime().UnixNano()))
	unxzMu.Lock()
	defer unxzMu.Unlock()
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	tmp, err := os.CreateTemp(dir, "partial-*")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(tmp.Name())
	if err := decompress(path, tmp); err != nil {
		tmp.Close()
		tb.Fatalf("%s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		tb.Fatal(err)
	}
	// Another process may have written it meanwhile: the rename replaces it with the
	// same bytes.
	if err := os.Rename(tmp.Name(), out); err != nil {
		tb.Fatal(err)
	}
	return out
}

func decompress(path string, w *os.File) error {
	if xzc, err := exec.LookPath("xz"); err == nil {
		cmd := exec.Command(xzc, "-dc", path)
		cmd.Stdout = w
		if cmd.Run() == nil {
			return nil
		}
		if _, err := w.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := w.Truncate(0); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := xz.NewReader(f)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}
