package ntheap

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A Reader reads process memory by virtual address. *minidump.Memory satisfies it;
// bytes the dump did not capture give an error (*minidump.MissingMemoryError).
type Reader interface {
	ReadAt(p []byte, va uint64) (int, error)
}

// errShort is returned when a read returned fewer bytes than asked without error.
var errShort = errors.New("short read")

// A ReadError is a read of heap memory that failed: the address, what was being
// read and why (usually: the dump did not capture those bytes).
type ReadError struct {
	Addr uint64
	What string
	Err  error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("ntheap: reading %s at %#x: %v", e.What, e.Addr, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// mem wraps a Reader with the pointer size and typed reads. It keeps one cached
// window so that walking thousands of 8-byte headers does not make thousands of
// reads of the dump.
type mem struct {
	r   Reader
	ptr int

	win      []byte
	winBase  uint64
	winLen   int
	failed64 uint64 // 1 + the base of the last 64 KB window that was not captured
}

const windowSize = 64 << 10

func newMem(r Reader, ptr int) *mem { return &mem{r: r, ptr: ptr} }

func (m *mem) read(p []byte, va uint64, what string) error {
	if va+uint64(len(p)) < va {
		return &ReadError{va, what, errors.New("address range wraps around")}
	}
	n, err := m.r.ReadAt(p, va)
	if err != nil {
		return &ReadError{va, what, err}
	}
	if n < len(p) {
		return &ReadError{va, what, errShort}
	}
	return nil
}

// cached reads through the window. The window is the 64 KB around va, or when
// that is not completely captured, the 4 KB page; a base that failed is not
// tried again, so a walk near the end of captured memory costs one failed read,
// not one per header.
func (m *mem) cached(p []byte, va uint64, what string) error {
	end := va + uint64(len(p))
	if end < va {
		return &ReadError{va, what, errors.New("address range wraps around")}
	}
	if m.winLen > 0 && va >= m.winBase && end <= m.winBase+uint64(m.winLen) {
		copy(p, m.win[va-m.winBase:])
		return nil
	}
	if m.win == nil {
		m.win = make([]byte, windowSize)
	}
	for _, size := range []uint64{windowSize, pageSize} {
		base := va &^ (size - 1)
		if end > base+size || base+size < base {
			continue
		}
		if size == windowSize && m.failed64 == base+1 {
			continue
		}
		w := m.win[:size]
		if n, err := m.r.ReadAt(w, base); err == nil && n == len(w) {
			m.winBase, m.winLen = base, int(size)
			copy(p, w[va-base:])
			return nil
		}
		if size == windowSize {
			m.failed64 = base + 1
		}
	}
	m.winLen = 0
	return m.read(p, va, what)
}

func (m *mem) u8(va uint64, what string) (uint8, error) {
	var b [1]byte
	err := m.read(b[:], va, what)
	return b[0], err
}

func (m *mem) u16(va uint64, what string) (uint16, error) {
	var b [2]byte
	err := m.read(b[:], va, what)
	return binary.LittleEndian.Uint16(b[:]), err
}

func (m *mem) u32(va uint64, what string) (uint32, error) {
	var b [4]byte
	err := m.read(b[:], va, what)
	return binary.LittleEndian.Uint32(b[:]), err
}

func (m *mem) u64(va uint64, what string) (uint64, error) {
	var b [8]byte
	err := m.read(b[:], va, what)
	return binary.LittleEndian.Uint64(b[:]), err
}

// ptrAt reads a pointer (or SIZE_T) of the heap's pointer size.
func (m *mem) ptrAt(va uint64, what string) (uint64, error) {
	if m.ptr == 4 {
		v, err := m.u32(va, what)
		return uint64(v), err
	}
	return m.u64(va, what)
}

// le reads a little-endian integer of n bytes from b at off.
func le(b []byte, off uint64, n int) uint64 {
	if off+uint64(n) > uint64(len(b)) {
		return 0
	}
	switch n {
	case 1:
		return uint64(b[off])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b[off:]))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b[off:]))
	default:
		return binary.LittleEndian.Uint64(b[off:])
	}
}
