//go:build unix

package triage

import (
	"io/fs"
	"syscall"
)

// idOf returns the device and inode of a folder, which identify it whatever path
// (or symbolic link) reaches it.
func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}
