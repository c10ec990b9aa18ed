package analysis

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/dumpmap/dumpmap/minidump"
)

// classify assigns a usage to every busy region: images by the module lists, stacks
// and TEBs by the thread list (and the TEBs' own contents when captured), the PEB by
// the TEB's pointer to it, mapped views and other private memory by their type.
func (m *Map) classify(names *imageNamer, unloaded []minidump.UnloadedModule, threads []minidump.Thread, mem *minidump.Memory, dumpPtr int, wow64 bool, images []int, recorded bool) {
	m.nameImages(names, unloaded, images, recorded)

	var pebs []uint64
	for _, t := range threads {
		// The thread list's TEB has the dump's pointer size; in a 64-bit dump of a
		// WOW64 process the 32-bit TEB follows the 64-bit one.
		type tebAt struct {
			addr  uint64
			ptr   int
			wow32 bool
		}
		tebs := []tebAt{{t.TEB, dumpPtr, false}}
		if wow64 && dumpPtr == 8 && t.TEB != 0 {
			tebs = append(tebs, tebAt{t.TEB + 0x2000, 4, true})
		}
		var stackAddrs []uint64
		if t.Stack.Data.Size > 0 {
			stackAddrs = append(stackAddrs, t.Stack.Start)
		}
		for _, teb := range tebs {
			if teb.addr == 0 {
				continue
			}
			if base, limit, peb, ok := readTEB(mem, teb.addr, teb.ptr); ok {
				if limit < base && base-limit < 1<<32 {
					stackAddrs = append(stackAddrs, limit, base-1)
				}
				if peb != 0 {
					pebs = append(pebs, peb)
				}
			}
			if m.Space.Windows {
				// Breakpad stores a Linux thread's TLS pointer in the TEB field.
				m.markTEB(teb.addr, t.ID, teb.wow32)
			}
		}
		for _, a := range stackAddrs {
			m.markStack(a, t.ID)
		}
	}
	for _, p := range pebs {
		if i := m.Find(p); i >= 0 {
			r := &m.Regions[i]
			if r.Type == minidump.MemPrivate || r.Type == 0 && !r.IsFree() {
				prev := ""
				if r.Usage == UsageTEB {
					prev = r.Detail()
				}
				m.retag(i, UsagePEB)
				r.setDetail(joinDetail("process environment block", prev))
			}
		}
	}
}

// readTEB reads NT_TIB.StackBase, NT_TIB.StackLimit and the PEB pointer from a TEB in
// captured memory.
func readTEB(mem *minidump.Memory, teb uint64, ptr int) (base, limit, peb uint64, ok bool) {
	if mem == nil {
		return 0, 0, 0, false
	}
	var err error
	if ptr == 4 {
		if base, err = mem.ReadPointer(teb+4, 4); err != nil {
			return 0, 0, 0, false
		}
		limit, _ = mem.ReadPointer(teb+8, 4)
		peb, _ = mem.ReadPointer(teb+0x30, 4)
		return base, limit, peb, true
	}
	if base, err = mem.ReadPointer(teb+8, 8); err != nil {
		return 0, 0, 0, false
	}
	limit, _ = mem.ReadPointer(teb+0x10, 8)
	peb, _ = mem.ReadPointer(teb+0x60, 8)
	return base, limit, peb, true
}

// markTEB labels the private region holding a TEB.
func (m *Map) markTEB(teb uint64, tid uint32, wow32 bool) {
	i := m.Find(teb)
	if i < 0 {
		return
	}
	r := &m.Regions[i]
	if r.IsFree() || (r.Type != minidump.MemPrivate && r.Type != 0) || r.Usage == UsageStack {
		return
	}
	what := fmt.Sprintf("TEB of thread %d (%#x)", tid, tid)
	if wow32 {
		what = fmt.Sprintf("32-bit TEB of thread %d (%#x)", tid, tid)
	}
	if r.Usage == UsageTEB || r.Usage == UsagePEB {
		r.setDetail(joinDetail(r.Detail(), what))
		return
	}
	m.retag(i, UsageTEB)
	r.ThreadID = tid
	r.setDetail(what)
}

// markStack labels every region of the allocation that holds address a as the stack of
// thread tid, and its PAGE_GUARD region as the guard page.
func (m *Map) markStack(a uint64, tid uint32) {
	i := m.Find(a)
	if i < 0 {
		return
	}
	r := &m.Regions[i]
	if r.IsFree() || r.Type == minidump.MemImage || r.Type == minidump.MemMapped {
		return
	}
	lo, hi := i, i+1
	if r.State != 0 { // complete map: the whole reservation is the stack
		ab := r.AllocationBase
		for lo > 0 && !m.Regions[lo-1].IsFree() && m.Regions[lo-1].AllocationBase == ab && m.Regions[lo-1].State != 0 {
			lo--
		}
		for hi < len(m.Regions) && !m.Regions[hi].IsFree() && m.Regions[hi].AllocationBase == ab && m.Regions[hi].State != 0 {
			hi++
		}
	}
	for k := lo; k < hi; k++ {
		s := &m.Regions[k]
		if s.Usage == UsageStack && s.ThreadID != tid {
			continue
		}
		m.retag(k, UsageStack)
		s.ThreadID = tid
		s.Guard = s.Protect.Guard()
		switch {
		case s.Guard:
			s.setDetail(fmt.Sprintf("thread %d (%#x), guard page", tid, tid))
		case s.State == minidump.MemReserve:
			s.setDetail(fmt.Sprintf("thread %d (%#x), reserved", tid, tid))
		default:
			s.setDetail(fmt.Sprintf("thread %d (%#x)", tid, tid))
		}
	}
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	if strings.Contains(a, b) {
		return a
	}
	return a + "; " + b
}

// sweepImages makes classify name images by the sweep over every region alone
// (tests compare).
var sweepImages = false

// An imageNamer names Image regions by the module list: by the last module
// starting at or below the region, when the region starts before that module's
// end. It is made from the modules as soon as they are read, while the layout
// still runs, so that the layout names the images it writes (they are in the
// cache then; named afterwards, the few thousand images of a large map are as
// many cache misses). It is not changed once made.
type imageNamer struct {
	sorted []*minidump.Module // by base; of modules sharing a base, the named one last
	infos  []*RegionInfo      // infos[i] names sorted[i]'s regions; one per base
}

func newImageNamer(mods []minidump.Module) *imageNamer {
	// Pointers sorted by base with the generic sort: sort.SliceStable's reflection,
	// moving the large Module structs, was a third of the cost of a map in batch triage.
	sorted := make([]*minidump.Module, len(mods))
	for i := range mods {
		sorted[i] = &mods[i]
	}
	// Where a damaged list repeats a base, the named entry sorts last, which is the
	// one the sweep picks.
	slices.SortStableFunc(sorted, func(a, b *minidump.Module) int {
		if c := cmp.Compare(a.Base, b.Base); c != 0 {
			return c
		}
		named := func(m *minidump.Module) int {
			if m.Name != "" {
				return 1
			}
			return 0
		}
		return cmp.Compare(named(a), named(b))
	})
	// Regions of one module share one RegionInfo, made from the module the sweep
	// picks (the last of those sharing its base).
	infos := make([]*RegionInfo, len(sorted))
	for i := len(sorted) - 1; i >= 0; i-- {
		if i+1 < len(sorted) && sorted[i+1].Base == sorted[i].Base {
			infos[i] = infos[i+1]
			continue
		}
		infos[i] = &RegionInfo{Detail: sorted[i].Name, Module: sorted[i].BaseName()}
	}
	return &imageNamer{sorted: sorted, infos: infos}
}

// name names r and reports whether a module covers it. *next is the sweep's
// place in the modules: the regions one cursor names must come in address order.
func (n *imageNamer) name(r *Region, next *int) bool {
	for *next < len(n.sorted) && n.sorted[*next].Base <= r.Base {
		*next++
	}
	if k := *next - 1; k >= 0 && r.Base < n.sorted[k].End() {
		r.Info = n.infos[k]
		return true
	}
	return false
}

// nameImages names the Image regions the modules do not name already: by the
// module covering them, else by the unloaded module covering them. When recorded,
// at lists where the unnamed Image regions are (the layout recorded them; empty,
// often nil, when it named every image itself): on a map of hundreds of thousands
// of regions, reading a few images instead of every region is most of what
// classify costs. Positions that no longer hold an image are skipped. recorded is
// a flag of its own because nil meant "not recorded" before, and the sweep ran
// on every map whose layout had named all its images.
func (m *Map) nameImages(names *imageNamer, unloaded []minidump.UnloadedModule, at []int, recorded bool) {
	next := 0
	name := func(r *Region) {
		if names.name(r, &next) {
			return
		}
		for _, u := range unloaded {
			base := u.Base
			if m.Space.PointerSize == 4 && base>>32 == 0xffffffff {
				base &= 0xffffffff
			}
			if r.Base >= base && r.Base < base+uint64(u.Size) {
				r.Unloaded = true
				r.Info = &RegionInfo{Detail: u.Name + " (unloaded)", Module: minidump.BaseName(u.Name)}
				return
			}
		}
		if r.Info == nil {
			r.setDetail("image not in the module list")
		}
	}
	if recorded && !sweepImages {
		for _, i := range at {
			if i < len(m.Regions) && m.Regions[i].Usage == UsageImage {
				name(&m.Regions[i])
			}
		}
		return
	}
	imageSweeps.Add(1)
	for i := range m.Regions {
		if m.Regions[i].Usage == UsageImage {
			name(&m.Regions[i])
		}
	}
}

// imageSweeps counts nameImages' sweeps over every region: on a map of 200,000
// regions one costs as much as classifying the rest (tests check that a layout
// that named its images itself is not swept).
var imageSweeps atomic.Int64
