package pe

import (
	"encoding/binary"
	"fmt"
)

// maxNameLen bounds an export name or forwarder: mangled C++ names run to a
// few KB, and a missing NUL must not make the reader walk the whole image.
const maxNameLen = 16 << 10

// Export is one exported function or variable.
type Export struct {
	// Name is empty for an ordinal-only export.
	Name string
	// Ordinal is the biased ordinal (OrdinalBase + index) that
	// GetProcAddress and .def files use.
	Ordinal uint32
	// RVA is the address of the export; for a forwarder, that of the
	// forwarder string.
	RVA uint32
	// Forwarder is "DLL.Name" or "DLL.#ordinal" when the export forwards to
	// another DLL; the RVA then points into the export directory.
	Forwarder string
}

// ExportDirectory is the export table of an image.
type ExportDirectory struct {
	// Name is the DLL name the linker recorded.
	Name          string
	TimeDateStamp uint32
	OrdinalBase   uint32
	// Exports lists functions in ordinal order; a function with several
	// names appears once per name. Empty slots (RVA 0) are left out.
	Exports []Export
}

// Exports reads the export directory. An image without one returns
// (nil, nil).
func (f *File) Exports() (*ExportDirectory, error) {
	if len(f.DataDirectories) <= DirectoryExport || f.DataDirectories[DirectoryExport].VirtualAddress == 0 {
		return nil, nil
	}
	dd := f.DataDirectories[DirectoryExport]
	le := binary.LittleEndian
	var h [40]byte
	if err := f.ReadRVA(h[:], dd.VirtualAddress); err != nil {
		return nil, fmt.Errorf("pe: export directory: %w", err)
	}
	d := &ExportDirectory{TimeDateStamp: le.Uint32(h[4:]), OrdinalBase: le.Uint32(h[16:])}
	nameRVA := le.Uint32(h[12:])
	nFuncs, nNames := le.Uint32(h[20:]), le.Uint32(h[24:])
	funcsRVA, namesRVA, ordsRVA := le.Uint32(h[28:]), le.Uint32(h[32:]), le.Uint32(h[36:])
	// Each array must fit in the image before it is allocated.
	limit := f.rvaLimit()
	if uint64(nFuncs)*4 > limit || uint64(nNames)*4 > limit {
		return nil, formatErr(int64(dd.VirtualAddress), "export directory claims %d functions and %d names, more than the image holds", nFuncs, nNames)
	}
	if nameRVA != 0 {
		n, err := f.readCString(nameRVA, maxNameLen)
		if err != nil {
			return nil, fmt.Errorf("pe: export DLL name: %w", err)
		}
		d.Name = n
	}
	funcs, err := f.readU32s(funcsRVA, nFuncs)
	if err != nil {
		return nil, fmt.Errorf("pe: export address table: %w", err)
	}
	names, err := f.readU32s(namesRVA, nNames)
	if err != nil {
		return nil, fmt.Errorf("pe: export name table: %w", err)
	}
	ordBytes, err := f.readChunked(ordsRVA, 2*uint64(nNames))
	if err != nil {
		return nil, fmt.Errorf("pe: export ordinal table: %w", err)
	}
	namesOf := make(map[uint32][]string)
	for i, nr := range names {
		idx := uint32(le.Uint16(ordBytes[2*i:]))
		if idx >= nFuncs {
			return nil, formatErr(int64(ordsRVA)+int64(2*i), "export name %d points at function %d of %d", i, idx, nFuncs)
		}
		n, err := f.readCString(nr, maxNameLen)
		if err != nil {
			return nil, fmt.Errorf("pe: export name %d: %w", i, err)
		}
		namesOf[idx] = append(namesOf[idx], n)
	}
	for i, rva := range funcs {
		if rva == 0 {
			continue
		}
		e := Export{Ordinal: d.OrdinalBase + uint32(i), RVA: rva}
		if rva >= dd.VirtualAddress && uint64(rva) < uint64(dd.VirtualAddress)+uint64(dd.Size) {
			if e.Forwarder, err = f.readCString(rva, maxNameLen); err != nil {
				return nil, fmt.Errorf("pe: forwarder of ordinal %d: %w", e.Ordinal, err)
			}
		}
		ns := namesOf[uint32(i)]
		if len(ns) == 0 {
			d.Exports = append(d.Exports, e)
		}
		for _, n := range ns {
			e.Name = n
			d.Exports = append(d.Exports, e)
		}
	}
	return d, nil
}

// rvaLimit bounds the bytes an array can span: the image size when mapped,
// the file size on disk (the array's bytes must come from the file).
func (f *File) rvaLimit() uint64 {
	return uint64(f.size)
}

func (f *File) readU32s(rva, n uint32) ([]uint32, error) {
	b, err := f.readChunked(rva, 4*uint64(n))
	if err != nil {
		return nil, err
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out, nil
}

// readChunk is the unit in which readChunked grows its buffer.
const readChunk = 64 << 10

// readChunked reads n bytes at rva a chunk at a time, so that a table whose
// count is damaged allocates only as much as the image really holds: a
// mapped image's size comes from the dump and may claim gigabytes that
// were never captured.
func (f *File) readChunked(rva uint32, n uint64) ([]byte, error) {
	if n > 0xFFFFFFFF || uint64(rva)+n > 1<<32 {
		return nil, formatErr(int64(rva), "table of %d bytes at RVA %#x runs past the 4 GB RVA range", n, rva)
	}
	out := make([]byte, 0, min(n, readChunk))
	for done := uint64(0); done < n; {
		k := min(n-done, readChunk)
		out = append(out, make([]byte, k)...)
		if err := f.ReadRVA(out[done:done+k], rva+uint32(done)); err != nil {
			return nil, err
		}
		done += k
	}
	return out, nil
}
