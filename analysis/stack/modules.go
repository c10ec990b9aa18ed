package stack

import (
	"encoding/binary"
	"errors"
	"sort"

	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/minidump"
)

// Module is a loaded module: its address range and name, and, when it came from a
// minidump, the module list entry (for an ImageProvider to find its image by).
type Module struct {
	Base uint64
	Size uint64
	// Name is the path the dump recorded.
	Name string
	// Dump is the module list entry, or nil.
	Dump *minidump.Module
}

// End returns the first address past the module.
func (m *Module) End() uint64 { return m.Base + m.Size }

// BaseName returns the file name of the module's path, as stack traces show it.
func (m *Module) BaseName() string {
	for i := len(m.Name) - 1; i >= 0; i-- {
		if m.Name[i] == '/' || m.Name[i] == '\\' {
			return m.Name[i+1:]
		}
	}
	return m.Name
}

// ModulesFromDump makes the walker's module list from a dump's module list.
func ModulesFromDump(ms []minidump.Module) []Module {
	out := make([]Module, 0, len(ms))
	for i := range ms {
		m := &ms[i]
		if m.Size == 0 {
			continue
		}
		out = append(out, Module{Base: m.Base, Size: uint64(m.Size), Name: m.Name, Dump: m})
	}
	return out
}

// Limits on what the walker reads of an image.
const (
	// maxCodeRead bounds a code read: enough for an x64 epilog and the longest
	// call instruction before a return address.
	maxCodeRead = 64
	// maxUnwindCache bounds the unwind descriptions kept per module.
	maxUnwindCache = 4096
)

// modState is what the walker learned about one module, lazily.
type modState struct {
	loaded bool
	// mapped is the image as the dump captured it (nil when its headers were not
	// captured); file is the image an ImageProvider gave.
	mapped, file *pe.File
	// pdata is the exception directory of whichever image holds it, and unwind
	// that image.
	pdata     *pe.ExceptionTable
	unwind    *pe.File
	fileTried bool
	// exec lists the executable sections as RVA ranges; execKnown is false when
	// no headers were found (any address in the module then counts as code).
	exec      [][2]uint32
	execKnown bool

	x64   map[uint32]*pe.UnwindInfo
	arm64 map[uint32]*pe.ARM64Unwind
}

const (
	scnCntCode    = 0x00000020
	scnMemExecute = 0x20000000
)

// machineOf is the PE machine type of an architecture's images.
func machineOf(a Arch) uint16 {
	switch a {
	case ArchX86:
		return pe.MachineI386
	case ArchAMD64:
		return pe.MachineAMD64
	case ArchARM64:
		return pe.MachineARM64
	case ArchARM:
		return pe.MachineARMNT
	}
	return 0
}

// state loads what the dump itself tells about module i: its image as captured
// (headers, executable sections, exception directory), once.
func (w *Walker) state(i int) *modState {
	st := &w.states[i]
	if st.loaded {
		return st
	}
	st.loaded = true
	m := &w.modules[i]
	if w.mem != nil && m.Size > 0 && m.Size <= 1<<32 && w.inDump(m.Base, 64) {
		f, err := pe.NewMapped(pe.MemoryReader(w.mem.ReadAt, m.Base), int64(m.Size))
		if err == nil && f.Machine == machineOf(w.arch) {
			st.mapped = f
			w.learn(st, f)
		}
	}
	return st
}

// fileImage asks the ImageProvider for module i's image, once: when the walker
// needs unwind data or code the dump does not hold.
func (w *Walker) fileImage(i int) *pe.File {
	st := w.state(i)
	if st.fileTried || w.opts.Images == nil {
		return st.file
	}
	st.fileTried = true
	if f, err := w.opts.Images.Image(&w.modules[i]); err == nil && f != nil && f.Machine == machineOf(w.arch) {
		st.file = f
		w.learn(st, f)
	}
	return st.file
}

// learn takes the executable sections and the exception directory from an image
// when they are not known yet.
func (w *Walker) learn(st *modState, f *pe.File) {
	if !st.execKnown {
		for _, s := range f.Sections {
			if s.Characteristics&(scnCntCode|scnMemExecute) != 0 {
				st.exec = append(st.exec, [2]uint32{s.VirtualAddress, s.VirtualAddress + max(s.VirtualSize, s.SizeOfRawData)})
			}
		}
		st.execKnown = true
	}
	if st.pdata == nil && (f.Machine == pe.MachineAMD64 || f.Machine == pe.MachineARM64) {
		// A captured image often lacks its .pdata pages; then the provider's image
		// supplies them.
		if t, err := f.ExceptionTable(); err == nil && t != nil {
			st.pdata, st.unwind = t, f
		}
	}
}

// unwindTable returns module i's exception directory, from the dump or, failing
// that, the ImageProvider's image; nil when neither has one.
func (w *Walker) unwindTable(i int) *modState {
	st := w.state(i)
	if st.pdata == nil {
		w.fileImage(i)
	}
	return st
}

// moduleIndex returns the index of the module containing va, or -1.
func (w *Walker) moduleIndex(va uint64) int {
	ms := w.modules
	i := sort.Search(len(ms), func(i int) bool { return ms[i].Base > va }) - 1
	// Modules do not overlap in a sane dump; a few earlier ones are tried in case
	// a damaged list nests them.
	for j := i; j >= 0 && j > i-4; j-- {
		if va >= ms[j].Base && va-ms[j].Base < ms[j].Size {
			return j
		}
	}
	return -1
}

// isCode reports whether va lies in executable code: in a module, and in one of its
// executable sections when its headers are known.
func (w *Walker) isCode(va uint64) bool {
	i := w.moduleIndex(va)
	if i < 0 {
		return false
	}
	st := w.state(i)
	if !st.execKnown {
		return true
	}
	rva := va - w.modules[i].Base
	for _, r := range st.exec {
		if rva >= uint64(r[0]) && rva < uint64(r[1]) {
			return true
		}
	}
	return false
}

// errNoCode is returned when neither the dump nor an image holds the code.
var errNoCode = errors.New("stack: code not available")

// readCode reads code bytes at va: from dump memory, or from the module's image.
func (w *Walker) readCode(p []byte, va uint64) error {
	if len(p) > maxCodeRead {
		p = p[:maxCodeRead]
	}
	return w.readCodeN(p, va)
}

// readCodeN is readCode without the limit on the length, for Argument, which
// reads a function's code a page at a time.
func (w *Walker) readCodeN(p []byte, va uint64) error {
	if w.inDump(va, uint64(len(p))) {
		if n, err := w.mem.ReadAt(p, va); err == nil && n == len(p) {
			return nil
		}
	}
	i := w.moduleIndex(va)
	if i < 0 {
		return errNoCode
	}
	st := w.state(i)
	rva := va - w.modules[i].Base
	if rva+uint64(len(p)) > w.modules[i].Size {
		return errNoCode
	}
	w.fileImage(i)
	for _, f := range []*pe.File{st.file, st.mapped} {
		if f != nil && f.ReadRVA(p, uint32(rva)) == nil {
			return nil
		}
	}
	return errNoCode
}

// unwindInfo returns the decoded x64 UNWIND_INFO at rva in module state st.
func (st *modState) unwindInfo(rva uint32) (*pe.UnwindInfo, error) {
	if u, ok := st.x64[rva]; ok {
		return u, nil
	}
	u, err := st.unwind.UnwindInfo(rva)
	if err != nil {
		return nil, err
	}
	if st.x64 == nil {
		st.x64 = make(map[uint32]*pe.UnwindInfo)
	}
	if len(st.x64) < maxUnwindCache {
		st.x64[rva] = u
	}
	return u, nil
}

// arm64Unwind returns the decoded ARM64 unwind data of fn in module state st.
func (st *modState) arm64Unwind(fn pe.RuntimeFunction) (*pe.ARM64Unwind, error) {
	if u, ok := st.arm64[fn.Begin]; ok {
		return u, nil
	}
	u, err := st.unwind.ARM64Unwind(fn)
	if err != nil {
		return nil, err
	}
	if st.arm64 == nil {
		st.arm64 = make(map[uint32]*pe.ARM64Unwind)
	}
	if len(st.arm64) < maxUnwindCache {
		st.arm64[fn.Begin] = u
	}
	return u, nil
}

// StackRange is the address range a thread's stack occupies: Lo the lowest
// address the walk may read (the stack limit, or the start of the captured stack),
// Hi the stack base (the highest address + 1). A zero range means unknown: reads
// are then limited only by what the dump captured.
type StackRange struct{ Lo, Hi uint64 }

func (r StackRange) known() bool { return r.Hi > r.Lo }

// Contains reports whether [va, va+n) lies in the range (always true when the
// range is unknown).
func (r StackRange) Contains(va, n uint64) bool {
	if !r.known() {
		return true
	}
	return va >= r.Lo && va+n >= va && va+n <= r.Hi
}

// stackMem is the memory a walk reads the stack through: only the thread's stack
// range when known, with the captured stack read once up front.
type stackMem struct {
	r      MemoryReader
	rng    StackRange
	buf    []byte
	bufLo  uint64
	ptr    int
	budget *int // reads left to the walker; a read fails once it is spent
}

// maxStackBuffer bounds the stack bytes read up front, from the stack pointer
// up: walks read near the top of the stack, and reading a whole large stack
// would cost more than the walk.
const maxStackBuffer = 256 << 10

// containser is implemented by readers that can say whether they hold a range
// (*minidump.Memory does), so that a buffer is not allocated for bytes that are
// not there.
type containser interface {
	Contains(va, n uint64) bool
}

// newStackMem prepares the stack reads of one walk: reads outside rng fail;
// the captured bytes from sp up (at most maxStackBuffer) are read once.
func newStackMem(r MemoryReader, rng, captured StackRange, sp uint64, ptrSize int) *stackMem {
	m := &stackMem{r: r, rng: rng, ptr: ptrSize}
	if r == nil || !captured.known() {
		return m
	}
	lo := max(captured.Lo, sp&^7)
	if lo >= captured.Hi {
		return m
	}
	n := min(captured.Hi-lo, maxStackBuffer)
	if c, ok := r.(containser); ok && !c.Contains(lo, n) {
		return m
	}
	buf := make([]byte, n)
	if got, err := r.ReadAt(buf, lo); err == nil && got == len(buf) {
		m.buf, m.bufLo = buf, lo
	}
	return m
}

// ReadAt reads stack memory: it fails for bytes outside the stack range.
func (m *stackMem) ReadAt(p []byte, va uint64) (int, error) {
	if m.budget != nil {
		if *m.budget <= 0 {
			return 0, ErrBudget
		}
		*m.budget--
	}
	if !m.rng.Contains(va, uint64(len(p))) {
		return 0, errOutsideStack
	}
	if m.buf != nil && va >= m.bufLo && va-m.bufLo+uint64(len(p)) <= uint64(len(m.buf)) {
		return copy(p, m.buf[va-m.bufLo:]), nil
	}
	if m.r == nil {
		return 0, errOutsideStack
	}
	n, err := m.r.ReadAt(p, va)
	if err == nil && n < len(p) {
		err = errOutsideStack
	}
	return n, err
}

var errOutsideStack = errors.New("stack: read outside the thread's stack")

// word reads a pointer-sized value.
func (m *stackMem) word(va uint64) (uint64, bool) {
	var b [8]byte
	if _, err := m.ReadAt(b[:m.ptr], va); err != nil {
		return 0, false
	}
	if m.ptr == 4 {
		return uint64(binary.LittleEndian.Uint32(b[:])), true
	}
	return binary.LittleEndian.Uint64(b[:]), true
}

// u64 reads 8 bytes regardless of the pointer size.
func (m *stackMem) u64(va uint64) (uint64, bool) {
	var b [8]byte
	if _, err := m.ReadAt(b[:], va); err != nil {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:]), true
}
