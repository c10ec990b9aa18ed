//go:build unix

package minidump

import (
	"os"
	"syscall"
)

// mapFile maps the dump file into memory, read only, where the system allows, so
// that reading it copies nothing (see mappedFile). It returns nil when the file is
// small or cannot be mapped; the caller then reads it with pread.
func mapFile(fh *os.File, size int64) *mappedFile {
	if size < mapMin || size != int64(int(size)) {
		return nil
	}
	data, err := syscall.Mmap(int(fh.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	return &mappedFile{data: data, unmap: func() error { return syscall.Munmap(data) }}
}
