package stack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/dumpmap/dumpmap/minidump"
)

// Dump walks the threads of a minidump.
type Dump struct {
	File   *minidump.File
	Walker *Walker
	// Arch is the dump's processor architecture; Platform its operating system.
	Arch     minidump.Arch
	Platform minidump.Platform

	threads []minidump.Thread
	exc     *minidump.Exception
	mem     *minidump.Memory
	// Warnings lists damage met while reading the streams the walk needs
	// (module list, memory lists, thread list); the walk uses what is intact.
	Warnings []error
}

// NewDump prepares to walk the threads of f: it reads the system information,
// module list, memory lists, thread list and exception stream. opts.Windows and
// opts.IOS are set from the dump's platform.
func NewDump(f *minidump.File, opts Options) (*Dump, error) {
	si, err := f.SystemInfo()
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	p := DumpParts{SystemInfo: si}
	var warnings []error
	warn := func(err error) {
		if err != nil && !errors.Is(err, minidump.ErrNoStream) {
			warnings = append(warnings, err)
		}
	}
	p.Modules, err = f.Modules()
	warn(err)
	p.Memory, err = f.Memory()
	warn(err)
	p.Threads, err = f.Threads()
	warn(err)
	if f.HasStream(minidump.StreamException) {
		p.Exception, err = f.Exception()
		warn(err)
	}
	d, err := NewDumpFromParts(f, p, opts)
	if d != nil {
		d.Warnings = append(warnings, d.Warnings...)
	}
	return d, err
}

// DumpParts are the decoded streams a walk needs, for a caller that has decoded
// them already (each stream is then decoded once per process).
type DumpParts struct {
	SystemInfo *minidump.SystemInfo
	Modules    []minidump.Module
	Memory     *minidump.Memory
	Threads    []minidump.Thread
	Exception  *minidump.Exception // nil without an exception stream
}

// NewDumpFromParts is NewDump with the streams already decoded; f is used for the
// thread contexts and, lazily, the MemoryInfoList (Options.Executable).
func NewDumpFromParts(f *minidump.File, p DumpParts, opts Options) (*Dump, error) {
	if p.SystemInfo == nil {
		return nil, errors.New("stack: no system information")
	}
	si := p.SystemInfo
	arch := ArchOf(si.Arch)
	if arch == ArchUnknown {
		return nil, fmt.Errorf("stack: stacks of %v processes are not walked", si.Arch)
	}
	d := &Dump{File: f, Arch: si.Arch, Platform: si.Platform, threads: p.Threads, exc: p.Exception, mem: p.Memory}
	opts.Windows = si.Platform.IsWindows()
	opts.IOS = si.Platform == minidump.PlatformIOS
	if opts.Executable == nil && f != nil && f.HasStream(minidump.StreamMemoryInfoList) {
		opts.Executable = executableRegions(f)
	}
	var mem MemoryReader
	if p.Memory != nil {
		mem = p.Memory
	}
	d.Walker = NewWalker(arch, mem, ModulesFromDump(p.Modules), opts)
	return d, nil
}

// pageExecute is any of PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE
// and PAGE_EXECUTE_WRITECOPY.
const pageExecute = 0xf0

// executableRegions collects, on first use, the committed executable regions of
// the MemoryInfoList (generated code lies in them), for Options.Executable. When
// the list cannot be read the answer is "unknown".
func executableRegions(f *minidump.File) func(uint64) (bool, bool) {
	var rs []minidump.AddrRange
	loaded, ok := false, false
	return func(va uint64) (bool, bool) {
		if !loaded {
			loaded = true
			_, err := f.ScanMemoryInfo(func(batch []minidump.MemoryInfo) bool {
				for _, r := range batch {
					if r.State == minidump.MemCommit && uint32(r.Protect)&pageExecute != 0 && r.RegionSize > 0 && len(rs) < 1<<20 {
						rs = append(rs, minidump.AddrRange{Start: r.BaseAddress, End: r.BaseAddress + r.RegionSize})
					}
				}
				return true
			})
			ok = err == nil || len(rs) > 0
			sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
		}
		if !ok {
			return false, false
		}
		i := sort.Search(len(rs), func(i int) bool { return rs[i].End > va })
		return i < len(rs) && rs[i].Start <= va, true
	}
}

// Threads returns the dump's thread list.
func (d *Dump) Threads() []minidump.Thread { return d.threads }

// CrashedThread returns the ID of the thread the exception stream names.
func (d *Dump) CrashedThread() (uint32, bool) {
	if d.exc == nil {
		return 0, false
	}
	return d.exc.ThreadID, true
}

// ErrNoThread is returned when the dump has no thread with the ID asked for.
var ErrNoThread = errors.New("stack: no such thread")

// WalkThread walks the stack of the thread with the given ID. The crashing
// thread is walked from the exception's context when the dump has one.
func (d *Dump) WalkThread(id uint32) (Thread, error) {
	for i := range d.threads {
		if d.threads[i].ID == id {
			t := d.walk(&d.threads[i])
			return t, t.Err
		}
	}
	return Thread{ID: id}, fmt.Errorf("%w: %#x", ErrNoThread, id)
}

// WalkCrashed walks the crashing thread's stack.
func (d *Dump) WalkCrashed() (Thread, error) {
	id, ok := d.CrashedThread()
	if !ok {
		return Thread{}, errors.New("stack: the dump has no exception stream")
	}
	return d.WalkThread(id)
}

// WalkAll walks every thread, in the order of the thread list. A thread whose
// walk fails is listed with its Err set and the frames it got.
func (d *Dump) WalkAll() Result {
	r := Result{Threads: make([]Thread, 0, len(d.threads))}
	for i := range d.threads {
		r.Threads = append(r.Threads, d.walk(&d.threads[i]))
	}
	return r
}

func (d *Dump) walk(th *minidump.Thread) Thread {
	t := Thread{ID: th.ID}
	loc := th.Context
	if d.exc != nil && d.exc.ThreadID == th.ID {
		t.Crashed = true
		if d.exc.Context.Size != 0 {
			loc = d.exc.Context
		}
	}
	ctx, err := d.File.Context(loc, d.Arch)
	if err != nil && loc != th.Context && th.Context.Size != 0 {
		ctx, err = d.File.Context(th.Context, d.Arch) // a damaged exception context
	}
	if err != nil {
		t.Err = err
		return t
	}
	regs := RegsFromContext(ctx)
	captured := StackRange{th.Stack.Start, th.Stack.End()}
	var reader MemoryReader = d.Walker.mem
	switch {
	case th.Stack.End() < th.Stack.Start || th.Stack.Data.Size == 0 || !captured.Contains(regs.SP(), 1):
		// The thread's stack descriptor is empty or misses the stack pointer:
		// the captured range holding the stack pointer stands for it.
		captured = d.rangeAt(regs.SP())
	case d.mem != nil && d.mem.Contains(captured.Lo, captured.Hi-captured.Lo):
		// The memory lists hold the stack (the usual case).
	case th.Stack.Data.RVA != 0 && d.File != nil:
		// Only the descriptor's own bytes hold it: a writer need not list the
		// stack in the memory list too.
		reader = &threadStack{f: d.File, desc: th.Stack, next: reader}
	default:
		// A descriptor without bytes (Wine's full-memory dumps leave the RVA 0):
		// the captured range holding the stack pointer.
		captured = d.rangeAt(regs.SP())
	}
	t.Frames, t.Err = d.Walker.walk(regs, d.stackRange(th, captured), captured, reader)
	return t
}

// threadStack reads a thread's stack from its descriptor's bytes in the file,
// other addresses from the dump's memory.
type threadStack struct {
	f    *minidump.File
	desc minidump.MemoryDescriptor
	next MemoryReader
}

func (s *threadStack) ReadAt(p []byte, va uint64) (int, error) {
	if va >= s.desc.Start && va-s.desc.Start+uint64(len(p)) <= uint64(s.desc.Data.Size) {
		off := int64(s.desc.Data.RVA) + int64(va-s.desc.Start)
		n, err := s.f.ReaderAt().ReadAt(p, off)
		if n == len(p) {
			return n, nil
		}
		if err == nil {
			err = errOutsideStack
		}
		return n, err
	}
	if s.next == nil {
		return 0, errOutsideStack
	}
	return s.next.ReadAt(p, va)
}

// rangeAt returns the captured memory range containing va, or an empty one.
func (d *Dump) rangeAt(va uint64) StackRange {
	if d.mem == nil {
		return StackRange{}
	}
	rs := d.mem.Ranges()
	i := sort.Search(len(rs), func(i int) bool { return rs[i].End() > va })
	if i < len(rs) && rs[i].Start <= va {
		return StackRange{rs[i].Start, rs[i].Start + rs[i].Available}
	}
	return StackRange{}
}

// maxStackSize bounds the stack range taken from a TEB.
const maxStackSize = 1 << 30

// stackRange is the captured stack, extended up to the stack base a Windows TEB
// gives (NT_TIB.StackBase) when that is readable and plausible.
func (d *Dump) stackRange(th *minidump.Thread, captured StackRange) StackRange {
	r := captured
	if !d.Platform.IsWindows() || th.TEB == 0 || d.mem == nil {
		return r
	}
	ps := uint64(ArchOf(d.Arch).PointerSize())
	var b [8]byte
	if n, err := d.mem.ReadAt(b[:ps], th.TEB+ps); err != nil || n != int(ps) {
		return r
	}
	base := binary.LittleEndian.Uint64(b[:])
	if ps == 4 {
		base = uint64(binary.LittleEndian.Uint32(b[:]))
	}
	if base >= r.Hi && base-r.Lo <= maxStackSize {
		r.Hi = base
	}
	return r
}
