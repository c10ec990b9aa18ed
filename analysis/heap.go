package analysis

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Heap is what the analysis knows about one heap of the process.
type Heap struct {
	Handle      uint64
	ProcessHeap bool
	CRTHeap     bool
	// FoundBy lists how the heap was identified ("PEB.ProcessHeaps",
	// "PEB.ProcessHeap", "UCRT: CRT heap = process heap", "PDB: _crtheap", ...).
	FoundBy []string
	// Segments are the heap's reservations as the region map shows them; the first
	// is the one that holds the heap's header.
	Segments []Segment
	// Growable is nil when unknown (the heap's header was not captured).
	Growable *bool
	// VirtualMemoryThreshold is the block size above which the heap asks VirtualAlloc
	// directly (0: the default, 508 KB on x86 and 1020 KB on x64).
	VirtualMemoryThreshold uint64
	// SegmentReserve is the size the next segment will try to reserve (0: unknown).
	SegmentReserve uint64
	Notes          []string
}

// Segment is a heap reservation and how much of it is committed.
type Segment struct {
	Base, Size  uint64
	Committed   uint64
	Uncommitted uint64 // reserved, not committed: room the heap can commit without new address space
	// LargestUncommitted is the largest contiguous uncommitted range: the largest
	// block the segment can still grow for.
	LargestUncommitted uint64
}

// Reserved returns the heap's total reservation, Committed and Uncommitted its parts.
func (h *Heap) Reserved() (reserved, committed, uncommitted uint64) {
	for _, s := range h.Segments {
		reserved += s.Size
		committed += s.Committed
		uncommitted += s.Uncommitted
	}
	return
}

// HeapSet is the process's heaps as far as the dump shows them. NewMap builds it
// and lays it over the map; it is read-only afterwards.
type HeapSet struct {
	Heaps []Heap
	// Process and CRT are the handles of the process heap and the C runtime's heap
	// (0: unknown).
	Process, CRT uint64
	// CRTHow says how the CRT heap was identified (for the Universal CRT also when
	// the process heap's address is unknown).
	CRTHow string
	// CRTKind is the kind of C runtime serving malloc (process.CRT).
	CRTKind process.CRTKind
	// Attempts lists, in order, each method tried to find the heaps and the CRT
	// heap, with what it found or why it failed.
	Attempts []process.Attempt
}

// Tried returns the attempts as "method: detail" lines, the way `dumpmap heaps`
// prints them (never nil).
func (hs *HeapSet) Tried() []string {
	out := []string{}
	if hs == nil {
		return out
	}
	for _, a := range hs.Attempts {
		out = append(out, a.String())
	}
	return out
}

// Get returns the heap with the given handle, or nil.
func (hs *HeapSet) Get(handle uint64) *Heap {
	if hs == nil {
		return nil
	}
	for i := range hs.Heaps {
		if hs.Heaps[i].Handle == handle {
			return &hs.Heaps[i]
		}
	}
	return nil
}

// add records a heap (merging with one already known) and returns it.
func (hs *HeapSet) add(handle uint64, foundBy string) *Heap {
	if h := hs.Get(handle); h != nil {
		if !containsStr(h.FoundBy, foundBy) {
			h.FoundBy = append(h.FoundBy, foundBy)
		}
		return h
	}
	hs.Heaps = append(hs.Heaps, Heap{Handle: handle, FoundBy: []string{foundBy}})
	return &hs.Heaps[len(hs.Heaps)-1]
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// PEB field offsets (see docs/windows-memory.md).
type pebLayout struct {
	processHeap, segReserve, numHeaps, heapsPtr uint64
}

var (
	peb32 = pebLayout{processHeap: 0x18, segReserve: 0x78, numHeaps: 0x88, heapsPtr: 0x90}
	peb64 = pebLayout{processHeap: 0x30, segReserve: 0xc8, numHeaps: 0xe8, heapsPtr: 0xf0}
)

// maxHeaps bounds the PEB's heap count (Windows allows 16 by default and grows the
// array on demand; thousands means the memory is not a PEB).
const maxHeaps = 4096

// findHeaps identifies the process's heaps from the PEB (TEB -> PEB ->
// ProcessHeap, ProcessHeaps) in captured memory and the C runtime's heap (the
// process heap for the Universal CRT; otherwise its global, found through PDBs or
// the code of _get_heap_handle: modsym.IdentifyCRTHeap), reads what their
// captured headers say, lays their segments over the map and marks those regions
// Heap. It is the map's last construction step.
func (m *Map) findHeaps(ctx context.Context, p *process.Process) *HeapSet {
	hs := &HeapSet{}
	try := func(meth process.Method, ok bool, format string, args ...any) {
		hs.Attempts = append(hs.Attempts, process.Attempt{Method: meth, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	if !m.Space.Windows {
		try(process.MethodHeaps, false, "not a Windows process")
		return hs
	}
	mem := p.Memory()
	threads, _ := p.Threads()
	dumpPtr := p.DumpPointerSize()
	wow := p.WOW64().Is
	found := false
	for _, t := range threads {
		if t.TEB == 0 || mem == nil {
			continue
		}
		teb, ptr := t.TEB, dumpPtr
		if wow && dumpPtr == 8 && m.Space.PointerSize == 4 {
			// A 64-bit dump of a WOW64 process: the 32-bit TEB and PEB, which the
			// 32-bit heaps hang off, follow the 64-bit ones.
			teb, ptr = t.TEB+0x2000, 4
		}
		pebOff := uint64(0x60)
		lay := peb64
		if ptr == 4 {
			pebOff, lay = 0x30, peb32
		}
		peb, err := mem.ReadPointer(teb+pebOff, ptr)
		if err != nil || peb == 0 {
			try(process.MethodPEB, false, "the TEB of thread %d at %#x is not captured", t.ID, teb)
			continue
		}
		ph, err := mem.ReadPointer(peb+lay.processHeap, ptr)
		if err != nil {
			try(process.MethodPEB, false, "PEB at %#x is not captured (the dump needs MiniDumpWithProcessThreadData or full memory)", peb)
			break
		}
		found = true
		if ph != 0 {
			hs.Process = ph
			h := hs.add(ph, "PEB.ProcessHeap")
			h.ProcessHeap = true
		}
		if reserve, err := mem.ReadPointer(peb+lay.segReserve, ptr); err == nil && reserve != 0 && reserve < 1<<40 {
			if h := hs.Get(ph); h != nil {
				h.SegmentReserve = reserve
			}
		}
		n, err1 := mem.ReadUint32(peb + lay.numHeaps)
		arr, err2 := mem.ReadPointer(peb+lay.heapsPtr, ptr)
		switch {
		case err1 != nil || err2 != nil:
			try(process.MethodPEBHeaps, false, "the PEB's heap fields are not captured")
		case n > maxHeaps:
			try(process.MethodPEBHeaps, false, "NumberOfHeaps %d is implausible", n)
		default:
			for i := uint64(0); i < uint64(n); i++ {
				h, err := mem.ReadPointer(arr+i*uint64(ptr), ptr)
				if err != nil {
					try(process.MethodPEBHeaps, false, "the array at %#x is not captured", arr)
					break
				}
				if h != 0 {
					hs.add(h, "PEB.ProcessHeaps")
				}
			}
		}
		break
	}
	if !found && len(threads) == 0 {
		try(process.MethodPEB, false, "the dump has no thread list, so no TEB to find the PEB from")
	}

	// The C runtime's heap.
	crt := p.CRT()
	hs.CRTKind = crt.Kind
	hs.Attempts = append(hs.Attempts, crt.Attempts...)
	switch {
	case crt.Kind == process.CRTUniversal:
		hs.CRTHow = crt.How
		switch {
		case hs.Process == 0 && crt.ImportsFrom != "":
			try(process.MethodUCRT, false, "applies, but the process heap's address is unknown (the PEB is not captured)")
		case hs.Process == 0:
		case crt.ImportsFrom != "":
			hs.CRT = hs.Process
			hs.add(hs.Process, crt.How).CRTHeap = true
			try(process.MethodUCRT, true, "the CRT heap is the process heap %#x", hs.Process)
		default:
			hs.CRT = hs.Process
			hs.add(hs.Process, "UCRT: CRT heap = process heap").CRTHeap = true
		}
	default:
		r := modsym.IdentifyCRTHeap(ctx, p, crt, m.CheckHeap)
		hs.Attempts = append(hs.Attempts, r.Attempts...)
		if r.Handle != 0 {
			hs.CRT, hs.CRTHow = r.Handle, r.How
			hs.add(r.Handle, r.How).CRTHeap = true
		}
	}
	for i := range hs.Heaps {
		m.layOutHeap(&hs.Heaps[i])
		m.readHeapFlags(mem, &hs.Heaps[i])
	}
	return hs
}

// Heap signatures (docs/windows-memory.md): an NT heap starts with its first
// segment, whose SegmentSignature follows the segment's _HEAP_ENTRY (8 bytes on
// x86, 16 on x64); a segment heap has its own signature at the same offset.
const (
	sigNTSegment   = 0xFFEEFFEE
	sigSegmentHeap = 0xDDEEDDEE
	heapGrowable   = 0x2 // HEAP_GROWABLE in _HEAP.Flags
)

// CheckHeap says whether handle h (of a module with ptr-byte pointers) is
// plausibly a heap: it must lie in committed private memory (when the region map
// knows), and when the dump captured its header, carry the NT heap segment
// signature 0xFFEEFFEE or the segment heap signature 0xDDEEDDEE after its first
// ptr*2 bytes. The string says what was checked, or what failed.
func (m *Map) CheckHeap(h uint64, ptr int) (string, bool) {
	mem := m.mem
	var checked []string
	if reg := m.Region(h); reg != nil && reg.State != 0 {
		switch {
		case reg.IsFree() || reg.State == minidump.MemFree:
			return fmt.Sprintf("the region at %#x is free", reg.Base), false
		case reg.State != minidump.MemCommit:
			return fmt.Sprintf("the region at %#x is reserved, not committed memory", reg.Base), false
		case reg.Type == minidump.MemImage:
			return fmt.Sprintf("the region at %#x is image memory, not private", reg.Base), false
		case reg.Type == minidump.MemMapped:
			return fmt.Sprintf("the region at %#x is mapped memory, not private", reg.Base), false
		case reg.Usage == UsageStack || reg.Usage == UsageTEB || reg.Usage == UsagePEB:
			return fmt.Sprintf("it lies in a %s", reg.Usage), false
		}
		if reg.Type == minidump.MemPrivate {
			checked = append(checked, "committed private memory")
		} else {
			checked = append(checked, "committed memory")
		}
	} else if h >= m.Space.End && m.Space.End != 0 {
		return fmt.Sprintf("%#x is above the user address space", h), false
	}
	off := uint64(2 * ptr)
	if mem != nil {
		if sig, err := mem.ReadUint32(h + off); err == nil {
			switch sig {
			case sigNTSegment:
				checked = append(checked, fmt.Sprintf("with an NT heap's segment signature %#x at +%#x", sig, off))
			case sigSegmentHeap:
				checked = append(checked, fmt.Sprintf("with a segment heap's signature %#x at +%#x", sig, off))
			default:
				return fmt.Sprintf("no heap signature at %#x+%#x (%#x; an NT heap has %#x, a segment heap %#x)", h, off, sig, uint32(sigNTSegment), uint32(sigSegmentHeap)), false
			}
		} else {
			checked = append(checked, "header not captured, signature not checked")
		}
	}
	if len(checked) == 0 {
		return "not verified: the dump has neither the region nor the heap's header", true
	}
	return strings.Join(checked, ", "), true
}

// readHeapFlags fills Heap.Growable from the heap header's Flags (at 0x40 on
// x86, 0x70 on x64, after checking the segment signature) when its header was
// captured.
func (m *Map) readHeapFlags(mem *minidump.Memory, h *Heap) {
	if mem == nil || h.Growable != nil {
		return
	}
	sigOff, flagsOff := uint64(8), uint64(0x40)
	if m.Space.PointerSize == 8 {
		sigOff, flagsOff = 0x10, 0x70
	}
	if sig, err := mem.ReadUint32(h.Handle + sigOff); err != nil || sig != sigNTSegment {
		return
	}
	flags, err := mem.ReadUint32(h.Handle + flagsOff)
	if err != nil {
		return
	}
	g := flags&heapGrowable != 0
	h.Growable = &g
	what := "not growable (created with a maximum size)"
	if g {
		what = "HEAP_GROWABLE"
	}
	h.Notes = append(h.Notes, fmt.Sprintf("Flags %#x in the heap's header: %s", flags, what))
}

// layOutHeap finds the heap's first segment (the reservation holding its header) in
// the map, measures its committed and uncommitted parts and marks it as Heap.
func (m *Map) layOutHeap(h *Heap) {
	i := m.Find(h.Handle)
	if i < 0 || m.Regions[i].IsFree() || m.Regions[i].State == 0 {
		h.Notes = append(h.Notes, fmt.Sprintf("the heap's header at %#x is not in a known region", h.Handle))
		return
	}
	ab := m.Regions[i].AllocationBase
	if m.Partial || ab == 0 {
		// Without a MemoryInfoList no region has an allocation base: walking
		// "the same reservation" would swallow the whole address space.
		h.Notes = append(h.Notes, fmt.Sprintf("the region map does not show the reservation holding the heap's header at %#x (no MemoryInfoList): its segments are unknown", h.Handle))
		return
	}
	lo := i
	for lo > 0 && m.Regions[lo-1].AllocationBase == ab && !m.Regions[lo-1].IsFree() {
		lo--
	}
	seg := Segment{Base: ab}
	var run uint64
	for k := lo; k < len(m.Regions) && m.Regions[k].AllocationBase == ab && !m.Regions[k].IsFree(); k++ {
		r := &m.Regions[k]
		seg.Size = r.End() - ab
		switch r.State {
		case minidump.MemCommit:
			seg.Committed += r.Size
			run = 0
		case minidump.MemReserve:
			seg.Uncommitted += r.Size
			run += r.Size
			seg.LargestUncommitted = max(seg.LargestUncommitted, run)
		}
		r.Usage = UsageHeap
		r.Info = &RegionInfo{Heap: h.Handle, Detail: fmt.Sprintf("heap %#x", h.Handle)}
	}
	h.Segments = append(h.Segments, seg)
	sort.Slice(h.Segments, func(a, b int) bool { return h.Segments[a].Base < h.Segments[b].Base })
}
