package stack

import (
	"errors"
	"fmt"
	"sort"

	"github.com/dumpmap/dumpmap/minidump"
)

// Defaults and hard limits of a walk.
const (
	// DefaultMaxFrames bounds the frames of one stack unless Options.MaxFrames
	// says otherwise.
	DefaultMaxFrames = 1024
	// HardMaxFrames is the most frames any walk returns.
	HardMaxFrames = 1 << 16
	// DefaultScanWords is how many words above a frame's stack pointer a scan
	// searches for its caller's return address (4 times as many above the context
	// frame), as Breakpad does.
	DefaultScanWords = 40
	// maxScanWords bounds Options.ScanWords.
	maxScanWords = 1 << 14
	// maxChain bounds x64 chained unwind info.
	maxChain = 32
	// DefaultMaxReads is the default of Options.MaxReads: far above what real
	// dumps need (a thousand threads of fifty frames read about a million words)
	// and a second or two of work.
	DefaultMaxReads = 32 << 20
)

// ErrBudget is returned by a walk stopped because the walker's read budget
// (Options.MaxReads) was spent.
var ErrBudget = errors.New("stack: the walker's read budget is spent")

// Options configures a Walker. The zero value walks with the built-in methods
// only.
type Options struct {
	// Windows makes the walker use Windows unwinding rules: .pdata on x64 and
	// ARM64, the leaf-function rule, and no frame-pointer chain on x64 (Windows
	// x64 code keeps none). Set it for dumps of Windows processes.
	Windows bool
	// IOS selects r7 as the ARM frame pointer (iOS); elsewhere ARM code is walked
	// without one, as Breakpad does.
	IOS bool
	// MaxFrames bounds the frames returned (default DefaultMaxFrames, at most
	// HardMaxFrames).
	MaxFrames int
	// ScanWords is how many words a stack scan searches (default
	// DefaultScanWords); NoScan disables scanning altogether.
	ScanWords int
	NoScan    bool
	// StrictScan accepts a scanned word as a return address only when the call
	// instruction before it could be read and checked (from dump memory or the
	// module's image); by default a word pointing into a module's code is taken
	// when its code is not available, as Breakpad takes it.
	StrictScan bool
	// MaxReads bounds the stack words a walker reads over all its walks
	// (default DefaultMaxReads): a hostile dump may declare thousands of threads
	// all pointing at one captured stack. Walks after the budget is spent return
	// their first frame and ErrBudget.
	MaxReads int

	// Executable says whether va lies in executable memory (known false when
	// the dump does not say). It lets a frame-pointer walk keep frames in
	// generated code outside every module; without it such a frame is kept only
	// when the chain goes on from it. NewDump sets it from the MemoryInfoList.
	Executable func(va uint64) (exec, known bool)

	Symbolizer Symbolizer
	CFI        CFIUnwinder
	FrameData  FrameDataSource
	// Evaluator runs STACK WIN program strings; nil uses package breakpad's.
	Evaluator Evaluator
	Images    ImageProvider
}

// A Walker unwinds the stacks of one process. It keeps what it learns about
// modules (their images and unwind data) between walks; it is not safe for
// concurrent use.
type Walker struct {
	arch    Arch
	mem     MemoryReader
	modules []Module
	states  []modState
	opts    Options

	// captured lists the dump's memory ranges (sorted, disjoint) when the reader
	// can tell them, so that reads of code the dump lacks fail without a call.
	captured []minidump.MemoryRange

	// per walk
	sm *stackMem
	// reads is what is left of the read budget.
	reads int
	// stop is set by a method that found the end of the stack: a reliable way to
	// the caller (unwind data, CFI, a frame-pointer link) that yields return
	// address 0. No other method is then tried.
	stop bool
}

// NewWalker returns a walker for a process of architecture arch, reading memory
// through mem (nil when there is none) with the given loaded modules.
func NewWalker(arch Arch, mem MemoryReader, modules []Module, opts Options) *Walker {
	ms := make([]Module, len(modules))
	copy(ms, modules)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Base < ms[j].Base })
	if opts.MaxFrames <= 0 {
		opts.MaxFrames = DefaultMaxFrames
	}
	opts.MaxFrames = min(opts.MaxFrames, HardMaxFrames)
	if opts.ScanWords <= 0 {
		opts.ScanWords = DefaultScanWords
	}
	opts.ScanWords = min(opts.ScanWords, maxScanWords)
	if opts.Evaluator == nil {
		opts.Evaluator = builtinEvaluator{}
	}
	if opts.MaxReads <= 0 {
		opts.MaxReads = DefaultMaxReads
	}
	w := &Walker{arch: arch, mem: mem, modules: ms, states: make([]modState, len(ms)), opts: opts, reads: opts.MaxReads}
	if r, ok := mem.(interface{ Ranges() []minidump.MemoryRange }); ok {
		w.captured = r.Ranges()
	}
	return w
}

// Modules returns the walker's modules, sorted by base address.
func (w *Walker) Modules() []Module { return w.modules }

// ErrNoContext is returned when a walk has no usable starting registers.
var ErrNoContext = errors.New("stack: no instruction and stack pointer to start from")

// Walk unwinds a stack from the registers start (a thread's context, or the
// exception's for the crashing thread). stack is the thread's stack range (see
// StackRange), and captured the part of it the dump holds (read once up front;
// may be zero). Walk returns the frames found, innermost first; it stops at the
// first frame it cannot find a caller for, at MaxFrames, when the stack pointer
// would go down or leave the stack, when an (IP, SP) pair repeats, and at a
// return address below 4096.
func (w *Walker) Walk(start Regs, stack, captured StackRange) ([]Frame, error) {
	return w.walk(start, stack, captured, w.mem)
}

// walk is Walk reading the stack through stackReader (the thread's own stack
// bytes laid over the dump's memory, for Dump).
func (w *Walker) walk(start Regs, stack, captured StackRange, stackReader MemoryReader) ([]Frame, error) {
	start.Arch = w.arch
	_, okPC := start.Get(pcReg(w.arch))
	_, okSP := start.Get(spReg(w.arch))
	if !okPC || !okSP {
		return nil, ErrNoContext
	}
	if w.arch == ArchUnknown {
		return nil, fmt.Errorf("stack: unknown architecture")
	}
	if captured == (StackRange{}) {
		captured = stack
	}
	w.sm = newStackMem(stackReader, stack, captured, start.SP(), w.arch.PointerSize())
	w.sm.budget = &w.reads
	defer func() { w.sm = nil }()

	start.clearRestored()
	frames := make([]Frame, 0, 8)
	frames = append(frames, w.makeFrame(0, start, TrustContext, true))
	if w.reads <= 0 {
		return frames, ErrBudget
	}
	type key struct{ ip, sp uint64 }
	seen := map[key]bool{{frames[0].IP, frames[0].SP}: true}
	for len(frames) < w.opts.MaxFrames {
		w.stop = false
		caller, trust, interrupted, ok := w.caller(frames)
		if !ok || w.stop {
			break
		}
		if w.reads <= 0 {
			return frames, ErrBudget
		}
		f := w.makeFrame(len(frames), caller, trust, interrupted)
		k := key{f.IP, f.SP}
		if seen[k] {
			break
		}
		seen[k] = true
		frames = append(frames, f)
	}
	return frames, nil
}

// makeFrame fills in a frame's module and symbol.
func (w *Walker) makeFrame(index int, regs Regs, trust Trust, interrupted bool) Frame {
	f := Frame{Index: index, IP: regs.PC(), SP: regs.SP(), Trust: trust, Regs: regs, interrupted: interrupted, module: -1}
	look := f.lookupAddr()
	if i := w.moduleIndex(look); i >= 0 {
		m := &w.modules[i]
		f.module = i
		f.Module = m.BaseName()
		f.ModuleBase = m.Base
		f.ModuleOffset = f.IP - m.Base
		if w.opts.Symbolizer != nil {
			if s, ok := w.opts.Symbolizer.Symbolize(m, look-m.Base); ok {
				f.Function = s.Function
				if s.Function != "" {
					f.FunctionOffset = f.IP - (m.Base + s.Start)
					f.FunctionSize = s.Size
				}
				f.File, f.Line = s.File, s.Line
			}
		}
	}
	return f
}

// caller finds the caller of the last frame, trying the architecture's methods in
// order of reliability; each result must pass the common checks.
func (w *Walker) caller(frames []Frame) (Regs, Trust, bool, bool) {
	switch w.arch {
	case ArchAMD64:
		return w.callerAMD64(frames)
	case ArchX86:
		return w.callerX86(frames)
	case ArchARM64:
		return w.callerARM64(frames)
	case ArchARM:
		return w.callerARM(frames)
	}
	return Regs{}, TrustNone, false, false
}

// ended records that a reliable method found the caller's return address to be
// below the first page: the end of the stack (thread start routines return to 0).
func (w *Walker) ended(c *Regs) bool {
	if pc, ok := c.Get(pcReg(w.arch)); ok && pc < 0x1000 {
		w.stop = true
	}
	return w.stop
}

// inDump reports whether [va, va+n) may be in the dump's memory: false only when
// the dump's ranges are known and none holds va.
func (w *Walker) inDump(va, n uint64) bool {
	if w.captured == nil {
		return w.mem != nil
	}
	rs := w.captured
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Start+rs[i].Available > va })
	return i < len(rs) && rs[i].Start <= va && va+n <= rs[i].Start+rs[i].Available
}

// sane applies the checks every caller must pass: a return address above the
// first page, a stack pointer that went up (or, leaving a leaf on an architecture
// with a link register, stayed) and stayed inside the stack.
func (w *Walker) sane(callee *Frame, caller *Regs, allowEqualSP bool) bool {
	ip, ok := caller.Get(pcReg(w.arch))
	if !ok || ip < 0x1000 {
		return false
	}
	sp, ok := caller.Get(spReg(w.arch))
	if !ok {
		return false
	}
	if sp < callee.SP || (sp == callee.SP && !allowEqualSP) {
		return false
	}
	if r := w.sm.rng; r.known() && sp > r.Hi {
		return false
	}
	if w.arch.PointerSize() == 4 && (ip > 0xffffffff || sp > 0xffffffff) {
		return false
	}
	return true
}

// cfi asks the CFIUnwinder for the caller.
func (w *Walker) cfi(callee *Frame) (Regs, bool) {
	if w.opts.CFI == nil || callee.module < 0 {
		return Regs{}, false
	}
	m := &w.modules[callee.module]
	caller, ok := w.opts.CFI.CallerRegs(m, callee.lookupAddr()-m.Base, &callee.Regs, w.sm)
	if !ok {
		return Regs{}, false
	}
	caller.Arch = w.arch
	caller.clearRestoredIfUnset()
	if w.ended(&caller) {
		return Regs{}, false
	}
	return caller, w.sane(callee, &caller, w.arch == ArchARM || w.arch == ArchARM64)
}

// clearRestoredIfUnset keeps a hook's restored marks only for registers it set.
func (r *Regs) clearRestoredIfUnset() { r.restored &= r.valid }

// scan searches the stack above the callee's stack pointer for a word that is a
// plausible return address (see plausibleReturn). It returns the address the
// word was found at and the word.
func (w *Walker) scan(callee *Frame, words int) (at, ra uint64, ok bool) {
	if w.opts.NoScan {
		return 0, 0, false
	}
	ps := uint64(w.arch.PointerSize())
	sp := callee.SP
	if sp%ps != 0 {
		sp += ps - sp%ps
	}
	for i := 0; i <= words; i++ {
		a := sp + uint64(i)*ps
		if a < sp {
			break
		}
		v, ok := w.sm.word(a)
		if !ok {
			break
		}
		if w.plausibleReturn(v) {
			return a, v, true
		}
	}
	return 0, 0, false
}

// scanWords is how far a scan from this frame searches.
func (w *Walker) scanWords(callee *Frame) int {
	if callee.Trust == TrustContext {
		return 4 * w.opts.ScanWords
	}
	return w.opts.ScanWords
}

// fpReturnOK decides whether a return address read through a frame-pointer
// link is acceptable: a plausible return into a module, or, outside every module,
// one into executable memory (generated code), or, when the dump does not say
// what is executable, one from which the chain goes on.
func (w *Walker) fpReturnOK(ra, next uint64) bool {
	if w.plausibleReturn(ra) {
		return true
	}
	if w.moduleIndex(ra-1) >= 0 {
		return false // in a module, but not after a call or not in its code
	}
	if w.opts.Executable != nil {
		if exec, known := w.opts.Executable(ra - 1); known {
			return exec
		}
	}
	return w.chainContinues(next, uint64(w.arch.PointerSize()))
}

// plausibleReturn reports whether v may be a return address: it lies in a
// module's executable code, and, where the code before it can be read, that code
// ends with a call instruction. Where it cannot, the module check must do, unless
// Options.StrictScan asks for proof.
func (w *Walker) plausibleReturn(v uint64) bool {
	ok, verified := w.returnCheck(v)
	return ok && (verified || !w.opts.StrictScan)
}

// returnCheck says whether v may be a return address and whether a call
// instruction before it was seen (false when the code could not be read).
func (w *Walker) returnCheck(v uint64) (ok, verified bool) {
	if v < 0x1000 {
		return false, false
	}
	if w.arch.PointerSize() == 4 && v > 0xffffffff {
		return false, false
	}
	if !w.isCode(v - 1) {
		return false, false
	}
	switch w.arch {
	case ArchX86, ArchAMD64:
		var b [8]byte
		if w.readCode(b[:], v-8) != nil {
			return true, false
		}
		c := endsWithCall(b[:], w.arch == ArchAMD64)
		return c, c
	case ArchARM64:
		var b [4]byte
		if w.readCode(b[:], v-4) != nil {
			return true, false
		}
		c := arm64IsCall(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
		return c, c
	}
	return true, false
}
