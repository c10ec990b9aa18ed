package crash

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/minidump"
)

// Memory reads process memory by virtual address. *minidump.Memory satisfies it:
// bytes the dump did not capture give a *minidump.MissingMemoryError.
type Memory interface {
	ReadAt(p []byte, va uint64) (int, error)
}

// ImageFunc opens the PE image file of a loaded module, for tables the dump did not
// capture. It returns nil and an error saying why when there is none. Decode does
// not close the files it is given.
type ImageFunc func(m *minidump.Module) (*pe.File, error)

// Bounds on the work one Decode does: every read and string is counted.
const (
	maxReads       = 4096
	maxCatchable   = 128
	maxMessage     = 512
	stringChunk    = 64
	maxModuleScans = 1 << 16
)

type source uint8

const (
	fromMemory source = 1 << iota
	fromImage
)

func (s source) String() string {
	switch s {
	case fromMemory:
		return "dump memory"
	case fromImage:
		return "image file"
	case fromMemory | fromImage:
		return "dump memory and image file"
	}
	return ""
}

// reader reads the process's memory, falling back to the image file of the module
// holding an address when the dump did not capture it.
type reader struct {
	mem    Memory
	mods   []minidump.Module
	image  ImageFunc
	images map[int]*imageSlot
	used   source
	reads  int
}

type imageSlot struct {
	f   *pe.File
	err error
}

// readError says why bytes could not be read, in words for an Unknown.
type readError struct{ msg string }

func (e *readError) Error() string { return e.msg }

func rerr(format string, args ...any) error { return &readError{fmt.Sprintf(format, args...)} }

// module returns the index of the module holding va, or -1.
func (r *reader) module(va uint64) int {
	for i := range r.mods {
		if i >= maxModuleScans {
			break
		}
		m := &r.mods[i]
		if va >= m.Base && va-m.Base < uint64(m.Size) {
			return i
		}
	}
	return -1
}

func (r *reader) moduleName(va uint64) string {
	if i := r.module(va); i >= 0 {
		return r.mods[i].BaseName()
	}
	return ""
}

// img opens (once) the image file of module i; nil when there is none.
func (r *reader) img(i int) (*pe.File, error) {
	if s, ok := r.images[i]; ok {
		return s.f, s.err
	}
	s := &imageSlot{}
	m := &r.mods[i]
	switch {
	case r.image == nil:
		s.err = errors.New("no image files were given")
	default:
		s.f, s.err = r.image(m)
		if s.f == nil && s.err == nil {
			s.err = errors.New("no image file")
		}
		if s.f != nil && m.TimeDateStamp != 0 && s.f.TimeDateStamp != m.TimeDateStamp {
			s.err = fmt.Errorf("its image file has timestamp %#x, the module %#x", s.f.TimeDateStamp, m.TimeDateStamp)
			s.f = nil
		}
	}
	if r.images == nil {
		r.images = map[int]*imageSlot{}
	}
	r.images[i] = s
	return s.f, s.err
}

// read fills p from va: from the dump's memory, else from the module image holding
// va. It returns where the bytes came from.
func (r *reader) read(p []byte, va uint64) (source, error) {
	if r.reads >= maxReads {
		return 0, rerr("gave up after %d reads", maxReads)
	}
	r.reads++
	if va+uint64(len(p)) < va {
		return 0, rerr("%d bytes at %#x run past the top of the address space", len(p), va)
	}
	memWhy := "no process memory was given"
	if r.mem != nil {
		n, err := r.mem.ReadAt(p, va)
		if err == nil && n == len(p) {
			r.used |= fromMemory
			return fromMemory, nil
		}
		var miss *minidump.MissingMemoryError
		if err == nil || errors.As(err, &miss) {
			memWhy = "not captured in the dump"
		} else {
			memWhy = "reading the dump failed: " + err.Error()
		}
	}
	i := r.module(va)
	if i < 0 {
		return 0, rerr("%s, and %#x lies in no loaded module", memWhy, va)
	}
	name := r.mods[i].BaseName()
	f, err := r.img(i)
	if f == nil {
		return 0, rerr("%s, and no image file of %s to read it from (%v)", memWhy, name, err)
	}
	rva := va - r.mods[i].Base
	if err := f.ReadRVA(p, uint32(rva)); err != nil {
		return 0, rerr("%s, and %s's image file does not hold RVA %#x: %v", memWhy, name, rva, err)
	}
	r.used |= fromImage
	return fromImage, nil
}

func (r *reader) u32(va uint64) (uint32, source, error) {
	var b [4]byte
	src, err := r.read(b[:], va)
	return binary.LittleEndian.Uint32(b[:]), src, err
}

// ptr reads a pointer of size bytes. A 32-bit pointer read from an image file is
// relocated from the file's preferred base to the module's load address, as the
// loader would have done.
func (r *reader) ptr(va uint64, size int) (uint64, error) {
	var b [8]byte
	src, err := r.read(b[:size], va)
	if err != nil {
		return 0, err
	}
	if size == 4 {
		v := uint64(binary.LittleEndian.Uint32(b[:]))
		if src == fromImage {
			v = r.relocate(va, v)
		}
		return v, nil
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// relocate moves v, a pointer stored in the image file of the module holding at,
// from the file's ImageBase to the module's base.
func (r *reader) relocate(at, v uint64) uint64 {
	i := r.module(at)
	if i < 0 {
		return v
	}
	f, _ := r.img(i)
	if f == nil || f.ImageBase == r.mods[i].Base {
		return v
	}
	if v >= f.ImageBase && v-f.ImageBase < uint64(f.SizeOfImage) {
		return v - f.ImageBase + r.mods[i].Base
	}
	return v
}

// cstring reads a NUL-terminated string of at most limit bytes. truncated is set
// when no NUL came within limit.
func (r *reader) cstring(va uint64, limit int) (s string, truncated bool, err error) {
	var out []byte
	var buf [stringChunk]byte
	for len(out) < limit {
		n := min(stringChunk, limit-len(out))
		if _, err := r.read(buf[:n], va); err != nil {
			// The string may end just before memory that is not captured: read the
			// rest of this chunk byte by byte.
			for i := 0; i < n; i++ {
				if _, err2 := r.read(buf[:1], va+uint64(i)); err2 != nil {
					if len(out)+i == 0 {
						return "", false, err
					}
					return string(out), true, err2
				}
				if buf[0] == 0 {
					return string(out), false, nil
				}
				out = append(out, buf[0])
			}
			va += uint64(n)
			continue
		}
		for i, c := range buf[:n] {
			if c == 0 {
				return string(append(out, buf[:i]...)), false, nil
			}
		}
		out = append(out, buf[:n]...)
		va += uint64(n)
	}
	return string(out), true, nil
}

// wstring reads a NUL-terminated UTF-16 string of at most max units; it must end
// within them.
func (r *reader) wstring(va uint64, max int) (string, error) {
	var units []uint16
	var buf [stringChunk]byte
	for len(units) < max {
		n := min(stringChunk/2, max-len(units))
		if _, err := r.read(buf[:2*n], va); err != nil {
			return "", err
		}
		for i := 0; i < n; i++ {
			u := binary.LittleEndian.Uint16(buf[2*i:])
			if u == 0 {
				return string(utf16.Decode(units)), nil
			}
			units = append(units, u)
		}
		va += uint64(2 * n)
	}
	return "", rerr("no terminating NUL within %d UTF-16 units at %#x", max, va)
}
