package pe

import (
	"bytes"
	"encoding/binary"
	"io"
)

// readerFunc adapts a function to io.ReaderAt.
type readerFunc func(p []byte, off int64) (int, error)

func (f readerFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// Machine types (IMAGE_FILE_MACHINE_*) seen in Windows dumps.
const (
	MachineI386  = 0x14c
	MachineAMD64 = 0x8664
	MachineARM64 = 0xaa64
	MachineARMNT = 0x1c4
)

// File characteristics (IMAGE_FILE_*) worth naming here.
const (
	CharacteristicExecutable        = 0x0002
	CharacteristicLargeAddressAware = 0x0020
	Characteristic32BitMachine      = 0x0100
	CharacteristicDLL               = 0x2000
)

// Data directory indexes.
const (
	DirectoryExport = 0
	DirectoryDebug  = 6
)

const (
	magicPE32     = 0x10b
	magicPE32Plus = 0x20b
	// maxHeaderBytes bounds the header read: DOS header, stub, NT headers
	// and the section table all fit well within it for real images.
	maxHeaderBytes = 64 << 10
	sectionSize    = 40
)

// DataDirectory is an entry of the optional header's data directory.
type DataDirectory struct {
	VirtualAddress uint32
	Size           uint32
}

// Section is a section header.
type Section struct {
	Name             string
	VirtualSize      uint32
	VirtualAddress   uint32
	SizeOfRawData    uint32
	PointerToRawData uint32
	Characteristics  uint32
}

// FileHeader is the COFF file header of an image (IMAGE_FILE_HEADER) and where
// it is: the first facts an image gives, readable when the rest of its headers
// is not (a dump that captured only the first bytes of a module).
type FileHeader struct {
	// Offset is the offset of the "PE\0\0" signature (e_lfanew).
	Offset               int64
	Machine              uint16
	NumberOfSections     uint16
	TimeDateStamp        uint32
	SizeOfOptionalHeader uint16
	Characteristics      uint16
	// PointerToSymbolTable and NumberOfSymbols locate the COFF symbol table (file
	// offset; 0 when the image has none). GNU ld keeps one in images it links
	// unless they are stripped; Microsoft's linker does not write one.
	PointerToSymbolTable uint32
	NumberOfSymbols      uint32
}

// LargeAddressAware reports IMAGE_FILE_LARGE_ADDRESS_AWARE.
func (h FileHeader) LargeAddressAware() bool {
	return h.Characteristics&CharacteristicLargeAddressAware != 0
}

// ReadFileHeader reads the DOS header and the COFF file header at the start of
// an image, file or mapped (both layouts start the same way), and nothing more.
func ReadFileHeader(r io.ReaderAt) (FileHeader, error) {
	le := binary.LittleEndian
	var h FileHeader
	var dos [64]byte
	if _, err := r.ReadAt(dos[:], 0); err != nil {
		return h, formatErr(0, "reading DOS header: %v", err)
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return h, formatErr(0, "not a PE image: no MZ signature")
	}
	lfanew := int64(le.Uint32(dos[60:]))
	if lfanew < 64 || lfanew > maxHeaderBytes {
		return h, formatErr(60, "PE header offset %#x out of range", lfanew)
	}
	var nt [24]byte
	if _, err := r.ReadAt(nt[:], lfanew); err != nil {
		return h, formatErr(lfanew, "reading PE header: %v", err)
	}
	if !bytes.Equal(nt[:4], []byte("PE\x00\x00")) {
		return h, formatErr(lfanew, "not a PE image: no PE signature")
	}
	return FileHeader{Offset: lfanew, Machine: le.Uint16(nt[4:]), NumberOfSections: le.Uint16(nt[6:]),
		TimeDateStamp: le.Uint32(nt[8:]), SizeOfOptionalHeader: le.Uint16(nt[20:]), Characteristics: le.Uint16(nt[22:]),
		PointerToSymbolTable: le.Uint32(nt[12:]), NumberOfSymbols: le.Uint32(nt[16:])}, nil
}

// parseHeaders decodes the DOS, COFF and optional headers and the section
// table from the start of the image, which is laid out the same way in a
// file and in memory.
func (f *File) parseHeaders() error {
	le := binary.LittleEndian
	fh, err := ReadFileHeader(readerFunc(func(p []byte, off int64) (int, error) {
		if err := f.readAt(p, off); err != nil {
			return 0, err
		}
		return len(p), nil
	}))
	if err != nil {
		return err
	}
	lfanew := fh.Offset
	f.Machine = fh.Machine
	nsec := int(fh.NumberOfSections)
	f.TimeDateStamp = fh.TimeDateStamp
	optSize := int64(fh.SizeOfOptionalHeader)
	f.Characteristics = fh.Characteristics
	f.symtab, f.nsyms = fh.PointerToSymbolTable, fh.NumberOfSymbols
	optOff := lfanew + 24
	if optSize < 2 {
		return formatErr(lfanew+20, "optional header of %d bytes is too small", optSize)
	}
	opt := make([]byte, optSize)
	if err := f.readAt(opt, optOff); err != nil {
		return formatErr(optOff, "reading optional header: %v", err)
	}
	f.Magic = le.Uint16(opt)
	var ddOff, nddOff int
	switch f.Magic {
	case magicPE32:
		if optSize < 96 {
			return formatErr(optOff, "PE32 optional header of %d bytes is too small", optSize)
		}
		f.ImageBase = uint64(le.Uint32(opt[28:]))
		nddOff, ddOff = 92, 96
	case magicPE32Plus:
		if optSize < 112 {
			return formatErr(optOff, "PE32+ optional header of %d bytes is too small", optSize)
		}
		f.ImageBase = le.Uint64(opt[24:])
		nddOff, ddOff = 108, 112
	default:
		return formatErr(optOff, "unknown optional header magic %#x", f.Magic)
	}
	f.EntryPoint = le.Uint32(opt[16:])
	f.SectionAlignment = le.Uint32(opt[32:])
	f.FileAlignment = le.Uint32(opt[36:])
	f.SizeOfImage = le.Uint32(opt[56:])
	f.SizeOfHeaders = le.Uint32(opt[60:])
	f.CheckSum = le.Uint32(opt[64:])
	f.Subsystem = le.Uint16(opt[68:])
	f.DllCharacteristics = le.Uint16(opt[70:])
	ndd := int(le.Uint32(opt[nddOff:]))
	// The count is untrusted: keep what the header's size really holds.
	ndd = min(ndd, (len(opt)-ddOff)/8, 16)
	f.DataDirectories = make([]DataDirectory, ndd)
	for i := range f.DataDirectories {
		f.DataDirectories[i] = DataDirectory{le.Uint32(opt[ddOff+8*i:]), le.Uint32(opt[ddOff+8*i+4:])}
	}
	secOff := optOff + optSize
	if secOff+int64(nsec)*sectionSize > maxHeaderBytes {
		return formatErr(lfanew+6, "section table (%d sections) reaches past the headers", nsec)
	}
	st := make([]byte, nsec*sectionSize)
	if err := f.readAt(st, secOff); err != nil {
		return formatErr(secOff, "reading section table: %v", err)
	}
	f.Sections = make([]Section, nsec)
	for i := range f.Sections {
		s := st[i*sectionSize:]
		name := s[:8]
		if j := bytes.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		f.Sections[i] = Section{
			Name:             string(name),
			VirtualSize:      le.Uint32(s[8:]),
			VirtualAddress:   le.Uint32(s[12:]),
			SizeOfRawData:    le.Uint32(s[16:]),
			PointerToRawData: le.Uint32(s[20:]),
			Characteristics:  le.Uint32(s[36:]),
		}
	}
	return nil
}
