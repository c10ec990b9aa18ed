package pe

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// DirectoryException is the data directory index of the exception directory
// (.pdata): the function table stack unwinding uses on x64 and ARM64.
const DirectoryException = 3

// maxRuntimeFunctions bounds the entries read from an exception directory: the
// largest system DLLs have some tens of thousands (a 16 MB directory).
const maxRuntimeFunctions = 1 << 20

// RuntimeFunction is an entry of the exception directory.
//
// On x64 it is RUNTIME_FUNCTION {BeginAddress, EndAddress, UnwindData}, 12 bytes
// ("x64 exception handling", Microsoft C++ docs). On ARM64 it is the 8-byte
// ARM64_RUNTIME_FUNCTION {BeginAddress, UnwindData}: the low 2 bits of UnwindData
// are the Flag, 0 for an RVA of an .xdata record, 1 or 2 for packed unwind data in
// the remaining bits ("ARM64 exception handling").
type RuntimeFunction struct {
	Begin uint32 // RVA of the first instruction
	// End is the RVA past the last instruction. For an ARM64 entry it is known
	// from packed data; for an .xdata entry it is 0 until the .xdata header is
	// read (ExceptionTable.Lookup fills it in).
	End uint32
	// UnwindData is the RVA of the UNWIND_INFO (x64), or the raw second word
	// (ARM64).
	UnwindData uint32
}

// ARM64Flag returns the Flag of an ARM64 entry: 0 .xdata RVA, 1 packed with a
// single prolog and epilog, 2 packed without either (a function fragment), 3
// reserved.
func (r RuntimeFunction) ARM64Flag() uint8 { return uint8(r.UnwindData & 3) }

// ExceptionTable is an image's exception directory, sorted by Begin.
type ExceptionTable struct {
	// Machine is the image's machine type: MachineAMD64 or MachineARM64.
	Machine uint16
	// Entries are in the order the image stores them, which the format requires
	// to be ascending; Lookup checks the order it relies on.
	Entries []RuntimeFunction

	f      *File
	sorted bool
}

// ExceptionTable reads the exception directory of an x64 or ARM64 image. An image
// without one returns (nil, nil); a 32-bit x86 image has none (its unwinding uses
// frame pointers and FPO data from the PDB).
func (f *File) ExceptionTable() (*ExceptionTable, error) {
	if len(f.DataDirectories) <= DirectoryException || f.DataDirectories[DirectoryException].VirtualAddress == 0 ||
		f.DataDirectories[DirectoryException].Size == 0 {
		return nil, nil
	}
	dd := f.DataDirectories[DirectoryException]
	var es uint32
	switch f.Machine {
	case MachineAMD64:
		es = 12
	case MachineARM64:
		es = 8
	default:
		return nil, formatErr(int64(dd.VirtualAddress), "exception directory of machine %#x is not decoded", f.Machine)
	}
	n := dd.Size / es
	if n > maxRuntimeFunctions {
		return nil, formatErr(int64(dd.VirtualAddress), "exception directory of %d bytes holds more than %d entries", dd.Size, maxRuntimeFunctions)
	}
	if uint64(n)*uint64(es) > f.rvaLimit() {
		return nil, formatErr(int64(dd.VirtualAddress), "exception directory of %d bytes is larger than the image", dd.Size)
	}
	b, err := f.readChunked(dd.VirtualAddress, uint64(n)*uint64(es))
	if err != nil {
		return nil, fmt.Errorf("pe: exception directory: %w", err)
	}
	le := binary.LittleEndian
	t := &ExceptionTable{Machine: f.Machine, Entries: make([]RuntimeFunction, n), f: f}
	for i := range t.Entries {
		e := b[uint32(i)*es:]
		r := RuntimeFunction{Begin: le.Uint32(e)}
		if es == 12 {
			r.End, r.UnwindData = le.Uint32(e[4:]), le.Uint32(e[8:])
		} else {
			r.UnwindData = le.Uint32(e[4:])
			if r.ARM64Flag() != 0 {
				// Packed: FunctionLength is bits 2-12, in 4-byte units.
				r.End = r.Begin + 4*((r.UnwindData>>2)&0x7ff)
			}
		}
		t.Entries[i] = r
	}
	t.sorted = sort.SliceIsSorted(t.Entries, func(i, j int) bool { return t.Entries[i].Begin < t.Entries[j].Begin })
	if !t.sorted {
		// The loader binary-searches the table; an unsorted one is damaged, but a
		// sorted copy still answers lookups.
		sort.SliceStable(t.Entries, func(i, j int) bool { return t.Entries[i].Begin < t.Entries[j].Begin })
	}
	return t, nil
}

// Sorted reports whether the image stored the table in ascending order, as the
// format requires.
func (t *ExceptionTable) Sorted() bool { return t.sorted }

// Lookup returns the entry whose function contains rva, by binary search as
// RtlLookupFunctionEntry does. ok is false when no entry covers rva: on x64 and
// ARM64 that means a leaf function, whose return address is at [RSP] or in LR.
// For an ARM64 .xdata entry the function length is read from the .xdata header.
func (t *ExceptionTable) Lookup(rva uint32) (fn RuntimeFunction, index int, ok bool, err error) {
	es := t.Entries
	i := sort.Search(len(es), func(i int) bool { return es[i].Begin > rva }) - 1
	// The entry starting last at or before rva normally decides. LLVM also emits a
	// chained fragment's entry inside its primary's range; past the fragment's end
	// the primary covers rva, so a few earlier entries are tried too.
	for j := i; j >= 0 && j > i-maxOverlap; j-- {
		fn = es[j]
		if fn.End == 0 && t.Machine == MachineARM64 && fn.ARM64Flag() == 0 {
			var h [4]byte
			if err := t.f.ReadRVA(h[:], fn.UnwindData); err != nil {
				return fn, j, false, fmt.Errorf("pe: .xdata of the function at %#x: %w", fn.Begin, err)
			}
			fn.End = fn.Begin + 4*(binary.LittleEndian.Uint32(h[:])&0x3ffff)
		}
		if rva < fn.End {
			return fn, j, true, nil
		}
	}
	return RuntimeFunction{}, -1, false, nil
}

// maxOverlap bounds how many entries before the nearest one Lookup tries.
const maxOverlap = 4
