package minidump

import (
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// maxStringBytes bounds a MINIDUMP_STRING. Names and paths are short; a larger length
// is damage, and reading it would let a hostile file make us allocate at will.
const maxStringBytes = 64 << 10

// readString reads the MINIDUMP_STRING (u32 byte length, UTF-16LE text) at rva.
func (f *File) readString(rva int64, where string) (string, error) {
	return f.readStringBudget(rva, where, nil)
}

// readStringBudget is readString charging the string's length to r, if not nil.
func (f *File) readStringBudget(rva int64, where string, r *refs) (string, error) {
	var lb [4]byte
	if b, ok := f.inPlace(r, rva, 4); ok {
		copy(lb[:], b)
	} else if err := f.readAt(lb[:], rva, where); err != nil {
		return "", err
	}
	n := int64(binary.LittleEndian.Uint32(lb[:]))
	if n > maxStringBytes {
		return "", formatErr(where, rva, "string length %d exceeds the %d-byte limit", n, maxStringBytes)
	}
	if n > f.size-rva-4 {
		return "", formatErr(where, rva, "string truncated: %d bytes declared, %d left in the file", n, f.size-rva-4)
	}
	if err := r.take(n, rva, where); err != nil {
		return "", err
	}
	buf, err := f.readRef(r, rva+4, int(n&^1), where)
	if err != nil {
		return "", err
	}
	if n%2 != 0 {
		// UTF-16 text cannot have an odd length: keep the whole units, say so.
		return decodeUTF16(buf), formatErr(where, rva, "string length %d is odd; the last byte is dropped", n)
	}
	return decodeUTF16(buf), nil
}

// readUTF8String reads a Breakpad/Crashpad MinidumpUTF8String (u32 length, bytes),
// charging its length to r if not nil.
func (f *File) readUTF8String(rva int64, where string, r *refs) (string, error) {
	var lb [4]byte
	if err := f.readAt(lb[:], rva, where); err != nil {
		return "", err
	}
	n := int64(binary.LittleEndian.Uint32(lb[:]))
	if n > maxStringBytes {
		return "", formatErr(where, rva, "string length %d exceeds the %d-byte limit", n, maxStringBytes)
	}
	if err := f.checkRange(rva+4, n, where); err != nil {
		return "", err
	}
	if err := r.take(n, rva, where); err != nil {
		return "", err
	}
	buf := make([]byte, n)
	if err := f.readAt(buf, rva+4, where); err != nil {
		return "", err
	}
	return string(buf), nil
}

// decodeUTF16 decodes little-endian UTF-16, stopping at the first NUL. Unpaired
// surrogates become U+FFFD rather than an error: names are for display. It decodes
// straight into UTF-8, with one allocation for the string (module names are read
// by the hundred for every dump a batch triage opens).
func decodeUTF16(b []byte) string {
	var stack [256]byte
	out := stack[:0]
	for i := 0; i+1 < len(b); i += 2 {
		c := rune(binary.LittleEndian.Uint16(b[i:]))
		switch {
		case c == 0:
			return string(out)
		case c < utf8.RuneSelf:
			out = append(out, byte(c))
			continue
		case utf16.IsSurrogate(c):
			if c < 0xdc00 && i+3 < len(b) {
				if c2 := rune(binary.LittleEndian.Uint16(b[i+2:])); c2 >= 0xdc00 && c2 < 0xe000 {
					out = utf8.AppendRune(out, utf16.DecodeRune(c, c2))
					i += 2
					continue
				}
			}
			c = utf8.RuneError
		}
		out = utf8.AppendRune(out, c)
	}
	return string(out)
}

// utf16Units decodes a fixed-size WCHAR array read by a generated accessor.
func utf16Units(u []uint16) string {
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	return string(utf16.Decode(u))
}

// refs reads what the entries of one list point at: names, CodeView and misc records,
// annotation strings. Each string RVA is decoded once, and together they may not
// claim more bytes than the file holds. In a real dump they lie side by side, so only
// entries that point into one another's data can exceed that, and then a small
// hostile file would decode into gigabytes (a thousand modules naming one 64 KB
// string).
type refs struct {
	f     *File
	left  int64
	utf16 map[int64]string
	utf8  map[int64]string
	// buf holds the raw bytes of one string or record at a time, decoded into a
	// value of their own: a module list's 2,000 names and records read into bytes
	// of their own were 300 KB of fresh pages.
	buf []byte
	// inPlace: the caller decodes under guardFault, so strings and records are
	// read where they lie in the file's mapping (readRef).
	inPlace bool
}

// readRef returns the n bytes at off that r's list points at, valid until the
// next call: in place from the file's mapping when the list is decoded under
// guardFault (r.inPlace), else read into r's scratch buffer (new bytes for nil
// r). Through the read cache, a module list's 2,000 names cost 256 KB of fresh
// cache blocks, copied into and out of.
func (f *File) readRef(r *refs, off int64, n int, where string) ([]byte, error) {
	if b, ok := f.inPlace(r, off, n); ok {
		return b, nil
	}
	b := r.scratch(n)
	return b, f.readAt(b, off, where)
}

// inPlace returns the n bytes at off in the file's mapping when r's list is
// decoded under guardFault and they are all in the file.
func (f *File) inPlace(r *refs, off int64, n int) ([]byte, bool) {
	if r == nil || !r.inPlace || f.mapped == nil {
		return nil, false
	}
	return f.mapped.bytes(off, n)
}

// scratch returns n bytes to read raw data into, valid until the next call; nil r
// returns new ones.
func (r *refs) scratch(n int) []byte {
	if r == nil {
		return make([]byte, n)
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n, max(n, 2*cap(r.buf), 256))
	}
	return r.buf[:n]
}

func (f *File) newRefs() *refs {
	return &refs{f: f, left: f.size, utf16: map[int64]string{}, utf8: map[int64]string{}}
}

// newRefsFor is newRefs for a list of n entries, each naming a string: the map
// is made at its size once (grown from empty, 2,000 names cost 190 KB of
// tables), n bounded by what the file can hold.
func (f *File) newRefsFor(n int) *refs {
	r := f.newRefs()
	r.utf16 = make(map[int64]string, min(n, 1<<16))
	return r
}

// take charges n bytes at off to the budget; nil r charges nothing.
func (r *refs) take(n, off int64, where string) error {
	if r == nil {
		return nil
	}
	if n > r.left {
		return formatErr(where, off, "the names and records this list points at add up to more than the file's %d bytes: its entries point into one another's data", r.f.size)
	}
	r.left -= n
	return nil
}

// str reads the MINIDUMP_STRING at rva.
func (r *refs) str(rva int64, where string) (string, error) {
	if s, ok := r.utf16[rva]; ok {
		return s, nil
	}
	s, err := r.f.readStringBudget(rva, where, r)
	if err == nil {
		r.utf16[rva] = s
	}
	return s, err
}

// utf8Str reads the MinidumpUTF8String at rva.
func (r *refs) utf8Str(rva int64, where string) (string, error) {
	if s, ok := r.utf8[rva]; ok {
		return s, nil
	}
	s, err := r.f.readUTF8String(rva, where, r)
	if err == nil {
		r.utf8[rva] = s
	}
	return s, err
}
