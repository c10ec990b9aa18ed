package render

import (
	"fmt"
	"math"

	"github.com/dumpmap/dumpmap/analysis"
)

// The types in this file are the JSON shapes of the analyses, shared by the
// `summary`, `frag` and `explain` commands' JSON objects and by the report
// (package report), so that a field means the same everywhere. Addresses are Hex
// ("0x..." strings), sizes plain integers of bytes. Each XxxOf function shapes the
// analysis value it is named after.

// Space describes the user address space the map covers.
type Space struct {
	PointerSize       int    `json:"pointer_size"`
	WOW64             bool   `json:"wow64"`
	LargeAddressAware string `json:"large_address_aware,omitempty"`
	Windows           bool   `json:"windows"`
	MinAddress        Hex    `json:"min_address"`
	MaxAddress        Hex    `json:"max_address"`
	PageSize          uint64 `json:"page_size"`
	Granularity       uint64 `json:"allocation_granularity"`
	LimitsFrom        string `json:"limits_from"`
}

// SpaceOf shapes an address space.
func SpaceOf(s analysis.AddressSpace) Space {
	return Space{PointerSize: s.PointerSize, WOW64: s.WOW64, LargeAddressAware: s.LargeAddressAware.String(), Windows: s.Windows,
		MinAddress: Hex(s.MinAddress), MaxAddress: Hex(s.MaxAddress), PageSize: s.PageSize, Granularity: s.Granularity, LimitsFrom: s.LimitsFrom}
}

// SummaryRow is one line of an !address -summary table.
type SummaryRow struct {
	Name     string  `json:"name"`
	Regions  int     `json:"regions"`
	Size     uint64  `json:"size"`
	PctBusy  float64 `json:"pct_busy"`
	PctTotal float64 `json:"pct_total"`
}

// SummaryRowsOf shapes summary rows, with percentages rounded to two decimals.
func SummaryRowsOf(rows []analysis.SummaryRow) []SummaryRow {
	out := make([]SummaryRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, SummaryRow{r.Name, r.Regions, r.Size, round2(r.PctBusy), round2(r.PctTotal)})
	}
	return out
}

// round2 rounds a percentage to two decimals.
func round2(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return float64(int64(f*100+0.5)) / 100
}

// Largest is one line of the "Largest Region by Usage" table.
type Largest struct {
	Usage string `json:"usage"`
	Base  Hex    `json:"base"`
	Size  uint64 `json:"size"`
}

// LargestOf shapes the "Largest Region by Usage" table.
func LargestOf(rows []analysis.LargestRow) []Largest {
	out := make([]Largest, 0, len(rows))
	for _, l := range rows {
		out = append(out, Largest{l.Usage.String(), Hex(l.Base), l.Size})
	}
	return out
}

// SizeClass is one bar of the free-space histogram.
type SizeClass struct {
	Label  string `json:"label"`
	Min    uint64 `json:"min"`
	Max    uint64 `json:"max,omitempty"`
	Runs   int    `json:"runs"`
	Bytes  uint64 `json:"bytes"`
	Usable uint64 `json:"usable"`
}

// SizeClassesOf shapes the free-space histogram.
func SizeClassesOf(cs []analysis.SizeClass) []SizeClass {
	out := make([]SizeClass, 0, len(cs))
	for _, c := range cs {
		out = append(out, SizeClass{c.Label(), c.Min, c.Max, c.Runs, c.Bytes, c.Usable})
	}
	return out
}

// Block is a located block of address space.
type Block struct {
	Base Hex    `json:"base"`
	Size uint64 `json:"size"`
}

// UsableBlock is the 64 KB-aligned usable part of a free run.
type UsableBlock struct {
	Base Hex    `json:"base"`
	End  Hex    `json:"end"`
	Size uint64 `json:"size"`
	// RunBase and RunSize locate the free run it lies in.
	RunBase Hex    `json:"run_base"`
	RunSize uint64 `json:"run_size"`
}

// UsableOf shapes the usable part of a free run.
func UsableOf(f analysis.FreeRun) UsableBlock {
	return UsableBlock{Hex(f.UsableBase), Hex(f.UsableBase + f.UsableSize), f.UsableSize, Hex(f.Base), f.Size}
}

// FreeRun is a free run and its usable part.
type FreeRun struct {
	Base       Hex    `json:"base"`
	End        Hex    `json:"end"`
	Size       uint64 `json:"size"`
	UsableBase Hex    `json:"usable_base"`
	UsableSize uint64 `json:"usable_size"`
}

// FreeRunOf shapes a free run.
func FreeRunOf(f analysis.FreeRun) FreeRun {
	return FreeRun{Hex(f.Base), Hex(f.End()), f.Size, Hex(f.UsableBase), f.UsableSize}
}

// NearMiss is a free run that could not take a request, and why.
type NearMiss struct {
	FreeRun
	Why string `json:"why"`
}

// Request is an allocation to explain.
type Request struct {
	Size        uint64 `json:"size"`
	Via         string `json:"via"`
	Heap        Hex    `json:"heap,omitempty"`
	ElementSize uint64 `json:"element_size,omitempty"`
	STL         string `json:"stl,omitempty"`
	Below       Hex    `json:"below,omitempty"`
	// NewSize is a vector growth's new buffer as the crash recorded it; AnyHeap
	// says the heap is unknown and every heap was tried.
	NewSize uint64 `json:"new_size,omitempty"`
	AnyHeap bool   `json:"any_heap,omitempty"`
}

// Step is an explanation step in JSON: {"kind": ..., "text": ..., fields...}.
type Step struct{ analysis.Step }

// MarshalJSON encodes the step with its kind and text.
func (s Step) MarshalJSON() ([]byte, error) { return analysis.MarshalStep(s.Step) }

// Explanation is a verdict and the reasons behind it.
type Explanation struct {
	Request   Request  `json:"request"`
	Verdict   string   `json:"verdict"`
	Condition string   `json:"condition,omitempty"`
	Reasons   []string `json:"reasons"`
	// Steps are the reasons as values: each has a "kind", its "text" (the
	// reason) and the sizes and addresses it names.
	Steps          []Step     `json:"steps"`
	Reservation    uint64     `json:"reservation"`
	Candidates     []FreeRun  `json:"candidates"`
	CandidateCount int        `json:"candidate_count"`
	NearMisses     []NearMiss `json:"near_misses"`
	Unknown        []string   `json:"unknown"`
	Remedies       []string   `json:"remedies"`
	Heap           Hex        `json:"heap,omitempty"`
}

// ExplanationOf shapes an explanation.
func ExplanationOf(x *analysis.Explanation) Explanation {
	r := x.Request
	j := Explanation{
		Request: Request{Size: r.Size, Via: string(r.Via), Heap: Hex(r.Heap), Below: Hex(r.Below), NewSize: r.NewSize, AnyHeap: r.AnyHeap},
		Verdict: string(x.Verdict), Condition: x.Condition, Reasons: nonNil(x.Reasons), Reservation: x.Reservation,
		Candidates: []FreeRun{}, CandidateCount: x.CandidateCount, NearMisses: []NearMiss{},
		Unknown: nonNil(x.Unknown), Remedies: nonNil(x.Remedies), Steps: []Step{},
	}
	for _, st := range x.Steps {
		j.Steps = append(j.Steps, Step{st})
	}
	if r.Via == analysis.ViaVector {
		j.Request.ElementSize, j.Request.STL = max(r.ElementSize, 1), r.Growth
	}
	if x.Heap != nil {
		j.Heap = Hex(x.Heap.Handle)
	}
	for _, c := range x.Candidates {
		j.Candidates = append(j.Candidates, FreeRunOf(c))
	}
	for _, n := range x.NearMisses {
		j.NearMisses = append(j.NearMisses, NearMiss{FreeRunOf(n.Run), n.Why})
	}
	return j
}

// Waste is one granularity-waste pattern.
type Waste struct {
	Description string `json:"description"`
	Size        uint64 `json:"size"`
	Type        string `json:"type"`
	Protect     string `json:"protect"`
	Usage       string `json:"usage"`
	Count       int    `json:"count"`
	WastedEach  uint64 `json:"wasted_each"`
	WastedTotal uint64 `json:"wasted_total"`
	Example     Hex    `json:"example"`
}

// WasteOf shapes a granularity-waste pattern.
func WasteOf(w analysis.WastePattern) Waste {
	return Waste{w.Describe(), w.Size, w.Type.String(), w.Protect.String(), w.Usage.String(), w.Count, w.WastedEach, w.WastedTotal, Hex(w.Example)}
}

// Fit says how many reservations of a size would still fit.
type Fit struct {
	Size  uint64 `json:"size"`
	Count uint64 `json:"count"`
}

// FitsOf shapes the reservation fits.
func FitsOf(fs []analysis.ReservationFit) []Fit {
	out := make([]Fit, 0, len(fs))
	for _, f := range fs {
		out = append(out, Fit{f.Size, f.Count})
	}
	return out
}

// Allocation is one reservation (VMMap's tree node).
type Allocation struct {
	Base      Hex    `json:"base"`
	End       Hex    `json:"end"`
	Size      uint64 `json:"size"`
	Committed uint64 `json:"committed"`
	Reserved  uint64 `json:"reserved"`
	Type      string `json:"type"`
	Protect   string `json:"protect"`
	Usage     string `json:"usage"`
	Detail    string `json:"detail"`
	Regions   int    `json:"regions"`
}

// AllocationOf shapes an allocation.
func AllocationOf(a *analysis.Allocation) Allocation {
	return Allocation{Base: Hex(a.Base), End: Hex(a.End()), Size: a.Size, Committed: a.Committed, Reserved: a.Reserved,
		Type: a.Type.String(), Protect: a.Protect.String(), Usage: a.Usage.String(), Detail: a.Detail, Regions: a.Count}
}

// HeapInfo is one heap: its reservations as the region map shows them.
type HeapInfo struct {
	Handle             Hex      `json:"handle"`
	ProcessHeap        bool     `json:"process_heap"`
	CRTHeap            bool     `json:"crt_heap"`
	FoundBy            []string `json:"found_by"`
	Segments           int      `json:"segments"`
	Reserved           uint64   `json:"reserved"`
	Committed          uint64   `json:"committed"`
	Uncommitted        uint64   `json:"uncommitted"`
	LargestUncommitted uint64   `json:"largest_uncommitted"`
	// Layout and the free space the heap's own books and its walk show when its
	// memory is in the dump (null: unknown); see `dumpmap heaps --json`.
	Layout                string   `json:"layout"`
	FreeBytes             *uint64  `json:"free_bytes"`
	FreeBlocks            *int     `json:"free_blocks"`
	LargestFreeBlock      *uint64  `json:"largest_free_block"`
	ExternalFragmentation *float64 `json:"external_fragmentation"`
	WalkComplete          bool     `json:"walk_complete"`
}

// HeapsOf shapes the heaps of a heap set (never nil).
func HeapsOf(hs *analysis.HeapSet) []HeapInfo {
	out := []HeapInfo{}
	if hs == nil {
		return out
	}
	for _, h := range hs.Heaps {
		res, com, unc := h.Reserved()
		var largest uint64
		for _, s := range h.Segments {
			largest = max(largest, s.LargestUncommitted)
		}
		hi := HeapInfo{Handle: Hex(h.Handle), ProcessHeap: h.ProcessHeap, CRTHeap: h.CRTHeap, FoundBy: nonNil(h.FoundBy), Segments: len(h.Segments),
			Reserved: res, Committed: com, Uncommitted: unc, LargestUncommitted: largest, Layout: h.Layout.String()}
		if h.Read != nil {
			sum := h.Read.Summary()
			hi.FreeBytes, hi.FreeBlocks, hi.LargestFreeBlock, hi.WalkComplete = sum.FreeBytes, sum.FreeBlocks, sum.LargestFreeBlock, sum.WalkComplete
			if hi.FreeBytes == nil {
				hi.FreeBytes = sum.WalkFreeBytes
			}
			if sum.WalkFreeBytes != nil && *sum.WalkFreeBytes > 0 && sum.LargestFreeBlock != nil {
				f := 1 - float64(*sum.LargestFreeBlock)/float64(*sum.WalkFreeBytes)
				hi.ExternalFragmentation = &f
			}
		}
		out = append(out, hi)
	}
	return out
}

// Commit describes the commit side.
type Commit struct {
	ProcessPrivate     uint64 `json:"process_private"`
	ProcessVirtualSize uint64 `json:"process_virtual_size"`
	PeakPrivate        uint64 `json:"peak_private"`
	SystemCommitted    uint64 `json:"system_committed"`
	SystemCommitLimit  uint64 `json:"system_commit_limit"`
	JobCommitLimit     uint64 `json:"job_commit_limit"`
	Source             string `json:"source"`
}

// CommitOf shapes the commit side; nil stays nil.
func CommitOf(c *analysis.CommitInfo) *Commit {
	if c == nil {
		return nil
	}
	return &Commit{c.ProcessPrivate, c.ProcessVirtualSize, c.PeakPrivate, c.SystemCommitted, c.SystemCommitLimit, c.JobCommitLimit, c.Source}
}

// Max is the largest request that would still succeed by one path.
type Max struct {
	Via      string `json:"via"`
	Max      uint64 `json:"max"`
	Possible bool   `json:"possible"`
}

// RequestText names a request in words: "malloc(50 KiB)",
// "VirtualAlloc(MEM_RESERVE|MEM_COMMIT) of 64 KiB".
func RequestText(r analysis.Request) string {
	switch r.Via {
	case analysis.ViaReserve:
		return fmt.Sprintf("VirtualAlloc(MEM_RESERVE) of %s", Size(r.Size))
	case analysis.ViaHeap:
		if r.AnyHeap {
			return fmt.Sprintf("HeapAlloc(a heap the dump does not name, %s)", Size(r.Size))
		}
		if r.Heap != 0 {
			return fmt.Sprintf("HeapAlloc(%#x, %s)", r.Heap, Size(r.Size))
		}
		return fmt.Sprintf("HeapAlloc(GetProcessHeap(), %s)", Size(r.Size))
	case analysis.ViaMalloc:
		return fmt.Sprintf("malloc(%s)", Size(r.Size))
	case analysis.ViaVector:
		if r.NewSize != 0 {
			return fmt.Sprintf("growth of a std::vector holding %s to a new buffer of %s", Size(r.Size), Size(r.NewSize))
		}
		return fmt.Sprintf("growth of a std::vector holding %s (%s)", Size(r.Size), r.Growth)
	}
	return fmt.Sprintf("VirtualAlloc(MEM_RESERVE|MEM_COMMIT) of %s", Size(r.Size))
}

// RequestText names the explained request in words, with the address it had to
// stay below: "malloc(50 KiB), below 0x80000000".
func (x *Explanation) RequestText() string {
	t := RequestText(analysis.Request{Size: x.Request.Size, Via: analysis.Via(x.Request.Via), Heap: uint64(x.Request.Heap),
		Growth: x.Request.STL, NewSize: x.Request.NewSize, AnyHeap: x.Request.AnyHeap})
	if x.Request.Below != 0 {
		t += fmt.Sprintf(", below %#x", uint64(x.Request.Below))
	}
	return t
}

// HeapFreeText says a heap's free space in a table cell: "5.4 MiB in 1,412
// blocks, largest 3.9 KiB", "-" when its memory is not in the dump.
func HeapFreeText(h HeapInfo) string {
	if h.FreeBlocks == nil {
		if h.FreeBytes != nil {
			return Size(*h.FreeBytes) + " (books)"
		}
		return "-"
	}
	t := fmt.Sprintf("%s in %s", Size(deref(h.FreeBytes)), Plural(*h.FreeBlocks, "block"))
	if h.LargestFreeBlock != nil && *h.FreeBlocks > 0 {
		t += ", largest " + Size(*h.LargestFreeBlock)
	}
	if !h.WalkComplete {
		t += " (walk incomplete)"
	}
	return t
}
