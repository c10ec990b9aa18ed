package minidump_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/minidump"
	mdt "github.com/dumpmap/dumpmap/minidump/minidumptest"
)

var (
	guidA = minidump.GUID{0xe5, 0x32, 0x98, 0x5a, 0x72, 0x28, 0xc1, 0x41, 0x83, 0x8e, 0xd9, 0x89, 0x14, 0xe9, 0xb7, 0xff}
	guidB = minidump.GUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
)

// Every accessor reports a missing stream as a wrapped ErrNoStream.
func TestAccessorsWithoutStreams(t *testing.T) {
	f := parse(t, mdt.New().Stream(minidump.StreamType(0x12345678), []byte("x")).Bytes())
	for _, r := range callAll(f) {
		if r.Name == "Memory" || r.Name == "Comments" || strings.HasPrefix(r.Name, "Text(") {
			continue
		}
		if !errors.Is(r.Err, minidump.ErrNoStream) {
			t.Errorf("%s: err = %v, want ErrNoStream", r.Name, r.Err)
		}
		if r.N != 0 {
			t.Errorf("%s: %d entries from no stream", r.Name, r.N)
		}
		if !strings.Contains(r.Err.Error(), "stream not present") {
			t.Errorf("%s: message %q does not say the stream is absent", r.Name, r.Err)
		}
	}
	if _, err := f.Text(minidump.StreamLinuxMaps); !errors.Is(err, minidump.ErrNoStream) {
		t.Errorf("Text(LinuxMaps) = %v, want ErrNoStream", err)
	}
	// Memory and Comments have no single stream: empty results, no error.
	mem, err := f.Memory()
	if err != nil || len(mem.Ranges()) != 0 || mem.TotalSize() != 0 {
		t.Errorf("Memory = %v, %v", mem.Ranges(), err)
	}
	c, err := f.Comments()
	if err != nil || len(c) != 0 {
		t.Errorf("Comments = %q, %v", c, err)
	}
	// The unknown stream is listed by number, not an error.
	if len(f.Streams) != 1 || f.Streams[0].Type != 0x12345678 || f.Streams[0].Type.String() != "0x12345678" ||
		f.Streams[0].Type.Known() || len(f.Warnings) != 0 {
		t.Errorf("streams = %+v, warnings %v", f.Streams[0], f.Warnings)
	}
}

func TestHeaderAndDirectory(t *testing.T) {
	b := mdt.New().SystemInfo(mdt.Windows10x64()).Stream(minidump.StreamType(0xdeadbeef), []byte{1, 2, 3}).
		Stream(minidump.StreamUnused, nil).Stream(minidump.StreamLinuxMaps, []byte("maps"))
	b.Flags = minidump.DumpWithFullMemory | minidump.DumpWithHandleData | 1<<40
	b.TimeDateStamp = 0x45d35f73
	data := b.Bytes()
	f := parse(t, data)
	h := f.Header
	if h.Signature != minidump.Signature || h.Version != minidump.Version || h.NumberOfStreams != 4 ||
		h.StreamDirectoryRva != 32 || h.TimeDateStamp != 0x45d35f73 {
		t.Errorf("header = %+v", h)
	}
	if got := h.Time(); !got.Equal(time.Date(2007, 2, 14, 19, 13, 55, 0, time.UTC)) {
		t.Errorf("Time() = %v", got) // breakpad prints 0x45d35f73 as 2007-02-14 19:13:55
	}
	if got := h.Flags.String(); got != "MiniDumpWithFullMemory|MiniDumpWithHandleData|0x10000000000" {
		t.Errorf("Flags = %q", got)
	}
	if got := minidump.DumpType(0).String(); got != "MiniDumpNormal" {
		t.Errorf("DumpType(0) = %q", got)
	}
	want := []minidump.StreamType{minidump.StreamSystemInfo, 0xdeadbeef, minidump.StreamUnused, minidump.StreamLinuxMaps}
	if len(f.Streams) != len(want) {
		t.Fatalf("%d streams", len(f.Streams))
	}
	for i, s := range f.Streams {
		if s.Type != want[i] || s.Index != i || s.Damage != nil || s.Available != s.Size {
			t.Errorf("stream %d = %+v", i, s)
		}
	}
	if s := f.Stream(minidump.StreamLinuxMaps); s == nil || s.Size != 4 || string(data[s.Offset:s.Offset+4]) != "maps" {
		t.Errorf("LinuxMaps entry = %+v", s)
	}
	if f.Streams[1].Type.String() != "0xdeadbeef" || minidump.StreamLinuxMaps.String() != "LinuxMaps" {
		t.Errorf("names: %v %v", f.Streams[1].Type, minidump.StreamLinuxMaps)
	}
	got, err := f.StreamData(0xdeadbeef, 0)
	if err != nil || string(got) != "\x01\x02\x03" {
		t.Errorf("StreamData = %q, %v", got, err)
	}
	if _, err := f.StreamData(0xdeadbeef, 2); err == nil {
		t.Error("StreamData over its limit gave no error")
	}
	if _, err := f.StreamData(minidump.StreamHandleData, 0); !errors.Is(err, minidump.ErrNoStream) {
		t.Errorf("StreamData(absent) = %v", err)
	}
	if len(f.Warnings) != 0 || f.Size() != int64(len(data)) || f.ReaderAt() == nil || f.Close() != nil {
		t.Errorf("warnings %v, size %d", f.Warnings, f.Size())
	}
	// Open reads the same from a file, and Close closes it once.
	p := filepath.Join(t.TempDir(), "x.dmp")
	if err := b.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	of, err := minidump.Open(p)
	if err != nil || of.Header != f.Header || len(of.Streams) != len(f.Streams) {
		t.Fatalf("Open = %+v, %v", of, err)
	}
	if got, err := of.StreamData(minidump.StreamLinuxMaps, 0); err != nil || string(got) != "maps" {
		t.Errorf("StreamData via Open = %q, %v", got, err)
	}
	if err := of.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := of.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestDuplicateStreamsWarn(t *testing.T) {
	f := parse(t, mdt.New().BreakpadInfo(3, 1, 2).BreakpadInfo(3, 7, 8).Bytes())
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0].Error(), "BreakpadInfo appears again as entry 1") {
		t.Errorf("warnings = %v", f.Warnings)
	}
	bi, err := f.BreakpadInfo()
	if err != nil || bi.DumpThreadID != 1 { // the first one is used
		t.Errorf("BreakpadInfo = %+v, %v", bi, err)
	}
}

func TestSystemInfo(t *testing.T) {
	arm := mdt.SystemInfo{Arch: minidump.ArchARM64, Platform: minidump.PlatformLinux, Major: 5, Minor: 10, Build: 28,
		NumberOfProcessors: 8, CSDVersion: "Linux 5.10.28 #1 SMP", ProcessorFeatures: [2]uint64{0x1122334455667788, 0x99}}
	x86 := mdt.Windows7x86()
	x86.ProcessorLevel, x86.ProcessorRevision, x86.SuiteMask = 6, 0xd08, 0x100
	x86.CPUVersion, x86.CPUFeatures, x86.AMDExtendedFeatures = 0x6d8, 0xafe9fbff, 0xffffffff
	tests := []struct {
		name string
		in   mdt.SystemInfo
		want minidump.SystemInfo
		os   string
	}{
		{"win7-x86", x86, minidump.SystemInfo{Arch: minidump.ArchX86, ProcessorLevel: 6, ProcessorRevision: 0xd08,
			NumberOfProcessors: 2, ProductType: 1, MajorVersion: 6, MinorVersion: 1, BuildNumber: 7601,
			Platform: minidump.PlatformWindows, CSDVersion: "Service Pack 1", SuiteMask: 0x100, CPUVendor: "GenuineIntel",
			CPUVersion: 0x6d8, CPUFeatures: 0xafe9fbff, AMDExtendedCPUFeatures: 0xffffffff,
			// The same 16 bytes read as the other union member.
			ProcessorFeatures: [2]uint64{0x49656e69756e6547, 0x000006d86c65746e}},
			"Windows 7 6.1.7601 (Service Pack 1)"},
		{"win10-x64", mdt.Windows10x64(), minidump.SystemInfo{Arch: minidump.ArchAMD64, NumberOfProcessors: 4, ProductType: 1,
			MajorVersion: 10, BuildNumber: 19041, Platform: minidump.PlatformWindows, CPUVendor: "GenuineIntel",
			ProcessorFeatures: [2]uint64{0x49656e69756e6547, 0x6c65746e}}, "Windows 10 10.0.19041"},
		{"linux-arm64", arm, minidump.SystemInfo{Arch: minidump.ArchARM64, NumberOfProcessors: 8, MajorVersion: 5, MinorVersion: 10,
			BuildNumber: 28, Platform: minidump.PlatformLinux, CSDVersion: "Linux 5.10.28 #1 SMP",
			ProcessorFeatures: [2]uint64{0x1122334455667788, 0x99}}, "Linux 5.10.28"},
		{"win11", mdt.SystemInfo{Arch: minidump.ArchARM64, Platform: minidump.PlatformWindows, Major: 10, Build: 22631, ProductType: 1},
			minidump.SystemInfo{Arch: minidump.ArchARM64, ProductType: 1, MajorVersion: 10, BuildNumber: 22631, Platform: minidump.PlatformWindows},
			"Windows 11 10.0.22631"},
		{"server2008r2", mdt.SystemInfo{Arch: minidump.ArchAMD64, Platform: minidump.PlatformWindows, Major: 6, Minor: 1, Build: 7601, ProductType: 3},
			minidump.SystemInfo{Arch: minidump.ArchAMD64, ProductType: 3, MajorVersion: 6, MinorVersion: 1, BuildNumber: 7601, Platform: minidump.PlatformWindows},
			"Windows Server 2008 R2 6.1.7601"},
		{"xp", mdt.SystemInfo{Arch: minidump.ArchX86, Platform: minidump.PlatformWindows, Major: 5, Minor: 1, Build: 2600, ProductType: 1, CSDVersion: "Service Pack 2"},
			minidump.SystemInfo{Arch: minidump.ArchX86, ProductType: 1, MajorVersion: 5, MinorVersion: 1, BuildNumber: 2600, Platform: minidump.PlatformWindows, CSDVersion: "Service Pack 2"},
			"Windows XP 5.1.2600 (Service Pack 2)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, mdt.New().SystemInfo(tc.in).Bytes())
			si, err := f.SystemInfo()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*si, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *si, tc.want)
			}
			if si.OS() != tc.os {
				t.Errorf("OS() = %q, want %q", si.OS(), tc.os)
			}
		})
	}
}

func TestArchAndPlatform(t *testing.T) {
	for a, want := range map[minidump.Arch]struct {
		name string
		ptr  int
	}{minidump.ArchX86: {"x86", 4}, minidump.ArchAMD64: {"amd64", 8}, minidump.ArchARM: {"arm", 4},
		minidump.ArchARM64: {"arm64", 8}, minidump.ArchARM64Old: {"arm64", 8}, 0x4242: {"arch(0x4242)", 0}} {
		if a.String() != want.name || a.PointerSize() != want.ptr {
			t.Errorf("%#x: %q %d", uint16(a), a.String(), a.PointerSize())
		}
	}
	if minidump.PlatformAndroid.String() != "Android" || !minidump.PlatformWindows.IsWindows() ||
		minidump.PlatformLinux.IsWindows() || minidump.Platform(0x1234).String() != "platform(0x1234)" {
		t.Error("platform names")
	}
}

func TestMiscInfo(t *testing.T) {
	all := uint32(minidump.MiscProcessID | minidump.MiscProcessTimes | minidump.MiscProcessorPowerInfo |
		minidump.MiscProcessIntegrity | minidump.MiscProcessExecuteFlags | minidump.MiscProtectedProcess |
		minidump.MiscTimeZone | minidump.MiscBuildString | minidump.MiscProcessCookie)
	spec := func(v int, flags uint32) mdt.MiscInfoSpec {
		return mdt.MiscInfoSpec{Version: v, Flags: flags, ProcessID: 3932, CreateTime: 0x45d35f73, UserTime: 3, KernelTime: 4,
			MaxMhz: 2803, CurrentMhz: 2800, MhzLimit: 2803, MaxIdle: 2, CurrentIdle: 1, Integrity: 0x2000, ExecuteFlags: 0x4d,
			Protected: 1, TimeZoneID: 2, TimeZoneBias: -60, StandardName: "W. Europe Standard Time", DaylightName: "W. Europe Summer Time",
			BuildString: "10.0.22631.4751 (WinBuild.160101.0800)", DbgBldStr: "dbghelp.amd64,10.0.26100.1", ProcessCookie: 0xc0ffee}
	}
	full := func(v int) minidump.MiscInfo {
		m := minidump.MiscInfo{Version: v, SizeOfInfo: uint32(mdt.MiscInfoSizes[v]), Flags: all,
			ProcessID: 3932, HasProcessID: true, ProcessCreateTime: time.Date(2007, 2, 14, 19, 13, 55, 0, time.UTC),
			ProcessUserTime: 3 * time.Second, ProcessKernelTime: 4 * time.Second, HasProcessTimes: true}
		if v >= 2 {
			m.ProcessorMaxMhz, m.ProcessorCurrentMhz, m.ProcessorMhzLimit = 2803, 2800, 2803
			m.ProcessorMaxIdleState, m.ProcessorCurrentIdleState = 2, 1
		}
		if v >= 3 {
			m.ProcessIntegrityLevel, m.ProcessExecuteFlags, m.ProtectedProcess = 0x2000, 0x4d, 1
			m.TimeZoneID, m.TimeZoneBias = 2, -60
			m.TimeZoneStandardName, m.TimeZoneDaylightName = "W. Europe Standard Time", "W. Europe Summer Time"
		}
		if v >= 4 {
			m.BuildString, m.DbgBldStr = "10.0.22631.4751 (WinBuild.160101.0800)", "dbghelp.amd64,10.0.26100.1"
		}
		if v >= 5 {
			m.ProcessCookie = 0xc0ffee
		}
		return m
	}
	tests := []struct {
		name    string
		in      mdt.MiscInfoSpec
		want    minidump.MiscInfo
		wantErr string
		level   string
	}{
		{"v1", spec(1, all), full(1), "", ""},
		{"v2", spec(2, all), full(2), "", ""},
		{"v3", spec(3, all), full(3), "", "Medium"},
		{"v4", spec(4, all), full(4), "", "Medium"},
		{"v5", spec(5, all), full(5), "", "Medium"},
		{"v5-no-flags", spec(5, 0), minidump.MiscInfo{Version: 5, SizeOfInfo: 1364}, "", ""},
		{"v3-only-pid", spec(3, minidump.MiscProcessID), minidump.MiscInfo{Version: 3, SizeOfInfo: 232,
			Flags: minidump.MiscProcessID, ProcessID: 3932, HasProcessID: true}, "", ""},
		// yaml2obj writes SizeOfInfo 0: the stream length picks the version, with an error.
		{"size-matches-no-version", func() mdt.MiscInfoSpec { s := spec(1, minidump.MiscProcessID); s.SizeOfInfo = 20; return s }(),
			minidump.MiscInfo{Version: 1, SizeOfInfo: 20, Flags: minidump.MiscProcessID, ProcessID: 3932, HasProcessID: true},
			"SizeOfInfo 20 (stream 24 bytes) matches no MINIDUMP_MISC_INFO version", ""},
		// A v5 SizeOfInfo in a v4-sized stream: only what the stream holds is decoded,
		// and the error says the rest is missing.
		{"size-larger-than-stream", func() mdt.MiscInfoSpec { s := spec(4, all); s.SizeOfInfo = 1364; return s }(),
			func() minidump.MiscInfo { m := full(4); m.SizeOfInfo = 1364; return m }(),
			"SizeOfInfo 1364 (MINIDUMP_MISC_INFO version 5) but the stream holds 832 bytes", "Medium"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := parse(t, mdt.New().MiscInfoFull(tc.in).Bytes())
			m, err := f.MiscInfo()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			checkErrKinds(t, "MiscInfo", err, false)
			if !reflect.DeepEqual(*m, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *m, tc.want)
			}
			if m.IntegrityLevel() != tc.level {
				t.Errorf("IntegrityLevel = %q, want %q", m.IntegrityLevel(), tc.level)
			}
		})
	}
	for lvl, name := range map[uint32]string{0: "Untrusted", 0x1000: "Low", 0x2000: "Medium", 0x2100: "Medium Plus", 0x3000: "High", 0x4000: "System"} {
		m := minidump.MiscInfo{Flags: minidump.MiscProcessIntegrity, ProcessIntegrityLevel: lvl}
		if m.IntegrityLevel() != name {
			t.Errorf("level %#x = %q, want %q", lvl, m.IntegrityLevel(), name)
		}
	}
	// Too short for even version 1.
	f := parse(t, mdt.New().Stream(minidump.StreamMiscInfo, make([]byte, 20)).Bytes())
	if m, err := f.MiscInfo(); m != nil || err == nil || !strings.Contains(err.Error(), "stream is 20 bytes, need at least 24") {
		t.Errorf("short MiscInfo = %+v, %v", m, err)
	}
}

func TestSystemMemoryInfoAndVMCounters(t *testing.T) {
	smi := minidump.SystemMemoryInfo{Revision: 1, Flags: 0, TimerResolution: 156250, PageSize: 4096, NumberOfPhysicalPages: 0x3ff000,
		AllocationGranularity: 0x10000, MinimumUserModeAddress: 0x10000, MaximumUserModeAddress: 0x7ffffffeffff,
		ActiveProcessorsMask: 0xff, NumberOfProcessors: 8, FileCacheCurrentSize: 0x1234000, FileCachePeakSize: 0x2000000,
		AvailablePages: 0x100000, CommittedPages: 0x200000, CommitLimit: 0x600000, PeakCommitment: 0x300000}
	v1 := minidump.ProcessVMCounters{Revision: 1, PageFaultCount: 77, PeakWorkingSetSize: 1, WorkingSetSize: 2,
		QuotaPeakPagedPoolUsage: 3, QuotaPagedPoolUsage: 4, QuotaPeakNonPagedPoolUsage: 5, QuotaNonPagedPoolUsage: 6,
		PagefileUsage: 7, PeakPagefileUsage: 8, PrivateUsage: 9}
	v2 := v1
	v2.Revision, v2.Flags = 2, 0xf
	v2.PeakVirtualSize, v2.VirtualSize, v2.PrivateWorkingSetSize, v2.SharedCommitUsage = 10, 11, 12, 13
	v2.JobPrivateCommitLimit, v2.JobTotalCommitLimit = 14, 15
	f := parse(t, mdt.New().SystemMemoryInfo1(smi).ProcessVMCounters(v1).Bytes())
	got, err := f.SystemMemoryInfo()
	if err != nil || !reflect.DeepEqual(*got, smi) {
		t.Errorf("SystemMemoryInfo = %+v, %v", got, err)
	}
	c, err := f.ProcessVMCounters()
	if err != nil || !reflect.DeepEqual(*c, v1) {
		t.Errorf("ProcessVMCounters r1 = %+v, %v", c, err)
	}
	f = parse(t, mdt.New().ProcessVMCounters(v2).SystemMemoryInfo(4096, 0x10000, 0x10000, 0x7ffeffff).Bytes())
	if c, err := f.ProcessVMCounters(); err != nil || !reflect.DeepEqual(*c, v2) {
		t.Errorf("ProcessVMCounters r2 = %+v, %v", c, err)
	}
	if s, err := f.SystemMemoryInfo(); err != nil || s.PageSize != 4096 || s.AllocationGranularity != 0x10000 ||
		s.MinimumUserModeAddress != 0x10000 || s.MaximumUserModeAddress != 0x7ffeffff {
		t.Errorf("SystemMemoryInfo (basic) = %+v, %v", s, err)
	}
	// Only the basic information: the optional parts stay zero.
	f = parse(t, mdt.New().Stream(minidump.StreamSystemMemoryInfo, mdt.New().SystemMemoryInfo1(smi).Bytes()[44:44+56]).Bytes())
	if s, err := f.SystemMemoryInfo(); err != nil || s.PageSize != 4096 || s.FileCachePeakSize != 0 || s.CommitLimit != 0 {
		t.Errorf("basic-only SystemMemoryInfo = %+v, %v", s, err)
	}
	for _, bad := range [][]byte{{3, 0, 0, 0}, make([]byte, 55), {1}} {
		f := parse(t, mdt.New().Stream(minidump.StreamSystemMemoryInfo, bad).Bytes())
		if s, err := f.SystemMemoryInfo(); s != nil || err == nil {
			t.Errorf("SystemMemoryInfo(%d bytes) = %+v, %v", len(bad), s, err)
		} else {
			checkErrKinds(t, "SystemMemoryInfo", err, false)
		}
	}
	for _, bad := range [][]byte{{3, 0, 0, 0}, make([]byte, 155), {1}, append([]byte{1, 0}, make([]byte, 77)...),
		append([]byte{2, 0}, make([]byte, 149)...)} {
		f := parse(t, mdt.New().Stream(minidump.StreamProcessVMCounters, bad).Bytes())
		if c, err := f.ProcessVMCounters(); c != nil || err == nil {
			t.Errorf("ProcessVMCounters(%d bytes) = %+v, %v", len(bad), c, err)
		} else {
			checkErrKinds(t, "ProcessVMCounters", err, false)
		}
	}
}

func TestModules(t *testing.T) {
	mods := []mdt.Module{
		{Base: 0x400000, Size: 0x2d000, Name: `c:\test_app.exe`, Time: 0x45d35f6c, CodeView: mdt.RSDS(guidA, 1, `c:\test_app.pdb`)},
		{Base: 0x7c900000, Size: 0xb0000, Name: `C:\WINDOWS\system32\ntdll.dll`, Checksum: 0xaf2f7, Time: 0x411096b4,
			Version: [4]uint16{5, 1, 2600, 2180}, CodeView: mdt.NB10(0x3a0cd5e3, 2, "ntdll.pdb"),
			Misc: mdt.MiscRecord(1, false, "ntdll.dbg")},
		{Base: 0x7f0000000000, Size: 0x1000, Name: "/usr/lib/libc.so.6", CodeView: mdt.BpEL([]byte{0xde, 0xad, 0xbe, 0xef}),
			Misc: mdt.MiscRecord(1, true, `C:\sym\héllo.dbg`)},
		{Base: 0x10000, Size: 0x1000, Name: `C:\Users\Jürgen\日本語.exe`, CodeView: []byte("XYZW and more")},
		{Base: 0x20000, Size: 0x1000}, // no name, no records
	}
	want := []minidump.Module{
		{Base: 0x400000, Size: 0x2d000, TimeDateStamp: 0x45d35f6c, Name: `c:\test_app.exe`,
			CodeView: &minidump.CodeView{Signature: "RSDS", GUID: guidA, Age: 1, PDBPath: `c:\test_app.pdb`}},
		{Base: 0x7c900000, Size: 0xb0000, Checksum: 0xaf2f7, TimeDateStamp: 0x411096b4, Name: `C:\WINDOWS\system32\ntdll.dll`,
			Version: minidump.FixedFileInfo{Signature: 0xfeef04bd, StrucVersion: 0x10000, FileVersionMS: 0x50001, FileVersionLS: 0xa280884,
				ProductVersionMS: 0x50001, ProductVersionLS: 0xa280884},
			CodeView: &minidump.CodeView{Signature: "NB10", Timestamp: 0x3a0cd5e3, Age: 2, PDBPath: "ntdll.pdb"},
			Misc:     &minidump.MiscRecord{DataType: 1, Data: "ntdll.dbg"}},
		{Base: 0x7f0000000000, Size: 0x1000, Name: "/usr/lib/libc.so.6",
			CodeView: &minidump.CodeView{Signature: "BpEL", BuildID: []byte{0xde, 0xad, 0xbe, 0xef}},
			Misc:     &minidump.MiscRecord{DataType: 1, Unicode: true, Data: `C:\sym\héllo.dbg`}},
		{Base: 0x10000, Size: 0x1000, Name: `C:\Users\Jürgen\日本語.exe`, CodeView: &minidump.CodeView{Signature: "575a5958"}}, // "XYZW" as a little-endian u32, in hex
		{Base: 0x20000, Size: 0x1000},
	}
	for _, padded := range []bool{false, true} {
		b := mdt.New()
		b.PadLists = padded
		for _, m := range mods {
			b.Module(m)
		}
		data := b.Bytes()
		f := parse(t, data)
		got, err := f.Modules()
		if err != nil {
			t.Fatalf("padded=%v: %v", padded, err)
		}
		if len(got) != len(want) {
			t.Fatalf("padded=%v: %d modules", padded, len(got))
		}
		for i := range got {
			g := got[i]
			// Record locations depend on layout; check they point at the records.
			if cv := mods[i].CodeView; cv != nil {
				if int(g.CvRecord.Size) != len(cv) || string(data[g.CvRecord.RVA:g.CvRecord.RVA+g.CvRecord.Size]) != string(cv) {
					t.Errorf("padded=%v module %d: CvRecord %+v does not locate the record", padded, i, g.CvRecord)
				}
			} else if g.CvRecord != (minidump.Location{}) {
				t.Errorf("module %d: CvRecord %+v", i, g.CvRecord)
			}
			if misc := mods[i].Misc; misc != nil && string(data[g.MiscRecord.RVA:g.MiscRecord.RVA+g.MiscRecord.Size]) != string(misc) {
				t.Errorf("module %d: MiscRecord %+v", i, g.MiscRecord)
			}
			g.CvRecord, g.MiscRecord = minidump.Location{}, minidump.Location{}
			if !reflect.DeepEqual(g, want[i]) {
				t.Errorf("padded=%v module %d:\ngot  %+v %+v\nwant %+v %+v", padded, i, g, g.CodeView, want[i], want[i].CodeView)
			}
		}
	}
	// Derived values.
	m := want[1]
	if m.BaseName() != "ntdll.dll" || m.End() != 0x7c9b0000 || m.Version.FileVersion() != "5.1.2600.2180" ||
		m.Version.ProductVersion() != "5.1.2600.2180" || !m.Version.Present() || want[0].Version.FileVersion() != "" {
		t.Errorf("module helpers: %q %#x %q", m.BaseName(), m.End(), m.Version.FileVersion())
	}
	if want[2].BaseName() != "libc.so.6" || want[3].BaseName() != "日本語.exe" {
		t.Errorf("BaseName: %q %q", want[2].BaseName(), want[3].BaseName())
	}
	// Breakpad prints these identifiers for minidump2.dmp's test_app.exe and ntdll.dll.
	if id := want[0].CodeView.Identifier(); id != "5A9832E5287241C1838ED98914E9B7FF1" {
		t.Errorf("RSDS Identifier = %q", id)
	}
	if want[0].CodeView.PDBName() != "test_app.pdb" || want[1].CodeView.Identifier() != "3A0CD5E32" ||
		want[2].CodeView.Identifier() != "DEADBEEF" || want[3].CodeView.Identifier() != "" {
		t.Errorf("identifiers: %q %q %q", want[0].CodeView.PDBName(), want[1].CodeView.Identifier(), want[2].CodeView.Identifier())
	}
	if s := guidA.String(); s != "{5A9832E5-2872-41C1-838E-D98914E9B7FF}" || guidA.Hex() != "5A9832E5287241C1838ED98914E9B7FF" || guidA.IsZero() {
		t.Errorf("GUID formats: %s %s", s, guidA.Hex())
	}
}

func TestCodeViewRecords(t *testing.T) {
	for _, tc := range []struct {
		in      []byte
		wantErr string
		sig     string
	}{
		{nil, "CodeView record is 0 bytes", ""},
		{[]byte("RSD"), "CodeView record is 3 bytes", ""},
		{mdt.RSDS(guidA, 1, "")[:23], "codeview: RSDS record of 23 bytes is too short (want 24+)", ""},
		{mdt.RSDS(guidA, 1, "")[:24], "", "RSDS"}, // no path, no NUL: accepted
		{mdt.NB10(1, 2, "")[:15], "codeview: NB10 record of 15 bytes is too short (want 16+)", ""},
		{mdt.BpEL(nil), "", "BpEL"},
	} {
		cv, err := minidump.ParseCodeView(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseCodeView(%x) = %+v, %v; want %q", tc.in, cv, err, tc.wantErr)
			}
			continue
		}
		if err != nil || cv.Signature != tc.sig {
			t.Errorf("ParseCodeView(%x) = %+v, %v", tc.in, cv, err)
		}
	}
}

func TestUnloadedModules(t *testing.T) {
	f := parse(t, mdt.New().
		UnloadedModule(mdt.UnloadedModule{Base: 0x61310000, Size: 0x8d9a0000 >> 16, Checksum: 0x12345, Time: 0x5f000000, Name: `C:\Windows\System32\msctf.dll`}).
		UnloadedModule(mdt.UnloadedModule{Base: 0x7ff800000000, Size: 0x1000}).Bytes())
	got, err := f.UnloadedModules()
	want := []minidump.UnloadedModule{
		{Base: 0x61310000, Size: 0x8d9a, Checksum: 0x12345, TimeDateStamp: 0x5f000000, Name: `C:\Windows\System32\msctf.dll`},
		{Base: 0x7ff800000000, Size: 0x1000},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("UnloadedModules = %+v, %v", got, err)
	}
}

func TestThreads(t *testing.T) {
	ctx := make([]byte, 716)
	ctx[0] = 0x3f
	threads := []mdt.Thread{
		{ID: 0xbf4, TEB: 0x7ffdf000, StackStart: 0x12f31c, Stack: []byte("stack-of-thread-1"), Context: ctx},
		{ID: 0x11c0, TEB: 0x7ffde000, StackStart: 0x97f6e8, Stack: []byte("s2")},
	}
	for _, padded := range []bool{false, true} {
		b := mdt.New()
		b.PadLists = padded
		for _, th := range threads {
			b.Thread(th)
		}
		data := b.Bytes()
		got, err := parse(t, data).Threads()
		if err != nil || len(got) != 2 {
			t.Fatalf("Threads = %+v, %v", got, err)
		}
		for i, g := range got {
			w := threads[i]
			if g.ID != w.ID || g.TEB != w.TEB || g.Stack.Start != w.StackStart || int(g.Stack.Data.Size) != len(w.Stack) ||
				string(data[g.Stack.Data.RVA:g.Stack.Data.RVA+g.Stack.Data.Size]) != string(w.Stack) ||
				int(g.Context.Size) != len(w.Context) || g.BackingStore != (minidump.MemoryDescriptor{}) {
				t.Errorf("padded=%v thread %d = %+v", padded, i, g)
			}
			if g.Stack.End() != w.StackStart+uint64(len(w.Stack)) {
				t.Errorf("Stack.End = %#x", g.Stack.End())
			}
		}
		if c := got[0].Context; data[c.RVA] != 0x3f {
			t.Errorf("context location %+v", c)
		}
	}
	// ThreadExList is used when there is no ThreadList.
	f := parse(t, mdt.New().ThreadEx(mdt.ThreadEx{Thread: threads[0], BackingStoreStart: 0x6000000, BackingStore: []byte("bsp")}).Bytes())
	got, err := f.Threads()
	if err != nil || len(got) != 1 || got[0].ID != 0xbf4 || got[0].BackingStore.Start != 0x6000000 || got[0].BackingStore.Data.Size != 3 {
		t.Errorf("ThreadEx = %+v, %v", got, err)
	}
}

func TestThreadInfosAndNames(t *testing.T) {
	const ft2020 = 132223104000000000 // 2020-01-01T00:00:00Z as a FILETIME
	f := parse(t, mdt.New().
		ThreadInfo(mdt.ThreadInfo{ThreadID: 7, DumpFlags: minidump.ThreadInfoErrorThread, DumpError: 5, ExitStatus: 0x103,
									CreateTime: ft2020 + 15, ExitTime: 0, KernelTime: 12_345_678, UserTime: 10, StartAddress: 0x7ff612341000, Affinity: 0xf}).
		ThreadInfo(mdt.ThreadInfo{ThreadID: 8, CreateTime: 5}). // before 1970: unknown
		ThreadName(7, "MainThread").ThreadName(8, "").ThreadName(9, "Wörker 日本").Bytes())
	ti, err := f.ThreadInfos()
	want := []minidump.ThreadInfo{
		{ThreadID: 7, DumpFlags: 1, DumpError: 5, ExitStatus: 0x103, CreateTime: time.Date(2020, 1, 1, 0, 0, 0, 1500, time.UTC),
			KernelTime: 1234567800 * time.Nanosecond, UserTime: 1000 * time.Nanosecond, StartAddress: 0x7ff612341000, Affinity: 0xf},
		{ThreadID: 8},
	}
	if err != nil || !reflect.DeepEqual(ti, want) {
		t.Errorf("ThreadInfos = %+v, %v", ti, err)
	}
	names, err := f.ThreadNames()
	wantNames := []minidump.ThreadName{{7, "MainThread"}, {8, ""}, {9, "Wörker 日本"}}
	if err != nil || !reflect.DeepEqual(names, wantNames) {
		t.Errorf("ThreadNames = %+v, %v", names, err)
	}
}

func TestException(t *testing.T) {
	ctx := []byte{0x3f, 0, 1, 0}
	tests := []struct {
		name    string
		in      mdt.ExceptionSpec
		params  []uint64
		wantErr string
		av      string
		avAddr  uint64
	}{
		{"write-av", mdt.ExceptionSpec{ThreadID: 0xbf4, Code: minidump.ExceptionAccessViolation, Address: 0x40429e,
			NumberParameters: 2, Params: []uint64{1, 0x45, 0xdead}, Context: ctx}, []uint64{1, 0x45}, "", "write", 0x45},
		{"read-av", mdt.ExceptionSpec{Code: minidump.ExceptionAccessViolation, NumberParameters: 2, Params: []uint64{0, 0}}, []uint64{0, 0}, "", "read", 0},
		{"dep", mdt.ExceptionSpec{Code: minidump.ExceptionInPageError, NumberParameters: 3, Params: []uint64{8, 0x1000, 0xc000009c}},
			[]uint64{8, 0x1000, 0xc000009c}, "", "execute (DEP)", 0x1000},
		{"breakpoint", mdt.ExceptionSpec{Code: minidump.ExceptionBreakpoint, Flags: 1, Record: 0x12345678, Address: 0x77f0}, []uint64{}, "", "", 0},
		{"all-15", mdt.ExceptionSpec{Code: 0xe06d7363, NumberParameters: 15, Params: []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
			[]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "", "", 0},
		{"too-many", mdt.ExceptionSpec{Code: 0xe06d7363, NumberParameters: 16, Params: []uint64{1}},
			[]uint64{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "NumberParameters is 16, at most 15 exist", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := mdt.New().ExceptionFull(tc.in).Bytes()
			e, err := parse(t, data).Exception()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if e.ThreadID != tc.in.ThreadID || e.Code != tc.in.Code || e.Flags != tc.in.Flags || e.Record != tc.in.Record ||
				e.Address != tc.in.Address || !reflect.DeepEqual(e.Parameters, tc.params) || int(e.Context.Size) != len(tc.in.Context) {
				t.Errorf("Exception = %+v", e)
			}
			if tc.in.Context != nil && string(data[e.Context.RVA:e.Context.RVA+e.Context.Size]) != string(ctx) {
				t.Errorf("context location %+v", e.Context)
			}
			op, addr, ok := e.AccessViolation()
			if op != tc.av || addr != tc.avAddr || ok != (tc.av != "") {
				t.Errorf("AccessViolation = %q %#x %v", op, addr, ok)
			}
		})
	}
	if minidump.ExceptionAccessViolation.String() != "EXCEPTION_ACCESS_VIOLATION" ||
		minidump.ExceptionCode(11).Name(minidump.PlatformLinux) != "SIGSEGV" ||
		!minidump.ExceptionNoMemory.IsOutOfMemory() || minidump.ExceptionAccessViolation.IsOutOfMemory() {
		t.Errorf("names: %v %v", minidump.ExceptionAccessViolation, minidump.ExceptionCode(11).Name(minidump.PlatformLinux))
	}
	// Too short.
	_, err := parse(t, mdt.New().Stream(minidump.StreamException, make([]byte, 100)).Bytes()).Exception()
	if err == nil || !strings.Contains(err.Error(), "stream is 100 bytes, need 168") {
		t.Errorf("short Exception: %v", err)
	}
}

func TestMemoryLists(t *testing.T) {
	for _, padded := range []bool{false, true} {
		b := mdt.New().Memory(0x1000, []byte("abcd")).Memory(0x7ffe0000, []byte("shared")).
			Memory64(0x20000, []byte("0123456789")).Memory64(0x30000, nil).Memory64(0x40000, []byte("xy"))
		b.PadLists = padded
		data := b.Bytes()
		f := parse(t, data)
		ml, err := f.MemoryList()
		if err != nil || len(ml) != 2 {
			t.Fatalf("MemoryList = %+v, %v", ml, err)
		}
		for i, w := range []string{"abcd", "shared"} {
			r := ml[i]
			if r.Size != uint64(len(w)) || r.Available != r.Size || r.Source != minidump.StreamMemoryList ||
				string(data[r.Offset:r.Offset+int64(r.Size)]) != w {
				t.Errorf("MemoryList[%d] = %+v", i, r)
			}
		}
		if ml[0].Start != 0x1000 || ml[0].End() != 0x1004 || ml[1].Start != 0x7ffe0000 {
			t.Errorf("starts %+v", ml)
		}
		m64, err := f.Memory64List()
		if err != nil || len(m64) != 3 {
			t.Fatalf("Memory64List = %+v, %v", m64, err)
		}
		// Memory64 data lies back to back at the end of the file.
		if m64[0].Offset+10 != m64[1].Offset || m64[1].Offset != m64[2].Offset || m64[2].Offset+2 != int64(len(data)) {
			t.Errorf("Memory64 offsets %+v (file %d bytes)", m64, len(data))
		}
		for i, w := range []string{"0123456789", "", "xy"} {
			r := m64[i]
			if r.Size != uint64(len(w)) || r.Available != r.Size || r.Source != minidump.StreamMemory64List ||
				string(data[r.Offset:r.Offset+int64(r.Size)]) != w {
				t.Errorf("Memory64List[%d] = %+v", i, r)
			}
		}
	}
}

func TestMemoryInfo(t *testing.T) {
	regions := []minidump.MemoryInfo{
		{BaseAddress: 0, RegionSize: 0x10000, State: minidump.MemFree, Protect: minidump.PageNoAccess},
		{BaseAddress: 0x10000, AllocationBase: 0x10000, AllocationProtect: minidump.PageReadWrite, RegionSize: 0x3000,
			State: minidump.MemCommit, Protect: minidump.PageReadWrite | minidump.PageGuard, Type: minidump.MemPrivate},
		{BaseAddress: 0x13000, AllocationBase: 0x10000, AllocationProtect: minidump.PageReadWrite, RegionSize: 0xd000,
			State: minidump.MemReserve, Type: minidump.MemPrivate},
		{BaseAddress: 0x140000000, AllocationBase: 0x140000000, AllocationProtect: minidump.PageExecuteWriteCopy, RegionSize: 0x1000,
			State: minidump.MemCommit, Protect: minidump.PageExecuteRead, Type: minidump.MemImage},
		{BaseAddress: 0xffffffffffff0000, RegionSize: 0x10000, State: 0x4000, Protect: 0x803, Type: 0x80000},
	}
	for _, layout := range []struct{ hs, es int }{{16, 48}, {24, 56}, {16, 64}, {100, 1000}} {
		b := mdt.New().Region(regions...)
		b.RegionHeaderSize, b.RegionEntrySize = layout.hs, layout.es
		got, err := parse(t, b.Bytes()).MemoryInfo()
		if err != nil || !reflect.DeepEqual(got, regions) {
			t.Errorf("header %d entry %d: MemoryInfo = %+v, %v", layout.hs, layout.es, got, err)
		}
	}
	if got, err := parse(t, mdt.New().Region().Bytes()).MemoryInfo(); err != nil || len(got) != 0 {
		t.Errorf("empty list = %v, %v", got, err)
	}
	// Names and classification.
	r := regions[1]
	if r.End() != 0x13000 || r.Protect.String() != "PAGE_READWRITE|PAGE_GUARD" || !r.Protect.Readable() ||
		!r.Protect.Writable() || r.Protect.Executable() || !r.Protect.Guard() || r.State.String() != "MEM_COMMIT" ||
		r.Type.String() != "MEM_PRIVATE" {
		t.Errorf("region helpers: %v %v %v", r.Protect, r.State, r.Type)
	}
	if p := regions[4].Protect.String(); p != "PAGE_NOACCESS|PAGE_READONLY|0x800" {
		t.Errorf("unknown bits: %q", p)
	}
	if regions[4].State.String() != "0x4000" || regions[4].Type.String() != "0x80000" || minidump.MemType(0).String() != "" ||
		minidump.Protect(0).String() != "" || minidump.PageExecuteWriteCopy.Writable() != true || minidump.PageNoAccess.Readable() {
		t.Error("state/type names")
	}
	// Invalid header fields are errors, never a panic.
	for _, tc := range []struct {
		name    string
		hs, es  int
		wantErr string
	}{
		{"header-too-small", 8, 48, "SizeOfHeader 8 is invalid"},
		{"header-past-stream", 1 << 20, 48, "SizeOfHeader 1048576 is invalid"},
		{"entry-too-small", 16, 40, "SizeOfEntry 40 is invalid (minimum 48)"},
	} {
		b := mdt.New().Region(regions[0])
		data := b.Bytes()
		f := parse(t, data)
		s := f.Stream(minidump.StreamMemoryInfoList)
		le := func(off int64, v uint32) {
			data[off], data[off+1], data[off+2], data[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
		le(s.Offset, uint32(tc.hs))
		le(s.Offset+4, uint32(tc.es))
		got, err := parse(t, data).MemoryInfo()
		if len(got) != 0 || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: %v, %v", tc.name, got, err)
		}
		checkErrKinds(t, tc.name, err, false)
	}
}

func TestHandles(t *testing.T) {
	hs := []mdt.Handle{
		{Handle: 4, TypeName: "Event", Attributes: 0, GrantedAccess: 0x1f0003, HandleCount: 2, PointerCount: 65537, ObjectInfoRVA: 0x1234},
		{Handle: 8, TypeName: "File", ObjectName: `\Device\HarddiskVolume3\Windows\System32\en-US\kernel32.dll.mui`, GrantedAccess: 0x100020, HandleCount: 1, PointerCount: 32768},
		{Handle: 0xc, TypeName: "Event"},
		{Handle: 0x10},
	}
	for _, size := range []int{32, 40} {
		b := mdt.New()
		b.HandleDescriptorSize = size
		for _, h := range hs {
			b.Handle(h)
		}
		got, err := parse(t, b.Bytes()).Handles()
		if err != nil || len(got) != len(hs) {
			t.Fatalf("size %d: Handles = %+v, %v", size, got, err)
		}
		for i, g := range got {
			w := minidump.Handle{Handle: hs[i].Handle, TypeName: hs[i].TypeName, ObjectName: hs[i].ObjectName, Attributes: hs[i].Attributes,
				GrantedAccess: hs[i].GrantedAccess, HandleCount: hs[i].HandleCount, PointerCount: hs[i].PointerCount}
			if size == 40 {
				w.ObjectInfoRVA = hs[i].ObjectInfoRVA
			}
			if g != w {
				t.Errorf("size %d handle %d:\ngot  %+v\nwant %+v", size, i, g, w)
			}
		}
	}
}

func TestCommentsAndText(t *testing.T) {
	f := parse(t, mdt.New().CommentA("first comment").CommentW("second, wide: Jürgen 日本").
		Stream(minidump.StreamLinuxCmdLine, []byte("/usr/bin/app\x00--flag\x00x\x00")).
		Stream(minidump.StreamLinuxMaps, []byte("00400000-00401000 r-xp 00000000 08:01 1 /app\n\x00\x00")).
		Stream(minidump.StreamLinuxEnviron, []byte("A=1\x00B=2")).Bytes())
	c, err := f.Comments()
	if err != nil || !reflect.DeepEqual(c, []string{"first comment", "second, wide: Jürgen 日本"}) {
		t.Errorf("Comments = %q, %v", c, err)
	}
	for typ, want := range map[minidump.StreamType]string{
		minidump.StreamCommentA:     "first comment",
		minidump.StreamCommentW:     "second, wide: Jürgen 日本",
		minidump.StreamLinuxCmdLine: "/usr/bin/app\n--flag\nx",
		minidump.StreamLinuxMaps:    "00400000-00401000 r-xp 00000000 08:01 1 /app\n",
		minidump.StreamLinuxEnviron: "A=1\nB=2",
	} {
		if got, err := f.Text(typ); err != nil || got != want {
			t.Errorf("Text(%v) = %q, %v; want %q", typ, got, err, want)
		}
		if !typ.IsText() {
			t.Errorf("%v.IsText() = false", typ)
		}
	}
}

func TestBreakpadAndCrashpadInfo(t *testing.T) {
	ann := map[string]string{"prod": "Electron", "ver": "29.1.5", "empty": "", "json": `{"a":"b"}`}
	f := parse(t, mdt.New().BreakpadInfo(3, 0x11c0, 0xbf4).CrashpadInfo(1, guidA, guidB, ann).Bytes())
	bi, err := f.BreakpadInfo()
	if err != nil || *bi != (minidump.BreakpadInfo{Validity: 3, DumpThreadID: 0x11c0, RequestingThreadID: 0xbf4}) {
		t.Errorf("BreakpadInfo = %+v, %v", bi, err)
	}
	ci, err := f.CrashpadInfo()
	if err != nil || ci.Version != 1 || ci.ReportID != guidA || ci.ClientID != guidB || !reflect.DeepEqual(ci.SimpleAnnotations, ann) {
		t.Errorf("CrashpadInfo = %+v, %v", ci, err)
	}
	// No dictionary.
	ci, err = parse(t, mdt.New().CrashpadInfo(1, guidA, guidB, nil).Bytes()).CrashpadInfo()
	if err != nil || ci.SimpleAnnotations != nil {
		t.Errorf("CrashpadInfo without annotations = %+v, %v", ci, err)
	}
	// Too short.
	for typ, n := range map[minidump.StreamType]int{minidump.StreamBreakpadInfo: 11, minidump.StreamCrashpadInfo: 51} {
		f := parse(t, mdt.New().Stream(typ, make([]byte, n)).Bytes())
		if _, err := f.BreakpadInfo(); typ == minidump.StreamBreakpadInfo && (err == nil || !strings.Contains(err.Error(), "stream is 11 bytes, need 12")) {
			t.Errorf("short BreakpadInfo: %v", err)
		}
		if _, err := f.CrashpadInfo(); typ == minidump.StreamCrashpadInfo && (err == nil || !strings.Contains(err.Error(), "stream is 51 bytes, need 52")) {
			t.Errorf("short CrashpadInfo: %v", err)
		}
	}
}
