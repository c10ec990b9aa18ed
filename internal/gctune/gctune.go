// Package gctune is the dumpmap command's garbage-collection policy. Only the
// command uses it: the library never changes how the process collects.
//
// A dumpmap run is short, and most of what it allocates stays live until it exits
// (the region map, the streams), so collecting early only costs time: a collection
// scans every region (a Region holds a pointer), and while it marks, every write
// into the map pays a write barrier. The policy is therefore to collect only when
// the heap reaches a memory limit (GOGC=off): a base that small dumps and batch
// triage never reach, raised for a dump by the memory its region map will need, so
// a dump of a million regions is never collected at all while a dump holding tens
// of thousands of captured ranges stays under about 64 MB.
//
// Measured (docs/performance.md): GOGC=800 started a collection on a dump of
// 200,000 regions once the layout's second half had its own array, and on a
// million regions a collection during the layout doubled its CPU time.
package gctune

import (
	"os"
	"runtime/debug"

	"github.com/dumpmap/dumpmap/minidump"
)

// Base is the memory limit before a dump is opened, and its floor after.
const Base = 40 << 20

// Per-entry estimates of the live memory a map needs: a MemoryInfoList entry
// becomes 1.25 regions of 64 bytes (the slice's capacity), and the free runs,
// allocations and summary derived from them; a captured range is decoded and
// sorted (three copies of 40 bytes).
const (
	perRegionEntry = 192
	perRange       = 128
)

var auto bool // the limit is the policy's, not the user's (GOMEMLIMIT)

// Start sets the policy for the process, unless the user set GOGC or GOMEMLIMIT
// (then theirs applies).
func Start() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(-1)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		auto = true
		debug.SetMemoryLimit(Base)
	}
}

// ForDump raises the memory limit for the dump f, from the sizes of its lists
// (read from the directory and the MemoryInfoList header, nothing else).
func ForDump(f *minidump.File) {
	if !auto || f == nil {
		return
	}
	need := int64(Base)
	if n, err := f.MemoryInfoCount(); err == nil {
		need += int64(n) * perRegionEntry
	}
	for _, t := range []minidump.StreamType{minidump.StreamMemoryList, minidump.StreamMemory64List} {
		if s := f.Stream(t); s != nil {
			need += s.Size / 16 * perRange
		}
	}
	if need > debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(need)
	}
}
