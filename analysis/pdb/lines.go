package pdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// C13 debug subsection kinds (cvinfo.h DEBUG_S_SUBSECTION_TYPE).
const (
	debugSLines     = 0xF2
	debugSFileChksm = 0xF4
	debugSIgnore    = 0x80000000
)

// cvLinesHaveColumns is CV_LINES_HAVE_COLUMNS in a DEBUG_S_LINES header.
const cvLinesHaveColumns = 1

// Special line numbers MSVC gives compiler-generated code (LLVM's
// codeview::LineInfo names them; llvm-pdbutil prints "NSI" and "ASI").
// LineAt returns them as they are: a caller should show no line.
const (
	LineNeverStepInto  = 0xF00F00
	LineAlwaysStepInto = 0xFEEFEE
)

// Line is the source position of an address.
type Line struct {
	// File is the source file name from /names ("" if unresolvable).
	File string
	// Line is the line number; Column the start column when the PDB has
	// columns (0 otherwise).
	Line   uint32
	Column uint16
	// IsStatement is CV_Line_t's fStatement bit (llvm-pdbutil prints "!"
	// when it is clear).
	IsStatement bool
	// RVA is where the line's code starts; the line covers the addresses
	// up to the next line entry of its block (or the block's end).
	RVA uint32
	// Module is the index of the module whose C13 lines hold it.
	Module int
}

// LineBlock is one file block of a DEBUG_S_LINES subsection: line entries
// of one source file, in a code range that usually is one function (a
// function with inlined code from headers has one block per file).
type LineBlock struct {
	File string // from /names, "" if unresolvable
	// Segment and Offset start the subsection's code range, of Size
	// bytes; RVA is its image address.
	Segment    uint16
	Offset     uint32
	Size       uint32
	RVA        uint32
	HasColumns bool
	Entries    []LineEntry
	fileOff    uint32 // offset of the file's entry in DEBUG_S_FILECHKSMS
}

// LineEntry is one CV_Line_t (and CV_Column_t).
type LineEntry struct {
	// Offset is from the subsection's start (LineBlock.Offset).
	Offset      uint32
	Line        uint32
	Column      uint16
	IsStatement bool
}

// lineRange is one DEBUG_S_LINES subsection prepared for lookup: the
// entries of all its file blocks merged in address order.
type lineRange struct {
	rva, size uint32
	entries   []rangeEntry
}

type rangeEntry struct {
	rva    uint32
	line   uint32
	column uint16
	stmt   bool
	block  int32 // index into moduleData.blocks, for the file
}

type fileChecksum struct {
	off     uint32 // offset of the entry in the subsection
	nameOff uint32 // into /names
}

// maxLineEntries bounds the line entries of one module; each takes 8 bytes
// of the stream, which bounds it too.
const maxLineEntries = 1 << 24

// parseC13 walks a module's C13 debug subsections (LLVM's
// DebugSubsectionRecord: u32 kind, u32 length, data padded to 4 bytes) and
// decodes DEBUG_S_LINES and DEBUG_S_FILECHKSMS.
func parseC13(b []byte, m *Module, secs []Section) ([]LineBlock, []lineRange, []fileChecksum, error) {
	le := binary.LittleEndian
	var blocks []LineBlock
	var ranges []lineRange
	var files []fileChecksum
	var errs []error
	total := 0
	bad := func(format string, args ...any) error {
		return &FormatError{Off: -1, Stream: m.Stream, Msg: fmt.Sprintf("module %d: C13: ", m.Index) + fmt.Sprintf(format, args...)}
	}
	for off := 0; off+8 <= len(b); {
		kind, n := le.Uint32(b[off:]), le.Uint32(b[off+4:])
		if uint64(n) > uint64(len(b)-off-8) {
			errs = append(errs, bad("subsection %#x at %d runs past the end", kind, off))
			break
		}
		data := b[off+8 : off+8+int(n)]
		off += 8 + (int(n)+3)&^3
		if kind&debugSIgnore != 0 {
			continue
		}
		switch kind {
		case debugSLines:
			bs, err := parseLinesSubsection(data, secs, &total)
			if len(bs) > 0 {
				r := lineRange{rva: bs[0].RVA, size: bs[0].Size}
				for _, blk := range bs {
					for _, e := range blk.Entries {
						r.entries = append(r.entries, rangeEntry{rva: blk.RVA + e.Offset, line: e.Line, column: e.Column, stmt: e.IsStatement, block: int32(len(blocks))})
					}
					blocks = append(blocks, blk)
				}
				slices.SortStableFunc(r.entries, func(a, b rangeEntry) int { return cmpU32(a.rva, b.rva) })
				ranges = append(ranges, r)
			}
			if err != nil {
				errs = append(errs, bad("%v", err))
			}
		case debugSFileChksm:
			for p := 0; p+6 <= len(data); {
				cb := int(data[p+4])
				files = append(files, fileChecksum{off: uint32(p), nameOff: le.Uint32(data[p:])})
				p += (6 + cb + 3) &^ 3
			}
		}
	}
	slices.SortStableFunc(ranges, func(a, b lineRange) int { return cmpU32(a.rva, b.rva) })
	return blocks, ranges, files, errors.Join(errs...)
}

// parseLinesSubsection decodes one DEBUG_S_LINES subsection: a header
// (offCon, segCon, flags, cbCon), then file blocks (offFile, nLines,
// cbBlock) each followed by nLines CV_Line_t and, with columns, nLines
// CV_Column_t.
func parseLinesSubsection(d []byte, secs []Section, total *int) ([]LineBlock, error) {
	le := binary.LittleEndian
	if len(d) < 12 {
		return nil, errors.New("DEBUG_S_LINES header truncated")
	}
	off, seg, flags, size := le.Uint32(d), le.Uint16(d[4:]), le.Uint16(d[6:]), le.Uint32(d[8:])
	if seg == 0 || int(seg) > len(secs) {
		return nil, fmt.Errorf("DEBUG_S_LINES for section %d of %d", seg, len(secs))
	}
	base := uint64(secs[seg-1].VirtualAddress) + uint64(off)
	if base+uint64(size) > 1<<32 {
		return nil, fmt.Errorf("DEBUG_S_LINES range %#x+%#x past 4 GiB", base, size)
	}
	cols := flags&cvLinesHaveColumns != 0
	var out []LineBlock
	for p := 12; p+12 <= len(d); {
		fileOff, n, cb := le.Uint32(d[p:]), le.Uint32(d[p+4:]), le.Uint32(d[p+8:])
		per := uint64(8)
		if cols {
			per = 12
		}
		if uint64(cb) < 12 || uint64(cb) > uint64(len(d)-p) || uint64(n)*per > uint64(cb)-12 {
			return out, fmt.Errorf("file block at %d: %d lines in %d bytes", p, n, cb)
		}
		if *total += int(n); *total > maxLineEntries {
			return out, fmt.Errorf("more than %d line entries", maxLineEntries)
		}
		blk := LineBlock{Segment: seg, Offset: off, Size: size, RVA: uint32(base), fileOff: fileOff, HasColumns: cols, Entries: make([]LineEntry, n)}
		e := d[p+12:]
		for i := range blk.Entries {
			v := le.Uint32(e[8*i+4:])
			blk.Entries[i] = LineEntry{Offset: le.Uint32(e[8*i:]), Line: v & 0xFFFFFF, IsStatement: v>>31 != 0}
		}
		if cols {
			c := e[8*n:]
			for i := range blk.Entries {
				blk.Entries[i].Column = le.Uint16(c[4*i:])
			}
		}
		out = append(out, blk)
		p += int(cb)
	}
	return out, nil
}

// LineAt returns the source line of the code at rva: the line entry at or
// below rva in the C13 block that covers it, in the module that
// contributed the code. The file name comes from /names through the
// module's file checksums.
func (f *File) LineAt(rva uint32) (Line, bool) {
	t := f.modules()
	mi, ok := t.moduleAt(rva)
	if !ok {
		if p, ok := f.FunctionAt(rva); ok {
			mi = p.Module
		} else {
			return Line{}, false
		}
	}
	return f.lineIn(mi, rva)
}

func (f *File) lineIn(mi int, rva uint32) (Line, bool) {
	d := f.moduleData(mi)
	i, _ := slices.BinarySearchFunc(d.ranges, rva, func(r lineRange, a uint32) int {
		if r.rva <= a {
			return -1
		}
		return 1
	})
	// Subsections do not overlap in linker output; look at a few in case.
	for j := i - 1; j >= 0 && j >= i-4; j-- {
		r := &d.ranges[j]
		if rva-r.rva >= r.size {
			continue
		}
		k, _ := slices.BinarySearchFunc(r.entries, rva, func(e rangeEntry, a uint32) int {
			if e.rva <= a {
				return -1
			}
			return 1
		})
		if k == 0 {
			continue
		}
		e := r.entries[k-1]
		return Line{
			File: d.blocks[e.block].File, Line: e.line, Column: e.column, IsStatement: e.stmt,
			RVA: e.rva, Module: mi,
		}, true
	}
	return Line{}, false
}

// ModuleLines returns module i's C13 line blocks in stream order, with
// their file names resolved.
func (f *File) ModuleLines(i int) ([]LineBlock, error) {
	t := f.modules()
	if i < 0 || i >= len(t.mods) {
		return nil, fmt.Errorf("pdb: no module %d (the PDB has %d)", i, len(t.mods))
	}
	d := f.moduleData(i)
	return slices.Clone(d.blocks), d.err
}

// fileName resolves a DEBUG_S_FILECHKSMS offset to a name through /names.
func (f *File) fileName(files []fileChecksum, off uint32) string {
	i, ok := slices.BinarySearchFunc(files, off, func(c fileChecksum, o uint32) int { return cmpU32(c.off, o) })
	if !ok {
		return ""
	}
	names, err := f.stringTable()
	if err != nil {
		return ""
	}
	s, _ := names.at(files[i].nameOff)
	return s
}
