package minidump

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

// mapMin is the size from which Open maps a dump instead of reading it: below it,
// the map and unmap calls cost more than the reads they save.
const mapMin = 1 << 20

// A mappedFile is a dump file mapped into memory. Reading it copies the bytes out
// of the page cache without a system call (ReadAt), and the long lists (the
// MemoryInfoList of a million regions) are decoded where they lie (bytes).
//
// A mapped file that another process truncates faults when a page past its new
// end is read. The reads run with debug.SetPanicOnFault, so such a fault is an
// error (ErrFileChanged), never a crash.
type mappedFile struct {
	data  []byte
	unmap func() error
}

// ErrFileChanged reports that a mapped dump file was truncated while it was read.
var ErrFileChanged = errors.New("minidump: the file was truncated while it was read")

func (m *mappedFile) ReadAt(p []byte, off int64) (n int, err error) {
	if off < 0 {
		return 0, fmt.Errorf("minidump: negative offset %d", off)
	}
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guardFault(&err)
	n = copy(p, m.data[off:])
	if n < len(p) {
		err = io.EOF
	}
	return n, err
}

// bytes returns the n bytes at off, in place, or false when they are not all in
// the file. Whoever reads them must do it under guardFault.
func (m *mappedFile) bytes(off int64, n int) ([]byte, bool) {
	if off < 0 || n < 0 || off > int64(len(m.data)) || int64(n) > int64(len(m.data))-off {
		return nil, false
	}
	return m.data[off : off+int64(n) : off+int64(n)], true
}

func (m *mappedFile) Close() error {
	m.data = nil // a read after Close is an error, not a read of whatever is mapped there next
	return m.unmap()
}

// guardFault turns a memory fault in the deferring function into ErrFileChanged in
// *err. It is deferred after `defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))`,
// so it runs first; other panics go on.
func guardFault(err *error) {
	// Called by defer: recover works here.
	if r := recover(); r != nil {
		if re, ok := r.(interface{ Addr() uintptr }); ok && re != nil {
			*err = ErrFileChanged
			return
		}
		panic(r)
	}
}
