package codeview

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Record signatures, as the first four bytes of a CodeView record.
const (
	SignatureRSDS = "RSDS" // PDB 7.0: GUID and age
	SignatureNB10 = "NB10" // PDB 2.0: timestamp and age
	SignatureBpEL = "BpEL" // Breakpad's record for an ELF module: the build id
)

// bpelBytes is how Breakpad's BpEL record starts in a file: its signature is the C
// multi-character constant 'BpEL' (0x4270454c), stored little-endian.
const bpelBytes = "LEpB"

// maxPathLen bounds the PDB path kept from a record: MAX_PATH-style paths are
// far shorter, and a record is customer input.
const maxPathLen = 4096

// Record is a decoded CodeView record.
type Record struct {
	// Signature is SignatureRSDS or SignatureNB10.
	Signature string
	// GUID identifies the PDB (RSDS only).
	GUID GUID
	// Timestamp identifies the PDB (NB10 only).
	Timestamp uint32
	// Age counts the PDB's rewrites; it is part of the store key.
	Age uint32
	// PDBPath is the PDB path the linker wrote, often a build machine's absolute
	// Windows path. It is untrusted: use PDBName for lookups.
	PDBPath string
	// BuildID is the ELF build id of a BpEL record.
	BuildID []byte
}

// Parse decodes an RSDS or NB10 record. The path ends at the first NUL or at
// the end of b; a record too short for its fixed fields is an error.
func Parse(b []byte) (Record, error) {
	var r Record
	if len(b) < 4 {
		return r, fmt.Errorf("codeview: record of %d bytes is too short", len(b))
	}
	r.Signature = string(b[:4])
	if r.Signature == bpelBytes {
		r.Signature = SignatureBpEL
	}
	var rest []byte
	switch r.Signature {
	case SignatureRSDS:
		if len(b) < 24 {
			return r, fmt.Errorf("codeview: RSDS record of %d bytes is too short (want 24+)", len(b))
		}
		copy(r.GUID[:], b[4:20])
		r.Age = binary.LittleEndian.Uint32(b[20:24])
		rest = b[24:]
	case SignatureNB10:
		if len(b) < 16 {
			return r, fmt.Errorf("codeview: NB10 record of %d bytes is too short (want 16+)", len(b))
		}
		r.Timestamp = binary.LittleEndian.Uint32(b[8:12])
		r.Age = binary.LittleEndian.Uint32(b[12:16])
		rest = b[16:]
	case SignatureBpEL:
		r.BuildID = bytes.Clone(b[4:])
		return r, nil
	default:
		return r, fmt.Errorf("codeview: unknown record signature %q", b[:4])
	}
	if i := bytes.IndexByte(rest, 0); i >= 0 {
		rest = rest[:i]
	}
	if len(rest) > maxPathLen {
		rest = rest[:maxPathLen]
	}
	r.PDBPath = string(rest)
	return r, nil
}

// PDBName returns the file-name part of PDBPath, splitting on both Windows and
// POSIX separators, because a symbol store is keyed by the bare name.
// It does not make the name safe for the file system: the symstore package
// validates it.
func (r Record) PDBName() string {
	p := r.PDBPath
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// Identifier returns the module's debug identifier as Breakpad's debug_identifier and
// the debugid crate write it: the GUID in upper-case hex followed by the age in
// lower-case hex (RSDS), the time stamp and age (NB10), or the build id (BpEL). The
// symbol-store key (symstore.Key) differs only in the case of the age.
func (r Record) Identifier() string {
	switch r.Signature {
	case SignatureRSDS:
		return fmt.Sprintf("%s%x", r.GUID.Hex(), r.Age)
	case SignatureNB10:
		return fmt.Sprintf("%08X%x", r.Timestamp, r.Age)
	case SignatureBpEL:
		return fmt.Sprintf("%X", r.BuildID)
	}
	return ""
}
