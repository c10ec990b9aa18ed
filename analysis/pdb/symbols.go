package pdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Kind is a CodeView symbol record kind.
type Kind uint16

// The record kinds the reader decodes.
const (
	KindLData32 Kind = 0x110C // S_LDATA32: file-static data
	KindGData32 Kind = 0x110D // S_GDATA32: global data
	KindPub32   Kind = 0x110E // S_PUB32: public (linker) symbol
)

// String returns the CodeView name of k, as llvm-pdbutil prints it.
func (k Kind) String() string {
	switch k {
	case KindLData32:
		return "S_LDATA32"
	case KindGData32:
		return "S_GDATA32"
	case KindPub32:
		return "S_PUB32"
	}
	return fmt.Sprintf("S_%#04x", uint16(k))
}

// PublicFlags are the CV_PUBSYMFLAGS of an S_PUB32 record. A public with
// neither PublicCode nor PublicFunction names data (or an import thunk slot).
type PublicFlags uint32

// Public symbol flags.
const (
	PublicCode     PublicFlags = 1 << 0
	PublicFunction PublicFlags = 1 << 1
	PublicManaged  PublicFlags = 1 << 2
	PublicMSIL     PublicFlags = 1 << 3
)

// IsData reports whether the public names data rather than code.
func (f PublicFlags) IsData() bool { return f&(PublicCode|PublicFunction) == 0 }

// String formats f as llvm-pdbutil does: "none" or names joined by " | ".
func (f PublicFlags) String() string {
	if f == 0 {
		return "none"
	}
	var parts []string
	for _, n := range []struct {
		bit  PublicFlags
		name string
	}{{PublicCode, "code"}, {PublicFunction, "function"}, {PublicManaged, "managed"}, {PublicMSIL, "msil"}} {
		if f&n.bit != 0 {
			parts = append(parts, n.name)
			f &^= n.bit
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(f)))
	}
	return strings.Join(parts, " | ")
}

// Symbol is a public or global data symbol.
type Symbol struct {
	// Name is the symbol name as stored: publics are decorated (x86 C names
	// carry a leading underscore, C++ names are mangled), globals are not.
	Name string
	// Kind is KindPub32, KindGData32 or KindLData32.
	Kind Kind
	// Flags are the public symbol flags (publics only).
	Flags PublicFlags
	// TypeIndex is the CodeView type of a global (globals only).
	TypeIndex uint32
	// Segment and Offset are the address as stored: Segment is a 1-based
	// section number, 0 for absolute symbols.
	Segment uint16
	Offset  uint32
	// RVA is the address relative to the image base, valid when HasRVA is
	// set (Segment names a section of the PDB's section headers).
	RVA    uint32
	HasRVA bool
	// RecordOffset is the offset of the record in the symbol record stream,
	// the number llvm-pdbutil prints before each record.
	RecordOffset uint32
}

// symbolTable is the decoded symbol record stream.
type symbolTable struct {
	publics []Symbol
	globals []Symbol
	// byName maps a name to indexes into all (globals then publics, so a
	// lookup lists the typed global before the linker's public).
	byName map[string][]int
	all    []Symbol
	err    error
}

// parseSymbols walks the symbol record stream once. The publics and globals
// hash streams only index this stream, so a linear walk sees every record.
// Records after a malformed one cannot be found, so the walk stops there and
// returns what it decoded with the error.
func parseSymbols(b []byte, stream int, secs []Section) *symbolTable {
	t := &symbolTable{}
	le := binary.LittleEndian
	for off := 0; off+4 <= len(b); {
		recLen := int(le.Uint16(b[off:]))
		if recLen < 2 {
			t.err = &FormatError{Off: -1, Stream: stream, Msg: fmt.Sprintf("symbol record at stream offset %d has length %d", off, recLen)}
			break
		}
		end := off + 2 + recLen
		if end > len(b) {
			t.err = &FormatError{Off: -1, Stream: stream, Msg: fmt.Sprintf("symbol record at stream offset %d runs %d bytes past the stream end", off, end-len(b))}
			break
		}
		kind := Kind(le.Uint16(b[off+2:]))
		body := b[off+4 : end]
		switch kind {
		case KindPub32, KindGData32, KindLData32:
			if len(body) < 10 {
				t.err = &FormatError{Off: -1, Stream: stream, Msg: fmt.Sprintf("%v record at stream offset %d is too short", kind, off)}
				break
			}
			s := Symbol{
				Kind:         kind,
				Offset:       le.Uint32(body[4:]),
				Segment:      le.Uint16(body[8:]),
				Name:         cString(body[10:]),
				RecordOffset: uint32(off),
			}
			if kind == KindPub32 {
				s.Flags = PublicFlags(le.Uint32(body))
			} else {
				s.TypeIndex = le.Uint32(body)
			}
			if s.Segment >= 1 && int(s.Segment) <= len(secs) {
				rva := uint64(secs[s.Segment-1].VirtualAddress) + uint64(s.Offset)
				if rva <= 0xFFFFFFFF {
					s.RVA, s.HasRVA = uint32(rva), true
				}
			}
			if kind == KindPub32 {
				t.publics = append(t.publics, s)
			} else {
				t.globals = append(t.globals, s)
			}
		}
		if t.err != nil {
			break
		}
		off = end
	}
	t.all = make([]Symbol, 0, len(t.publics)+len(t.globals))
	t.all = append(append(t.all, t.globals...), t.publics...)
	t.byName = make(map[string][]int, len(t.all))
	for i, s := range t.all {
		t.byName[s.Name] = append(t.byName[s.Name], i)
	}
	return t
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
