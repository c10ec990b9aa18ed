package analysis

import (
	"sort"

	"github.com/dumpmap/dumpmap/minidump"
)

// Region is one region of the address space: a range of pages with the same state,
// type and protection (what VirtualQuery returns), classified by usage. Free space is
// further split at 64 KB boundaries into its Unusable and Free parts, as VMMap shows
// it.
//
// Region is kept small (a map can hold millions): what only some regions have lives
// in Info.
type Region struct {
	Base, Size     uint64
	AllocationBase uint64
	// State, Type and Protect are as VirtualQuery reports them; State is 0 when the
	// dump does not say (a partial map built without a MemoryInfoList).
	State             minidump.MemState
	Type              minidump.MemType
	Protect           minidump.Protect
	AllocationProtect minidump.Protect
	ThreadID          uint32 // Stack, TEB: the thread
	Usage             Usage
	Guard             bool // the region has PAGE_GUARD (a stack's guard page)
	Unloaded          bool // Image: the module is in the unloaded-module list only
	// Captured is set in partial maps for regions whose bytes are in the dump.
	Captured bool
	// Blocked marks free space known not to be allocatable (Options.Unavailable): it
	// is Unusable and ends a free run.
	Blocked bool
	// Info holds the details of images, stacks, heaps and the like; nil for plain
	// regions.
	Info *RegionInfo
}

// RegionInfo is what a classified region carries besides its usage.
type RegionInfo struct {
	// Detail says more about the usage: the module path, the thread, "guard page", ...
	Detail string
	Module string // Image: the module's file name
	Heap   uint64 // Heap: the heap's handle
}

// Detail returns the classifier's description of the region, or "".
func (r *Region) Detail() string {
	if r.Info == nil {
		return ""
	}
	return r.Info.Detail
}

// Module returns the file name of the module an Image region belongs to, or "".
func (r *Region) Module() string {
	if r.Info == nil {
		return ""
	}
	return r.Info.Module
}

// Heap returns the handle of the heap a Heap region belongs to, or 0.
func (r *Region) Heap() uint64 {
	if r.Info == nil {
		return 0
	}
	return r.Info.Heap
}

// setDetail sets the region's detail. It writes a new RegionInfo: regions that
// say the same thing may share one (all the captured ranges of a partial map do).
func (r *Region) setDetail(d string) {
	in := RegionInfo{Detail: d}
	if r.Info != nil {
		in = *r.Info
		in.Detail = d
	}
	r.Info = &in
}

// End returns the first address past the region.
func (r *Region) End() uint64 { return r.Base + r.Size }

// Contains reports whether a lies in the region.
func (r *Region) Contains(a uint64) bool { return a >= r.Base && a-r.Base < r.Size }

// IsFree reports whether the region is free address space (usable or not).
func (r *Region) IsFree() bool { return r.Usage.IsFree() }

// Source says what a Map was built from.
type Source int

// Map sources, from most to least complete.
const (
	// SourceMemoryInfoList: the dump's MemoryInfoList, the full VirtualQuery walk.
	SourceMemoryInfoList Source = iota
	// SourceLinuxMaps: a Breakpad dump's copy of /proc/self/maps.
	SourceLinuxMaps
	// SourceCaptured: only what the dump captured (memory ranges, modules, stacks);
	// everything else is Unknown.
	SourceCaptured
)

func (s Source) String() string {
	switch s {
	case SourceMemoryInfoList:
		return "MemoryInfoList"
	case SourceLinuxMaps:
		return "/proc/self/maps (LinuxMaps stream)"
	case SourceCaptured:
		return "captured memory, modules and thread stacks only"
	}
	return "unknown"
}

// Map is the address space of the dumped process.
type Map struct {
	// Regions cover [0, Space.End) in address order without gaps or overlaps.
	Regions []Region
	Space   AddressSpace
	Source  Source
	// Partial is set when the map does not come from a complete walk of the address
	// space: the parts the dump does not describe are Unknown, never Free.
	Partial bool
	// Notes records what the map had to assume or correct (truncated 32-bit
	// addresses, overlapping entries, regions outside the view): information, not
	// damage.
	Notes []Note
	// Damage lists the damage found in the streams the map was built from (the
	// MemoryInfoList, the LinuxMaps text) as the minidump package reports it: a
	// *minidump.FormatError names the stream and the file offset. Damage in the
	// other streams is the process's (process.Process.Damage).
	Damage []error
	// Heaps are the process's heaps as far as the dump shows them, already laid
	// over Regions (their reservations are Heap). Never nil.
	Heaps *HeapSet
	// Commit is the commit side as the dump records it (SystemMemoryInfo,
	// ProcessVmCounters); nil when it records neither.
	Commit *CommitInfo

	mem  *minidump.Memory // the process's captured memory, for CheckHeap
	whys *whyCache        // Describe's sentences for Unusable regions; nil in sub-maps
	// derived caches what readers compute from the regions; nil in maps not made
	// by NewMap.
	derived *derived
}

// A Note is one thing the map assumed or corrected. ID is stable, for programs;
// Text is for people.
type Note struct {
	ID   NoteID
	Text string
}

// String returns the note's text.
func (n Note) String() string { return n.Text }

// NoteID identifies the kind of a map note.
type NoteID string

// Map notes.
const (
	NoteNativeView        NoteID = "native-view"
	NoteNoSystemInfo      NoteID = "no-system-info"
	NoteBelow             NoteID = "below"
	NoteLinuxMapsUnusable NoteID = "linux-maps-unusable"
	NotePartial           NoteID = "partial"
	NoteUnsorted          NoteID = "unsorted"
	NoteSignExtended      NoteID = "sign-extended"
	NoteOutside           NoteID = "outside"
	NoteOverlaps          NoteID = "overlaps"
	NoteMerged            NoteID = "merged"
	NoteGaps              NoteID = "gaps"
	NoteUnavailable       NoteID = "unavailable"
)

// note records a note.
func (m *Map) note(id NoteID, text string) { m.Notes = append(m.Notes, Note{id, text}) }

// NoteTexts returns the notes' texts, never nil (the JSON outputs' "notes").
func (m *Map) NoteTexts() []string {
	out := make([]string, 0, len(m.Notes))
	for _, n := range m.Notes {
		out = append(out, n.Text)
	}
	return out
}

// Find returns the index of the region that contains a, or -1.
func (m *Map) Find(a uint64) int {
	i := sort.Search(len(m.Regions), func(i int) bool { return m.Regions[i].End() > a })
	if i < len(m.Regions) && m.Regions[i].Contains(a) {
		return i
	}
	return -1
}

// Describe returns the region's description: the classifier's detail, or for
// Unusable space why no reservation can use it.
func (m *Map) Describe(r *Region) string {
	if d := r.Detail(); d != "" {
		return d
	}
	if r.Usage == UsageUnusable {
		return m.unusableWhy(r.Base, r.End())
	}
	return ""
}

// findNear is Find for an address expected in region i (the region before or
// after an allocation, whose regions the allocation locates): the regions cover
// the space without gaps, so it is usually there, and no search is needed.
func (m *Map) findNear(i int, a uint64) int {
	if i >= 0 && i < len(m.Regions) && m.Regions[i].Contains(a) {
		return i
	}
	return m.Find(a)
}

// Region returns the region that contains a, or nil.
func (m *Map) Region(a uint64) *Region {
	if i := m.Find(a); i >= 0 {
		return &m.Regions[i]
	}
	return nil
}
