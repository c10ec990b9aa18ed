package ntheap

import (
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// TestWineFixtures: in every full-memory dump of the fixture lab, every heap the
// process listed itself (GetProcessHeaps, the truth's heaps[]) is found, is
// recognised as Wine's heap (never misread as an NT heap), and its walk agrees
// with the HeapWalk the process ran before it was dumped (docs/fixtures.md).
//
// Wine 8.0's HeapWalk reports each block's data, not its size: a used block's
// cbData is its size less the 8-byte header and its tail_size (Block.Unused); a
// free block's is its size less the header and the list links (8 + 2 pointers),
// and for the free block that runs into the uncommitted tail, its committed part
// less the same and less 4*BLOCK_ALIGN more (heap_walk_blocks, "FIXME: last free
// block should not include uncommitted range"); a large block's is its data_size.
func TestWineFixtures(t *testing.T) {
	for _, fx := range fullFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			d := openDump(t, fx.path)
			if d.ptr != 8 || fx.truth.PointerSize != 8 {
				t.Fatalf("pointer size %d", d.ptr)
			}
			infos, err := d.f.MemoryInfo()
			if err != nil {
				t.Fatal(err)
			}
			cands := func(yield func(uint64) bool) {
				seen := map[uint64]bool{}
				for _, r := range infos {
					if r.State == minidump.MemCommit && r.Type == minidump.MemPrivate && !seen[r.AllocationBase] {
						seen[r.AllocationBase] = true
						if !yield(r.AllocationBase) {
							return
						}
					}
				}
			}
			disc := Discover(DiscoverInput{Memory: d.mem, Version: d.version, PointerSize: 8, TEBs: d.tebs, Candidates: cands})
			for _, p := range disc.PEBs {
				if p.Addr != hexAddr(t, fx.truth.PEB) || p.ProcessHeap != hexAddr(t, fx.truth.ProcessHeap) {
					t.Errorf("PEB %+v, truth PEB %s process heap %s", p, fx.truth.PEB, fx.truth.ProcessHeap)
				}
			}
			for _, th := range disc.Heaps {
				if th.Kind != KindWine {
					t.Errorf("heap %#x found as %s", th.Addr, th.Kind)
				}
			}
			if len(disc.Heaps) != len(fx.truth.Heaps) {
				t.Errorf("found %d heaps, the process listed %d", len(disc.Heaps), len(fx.truth.Heaps))
			}
			for _, want := range fx.truth.Heaps {
				addr := hexAddr(t, want.Handle)
				f := disc.Get(addr, 8)
				if f == nil {
					t.Errorf("heap %s not found", want.Handle)
					continue
				}
				var byList, byScan, byPEB bool
				for _, b := range f.FoundBy {
					byList = byList || b.Method == MethodWineHeapList
					byScan = byScan || b.Method == MethodSignatureScan
					byPEB = byPEB || b.Method == MethodPEBProcessHeap
				}
				if !byScan || (want.ProcessHeap && !byPEB) || (!want.ProcessHeap && !byList) || f.ProcessHeap != want.ProcessHeap {
					t.Errorf("heap %s found by %v", want.Handle, f.FoundBy)
				}
				h := d.open(t, addr, 8)
				if h.Kind != KindWine || h.Flags != want.Flags {
					t.Errorf("%s: kind %s flags %#x, want wine %#x", want.Handle, h.Kind, h.Flags, want.Flags)
				}
				var freeData, largest, busyData uint64
				var free, busy, ucr int
				var ucrBytes uint64
				res := h.Walk(func(b Block) bool {
					switch b.Type {
					case BlockFree:
						free++
						data := b.Size - 8 - 16
						if b.Extent > b.Size {
							data -= 4 * 16
						}
						freeData += data
						largest = max(largest, data)
					case BlockBusy:
						busy++
						busyData += b.Size - 8 - b.Unused
					case BlockVirtual:
						busy++
						busyData += b.Size - 0x40 - b.Unused
					case BlockUncommitted:
						ucr++
						ucrBytes += b.Size
					}
					return true
				})
				w := want.Walk
				if !res.Complete || free != w.FreeBlocks || freeData != w.FreeBytes || largest != w.LargestFreeBlock ||
					busy != w.BusyBlocks || busyData != w.BusyBytes || ucr != w.UncommittedRanges || ucrBytes != w.UncommittedBytes {
					t.Errorf("%s: walk complete %v free %d/%d largest %d busy %d/%d ucr %d/%d; HeapWalk %+v (stops %v)",
						want.Handle, res.Complete, free, freeData, largest, busy, busyData, ucr, ucrBytes, w, res.Stops)
				}
				s := h.Summary()
				if s.Kind != KindWine || *s.SegmentCount != uint32(w.Regions) || *s.Reserved != w.RegionBytes || *s.Committed != w.CommittedBytes ||
					!s.WalkComplete || *s.FreeBlocks != w.FreeBlocks {
					t.Errorf("%s: summary %+v; HeapWalk %+v", want.Handle, s, w)
				}
				// The free lists hold exactly the free blocks the walk saw.
				if s.FreeListLength != w.FreeBlocks {
					t.Errorf("%s: free list length %d, HeapWalk free blocks %d", want.Handle, s.FreeListLength, w.FreeBlocks)
				}
			}
		})
	}
}
