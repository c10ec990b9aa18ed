package analysis

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/modsym"
	"github.com/dumpmap/dumpmap/analysis/ntheap"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Heap is what the analysis knows about one heap of the process.
type Heap struct {
	Handle uint64
	// PointerSize is the bitness of the heap: a 64-bit dump of a WOW64 process
	// holds 64-bit heaps beside the 32-bit process's own.
	PointerSize int
	ProcessHeap bool
	CRTHeap     bool
	// FoundBy lists how the heap was identified ("PEB.ProcessHeap (64-bit PEB
	// 0x...)", "signature scan at region base 0x...", "UCRT: CRT heap = process
	// heap", "PDB: crtheap.exe!_crtheap at 0x...", ...).
	FoundBy []string
	// Layout is the kind of heap its header shows (ntheap.KindUnknown when the
	// header was not captured).
	Layout ntheap.Kind
	// Read is the heap read from dump memory: its header's bookkeeping, segments,
	// virtual blocks, and on demand its walk (Summary, Stat, Walk) and Fit; nil
	// when its header was not captured or holds no heap this reader knows.
	Read *ntheap.Heap
	// Segments are the heap's reservations as the region map shows them: each
	// segment (and sub-heap) the heap's own lists name when its memory was
	// captured, else the reservation that holds the heap's header.
	Segments []Segment
	// VirtualBlocks are the reservations of its blocks above the virtual-memory
	// threshold, as the heap's list names them.
	VirtualBlocks []AddrRange
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
		h.addFoundBy(foundBy)
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

// findHeaps identifies the process's heaps and lays them over the map, as the
// map's last construction step:
//
//   - package ntheap finds them through the PEB of each bitness (TEB -> PEB ->
//     ProcessHeap, ProcessHeaps), Wine's own heap list, and by their header
//     signatures at the allocation bases of committed private regions whose
//     memory was captured, and reads each header it finds;
//   - the C runtime's heap is the process heap for the Universal CRT; otherwise
//     its global, found through PDBs or the code of _get_heap_handle
//     (modsym.IdentifyCRTHeap);
//   - every segment and virtual block the heaps' own lists name (else the
//     reservation that holds the header) becomes Heap in the map.
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
	var version ntheap.OSVersion
	if v, ok := p.OS(); ok {
		version = ntheap.OSVersion{Major: v.Major, Minor: v.Minor, Build: v.Build}
	}
	if mem == nil {
		try(process.MethodPEB, false, "the dump captured no memory: no PEB and no heap header to read")
	} else {
		in := ntheap.DiscoverInput{Memory: mem, Version: version, PointerSize: dumpPtr,
			WOW64: p.WOW64().Is && dumpPtr == 8, Candidates: m.heapCandidates(mem)}
		for _, t := range threads {
			if t.TEB != 0 {
				in.TEBs = append(in.TEBs, t.TEB)
			}
		}
		if len(in.TEBs) == 0 {
			try(process.MethodPEB, false, "the dump has no thread list, so no TEB to find the PEB from")
		}
		d := ntheap.Discover(in)
		for _, a := range d.Attempts {
			if a.Method == ntheap.MethodSignatureScan && a.Result != ntheap.ResultFound {
				continue // one per candidate: the found heaps say what the scan found
			}
			try(attemptMethod(a.Method), a.Result == ntheap.ResultFound, "%s", attemptText(a))
		}
		// An address the PEB lists is a heap even when its header was not captured
		// (most dumps) or is of a layout the reader does not know: the PEB says so.
		// Its header is then not read, so nothing is misread.
		for _, a := range d.Attempts {
			if (a.Method != ntheap.MethodPEBProcessHeap && a.Method != ntheap.MethodPEBProcessHeaps) || a.Result == ntheap.ResultFound || a.Addr == 0 {
				continue
			}
			peb := pebOf(d, a.PointerSize)
			if peb == nil {
				continue
			}
			by := ntheap.FoundBy{Method: a.Method, Index: -1, From: peb.Addr, PointerSize: a.PointerSize}
			if a.Method == ntheap.MethodPEBProcessHeaps {
				if i, ok := listIndex(mem, peb, a.Addr); ok {
					by.Index = i
				} else {
					continue // the attempt is about the array, not a heap
				}
			} else if a.Addr != peb.ProcessHeap {
				continue
			}
			h := hs.add(a.Addr, foundText(by))
			h.PointerSize = a.PointerSize
			h.Notes = append(h.Notes, "header: "+a.Reason)
			if a.Method == ntheap.MethodPEBProcessHeap && (hs.Process == 0 || a.PointerSize == m.Space.PointerSize) {
				hs.Process = a.Addr
				h.ProcessHeap = true
			}
		}
		// The process heap of the set the map shows: the 32-bit one of a WOW64
		// process unless the map shows its native view.
		for _, f := range d.Heaps {
			var h *Heap
			for _, fb := range f.FoundBy {
				h = hs.add(f.Addr, foundText(fb))
			}
			if h == nil {
				h = hs.add(f.Addr, "discovery")
			}
			h.PointerSize, h.Layout = f.PointerSize, f.Kind
			if f.ProcessHeap && (hs.Process == 0 || f.PointerSize == m.Space.PointerSize) {
				if old := hs.Get(hs.Process); old != nil {
					old.ProcessHeap = false
				}
				hs.Process = f.Addr
				h.ProcessHeap = true
			}
		}
		for _, peb := range d.PEBs {
			if h := hs.Get(peb.ProcessHeap); h != nil && peb.HeapSegmentReserve != 0 && peb.HeapSegmentReserve < 1<<40 {
				h.SegmentReserve = peb.HeapSegmentReserve
			}
		}
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
		h := &hs.Heaps[i]
		if h.PointerSize == 0 {
			h.PointerSize = m.Space.PointerSize
		}
		m.readHeap(mem, version, h)
		m.layOutHeap(h)
	}
	return hs
}

// heapCandidates yields where a heap header may be: the allocation bases of
// committed private regions whose first bytes the dump captured (the regions and
// the captured ranges are both sorted, so one pass over each finds them), then
// the 64 KB-aligned starts of captured ranges in other committed memory (a
// damaged MemoryInfoList can misstate a heap's type). Every heap reservation
// starts at a 64 KB boundary, and discovery accepts only positive evidence.
func (m *Map) heapCandidates(mem *minidump.Memory) func(yield func(uint64) bool) {
	return func(yield func(uint64) bool) {
		ranges := mem.Ranges()
		j := 0
		for i := 0; i < len(m.Regions); i++ {
			// No region below the start of range j is yielded or moves j on: jump
			// to the first that is not (a map of 200,000 regions has a few
			// captured ranges).
			if j < len(ranges) {
				if rg := ranges[j]; rg.Start <= rg.End() && m.Regions[i].Base < rg.Start {
					i += sort.Search(len(m.Regions)-i, func(k int) bool { return m.Regions[i+k].Base >= rg.Start })
					if i == len(m.Regions) {
						break
					}
				}
			}
			r := &m.Regions[i]
			if r.State != minidump.MemCommit || r.Type != minidump.MemPrivate || r.Base != r.AllocationBase {
				continue
			}
			for j < len(ranges) && ranges[j].End() <= r.Base {
				j++
			}
			if j == len(ranges) {
				break
			}
			if ranges[j].Start <= r.Base && r.Base+0x20 <= ranges[j].End() {
				if !yield(r.Base) {
					return
				}
			}
		}
		k := 0
		for _, rg := range ranges {
			a := rg.Start
			if a%0x10000 != 0 || rg.Size < 0x20 {
				continue
			}
			for k < len(m.Regions) && m.Regions[k].End() <= a {
				k++
			}
			if k < len(m.Regions) {
				r := &m.Regions[k]
				if r.IsFree() || r.Type == minidump.MemImage || r.Type == minidump.MemPrivate && r.Base == r.AllocationBase && r.State == minidump.MemCommit {
					continue // free, an image, or yielded above
				}
			}
			if !yield(a) {
				return
			}
		}
	}
}

// pebOf returns the PEB discovery read for the given bitness.
func pebOf(d *ntheap.Discovery, ptr int) *ntheap.PEBInfo {
	for i := range d.PEBs {
		if d.PEBs[i].PointerSize == ptr {
			return &d.PEBs[i]
		}
	}
	return nil
}

// listIndex finds heap h in the PEB's ProcessHeaps array (bounded by
// NumberOfHeaps, which discovery already checked).
func listIndex(mem *minidump.Memory, peb *ntheap.PEBInfo, h uint64) (int, bool) {
	for i := uint32(0); i < peb.NumberOfHeaps && i < 4096; i++ {
		v, err := mem.ReadPointer(peb.ProcessHeaps+uint64(i)*uint64(peb.PointerSize), peb.PointerSize)
		if err != nil {
			return 0, false
		}
		if v == h {
			return int(i), true
		}
	}
	return 0, false
}

// attemptMethod names a discovery attempt's method as the heap set's attempts do.
func attemptMethod(m ntheap.Method) process.Method {
	switch m {
	case ntheap.MethodPEBProcessHeaps:
		return process.MethodPEBHeaps
	case ntheap.MethodPEBProcessHeap:
		return process.MethodPEB
	case ntheap.MethodTEB:
		return "TEB"
	}
	return process.Method(m.String())
}

// attemptText says a discovery attempt in words.
func attemptText(a ntheap.Attempt) string {
	return fmt.Sprintf("%#x (%d-bit): %s: %s", a.Addr, a.PointerSize*8, a.Result, a.Reason)
}

// foundText says how a heap was found.
func foundText(f ntheap.FoundBy) string { return f.String() }

// addFoundBy records another way the heap was found.
func (h *Heap) addFoundBy(how string) {
	if !containsStr(h.FoundBy, how) {
		h.FoundBy = append(h.FoundBy, how)
	}
}

// maxHeapSegments bounds the segments laid over the map per heap (a damaged list
// is already bounded by ntheap; this keeps the map's work proportional).
const maxHeapSegments = 4096

// readHeap reads the heap's header from dump memory (package ntheap): its kind,
// flags, thresholds and lists. A heap whose header was not captured keeps what
// discovery knew.
func (m *Map) readHeap(mem *minidump.Memory, v ntheap.OSVersion, h *Heap) {
	if mem == nil {
		return
	}
	rh, err := ntheap.Open(mem, h.Handle, ntheap.Options{Version: v, PointerSize: h.PointerSize})
	if rh == nil {
		return
	}
	h.Layout = rh.Kind
	if err != nil {
		if rh.Why != "" {
			h.Notes = append(h.Notes, "header: "+rh.Why)
		}
		return
	}
	h.Read = rh
	switch rh.Kind {
	case ntheap.KindNT, ntheap.KindWine:
		g := rh.Growable()
		h.Growable = &g
		what := "not growable (created with a maximum size)"
		if g {
			what = "HEAP_GROWABLE"
		}
		h.Notes = append(h.Notes, fmt.Sprintf("Flags %#x in the heap's header: %s", rh.Flags, what))
		if rh.VirtualMemoryThreshold != 0 {
			h.VirtualMemoryThreshold = rh.VirtualMemoryThreshold
		}
		if rh.SegmentReserve != 0 {
			h.SegmentReserve = rh.SegmentReserve
		}
	case ntheap.KindSegment:
		h.Notes = append(h.Notes, "a segment heap (signature 0xddeeddee): its blocks are not read")
	}
}

// Heap signatures (docs/windows-memory.md): an NT heap starts with its first
// segment, whose SegmentSignature follows the segment's _HEAP_ENTRY (8 bytes on
// x86, 16 on x64); a segment heap has its own signature at the same offset.
const (
	sigNTSegment   = 0xFFEEFFEE
	sigSegmentHeap = 0xDDEEDDEE
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

// layOutHeap lays the heap over the map: every segment and virtual block its own
// lists name (when its header was read), else the reservation holding its header.
// Each becomes Heap usage, and its committed and uncommitted parts are measured
// from the map.
func (m *Map) layOutHeap(h *Heap) {
	var bases []uint64
	if h.Read != nil && len(h.Read.Segments) > 0 {
		for i, s := range h.Read.Segments {
			if i == maxHeapSegments {
				break
			}
			bases = append(bases, s.Base)
		}
	} else {
		bases = []uint64{h.Handle}
	}
	for _, b := range bases {
		if seg, ok := m.layOutReservation(h, b); ok {
			h.Segments = append(h.Segments, seg)
		}
	}
	if h.Read != nil {
		for i, vb := range h.Read.VirtualBlocks {
			if i == maxHeapSegments {
				break
			}
			if seg, ok := m.layOutReservation(h, vb.Addr); ok {
				h.VirtualBlocks = append(h.VirtualBlocks, AddrRange{seg.Base, seg.Base + seg.Size})
			}
		}
	}
	sort.Slice(h.Segments, func(a, b int) bool { return h.Segments[a].Base < h.Segments[b].Base })
	h.Segments = slices.CompactFunc(h.Segments, func(a, b Segment) bool { return a.Base == b.Base })
}

// layOutReservation marks the reservation holding address a as the heap's and
// measures it.
func (m *Map) layOutReservation(h *Heap, a uint64) (Segment, bool) {
	i := m.Find(a)
	if i < 0 || m.Regions[i].IsFree() || m.Regions[i].State == 0 {
		h.Notes = append(h.Notes, fmt.Sprintf("the heap's memory at %#x is not in a known region", a))
		return Segment{}, false
	}
	ab := m.Regions[i].AllocationBase
	if m.Partial || ab == 0 {
		// Without a MemoryInfoList no region has an allocation base: walking
		// "the same reservation" would swallow the whole address space.
		h.Notes = append(h.Notes, fmt.Sprintf("the region map does not show the reservation holding the heap's memory at %#x (no MemoryInfoList): its segments are unknown", a))
		return Segment{}, false
	}
	lo := i
	for lo > 0 && m.Regions[lo-1].AllocationBase == ab && !m.Regions[lo-1].IsFree() {
		lo--
	}
	seg := Segment{Base: ab}
	var run uint64
	info := &RegionInfo{Heap: h.Handle, Detail: fmt.Sprintf("heap %#x", h.Handle)}
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
		m.retag(k, UsageHeap)
		r.Info = info
	}
	return seg, true
}
