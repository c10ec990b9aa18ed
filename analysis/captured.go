package analysis

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dumpmap/dumpmap/internal/keysort"
	"github.com/dumpmap/dumpmap/minidump"
)

// span is a piece of knowledge about an address range, with a priority: an image
// beats a stack, which beats a TEB, which beats anonymous captured memory.
type span struct {
	lo, hi   uint64
	prio     int
	usage    Usage
	typ      minidump.MemType
	protect  minidump.Protect
	state    minidump.MemState
	detail   string
	module   string
	thread   uint32
	captured bool
}

// fromCaptured builds a partial map from what the dump holds without a
// MemoryInfoList: module images, captured stacks and TEBs, and captured memory. What
// lies between is Unknown: the dump does not say whether it is free.
func (m *Map) fromCaptured(mem *minidump.Memory, mods []minidump.Module, threads []minidump.Thread) error {
	end := m.Space.End
	var spans []span
	add := func(s span) {
		if s.hi > end {
			s.hi = end
		}
		if s.lo < s.hi {
			spans = append(spans, s)
		}
	}
	for _, mod := range mods {
		add(span{lo: mod.Base, hi: mod.End(), prio: 4, usage: UsageImage, typ: minidump.MemImage,
			detail: mod.Name, module: mod.BaseName()})
	}
	for _, t := range threads {
		if t.Stack.Data.Size > 0 {
			add(span{lo: t.Stack.Start, hi: t.Stack.End(), prio: 3, usage: UsageStack, typ: minidump.MemPrivate,
				state: minidump.MemCommit, detail: fmt.Sprintf("thread %d (%#x), captured part", t.ID, t.ID), thread: t.ID, captured: true})
		}
		if t.TEB != 0 && m.Space.Windows {
			add(span{lo: t.TEB, hi: t.TEB + m.Space.PageSize, prio: 2, usage: UsageTEB, typ: minidump.MemPrivate,
				state: minidump.MemCommit, detail: fmt.Sprintf("TEB of thread %d (%#x)", t.ID, t.ID), thread: t.ID})
		}
	}
	if mem != nil {
		for _, r := range mem.Ranges() {
			add(span{lo: r.Start, hi: r.End(), prio: 1, usage: UsageUnknown, state: minidump.MemCommit,
				detail: "captured memory", captured: true})
		}
	}
	if len(spans) == 0 {
		return errors.New("the dump has no MemoryInfoList, memory, modules or thread stacks to build a map from")
	}
	m.Regions = layOut(spans, end, func(lo, hi uint64) Region {
		return unknownRegion(lo, hi, "not described by the dump")
	})
	m.note(NotePartial, "no MemoryInfoList: the map shows only modules, thread stacks and captured memory; everything else is Unknown, not Free")
	return nil
}

// layOut resolves overlapping spans by priority into disjoint regions over [0, end),
// filling the gaps with gap(lo, hi).
func layOut(spans []span, end uint64, gap func(lo, hi uint64) Region) []Region {
	// Cut the line at every span boundary; each elementary piece takes the
	// highest-priority span covering it.
	cuts := []uint64{0, end}
	for _, s := range spans {
		cuts = append(cuts, s.lo, s.hi)
	}
	slices.Sort(cuts)
	cuts = compactU64(cuts)
	keysort.Stable(spans, func(s *span) uint64 { return s.lo })

	var out []Region
	active := []int{} // indices of spans covering the current piece
	next := 0
	for ci := 0; ci+1 < len(cuts); ci++ {
		lo, hi := cuts[ci], cuts[ci+1]
		if lo >= end {
			break
		}
		for next < len(spans) && spans[next].lo <= lo {
			active = append(active, next)
			next++
		}
		best := -1
		kept := active[:0]
		for _, k := range active {
			if spans[k].hi <= lo {
				continue
			}
			kept = append(kept, k)
			if best < 0 || spans[k].prio > spans[best].prio {
				best = k
			}
		}
		active = kept
		var r Region
		if best < 0 {
			r = gap(lo, hi)
		} else {
			s := spans[best]
			r = Region{Base: lo, Size: hi - lo, State: s.state, Type: s.typ, Protect: s.protect, Usage: s.usage,
				ThreadID: s.thread, Captured: s.captured}
			if s.detail != "" || s.module != "" {
				r.Info = &RegionInfo{Detail: s.detail, Module: s.module}
			}
		}
		// Merge with the previous piece when it describes the same thing.
		if n := len(out); n > 0 && out[n-1].End() == r.Base && sameKind(&out[n-1], &r) {
			out[n-1].Size += r.Size
			continue
		}
		out = append(out, r)
	}
	return out
}

func sameKind(a, b *Region) bool {
	return a.Usage == b.Usage && a.State == b.State && a.Type == b.Type && a.Detail() == b.Detail() &&
		a.Module() == b.Module() && a.ThreadID == b.ThreadID && a.Captured == b.Captured && a.Protect == b.Protect
}

func compactU64(s []uint64) []uint64 {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
