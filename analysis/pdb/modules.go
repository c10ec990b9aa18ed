package pdb

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
)

// Module is one compiland of the DBI module info substream: an object file
// or import library member, with its own symbol stream holding its
// procedures and C13 line information.
type Module struct {
	Index int
	// Name is the module name (usually the object file path); ObjName the
	// object or library file it came from.
	Name, ObjName string
	// Stream is the module's symbol stream, -1 when it has none.
	Stream int
	// SymBytes, C11Bytes and C13Bytes are the sizes of the symbol
	// records (with their 4-byte signature), old-style lines and C13
	// debug subsections in Stream.
	SymBytes, C11Bytes, C13Bytes uint32
}

const modInfoFixed = 64 // ModInfo up to the two names

// maxModules bounds the module count: every entry takes at least 66 bytes
// of the substream, which bounds it anyway; this caps pathological tables.
const maxModules = 1 << 20

// moduleTable is the parsed module list, the section contributions and
// the per-module symbols, each module parsed on first use.
type moduleTable struct {
	mods     []Module
	contribs []contrib // sorted by rva
	err      error
	parsed   []moduleData
}

// contrib is one section contribution: [rva, rva+size) belongs to module.
type contrib struct {
	rva, size uint32
	module    uint16
}

// moduleData is one module's procedures and lines, parsed once.
type moduleData struct {
	once   sync.Once
	procs  []Procedure // sorted by RVA
	blocks []LineBlock // stream order
	ranges []lineRange // sorted by RVA
	files  []fileChecksum
	err    error
}

// parseModules decodes the module info substream (LLVM's DbiModuleDescriptor
// layout: ModInfo, 64 fixed bytes then two NUL-terminated names, padded to
// 4 bytes).
func parseModules(b []byte) ([]Module, error) {
	le := binary.LittleEndian
	var mods []Module
	for off := 0; off < len(b); {
		if len(mods) >= maxModules {
			return mods, &FormatError{Off: -1, Stream: streamDBI, Msg: fmt.Sprintf("more than %d modules", maxModules)}
		}
		if len(b)-off < modInfoFixed+2 {
			return mods, &FormatError{Off: -1, Stream: streamDBI, Msg: fmt.Sprintf("module info %d truncated at substream offset %d", len(mods), off)}
		}
		e := b[off:]
		m := Module{Index: len(mods), Stream: -1}
		if s := le.Uint16(e[34:]); s != noStream {
			m.Stream = int(s)
		}
		m.SymBytes, m.C11Bytes, m.C13Bytes = le.Uint32(e[36:]), le.Uint32(e[40:]), le.Uint32(e[44:])
		p := modInfoFixed
		name, n1, ok1 := cStringLen(e[p:])
		p += n1
		obj, n2, ok2 := cStringLen(e[p:])
		p += n2
		if !ok1 || !ok2 {
			return mods, &FormatError{Off: -1, Stream: streamDBI, Msg: fmt.Sprintf("module info %d: unterminated name", len(mods))}
		}
		m.Name, m.ObjName = name, obj
		mods = append(mods, m)
		off += (p + 3) &^ 3
	}
	return mods, nil
}

// cStringLen returns the string before the first NUL and the bytes used
// including the NUL.
func cStringLen(b []byte) (string, int, bool) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), i + 1, true
		}
	}
	return "", 0, false
}

// Section contribution substream versions (LLVM's SectionContrSubstreamVer).
const (
	scVer60 = 0xeffe0000 + 19970605
	scVer2  = 0xeffe0000 + 20140516
)

// parseContribs decodes the section contribution substream into RVA
// ranges. Entries are 28 bytes (V60) or 32 (V2, with the COFF section
// index); secs maps section numbers to RVAs.
func parseContribs(b []byte, secs []Section) []contrib {
	le := binary.LittleEndian
	if len(b) < 4 {
		return nil
	}
	size := 28
	switch le.Uint32(b) {
	case scVer60:
	case scVer2:
		size = 32
	default:
		return nil
	}
	var out []contrib
	for off := 4; off+size <= len(b); off += size {
		e := b[off:]
		sec, o, n := le.Uint16(e), le.Uint32(e[4:]), le.Uint32(e[8:])
		mod := le.Uint16(e[16:])
		if sec == 0 || int(sec) > len(secs) || n == 0 {
			continue
		}
		rva := uint64(secs[sec-1].VirtualAddress) + uint64(o)
		if rva+uint64(n) > 1<<32 {
			continue
		}
		out = append(out, contrib{rva: uint32(rva), size: n, module: mod})
	}
	slices.SortFunc(out, func(a, b contrib) int { return cmpU32(a.rva, b.rva) })
	return out
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// modules returns the module table, parsing the module list once.
func (f *File) modules() *moduleTable {
	f.modOnce.Do(func() {
		t := &moduleTable{}
		t.mods, t.err = parseModules(f.dbi.modInfo)
		t.contribs = parseContribs(f.dbi.secContrib, f.Sections)
		t.parsed = make([]moduleData, len(t.mods))
		f.mods = t
	})
	return f.mods
}

// Modules returns the compilands listed in the DBI stream. With a damaged
// module list it returns those before the damage and the error.
func (f *File) Modules() ([]Module, error) {
	t := f.modules()
	return slices.Clone(t.mods), t.err
}

// moduleAt returns the module whose section contribution holds rva.
func (t *moduleTable) moduleAt(rva uint32) (int, bool) {
	i, _ := slices.BinarySearchFunc(t.contribs, rva, func(c contrib, a uint32) int {
		if c.rva <= a {
			return -1
		}
		return 1
	})
	// Contributions do not overlap in a linked image, but check the few
	// before in case padding entries do.
	for j := i - 1; j >= 0 && j >= i-4; j-- {
		c := t.contribs[j]
		if rva-c.rva < c.size && int(c.module) < len(t.mods) {
			return int(c.module), true
		}
	}
	return 0, false
}

// moduleData parses module i's symbols and lines on first use.
func (f *File) moduleData(i int) *moduleData {
	t := f.modules()
	d := &t.parsed[i]
	d.once.Do(func() { f.parseModule(&t.mods[i], d) })
	return d
}

// parseModule reads a module stream: a 4-byte signature (4: C13), the
// symbol records, C11 lines (not read: MSVC stopped writing them in 2005),
// then the C13 debug subsections.
func (f *File) parseModule(m *Module, d *moduleData) {
	if m.Stream < 0 {
		return
	}
	size, ok := f.m.streamSize(m.Stream)
	if !ok {
		return
	}
	if uint64(m.SymBytes)+uint64(m.C11Bytes)+uint64(m.C13Bytes) > uint64(size) {
		d.err = &FormatError{Off: -1, Stream: m.Stream, Msg: fmt.Sprintf("module %d: symbol, C11 and C13 sizes exceed the %d-byte stream", m.Index, size)}
		return
	}
	b, err := f.m.readStream(m.Stream)
	if err != nil {
		d.err = err
		return
	}
	if m.SymBytes >= 4 {
		if sig := binary.LittleEndian.Uint32(b); sig != 4 {
			d.err = &FormatError{Off: -1, Stream: m.Stream, Msg: fmt.Sprintf("module %d: symbol signature %d (want 4, C13)", m.Index, sig)}
			return
		}
		d.procs, d.err = parseProcs(b[4:m.SymBytes], m, f.Sections)
	}
	c13 := b[m.SymBytes+m.C11Bytes : m.SymBytes+m.C11Bytes+m.C13Bytes]
	blocks, ranges, files, err := parseC13(c13, m, f.Sections)
	for i := range blocks {
		blocks[i].File = f.fileName(files, blocks[i].fileOff)
	}
	d.blocks, d.ranges, d.files = blocks, ranges, files
	if d.err == nil {
		d.err = err
	}
}
