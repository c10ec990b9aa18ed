package pe

import (
	"fmt"
	"io"
	"os"
)

// Layout says how an image's bytes are arranged in the reader.
type Layout int

const (
	// LayoutFile is a PE file as stored on disk: sections sit at their
	// PointerToRawData and RVAs are translated through the section table.
	LayoutFile Layout = iota
	// LayoutMapped is an image as the loader mapped it: the reader's offset
	// 0 is the module base and an RVA is an offset.
	LayoutMapped
)

// String returns "file" or "mapped".
func (l Layout) String() string {
	if l == LayoutMapped {
		return "mapped"
	}
	return "file"
}

// File is an open PE image.
type File struct {
	// Layout is the arrangement the image was opened with.
	Layout Layout

	// COFF header.
	Machine         uint16
	TimeDateStamp   uint32
	Characteristics uint16

	// Optional header. Magic is 0x10b for PE32, 0x20b for PE32+.
	Magic              uint16
	ImageBase          uint64
	EntryPoint         uint32
	SectionAlignment   uint32
	FileAlignment      uint32
	SizeOfImage        uint32
	SizeOfHeaders      uint32
	CheckSum           uint32
	Subsystem          uint16
	DllCharacteristics uint16
	DataDirectories    []DataDirectory

	Sections []Section

	r    io.ReaderAt
	size int64
	// symtab and nsyms locate the COFF symbol table (COFFFunctions).
	symtab, nsyms uint32
	closer        io.Closer
}

// Open opens a PE file on disk (LayoutFile).
func Open(name string) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	f, err := New(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f.closer = fh
	return f, nil
}

// New reads a PE file of the given size in the on-disk layout.
func New(r io.ReaderAt, size int64) (*File, error) {
	return newFile(r, size, LayoutFile)
}

// NewMapped reads an image mapped in memory: offset 0 of r is the module
// base and size is the module size from the module list (or SizeOfImage).
// Reads of pages the dump did not capture fail with r's error.
func NewMapped(r io.ReaderAt, size int64) (*File, error) {
	return newFile(r, size, LayoutMapped)
}

func newFile(r io.ReaderAt, size int64, l Layout) (*File, error) {
	if size < 0 {
		return nil, formatErr(-1, "negative size %d", size)
	}
	f := &File{Layout: l, r: r, size: size}
	if err := f.parseHeaders(); err != nil {
		return nil, err
	}
	return f, nil
}

// Close closes the file opened by Open; it does nothing otherwise.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

// Is64 reports whether the image is PE32+ (64-bit).
func (f *File) Is64() bool { return f.Magic == magicPE32Plus }

// LargeAddressAware reports IMAGE_FILE_LARGE_ADDRESS_AWARE: a 32-bit process
// whose main image has it gets 4 GB of user address space under WOW64
// instead of 2 GB, which changes how much room fragmentation leaves.
func (f *File) LargeAddressAware() bool {
	return f.Characteristics&CharacteristicLargeAddressAware != 0
}

// MemoryReader adapts a reader of virtual addresses, such as a minidump's
// memory reader, to the io.ReaderAt NewMapped wants, with offset 0 at base.
func MemoryReader(read func(p []byte, va uint64) (int, error), base uint64) io.ReaderAt {
	return vaReader{read: read, base: base}
}

type vaReader struct {
	read func(p []byte, va uint64) (int, error)
	base uint64
}

func (v vaReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("pe: negative offset %d", off)
	}
	va := v.base + uint64(off)
	if va < v.base {
		return 0, fmt.Errorf("pe: address overflow at base %#x offset %#x", v.base, off)
	}
	return v.read(p, va)
}

// readAt reads exactly len(p) bytes at off in the reader's coordinates,
// bounded by the size given at open.
func (f *File) readAt(p []byte, off int64) error {
	if off < 0 || off > f.size || int64(len(p)) > f.size-off {
		return fmt.Errorf("%d bytes at %#x are past the end (%#x)", len(p), off, f.size)
	}
	n, err := f.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// ReadRVA reads len(p) bytes at rva. In the file layout the bytes of a
// section past its raw data read as zeros, as the loader maps them.
func (f *File) ReadRVA(p []byte, rva uint32) error {
	for len(p) > 0 {
		n, err := f.readRVAChunk(p, rva)
		if err != nil {
			return err
		}
		p = p[n:]
		if uint64(rva)+uint64(n) > 0xFFFFFFFF && len(p) > 0 {
			return formatErr(int64(rva), "read past the 4 GB RVA range")
		}
		rva += uint32(n)
	}
	return nil
}

// readRVAChunk reads the part of p that lies in one region (headers or one
// section) and returns its length.
func (f *File) readRVAChunk(p []byte, rva uint32) (int, error) {
	if f.Layout == LayoutMapped {
		if err := f.readAt(p, int64(rva)); err != nil {
			return 0, formatErr(int64(rva), "reading RVA %#x: %v", rva, err)
		}
		return len(p), nil
	}
	if rva < f.SizeOfHeaders {
		n := min(len(p), int(f.SizeOfHeaders-rva))
		if err := f.readAt(p[:n], int64(rva)); err != nil {
			return 0, formatErr(int64(rva), "reading RVA %#x in headers: %v", rva, err)
		}
		return n, nil
	}
	for _, s := range f.Sections {
		span := max(s.VirtualSize, s.SizeOfRawData)
		if rva < s.VirtualAddress || uint64(rva) >= uint64(s.VirtualAddress)+uint64(span) {
			continue
		}
		rel := rva - s.VirtualAddress
		n := min(len(p), int(uint64(s.VirtualAddress)+uint64(span)-uint64(rva)))
		if rel >= s.SizeOfRawData {
			clear(p[:n]) // uninitialised data: zeros in memory, absent on disk
			return n, nil
		}
		n = min(n, int(s.SizeOfRawData-rel))
		off := int64(s.PointerToRawData) + int64(rel)
		if err := f.readAt(p[:n], off); err != nil {
			return 0, formatErr(off, "reading RVA %#x in section %s: %v", rva, s.Name, err)
		}
		return n, nil
	}
	return 0, formatErr(-1, "RVA %#x is in no section", rva)
}

// readCString reads a NUL-terminated string at rva, at most limit bytes.
func (f *File) readCString(rva uint32, limit int) (string, error) {
	var out []byte
	buf := make([]byte, 64)
	for len(out) < limit {
		n := min(len(buf), limit-len(out))
		// Near the end of a region a long chunk may fail: retry byte-sized.
		if err := f.ReadRVA(buf[:n], rva); err != nil {
			if n == 1 {
				return "", err
			}
			buf = buf[:1]
			continue
		}
		for i, c := range buf[:n] {
			if c == 0 {
				return string(append(out, buf[:i]...)), nil
			}
		}
		out = append(out, buf[:n]...)
		rva += uint32(n)
	}
	return "", formatErr(int64(rva), "string longer than %d bytes", limit)
}
