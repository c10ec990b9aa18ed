package analysis

import "github.com/dumpmap/dumpmap/minidump"

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
	var out []FreeRun
	m.eachFreeRun(func(f FreeRun) { out = append(out, f) })
	return out
}

// eachFreeRun calls fn with each free run in address order, allocating nothing.
func (m *Map) eachFreeRun(fn func(FreeRun)) {
	var cur FreeRun
	open := false
	for i := range m.Regions {
		r := &m.Regions[i]
		if !r.IsFree() || r.State != minidump.MemFree || r.Blocked {
			if open {
				fn(cur)
				open = false
			}
			continue
		}
		if open && cur.End() != r.Base {
			fn(cur)
			open = false
		}
		if !open {
			cur, open = FreeRun{Base: r.Base}, true
		}
		cur.Size += r.Size
		if r.Usage == UsageFree {
			if cur.UsableSize == 0 {
				cur.UsableBase = r.Base
			}
			// appendFree leaves at most one usable piece per run.
			cur.UsableSize += r.Size
		}
	}
	if open {
		fn(cur)
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
