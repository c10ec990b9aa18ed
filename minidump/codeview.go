package minidump

import (
	"encoding/binary"
	"fmt"

	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// CodeView record signatures as little-endian uint32s.
const (
	CVSignatureRSDS = 0x53445352 // "RSDS": PDB 7.0
	CVSignatureNB10 = 0x3031424e // "NB10": PDB 2.0
	CVSignatureBpEL = 0x4270454c // Breakpad's ELF build id: the multi-character constant 'BpEL', bytes "LEpB" in the file
)

// maxCVRecord bounds a CodeView record: a signature, a GUID or build id and a path.
const maxCVRecord = 64 << 10

// CodeView is a module's CodeView record, the identity that finds its symbols. It is
// the record type of package codeview, shared with the PE and PDB readers.
type CodeView = codeview.Record

// ParseCodeView decodes a CodeView record (as found in a module list or a PE debug
// directory). A record with an unknown signature is returned with Signature set to
// its first four bytes in hex, not as an error: the module is still listed.
func ParseCodeView(b []byte) (*CodeView, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("CodeView record is %d bytes", len(b))
	}
	switch sig := binary.LittleEndian.Uint32(b); sig {
	case CVSignatureRSDS, CVSignatureNB10, CVSignatureBpEL:
		r, err := codeview.Parse(b)
		if err != nil {
			return nil, err
		}
		return &r, nil
	default:
		return &CodeView{Signature: fmt.Sprintf("%08x", sig)}, nil
	}
}
