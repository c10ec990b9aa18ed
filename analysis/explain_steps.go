package analysis

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dustin/go-humanize"
)

// A Step is one step of an explanation: a fact with its sizes and addresses, as a
// value. Each kind of step is its own type; Text renders it in words, and every
// step's words are written in this file, so the explanation is phrased in one
// place. Explanation.Reasons holds the steps' texts.
type Step interface {
	// Kind names the step for programs ("reserve", "fit", "no-fit", ...).
	Kind() StepKind
	// Text says the step in words.
	Text() string
}

// StepKind names a kind of explanation step.
type StepKind string

// The kinds of explanation steps.
const (
	StepReserve       StepKind = "reserve"          // ReserveStep
	StepFit           StepKind = "fit"              // FitStep
	StepNoFit         StepKind = "no-fit"           // NoFitStep
	StepTails         StepKind = "tails"            // TailsStep
	StepClosestMiss   StepKind = "closest-miss"     // ClosestMissStep
	StepVector        StepKind = "vector-growth"    // VectorStep
	StepCRTHeap       StepKind = "crt-heap"         // CRTHeapStep
	StepHeapVirtual   StepKind = "heap-virtual"     // HeapVirtualStep
	StepHeapFixed     StepKind = "heap-fixed"       // HeapFixedStep
	StepHeapBlock     StepKind = "heap-block"       // HeapBlockStep
	StepSegmentRoom   StepKind = "segment-room"     // SegmentRoomStep
	StepSegments      StepKind = "segments"         // SegmentsStep
	StepNewSegment    StepKind = "new-segment"      // NewSegmentStep
	StepOnlyFreeBlock StepKind = "only-free-block"  // OnlyFreeBlockStep
	StepHeapFree      StepKind = "heap-free"        // HeapFreeStep
	StepHeapCommit    StepKind = "heap-commit"      // HeapCommitStep
	StepHeapRoom      StepKind = "heap-room"        // HeapRoomStep
	StepCommit        StepKind = "commit"           // CommitStep
	StepAnyHeap       StepKind = "any-heap"         // AnyHeapStep
	StepRecorded      StepKind = "recorded-failure" // RecordedFailureStep
)

// Addr is an address in an explanation's JSON: a "0x..." string, as every
// address the JSON outputs show (process.Hex).
type Addr = process.Hex

// MarshalJSON encodes a free run with its addresses in hex.
func (f FreeRun) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Base       Addr   `json:"base"`
		End        Addr   `json:"end"`
		Size       uint64 `json:"size"`
		UsableBase Addr   `json:"usable_base"`
		UsableSize uint64 `json:"usable_size"`
	}{Addr(f.Base), Addr(f.End()), f.Size, Addr(f.UsableBase), f.UsableSize})
}

// HeapRef names the heap a request goes to, as the steps say it.
type HeapRef struct {
	// Role is "process" (the process heap), "crt" (the C runtime's heap) or
	// "named" (the heap the request named).
	Role   string `json:"role"`
	Handle uint64 `json:"handle,omitempty"`
}

func (h HeapRef) String() string {
	switch {
	case h.Role == "crt":
		return "the C runtime's heap"
	case h.Role == "named":
		return fmt.Sprintf("heap %#x", h.Handle)
	case h.Handle != 0:
		return fmt.Sprintf("the process heap %#x", h.Handle)
	}
	return "the process heap"
}

// MarshalJSON encodes the handle in hex, as every address in the JSON outputs.
func (h HeapRef) MarshalJSON() ([]byte, error) {
	type ref struct {
		Role   string `json:"role"`
		Handle string `json:"handle,omitempty"`
	}
	r := ref{Role: h.Role}
	if h.Handle != 0 {
		r.Handle = fmt.Sprintf("%#x", h.Handle)
	}
	return json.Marshal(r)
}

// ReserveStep: a VirtualAlloc reserves whole pages at a granularity-aligned
// address, leaving the rest of its last block unusable.
type ReserveStep struct {
	Call        string `json:"call"` // "VirtualAlloc(MEM_RESERVE|MEM_COMMIT)"
	Size        uint64 `json:"size"`
	Reserved    uint64 `json:"reserved"` // Size rounded up to whole pages
	PageSize    uint64 `json:"page_size"`
	Granularity uint64 `json:"granularity"`
	Tail        uint64 `json:"tail"` // the unusable rest of the last granule
}

// FitStep: the reservation fits; Count free runs could take it.
type FitStep struct {
	Subject     string  `json:"subject"` // "it", "a new segment"
	Below       Addr    `json:"below,omitempty"`
	Count       int     `json:"count"`
	Granularity uint64  `json:"granularity"`
	Need        uint64  `json:"need"`
	First       FreeRun `json:"first"`
	// AnyFreeList is set for a heap's new segment: the allocation succeeds
	// whatever the heap's free lists hold.
	AnyFreeList bool `json:"any_free_list,omitempty"`
}

// NoFitStep: no free run holds an aligned block of Need bytes.
type NoFitStep struct {
	Subject     string  `json:"subject"`
	Below       Addr    `json:"below,omitempty"`
	Free        uint64  `json:"free"`
	Runs        int     `json:"runs"`
	Granularity uint64  `json:"granularity"`
	Need        uint64  `json:"need"`
	Largest     FreeRun `json:"largest"` // the run with the largest usable block (UsableSize 0: none)
}

// TailsStep: most free runs are the unusable tails below granularity boundaries.
type TailsStep struct {
	Count       int     `json:"count"`
	Bytes       uint64  `json:"bytes"`
	Granularity uint64  `json:"granularity"`
	Common      uint64  `json:"common"` // the most common tail size
	CommonCount int     `json:"common_count"`
	Example     FreeRun `json:"example"`
}

// ClosestMissStep: the run that came closest.
type ClosestMissStep struct {
	Run  FreeRun `json:"run"`
	Need uint64  `json:"need"`
}

// VectorStep: a vector's growth asks operator new for a new, larger buffer while
// holding the old one.
type VectorStep struct {
	OldBytes    uint64 `json:"old_bytes"`
	OldCount    uint64 `json:"old_count"`
	ElementSize uint64 `json:"element_size"`
	Growth      string `json:"growth"` // how the implementation grows
	NewCount    uint64 `json:"new_count"`
	NewBytes    uint64 `json:"new_bytes"`
}

// CRTHeapStep: malloc allocates from the C runtime's heap (Heap 0: unidentified).
type CRTHeapStep struct {
	Heap Addr   `json:"heap,omitempty"`
	How  string `json:"how,omitempty"`
}

// HeapVirtualStep: the request is above the heap's virtual-memory threshold.
type HeapVirtualStep struct {
	Size      uint64  `json:"size"`
	Heap      HeapRef `json:"heap"`
	Threshold uint64  `json:"threshold"`
	Bits      int     `json:"bits"`
	Header    uint64  `json:"header"`
}

// HeapFixedStep: the heap has a maximum size and cannot grow.
type HeapFixedStep struct {
	Heap HeapRef `json:"heap"`
	// AboveThreshold: the request is a virtual block, which such heaps refuse.
	AboveThreshold bool `json:"above_threshold,omitempty"`
}

// HeapBlockStep: the heap block a request needs.
type HeapBlockStep struct {
	Size   uint64  `json:"size"`
	Heap   HeapRef `json:"heap"`
	Block  uint64  `json:"block"`
	Header uint64  `json:"header"`
	Unit   uint64  `json:"unit"`
}

// SegmentRoomStep: a segment can commit the block from its reserved room.
type SegmentRoomStep struct {
	Base        Addr   `json:"base"`
	Uncommitted uint64 `json:"uncommitted"`
	Largest     uint64 `json:"largest"`
}

// SegmentsStep: the heap's known segments have no room for the block.
type SegmentsStep struct {
	Reserved    uint64 `json:"reserved"`
	Committed   uint64 `json:"committed"`
	Uncommitted uint64 `json:"uncommitted"`
}

// NewSegmentStep: a growable heap reserves a new segment.
type NewSegmentStep struct {
	Reserve     uint64 `json:"reserve,omitempty"` // the heap's SegmentReserve, when above the minimum
	Minimum     uint64 `json:"minimum"`
	Granularity uint64 `json:"granularity"`
}

// OnlyFreeBlockStep: no new segment fits; only a free block already in the heap can
// serve.
type OnlyFreeBlockStep struct {
	Heap  HeapRef `json:"heap"`
	Block uint64  `json:"block"`
}

// HeapBlock is a block of a heap: its header's address and its size, header
// included.
type HeapBlock struct {
	Addr Addr   `json:"addr"`
	Size uint64 `json:"size"`
	// Extent is the block's whole size when the uncommitted tail of its Wine
	// sub-heap belongs to it (the heap commits it when it hands the block out).
	Extent uint64 `json:"extent,omitempty"`
}

// HeapFreeStep: what the heap's own free blocks, walked in dump memory, hold.
type HeapFreeStep struct {
	Heap HeapRef `json:"heap"`
	// Layout is the heap's layout: "nt" or "wine".
	Layout     string     `json:"layout"`
	Block      uint64     `json:"block"`
	FreeBlocks int        `json:"free_blocks"`
	FreeBytes  uint64     `json:"free_bytes"`
	Largest    uint64     `json:"largest"`
	LargestAt  Addr       `json:"largest_at,omitempty"`
	Complete   bool       `json:"walk_complete"`
	Serves     *HeapBlock `json:"serves,omitempty"` // the free block that serves the request
}

// HeapCommitStep: a segment's uncommitted range takes the block.
type HeapCommitStep struct {
	Segment    Addr   `json:"segment"`
	Start, End Addr   `json:"-"`
	Bytes      uint64 `json:"bytes"`
}

// MarshalJSON names the range's ends.
func (s HeapCommitStep) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Segment Addr   `json:"segment"`
		Start   Addr   `json:"start"`
		End     Addr   `json:"end"`
		Bytes   uint64 `json:"bytes"`
	}{s.Segment, s.Start, s.End, s.Bytes})
}

// HeapRoomStep: no segment of the heap has uncommitted room for the block.
type HeapRoomStep struct {
	Heap     HeapRef `json:"heap"`
	Block    uint64  `json:"block"`
	Growable bool    `json:"growable"`
}

func (HeapFreeStep) Kind() StepKind      { return StepHeapFree }
func (HeapCommitStep) Kind() StepKind    { return StepHeapCommit }
func (HeapRoomStep) Kind() StepKind      { return StepHeapRoom }
func (ReserveStep) Kind() StepKind       { return StepReserve }
func (FitStep) Kind() StepKind           { return StepFit }
func (NoFitStep) Kind() StepKind         { return StepNoFit }
func (TailsStep) Kind() StepKind         { return StepTails }
func (ClosestMissStep) Kind() StepKind   { return StepClosestMiss }
func (VectorStep) Kind() StepKind        { return StepVector }
func (CRTHeapStep) Kind() StepKind       { return StepCRTHeap }
func (HeapVirtualStep) Kind() StepKind   { return StepHeapVirtual }
func (HeapFixedStep) Kind() StepKind     { return StepHeapFixed }
func (HeapBlockStep) Kind() StepKind     { return StepHeapBlock }
func (SegmentRoomStep) Kind() StepKind   { return StepSegmentRoom }
func (SegmentsStep) Kind() StepKind      { return StepSegments }
func (NewSegmentStep) Kind() StepKind    { return StepNewSegment }
func (OnlyFreeBlockStep) Kind() StepKind { return StepOnlyFreeBlock }

// where names the part of the address space a request may use.
func where(below Addr) string {
	if below != 0 {
		return fmt.Sprintf("the address space below %#x", uint64(below))
	}
	return "the address space"
}

// Text says the step in words.
func (s ReserveStep) Text() string {
	rest := fmt.Sprintf("the rest of its last %s block, %s, stays free but unusable", ib(s.Granularity), ib(s.Tail))
	if s.Tail == 0 {
		rest = fmt.Sprintf("a whole number of %s blocks, so it leaves no unusable tail", ib(s.Granularity))
	}
	return fmt.Sprintf("%s of %s reserves %s (%s pages of %s) at a %s-aligned address: %s",
		s.Call, ib(s.Size), ib(s.Reserved), humanize.Comma(int64(s.Reserved/max(s.PageSize, 1))), ib(s.PageSize), ib(s.Granularity), rest)
}

// Text says the step in words.
func (s FitStep) Text() string {
	runs := fmt.Sprintf("%s free runs in %s have", humanize.Comma(int64(s.Count)), where(s.Below))
	if s.Count == 1 {
		runs = fmt.Sprintf("one free run in %s has", where(s.Below))
	}
	t := fmt.Sprintf("%s fits: %s a %s-aligned block of at least %s; the first is %#x-%#x (%s usable from %#x)",
		s.Subject, runs, ib(s.Granularity), ib(s.Need), s.First.Base, s.First.End(), ib(s.First.UsableSize), s.First.UsableBase)
	if s.AnyFreeList {
		t += ": the allocation succeeds whatever the heap's free lists hold"
	}
	return t
}

// Text says the step in words.
func (s NoFitStep) Text() string {
	return fmt.Sprintf("%s does not fit: %s has %s free in %s runs, but no run holds a %s-aligned block of %s; the largest %s-aligned free block: %s",
		s.Subject, where(s.Below), ib(s.Free), humanize.Comma(int64(s.Runs)), ib(s.Granularity), ib(s.Need), ib(s.Granularity), sizeOrNone(s.Largest.UsableSize, s.Largest.UsableBase))
}

// Text says the step in words.
func (s TailsStep) Text() string {
	g, ex := s.Granularity, s.Example
	return fmt.Sprintf("%s of the free runs (%s) hold no %s-aligned block at all: they are the tails that reservations not a multiple of %s leave below the next %s boundary; %s of them are %s each, such as %#x-%#x, which starts %s past a %s boundary",
		humanize.Comma(int64(s.Count)), ib(s.Bytes), ib(g), ib(g), ib(g),
		humanize.Comma(int64(s.CommonCount)), ib(s.Common), ex.Base, ex.End(), ib(ex.Base%max(g, 1)), ib(g))
}

// Text says the step in words.
func (s ClosestMissStep) Text() string {
	r := s.Run
	return fmt.Sprintf("the closest miss is %#x-%#x: %s usable from %#x, %s short", r.Base, r.End(), ib(r.UsableSize), r.UsableBase, ib(s.Need-r.UsableSize))
}

// Text says the step in words.
func (s VectorStep) Text() string {
	return fmt.Sprintf("a std::vector holding %s (%s elements of %s) that grows needs a new buffer: %s, so it asks operator new for %s elements, %s, while the old %s buffer is still held until the copy is done",
		ib(s.OldBytes), humanize.Comma(int64(s.OldCount)), ib(s.ElementSize), s.Growth, humanize.Comma(int64(s.NewCount)), ib(s.NewBytes), ib(s.OldBytes))
}

// CommitStep: the commit the request needs against the limits the dump
// records. Fails is "", "system" (the system commit limit) or "job" (the job's
// process commit limit).
type CommitStep struct {
	Need            uint64 `json:"need"`
	SystemCommitted uint64 `json:"system_committed,omitempty"`
	SystemLimit     uint64 `json:"system_limit,omitempty"`
	ProcessPrivate  uint64 `json:"process_private,omitempty"`
	JobLimit        uint64 `json:"job_limit,omitempty"`
	Source          string `json:"source"`
	Fails           string `json:"fails,omitempty"`
}

// AnyHeapStep: the heap is unknown, so the request is decided in every heap.
type AnyHeapStep struct {
	Size  uint64        `json:"size"`
	Heaps []HeapOutcome `json:"heaps"`
	More  int           `json:"more,omitempty"` // heaps not tried (over the bound)
}

// HeapOutcome is the verdict of a request in one heap.
type HeapOutcome struct {
	Heap    Addr    `json:"heap"`
	Verdict Verdict `json:"verdict"`
}

// RecordedFailureStep: the crash shows the request failing, though the dump's
// address space (and commit, when recorded) had room for it.
type RecordedFailureStep struct {
	CommitRecorded bool `json:"commit_recorded"`
}

// Kind names the step.
func (RecordedFailureStep) Kind() StepKind { return StepRecorded }

// Text says the step in words.
func (s RecordedFailureStep) Text() string {
	return "yet the crash shows this very request failing, so it failed on " + s.cause()
}

func (s RecordedFailureStep) cause() string {
	if !s.CommitRecorded {
		return "what the dump does not record: the commit limit (RAM + page file), a job object's limits, or memory the process freed before the dump was written"
	}
	return "what the dump does not show: a job object's limits, the state at the moment of the failure (memory freed or committed before the dump was written), or a heap's internal limits"
}

func (s RecordedFailureStep) condition() string {
	if !s.CommitRecorded {
		return "a limit the dump does not record: the address space had room for the request, yet it failed, so the commit limit (RAM + page file), a job object's limits, or memory freed before the dump was written decided it"
	}
	return "what the dump does not show: the address space and the commit limit had room for the request, yet it failed, so a job object's limits, the state at the moment of the failure, or a heap's internal limits decided it"
}

// Kind names the step.
func (CommitStep) Kind() StepKind { return StepCommit }

// Kind names the step.
func (AnyHeapStep) Kind() StepKind { return StepAnyHeap }

// Text says the step in words.
func (s CommitStep) Text() string {
	switch s.Fails {
	case "system":
		return fmt.Sprintf("committing %s needs room under the system's commit limit, and there was none: %s of %s was committed (%s). Commit, not address space, was the limit",
			ib(s.Need), ib(s.SystemCommitted), ib(s.SystemLimit), s.Source)
	case "job":
		return fmt.Sprintf("committing %s would take the process's private bytes (%s) past its job's commit limit of %s (%s). Commit, not address space, was the limit",
			ib(s.Need), ib(s.ProcessPrivate), ib(s.JobLimit), s.Source)
	}
	if s.SystemLimit != 0 {
		return fmt.Sprintf("committing %s fits under the system's commit limit: %s of %s was committed, %s left (%s)",
			ib(s.Need), ib(s.SystemCommitted), ib(s.SystemLimit), ib(s.SystemLimit-s.SystemCommitted), s.Source)
	}
	return fmt.Sprintf("committing %s fits under the job's commit limit of %s (the process had %s private; %s)", ib(s.Need), ib(s.JobLimit), ib(s.ProcessPrivate), s.Source)
}

// Text says the step in words.
func (s AnyHeapStep) Text() string {
	var parts []string
	for _, h := range s.Heaps {
		parts = append(parts, fmt.Sprintf("%#x: %s", uint64(h.Heap), h.Verdict))
	}
	more := ""
	if s.More > 0 {
		more = fmt.Sprintf(" (and %d more heaps not tried)", s.More)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("the dump does not say which heap was asked for %s, and it shows no heap to try", ib(s.Size))
	}
	return fmt.Sprintf("the dump does not say which heap was asked for %s, so each heap is tried: %s%s", ib(s.Size), strings.Join(parts, ", "), more)
}

// Text says the step in words.
func (s CRTHeapStep) Text() string {
	if s.Heap == 0 {
		return "malloc and operator new allocate from the C runtime's heap, which this dump does not identify; it is treated as a growable heap, as every CRT creates it"
	}
	return fmt.Sprintf("malloc and operator new allocate from the C runtime's heap, %#x (%s)", uint64(s.Heap), s.How)
}

// Text says the step in words.
func (s HeapVirtualStep) Text() string {
	return fmt.Sprintf("HeapAlloc(%s) on %s is above the heap's virtual-memory threshold (%s on this %d-bit process), so the heap does not use its segments: it asks VirtualAlloc for the block directly: %s plus its %d-byte header",
		ib(s.Size), s.Heap, ib(s.Threshold), s.Bits, ib(s.Size), s.Header)
}

// Text says the step in words.
func (s HeapFixedStep) Text() string {
	if s.AboveThreshold {
		return fmt.Sprintf("%s was created with a maximum size and cannot grow, and such heaps refuse blocks above the threshold", s.Heap)
	}
	return fmt.Sprintf("%s was created with a maximum size, so it cannot reserve a new segment: the block must come from its free blocks", s.Heap)
}

// Text says the step in words.
func (s HeapBlockStep) Text() string {
	return fmt.Sprintf("HeapAlloc(%s) on %s needs a block of %s: the request plus its %d-byte header, rounded to %d bytes", ib(s.Size), s.Heap, ib(s.Block), s.Header, s.Unit)
}

// Text says the step in words.
func (s SegmentRoomStep) Text() string {
	return fmt.Sprintf("the heap's segment at %#x has %s reserved but not yet committed (the largest range %s): the heap commits pages there, needing no new address space",
		uint64(s.Base), ib(s.Uncommitted), ib(s.Largest))
}

// Text says the step in words.
func (s SegmentsStep) Text() string {
	return fmt.Sprintf("the heap's known segments reserve %s, of which %s is committed and %s is uncommitted room, not enough for the block", ib(s.Reserved), ib(s.Committed), ib(s.Uncommitted))
}

// Text says the step in words.
func (s NewSegmentStep) Text() string {
	seg := "a new segment of at least"
	if s.Reserve != 0 {
		seg = fmt.Sprintf("a new segment of %s (the heap's SegmentReserve), halving on failure down to", ib(s.Reserve))
	}
	return fmt.Sprintf("if no free block in its segments is large enough, a growable heap reserves %s %s (the block plus a page) at a %s-aligned address",
		seg, ib(s.Minimum), ib(s.Granularity))
}

// Text says the step in words.
func (s OnlyFreeBlockStep) Text() string {
	return fmt.Sprintf("so the allocation succeeds only if %s already has a free block of %s; once it has none, it fails even though the address space has free space", s.Heap, ib(s.Block))
}

// Text says the step in words.
func (s HeapFreeStep) Text() string {
	what := "Wine's heap lists"
	if s.Layout == "nt" {
		what = "the heap's own lists"
	}
	blocks := humanize.Comma(int64(s.FreeBlocks)) + " free blocks"
	if s.FreeBlocks == 1 {
		blocks = "1 free block"
	}
	t := fmt.Sprintf("%s, walked in the dump, hold %s, %s in all", what, blocks, ib(s.FreeBytes))
	if s.FreeBlocks > 0 {
		t += fmt.Sprintf(", the largest %s at %#x", ib(s.Largest), uint64(s.LargestAt))
	}
	switch {
	case s.Serves != nil && s.Serves.Extent > s.Serves.Size:
		t += fmt.Sprintf(": the free block at %#x (%s, %s with the uncommitted tail of its sub-heap) holds the block, and %s serves the request from it", uint64(s.Serves.Addr), ib(s.Serves.Size), ib(s.Serves.Extent), s.Heap)
	case s.Serves != nil:
		t += fmt.Sprintf(": the smallest that holds the block is the free block at %#x (%s), and %s serves the request from it", uint64(s.Serves.Addr), ib(s.Serves.Size), s.Heap)
	default:
		t += fmt.Sprintf(": none holds a block of %s", ib(s.Block))
		if !s.Complete {
			t += " (the walk stopped early: a free block may have been missed)"
		}
	}
	return t
}

// Text says the step in words.
func (s HeapCommitStep) Text() string {
	return fmt.Sprintf("the segment at %#x has an uncommitted range %#x-%#x: the heap commits %s there, needing no new address space", uint64(s.Segment), uint64(s.Start), uint64(s.End), ib(s.Bytes))
}

// Text says the step in words.
func (s HeapRoomStep) Text() string {
	t := fmt.Sprintf("no segment of %s has uncommitted room for a block of %s", s.Heap, ib(s.Block))
	if s.Growable {
		return t + ": the heap must reserve a new segment"
	}
	return t
}

// MarshalStep encodes a step for JSON: its kind, its text and its fields.
func MarshalStep(s Step) ([]byte, error) {
	fields, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	head, err := json.Marshal(struct {
		Kind StepKind `json:"kind"`
		Text string   `json:"text"`
	}{s.Kind(), s.Text()})
	if err != nil {
		return nil, err
	}
	if string(fields) == "{}" {
		return head, nil
	}
	// {"kind":..,"text":..} + the step's own fields.
	return append(append(head[:len(head)-1], ','), fields[1:]...), nil
}
