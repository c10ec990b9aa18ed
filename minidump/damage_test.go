package minidump_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	mdt "github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// richDump has one of every stream the package decodes, with names, records and
// memory, and Memory64 data last as in a real full-memory dump.
func richDump() *mdt.Builder {
	ctx := bytes.Repeat([]byte{0x3f, 0, 1, 0}, 179)
	b := mdt.New().
		SystemInfo(mdt.Windows10x64()).
		MiscInfoFull(mdt.MiscInfoSpec{Version: 5, Flags: 0x3ff, ProcessID: 4242, CreateTime: 0x5f000000, TimeZoneBias: -60,
			StandardName: "W. Europe Standard Time", BuildString: "10.0.19041.1", DbgBldStr: "dbghelp", ProcessCookie: 7}).
		SystemMemoryInfo(4096, 0x10000, 0x10000, 0x7ffffffeffff).
		ProcessVMCounters(minidump.ProcessVMCounters{Revision: 2, PrivateUsage: 1 << 20, VirtualSize: 1 << 30}).
		Module(mdt.Module{Base: 0x140000000, Size: 0x5000, Name: `C:\app\app.exe`, Version: [4]uint16{1, 2, 3, 4},
			CodeView: mdt.RSDS(guidA, 1, `C:\build\app.pdb`), Misc: mdt.MiscRecord(1, true, "app.dbg")}).
		Module(mdt.Module{Base: 0x7ff800000000, Size: 0x1f0000, Name: `C:\Windows\System32\ntdll.dll`, CodeView: mdt.NB10(5, 6, "ntdll.pdb")}).
		UnloadedModule(mdt.UnloadedModule{Base: 0x7ff700000000, Size: 0x1000, Name: "gone.dll"}).
		Thread(mdt.Thread{ID: 0x1a2b, TEB: 0x7ffdf000, StackStart: 0x20000, Stack: fill('s', 64), Context: ctx}).
		Thread(mdt.Thread{ID: 0x1a2c, TEB: 0x7ffde000, StackStart: 0x30000, Stack: fill('t', 32)}).
		ThreadInfo(mdt.ThreadInfo{ThreadID: 0x1a2b, CreateTime: 132223104000000000, StartAddress: 0x140001000}).
		ThreadName(0x1a2b, "MainThread").ThreadName(0x1a2c, "Worker").
		ExceptionFull(mdt.ExceptionSpec{ThreadID: 0x1a2b, Code: minidump.ExceptionAccessViolation, Address: 0x140001010,
			NumberParameters: 2, Params: []uint64{1, 0x10}, Context: ctx}).
		Memory(0x140001000, fill('c', 48)).Memory(0x140001030, fill('d', 16)).
		Region(minidump.MemoryInfo{BaseAddress: 0, RegionSize: 0x10000, State: minidump.MemFree, Protect: minidump.PageNoAccess},
			minidump.MemoryInfo{BaseAddress: 0x10000, AllocationBase: 0x10000, RegionSize: 0x30000, State: minidump.MemCommit,
				Protect: minidump.PageReadWrite, Type: minidump.MemPrivate}).
		Handle(mdt.Handle{Handle: 4, TypeName: "Event", ObjectName: `\Sessions\1\BaseNamedObjects\x`, HandleCount: 1}).
		Handle(mdt.Handle{Handle: 8, TypeName: "Event"}).
		CommentA("ansi comment").CommentW("wide comment").
		BreakpadInfo(3, 0x1a2c, 0x1a2b).
		CrashpadInfo(1, guidA, guidB, map[string]string{"prod": "app", "ver": "1.0"}).
		Stream(minidump.StreamLinuxMaps, []byte("00400000-00401000 r-xp 00000000 08:01 1 /app\n")).
		Stream(minidump.StreamType(0x4b6b0002), []byte("vendor")).
		Memory64(0x20000, fill('s', 64)).Memory64(0x20040, fill('u', 0x40)).Memory64(0x50000, fill('v', 0x100))
	return b
}

// TestTruncatedEverywhere cuts a dump with every stream at every byte and checks that
// nothing panics, that every accessor whose bytes all survive still gives exactly what
// it gives on the whole file, that an accessor missing any byte it needs says so, that
// the directory warns about each stream the cut damaged, and that memory reads report
// exactly the bytes lost.
func TestTruncatedEverywhere(t *testing.T) {
	full := richDump().Bytes()
	ref := parse(t, full)
	if len(ref.Warnings) != 0 {
		t.Fatal(ref.Warnings)
	}
	// What each accessor returns on the whole file, and the furthest byte it reads.
	type refResult struct {
		v   any
		n   int
		end int64
	}
	cr := &countingReader{r: bytes.NewReader(full)}
	counted, err := minidump.New(cr, int64(len(full)))
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]refResult{}
	for _, a := range allAccessors(ref) {
		cr.reset()
		v, n, err := a.Call(counted)
		if err != nil {
			t.Fatalf("%s on the whole file: %v", a.Name, err)
		}
		end := cr.max.Load()
		if rs, ok := v.([]minidump.MemoryRange); ok {
			// Ranges also depend on where their data lies: Available is computed
			// from the file size, without reading.
			for _, r := range rs {
				end = max(end, r.Offset+int64(r.Size))
			}
		}
		refs[a.Name] = refResult{v, n, end}
	}
	refMem, _ := ref.Memory()
	dirEnd := 32 + 12*len(ref.Streams)

	for cut := 0; cut <= len(full); cut++ {
		data := full[:cut]
		f, err := minidump.New(bytes.NewReader(data), int64(cut))
		switch {
		case cut < 32:
			if err == nil {
				t.Fatalf("cut %d: no error for a file shorter than the header", cut)
			}
			checkErrKinds(t, fmt.Sprintf("cut %d", cut), err, false)
			continue
		case cut < 44:
			if err == nil || !strings.Contains(err.Error(), "no stream directory entry fits") {
				t.Fatalf("cut %d: %v", cut, err)
			}
			continue
		case err != nil:
			t.Fatalf("cut %d: %v", cut, err)
		}
		if cut < dirEnd {
			fit := (cut - 32) / 12
			if len(f.Streams) != fit || len(f.Warnings) == 0 || !strings.Contains(f.Warnings[0].Error(),
				fmt.Sprintf("directory truncated: %d streams declared, %d fit", len(ref.Streams), fit)) {
				t.Fatalf("cut %d: %d streams, warnings %v", cut, len(f.Streams), f.Warnings)
			}
		}
		warnings := make([]string, len(f.Warnings))
		for i, w := range f.Warnings {
			warnings[i] = w.Error()
		}
		for _, s := range f.Streams {
			end := s.Offset + s.Size
			damaged := s.Type != minidump.StreamUnused && end > int64(cut)
			if damaged != (s.Damage != nil) || s.Available != min(s.Size, max(0, int64(cut)-s.Offset)) && s.Type != minidump.StreamUnused {
				t.Fatalf("cut %d: stream %v: damage %v, available %d", cut, s.Type, s.Damage, s.Available)
			}
			if damaged && !warned(warnings, s.Type) {
				t.Errorf("cut %d: no warning for %v (%#x+%#x)", cut, s.Type, s.Offset, s.Size)
			}
		}
		for _, a := range allAccessors(f) {
			v, n, err := a.Call(f)
			if p := errKindsProblem(err, false); p != nil {
				t.Errorf("cut %d %s: %v", cut, a.Name, p)
			}
			if a.MinSize > 0 && n > cut/a.MinSize {
				t.Errorf("cut %d: %s decoded %d entries from %d bytes", cut, a.Name, n, cut)
			}
			r, ok := refs[a.Name]
			if !ok {
				continue
			}
			inDir := false
			for _, typ := range a.Streams {
				inDir = inDir || f.HasStream(typ)
			}
			if !inDir {
				continue // its directory entry was cut off
			}
			if r.end <= int64(cut) && allEntriesFit(f, ref, a.Streams) {
				if err != nil || !reflect.DeepEqual(v, r.v) {
					t.Errorf("cut %d (after all %s reads, at %d): got %v, %v", cut, a.Name, r.end, err, v)
				}
			} else if err == nil && !reflect.DeepEqual(v, r.v) {
				t.Errorf("cut %d: %s lost data without an error", cut, a.Name)
			}
		}
		// Memory: every byte that survived reads back, every byte lost is reported.
		mem, _ := f.Memory()
		if mem == nil {
			continue
		}
		known := map[uint64]bool{} // ranges whose list entry survived the cut
		for _, rg := range mem.Ranges() {
			known[rg.Start] = true
		}
		for _, rg := range refMem.Ranges() {
			p := make([]byte, rg.Size)
			_, err := mem.ReadAt(p, rg.Start)
			avail := uint64(min(int64(rg.Size), max(0, int64(cut)-rg.Offset)))
			if !known[rg.Start] {
				avail = 0
			}
			if !bytes.Equal(p[:avail], full[rg.Offset:rg.Offset+int64(avail)]) || !bytes.Equal(p[avail:], make([]byte, rg.Size-avail)) {
				t.Errorf("cut %d: range %#x: wrong bytes", cut, rg.Start)
			}
			var me *minidump.MissingMemoryError
			switch {
			case avail == rg.Size && err != nil:
				t.Errorf("cut %d: range %#x intact but %v", cut, rg.Start, err)
			case avail < rg.Size && (!errors.As(err, &me) ||
				!reflect.DeepEqual(me.Missing, []minidump.AddrRange{{rg.Start + avail, rg.End()}})):
				t.Errorf("cut %d: range %#x+%#x with %d bytes: %v", cut, rg.Start, rg.Size, avail, err)
			}
		}
	}
}

// warned reports whether one of the warnings names a stream of type typ.
func warned(warnings []string, typ minidump.StreamType) bool {
	for _, w := range warnings {
		if strings.Contains(w, typ.String()+" stream (directory entry") {
			return true
		}
	}
	return false
}

// allEntriesFit reports whether f's directory lists every stream of types that ref's
// does (a cut directory can drop the second of two streams an accessor reads).
func allEntriesFit(f, ref *minidump.File, types []minidump.StreamType) bool {
	count := func(x *minidump.File) (n int) {
		for _, s := range x.Streams {
			for _, t := range types {
				if s.Type == t {
					n++
				}
			}
		}
		return n
	}
	return count(f) == count(ref)
}

// patch32 and patch64 overwrite a little-endian field of data.
func patch32(data []byte, off int64, v uint32) { binary.LittleEndian.PutUint32(data[off:], v) }
func patch64(data []byte, off int64, v uint64) { binary.LittleEndian.PutUint64(data[off:], v) }

// TestCountLargerThanStream: every list whose count claims more entries than the stream
// holds yields the entries that are there and an error naming the stream and offset.
func TestCountLargerThanStream(t *testing.T) {
	tests := []struct {
		name     string
		typ      minidump.StreamType
		countOff int64
		wide     bool
		call     func(*minidump.File) (int, error)
		want     int
	}{
		{"Modules", minidump.StreamModuleList, 0, false, func(f *minidump.File) (int, error) { v, err := f.Modules(); return len(v), err }, 2},
		{"Threads", minidump.StreamThreadList, 0, false, func(f *minidump.File) (int, error) { v, err := f.Threads(); return len(v), err }, 2},
		{"MemoryList", minidump.StreamMemoryList, 0, false, func(f *minidump.File) (int, error) { v, err := f.MemoryList(); return len(v), err }, 2},
		{"ThreadNames", minidump.StreamThreadNames, 0, false, func(f *minidump.File) (int, error) { v, err := f.ThreadNames(); return len(v), err }, 2},
		{"Memory64List", minidump.StreamMemory64List, 0, true, func(f *minidump.File) (int, error) { v, err := f.Memory64List(); return len(v), err }, 3},
		{"MemoryInfo", minidump.StreamMemoryInfoList, 8, true, func(f *minidump.File) (int, error) { v, err := f.MemoryInfo(); return len(v), err }, 2},
		{"UnloadedModules", minidump.StreamUnloadedModuleList, 8, false, func(f *minidump.File) (int, error) { v, err := f.UnloadedModules(); return len(v), err }, 1},
		{"ThreadInfos", minidump.StreamThreadInfoList, 8, false, func(f *minidump.File) (int, error) { v, err := f.ThreadInfos(); return len(v), err }, 1},
		{"Handles", minidump.StreamHandleData, 8, false, func(f *minidump.File) (int, error) { v, err := f.Handles(); return len(v), err }, 2},
	}
	for _, tc := range tests {
		for _, count := range []uint64{uint64(tc.want) + 1, 1000, 0xffffffff, 1 << 62, ^uint64(0)} {
			if !tc.wide && count > 0xffffffff {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d", tc.name, count), func(t *testing.T) {
				data := richDump().Bytes()
				s := parse(t, data).Stream(tc.typ)
				if tc.wide {
					patch64(data, s.Offset+tc.countOff, count)
				} else {
					patch32(data, s.Offset+tc.countOff, uint32(count))
				}
				n, err := tc.call(parse(t, data))
				if n != tc.want {
					t.Errorf("%d entries, want the %d that fit", n, tc.want)
				}
				var fe *minidump.FormatError
				if !errors.As(err, &fe) || !strings.Contains(fe.Msg, "declared, only") || fe.Off != s.Offset {
					t.Errorf("err = %v, want a FormatError at %#x", err, s.Offset)
				}
			})
		}
	}
}

// TestStreamPastEOF: a directory entry pointing past the end of the file is a warning,
// not a failure; the other streams stay readable.
func TestStreamPastEOF(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rva, size uint32
		warn      string
		avail     int64
	}{
		{"starts-past", 0x7fffffff, 56, "starts past the end of the file", 0},
		{"extends-past", 0, 0xffffffff, "extends past the end of the file", -1},
		{"huge-both", 0xffffffff, 0xffffffff, "starts past the end of the file", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := richDump().Bytes()
			f := parse(t, data)
			idx := f.Stream(minidump.StreamSystemInfo).Index
			rva := tc.rva
			if rva == 0 {
				rva = uint32(len(data) - 10)
			}
			patch32(data, int64(32+12*idx+4), tc.size)
			patch32(data, int64(32+12*idx+8), rva)
			f = parse(t, data)
			s := f.Stream(minidump.StreamSystemInfo)
			if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0].Error(), tc.warn) ||
				!strings.Contains(f.Warnings[0].Error(), fmt.Sprintf("SystemInfo stream (directory entry %d) at offset %#x", idx, 32+12*idx)) {
				t.Errorf("warnings = %v", f.Warnings)
			}
			if tc.avail >= 0 && s.Available != tc.avail || tc.avail < 0 && s.Available != 10 {
				t.Errorf("Available = %d", s.Available)
			}
			si, err := f.SystemInfo()
			if si != nil || err == nil {
				t.Errorf("SystemInfo = %+v, %v", si, err)
			}
			checkErrKinds(t, "SystemInfo", err, false)
			for _, r := range callAll(f) {
				if r.Name != "SystemInfo" && r.Name != "Text(SystemInfo)" && r.Err != nil {
					t.Errorf("%s: %v", r.Name, r.Err)
				}
			}
		})
	}
}

// TestDirectoryDamage covers the header's count and directory RVA.
func TestDirectoryDamage(t *testing.T) {
	full := richDump().Bytes()
	tests := []struct {
		name      string
		count     uint32
		rva       uint32
		wantErr   string
		wantWarn  string
		wantCount int
	}{
		{"count-huge", 0xffffffff, 32, "", "directory truncated: 4294967295 streams declared", (len(full) - 32) / 12},
		{"rva-past-eof", 5, 0xfffffff0, "no stream directory entry fits in the file (5 declared", "", 0},
		{"count-zero", 0, 32, "", "the stream directory is empty", 0},
		{"overlaps-header", 2, 8, "", "directory overlaps the header", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Clone(full)
			patch32(data, 8, tc.count)
			patch32(data, 12, tc.rva)
			f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
			if tc.wantErr != "" {
				var fe *minidump.FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.wantErr) || fe.Where != "stream directory" {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Streams) != tc.wantCount || len(f.Warnings) == 0 || !strings.Contains(f.Warnings[0].Error(), tc.wantWarn) {
				t.Errorf("%d streams, warnings %v", len(f.Streams), f.Warnings)
			}
			for _, r := range callAll(f) {
				checkErrKinds(t, r.Name, r.Err, false)
			}
		})
	}
	// A wrong version is a warning only.
	data := bytes.Clone(full)
	patch32(data, 4, 0x1234)
	f := parse(t, data)
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0].Error(), "version 0x1234") {
		t.Errorf("warnings %v", f.Warnings)
	}
}

// TestPaddedListCutShort: a list whose stream size says "padded" (8 + n*entry) but
// whose bytes are cut by the end of the file.
func TestPaddedListCutShort(t *testing.T) {
	for _, typ := range []minidump.StreamType{minidump.StreamModuleList, minidump.StreamThreadList,
		minidump.StreamMemoryList, minidump.StreamThreadExList, minidump.StreamThreadNames} {
		for avail := 0; avail <= 8; avail++ {
			b := make([]byte, 44+avail)
			copy(b, "MDMP\x93\xa7\x00\x00\x01\x00\x00\x00\x20")
			patch32(b, 32, uint32(typ))
			patch32(b, 36, 8) // size: count 0, 4 bytes of padding
			patch32(b, 40, 44)
			f := parse(t, b)
			for _, r := range callAll(f) {
				if r.N != 0 {
					t.Errorf("%v with %d bytes: %s decoded %d entries", typ, avail, r.Name, r.N)
				}
				checkErrKinds(t, r.Name, r.Err, false)
				if r.Present(f) && avail < 8 && r.Err == nil && !strings.HasPrefix(r.Name, "Comments") {
					t.Errorf("%v with %d bytes: %s hid the damage", typ, avail, r.Name)
				}
			}
		}
	}
}

// TestHostileSizesAllocateLittle: counts and lengths of 2^32 or 2^64 in a small file
// must not make the reader allocate more than a small multiple of the file.
func TestHostileSizesAllocateLittle(t *testing.T) {
	data := richDump().Bytes()
	f := parse(t, data)
	le := binary.LittleEndian
	off := func(typ minidump.StreamType) int64 { return f.Stream(typ).Offset }
	// Counts.
	patch32(data, off(minidump.StreamModuleList), 0xffffffff)
	patch32(data, off(minidump.StreamThreadList), 0xffffffff)
	patch32(data, off(minidump.StreamThreadNames), 0xffffffff)
	patch64(data, off(minidump.StreamMemoryInfoList)+8, ^uint64(0))
	patch32(data, off(minidump.StreamHandleData)+8, 0xffffffff)
	patch64(data, off(minidump.StreamMemory64List), ^uint64(0))
	// Sizes of what entries point at.
	mod := off(minidump.StreamModuleList) + 4
	nameRVA := le.Uint32(data[mod+20:])
	patch32(data, int64(nameRVA), 0xfffffffe)                  // module name length
	patch32(data, mod+76, 0xffffffff)                          // CodeView size
	patch32(data, mod+84, 0xffffffff)                          // misc record size
	patch32(data, mod+108+76, maxCVRecord-1)                   // second module: large but under the limit
	patch32(data, off(minidump.StreamMemoryInfoList)+4, 1<<20) // SizeOfEntry
	ci := off(minidump.StreamCrashpadInfo)
	dict := le.Uint32(data[ci+40:])
	patch32(data, int64(dict), 0xffffffff) // annotation count
	patch32(data, ci+36, 0xffffffff)       // dictionary size

	f = parse(t, data)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		for _, r := range callAll(f) {
			checkErrKinds(t, r.Name, r.Err, false)
			if r.MinSize > 0 && r.N > len(data)/r.MinSize {
				t.Errorf("%s: %d entries from %d bytes", r.Name, r.N, len(data))
			}
		}
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / 10
	if limit := uint64(16*len(data)) + 32<<10; perCall > limit {
		t.Errorf("one pass over every accessor allocated %d bytes for a %d-byte file (limit %d)", perCall, len(data), limit)
	}
	t.Logf("one pass over every accessor: %d bytes allocated for a %d-byte file", perCall, len(data))
}

const maxCVRecord = 64 << 10

// TestUnusedEntryPastEOF: an unused directory entry (type 0) with a huge size is no
// damage worth a warning, but its Available must still count only bytes that exist:
// StreamData on it must not allocate the declared 3 GB. (Found by FuzzMemoryRead
// seeded with radare2-testbins/npe_w_bin_mdmp.c-111_1.mdmp.)
func TestUnusedEntryPastEOF(t *testing.T) {
	data := mdt.New().Stream(minidump.StreamUnused, nil).SystemInfo(mdt.Windows10x64()).Bytes()
	patch32(data, 32+4, 0xb8400041) // size
	patch32(data, 32+8, 0x40)       // rva
	f := parse(t, data)
	s := f.Streams[0]
	if s.Type != minidump.StreamUnused || s.Damage != nil || len(f.Warnings) != 0 || s.Available != int64(len(data))-0x40 {
		t.Fatalf("entry %+v, warnings %v", s, f.Warnings)
	}
	got, err := f.StreamData(minidump.StreamUnused, 0)
	if len(got) != len(data)-0x40 || err != nil {
		t.Errorf("StreamData = %d bytes, %v", len(got), err)
	}
	patch32(data, 32+8, 0xffffff00)
	if s := parse(t, data).Streams[0]; s.Available != 0 {
		t.Errorf("entry past EOF: Available %d", s.Available)
	}
}

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// aliasDump lays out a dump by hand: a 60 KB blob (a MINIDUMP_STRING, a UTF-8 string
// or raw text) at a known offset, and streams built by fn, which gets the blob's RVA.
func aliasDump(blob []byte, streams func(blobRVA uint32) map[minidump.StreamType][][]byte) []byte {
	const blobRVA = 0x1000
	ss := streams(blobRVA)
	var types []minidump.StreamType
	var bodies [][]byte
	for typ, list := range ss {
		for _, body := range list {
			types = append(types, typ)
			bodies = append(bodies, body)
		}
	}
	out := make([]byte, blobRVA, blobRVA+len(blob)+1<<20)
	copy(out, "MDMP\x93\xa7\x00\x00")
	patch32(out, 8, uint32(len(types)))
	patch32(out, 12, blobRVA+uint32(len(blob))) // directory after the blob
	out = append(out, blob...)
	dir := len(out)
	out = append(out, make([]byte, 12*len(types))...)
	for i, body := range bodies {
		patch32(out, int64(dir+12*i), uint32(types[i]))
		if body == nil { // alias the blob itself
			patch32(out, int64(dir+12*i+4), uint32(len(blob)))
			patch32(out, int64(dir+12*i+8), blobRVA)
			continue
		}
		patch32(out, int64(dir+12*i+4), uint32(len(body)))
		patch32(out, int64(dir+12*i+8), uint32(len(out)))
		out = append(out, body...)
	}
	return out
}

// TestAliasedReferencesAllocateLittle: many entries pointing at the same large
// string, or into one another's data, must not multiply the file into gigabytes.
// (FuzzModules found 11 MB decoded from a 109 KB file; FuzzNew 113 KB of comments
// from a 7.5 KB file: both scale with entries × file size.)
func TestAliasedReferencesAllocateLittle(t *testing.T) {
	name := mdt.UTF16String(strings.Repeat("n", 30000)) // 60 KB
	const n = 1000
	tests := []struct {
		name    string
		data    []byte
		call    func(*minidump.File) (int, error)
		wantErr string
	}{
		{"modules-same-name", aliasDump(name, func(rva uint32) map[minidump.StreamType][][]byte {
			l := make([]byte, 4+108*n)
			patch32(l, 0, n)
			for i := range n {
				patch32(l, int64(4+108*i+20), rva)
			}
			return map[minidump.StreamType][][]byte{minidump.StreamModuleList: {l}}
		}), func(f *minidump.File) (int, error) {
			m, err := f.Modules()
			if len(m) == n && m[n-1].Name != strings.Repeat("n", 30000) {
				return 0, errors.New("wrong name")
			}
			return len(m), err
		}, ""},
		{"modules-overlapping-names-and-records", aliasDump(name, func(rva uint32) map[minidump.StreamType][][]byte {
			l := make([]byte, 4+108*n)
			patch32(l, 0, n)
			for i := range n {
				patch32(l, int64(4+108*i+20), rva+uint32(2*i)) // each name starts inside the previous
				patch32(l, int64(4+108*i+76), 60000)           // CodeView record
				patch32(l, int64(4+108*i+80), rva+uint32(i))
			}
			return map[minidump.StreamType][][]byte{minidump.StreamModuleList: {l}}
		}), func(f *minidump.File) (int, error) { m, err := f.Modules(); return len(m), err },
			"add up to more than the file's"},
		{"thread-names-overlapping", aliasDump(bytes.Repeat([]byte("\x00\xea\x00\x00"), 1<<18), func(rva uint32) map[minidump.StreamType][][]byte {
			// Every 4 bytes of this 1 MB blob read as a 59904-byte string.
			l := make([]byte, 4+12*n)
			patch32(l, 0, n)
			for i := range n {
				patch64(l, int64(4+12*i+4), uint64(rva+uint32(4*i)))
			}
			return map[minidump.StreamType][][]byte{minidump.StreamThreadNames: {l}}
		}), func(f *minidump.File) (int, error) { m, err := f.ThreadNames(); return len(m), err }, "add up to more than"},
		{"comments", aliasDump([]byte(strings.Repeat("c", 60000)), func(uint32) map[minidump.StreamType][][]byte {
			return map[minidump.StreamType][][]byte{minidump.StreamCommentA: make([][]byte, n)}
		}), func(f *minidump.File) (int, error) { c, err := f.Comments(); return len(c), err }, ""},
		{"crashpad-annotations", shrinkFirstStream(52, aliasDump(bytes.Repeat([]byte("\x60\xea\x00\x00"), 75000), func(rva uint32) map[minidump.StreamType][][]byte {
			// Every 4 bytes of this 300 KB blob read as a 60000-byte string.
			const count = 4096
			info := make([]byte, 52+4+8*count)
			bodyRVA := rva + 300000 + 12 // after the blob and the one directory entry
			patch32(info, 36, uint32(4+8*count))
			patch32(info, 40, bodyRVA+52)
			patch32(info, 52, count)
			for i := range count {
				patch32(info, int64(56+8*i), rva)             // every key: the same string
				patch32(info, int64(60+8*i), rva+4*uint32(i)) // values: overlapping ones
			}
			return map[minidump.StreamType][][]byte{minidump.StreamCrashpadInfo: {info}}
		})), func(f *minidump.File) (int, error) {
			ci, err := f.CrashpadInfo()
			if ci == nil || len(ci.SimpleAnnotations) != 1 {
				return 0, err
			}
			return n, err
		}, "add up to more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, tc.data)
			var got int
			var err error
			bytes := allocated(func() { got, err = tc.call(f) })
			if got != n {
				t.Errorf("%d entries, want %d", got, n)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			checkErrKinds(t, tc.name, err, false)
			if limit := uint64(4*len(tc.data)) + 4<<20; bytes > limit {
				t.Errorf("allocated %d bytes for a %d-byte file (limit %d)", bytes, len(tc.data), limit)
			}
		})
	}
}

// shrinkFirstStream sets the first directory entry's size: the stream's own structure,
// with what it points at left beyond it.
func shrinkFirstStream(size uint32, data []byte) []byte {
	dir := binary.LittleEndian.Uint32(data[12:])
	patch32(data, int64(dir)+4, size)
	return data
}

// TestManyDamagedEntriesFewWarnings: a directory of thousands of damaged or repeated
// entries gives a bounded list of warnings, the last one counting the rest, while
// each entry keeps its own Damage. (FuzzNew: 17,574 entries in 210 KB gave 28,652
// warnings and 9 MB of allocations.)
func TestManyDamagedEntriesFewWarnings(t *testing.T) {
	const n = 10000
	data := make([]byte, 32+12*n)
	copy(data, "MDMP\x93\xa7\x00\x00")
	patch32(data, 8, n)
	patch32(data, 12, 32)
	for i := range n {
		patch32(data, int64(32+12*i), uint32(minidump.StreamModuleList)+uint32(i%2)) // repeats
		patch32(data, int64(32+12*i+4), 100)
		patch32(data, int64(32+12*i+8), 0xfffffff0) // past EOF
	}
	f := parse(t, data)
	if len(f.Streams) != n || len(f.Warnings) != 65 {
		t.Fatalf("%d streams, %d warnings", len(f.Streams), len(f.Warnings))
	}
	if last := f.Warnings[64].Error(); !strings.Contains(last, "more warnings like these are not listed") {
		t.Errorf("last warning %q", last)
	}
	for _, s := range f.Streams {
		if s.Damage == nil {
			t.Fatalf("entry %d has no Damage", s.Index)
		}
	}
	if b := allocated(func() { minidump.New(bytes.NewReader(data), int64(len(data))) }); b > 32*uint64(len(data)) {
		t.Errorf("New allocated %d bytes for %d", b, len(data))
	}
}
