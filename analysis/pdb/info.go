package pdb

import "encoding/binary"

// Fixed stream numbers of an MSF 7.0 PDB.
const (
	streamInfo = 1
	streamDBI  = 3
)

// parseInfo decodes the PDB info stream header: version, signature, age and
// GUID. The named-stream map that follows is not needed to find symbols.
func (f *File) parseInfo(b []byte) error {
	if len(b) < 28 {
		return &FormatError{Off: -1, Stream: streamInfo, Msg: "PDB info stream is too short for its header"}
	}
	le := binary.LittleEndian
	f.Version = le.Uint32(b[0:])
	f.Signature = le.Uint32(b[4:])
	f.Age = le.Uint32(b[8:])
	copy(f.GUID[:], b[12:28])
	return nil
}
