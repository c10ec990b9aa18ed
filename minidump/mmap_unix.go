//go:build unix

package minidump

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the dump file into memory, read only, where the system allows
// (see mappedFile). It returns nil when the file is small or cannot be mapped;
// the lists are then read with ReadAt.
func mapFile(fh *os.File, size int64) *mappedFile {
	if size < mapMin || size != int64(int(size)) {
		return nil
	}
	data, err := unix.Mmap(int(fh.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	page := os.Getpagesize()
	return &mappedFile{
		data:  data,
		unmap: func() error { return unix.Munmap(data) },
		release: func(lo, hi int) {
			// The whole pages inside [lo, hi); the file's pages stay in the page
			// cache, only this process's mapping of them goes.
			lo = (lo + page - 1) &^ (page - 1)
			hi &^= page - 1
			if lo < hi {
				unix.Madvise(data[lo:hi], unix.MADV_DONTNEED)
			}
		},
	}
}
