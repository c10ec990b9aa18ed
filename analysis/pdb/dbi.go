package pdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

const (
	dbiHeaderSize = 64
	// dbiSectionHeaders is the optional debug header slot of the stream that
	// holds the image's section headers.
	dbiSectionHeaders = 5
	// dbiFPO and dbiNewFPO are the optional debug header slots of the
	// legacy FPO_DATA stream and the FRAMEDATA ("new FPO") stream.
	dbiFPO            = 0
	dbiNewFPO         = 9
	noStream          = 0xFFFF
	sectionHeaderSize = 40
)

// Section is an image section header as the linker copied it into the PDB.
// Symbols address memory as segment:offset, where segment n is Sections[n-1].
type Section struct {
	Name                 string
	VirtualSize          uint32
	VirtualAddress       uint32
	SizeOfRawData        uint32
	PointerToRawData     uint32
	PointerToRelocations uint32
	PointerToLineNumbers uint32
	NumberOfRelocations  uint16
	NumberOfLineNumbers  uint16
	Characteristics      uint32
}

// dbiHeader holds the DBI header fields the reader uses.
type dbiHeader struct {
	age           uint32
	globalStream  uint16
	publicStream  uint16
	symRecStream  uint16
	machine       uint16
	sectionStream uint16
	fpoStream     uint16
	newFPOStream  uint16
	// modInfo and secContrib are the module info and section
	// contribution substreams (slices of the DBI stream).
	modInfo, secContrib []byte
}

// parseDBI decodes the DBI header, skips the substreams to the optional
// debug header and returns the stream numbers it names.
func parseDBI(b []byte) (dbiHeader, error) {
	var h dbiHeader
	bad := func(format string, args ...any) error {
		return &FormatError{Off: -1, Stream: streamDBI, Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) < dbiHeaderSize {
		return h, bad("DBI stream of %d bytes is too short for its header", len(b))
	}
	le := binary.LittleEndian
	if sig := int32(le.Uint32(b[0:])); sig != -1 {
		return h, bad("old-format DBI stream (signature %d) is not supported", sig)
	}
	h.age = le.Uint32(b[8:])
	h.globalStream = le.Uint16(b[12:])
	h.publicStream = le.Uint16(b[16:])
	h.symRecStream = le.Uint16(b[20:])
	h.machine = le.Uint16(b[58:])
	h.sectionStream, h.fpoStream, h.newFPOStream = noStream, noStream, noStream
	// Substream sizes in file order: ModInfo, SectionContribution,
	// SectionMap, SourceInfo, TypeServerMap, then EC at 52 (after
	// MFCTypeServerIndex at 44 and OptionalDbgHeaderSize at 48).
	var skip int64
	for _, off := range []int{24, 28, 32, 36, 40, 52} {
		n := int32(le.Uint32(b[off:]))
		if n < 0 {
			return h, bad("negative substream size %d at header offset %d", n, off)
		}
		skip += int64(n)
	}
	dbgSize := int32(le.Uint32(b[48:]))
	if dbgSize < 0 {
		return h, bad("negative optional debug header size %d", dbgSize)
	}
	start := int64(dbiHeaderSize) + skip
	if start+int64(dbgSize) > int64(len(b)) {
		return h, bad("substreams (%d bytes) and debug header (%d bytes) exceed the %d-byte stream", skip, dbgSize, len(b))
	}
	dbg := b[start : start+int64(dbgSize)]
	slot := func(i int) uint16 {
		if len(dbg) >= 2*(i+1) {
			return le.Uint16(dbg[2*i:])
		}
		return noStream
	}
	h.sectionStream = slot(dbiSectionHeaders)
	h.fpoStream = slot(dbiFPO)
	h.newFPOStream = slot(dbiNewFPO)
	// The substreams were bounded above (their sum fits the stream).
	modSize := int64(le.Uint32(b[24:]))
	scSize := int64(le.Uint32(b[28:]))
	h.modInfo = b[dbiHeaderSize : dbiHeaderSize+modSize]
	h.secContrib = b[dbiHeaderSize+modSize : dbiHeaderSize+modSize+scSize]
	return h, nil
}

// parseSections decodes a section-header stream: packed 40-byte
// IMAGE_SECTION_HEADERs.
func parseSections(b []byte, stream int) ([]Section, error) {
	if len(b)%sectionHeaderSize != 0 {
		return nil, &FormatError{Off: -1, Stream: stream, Msg: fmt.Sprintf("section header stream of %d bytes is not a multiple of %d", len(b), sectionHeaderSize)}
	}
	le := binary.LittleEndian
	secs := make([]Section, len(b)/sectionHeaderSize)
	for i := range secs {
		s := b[i*sectionHeaderSize:]
		name := s[:8]
		if j := bytes.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		secs[i] = Section{
			Name:                 string(name),
			VirtualSize:          le.Uint32(s[8:]),
			VirtualAddress:       le.Uint32(s[12:]),
			SizeOfRawData:        le.Uint32(s[16:]),
			PointerToRawData:     le.Uint32(s[20:]),
			PointerToRelocations: le.Uint32(s[24:]),
			PointerToLineNumbers: le.Uint32(s[28:]),
			NumberOfRelocations:  le.Uint16(s[32:]),
			NumberOfLineNumbers:  le.Uint16(s[34:]),
			Characteristics:      le.Uint32(s[36:]),
		}
	}
	return secs, nil
}
