package minidump_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/internal/raw"
	mdt "github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// agreeWithGenerated checks that the hand-written decoders of the hot lists
// (MemoryInfoList, Memory64List, ModuleList, ThreadList/ThreadExList, MemoryList) give
// exactly what the binparsergen accessors of internal/raw read at the same offsets.
// It returns how many entries were compared.
func agreeWithGenerated(t *testing.T, name string, data []byte) int {
	t.Helper()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return 0
	}
	r := bytes.NewReader(data)
	p := raw.NewProfile()
	compared := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if compared >= 0 {
			t.Errorf("%s: "+format, append([]any{name}, args...)...)
			compared = -1 << 30 // report one disagreement per file
		}
	}
	// entriesAt is where a counted list's entries start: after the u32 count, or
	// after 4 more bytes of padding when the stream size says so.
	entriesAt := func(s *minidump.Stream, entry int64) int64 {
		n := int64(raw.ParseUint32(r, s.Offset))
		if s.Size == 8+n*entry {
			return s.Offset + 8
		}
		return s.Offset + 4
	}

	if s := f.Stream(minidump.StreamMemoryInfoList); s != nil {
		got, _ := f.MemoryInfo()
		hdr := p.MINIDUMP_MEMORY_INFO_LIST(r, s.Offset)
		for i, g := range got {
			e := p.MINIDUMP_MEMORY_INFO(r, s.Offset+int64(hdr.SizeOfHeader())+int64(i)*int64(hdr.SizeOfEntry()))
			want := minidump.MemoryInfo{BaseAddress: e.BaseAddress(), AllocationBase: e.AllocationBase(),
				AllocationProtect: minidump.Protect(e.AllocationProtect()), RegionSize: e.RegionSize(),
				State: minidump.MemState(e.State()), Protect: minidump.Protect(e.Protect()), Type: minidump.MemType(e.Type())}
			if g != want {
				fail("MemoryInfo %d: hand %+v, generated %+v", i, g, want)
			}
			compared++
		}
		if uint64(len(got)) > hdr.NumberOfEntries() {
			fail("MemoryInfo: %d entries, header says %d", len(got), hdr.NumberOfEntries())
		}
	}
	if s := f.Stream(minidump.StreamMemory64List); s != nil {
		got, _ := f.Memory64List()
		hdr := p.MINIDUMP_MEMORY64_LIST(r, s.Offset)
		off := hdr.BaseRva()
		for i, g := range got {
			e := p.MINIDUMP_MEMORY_DESCRIPTOR64(r, s.Offset+16+int64(i)*16)
			wantOff := int64(min(off, uint64(len(data))))
			if g.Start != e.StartOfMemoryRange() || g.Size != e.DataSize() || g.Offset != wantOff {
				fail("Memory64 %d: hand %+v, generated start %#x size %#x at %#x", i, g, e.StartOfMemoryRange(), e.DataSize(), off)
			}
			off += e.DataSize()
			compared++
		}
		if uint64(len(got)) > hdr.NumberOfMemoryRanges() {
			fail("Memory64: %d ranges, header says %d", len(got), hdr.NumberOfMemoryRanges())
		}
	}
	if s := f.Stream(minidump.StreamModuleList); s != nil {
		got, _ := f.Modules()
		at := entriesAt(s, 108)
		for i, g := range got {
			e := p.MINIDUMP_MODULE(r, at+int64(i)*108)
			v := e.VersionInfo()
			want := minidump.FixedFileInfo{Signature: v.Signature(), StrucVersion: v.StrucVersion(),
				FileVersionMS: v.FileVersionMS(), FileVersionLS: v.FileVersionLS(), ProductVersionMS: v.ProductVersionMS(),
				ProductVersionLS: v.ProductVersionLS(), FileFlagsMask: v.FileFlagsMask(), FileFlags: v.FileFlags(),
				FileOS: v.FileOS(), FileType: v.FileType(), FileSubtype: v.FileSubtype(), FileDateMS: v.FileDateMS(), FileDateLS: v.FileDateLS()}
			cv, misc := e.CvRecord(), e.MiscRecord()
			if g.Base != e.BaseOfImage() || g.Size != e.SizeOfImage() || g.Checksum != e.CheckSum() ||
				g.TimeDateStamp != e.TimeDateStamp() || g.Version != want ||
				g.CvRecord != (minidump.Location{Size: cv.DataSize(), RVA: cv.Rva()}) ||
				g.MiscRecord != (minidump.Location{Size: misc.DataSize(), RVA: misc.Rva()}) {
				fail("module %d: hand %+v, generated base %#x size %#x", i, g, e.BaseOfImage(), e.SizeOfImage())
			}
			compared++
		}
	}
	threadList := func(typ minidump.StreamType, size int64) {
		s := f.Stream(typ)
		if s == nil {
			return
		}
		got, _ := f.Threads()
		at := entriesAt(s, size)
		for i, g := range got {
			var want minidump.Thread
			if typ == minidump.StreamThreadList {
				e := p.MINIDUMP_THREAD(r, at+int64(i)*size)
				st, ctx := e.Stack(), e.ThreadContext()
				want = minidump.Thread{ID: e.ThreadId(), SuspendCount: e.SuspendCount(), PriorityClass: e.PriorityClass(),
					Priority: e.Priority(), TEB: e.Teb(),
					Stack:   minidump.MemoryDescriptor{Start: st.StartOfMemoryRange(), Data: minidump.Location{Size: st.Memory().DataSize(), RVA: st.Memory().Rva()}},
					Context: minidump.Location{Size: ctx.DataSize(), RVA: ctx.Rva()}}
			} else {
				e := p.MINIDUMP_THREAD_EX(r, at+int64(i)*size)
				st, ctx, bs := e.Stack(), e.ThreadContext(), e.BackingStore()
				want = minidump.Thread{ID: e.ThreadId(), SuspendCount: e.SuspendCount(), PriorityClass: e.PriorityClass(),
					Priority: e.Priority(), TEB: e.Teb(),
					Stack:        minidump.MemoryDescriptor{Start: st.StartOfMemoryRange(), Data: minidump.Location{Size: st.Memory().DataSize(), RVA: st.Memory().Rva()}},
					Context:      minidump.Location{Size: ctx.DataSize(), RVA: ctx.Rva()},
					BackingStore: minidump.MemoryDescriptor{Start: bs.StartOfMemoryRange(), Data: minidump.Location{Size: bs.Memory().DataSize(), RVA: bs.Memory().Rva()}}}
			}
			if g != want {
				fail("thread %d: hand %+v, generated %+v", i, g, want)
			}
			compared++
		}
	}
	if f.HasStream(minidump.StreamThreadList) {
		threadList(minidump.StreamThreadList, 48)
	} else {
		threadList(minidump.StreamThreadExList, 64)
	}
	if s := f.Stream(minidump.StreamMemoryList); s != nil {
		got, _ := f.MemoryList()
		at := entriesAt(s, 16)
		for i, g := range got {
			e := p.MINIDUMP_MEMORY_DESCRIPTOR(r, at+int64(i)*16)
			if g.Start != e.StartOfMemoryRange() || g.Size != uint64(e.Memory().DataSize()) || g.Offset != int64(e.Memory().Rva()) {
				fail("memory range %d: hand %+v, generated %#x %+v", i, g, e.StartOfMemoryRange(), e.Memory())
			}
			compared++
		}
	}
	return compared
}

func TestHandDecodersAgreeWithGenerated(t *testing.T) {
	synthetic := map[string][]byte{"rich": richDump().Bytes()}
	b := richDump()
	b.PadLists = true
	b.RegionHeaderSize, b.RegionEntrySize = 24, 56
	synthetic["padded-entry56"] = b.Bytes()
	b = mdt.New().ThreadEx(mdt.ThreadEx{Thread: mdt.Thread{ID: 9, TEB: 0x7000, StackStart: 0x1000, Stack: fill(1, 8), Context: fill(2, 4)},
		BackingStoreStart: 0x9000, BackingStore: fill(3, 16)})
	b.PadLists = true
	synthetic["thread-ex"] = b.Bytes()
	big := mdt.New()
	for i := range 5000 {
		big.Region(minidump.MemoryInfo{BaseAddress: uint64(i) << 16, AllocationBase: uint64(i) << 16, AllocationProtect: minidump.Protect(i),
			RegionSize: 0x10000, State: minidump.MemState(i * 3), Protect: minidump.Protect(i * 5), Type: minidump.MemType(i * 7)})
		if i%10 == 0 {
			big.Module(mdt.Module{Base: uint64(i) << 32, Size: uint32(i), Checksum: uint32(i * 3), Time: uint32(i * 11), Name: fmt.Sprint(i),
				Version: [4]uint16{uint16(i), 2, 3, uint16(i >> 3)}, CodeView: mdt.RSDS(guidA, uint32(i), "x.pdb")})
			big.Memory64(uint64(i)<<20, fill(byte(i), i))
			big.Thread(mdt.Thread{ID: uint32(i), TEB: uint64(i) * 7, StackStart: uint64(i) * 9, Stack: fill(byte(i), i%64)})
		}
	}
	synthetic["big"] = big.Bytes()
	for name, data := range synthetic {
		if n := agreeWithGenerated(t, name, data); n == 0 {
			t.Errorf("%s: only %d entries compared", name, n)
		}
	}
	// Every corpus dump, the damaged ones included (for the entries we return).
	if sharedDir() != "" {
		root, rels := corpusDumps(t)
		total := 0
		for _, rel := range rels {
			data, err := os.ReadFile(filepath.Join(root, rel))
			if err != nil {
				t.Fatal(err)
			}
			total += agreeWithGenerated(t, rel, data)
		}
		if total < 10000 {
			t.Errorf("only %d corpus entries compared", total)
		}
		t.Logf("%d corpus list entries agree", total)
	}
}
