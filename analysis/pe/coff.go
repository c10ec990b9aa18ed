package pe

import (
	"encoding/binary"
	"sort"
)

// COFFFunction is a function named by an image's COFF symbol table.
type COFFFunction struct {
	Name string
	RVA  uint32
}

// Limits on the COFF symbol table: far above what real images hold (Wine's
// largest builtin DLLs have about 40,000 symbols).
const (
	maxCOFFSymbols = 1 << 21
	maxCOFFStrings = 64 << 20
	maxCOFFName    = 4096
	coffSymSize    = 18
)

// COFF symbol fields ("PE Format: COFF Symbol Table", Microsoft Learn).
const (
	coffTypeFunction  = 0x20 // DTYPE_FUNCTION << 4
	coffClassExternal = 2
	coffClassStatic   = 3
)

// COFFFunctions returns the functions the image's COFF symbol table names,
// sorted by RVA: what MinGW-built executables and Wine's builtin DLLs carry
// instead of a PDB, so their code can be named (operator_new, not the nearest
// export). Only the file layout has the table; it returns nil, nil when the
// image has none.
//
// Go's debug/pe reads this table too, but it loads every symbol and the whole
// string table up front, with no bound a hostile image cannot push; this reads
// within the limits above, through the File already open.
func (f *File) COFFFunctions() ([]COFFFunction, error) {
	if f.Layout != LayoutFile || f.symtab == 0 || f.nsyms == 0 {
		return nil, nil
	}
	start := int64(f.symtab)
	if start >= f.size {
		return nil, formatErr(start, "COFF symbol table starts past the end of the file")
	}
	n := min(int64(f.nsyms), (f.size-start)/coffSymSize, maxCOFFSymbols)
	strOff := start + int64(f.nsyms)*coffSymSize
	var strs []byte
	if strOff+4 <= f.size {
		var sz [4]byte
		if f.readAt(sz[:], strOff) == nil {
			size := int64(binary.LittleEndian.Uint32(sz[:]))
			size = min(size, f.size-strOff, maxCOFFStrings)
			if size > 4 {
				strs = make([]byte, size)
				if f.readAt(strs, strOff) != nil {
					strs = nil
				}
			}
		}
	}
	le := binary.LittleEndian
	var out []COFFFunction
	buf := make([]byte, 4096*coffSymSize)
	for i := int64(0); i < n; {
		chunk := min(n-i, int64(len(buf)/coffSymSize))
		b := buf[:chunk*coffSymSize]
		if err := f.readAt(b, start+i*coffSymSize); err != nil {
			return out, formatErr(start+i*coffSymSize, "reading COFF symbols: %v", err)
		}
		for j := int64(0); j < chunk; {
			r := b[j*coffSymSize : (j+1)*coffSymSize]
			aux := int64(r[17])
			sec := int16(le.Uint16(r[12:]))
			typ, class := le.Uint16(r[14:]), r[16]
			if typ&0xf0 == coffTypeFunction && (class == coffClassExternal || class == coffClassStatic) &&
				sec > 0 && int(sec) <= len(f.Sections) {
				value := le.Uint32(r[8:])
				s := f.Sections[sec-1]
				if value < max(s.VirtualSize, s.SizeOfRawData) {
					if name := coffName(r[:8], strs); name != "" {
						out = append(out, COFFFunction{Name: name, RVA: s.VirtualAddress + value})
					}
				}
			}
			// Auxiliary records follow their symbol; they may run into the next
			// chunk, which the outer index accounts for.
			j += 1 + aux
			if j > chunk {
				i += j - chunk
			}
		}
		i += chunk
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].RVA < out[b].RVA })
	return out, nil
}

// coffName decodes a symbol's name: up to 8 bytes in place, or an offset into
// the string table after 4 zero bytes.
func coffName(b []byte, strs []byte) string {
	if b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0 {
		off := int(binary.LittleEndian.Uint32(b[4:]))
		if off < 4 || off >= len(strs) {
			return ""
		}
		end := off
		for end < len(strs) && strs[end] != 0 && end-off < maxCOFFName {
			end++
		}
		return string(strs[off:end])
	}
	end := 0
	for end < 8 && b[end] != 0 {
		end++
	}
	return string(b[:end])
}
