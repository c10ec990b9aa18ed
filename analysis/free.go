package analysis

import (
	"slices"

	"github.com/dumpmap/dumpmap/minidump"
)

// A FreeRun is a maximal stretch of free address space, with the part of it a new
// reservation could use: the largest granularity-aligned block inside the allocatable
// range.
type FreeRun struct {
	Base, Size uint64
	// UsableBase and UsableSize locate the 64 KB-aligned part; UsableSize is 0 when the
	// whole run is Unusable.
	UsableBase, UsableSize uint64
}

// End returns the first address past the run.
func (f FreeRun) End() uint64 { return f.Base + f.Size }

// Unusable returns the bytes of the run no reservation can use.
func (f FreeRun) Unusable() uint64 { return f.Size - f.UsableSize }

// Fits reports whether a reservation of size bytes (rounded up to whole pages by the
// caller) fits in the run's usable part.
func (f FreeRun) Fits(size uint64) bool { return size > 0 && f.UsableSize >= size }

// FreeRuns returns the free runs of the map in address order. Adjacent Free and
// Unusable regions form one run. Unknown regions are not free: a partial map has no
// free runs but those the dump proves.
func (m *Map) FreeRuns() []FreeRun {
	return slices.Clone(m.freeRuns())
}

func (m *Map) gatherFreeRuns() []FreeRun {
	// Counted first, so the list is allocated once: grown by append, a list of
	// 60,000 runs allocates five times its size, every byte of it in fresh pages
	// for a process that does not collect (internal/gctune).
	n := 0
	for i := range m.Regions {
		if r := &m.Regions[i]; inRun(r) && (i == 0 || !inRun(&m.Regions[i-1]) || m.Regions[i-1].End() != r.Base) {
			n++
		}
	}
	if n == 0 {
		return nil // as before the count: no runs, no list
	}
	out := makeLarge[FreeRun](n)
	m.eachFreeRun(func(f FreeRun) { out = append(out, f) })
	return out
}

// inRun reports whether r is part of a free run (runGatherer.add's test).
func inRun(r *Region) bool { return r.IsFree() && r.State == minidump.MemFree && !r.Blocked }

// eachFreeRun calls fn with each free run in address order, allocating nothing.
func (m *Map) eachFreeRun(fn func(FreeRun)) {
	var g runGatherer
	for i := range m.Regions {
		g.add(&m.Regions[i], fn)
	}
	g.close(fn)
}

// runGatherer joins consecutive free regions into free runs, for callers that walk
// the regions anyway.
type runGatherer struct {
	cur  FreeRun
	open bool
}

// add takes the next region in address order, calling fn with a run it completes.
func (g *runGatherer) add(r *Region, fn func(FreeRun)) {
	if !inRun(r) {
		g.close(fn)
		return
	}
	if g.open && g.cur.End() != r.Base {
		g.close(fn)
	}
	if !g.open {
		g.cur, g.open = FreeRun{Base: r.Base}, true
	}
	g.cur.Size += r.Size
	if r.Usage == UsageFree {
		if g.cur.UsableSize == 0 {
			g.cur.UsableBase = r.Base
		}
		// splitRun leaves at most one usable piece per run.
		g.cur.UsableSize += r.Size
	}
}

// close ends the open run, if any.
func (g *runGatherer) close(fn func(FreeRun)) {
	if g.open {
		fn(g.cur)
		g.open = false
	}
}

// FreeStats sums up the free space.
type FreeStats struct {
	Total         uint64  // all free bytes, usable or not
	Runs          int     // number of free runs
	Largest       FreeRun // the largest run, as WinDbg's "Largest Region by Usage: Free"
	LargestUsable FreeRun // the run with the largest usable part
	UsableTotal   uint64
	Unusable      uint64 // free bytes no reservation can use
	UnusableRuns  int    // runs that are entirely unusable
}

// FreeStats computes totals and the largest free and largest usable free blocks.
func (m *Map) FreeStats() FreeStats {
	var s FreeStats
	m.eachFreeRun(s.add)
	return s
}

// add counts one free run.
func (s *FreeStats) add(f FreeRun) {
	s.Runs++
	s.Total += f.Size
	s.UsableTotal += f.UsableSize
	s.Unusable += f.Unusable()
	if f.UsableSize == 0 {
		s.UnusableRuns++
	}
	if f.Size > s.Largest.Size {
		s.Largest = f
	}
	if f.UsableSize > s.LargestUsable.UsableSize {
		s.LargestUsable = f
	}
}
