package codeview

import (
	"encoding/binary"
	"fmt"
)

// GUID is a Windows GUID in its on-disk byte order: Data1 (u32), Data2 (u16)
// and Data3 (u16) little-endian, then the 8 bytes of Data4. It is kept as raw
// bytes so that comparing two records compares exactly what was stored.
type GUID [16]byte

// String formats g the way Windows and llvm-pdbutil print it:
// {3249D99D-0C40-4931-8610-F4E4FB0B6936}.
func (g GUID) String() string {
	return fmt.Sprintf("{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		binary.LittleEndian.Uint32(g[0:4]), binary.LittleEndian.Uint16(g[4:6]),
		binary.LittleEndian.Uint16(g[6:8]), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15])
}

// Hex formats g as the 32 upper-case hex digits a symbol store uses in its
// key folder (Data1, Data2, Data3 as numbers, then Data4 byte by byte).
func (g GUID) Hex() string {
	return fmt.Sprintf("%08X%04X%04X%02X%02X%02X%02X%02X%02X%02X%02X",
		binary.LittleEndian.Uint32(g[0:4]), binary.LittleEndian.Uint16(g[4:6]),
		binary.LittleEndian.Uint16(g[6:8]), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15])
}

// ParseGUID parses the forms String and Hex print, with or without braces
// and dashes, in either letter case.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	digits := make([]byte, 0, 32)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i == 0, c == '}' && i == len(s)-1, c == '-':
			continue
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			digits = append(digits, c)
		default:
			return g, fmt.Errorf("codeview: bad GUID %q", s)
		}
	}
	if len(digits) != 32 {
		return g, fmt.Errorf("codeview: bad GUID %q: want 32 hex digits, have %d", s, len(digits))
	}
	var raw [16]byte
	for i := range raw {
		raw[i] = unhex(digits[2*i])<<4 | unhex(digits[2*i+1])
	}
	// The text form prints Data1..Data3 as numbers: store them little-endian.
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, nil
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// IsZero reports whether g is all zeros.
func (g GUID) IsZero() bool { return g == GUID{} }
