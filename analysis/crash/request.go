package crash

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/stack"
)

// FailedRequest is the allocation whose failure ended the process, as the dump
// shows it: which allocator was asked (Path, Function, Frame), for how much
// (Size), where (Heap), for a container's growth its element size and old
// size, and the chain of evidence from the exception to each number. What could
// not be recovered is in Unknown, with the reason; nothing is guessed.
type FailedRequest struct {
	Path Path `json:"path"`
	// Size is the byte count passed to the allocator that failed (for a vector
	// or string growth, the argument of its operator new call); 0 when it could
	// not be recovered (Unknown then says why).
	Size uint64 `json:"size"`
	// SizeFrom says where Size was read: "rsi in frame 2 (operator_new)",
	// "exception parameter 0".
	SizeFrom string `json:"size_from,omitempty"`
	// Heap is the heap handle a HeapAlloc or RtlAllocateHeap was called with.
	Heap *Hex `json:"heap,omitempty"`
	// ElementSize, OldSize (elements held), OldCapacity and NewCapacity
	// (elements) describe a container growth, where the dump proves them.
	ElementSize uint64 `json:"element_size,omitempty"`
	OldSize     uint64 `json:"old_size,omitempty"`
	OldCapacity uint64 `json:"old_capacity,omitempty"`
	NewCapacity uint64 `json:"new_capacity,omitempty"`
	// Container is the address of the std::vector or std::basic_string object,
	// and OldBuffer the buffer it held.
	Container *Hex `json:"container,omitempty"`
	OldBuffer *Hex `json:"old_buffer,omitempty"`
	// Growth names the growth rule the sizes fit: "msvc" (1.5x) or "libstdc++"
	// (2x).
	Growth string `json:"growth,omitempty"`
	// ThrownType is the C++ type thrown, when there is one ("std::bad_alloc"),
	// and ThrownTypeFrom says how it is known: "type tables" or "inferred".
	ThrownType     string `json:"thrown_type,omitempty"`
	ThrownTypeFrom string `json:"thrown_type_from,omitempty"`
	// Function is the allocator's frame ("msvcr120.dll!operator_new") and Frame
	// its index in the crashing thread's stack (-1 when no allocator frame is on
	// it: the size then came from the exception record).
	Function string `json:"function,omitempty"`
	Frame    int    `json:"frame"`
	// Evidence is the chain from the exception to the request; Unknown what
	// could not be recovered, and why.
	Evidence []Evidence `json:"evidence"`
	Unknown  []Unknown  `json:"unknown,omitempty"`
}

// Kinds of evidence the request adds to the exception's.
const (
	EvidenceFrame     EvidenceKind = "frame"     // an allocator or container frame on the stack
	EvidenceArgument  EvidenceKind = "argument"  // an argument recovered from registers or the stack
	EvidenceContainer EvidenceKind = "container" // a container's fields read from memory
	EvidenceInferred  EvidenceKind = "inferred"  // a conclusion drawn from the frames, not read
)

// maxRequestFrames bounds the frames searched for the allocator: raise and
// throw helpers, the allocator chain and a container's frames lie within the
// top few dozen.
const maxRequestFrames = 48

// RequestInput is what FindRequest reads.
type RequestInput struct {
	Crash *Crash
	// Thread is the crashing thread's walk, and Walker the walker that made it
	// (it recovers the arguments, reading code from the dump or image files).
	Thread *stack.Thread
	Walker *stack.Walker
	// Memory reads the process's memory (a container's fields, a size passed
	// by reference).
	Memory stack.MemoryReader
	// PointerSize is 4 or 8.
	PointerSize int
}

// FindRequest finds the allocation that failed: it takes the exception (which
// must say an allocation failed, or be a C++ exception thrown inside operator
// new), finds the allocator's frame on the crashing thread's stack and
// recovers its arguments. It returns nil, and what was looked for, when the
// crash shows no failed allocation.
func FindRequest(in RequestInput) (*FailedRequest, []string) {
	c := in.Crash
	if c == nil {
		return nil, []string{"an exception record (the dump has none)"}
	}
	var frames []stack.Frame
	if in.Thread != nil && in.Walker != nil {
		frames = in.Thread.Frames
	}
	if in.Memory == nil {
		in.Memory = noMemory{}
	}
	if len(frames) > maxRequestFrames {
		frames = frames[:maxRequestFrames]
	}
	f := &finder{in: in, frames: frames, req: &FailedRequest{Frame: -1}}
	return f.find()
}

type finder struct {
	in     RequestInput
	frames []stack.Frame
	req    *FailedRequest
}

func (f *finder) find() (*FailedRequest, []string) {
	c, r := f.in.Crash, f.req
	alloc, k := f.allocatorFrame()
	inferred := false
	if !c.OOM {
		// A C++ exception whose type the dump cannot name, thrown from inside
		// operator new: operator new throws only std::bad_alloc (and its
		// std::bad_array_new_length), so this is an allocation failure.
		if k >= 0 && alloc.path == PathOperatorNew && c.CPP != nil && c.CPP.ThrownType == nil && f.thrownFrom(k) {
			inferred = true
		} else {
			looked := []string{fmt.Sprintf("an exception that reports an allocation failure: %s is not one", c.headline())}
			if k >= 0 {
				looked = append(looked, fmt.Sprintf("frame %d (%s) is an allocator, but the exception was not raised for its failure", k, frameName(&f.frames[k])))
			}
			return nil, looked
		}
	}
	for _, e := range c.Evidence {
		switch e.Kind {
		case EvidenceCode, EvidenceParameter, EvidenceThrownType, EvidenceMessage:
			r.Evidence = append(r.Evidence, e)
		case EvidenceVerdict:
			// The exception's own verdict, when it names the failure and adds to
			// the code (a thrown type's reasoning); an inferred one replaces its
			// "not an allocation failure".
			if c.OOM && c.CPP != nil {
				r.Evidence = append(r.Evidence, e)
			}
		}
	}
	if c.CPP != nil && c.CPP.ThrownType != nil {
		r.ThrownType, r.ThrownTypeFrom = c.CPP.ThrownType.Name, "type tables"
	}
	if inferred {
		r.ThrownType, r.ThrownTypeFrom = "std::bad_alloc", "inferred"
		r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceInferred, Address: hexp(f.frames[k].IP), Text: []string{
			fmt.Sprintf("the C++ exception was thrown inside %s (frame %d), which throws only std::bad_alloc when it cannot allocate; the exception's type tables could not be read", frameName(&f.frames[k]), k)}})
		for _, u := range c.Unknown {
			r.Unknown = append(r.Unknown, u)
		}
	}
	if k < 0 {
		return f.withoutFrame()
	}
	r.Path, r.Frame, r.Function = alloc.path, k, frameName(&f.frames[k])
	r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceFrame, Address: hexp(f.frames[k].IP), Text: []string{
		fmt.Sprintf("frame %d, %s, is %s: the allocator the failure came from", k, r.Function, alloc.what)}})
	f.size(alloc, k)
	f.heap(k)
	f.growth(k)
	if r.Size == 0 {
		f.sizeFromException()
	}
	return r, nil
}

// sizeFromException takes the size the exception record carries: Chromium's
// requested size as it is; STATUS_NO_MEMORY's heap block size (the request
// plus the heap entry header, rounded to the allocation unit) as the largest
// request that needs that block. Every request from block-2*unit+1 to
// block-unit bytes needs the same block, so the heap's verdict is the same for
// all of them; the exact size is listed as unknown with that range.
func (f *finder) sizeFromException() {
	c, r := f.in.Crash, f.req
	if c.Size == nil || c.Size.Bytes == 0 {
		return
	}
	if c.Size.What == "requested size" {
		r.Size, r.SizeFrom = c.Size.Bytes, "exception "+c.Size.From
		return
	}
	if uint32(c.Code) != CodeNoMemory {
		return
	}
	// The heap's allocation unit, as analysis.heapGeometry has it (that
	// package imports this one, so the two lines cannot be shared).
	unit := uint64(16)
	if f.in.PointerSize == 4 {
		unit = 8
	}
	b := c.Size.Bytes
	if b <= unit {
		return
	}
	lo := b - unit + 1
	if b > 2*unit {
		lo = b - 2*unit + 1
	}
	r.Size = b - unit
	r.SizeFrom = fmt.Sprintf("exception %s: the heap block size %d, which requests of %d to %d bytes need (the largest is taken; the verdict is the same for all)", c.Size.From, b, lo, b-unit)
	r.Unknown = append(r.Unknown, Unknown{What: "exact size", Why: fmt.Sprintf("STATUS_NO_MEMORY carries the heap block size, %d bytes, not the request: it was %d to %d bytes", b, lo, b-unit)})
	for i, u := range r.Unknown {
		if u.What == "size" {
			r.Unknown = append(r.Unknown[:i], r.Unknown[i+1:]...)
			break
		}
	}
}

// withoutFrame is the request when no allocator frame is on the stack: the
// exception carries the size (Chromium's 0xE0000008), a Chromium reporter
// frame received it, or only the path is known from the exception.
func (f *finder) withoutFrame() (*FailedRequest, []string) {
	c, r := f.in.Crash, f.req
	chromium := uint32(c.Code) == CodeChromiumOOM
	for i := range f.frames {
		if !isChromiumOOMFrame(f.frames[i].Function) {
			continue
		}
		chromium = true
		r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceFrame, Address: hexp(f.frames[i].IP), Text: []string{
			fmt.Sprintf("frame %d, %s, reports an allocation failure after the allocator returned nothing", i, frameName(&f.frames[i]))}})
		if c.Size == nil && f.in.Walker != nil {
			if a := f.in.Walker.Argument(f.frames, i, 0, f.in.PointerSize); a.Known {
				r.Size, r.SizeFrom = a.Value, fmt.Sprintf("%s in frame %d", a.Where(), i)
				r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceArgument, Address: copiedAt(a), Text: []string{
					fmt.Sprintf("argument 1 of %s (the size) = %s (%#x): %s", frameName(&f.frames[i]), comma(a.Value), a.Value, argWhere(a, i))}})
			}
		}
		break
	}
	if r.Size == 0 {
		f.sizeFromException()
	}
	switch {
	case chromium:
		// Chromium's allocators (its shim over HeapAlloc, PartitionAlloc) report
		// after they returned: the heap asked is not on the stack.
		r.Path = PathHeap
		r.Unknown = append(r.Unknown, Unknown{What: "heap", Why: "Chromium reports the failure after its allocator returned, so the allocator's frame and arguments are gone from the stack: the dump does not say which heap (or PartitionAlloc) was asked"})
	case uint32(c.Code) == CodeNoMemory:
		r.Path = PathHeap // raised by HeapAlloc with HEAP_GENERATE_EXCEPTIONS
		r.Unknown = append(r.Unknown, Unknown{What: "heap", Why: "no HeapAlloc frame is on the crashing thread's stack as far as its symbols name it (are the modules' symbols or images available?)"})
	case c.CPP != nil && r.ThrownType != "":
		r.Path = PathOperatorNew
	default:
		return nil, []string{"an allocator frame (operator new, malloc, HeapAlloc, VirtualAlloc) on the crashing thread's stack, to tell the failed request from the exception"}
	}
	if r.Size == 0 {
		r.Unknown = append(r.Unknown, Unknown{What: "size", Why: "no allocator frame is on the crashing thread's stack (are its modules' symbols or images available?) and the exception does not carry the size"})
	}
	return r, nil
}

// allocatorFrame finds the allocator whose failure the crash reports: past the
// frames that raise and throw, the first allocator; then up the chain of
// allocators calling one another (operator new calls malloc calls HeapAlloc),
// the outermost, the one the program called. It returns -1 when none is on
// the stack.
func (f *finder) allocatorFrame() (allocator, int) {
	inner := -1
	var a allocator
	for i := range f.frames {
		fr := &f.frames[i]
		if fr.Function == "" {
			continue
		}
		if x, ok := f.lookup(fr); ok {
			inner, a = i, x
			break
		}
		if isChromiumOOMFrame(fr.Function) {
			// Chromium reports after its allocator returned: any allocator
			// further up is not the one that failed.
			return allocator{}, -1
		}
	}
	if inner < 0 {
		return allocator{}, -1
	}
	outer := inner
	for i := inner + 1; i < len(f.frames) && i <= outer+3; i++ {
		if x, ok := f.lookup(&f.frames[i]); ok {
			outer, a = i, x
		}
	}
	return a, outer
}

// lookup recognises an allocator frame. A name taken from the nearest export
// (no function size) counts only when the function's start, from its unwind
// data, is the export: otherwise the code may belong to an unexported
// function after it.
func (f *finder) lookup(fr *stack.Frame) (allocator, bool) {
	a, ok := lookupAllocator(fr.Function)
	if !ok {
		return a, false
	}
	if fr.FunctionSize != 0 && fr.FunctionOffset < fr.FunctionSize {
		return a, true
	}
	if f.in.Walker == nil {
		return a, false
	}
	start, exact := f.in.Walker.FunctionStart(fr)
	return a, exact && start == fr.IP-fr.FunctionOffset
}

// thrownFrom reports whether the frames above frame k (toward the top) are all
// raise or throw helpers: the exception came from inside frame k's function.
func (f *finder) thrownFrom(k int) bool {
	for i := 0; i < k; i++ {
		fr := &f.frames[i]
		if fr.Function == "" || !isRaiseFrame(fr.Function) {
			return false
		}
	}
	return true
}

// size recovers the allocator's size argument(s).
func (f *finder) size(a allocator, k int) {
	r := f.req
	ps := f.in.PointerSize
	total := uint64(1)
	var from []string
	for _, n := range a.size {
		arg := f.in.Walker.Argument(f.frames, k, n, ps)
		if !arg.Known {
			r.Unknown = append(r.Unknown, Unknown{What: "size", Why: fmt.Sprintf("argument %d of %s: %s", n+1, r.Function, arg.Why)})
			return
		}
		v := arg.Value
		where := fmt.Sprintf("%s in frame %d", arg.Where(), k)
		text := fmt.Sprintf("argument %d of %s (the size) = %s (%#x): %s", n+1, a.what, comma(v), v, argWhere(arg, k))
		if a.sizeByRef {
			p := v
			b := make([]byte, ps)
			if nr, err := f.in.Memory.ReadAt(b, p); err != nil || nr != ps {
				r.Unknown = append(r.Unknown, Unknown{What: "size", Address: hexp(p), Why: fmt.Sprintf("the size %s points to is not in the dump", a.what)})
				return
			}
			v = readWord(b)
			where = fmt.Sprintf("memory %#x, pointed to by %s", p, where)
			text = fmt.Sprintf("argument %d of %s points to the size at %#x, which holds %s (%#x): %s", n+1, a.what, p, comma(v), v, argWhere(arg, k))
		}
		if arg.Caveat != "" {
			text += "; " + arg.Caveat
		}
		r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceArgument, Address: copiedAt(arg), Text: []string{text}})
		if total != 0 && v != 0 && total > ^uint64(0)/v {
			total = ^uint64(0) // calloc's product overflows: it fails as too large
		} else {
			total *= v
		}
		from = append(from, where)
	}
	r.Size, r.SizeFrom = total, strings.Join(from, " times ")
}

// heap recovers the heap handle of a HeapAlloc-like frame at or below k in the
// chain (operator new calls malloc calls HeapAlloc: the handle is HeapAlloc's).
func (f *finder) heap(k int) {
	r := f.req
	for i := k; i >= 0; i-- {
		a, ok := f.lookup(&f.frames[i])
		if !ok || a.heap < 0 {
			continue
		}
		arg := f.in.Walker.Argument(f.frames, i, a.heap, f.in.PointerSize)
		if !arg.Known {
			r.Unknown = append(r.Unknown, Unknown{What: "heap", Why: fmt.Sprintf("argument %d of %s: %s", a.heap+1, frameName(&f.frames[i]), arg.Why)})
			return
		}
		r.Heap = hexp(arg.Value)
		r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceArgument, Address: copiedAt(arg), Text: []string{
			fmt.Sprintf("argument %d of %s (the heap) = %#x: %s", a.heap+1, a.what, arg.Value, argWhere(arg, i))}})
		return
	}
}

func frameName(fr *stack.Frame) string {
	switch {
	case fr.Module != "" && fr.Function != "":
		return fr.Module + "!" + fr.Function
	case fr.Function != "":
		return fr.Function
	case fr.Module != "":
		return fmt.Sprintf("%s+%#x", fr.Module, fr.ModuleOffset)
	}
	return fmt.Sprintf("%#x", fr.IP)
}

// argWhere says where an argument was found, for evidence.
func argWhere(a stack.Arg, k int) string {
	var s string
	if a.Reg != "" {
		s = fmt.Sprintf("%s in frame %d", a.Reg, k)
	} else {
		s = fmt.Sprintf("the stack at %#x in frame %d", a.Addr, k)
	}
	if a.CopiedAt != 0 {
		s += fmt.Sprintf(", where the function copied it at %#x", a.CopiedAt)
	} else if a.Reg == "" {
		s += ", its argument slot"
	}
	return s
}

func copiedAt(a stack.Arg) *Hex {
	if a.CopiedAt != 0 {
		return hexp(a.CopiedAt)
	}
	if a.Reg == "" {
		return hexp(a.Addr)
	}
	return nil
}

func readWord(b []byte) uint64 {
	if len(b) == 4 {
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}
