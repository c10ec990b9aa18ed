package pe

import (
	"encoding/binary"
	"fmt"
)

// DirectoryImport is the data directory index of the import table.
const DirectoryImport = 1

// Bounds on the import table: real images import from tens of DLLs and a few
// thousand functions; the bounds only keep damaged tables from running away.
const (
	maxImportDLLs  = 4096
	maxImportFuncs = 1 << 16
)

// Import is the part of the import table that names one DLL.
type Import struct {
	// DLL is the name the image imports from, as written ("KERNEL32.dll",
	// "api-ms-win-crt-heap-l1-1-0.dll").
	DLL       string
	Functions []ImportedFunction
}

// ImportedFunction is one function imported by name or ordinal.
type ImportedFunction struct {
	// Name is empty for an import by ordinal.
	Name string
	// Hint is the export-name-table index the linker suggested (by name only).
	Hint uint16
	// Ordinal is the ordinal of an import by ordinal.
	Ordinal   uint32
	ByOrdinal bool
	// IATRVA is the RVA of the import address table slot the loader fills
	// with the function's address: in a mapped image, reading it tells where
	// the import was bound.
	IATRVA uint32
}

// Imports reads the import directory. Names come from the import lookup
// table (OriginalFirstThunk), which the loader leaves intact; an image
// without one (old linkers) is read through the import address table, which
// names the functions only in the file layout: in a mapped image it holds
// addresses, and such DLLs are returned without functions. An image without
// imports returns (nil, nil).
func (f *File) Imports() ([]Import, error) {
	if len(f.DataDirectories) <= DirectoryImport || f.DataDirectories[DirectoryImport].VirtualAddress == 0 {
		return nil, nil
	}
	dd := f.DataDirectories[DirectoryImport]
	le := binary.LittleEndian
	var out []Import
	for i := 0; ; i++ {
		if i >= maxImportDLLs {
			return out, formatErr(int64(dd.VirtualAddress), "import directory has more than %d entries", maxImportDLLs)
		}
		var d [20]byte
		rva := dd.VirtualAddress + uint32(20*i)
		if err := f.ReadRVA(d[:], rva); err != nil {
			return out, fmt.Errorf("pe: import descriptor %d: %w", i, err)
		}
		ilt, nameRVA, iat := le.Uint32(d[0:]), le.Uint32(d[12:]), le.Uint32(d[16:])
		if nameRVA == 0 && iat == 0 && ilt == 0 {
			break // the all-zero terminator
		}
		name, err := f.readCString(nameRVA, maxNameLen)
		if err != nil {
			return out, fmt.Errorf("pe: import descriptor %d: DLL name: %w", i, err)
		}
		imp := Import{DLL: name}
		lookup := ilt
		if lookup == 0 {
			if f.Layout == LayoutMapped {
				out = append(out, imp) // the IAT holds addresses now
				continue
			}
			lookup = iat
		}
		imp.Functions, err = f.readThunks(lookup, iat)
		out = append(out, imp)
		if err != nil {
			return out, fmt.Errorf("pe: imports from %s: %w", name, err)
		}
	}
	return out, nil
}

// readThunks reads an import lookup table at rva, whose slots correspond to
// the import address table at iat.
func (f *File) readThunks(rva, iat uint32) ([]ImportedFunction, error) {
	size := uint32(4)
	if f.Is64() {
		size = 8
	}
	var fns []ImportedFunction
	buf := make([]byte, size)
	for k := uint32(0); ; k++ {
		if k >= maxImportFuncs {
			return fns, formatErr(int64(rva), "import lookup table has more than %d entries", maxImportFuncs)
		}
		if err := f.ReadRVA(buf, rva+k*size); err != nil {
			return fns, err
		}
		var v, ordFlag uint64
		if size == 8 {
			v, ordFlag = binary.LittleEndian.Uint64(buf), 1<<63
		} else {
			v, ordFlag = uint64(binary.LittleEndian.Uint32(buf)), 1<<31
		}
		if v == 0 {
			return fns, nil
		}
		fn := ImportedFunction{IATRVA: iat + k*size}
		switch {
		case v&ordFlag != 0:
			fn.ByOrdinal, fn.Ordinal = true, uint32(v&0xFFFF)
		case v > 0xFFFFFFFF:
			return fns, formatErr(int64(rva+k*size), "import lookup entry %#x is not an RVA", v)
		default:
			var h [2]byte
			if err := f.ReadRVA(h[:], uint32(v)); err != nil {
				return fns, err
			}
			fn.Hint = binary.LittleEndian.Uint16(h[:])
			n, err := f.readCString(uint32(v)+2, maxNameLen)
			if err != nil {
				return fns, err
			}
			fn.Name = n
		}
		fns = append(fns, fn)
	}
}
