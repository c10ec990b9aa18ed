package minidumptest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/dumpmap/dumpmap/minidump"
)

// ManyRangesSpec shapes the dump ManyRanges builds.
type ManyRangesSpec struct {
	// Ranges is the number of small captured ranges (62,148 in the dump of a Unity
	// game that prompted this builder).
	Ranges int
	// Modules and Threads default to 150 and 60.
	Modules, Threads int
	// MemoryInfo adds a MemoryInfoList describing the modules, stacks, TEBs and the
	// heap segments the ranges lie in (MiniDumpWithFullMemoryInfo); without it the
	// dump is a plain MiniDumpNormal and a map of it is partial.
	MemoryInfo bool
	// Seed varies the addresses and sizes; the same spec always builds the same
	// bytes.
	Seed uint64
}

// ManyRanges returns a builder holding the kind of 64-bit dump that
// MiniDumpWriteDump writes with MiniDumpWithIndirectlyReferencedMemory: modules,
// threads with their captured stacks and contexts, an access violation on the
// first thread, and tens of thousands of small captured ranges (8 to 64 bytes,
// about 32 on average, the memory the stacks point to) scattered over a few heap
// segments and listed in the order the writer found them, not sorted. It is the
// input of the benchmarks that check that the cost of a dump does not grow with
// its captured ranges faster than a parser that lists them.
func ManyRanges(spec ManyRangesSpec) *Builder {
	if spec.Modules == 0 {
		spec.Modules = 150
	}
	if spec.Threads == 0 {
		spec.Threads = 60
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 0x6d616e79))
	b := New()
	b.Flags = minidump.DumpWithIndirectlyReferencedMemory | minidump.DumpWithUnloadedModules
	if spec.MemoryInfo {
		b.Flags |= minidump.DumpWithFullMemoryInfo
	}
	si := Windows10x64()
	// An empty CSDVersion would be written at RVA 0, which LLVM's reader (obj2yaml,
	// the side-by-side peer) rejects.
	si.CSDVersion = " "
	b.SystemInfo(si)
	b.MiscInfo(2, 0x1f34, 0x5f000000)

	const (
		modBase   = 0x7ff6_0000_0000
		modStride = 0x40_0000
		stackBase = 0x0000_00a0_0000_0000
		stackRes  = 0x10_0000 // 1 MB reservation per thread
		tebBase   = 0x0000_0090_0000_0000
		heapBase  = 0x0000_0200_0000_0000
		heapSeg   = 0x100_0000 // 16 MB segments
		heapSegs  = 24
	)
	le := binary.LittleEndian
	var regions []minidump.MemoryInfo
	for i := range spec.Modules {
		base := modBase + uint64(i)*modStride
		size := uint32(0x10_0000 + rng.IntN(0x20_0000)&^0xfff)
		name := fmt.Sprintf(`C:\Program Files\Game\Game_Data\Plugins\module%03d.dll`, i)
		if i == 0 {
			name = `C:\Program Files\Game\Game.exe`
		}
		var g minidump.GUID
		le.PutUint32(g[:], uint32(i+1))
		b.Module(Module{Base: base, Size: size, Name: name, Time: 0x5f000000 + uint32(i),
			CodeView: RSDS(g, 1, fmt.Sprintf("module%03d.pdb", i))})
		regions = append(regions, minidump.MemoryInfo{BaseAddress: base, AllocationBase: base, AllocationProtect: minidump.PageExecuteWriteCopy,
			RegionSize: uint64(size+0xfff) &^ 0xfff, State: minidump.MemCommit, Protect: minidump.PageExecuteRead, Type: minidump.MemImage})
	}
	modAddr := func() uint64 {
		m := rng.IntN(spec.Modules)
		return modBase + uint64(m)*modStride + 0x1000 + uint64(rng.IntN(0xf0000))
	}
	heapAddr := func() uint64 {
		return heapBase + uint64(rng.IntN(heapSegs))*heapSeg + uint64(rng.IntN(heapSeg-0x1000))&^7
	}
	for i := range spec.Threads {
		id := uint32(0x1000 + 4*i)
		res := stackBase + uint64(i)*stackRes
		captured := 0x1000 + rng.IntN(0x4000)&^0xf
		top := res + stackRes
		start := top - uint64(captured)
		stack := make([]byte, captured)
		for o := 0; o+8 <= len(stack); o += 8 {
			var v uint64
			switch rng.IntN(4) {
			case 0:
				v = modAddr() // a return address
			case 1:
				v = heapAddr()
			case 2:
				v = start + uint64(rng.IntN(captured))&^7 // a frame pointer
			default:
				v = uint64(rng.IntN(1 << 16))
			}
			le.PutUint64(stack[o:], v)
		}
		teb := tebBase + uint64(i)*0x2000
		rsp := start + 0x100
		ctx := Context(minidump.ArchAMD64, map[string]uint64{"rip": modAddr(), "rsp": rsp, "rbp": rsp + 0x80})
		b.Thread(Thread{ID: id, TEB: teb, StackStart: start, Stack: stack, Context: ctx})
		regions = append(regions,
			minidump.MemoryInfo{BaseAddress: res, AllocationBase: res, AllocationProtect: minidump.PageReadWrite, RegionSize: stackRes - uint64(captured) - 0x3000, State: minidump.MemReserve, Type: minidump.MemPrivate},
			minidump.MemoryInfo{BaseAddress: top - uint64(captured) - 0x3000, AllocationBase: res, AllocationProtect: minidump.PageReadWrite, RegionSize: 0x3000, State: minidump.MemCommit, Protect: minidump.PageReadWrite | minidump.PageGuard, Type: minidump.MemPrivate},
			minidump.MemoryInfo{BaseAddress: start, AllocationBase: res, AllocationProtect: minidump.PageReadWrite, RegionSize: uint64(captured), State: minidump.MemCommit, Protect: minidump.PageReadWrite, Type: minidump.MemPrivate},
			minidump.MemoryInfo{BaseAddress: teb, AllocationBase: teb, AllocationProtect: minidump.PageReadWrite, RegionSize: 0x2000, State: minidump.MemCommit, Protect: minidump.PageReadWrite, Type: minidump.MemPrivate})
		if i == 0 {
			b.ExceptionFull(ExceptionSpec{ThreadID: id, Code: minidump.ExceptionAccessViolation, Address: modAddr(), NumberParameters: 2,
				Params: []uint64{0, 0x18}, Context: ctx})
		}
	}
	for s := range heapSegs {
		base := heapBase + uint64(s)*heapSeg
		regions = append(regions, minidump.MemoryInfo{BaseAddress: base, AllocationBase: base, AllocationProtect: minidump.PageReadWrite,
			RegionSize: heapSeg, State: minidump.MemCommit, Protect: minidump.PageReadWrite, Type: minidump.MemPrivate})
	}

	// The ranges: disjoint, 8-byte aligned, 8 to 64 bytes, in the heap segments.
	type rg struct{ va, n uint64 }
	seen := make(map[uint64]bool, spec.Ranges)
	rs := make([]rg, 0, spec.Ranges)
	for len(rs) < spec.Ranges {
		va := heapAddr() &^ 63 // one range per 64-byte line keeps them disjoint
		if seen[va] {
			continue
		}
		seen[va] = true
		rs = append(rs, rg{va, uint64(8 + 8*rng.IntN(8))})
	}
	data := make([]byte, 64)
	for _, r := range rs {
		for o := uint64(0); o < r.n; o += 8 {
			le.PutUint64(data[o:], heapAddr())
		}
		b.Memory(r.va, slices.Clone(data[:r.n]))
	}
	for i := range 3 {
		b.UnloadedModule(UnloadedModule{Base: modBase + uint64(spec.Modules+i)*modStride, Size: 0x10000, Name: fmt.Sprintf(`C:\Windows\System32\gone%d.dll`, i)})
	}
	if spec.MemoryInfo {
		slices.SortFunc(regions, func(a, b minidump.MemoryInfo) int {
			if a.BaseAddress < b.BaseAddress {
				return -1
			}
			if a.BaseAddress > b.BaseAddress {
				return 1
			}
			return 0
		})
		var full []minidump.MemoryInfo
		cur := uint64(0)
		for _, r := range regions {
			if r.BaseAddress > cur {
				full = append(full, minidump.MemoryInfo{BaseAddress: cur, RegionSize: r.BaseAddress - cur, State: minidump.MemFree, Protect: minidump.PageNoAccess})
			}
			full = append(full, r)
			cur = r.BaseAddress + r.RegionSize
		}
		full = append(full, minidump.MemoryInfo{BaseAddress: cur, RegionSize: 0x7fff_ffff_0000 - cur, State: minidump.MemFree, Protect: minidump.PageNoAccess})
		b.Region(full...)
	}
	return b
}
