package analysis

import (
	"fmt"
	"slices"
	"sort"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dustin/go-humanize"
)

// FragReport is the fragmentation report: how the free space is cut up, what the
// allocation granularity wastes and who holds the address space.
type FragReport struct {
	Space   AddressSpace
	Partial bool
	Free    FreeStats
	// SizeClasses is the histogram of free runs by size.
	SizeClasses []SizeClass
	// Fits says how many new reservations of each size would still fit, one after
	// the other, in the usable free space.
	Fits []ReservationFit
	// Waste lists the address space lost because reservations are not multiples of
	// the allocation granularity, grouped by allocation pattern, largest first.
	Waste      []WastePattern
	WasteTotal uint64
	// ByUsage lists the busy usages by size; ByAllocation the largest reservations.
	ByUsage      []SummaryRow
	ByAllocation []Allocation
	// Plentiful is set for 64-bit processes whose free address space is so large that
	// fragmentation cannot be what failed; Commit then describes the commit side.
	Plentiful bool
	Commit    *CommitInfo
}

// ReservationFit says how many reservations of Size would fit.
type ReservationFit struct {
	Size  uint64
	Count uint64
}

// A WastePattern is a group of reservations of one size, type, protection and usage
// that each leave an unusable tail below the next 64 KB boundary.
type WastePattern struct {
	Size        uint64 // the reservation size
	Type        minidump.MemType
	Protect     minidump.Protect // allocation protection
	Usage       Usage
	Count       int
	WastedEach  uint64 // the tail a reservation of this size leaves
	WastedTotal uint64 // the tails actually free (and so lost) after these reservations
	Example     uint64 // the base of one of them
}

// Describe returns e.g. "32,000 private reservations of 4 KiB each waste 60 KiB: 1.9 GiB of address space".
func (w WastePattern) Describe() string {
	kind := "private"
	switch w.Type {
	case minidump.MemImage:
		kind = "image"
	case minidump.MemMapped:
		kind = "mapped"
	}
	where := ""
	switch w.Usage {
	case UsageHeap:
		where = " (heap)"
	case UsageStack:
		where = " (stacks)"
	case UsageImage:
		where = ""
	case UsageTEB, UsagePEB:
		where = " (" + w.Usage.String() + ")"
	}
	if w.Count == 1 {
		return fmt.Sprintf("1 %s%s reservation of %s wastes %s of address space",
			kind, where, humanize.IBytes(w.Size), humanize.IBytes(w.WastedTotal))
	}
	return fmt.Sprintf("%s %s%s reservations of %s each waste %s: %s of address space",
		humanize.Comma(int64(w.Count)), kind, where, humanize.IBytes(w.Size), humanize.IBytes(w.WastedEach), humanize.IBytes(w.WastedTotal))
}

// CommitInfo describes the commit side, which limits 64-bit processes.
type CommitInfo struct {
	ProcessPrivate     uint64 // ProcessVmCounters PrivateUsage (commit charge), 0 if unknown
	ProcessVirtualSize uint64
	PeakPrivate        uint64
	SystemCommitted    uint64 // bytes, from SystemMemoryInfo
	SystemCommitLimit  uint64
	JobCommitLimit     uint64
	Source             string
}

// plentifulFree is the usable free space above which a 64-bit process cannot be out
// of address space for any realistic request.
const plentifulFree = 1 << 40

// Fragmentation computes the fragmentation report. vm and smi are optional (nil when
// the dump lacks the streams).
func (m *Map) Fragmentation(vm *minidump.ProcessVMCounters, smi *minidump.SystemMemoryInfo) *FragReport {
	sum := m.summary()
	r := &FragReport{Space: m.Space, Partial: m.Partial, Free: sum.Free, SizeClasses: slices.Clone(sum.SizeClasses)}
	runs := m.freeRuns()
	for _, size := range []uint64{64 << 10, 1 << 20, 16 << 20} {
		var n uint64
		for _, f := range runs {
			n += f.UsableSize / size
		}
		r.Fits = append(r.Fits, ReservationFit{Size: size, Count: n})
	}
	for _, row := range sum.Usage {
		if !isFreeName(row.Name) {
			r.ByUsage = append(r.ByUsage, row)
		}
	}
	allocs := m.allocations()
	waste, total := m.wastePatterns()
	r.Waste, r.WasteTotal = slices.Clone(waste), total
	r.ByAllocation = largestAllocations(allocs, 10)
	if m.Space.PointerSize == 8 && sum.Free.UsableTotal >= plentifulFree {
		r.Plentiful = true
	}
	r.Commit = commitInfo(vm, smi)
	return r
}

// granularityWaste attributes each unusable tail to the reservation before it.
func (m *Map) granularityWaste(allocs []Allocation) ([]WastePattern, uint64) {
	g := m.Space.Granularity
	type key struct {
		size uint64
		typ  minidump.MemType
		prot minidump.Protect
		use  Usage
	}
	groups := map[key]*WastePattern{}
	var total uint64
	for _, a := range allocs {
		if a.Size%g == 0 || m.Partial {
			continue
		}
		end := a.End()
		// The tail is lost only where it is free; the next region tells.
		i := m.findNear(a.First+a.Count, end)
		if i < 0 || m.Regions[i].Usage != UsageUnusable {
			continue
		}
		lost := min(alignUp(end, g), m.Regions[i].End()) - end
		k := key{a.Size, a.Type, a.Protect, a.Usage}
		w := groups[k]
		if w == nil {
			w = &WastePattern{Size: a.Size, Type: a.Type, Protect: a.Protect, Usage: a.Usage, WastedEach: alignUp(a.Size, g) - a.Size, Example: a.Base}
			groups[k] = w
		}
		w.Count++
		w.WastedTotal += lost
		total += lost
	}
	out := make([]WastePattern, 0, len(groups))
	for _, w := range groups {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].WastedTotal != out[j].WastedTotal {
			return out[i].WastedTotal > out[j].WastedTotal
		}
		return out[i].Example < out[j].Example
	})
	return out, total
}

func commitInfo(vm *minidump.ProcessVMCounters, smi *minidump.SystemMemoryInfo) *CommitInfo {
	if vm == nil && smi == nil {
		return nil
	}
	c := &CommitInfo{}
	var src []string
	if vm != nil {
		c.ProcessPrivate, c.ProcessVirtualSize, c.PeakPrivate = vm.PrivateUsage, vm.VirtualSize, vm.PeakPagefileUsage
		c.JobCommitLimit = vm.JobPrivateCommitLimit
		src = append(src, "ProcessVmCounters")
	}
	if smi != nil && smi.CommitLimit != 0 {
		ps := uint64(smi.PageSize)
		if ps == 0 {
			ps = 4096
		}
		c.SystemCommitted, c.SystemCommitLimit = smi.CommittedPages*ps, smi.CommitLimit*ps
		src = append(src, "SystemMemoryInfo")
	}
	for i, s := range src {
		if i > 0 {
			c.Source += " and "
		}
		c.Source += s
	}
	return c
}

// largestAllocations returns the n largest allocations, largest first, those of
// equal size in address order: what sorting them all stably by size and keeping
// the first n gives, in one pass instead of a sort of every allocation.
func largestAllocations(allocs []Allocation, n int) []Allocation {
	top := make([]Allocation, 0, n+1)
	for i := range allocs {
		a := &allocs[i]
		if len(top) == n && a.Size <= top[n-1].Size {
			continue
		}
		// After the last one at least as large: ties keep their order.
		j := len(top)
		for j > 0 && top[j-1].Size < a.Size {
			j--
		}
		top = slices.Insert(top, j, *a)
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}
