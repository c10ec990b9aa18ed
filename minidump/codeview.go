package minidump

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"strings"
)

// CodeView record signatures.
const (
	CVSignatureRSDS = 0x53445352 // "RSDS": PDB 7.0
	CVSignatureNB10 = 0x3031424e // "NB10": PDB 2.0
	CVSignatureBpEL = 0x4270454c // Breakpad's ELF build id: the multi-character constant 'BpEL', bytes "LEpB" in the file
)

// maxCVRecord bounds a CodeView record: a signature, a GUID or build id and a path.
const maxCVRecord = 64 << 10

// CodeView is a module's CodeView record, the identity that finds its symbols.
type CodeView struct {
	// Signature is "RSDS", "NB10", "BpEL" or, for an unknown record, its first four
	// bytes in hex.
	Signature string
	GUID      GUID   // RSDS
	Age       uint32 // RSDS, NB10
	Timestamp uint32 // NB10: the PDB's signature, a time stamp
	PDBPath   string // RSDS, NB10: path of the PDB as the linker wrote it
	BuildID   []byte // BpEL: ELF build id
}

// PDBName returns the file name part of PDBPath, accepting both separators, as symbol
// stores use it. The result is still untrusted input.
func (c *CodeView) PDBName() string {
	p := strings.ReplaceAll(c.PDBPath, `\`, "/")
	return path.Base(p)
}

// Identifier returns the symbol-store key component: GUID in hex followed by the age in
// hex (RSDS), time stamp and age (NB10), or the build id (BpEL).
func (c *CodeView) Identifier() string {
	switch c.Signature {
	case "RSDS":
		return fmt.Sprintf("%s%X", c.GUID.Hex(), c.Age)
	case "NB10":
		return fmt.Sprintf("%08X%X", c.Timestamp, c.Age)
	case "BpEL":
		return fmt.Sprintf("%X", c.BuildID)
	}
	return ""
}

// ParseCodeView decodes a CodeView record (as found in a module list or a PE debug
// directory).
func ParseCodeView(b []byte) (*CodeView, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("CodeView record is %d bytes", len(b))
	}
	sig := binary.LittleEndian.Uint32(b)
	cstr := func(p []byte) string {
		if i := bytes.IndexByte(p, 0); i >= 0 {
			p = p[:i]
		}
		return string(p)
	}
	switch sig {
	case CVSignatureRSDS:
		if len(b) < 24 {
			return nil, fmt.Errorf("RSDS record is %d bytes, need at least 24", len(b))
		}
		cv := &CodeView{Signature: "RSDS", Age: binary.LittleEndian.Uint32(b[20:]), PDBPath: cstr(b[24:])}
		copy(cv.GUID[:], b[4:20])
		return cv, nil
	case CVSignatureNB10:
		if len(b) < 16 {
			return nil, fmt.Errorf("NB10 record is %d bytes, need at least 16", len(b))
		}
		return &CodeView{Signature: "NB10", Timestamp: binary.LittleEndian.Uint32(b[8:]),
			Age: binary.LittleEndian.Uint32(b[12:]), PDBPath: cstr(b[16:])}, nil
	case CVSignatureBpEL:
		return &CodeView{Signature: "BpEL", BuildID: bytes.Clone(b[4:])}, nil
	}
	return &CodeView{Signature: fmt.Sprintf("%08x", sig)}, nil
}
