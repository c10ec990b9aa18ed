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
	var ranges []minidump.MemoryRange
	if mem != nil {
		ranges = mem.Ranges()
	}
	// Sized once: a MiniDumpNormal can hold 60,000 captured ranges.
	spans := make([]span, 0, len(mods)+2*len(threads)+len(ranges))
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
	// The ranges come sorted (Memory sorts them): merged with the few spans above,
	// sorted first, the list reaches layOut in order, and layOut's sort only checks.
	keysort.Stable(spans, func(s *span) uint64 { return s.lo })
	few := slices.Clone(spans)
	spans = spans[:0]
	for _, r := range ranges {
		for len(few) > 0 && few[0].lo <= r.Start {
			spans = append(spans, few[0])
			few = few[1:]
		}
		add(span{lo: r.Start, hi: r.End(), prio: 1, usage: UsageUnknown, state: minidump.MemCommit,
			detail: "captured memory", captured: true})
	}
	spans = append(spans, few...)
	if len(spans) == 0 {
		return errors.New("the dump has no MemoryInfoList, memory, modules or thread stacks to build a map from")
	}
	// Every gap shares one RegionInfo (setDetail copies before it writes).
	gapInfo := &RegionInfo{Detail: "not described by the dump"}
	m.Regions = layOut(spans, end, func(lo, hi uint64) Region {
		return Region{Base: lo, Size: hi - lo, Usage: UsageUnknown, Info: gapInfo}
	})
	m.note(NotePartial, "no MemoryInfoList: the map shows only modules, thread stacks and captured memory; everything else is Unknown, not Free")
	return nil
}

// layOut resolves overlapping spans by priority into disjoint regions over [0, end),
// filling the gaps with gap(lo, hi).
//
// Each elementary piece of the line (between two consecutive span boundaries) takes
// the highest-priority span covering it, the first of them in address order on a
// tie; neighbouring pieces that describe the same thing are merged. The line is swept
// once in the order of the spans' starts, keeping the spans that cover the current
// point: a dump's spans are mostly disjoint captured ranges, so that set stays tiny
// and the sweep is linear after the sort.
func layOut(spans []span, end uint64, gap func(lo, hi uint64) Region) []Region {
	ord := make([]int32, 0, len(spans))
	for i := range spans {
		if s := &spans[i]; s.lo < s.hi && s.lo < end {
			ord = append(ord, int32(i))
		}
	}
	keysort.Stable(ord, func(i *int32) uint64 { return spans[*i].lo })

	out := make([]Region, 0, 2*len(ord)+1)
	var active []int32 // spans covering pos, in the order of ord
	var info *RegionInfo
	next := 0
	for pos := uint64(0); pos < end; {
		for next < len(ord) && spans[ord[next]].lo <= pos {
			active = append(active, ord[next])
			next++
		}
		stop := end
		if next < len(ord) {
			stop = min(stop, spans[ord[next]].lo)
		}
		best := -1
		kept := active[:0]
		for _, k := range active {
			s := &spans[k]
			if s.hi <= pos {
				continue
			}
			kept = append(kept, k)
			stop = min(stop, s.hi)
			if best < 0 || s.prio > spans[best].prio {
				best = int(k)
			}
		}
		active = kept
		var r Region
		if best < 0 {
			r = gap(pos, stop)
		} else {
			s := &spans[best]
			r = Region{Base: pos, Size: stop - pos, State: s.state, Type: s.typ, Protect: s.protect, Usage: s.usage,
				ThreadID: s.thread, Captured: s.captured}
			if s.detail != "" || s.module != "" {
				// Regions that say the same share a RegionInfo: 60,000 captured
				// ranges need one, not 60,000.
				if info == nil || info.Detail != s.detail || info.Module != s.module {
					info = &RegionInfo{Detail: s.detail, Module: s.module}
				}
				r.Info = info
			}
		}
		pos = stop
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
