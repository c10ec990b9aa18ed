package pe

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// Debug directory entry types.
const (
	DebugTypeCodeView = 2
	DebugTypeRepro    = 16
)

const (
	debugEntrySize = 28
	// maxCodeViewSize bounds the CodeView record read: 24 fixed bytes and a
	// path; real ones are a few hundred bytes.
	maxCodeViewSize = 64 << 10
	maxDebugEntries = 1024
)

// ErrNoCodeView is returned by CodeView when the image has no CodeView
// debug entry.
var ErrNoCodeView = errors.New("pe: no CodeView debug entry")

// DebugEntry is an IMAGE_DEBUG_DIRECTORY entry.
type DebugEntry struct {
	Characteristics  uint32
	TimeDateStamp    uint32
	MajorVersion     uint16
	MinorVersion     uint16
	Type             uint32
	SizeOfData       uint32
	AddressOfRawData uint32 // RVA of the data when it is mapped, or 0
	PointerToRawData uint32 // file offset of the data
}

// DebugDirectory reads the debug directory entries. An image without one
// returns (nil, nil).
func (f *File) DebugDirectory() ([]DebugEntry, error) {
	if len(f.DataDirectories) <= DirectoryDebug || f.DataDirectories[DirectoryDebug].VirtualAddress == 0 {
		return nil, nil
	}
	dd := f.DataDirectories[DirectoryDebug]
	n := dd.Size / debugEntrySize
	if n > maxDebugEntries {
		return nil, formatErr(int64(dd.VirtualAddress), "debug directory of %d bytes is implausibly large", dd.Size)
	}
	b := make([]byte, n*debugEntrySize)
	if err := f.ReadRVA(b, dd.VirtualAddress); err != nil {
		return nil, fmt.Errorf("pe: debug directory: %w", err)
	}
	le := binary.LittleEndian
	out := make([]DebugEntry, n)
	for i := range out {
		e := b[i*debugEntrySize:]
		out[i] = DebugEntry{
			Characteristics:  le.Uint32(e[0:]),
			TimeDateStamp:    le.Uint32(e[4:]),
			MajorVersion:     le.Uint16(e[8:]),
			MinorVersion:     le.Uint16(e[10:]),
			Type:             le.Uint32(e[12:]),
			SizeOfData:       le.Uint32(e[16:]),
			AddressOfRawData: le.Uint32(e[20:]),
			PointerToRawData: le.Uint32(e[24:]),
		}
	}
	return out, nil
}

// CodeView returns the decoded CodeView record of the first CodeView debug
// entry: the PDB's GUID, age and path. In the mapped layout the record is
// read at its RVA; in the file layout at its file offset.
func (f *File) CodeView() (codeview.Record, error) {
	entries, err := f.DebugDirectory()
	if err != nil {
		return codeview.Record{}, err
	}
	for _, e := range entries {
		if e.Type != DebugTypeCodeView {
			continue
		}
		b, err := f.debugData(e)
		if err != nil {
			return codeview.Record{}, err
		}
		r, err := codeview.Parse(b)
		if err != nil {
			return r, fmt.Errorf("pe: %w", err)
		}
		return r, nil
	}
	return codeview.Record{}, ErrNoCodeView
}

// debugData reads the data of a debug entry in the way its layout allows.
func (f *File) debugData(e DebugEntry) ([]byte, error) {
	if e.SizeOfData > maxCodeViewSize {
		return nil, formatErr(-1, "debug data of %d bytes is implausibly large", e.SizeOfData)
	}
	b := make([]byte, e.SizeOfData)
	switch {
	case f.Layout == LayoutFile && e.PointerToRawData != 0:
		if err := f.readAt(b, int64(e.PointerToRawData)); err != nil {
			return nil, formatErr(int64(e.PointerToRawData), "reading debug data: %v", err)
		}
	case e.AddressOfRawData != 0:
		if err := f.ReadRVA(b, e.AddressOfRawData); err != nil {
			return nil, fmt.Errorf("pe: reading debug data: %w", err)
		}
	default:
		return nil, formatErr(-1, "debug data is not mapped (no AddressOfRawData)")
	}
	return b, nil
}
