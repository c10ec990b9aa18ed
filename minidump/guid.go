package minidump

import (
	"encoding/binary"
	"fmt"
)

// A GUID is a Windows GUID in its in-file byte order (Data1-3 little-endian).
type GUID [16]byte

// String formats g as {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}.
func (g GUID) String() string {
	return fmt.Sprintf("{%08X-%04X-%04X-%02X%02X-%X}", binary.LittleEndian.Uint32(g[0:]),
		binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8], g[9], g[10:16])
}

// Hex formats g as symbol stores key it: 32 upper-case hex digits, no separators.
func (g GUID) Hex() string {
	return fmt.Sprintf("%08X%04X%04X%X", binary.LittleEndian.Uint32(g[0:]),
		binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8:16])
}

// IsZero reports whether g is all zeros.
func (g GUID) IsZero() bool { return g == GUID{} }
