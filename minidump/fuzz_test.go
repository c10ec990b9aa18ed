package minidump_test

// Fuzz targets: New and every stream accessor. Run one with, for example,
//
//	go test ./minidump -run '^$' -fuzz '^FuzzModules$' -fuzztime 5m
//
// Seeds are small synthetic dumps holding the stream under test (so most mutations
// land in it) and, when fuzzing and ../shared is present, the corpus dumps. Crashers
// are kept as regression seeds in testdata/fuzz/FuzzXxx/.
//
// Beyond "no panic" each target checks: errors are of the documented kinds; no list
// holds more entries than the file has room for; located data lies inside the file;
// decoding twice gives the same answer; and, on a sample of inputs, the bytes
// allocated stay within a small multiple of the file size.

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/dumpmap/dumpmap/minidump"
	mdt "github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// streamSeeds returns small dumps that hold streams of type t (nil: all kinds).
func streamSeeds(t minidump.StreamType) [][]byte {
	var out [][]byte
	add := func(b *mdt.Builder) { out = append(out, b.Bytes()) }
	mods := func(b *mdt.Builder) *mdt.Builder {
		return b.Module(mdt.Module{Base: 0x400000, Size: 0x1000, Name: "a.exe", Version: [4]uint16{1, 2, 3, 4},
			CodeView: mdt.RSDS(guidA, 2, "a.pdb"), Misc: mdt.MiscRecord(1, true, "a.dbg")}).
			Module(mdt.Module{Base: 0x10000000, Size: 0x2000, Name: "b.dll", CodeView: mdt.NB10(1, 2, "b.pdb")}).
			Module(mdt.Module{Base: 0x20000000, Size: 0x2000, Name: "libc.so", CodeView: mdt.BpEL([]byte{1, 2, 3, 4})})
	}
	switch t {
	case minidump.StreamModuleList:
		add(mods(mdt.New()))
		b := mods(mdt.New())
		b.PadLists = true
		add(b)
	case minidump.StreamUnloadedModuleList:
		add(mdt.New().UnloadedModule(mdt.UnloadedModule{Base: 0x1000, Size: 0x100, Name: "gone.dll"}).
			UnloadedModule(mdt.UnloadedModule{Base: 0x2000, Size: 0x100, Name: "x"}))
	case minidump.StreamThreadList:
		th := mdt.Thread{ID: 1, TEB: 0x7000, StackStart: 0x1000, Stack: fill('s', 16), Context: fill('c', 8)}
		add(mdt.New().Thread(th).Thread(th))
		b := mdt.New().ThreadEx(mdt.ThreadEx{Thread: th, BackingStoreStart: 0x9000, BackingStore: fill('b', 8)})
		b.PadLists = true
		add(b)
	case minidump.StreamThreadInfoList:
		add(mdt.New().ThreadInfo(mdt.ThreadInfo{ThreadID: 1, CreateTime: 132223104000000000, KernelTime: 5}).ThreadInfo(mdt.ThreadInfo{ThreadID: 2}))
	case minidump.StreamThreadNames:
		add(mdt.New().ThreadName(1, "main").ThreadName(2, "wörker"))
	case minidump.StreamException:
		add(mdt.New().ExceptionFull(mdt.ExceptionSpec{ThreadID: 1, Code: minidump.ExceptionAccessViolation, NumberParameters: 2,
			Params: []uint64{1, 0x10}, Context: fill('c', 16)}))
	case minidump.StreamMemoryList, minidump.StreamMemory64List:
		add(mdt.New().Memory(0x1000, fill('a', 16)).Memory(0x1010, fill('b', 16)).Memory(0x2000, fill('c', 8)))
		add(mdt.New().Memory64(0x1000, fill('a', 16)).Memory64(0x1010, fill('b', 16)).Memory64(0x3000, fill('d', 32)))
		add(mdt.New().Memory(0x1000, fill('a', 16)).Memory64(0x1008, fill('b', 16)).Memory64(0x1018, nil))
	case minidump.StreamMemoryInfoList:
		r := []minidump.MemoryInfo{{BaseAddress: 0, RegionSize: 0x10000, State: minidump.MemFree, Protect: 1},
			{BaseAddress: 0x10000, AllocationBase: 0x10000, RegionSize: 0x1000, State: minidump.MemCommit, Protect: 4, Type: minidump.MemPrivate}}
		add(mdt.New().Region(r...))
		b := mdt.New().Region(r...)
		b.RegionHeaderSize, b.RegionEntrySize = 24, 56
		add(b)
	case minidump.StreamHandleData:
		h := mdt.Handle{Handle: 4, TypeName: "Event", ObjectName: "x", HandleCount: 1}
		add(mdt.New().Handle(h).Handle(mdt.Handle{Handle: 8, TypeName: "Event"}))
		b := mdt.New().Handle(h)
		b.HandleDescriptorSize = 32
		add(b)
	case minidump.StreamCommentA, minidump.StreamCommentW:
		add(mdt.New().CommentA("hello").CommentW("wörld").Stream(minidump.StreamLinuxCmdLine, []byte("a\x00b\x00")))
	case minidump.StreamBreakpadInfo:
		add(mdt.New().BreakpadInfo(3, 1, 2))
	case minidump.StreamCrashpadInfo:
		add(mdt.New().CrashpadInfo(1, guidA, guidB, map[string]string{"prod": "app", "ver": "1.0", "": "x"}))
	case minidump.StreamSystemInfo:
		add(mdt.New().SystemInfo(mdt.Windows7x86()))
		add(mdt.New().SystemInfo(mdt.SystemInfo{Arch: minidump.ArchARM64, Platform: minidump.PlatformLinux, CSDVersion: "Linux"}))
	case minidump.StreamMiscInfo:
		for v := 1; v <= 5; v++ {
			add(mdt.New().MiscInfoFull(mdt.MiscInfoSpec{Version: v, Flags: 0x3ff, ProcessID: 1, BuildString: "b", StandardName: "s"}))
		}
	case minidump.StreamSystemMemoryInfo:
		add(mdt.New().SystemMemoryInfo1(minidump.SystemMemoryInfo{Revision: 1, PageSize: 4096, AllocationGranularity: 0x10000}))
	case minidump.StreamProcessVMCounters:
		add(mdt.New().ProcessVMCounters(minidump.ProcessVMCounters{Revision: 1, PrivateUsage: 7}))
		add(mdt.New().ProcessVMCounters(minidump.ProcessVMCounters{Revision: 2, VirtualSize: 7}))
	}
	add(richDump())
	return out
}

var fuzzCorpusAdded atomic.Bool

// addSeeds adds the seeds for a target: the synthetic dumps and, when fuzzing, the
// corpus dumps from ../shared (up to 512 KB each, to keep the fuzzer fast).
func addSeeds(f *testing.F, t minidump.StreamType, extra ...any) {
	for _, s := range streamSeeds(t) {
		f.Add(append([]any{s}, extra...)...)
	}
	if fl := flag.Lookup("test.fuzz"); fl == nil || fl.Value.String() == "" {
		return
	}
	dir := sharedDir()
	if dir == "" {
		return
	}
	filepath.WalkDir(filepath.Join(dir, "corpus"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "corpus"), p)
		if !isDumpName(filepath.ToSlash(rel)) {
			return nil
		}
		if st, err := d.Info(); err == nil && st.Size() <= 512<<10 {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(append([]any{data}, extra...)...)
			}
		}
		return nil
	})
	fuzzCorpusAdded.Store(true)
}

var fuzzCount atomic.Int64

// allocSampled runs fn and fails if it allocated more than a small multiple of the
// input's size. While fuzzing it measures one input in 64 (reading the allocation
// statistics stops the world); on the seed corpus, every input.
func allocSampled(t *testing.T, size int, fn func()) {
	if fl := flag.Lookup("test.fuzz"); fl != nil && fl.Value.String() != "" && fuzzCount.Add(1)%64 != 0 {
		fn()
		return
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(32*size)+4<<20; got > limit {
		t.Fatalf("allocated %d bytes for a %d-byte input (limit %d)", got, size, limit)
	}
}

// openFuzz opens data, checking New's invariants; nil if it is not a usable dump.
func openFuzz(t *testing.T, data []byte) *minidump.File {
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if p := errKindsProblem(err, false); p != nil {
			t.Fatal(p)
		}
		if f != nil {
			t.Fatal("New returned a File and an error")
		}
		return nil
	}
	if len(f.Streams) > len(data)/12 {
		t.Fatalf("%d directory entries in %d bytes", len(f.Streams), len(data))
	}
	if len(f.Warnings) > 65 {
		t.Fatalf("%d warnings for %d streams", len(f.Warnings), len(f.Streams))
	}
	for _, w := range f.Warnings {
		if p := errKindsProblem(w, false); p != nil {
			t.Fatal(p)
		}
	}
	for _, s := range f.Streams {
		if s.Available < 0 || s.Available > s.Size || s.Available > 0 && s.Offset+s.Available > int64(len(data)) {
			t.Fatalf("stream %+v: available bytes outside the file", s)
		}
	}
	return f
}

// fuzzAccessor is the body shared by the per-accessor targets.
func fuzzAccessor(f *testing.F, name string) {
	var acc accessor
	for _, a := range accessors {
		if a.Name == name {
			acc = a
		}
	}
	addSeeds(f, acc.Streams[0])
	f.Fuzz(func(t *testing.T, data []byte) {
		file := openFuzz(t, data)
		if file == nil {
			return
		}
		var v any
		var n int
		var err error
		allocSampled(t, len(data), func() { v, n, err = acc.Call(file) })
		if p := errKindsProblem(err, false); p != nil {
			t.Fatal(p)
		}
		present := false
		for _, typ := range acc.Streams {
			present = present || file.HasStream(typ)
		}
		if !present && name != "Memory" && name != "Comments" && !errors.Is(err, minidump.ErrNoStream) {
			t.Fatalf("no stream but %v", err)
		}
		if acc.MinSize > 0 && n > len(data)/acc.MinSize {
			t.Fatalf("%d entries from %d bytes", n, len(data))
		}
		checkValue(t, data, v)
		v2, _, err2 := acc.Call(file)
		if !reflect.DeepEqual(v, v2) || (err == nil) != (err2 == nil) {
			t.Fatalf("second call differs")
		}
	})
}

// checkValue checks what an accessor returned against the file it came from.
func checkValue(t *testing.T, data []byte, v any) {
	size := uint64(len(data))
	switch x := v.(type) {
	case []minidump.MemoryRange:
		for _, r := range x {
			// A range whose data is missing may point anywhere; the bytes that are
			// said to be present must be in the file.
			if r.Available > r.Size || r.Available > 0 && (r.Offset < 0 || uint64(r.Offset)+r.Available > size) {
				t.Fatalf("range %+v lies outside the %d-byte file", r, size)
			}
		}
	case []minidump.Module:
		for _, m := range x {
			if len(m.Name) > 3*64<<10/2 {
				t.Fatalf("name of %d bytes", len(m.Name))
			}
			if m.CodeView != nil && len(m.CodeView.PDBPath)+len(m.CodeView.BuildID) > int(m.CvRecord.Size) {
				t.Fatalf("CodeView %+v longer than its %d-byte record", m.CodeView, m.CvRecord.Size)
			}
		}
	case *minidump.CrashpadInfo:
		if x != nil && len(x.SimpleAnnotations) > 4096 {
			t.Fatalf("%d annotations", len(x.SimpleAnnotations))
		}
	case string:
		if uint64(len(x)) > 2*size {
			t.Fatalf("text of %d bytes from %d", len(x), size)
		}
	case []string:
		// Aliased directory entries give the same string again, not a copy: count
		// each distinct one once.
		total := 0
		seen := map[*byte]bool{}
		for _, s := range x {
			if p := unsafe.StringData(s); !seen[p] {
				seen[p] = true
				total += len(s)
			}
		}
		if uint64(total) > 2*size {
			t.Fatalf("comments of %d bytes from %d", total, size)
		}
	}
}

func FuzzNew(f *testing.F) {
	addSeeds(f, 0)
	for _, s := range [][]byte{nil, []byte("MDMP"), []byte("PAGEDU64"), []byte("\x7fELF\x02\x01\x01")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var file *minidump.File
		allocSampled(t, len(data), func() { file = openFuzz(t, data) })
		if file == nil {
			return
		}
		// Every accessor, as a user listing a damaged dump would.
		for _, a := range allAccessors(file) {
			var v any
			var n int
			var err error
			allocSampled(t, len(data), func() { v, n, err = a.Call(file) })
			if p := errKindsProblem(err, false); p != nil {
				t.Fatalf("%s: %v", a.Name, p)
			}
			if a.MinSize > 0 && n > len(data)/a.MinSize {
				t.Fatalf("%s: %d entries from %d bytes", a.Name, n, len(data))
			}
			checkValue(t, data, v)
		}
	})
}

func FuzzSystemInfo(f *testing.F)        { fuzzAccessor(f, "SystemInfo") }
func FuzzMiscInfo(f *testing.F)          { fuzzAccessor(f, "MiscInfo") }
func FuzzSystemMemoryInfo(f *testing.F)  { fuzzAccessor(f, "SystemMemoryInfo") }
func FuzzProcessVMCounters(f *testing.F) { fuzzAccessor(f, "ProcessVMCounters") }
func FuzzModules(f *testing.F)           { fuzzAccessor(f, "Modules") }
func FuzzUnloadedModules(f *testing.F)   { fuzzAccessor(f, "UnloadedModules") }
func FuzzThreads(f *testing.F)           { fuzzAccessor(f, "Threads") }
func FuzzThreadInfos(f *testing.F)       { fuzzAccessor(f, "ThreadInfos") }
func FuzzThreadNames(f *testing.F)       { fuzzAccessor(f, "ThreadNames") }
func FuzzException(f *testing.F)         { fuzzAccessor(f, "Exception") }
func FuzzMemoryList(f *testing.F)        { fuzzAccessor(f, "MemoryList") }
func FuzzMemoryInfo(f *testing.F)        { fuzzAccessor(f, "MemoryInfo") }
func FuzzHandles(f *testing.F)           { fuzzAccessor(f, "Handles") }
func FuzzComments(f *testing.F)          { fuzzAccessor(f, "Comments") }
func FuzzBreakpadInfo(f *testing.F)      { fuzzAccessor(f, "BreakpadInfo") }
func FuzzCrashpadInfo(f *testing.F)      { fuzzAccessor(f, "CrashpadInfo") }

// FuzzText reads every stream of the dump as text.
func FuzzText(f *testing.F) {
	addSeeds(f, minidump.StreamCommentA)
	f.Fuzz(func(t *testing.T, data []byte) {
		file := openFuzz(t, data)
		if file == nil {
			return
		}
		for _, s := range file.Streams {
			txt, err := file.Text(s.Type)
			if p := errKindsProblem(err, false); p != nil {
				t.Fatal(p)
			}
			checkValue(t, data, txt)
		}
	})
}

// FuzzMemory64List decodes the Memory64List (and MemoryList) and reads memory through
// them, checking every byte of a read against a naive reference: for each address,
// the first range (by start, as the reader orders them) holding it.
func FuzzMemory64List(f *testing.F) {
	addSeeds(f, minidump.StreamMemory64List, uint64(0x1000), uint16(64))
	f.Fuzz(func(t *testing.T, data []byte, va uint64, n uint16) {
		file := openFuzz(t, data)
		if file == nil {
			return
		}
		var rs []minidump.MemoryRange
		var err error
		allocSampled(t, len(data), func() { rs, err = file.Memory64List() })
		if p := errKindsProblem(err, false); p != nil {
			t.Fatal(p)
		}
		if len(rs) > len(data)/16 {
			t.Fatalf("%d ranges from %d bytes", len(rs), len(data))
		}
		checkValue(t, data, rs)
		checkMemoryRead(t, file, data, va, int(n%1024))
	})
}

// FuzzMemoryRead fuzzes the address and length of reads as much as the dump.
func FuzzMemoryRead(f *testing.F) {
	addSeeds(f, minidump.StreamMemoryList, uint64(0x1000), uint16(64))
	for _, s := range streamSeeds(minidump.StreamMemoryList) {
		f.Add(s, uint64(0xff8), uint16(16))
		f.Add(s, ^uint64(0)-4, uint16(8))
	}
	f.Fuzz(func(t *testing.T, data []byte, va uint64, n uint16) {
		file := openFuzz(t, data)
		if file == nil {
			return
		}
		checkMemoryRead(t, file, data, va, int(n%1024))
	})
}

func checkMemoryRead(t *testing.T, file *minidump.File, data []byte, va uint64, n int) {
	mem, err := file.Memory()
	if p := errKindsProblem(err, false); p != nil {
		t.Fatal(p)
	}
	ranges := mem.Ranges()
	for i := 1; i < len(ranges); i++ {
		if ranges[i].Start < ranges[i-1].End() || ranges[i].Size == 0 {
			t.Fatalf("ranges overlap or are empty: %+v %+v", ranges[i-1], ranges[i])
		}
	}
	// Aim some reads at captured memory.
	if len(ranges) > 0 && va%3 == 0 {
		r := ranges[int(va/3)%len(ranges)]
		va = r.Start + (va>>8)%(r.Size+1) - min(uint64(n)/2, r.Start)
	}
	p := fill(0xa5, n)
	got, err := mem.ReadAt(p, va)
	var me *minidump.MissingMemoryError
	if err != nil && !errors.As(err, &me) {
		t.Fatalf("ReadAt: %v", err)
	}
	// The reference: byte by byte.
	var missing []minidump.AddrRange
	want := make([]byte, n)
	count := 0
	for i := 0; i < n; i++ {
		addr := va + uint64(i)
		if addr < va { // past 2^64
			missing = appendMissing(missing, addr, true)
			continue
		}
		found := false
		for _, r := range ranges {
			if addr >= r.Start && addr-r.Start < r.Size {
				if off := addr - r.Start; off < r.Available {
					want[i] = data[r.Offset+int64(off)]
					found = true
				}
				break
			}
		}
		if found {
			count++
		} else {
			missing = appendMissing(missing, addr, false)
		}
	}
	if !bytes.Equal(p, want) || got != count {
		t.Fatalf("ReadAt(%#x, %d) = %d bytes %x, want %d bytes %x", va, n, got, p, count, want)
	}
	if (err == nil) != (len(missing) == 0) {
		t.Fatalf("ReadAt(%#x, %d): err %v, reference missing %v", va, n, err, missing)
	}
	if me != nil && va+uint64(n) >= va && !reflect.DeepEqual(me.Missing, missing) {
		t.Fatalf("ReadAt(%#x, %d): missing %v, reference %v", va, n, me.Missing, missing)
	}
}

// appendMissing extends a list of missing half-open ranges by one address.
func appendMissing(ms []minidump.AddrRange, addr uint64, wrapped bool) []minidump.AddrRange {
	if wrapped {
		return ms
	}
	if k := len(ms); k > 0 && ms[k-1].End == addr {
		ms[k-1].End++
		return ms
	}
	return append(ms, minidump.AddrRange{Start: addr, End: addr + 1})
}

// FuzzScanMemoryInfo: the chunked reader gives what MemoryInfo gives.
func FuzzScanMemoryInfo(f *testing.F) {
	addSeeds(f, minidump.StreamMemoryInfoList)
	f.Fuzz(func(t *testing.T, data []byte) {
		file := openFuzz(t, data)
		if file == nil {
			return
		}
		want, werr := file.MemoryInfo()
		var got []minidump.MemoryInfo
		var n int
		var gerr error
		allocSampled(t, len(data), func() {
			n, gerr = file.ScanMemoryInfo(func(b []minidump.MemoryInfo) bool { got = append(got, b...); return true })
		})
		if p := errKindsProblem(gerr, false); p != nil {
			t.Fatal(p)
		}
		if n != len(got) || len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) || (werr == nil) != (gerr == nil) {
			t.Fatalf("scan: %d entries (n %d), %v; MemoryInfo: %d, %v", len(got), n, gerr, len(want), werr)
		}
	})
}

// FuzzReadCache: reads through Open's block cache equal reads of the bytes.
func FuzzReadCache(f *testing.F) {
	f.Add(make([]byte, 200000), int64(65530), uint16(20))
	f.Add([]byte("short"), int64(3), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, off int64, n uint16) {
		direct := bytes.NewReader(data)
		cache := minidump.NewReadCache(direct, int64(len(data)))
		for i := range 3 { // the second and third reads hit the cache
			o := off + int64(i)*int64(n)/2
			want := make([]byte, n)
			wn, werr := direct.ReadAt(want, o)
			got := make([]byte, n)
			gn, gerr := cache.ReadAt(got, o)
			if gn != wn || !bytes.Equal(got[:gn], want[:wn]) || n > 0 && (gerr == nil) != (werr == nil) {
				t.Fatalf("ReadAt(%d at %d): cache %d %v, file %d %v", n, o, gn, gerr, wn, werr)
			}
		}
	})
}
