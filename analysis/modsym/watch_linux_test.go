package modsym_test

import (
	"encoding/binary"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// watchOpens watches every folder under root except the allowed ones (and
// their subtrees) for files and folders being opened or read, and returns a
// function that reports what was: the proof that a lookup stayed inside the
// allowed folders. Opening an allowed folder itself (listing it) is allowed.
func watchOpens(t *testing.T, root string, allowed ...string) func() []string {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	isAllowed := func(p string) bool {
		for _, a := range allowed {
			if p == a || strings.HasPrefix(p, a+string(filepath.Separator)) {
				return true
			}
		}
		return false
	}
	dirs := map[int32]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if isAllowed(p) {
			return filepath.SkipDir
		}
		wd, err := syscall.InotifyAddWatch(fd, p, syscall.IN_OPEN|syscall.IN_ACCESS)
		if err != nil {
			t.Fatalf("inotify watch %s: %v", p, err)
		}
		dirs[int32(wd)] = p
		return nil
	})
	read := func() []string {
		var out []string
		buf := make([]byte, 64<<10)
		for {
			n, err := syscall.Read(fd, buf)
			if n <= 0 || err != nil {
				return out
			}
			for off := 0; off+16 <= n; {
				wd := int32(binary.LittleEndian.Uint32(buf[off:]))
				mask := binary.LittleEndian.Uint32(buf[off+4:])
				l := int(binary.LittleEndian.Uint32(buf[off+12:]))
				name := strings.TrimRight(string(buf[off+16:off+16+l]), "\x00")
				off += 16 + l
				p := filepath.Join(dirs[wd], name)
				if name == "" || (mask&syscall.IN_ISDIR != 0 && isAllowed(p)) {
					continue // the watched folder itself, or an allowed folder listed
				}
				out = append(out, p)
			}
		}
	}
	read() // the walk above listed the folders it watches
	return read
}
