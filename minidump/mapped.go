package minidump

import (
	"errors"
)

// mapMin is the size from which Open maps a dump for its long lists: below it,
// the map and unmap calls cost more than the reads they save.
const mapMin = 1 << 20

// A mappedFile is a dump file mapped into memory, read only, for the long lists
// (a MemoryInfoList of a million entries is 48 MB): they are decoded where they
// lie, in chunks, each released once decoded (release), so the process maps no
// more of the file than a chunk per reader. Every other read goes through
// ReadAt and a small cache: reads scattered over a full-memory dump would
// otherwise leave hundreds of megabytes of it mapped.
//
// A mapped file that another process truncates faults when a page past its new
// end is read. The chunks are read with debug.SetPanicOnFault, so such a fault is
// an error (ErrFileChanged), never a crash.
type mappedFile struct {
	data  []byte
	unmap func() error
	// release gives back the pages of data[lo:hi] (whole pages only) once read.
	release func(lo, hi int)
}

// ErrFileChanged reports that a mapped dump file was truncated while it was read.
var ErrFileChanged = errors.New("minidump: the file was truncated while it was read")

// bytes returns the n bytes at off, in place, or false when they are not all in
// the file. Whoever reads them must do it under guardFault.
func (m *mappedFile) bytes(off int64, n int) ([]byte, bool) {
	if m.data == nil || off < 0 || n < 0 || off > int64(len(m.data)) || int64(n) > int64(len(m.data))-off {
		return nil, false
	}
	return m.data[off : off+int64(n) : off+int64(n)], true
}

// done releases the whole pages below off+n, from off on: a reader scanning
// forward calls it after each chunk.
func (m *mappedFile) done(off int64, n int) {
	if m.release != nil && m.data != nil {
		m.release(int(off), int(off)+n)
	}
}

func (m *mappedFile) Close() error {
	m.data = nil
	return m.unmap()
}

// guardFault turns a memory fault in the deferring function into ErrFileChanged in
// *err. It is deferred after `defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))`,
// so it runs first; other panics go on.
func guardFault(err *error) {
	if r := recover(); r != nil {
		if re, ok := r.(interface{ Addr() uintptr }); ok && re != nil {
			*err = ErrFileChanged
			return
		}
		panic(r)
	}
}
