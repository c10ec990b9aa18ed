package render

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/ntheap"
	"github.com/dumpmap/dumpmap/analysis/process"
)

// Heaps is `dumpmap heaps`: the process's heaps, their segments and room to
// grow, and which one is the C runtime's.
type Heaps struct {
	File        string   `json:"file"`
	Heaps       []Heap   `json:"heaps"`
	ProcessHeap *Hex     `json:"process_heap,omitempty"` // absent when unknown
	CRTHeap     *Hex     `json:"crt_heap,omitempty"`     // absent when unknown
	CRTHow      string   `json:"crt_how,omitempty"`      // how the CRT heap was identified
	Tried       []string `json:"tried"`
	Warnings    []string `json:"warnings"`

	m    *analysis.Map
	opts process.Options
}

// Heap is one heap: how it was found, its own bookkeeping and walk when its memory
// is in the dump (what WinDbg's !heap -s shows), and its segments as the region
// map shows them.
type Heap struct {
	Handle      Hex      `json:"handle"`
	PointerSize int      `json:"pointer_size"`
	ProcessHeap bool     `json:"process_heap"`
	CRTHeap     bool     `json:"crt_heap"`
	FoundBy     []string `json:"found_by"`
	// Layout is what the heap's header shows: "nt", "segment", "wine" (Wine's
	// heap, not an NT heap layout) or "unknown" (not captured, or not a heap
	// header this reader knows). LayoutName names the NT layout table row used.
	Layout     string `json:"layout"`
	LayoutName string `json:"layout_name,omitempty"`
	// Flags is _HEAP.Flags (null: the header was not read).
	Flags *Hex `json:"flags"`
	// Reserved and Committed are the heap's own bookkeeping when its header was
	// read (Counters.TotalMemoryReserved and TotalMemoryCommitted; Wine: its
	// sub-heaps) and else the region map's measure of its known segments:
	// SizesFrom says which ("heap" or "region map"). Uncommitted is their
	// difference.
	Reserved    uint64 `json:"reserved"`
	Committed   uint64 `json:"committed"`
	Uncommitted uint64 `json:"uncommitted"`
	SizesFrom   string `json:"sizes_from"`
	// The heap's bookkeeping (null: not available): TotalFreeSize in bytes, the
	// uncommitted ranges, the segment count.
	FreeBytes    *uint64 `json:"free_bytes"`
	UCRCount     *uint32 `json:"ucr_count"`
	UCRBytes     *uint64 `json:"ucr_bytes"`
	SegmentCount *uint32 `json:"segment_count"`
	// VirtualBlocks counts the blocks above the virtual-memory threshold.
	VirtualBlocks int `json:"virtual_blocks"`
	// FrontEnd is "none", "lfh", "lookaside", "other" or "unknown".
	FrontEnd string `json:"front_end"`
	// From the walk of the heap's blocks (null when it could not run at all):
	// WalkComplete says it saw every block; WalkStops say where it stopped.
	FreeBlocks       *int     `json:"free_blocks"`
	LargestFreeBlock *uint64  `json:"largest_free_block"` // bytes, header included
	WalkFreeBytes    *uint64  `json:"walk_free_bytes"`
	BusyBlocks       *int     `json:"busy_blocks"`
	BusyBytes        *uint64  `json:"busy_bytes"`
	WalkComplete     bool     `json:"walk_complete"`
	WalkStops        []string `json:"walk_stops,omitempty"`
	// Segments are the heap's reservations as the region map shows them.
	Segments []Segment `json:"segments"`
	Growable *bool     `json:"growable,omitempty"` // absent when the header was not captured
	// SegmentReserve is the reserve the next segment asks for (absent: unknown).
	SegmentReserve uint64   `json:"segment_reserve,omitempty"`
	Notes          []string `json:"notes"`

	read *ntheap.Summary
}

// Segment is one segment of a heap.
type Segment struct {
	Base               Hex    `json:"base"`
	End                Hex    `json:"end"`
	Size               uint64 `json:"size"`
	Committed          uint64 `json:"committed"`
	Uncommitted        uint64 `json:"uncommitted"`
	LargestUncommitted uint64 `json:"largest_uncommitted"`
}

// NewHeaps lists the heaps of the map m of process p, shown as file. The text
// hints at --symbol-path and --image-path when p's options lack them and the CRT
// heap was not found.
func NewHeaps(file string, p *process.Process, m *analysis.Map, warn *Warnings) *Heaps {
	hs := m.Heaps
	list := make([]Heap, len(hs.Heaps))
	for i := range hs.Heaps {
		list[i] = heapOf(&hs.Heaps[i])
	}
	out := &Heaps{File: file, Heaps: list, CRTHow: hs.CRTHow, Tried: hs.Tried(), Warnings: warn.List(), m: m, opts: p.Options()}
	if hs.Process != 0 {
		v := Hex(hs.Process)
		out.ProcessHeap = &v
	}
	if hs.CRT != 0 {
		v := Hex(hs.CRT)
		out.CRTHeap = &v
	}
	return out
}

// heapOf shapes one heap, walking it when its memory is in the dump.
func heapOf(h *analysis.Heap) Heap {
	res, com, unc := h.Reserved()
	j := Heap{Handle: Hex(h.Handle), PointerSize: h.PointerSize, ProcessHeap: h.ProcessHeap, CRTHeap: h.CRTHeap,
		FoundBy: nonNil(h.FoundBy), Layout: h.Layout.String(), Segments: []Segment{}, Reserved: res, Committed: com, Uncommitted: unc,
		SizesFrom: "region map", FrontEnd: "unknown", Growable: h.Growable, SegmentReserve: h.SegmentReserve, Notes: nonNil(h.Notes)}
	for _, s := range h.Segments {
		j.Segments = append(j.Segments, Segment{Base: Hex(s.Base), End: Hex(s.Base + s.Size), Size: s.Size,
			Committed: s.Committed, Uncommitted: s.Uncommitted, LargestUncommitted: s.LargestUncommitted})
	}
	if h.Read == nil {
		return j
	}
	sum := h.Read.Summary()
	j.read = &sum
	flags := Hex(sum.Flags)
	j.Flags, j.LayoutName = &flags, sum.LayoutName
	if sum.Reserved != nil && sum.Committed != nil && *sum.Committed <= *sum.Reserved {
		j.Reserved, j.Committed, j.Uncommitted, j.SizesFrom = *sum.Reserved, *sum.Committed, *sum.Reserved-*sum.Committed, "heap"
	}
	j.FreeBytes, j.UCRCount, j.UCRBytes, j.SegmentCount = sum.FreeBytes, sum.UCRCount, sum.UCRBytes, sum.SegmentCount
	j.VirtualBlocks, j.FrontEnd = sum.VirtualBlocks, frontEndName(sum.FrontEnd)
	j.FreeBlocks, j.LargestFreeBlock, j.WalkFreeBytes = sum.FreeBlocks, sum.LargestFreeBlock, sum.WalkFreeBytes
	j.BusyBlocks, j.BusyBytes, j.WalkComplete = sum.BusyBlocks, sum.BusyBytes, sum.WalkComplete
	for _, st := range sum.WalkStops {
		j.WalkStops = append(j.WalkStops, st.String())
	}
	return j
}

// frontEndName is the JSON name of a front end.
func frontEndName(f ntheap.FrontEnd) string {
	switch f {
	case ntheap.FrontEndNone:
		return "none"
	case ntheap.FrontEndLFH:
		return "lfh"
	case ntheap.FrontEndLookaside:
		return "lookaside"
	case ntheap.FrontEndOther:
		return "other"
	}
	return "unknown"
}

// WriteJSON writes the JSON object.
func (x *Heaps) WriteJSON(w io.Writer) error { return WriteJSON(w, x) }

// kb formats an optional byte count in KiB, as !heap -s does; "-" when unknown.
func kb(p *uint64) string {
	if p == nil {
		return "-"
	}
	return Comma(int64(*p / 1024))
}

// writeHeapTable writes one !heap -s line per heap.
func writeHeapTable(w io.Writer, list []Heap, af AddrFormat) {
	tb := NewTable("HEAP", "FLAGS", ">RESERV(K)", ">COMMIT(K)", ">VIRT(K)", ">FREE(K)", ">LIST", ">UCR", ">VBLOCKS", "FRONT END", "LAYOUT")
	for _, h := range list {
		s := h.read
		if s == nil {
			tb.Row(af.Format(uint64(h.Handle)), "-", "-", "-", "-", "-", "-", "-", "-", "-", h.Layout)
			continue
		}
		free := s.FreeBytes
		if free == nil {
			free = s.WalkFreeBytes
		}
		list, ucr := "-", "-"
		if s.FreeListLength >= 0 {
			list = fmt.Sprint(s.FreeListLength)
		}
		if s.UCRCount != nil {
			ucr = fmt.Sprint(*s.UCRCount)
		}
		tb.Row(af.Format(uint64(h.Handle)), fmt.Sprintf("%08x", s.Flags), kb(s.Reserved), kb(s.Committed), kb(s.Virt), kb(free),
			list, ucr, fmt.Sprint(s.VirtualBlocks), h.FrontEnd, h.Layout)
	}
	tb.Print(w, "")
}

// WriteText writes the heaps, how the CRT heap was identified and the methods
// tried, with hints about the flags that would find more.
func (x *Heaps) WriteText(w io.Writer) error {
	hs, list, af := x.m.Heaps, x.Heaps, mapAddr(x.m)
	fmt.Fprintf(w, "%s\n", Plural(len(list), "heap"))
	if len(list) > 0 {
		fmt.Fprintln(w)
		writeHeapTable(w, list, af)
	}
	for _, h := range list {
		var roles []string
		if h.ProcessHeap {
			roles = append(roles, "process heap")
		}
		if h.CRTHeap {
			roles = append(roles, "CRT heap")
		}
		head := "Heap " + af.Format(uint64(h.Handle))
		if len(roles) > 0 {
			head += "  " + strings.Join(roles, ", ")
		}
		fmt.Fprintf(w, "\n%s\n", head)
		fmt.Fprintf(w, "  found by:  %s\n", Clean(strings.Join(h.FoundBy, "; ")))
		switch {
		case h.Layout == "wine":
			fmt.Fprintf(w, "  layout:    Wine's heap (not an NT heap layout)\n")
		case h.LayoutName != "":
			fmt.Fprintf(w, "  layout:    NT heap (%s)\n", h.LayoutName)
		case h.Layout == "segment":
			fmt.Fprintf(w, "  layout:    segment heap\n")
		}
		if h.read != nil {
			writeHeapBooks(w, h)
		}
		switch {
		case h.Growable == nil:
			fmt.Fprintf(w, "  growable:  unknown (header not captured)\n")
		case *h.Growable:
			fmt.Fprintf(w, "  growable:  yes\n")
		default:
			fmt.Fprintf(w, "  growable:  no (created with a maximum size)\n")
		}
		if h.SegmentReserve != 0 {
			fmt.Fprintf(w, "  next segment reserve: %s\n", Size(h.SegmentReserve))
		}
		if len(h.Segments) == 0 {
			fmt.Fprintf(w, "  segments:  none known\n")
		} else {
			fmt.Fprintf(w, "  segments:  %d, reserved %s, committed %s, uncommitted %s\n", len(h.Segments), Size(h.Reserved), Size(h.Committed), Size(h.Uncommitted))
			tb := NewTable("BASE", "END", ">RESERVED", ">COMMITTED", ">UNCOMMITTED", ">LARGEST UNCOMMITTED")
			for _, s := range h.Segments {
				tb.Row(af.Format(uint64(s.Base)), af.Format(uint64(s.End)), Size(s.Size), Size(s.Committed), Size(s.Uncommitted), Size(s.LargestUncommitted))
			}
			tb.Print(w, "    ")
		}
		for _, n := range h.Notes {
			fmt.Fprintf(w, "  note:      %s\n", Clean(n))
		}
	}
	fmt.Fprintln(w)
	switch {
	case hs.CRT != 0:
		fmt.Fprintf(w, "CRT heap: %s (%s)\n", af.Format(hs.CRT), Clean(hs.CRTHow))
	case hs.CRTHow != "":
		fmt.Fprintf(w, "CRT heap: the process heap, whose address is unknown (%s)\n", Clean(hs.CRTHow))
	default:
		fmt.Fprintf(w, "CRT heap: not identified\n")
	}
	if tried := hs.Tried(); len(tried) > 0 {
		fmt.Fprintf(w, "\nMethods tried:\n")
		for _, t := range tried {
			fmt.Fprintf(w, "  - %s\n", Clean(t))
		}
	}
	if x.m.Space.Windows && hs.CRT == 0 {
		writeHints(w, x.opts, true, true)
	}
	return nil
}

// writeHeapBooks writes what the heap's own bookkeeping and its walk say.
func writeHeapBooks(w io.Writer, h Heap) {
	if h.SizesFrom == "heap" {
		fmt.Fprintf(w, "  own books: reserved %s, committed %s", Size(h.Reserved), Size(h.Committed))
		if h.FreeBytes != nil {
			fmt.Fprintf(w, ", free %s", Size(*h.FreeBytes))
		}
		if h.UCRCount != nil {
			fmt.Fprintf(w, ", %s", Plural(int(*h.UCRCount), "uncommitted range"))
		}
		fmt.Fprintf(w, ", %s\n", Plural(h.VirtualBlocks, "virtual block"))
	}
	switch {
	case h.FreeBlocks == nil:
		fmt.Fprintf(w, "  walk:      not possible: no block of the heap is in the dump\n")
	default:
		fmt.Fprintf(w, "  walk:      %s free (%s), largest free block %s; %s busy (%s)",
			Plural(*h.FreeBlocks, "block"), Size(deref(h.WalkFreeBytes)), Size(deref(h.LargestFreeBlock)),
			Plural(derefInt(h.BusyBlocks), "block"), Size(deref(h.BusyBytes)))
		if h.WalkComplete {
			fmt.Fprintf(w, "; complete\n")
		} else {
			fmt.Fprintf(w, "; INCOMPLETE\n")
		}
		for _, s := range h.WalkStops {
			fmt.Fprintf(w, "  stopped:   %s\n", Clean(s))
		}
	}
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// HeapStat is `dumpmap heaps --stat HANDLE`: the detailed summary of one heap,
// as WinDbg's !heap -s HANDLE gives it: memory in segments, free space and free
// blocks, the two fragmentation figures, virtual blocks, segments, and the busy
// and free blocks by size range.
type HeapStat struct {
	File string `json:"file"`
	Heap
	// ExternalFragmentation is 1 - largest free block / free bytes (from the walk);
	// VirtualAddressFragmentation is 1 - committed / reserved (bookkeeping); null
	// when an input is missing.
	ExternalFragmentation       *float64        `json:"external_fragmentation"`
	VirtualAddressFragmentation *float64        `json:"virtual_address_fragmentation"`
	HeapSegments                []HeapSegment   `json:"heap_segments"`
	VirtualBlockList            []VirtualBlock  `json:"virtual_block_list"`
	Histogram                   []HeapSizeClass `json:"histogram"`
	Warnings                    []string        `json:"warnings"`

	af AddrFormat
}

// HeapSegment is a segment as the heap's own header describes it.
type HeapSegment struct {
	Base              Hex    `json:"base"`
	Reserved          uint64 `json:"reserved"`
	FirstEntry        Hex    `json:"first_entry"`
	LastValidEntry    Hex    `json:"last_valid_entry"`
	UncommittedBytes  uint64 `json:"uncommitted_bytes"`
	UncommittedRanges uint32 `json:"uncommitted_ranges"`
}

// VirtualBlock is a block the heap allocated with VirtualAlloc.
type VirtualBlock struct {
	Addr        Hex    `json:"addr"`
	CommitSize  uint64 `json:"commit_size"`
	ReserveSize uint64 `json:"reserve_size"`
}

// HeapSizeClass counts blocks of Min <= size < Max bytes (Max 0: no bound).
type HeapSizeClass struct {
	Min        uint64 `json:"min"`
	Max        uint64 `json:"max"`
	BusyBlocks int    `json:"busy_blocks"`
	BusyBytes  uint64 `json:"busy_bytes"`
	FreeBlocks int    `json:"free_blocks"`
	FreeBytes  uint64 `json:"free_bytes"`
}

// FindHeap returns the heap of m at handle, or an error listing the heaps there
// are.
func FindHeap(m *analysis.Map, handle uint64) (*analysis.Heap, error) {
	if h := m.Heaps.Get(handle); h != nil {
		return h, nil
	}
	var have []string
	for _, h := range m.Heaps.Heaps {
		have = append(have, fmt.Sprintf("%#x", h.Handle))
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("no heap at %#x: the dump shows no heap", handle)
	}
	return nil, fmt.Errorf("no heap at %#x: the heaps are %s", handle, strings.Join(have, ", "))
}

// NewHeapStat describes heap h of map m in detail.
func NewHeapStat(file string, m *analysis.Map, h *analysis.Heap, warn *Warnings) *HeapStat {
	x := &HeapStat{File: file, Heap: heapOf(h), HeapSegments: []HeapSegment{}, VirtualBlockList: []VirtualBlock{},
		Histogram: []HeapSizeClass{}, Warnings: warn.List(), af: mapAddr(m)}
	if h.Read == nil {
		return x
	}
	st := h.Read.Stat()
	x.ExternalFragmentation, x.VirtualAddressFragmentation = st.ExternalFragmentation, st.VirtualAddressFragmentation
	for _, s := range st.Segments {
		x.HeapSegments = append(x.HeapSegments, HeapSegment{Hex(s.Base), s.Reserved, Hex(s.FirstEntry), Hex(s.LastValidEntry), s.UncommittedBytes, s.UncommittedRanges})
	}
	for _, v := range st.VirtualBlocks {
		x.VirtualBlockList = append(x.VirtualBlockList, VirtualBlock{Hex(v.Addr), v.CommitSize, v.ReserveSize})
	}
	for _, c := range st.Histogram {
		x.Histogram = append(x.Histogram, HeapSizeClass{c.Min, c.Max, c.BusyBlocks, c.BusyBytes, c.FreeBlocks, c.FreeBytes})
	}
	return x
}

// WriteJSON writes the JSON object.
func (x *HeapStat) WriteJSON(w io.Writer) error { return WriteJSON(w, x) }

// WriteText writes the summary the way !heap -s HANDLE lays it out.
func (x *HeapStat) WriteText(w io.Writer) error {
	af := x.af
	fmt.Fprintf(w, "Heap %s (%s)\n", af.Format(uint64(x.Handle)), x.Layout)
	if x.read == nil {
		fmt.Fprintf(w, "  the heap's header is not in the dump (or not a heap this reader knows): only the region map's view is known\n")
		fmt.Fprintf(w, "  reserved %s, committed %s in %s\n", Size(x.Reserved), Size(x.Committed), Plural(len(x.Segments), "known segment"))
		return nil
	}
	pct := func(p *float64) string {
		if p == nil {
			return "unknown"
		}
		return fmt.Sprintf("%.0f%%", *p*100)
	}
	fmt.Fprintf(w, "  Flags:                          %08x\n", uint64(*x.Flags))
	fmt.Fprintf(w, "  Reserved memory in segments:    %s (%s)\n", Size(x.Reserved), x.SizesFrom)
	fmt.Fprintf(w, "  Committed memory in segments:   %s\n", Size(x.Committed))
	if x.FreeBytes != nil {
		fmt.Fprintf(w, "  Free space (the heap's books):  %s\n", Size(*x.FreeBytes))
	}
	if x.FreeBlocks != nil {
		fmt.Fprintf(w, "  Free space (the walk):          %s in %s, the largest %s\n", Size(deref(x.WalkFreeBytes)), Plural(*x.FreeBlocks, "block"), Size(deref(x.LargestFreeBlock)))
		fmt.Fprintf(w, "  Busy:                           %s in %s\n", Size(deref(x.BusyBytes)), Plural(derefInt(x.BusyBlocks), "block"))
	}
	fmt.Fprintf(w, "  External fragmentation:         %s (1 - largest free block / free space)\n", pct(x.ExternalFragmentation))
	fmt.Fprintf(w, "  Virtual address fragmentation:  %s (1 - committed / reserved)\n", pct(x.VirtualAddressFragmentation))
	fmt.Fprintf(w, "  Virtual blocks:                 %d\n", len(x.VirtualBlockList))
	fmt.Fprintf(w, "  Front end:                      %s\n", x.FrontEnd)
	if !x.WalkComplete {
		fmt.Fprintf(w, "  The walk is INCOMPLETE:\n")
		for _, s := range x.WalkStops {
			fmt.Fprintf(w, "    %s\n", Clean(s))
		}
	}
	if len(x.HeapSegments) > 0 {
		fmt.Fprintf(w, "\n  Segments:\n")
		tb := NewTable("BASE", ">RESERVED", "FIRST ENTRY", "LAST VALID ENTRY", ">UNCOMMITTED", ">RANGES")
		for _, s := range x.HeapSegments {
			tb.Row(af.Format(uint64(s.Base)), Size(s.Reserved), af.Format(uint64(s.FirstEntry)), af.Format(uint64(s.LastValidEntry)), Size(s.UncommittedBytes), fmt.Sprint(s.UncommittedRanges))
		}
		tb.Print(w, "    ")
	}
	if len(x.VirtualBlockList) > 0 {
		fmt.Fprintf(w, "\n  Virtual blocks:\n")
		tb := NewTable("ADDRESS", ">COMMITTED", ">RESERVED")
		for _, v := range x.VirtualBlockList {
			tb.Row(af.Format(uint64(v.Addr)), Size(v.CommitSize), Size(v.ReserveSize))
		}
		tb.Print(w, "    ")
	}
	if len(x.Histogram) > 0 {
		fmt.Fprintf(w, "\n  Blocks by size (header included):\n")
		tb := NewTable("SIZE", ">BUSY", ">BUSY BYTES", ">FREE", ">FREE BYTES")
		for _, c := range x.Histogram {
			r := Size(c.Min) + " - " + Size(c.Max)
			if c.Max == 0 {
				r = Size(c.Min) + " and more"
			}
			tb.Row(r, Comma(int64(c.BusyBlocks)), Size(c.BusyBytes), Comma(int64(c.FreeBlocks)), Size(c.FreeBytes))
		}
		tb.Print(w, "    ")
	}
	return nil
}

// HeapWalk is `dumpmap heaps --walk HANDLE`: every block of one heap, as WinDbg's
// !heap -a lists them. The blocks are read and printed one at a time, so a heap
// of any size can be listed.
type HeapWalk struct {
	file string
	h    *analysis.Heap
	af   AddrFormat
	warn *Warnings
}

// NewHeapWalk lists the blocks of heap h of map m.
func NewHeapWalk(file string, m *analysis.Map, h *analysis.Heap, warn *Warnings) *HeapWalk {
	return &HeapWalk{file: file, h: h, af: mapAddr(m), warn: warn}
}

// walkBlock is one block in the JSON output.
type walkBlock struct {
	Addr     Hex    `json:"addr"`
	Size     uint64 `json:"size"`
	PrevSize uint64 `json:"prev_size"`
	State    string `json:"state"` // busy, free, virtual, uncommitted
	Unused   uint64 `json:"unused"`
	Extent   uint64 `json:"extent,omitempty"`
	Segment  int    `json:"segment"`
}

func blockOf(b ntheap.Block) walkBlock {
	wb := walkBlock{Addr: Hex(b.Addr), Size: b.Size, PrevSize: b.PrevSize, State: b.Type.String(), Unused: b.Unused, Segment: b.Segment}
	if b.Extent != b.Size {
		wb.Extent = b.Extent
	}
	return wb
}

// WriteJSON writes {"file", "handle", "layout", "blocks": [...], "complete",
// "stops", "warnings"}, one block at a time.
func (x *HeapWalk) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "{\n  \"file\": %s,\n  \"handle\": \"%#x\",\n  \"layout\": %q,\n  \"blocks\": [", jsonString(x.file), x.h.Handle, x.h.Layout.String())
	n := 0
	var res ntheap.WalkResult
	if x.h.Read != nil {
		res = x.h.Read.Walk(func(b ntheap.Block) bool {
			if n > 0 {
				bw.WriteByte(',')
			}
			n++
			j, _ := json.Marshal(blockOf(b))
			bw.WriteString("\n    ")
			bw.Write(j)
			return true
		})
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	stops := []string{}
	for _, s := range res.Stops {
		stops = append(stops, s.String())
	}
	tail := struct {
		Complete bool     `json:"complete"`
		Stops    []string `json:"stops"`
		Warnings []string `json:"warnings"`
	}{res.Complete && x.h.Read != nil, stops, x.warn.List()}
	t, err := json.Marshal(tail)
	if err != nil {
		return err
	}
	bw.WriteString("],\n  ")
	bw.Write(t[1 : len(t)-1])
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// WriteText writes one line per block: address, size, previous size, state, unused
// bytes.
func (x *HeapWalk) WriteText(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "Heap %s (%s)\n", x.af.Format(x.h.Handle), x.h.Layout)
	if x.h.Read == nil {
		fmt.Fprintf(bw, "the heap's header is not in the dump (or not a heap this reader knows): its blocks cannot be listed\n")
		return bw.Flush()
	}
	fmt.Fprintf(bw, "%-*s  %10s  %10s  %-11s  %6s  %s\n", len(x.af.Format(0)), "ADDRESS", "SIZE", "PREV", "STATE", "UNUSED", "SEGMENT")
	res := x.h.Read.Walk(func(b ntheap.Block) bool {
		seg := fmt.Sprint(b.Segment)
		if b.Segment < 0 {
			seg = "-"
		}
		fmt.Fprintf(bw, "%s  %10d  %10d  %-11s  %6d  %s\n", x.af.Format(b.Addr), b.Size, b.PrevSize, b.Type, b.Unused, seg)
		return true
	})
	fmt.Fprintf(bw, "\n%s busy (%s), %s free (%s), %s uncommitted (%s), %s virtual (%s)",
		Plural(res.BusyBlocks, "block"), Size(res.BusyBytes), Plural(res.FreeBlocks, "block"), Size(res.FreeBytes),
		Plural(res.UncommittedRanges, "range"), Size(res.UncommittedBytes), Plural(res.VirtualBlocks, "block"), Size(res.VirtualBytes))
	if res.Complete {
		fmt.Fprintf(bw, "; the walk is complete\n")
	} else {
		fmt.Fprintf(bw, "; the walk is INCOMPLETE\n")
		for _, s := range res.Stops {
			fmt.Fprintf(bw, "  stopped %s\n", Clean(s.String()))
		}
	}
	return bw.Flush()
}

// jsonString encodes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
