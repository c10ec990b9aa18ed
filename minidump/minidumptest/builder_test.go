package minidumptest_test

import (
	"bytes"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// TestRoundTrip checks that what the builder writes reads back field for field.
func TestRoundTrip(t *testing.T) {
	guid := minidump.GUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	b := minidumptest.New().
		SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x5000, Name: `C:\app\app.exe`, Version: [4]uint16{1, 2, 3, 4},
			CodeView: minidumptest.RSDS(guid, 7, `C:\build\app.pdb`)}).
		Thread(minidumptest.Thread{ID: 42, TEB: 0x7ffde000, StackStart: 0x12f000, Stack: []byte{1, 2, 3, 4}}).
		Region(minidump.MemoryInfo{BaseAddress: 0, RegionSize: 0x10000, State: minidump.MemFree}).
		Memory(0x1000, []byte("abcd")).
		Memory64(0x2000, []byte("efgh")).
		Exception(42, minidump.ExceptionAccessViolation, 0x401000, 1, 0x20)
	data := b.Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %v", f.Warnings)
	}
	si, err := f.SystemInfo()
	if err != nil || si.Arch != minidump.ArchX86 || si.CSDVersion != "Service Pack 1" || si.CPUVendor != "GenuineIntel" {
		t.Errorf("SystemInfo = %+v, %v", si, err)
	}
	mods, err := f.Modules()
	if err != nil || len(mods) != 1 {
		t.Fatalf("Modules = %v, %v", mods, err)
	}
	m := mods[0]
	if m.Name != `C:\app\app.exe` || m.Base != 0x400000 || m.Version.FileVersion() != "1.2.3.4" ||
		m.CodeView == nil || m.CodeView.GUID != guid || m.CodeView.Age != 7 || m.CodeView.PDBName() != "app.pdb" {
		t.Errorf("module = %+v cv=%+v", m, m.CodeView)
	}
	th, err := f.Threads()
	if err != nil || len(th) != 1 || th[0].ID != 42 || th[0].Stack.Start != 0x12f000 {
		t.Errorf("Threads = %+v, %v", th, err)
	}
	mem, err := f.Memory()
	if err != nil {
		t.Fatal(err)
	}
	got, err := mem.Read(0x2000, 4)
	if err != nil || string(got) != "efgh" {
		t.Errorf("Memory64 read = %q, %v", got, err)
	}
	exc, err := f.Exception()
	if err != nil || exc.Code != minidump.ExceptionAccessViolation || len(exc.Parameters) != 2 {
		t.Errorf("Exception = %+v, %v", exc, err)
	}
}
