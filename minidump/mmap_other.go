//go:build !unix

package minidump

import "os"

// mapFile maps nothing where the system has no mmap: the file is read with
// ReadAt.
func mapFile(*os.File, int64) *mappedFile { return nil }
