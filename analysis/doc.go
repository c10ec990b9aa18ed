// Package analysis rebuilds a process's virtual address space from a minidump the way
// WinDbg's !address and Sysinternals VMMap show a live process, and explains it: which
// regions are images, stacks, heaps or free; which free space is usable for a new
// reservation and which is lost to the 64 KB allocation granularity; and, for a given
// request, whether an allocation would have failed and why.
//
// Build a Map with NewMap, then ask it questions: Summary for the !address -summary
// tables, FreeRuns for the free space, Allocations for VMMap's tree.
package analysis
