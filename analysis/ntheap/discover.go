package ntheap

import (
	"fmt"
	"iter"
	"sort"
)

// Method is a way a heap was found.
type Method uint8

const (
	MethodPEBProcessHeap  Method = iota + 1 // PEB.ProcessHeap
	MethodPEBProcessHeaps                   // PEB.ProcessHeaps[i] (NumberOfHeaps entries)
	MethodWineHeapList                      // Wine's list of heaps, which starts at its process heap
	MethodSignatureScan                     // a heap header at a candidate address (a region's allocation base)
	MethodTEB                               // reading a TEB's PEB pointer (attempts only)
)

var methodNames = [...]string{"", "PEB.ProcessHeap", "PEB.ProcessHeaps", "Wine heap list", "signature scan", "TEB"}

func (m Method) String() string {
	if int(m) < len(methodNames) && m != 0 {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// FoundBy records one way a heap was found.
type FoundBy struct {
	Method Method
	// Index is the position in PEB.ProcessHeaps or in Wine's heap list (-1: none).
	Index int
	// From is the PEB, the Wine heap whose list was followed, or the candidate
	// address the scan read.
	From uint64
	// PointerSize is the bitness of the set the heap belongs to: 4 for the 32-bit
	// PEB of a WOW64 process, else the dump's.
	PointerSize int
}

func (f FoundBy) String() string {
	switch f.Method {
	case MethodPEBProcessHeap:
		return fmt.Sprintf("PEB.ProcessHeap (%d-bit PEB %#x)", f.PointerSize*8, f.From)
	case MethodPEBProcessHeaps:
		return fmt.Sprintf("PEB.ProcessHeaps[%d] (%d-bit PEB %#x)", f.Index, f.PointerSize*8, f.From)
	case MethodWineHeapList:
		return fmt.Sprintf("Wine heap list entry %d from %#x", f.Index, f.From)
	case MethodSignatureScan:
		return fmt.Sprintf("signature scan at region base %#x", f.From)
	}
	return f.Method.String()
}

// Result is the outcome of one discovery attempt.
type Result uint8

const (
	ResultFound       Result = iota + 1 // a heap (or a PEB) was found
	ResultNotCaptured                   // the memory to read is not in the dump
	ResultNotHeap                       // the address holds no heap header
	ResultImplausible                   // a count or pointer is out of range
	ResultEmpty                         // nothing to read (a null pointer, an empty list)
	ResultIncomplete                    // a list walk stopped early
)

var resultNames = [...]string{"", "found", "not captured", "not a heap", "implausible", "empty", "incomplete"}

func (r Result) String() string {
	if int(r) < len(resultNames) && r != 0 {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// Attempt is one step of discovery: what was read, with what result and why.
type Attempt struct {
	Method      Method
	Addr        uint64
	PointerSize int
	Result      Result
	Reason      string
}

func (a Attempt) String() string {
	return fmt.Sprintf("%s at %#x (%d-bit): %s: %s", a.Method, a.Addr, a.PointerSize*8, a.Result, a.Reason)
}

// PEBInfo is the heap-related part of a PEB.
type PEBInfo struct {
	Addr                           uint64
	PointerSize                    int
	ProcessHeap                    uint64
	NumberOfHeaps                  uint32
	MaximumNumberOfHeaps           uint32
	ProcessHeaps                   uint64
	HeapSegmentReserve             uint64
	HeapSegmentCommit              uint64
	HeapDeCommitTotalFreeThreshold uint64
	HeapDeCommitFreeBlockThreshold uint64
}

// Found is a heap discovery found.
type Found struct {
	Addr        uint64
	PointerSize int
	Kind        Kind
	Why         string
	ProcessHeap bool // PEB.ProcessHeap of its set
	FoundBy     []FoundBy
}

// DiscoverInput is what discovery reads.
type DiscoverInput struct {
	Memory  Reader
	Version OSVersion
	// PointerSize is the dump's (8 for a WOW64 dump).
	PointerSize int
	// WOW64: also read the 32-bit TEB (TEB + 0x2000) and its PEB's heaps.
	WOW64 bool
	// TEBs are the threads' TEB addresses (MINIDUMP_THREAD.Teb).
	TEBs []uint64
	// Candidates yields addresses to test for a heap header: the caller passes the
	// allocation bases of committed private regions. Nil: no scan.
	Candidates iter.Seq[uint64]
	// MaxCandidates bounds the scan (0: 1<<20).
	MaxCandidates int
	// Layout overrides the built-in table for heaps of its pointer size.
	Layout *Layout
}

// Discovery is the result of Discover.
type Discovery struct {
	Heaps    []Found
	PEBs     []PEBInfo
	Attempts []Attempt
}

// Get returns the heap at addr of the given pointer size (0: any), or nil.
func (d *Discovery) Get(addr uint64, ptr int) *Found {
	for i := range d.Heaps {
		if d.Heaps[i].Addr == addr && (ptr == 0 || d.Heaps[i].PointerSize == ptr) {
			return &d.Heaps[i]
		}
	}
	return nil
}

// maxPEBHeaps bounds NumberOfHeaps (the PEB's array starts at 16 entries and
// grows on demand; thousands means the bytes are not a PEB).
const maxPEBHeaps = 4096

// wow64TEBOffset is where a WOW64 process's 32-bit TEB lies after its 64-bit TEB.
const wow64TEBOffset = 0x2000

// Discover finds the process's heaps: through the PEB of each bitness (TEB ->
// PEB -> ProcessHeap and ProcessHeaps), through Wine's own heap list, and by
// testing candidate addresses for a heap header. Every heap says how it was found;
// every step is recorded in Attempts. Addresses listed by the PEB whose memory
// holds no heap header are not reported as heaps (their attempt says why).
func Discover(in DiscoverInput) *Discovery {
	d := &Discovery{}
	if in.Memory == nil {
		d.Attempts = append(d.Attempts, Attempt{Method: MethodTEB, Result: ResultNotCaptured, Reason: "the dump has no memory"})
		return d
	}
	if in.MaxCandidates <= 0 {
		in.MaxCandidates = 1 << 20
	}
	sets := []int{in.PointerSize}
	if in.WOW64 && in.PointerSize == 8 {
		sets = append(sets, 4)
	}
	index := map[[2]uint64]int{}
	add := func(addr uint64, ptr int, c classification, by FoundBy) {
		k := [2]uint64{addr, uint64(ptr)}
		if i, ok := index[k]; ok {
			d.Heaps[i].FoundBy = append(d.Heaps[i].FoundBy, by)
			return
		}
		index[k] = len(d.Heaps)
		d.Heaps = append(d.Heaps, Found{Addr: addr, PointerSize: ptr, Kind: c.kind, Why: c.why, FoundBy: []FoundBy{by}})
	}
	opts := func(ptr int) Options {
		o := Options{Version: in.Version, PointerSize: ptr}
		if in.Layout != nil && in.Layout.PointerSize == ptr {
			o.Layout = in.Layout
		}
		o.norm()
		return o
	}
	check := func(addr uint64, ptr int, by FoundBy, method Method) bool {
		m := newMem(in.Memory, ptr)
		c := classify(m, addr, opts(ptr))
		if c.kind == KindUnknown {
			res := ResultNotHeap
			if _, err := m.u32(addr+2*uint64(ptr), ""); err != nil {
				res = ResultNotCaptured
			}
			d.Attempts = append(d.Attempts, Attempt{Method: method, Addr: addr, PointerSize: ptr, Result: res, Reason: c.why})
			return false
		}
		add(addr, ptr, c, by)
		d.Attempts = append(d.Attempts, Attempt{Method: method, Addr: addr, PointerSize: ptr, Result: ResultFound, Reason: c.why})
		return true
	}

	if len(in.TEBs) == 0 {
		d.Attempts = append(d.Attempts, Attempt{Method: MethodTEB, Result: ResultEmpty, Reason: "the dump lists no thread, so no TEB leads to the PEB"})
	}
	for _, ptr := range sets {
		l, _ := LayoutFor(in.Version, ptr)
		if l.PointerSize == 0 {
			l = layout32("", "", false, HeapOffsets{})
			if ptr == 8 {
				l = layout64("", "", false, HeapOffsets{})
			}
		}
		m := newMem(in.Memory, ptr)
		for _, teb64 := range in.TEBs {
			teb := teb64
			if ptr != in.PointerSize {
				teb += wow64TEBOffset
			}
			peb, err := m.ptrAt(teb+l.TEBToPEB, "TEB.ProcessEnvironmentBlock")
			if err != nil {
				d.Attempts = append(d.Attempts, Attempt{Method: MethodTEB, Addr: teb, PointerSize: ptr, Result: ResultNotCaptured, Reason: fmt.Sprintf("TEB.ProcessEnvironmentBlock at +%#x: %v", l.TEBToPEB, unwrapRead(err))})
				continue
			}
			if peb == 0 {
				d.Attempts = append(d.Attempts, Attempt{Method: MethodTEB, Addr: teb, PointerSize: ptr, Result: ResultEmpty, Reason: "the TEB's PEB pointer is null"})
				continue
			}
			info, ok := d.readPEB(m, peb, ptr, l.PEB)
			if !ok {
				continue
			}
			d.Attempts = append(d.Attempts, Attempt{Method: MethodTEB, Addr: teb, PointerSize: ptr, Result: ResultFound, Reason: fmt.Sprintf("PEB at %#x", peb)})
			d.PEBs = append(d.PEBs, info)
			if info.ProcessHeap != 0 {
				if check(info.ProcessHeap, ptr, FoundBy{MethodPEBProcessHeap, -1, peb, ptr}, MethodPEBProcessHeap) {
					d.Get(info.ProcessHeap, ptr).ProcessHeap = true
				}
			} else {
				d.Attempts = append(d.Attempts, Attempt{Method: MethodPEBProcessHeap, Addr: peb + l.PEB.ProcessHeap, PointerSize: ptr, Result: ResultEmpty, Reason: "PEB.ProcessHeap is null"})
			}
			n := info.NumberOfHeaps
			switch {
			case n == 0:
				d.Attempts = append(d.Attempts, Attempt{Method: MethodPEBProcessHeaps, Addr: peb + l.PEB.NumberOfHeaps, PointerSize: ptr, Result: ResultEmpty, Reason: "PEB.NumberOfHeaps is 0 (Wine does not maintain it)"})
			case n > maxPEBHeaps || (info.MaximumNumberOfHeaps != 0 && n > info.MaximumNumberOfHeaps):
				d.Attempts = append(d.Attempts, Attempt{Method: MethodPEBProcessHeaps, Addr: peb + l.PEB.NumberOfHeaps, PointerSize: ptr, Result: ResultImplausible,
					Reason: fmt.Sprintf("NumberOfHeaps %d with MaximumNumberOfHeaps %d is not plausible", n, info.MaximumNumberOfHeaps)})
			default:
				arr := make([]byte, int(n)*ptr)
				if err := m.read(arr, info.ProcessHeaps, "PEB.ProcessHeaps"); err != nil {
					d.Attempts = append(d.Attempts, Attempt{Method: MethodPEBProcessHeaps, Addr: info.ProcessHeaps, PointerSize: ptr, Result: ResultNotCaptured, Reason: fmt.Sprintf("the array of %d heaps: %v", n, unwrapRead(err))})
					break
				}
				for i := 0; i < int(n); i++ {
					if h := le(arr, uint64(i*ptr), ptr); h != 0 {
						check(h, ptr, FoundBy{MethodPEBProcessHeaps, i, peb, ptr}, MethodPEBProcessHeaps)
					}
				}
			}
			break // one PEB per bitness
		}
	}

	// Wine keeps its heaps in a list (struct heap.entry) whose head is the
	// process heap's entry: follow it from every Wine heap found so far.
	for i := 0; i < len(d.Heaps); i++ {
		if d.Heaps[i].Kind == KindWine {
			d.followWine(in.Memory, d.Heaps[i].Addr, d.Heaps[i].PointerSize, check)
			break
		}
	}

	if in.Candidates != nil {
		scanned, hits := 0, 0
		for c := range in.Candidates {
			if scanned >= in.MaxCandidates {
				d.Attempts = append(d.Attempts, Attempt{Method: MethodSignatureScan, Result: ResultIncomplete, Reason: fmt.Sprintf("stopped after %d candidates (the bound)", in.MaxCandidates)})
				break
			}
			scanned++
			for _, ptr := range sets {
				if ptr == 4 && c > 0xffffffff {
					continue
				}
				k := [2]uint64{c, uint64(ptr)}
				if i, ok := index[k]; ok {
					d.Heaps[i].FoundBy = append(d.Heaps[i].FoundBy, FoundBy{MethodSignatureScan, -1, c, ptr})
					hits++
					break
				}
				m := newMem(in.Memory, ptr)
				cl := classify(m, c, opts(ptr))
				if cl.kind != KindUnknown {
					add(c, ptr, cl, FoundBy{MethodSignatureScan, -1, c, ptr})
					d.Attempts = append(d.Attempts, Attempt{Method: MethodSignatureScan, Addr: c, PointerSize: ptr, Result: ResultFound, Reason: cl.why})
					hits++
					if cl.kind == KindWine {
						d.followWine(in.Memory, c, ptr, check)
					}
					break
				}
			}
		}
		d.Attempts = append(d.Attempts, Attempt{Method: MethodSignatureScan, PointerSize: in.PointerSize, Result: ResultFound, Reason: fmt.Sprintf("%d candidate addresses tested, %d hold a heap header", scanned, hits)})
	}
	sort.SliceStable(d.Heaps, func(i, j int) bool {
		if d.Heaps[i].PointerSize != d.Heaps[j].PointerSize {
			return d.Heaps[i].PointerSize > d.Heaps[j].PointerSize
		}
		return d.Heaps[i].Addr < d.Heaps[j].Addr
	})
	return d
}

func (d *Discovery) readPEB(m *mem, peb uint64, ptr int, o PEBOffsets) (PEBInfo, bool) {
	b := make([]byte, o.ProcessHeaps+uint64(ptr))
	if err := m.read(b, peb, "PEB"); err != nil {
		d.Attempts = append(d.Attempts, Attempt{Method: MethodTEB, Addr: peb, PointerSize: ptr, Result: ResultNotCaptured,
			Reason: fmt.Sprintf("the PEB's heap fields: %v (the dump needs MiniDumpWithProcessThreadData or full memory)", unwrapRead(err))})
		return PEBInfo{}, false
	}
	return PEBInfo{
		Addr: peb, PointerSize: ptr,
		ProcessHeap:                    le(b, o.ProcessHeap, ptr),
		HeapSegmentReserve:             le(b, o.HeapSegmentReserve, ptr),
		HeapSegmentCommit:              le(b, o.HeapSegmentCommit, ptr),
		HeapDeCommitTotalFreeThreshold: le(b, o.HeapDeCommitTotalFreeThreshold, ptr),
		HeapDeCommitFreeBlockThreshold: le(b, o.HeapDeCommitFreeBlockThreshold, ptr),
		NumberOfHeaps:                  uint32(le(b, o.NumberOfHeaps, 4)),
		MaximumNumberOfHeaps:           uint32(le(b, o.MaximumNumberOfHeaps, 4)),
		ProcessHeaps:                   le(b, o.ProcessHeaps, ptr),
	}, true
}

// wineEntry is struct heap.entry: the list of heaps, after flags/force_flags.
func wineEntry(ptr int) uint64 {
	if ptr == 4 {
		return 0x48
	}
	return 0x78
}

func (d *Discovery) followWine(r Reader, start uint64, ptr int, check func(uint64, int, FoundBy, Method) bool) {
	m := newMem(r, ptr)
	off := wineEntry(ptr)
	i := 0
	err := m.walkList(start+off, maxPEBHeaps, "Wine heap", func(link uint64) bool {
		i++
		h := link - off
		if d.Get(h, ptr) != nil {
			d.Get(h, ptr).FoundBy = append(d.Get(h, ptr).FoundBy, FoundBy{MethodWineHeapList, i, start, ptr})
			return true
		}
		check(h, ptr, FoundBy{MethodWineHeapList, i, start, ptr}, MethodWineHeapList)
		return true
	})
	if err != nil {
		d.Attempts = append(d.Attempts, Attempt{Method: MethodWineHeapList, Addr: start + off, PointerSize: ptr, Result: ResultIncomplete, Reason: unwrapRead(err).Error()})
		return
	}
	d.Attempts = append(d.Attempts, Attempt{Method: MethodWineHeapList, Addr: start + off, PointerSize: ptr, Result: ResultFound, Reason: fmt.Sprintf("%d other heaps on the list", i)})
}
