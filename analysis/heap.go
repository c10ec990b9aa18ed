package analysis

import (
	"fmt"
	"sort"
	"strings"

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

// HeapSet is the process's heaps as far as the dump shows them.
type HeapSet struct {
	Heaps []Heap
	// Process and CRT are the handles of the process heap and the C runtime's heap
	// (0: unknown).
	Process, CRT uint64
	// CRTHow says how the CRT heap was identified; Tried lists the methods that were
	// tried for heaps and the CRT heap, and why each failed.
	CRTHow string
	Tried  []string
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

// Add records a heap (merging with one already known) and returns it.
func (hs *HeapSet) Add(handle uint64, foundBy string) *Heap {
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

// FindHeaps identifies the process's heaps from the PEB (TEB -> PEB ->
// ProcessHeap, ProcessHeaps) in captured memory, lays their segments over the map
// and marks those regions as Heap. The C runtime's heap is identified by the UCRT rule
// (ucrtbase.dll uses the process heap); callers with symbols can set it afterwards
// with SetCRTHeap.
func (m *Map) FindHeaps(f *minidump.File) *HeapSet {
	hs := &HeapSet{}
	if !m.Space.Windows {
		hs.Tried = append(hs.Tried, "heaps: not a Windows process")
		return hs
	}
	mem, _ := f.Memory()
	threads, _ := f.Threads()
	si, _ := f.SystemInfo()
	dumpPtr := 8
	if si != nil && si.Arch.PointerSize() == 4 {
		dumpPtr = 4
	}
	mods, _ := f.Modules()
	wow := isWOW64(si, mods)
	found := false
	for _, t := range threads {
		if t.TEB == 0 || mem == nil {
			continue
		}
		teb, ptr := t.TEB, dumpPtr
		if wow && m.Space.PointerSize == 4 {
			teb, ptr = t.TEB+0x2000, 4 // the 32-bit TEB and PEB, which the 32-bit heaps hang off
		}
		pebOff := uint64(0x60)
		lay := peb64
		if ptr == 4 {
			pebOff, lay = 0x30, peb32
		}
		peb, err := mem.ReadPointer(teb+pebOff, ptr)
		if err != nil || peb == 0 {
			hs.Tried = append(hs.Tried, fmt.Sprintf("PEB: the TEB of thread %d at %#x is not captured", t.ID, teb))
			continue
		}
		ph, err := mem.ReadPointer(peb+lay.processHeap, ptr)
		if err != nil {
			hs.Tried = append(hs.Tried, fmt.Sprintf("PEB at %#x is not captured (the dump needs MiniDumpWithProcessThreadData or full memory)", peb))
			break
		}
		found = true
		if ph != 0 {
			hs.Process = ph
			h := hs.Add(ph, "PEB.ProcessHeap")
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
			hs.Tried = append(hs.Tried, "PEB.ProcessHeaps: the PEB's heap fields are not captured")
		case n > maxHeaps:
			hs.Tried = append(hs.Tried, fmt.Sprintf("PEB.ProcessHeaps: NumberOfHeaps %d is implausible", n))
		default:
			for i := uint64(0); i < uint64(n); i++ {
				h, err := mem.ReadPointer(arr+i*uint64(ptr), ptr)
				if err != nil {
					hs.Tried = append(hs.Tried, fmt.Sprintf("PEB.ProcessHeaps: the array at %#x is not captured", arr))
					break
				}
				if h != 0 {
					hs.Add(h, "PEB.ProcessHeaps")
				}
			}
		}
		break
	}
	if !found && len(threads) == 0 {
		hs.Tried = append(hs.Tried, "PEB: the dump has no thread list, so no TEB to find the PEB from")
	}
	m.crtHeapByUCRT(hs, mods)
	for i := range hs.Heaps {
		m.layOutHeap(&hs.Heaps[i])
	}
	return hs
}

// crtHeapByUCRT applies the UCRT rule: the Universal CRT allocates from the process
// heap. It applies only when no older versioned CRT DLL (msvcr70-msvcr120), which
// has a heap of its own, is loaded. Windows' own msvcrt.dll is loaded by system DLLs
// in most processes and says nothing about which CRT the program uses.
func (m *Map) crtHeapByUCRT(hs *HeapSet, mods []minidump.Module) {
	var ucrt bool
	var old []string
	for _, mod := range mods {
		n := strings.ToLower(mod.BaseName())
		switch {
		case n == "ucrtbase.dll" || n == "ucrtbased.dll":
			ucrt = true
		case strings.HasPrefix(n, "msvcr") && n != "msvcrt.dll" && strings.HasSuffix(n, ".dll"):
			old = append(old, mod.BaseName())
		}
	}
	switch {
	case ucrt && len(old) == 0:
		hs.CRT, hs.CRTHow = hs.Process, "UCRT rule: ucrtbase.dll allocates from the process heap"
		if hs.Process != 0 {
			h := hs.Add(hs.Process, "UCRT: CRT heap = process heap")
			h.CRTHeap = true
		}
	case ucrt:
		hs.Tried = append(hs.Tried, "UCRT rule: ucrtbase.dll is loaded but so are "+strings.Join(old, ", ")+", which have heaps of their own")
	default:
		hs.Tried = append(hs.Tried, "UCRT rule: ucrtbase.dll is not loaded")
	}
}

// SetCRTHeap records the C runtime's heap found by other means (symbols, code).
func (m *Map) SetCRTHeap(hs *HeapSet, handle uint64, how string) {
	hs.CRT, hs.CRTHow = handle, how
	h := hs.Add(handle, how)
	h.CRTHeap = true
	if len(h.Segments) == 0 {
		m.layOutHeap(h)
	}
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
