package ntheap

import (
	"fmt"
	"sort"
)

// Wine's heap (Wine 8.0, dlls/ntdll/heap.c; the source of Debian 12's
// wine_8.0~repack, the Wine that made the fixture dumps) is not an NT heap. Its
// struct heap imitates only the first fields of _HEAP: the segment signature
// 0xFFEEFFEE at +0x8/+0x10, "auto_flags" after it, and flags/force_flags at
// +0x40/+0x44 (x86) or +0x70/+0x74 (x64). What follows is Wine's own:
//
//	struct list entry, subheap_list, large_list; SIZE_T grow_size, min_size;
//	DWORD magic ("HEAP"); DWORD pending_pos; struct block **pending_free;
//	RTL_CRITICAL_SECTION cs; struct entry free_lists[N]; SUBHEAP subheap;
//
// A block header is 8 bytes: WORD block_size (in units of 2 pointers), BYTE
// block_flags (1 free, 2 previous free), BYTE tail_size (used: unused bytes; free:
// size bits 16-23), WORD base_offset, WORD block_type ("US" used, "FR" free).
type wineLayout struct {
	align                  uint64 // BLOCK_ALIGN
	subheapList, largeList uint64
	growSize, minSize      uint64
	magic                  uint64
	freeLists              uint64
	nFreeLists             int
	subheap                uint64 // the first SUBHEAP, inside struct heap
	// SUBHEAP: block_size, data_size, entry (list link), block (first block), sizeof
	shBlockSize, shDataSize, shEntry, shBlock, shSize uint64
	// ARENA_LARGE: entry, data_size, block_size, sizeof
	lgEntry, lgDataSize, lgBlockSize, lgSize uint64
}

var (
	// x86: cs (RTL_CRITICAL_SECTION) is 24 bytes, free_lists aligned to 8;
	// HEAP_MIN_BLOCK_SIZE 24 gives (0x100-24)/8+1 = 30 small lists, plus 4.
	wine32 = wineLayout{align: 8, subheapList: 0x50, largeList: 0x58, growSize: 0x60, minSize: 0x64, magic: 0x68,
		freeLists: 0x90, nFreeLists: 34, subheap: 0x90 + 34*16,
		shBlockSize: 0x4, shDataSize: 0x8, shEntry: 0xc, shBlock: 0x18, shSize: 0x20,
		lgEntry: 0x4, lgDataSize: 0xc, lgBlockSize: 0x10, lgSize: 0x20}
	// x64: cs is 40 bytes; HEAP_MIN_BLOCK_SIZE 48 gives (0x100-48)/16+1 = 14 small lists, plus 4.
	wine64 = wineLayout{align: 16, subheapList: 0x88, largeList: 0x98, growSize: 0xa8, minSize: 0xb0, magic: 0xb8,
		freeLists: 0xf0, nFreeLists: 18, subheap: 0xf0 + 18*32,
		shBlockSize: 0x10, shDataSize: 0x18, shEntry: 0x20, shBlock: 0x38, shSize: 0x40,
		lgEntry: 0x10, lgDataSize: 0x20, lgBlockSize: 0x28, lgSize: 0x40}
)

const (
	wineMagic         = 0x50414548 // 'H' | 'E'<<8 | 'A'<<16 | 'P'<<24
	wineTypeUsed      = 0x5355     // BLOCK_TYPE_USED
	wineTypeDead      = 0xdead     // BLOCK_TYPE_DEAD (a delayed free)
	wineTypeFree      = 0x5246     // BLOCK_TYPE_FREE
	wineTypeLarge     = 0x614c     // BLOCK_TYPE_LARGE
	wineFlagFree      = 0x01
	wineFlagFreeLink  = 0x03 // a free-list sentinel
	wineRegionAlign   = 0x10000
	wineMaxFreeBlock  = 128 << 20 // HEAP_MAX_FREE_BLOCK_SIZE on x86 (x2 on x64), bounds a block size
	wineMaxSubheapLen = 0xffff0000
)

func wineLayoutFor(ptr int) wineLayout {
	if ptr == 4 {
		return wine32
	}
	return wine64
}

type wineHeap struct {
	l        wineLayout
	growSize uint64
	minSize  uint64
	large    []VirtualBlock
	// largeData is each large block's data_size (for HeapWalk-style sums).
	largeData []uint64
}

// isWine recognises Wine's struct heap by its own fields: the segment signature,
// "HEAP" magic at Wine's offset, and the first free-list sentinel (block flags
// BLOCK_FLAG_FREE_LINK, type BLOCK_TYPE_FREE).
func isWine(m *mem, addr uint64, ptr int) (string, bool) {
	l := wineLayoutFor(ptr)
	if sig, err := m.u32(addr+2*uint64(ptr), "heap signature"); err != nil || sig != SegmentSignature {
		return "", false
	}
	magic, err := m.u32(addr+l.magic, "Wine heap magic")
	if err != nil || magic != wineMagic {
		return "", false
	}
	var b [8]byte
	if m.read(b[:], addr+l.freeLists, "Wine free-list sentinel") != nil {
		return "", false
	}
	if b[2] != wineFlagFreeLink || uint16(b[6])|uint16(b[7])<<8 != wineTypeFree {
		return "", false
	}
	return fmt.Sprintf("Wine heap: segment signature at +%#x, magic \"HEAP\" at +%#x and free-list sentinels at +%#x (Wine 8 dlls/ntdll/heap.c), not an NT heap layout",
		2*ptr, l.magic, l.freeLists), true
}

func (h *Heap) readWine() {
	l := wineLayoutFor(h.PointerSize)
	w := &wineHeap{l: l}
	h.wine = w
	h.FrontEnd = FrontEndNone // Wine 8.0 has no front end (RtlQueryHeapInformation says "standard heap")
	ptr := h.PointerSize
	flagsOff, forceOff := uint64(0x40), uint64(0x44)
	if ptr == 8 {
		flagsOff, forceOff = 0x70, 0x74
	}
	if v, err := h.m.u32(h.Addr+flagsOff, "Wine heap flags"); err == nil {
		h.Flags = v
	}
	if v, err := h.m.u32(h.Addr+forceOff, "Wine heap force_flags"); err == nil {
		h.ForceFlags = v
	}
	w.growSize, _ = h.m.ptrAt(h.Addr+l.growSize, "Wine grow_size")
	w.minSize, _ = h.m.ptrAt(h.Addr+l.minSize, "Wine min_size")
	h.SegmentReserve = w.growSize
	// Blocks above HEAP_MIN_LARGE_BLOCK_SIZE become large blocks: 0xffff units of
	// BLOCK_ALIGN less a page.
	h.VirtualMemoryThreshold = 0xffff*l.align - 0x1000

	seen := map[uint64]bool{}
	head := h.Addr + l.subheapList
	err := h.m.walkList(head, h.opts.MaxSegments, "Wine sub-heap", func(link uint64) bool {
		sh := link - l.shEntry
		if seen[sh] {
			h.problem(sh, "Wine SUBHEAP", "listed twice")
			return false
		}
		seen[sh] = true
		if s, ok := h.readWineSubheap(sh); ok {
			h.Segments = append(h.Segments, s)
		}
		return true
	})
	if err != nil {
		h.problem(head, "Wine subheap_list", "%v", unwrapRead(err))
	}
	sort.Slice(h.Segments, func(i, j int) bool { return h.Segments[i].Base < h.Segments[j].Base })

	head = h.Addr + l.largeList
	err = h.m.walkList(head, h.opts.MaxListEntries, "Wine large block", func(link uint64) bool {
		a := link - l.lgEntry
		var b [16]byte
		buf := b[:2*ptr]
		if err := h.m.read(buf, a+l.lgDataSize, "Wine ARENA_LARGE"); err != nil {
			h.problem(a, "Wine ARENA_LARGE", "%v", unwrapRead(err))
			return false
		}
		data, size := le(buf, 0, ptr), le(buf, uint64(ptr), ptr)
		if size < l.lgSize || data > size-l.lgSize {
			h.problem(a, "Wine ARENA_LARGE", "data size %#x does not fit the block's %#x bytes", data, size)
			return false
		}
		w.large = append(w.large, VirtualBlock{Addr: a, CommitSize: size, ReserveSize: size})
		w.largeData = append(w.largeData, data)
		return true
	})
	if err != nil {
		h.problem(head, "Wine large_list", "%v", unwrapRead(err))
	}
	h.VirtualBlocks = w.large
}

// readWineSubheap reads a SUBHEAP: its base is its address rounded down to 64 KB;
// block_size is the bytes from its first block to the end of the reservation,
// data_size the committed bytes after the SUBHEAP.
func (h *Heap) readWineSubheap(sh uint64) (Segment, bool) {
	l := h.wine.l
	ptr := h.PointerSize
	b := make([]byte, l.shSize)
	if err := h.m.read(b, sh, "Wine SUBHEAP"); err != nil {
		h.problem(sh, "Wine SUBHEAP", "%v", unwrapRead(err))
		return Segment{}, false
	}
	blockSize, dataSize := le(b, l.shBlockSize, ptr), le(b, l.shDataSize, ptr)
	base := sh &^ (wineRegionAlign - 1)
	first := sh + l.shBlock
	commitEnd := sh + l.shSize + dataSize
	end := first + blockSize
	if blockSize > wineMaxSubheapLen || dataSize > blockSize || end < first || commitEnd < first || commitEnd > end {
		h.problem(sh, "Wine SUBHEAP", "inconsistent sizes: %#x bytes of blocks, %#x committed", blockSize, dataSize)
		return Segment{}, false
	}
	s := Segment{Addr: sh, Base: base, Reserved: end - base, FirstEntry: first, LastValidEntry: commitEnd,
		UncommittedBytes: end - commitEnd, UncommittedRanges: 1, UCRs: []Range{{commitEnd, end - commitEnd}}}
	return s, true
}

// walkWine walks each sub-heap as Wine's heap_walk_blocks does: from the first
// block while the next block's header still lies before the last 8 bytes of the
// committed part; then the sub-heap's uncommitted tail (reported even when empty,
// as Wine's HeapWalk does); then the large blocks. A free block that runs into the
// uncommitted tail is reported with Size clipped to the committed part and Extent
// its full size.
func (h *Heap) walkWine(res *WalkResult, emit func(Block) bool) {
	res.Complete = true
	budget := h.opts.MaxBlocks
	g := uint64(2 * h.PointerSize)
	for i := range h.Segments {
		s := &h.Segments[i]
		commitEnd := s.LastValidEntry
		last := commitEnd - 8
		cur := s.FirstEntry
		stopped := false
		for {
			if budget <= 0 {
				res.Stops = append(res.Stops, Stop{cur, i, fmt.Sprintf("more than %d blocks (the walk's bound)", h.opts.MaxBlocks)})
				stopped = true
				break
			}
			budget--
			var hb [8]byte
			if err := h.m.cached(hb[:], cur, "Wine block"); err != nil {
				res.Stops = append(res.Stops, Stop{cur, i, unwrapRead(err).Error()})
				stopped = true
				break
			}
			flags := hb[2]
			units := uint64(hb[0]) | uint64(hb[1])<<8
			if flags&wineFlagFree != 0 {
				units += uint64(hb[3]) << 16
			}
			size := units * g
			typ := uint16(hb[6]) | uint16(hb[7])<<8
			if size == 0 || (typ != wineTypeUsed && typ != wineTypeFree && typ != wineTypeDead) {
				res.Stops = append(res.Stops, Stop{cur, i, fmt.Sprintf("not a Wine block header (size %#x, type %#x): damage", size, typ)})
				stopped = true
				break
			}
			blk := Block{Addr: cur, Size: size, Extent: size, Flags: flags, Segment: i}
			if flags&wineFlagFree != 0 {
				blk.Type = BlockFree
				if cur+size > commitEnd || cur+size < cur {
					blk.Size = commitEnd - cur
				}
			} else {
				blk.Type = BlockBusy
				blk.Unused = uint64(hb[3])
				if cur+size > commitEnd || cur+size < cur {
					res.Stops = append(res.Stops, Stop{cur, i, fmt.Sprintf("a used block of %#x bytes runs past the committed end %#x", size, commitEnd)})
					stopped = true
					break
				}
			}
			if !emit(blk) {
				res.Complete = false
				res.Stops = append(res.Stops, Stop{cur, i, errStopped.Error()})
				return
			}
			next := cur + size
			// next_block(): the next header must lie in [cur+8, last-8].
			if next < cur+8 || next+8 > last || next < cur {
				break
			}
			cur = next
		}
		if stopped {
			res.Complete = false
		}
		if !emit(Block{Addr: commitEnd, Size: s.UCRs[0].Size, Type: BlockUncommitted, Segment: i}) {
			res.Complete = false
			return
		}
	}
	for k, v := range h.wine.large {
		if !emit(Block{Addr: v.Addr, Size: v.CommitSize, Type: BlockVirtual, Unused: v.CommitSize - h.wine.l.lgSize - h.wine.largeData[k], Segment: -1}) {
			res.Complete = false
			return
		}
	}
	for _, p := range h.Problems {
		res.Complete = false
		res.Stops = append(res.Stops, Stop{Addr: p.Addr, Segment: -1, Reason: p.What + ": " + p.Reason})
	}
	if len(h.Segments) == 0 {
		res.Complete = false
	}
}

func (h *Heap) wineFreeListLength() (int, error) {
	l := h.wine.l
	n := 0
	head := h.Addr + l.freeLists + 8 // free_lists[0].entry, after its block header
	err := h.m.walkList(head, h.opts.MaxListEntries, "Wine free", func(link uint64) bool {
		var b [8]byte
		if h.m.cached(b[:], link-8, "Wine free entry") == nil && b[2] != wineFlagFreeLink {
			n++
		}
		return true
	})
	if err != nil {
		return -1, err
	}
	return n, nil
}
