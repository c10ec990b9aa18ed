package process_test

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

func open(t testing.TB, b *minidumptest.Builder) *process.Process {
	t.Helper()
	data := b.Bytes()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	p := process.New(f, process.Options{})
	t.Cleanup(func() { p.Close() })
	return p
}

func TestModuleIndex(t *testing.T) {
	mods := []minidump.Module{
		{Base: 0x7c900000, Size: 0xb0000, Name: `C:\WINDOWS\system32\ntdll.dll`},
		{Base: 0x400000, Size: 0x2d000, Name: ""}, // damaged name, duplicate of the exe
		{Base: 0x400000, Size: 0x2d000, Name: `c:\test_app.exe`},
		{Base: 0x10000000, Size: 0x1000, Name: ""},
	}
	unl := []minidump.UnloadedModule{{Base: 0x60000000, Size: 0x4000, Name: `C:\x\old.dll`}}
	x := process.NewModuleIndex(mods, unl)
	for addr, want := range map[uint64]string{
		0x400000: "test_app.exe+0x0", 0x42cfff: "test_app.exe+0x2cfff", 0x42d000: "",
		0x7c901234: "ntdll.dll+0x1234", 0x60000010: "<Unloaded_old.dll>+0x10", 0x10000010: "<module 0x10000000>+0x10",
		0: "", ^uint64(0): "",
	} {
		if got := x.Name(addr); got != want {
			t.Errorf("Name(%#x) = %q, want %q", addr, got, want)
		}
	}
	var nilIndex *process.ModuleIndex
	if nilIndex.Name(0x400000) != "" {
		t.Error("nil index names an address")
	}
}

// TestFacts checks each fact's one rule on small synthetic dumps.
func TestFacts(t *testing.T) {
	linux := minidumptest.SystemInfo{Arch: minidump.ArchAMD64, Platform: minidump.PlatformLinux}
	x86on64 := minidumptest.Windows7x86()
	x86on64.Arch = minidump.ArchX86Win64
	for _, c := range []struct {
		name      string
		si        *minidumptest.SystemInfo
		mods      []string
		main      string // file name of the main module, "" for none
		mainHow   string
		wow64     bool
		ptr, dptr int
		windows   bool
		crt       process.CRTKind
	}{
		{name: "x64 exe first", si: ptr(minidumptest.Windows10x64()), mods: []string{`C:\app\app.exe`, `C:\Windows\System32\ntdll.dll`, `C:\Windows\System32\ucrtbase.dll`},
			main: "app.exe", mainHow: "first module, an .exe", ptr: 8, dptr: 8, windows: true, crt: process.CRTUniversal},
		{name: "x64 dll listed first", si: ptr(minidumptest.Windows10x64()), mods: []string{`C:\app\helper.dll`, `C:\x\App.EXE`},
			main: "App.EXE", mainHow: "first .exe in the module list", ptr: 8, dptr: 8, windows: true},
		{name: "WOW64 in a 64-bit dump", si: ptr(minidumptest.Windows10x64()), mods: []string{`C:\app\app.exe`, `C:\Windows\System32\wow64.dll`, `C:\Windows\SysWOW64\ntdll.dll`},
			main: "app.exe", mainHow: "first module, an .exe", wow64: true, ptr: 4, dptr: 8, windows: true},
		{name: "WOW64 in a 32-bit dump", si: ptr(minidumptest.Windows7x86()), mods: []string{`C:\app\app.exe`, `C:\Windows\SysWOW64\kernel32.dll`},
			main: "app.exe", mainHow: "first module, an .exe", wow64: true, ptr: 4, dptr: 4, windows: true},
		{name: "x86 on Win64 arch", si: &x86on64, mods: []string{`C:\app\app.exe`},
			main: "app.exe", mainHow: "first module, an .exe", wow64: true, ptr: 4, dptr: 4, windows: true},
		{name: "versioned CRT", si: ptr(minidumptest.Windows7x86()), mods: []string{`C:\app\app.exe`, `C:\x\MSVCR120.dll`, `C:\x\ucrtbase.dll`},
			main: "app.exe", mainHow: "first module, an .exe", ptr: 4, dptr: 4, windows: true},
		{name: "linux", si: &linux, mods: []string{`/usr/bin/app`, `/lib/libc.so.6`},
			main: "app", mainHow: "first module in the module list", ptr: 8, dptr: 8},
		{name: "no SystemInfo", mods: []string{`C:\a.exe`}, main: "a.exe", mainHow: "first module, an .exe", ptr: 8, dptr: 8, windows: true},
		{name: "no modules", si: ptr(minidumptest.Windows10x64()), ptr: 8, dptr: 8, windows: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := minidumptest.New()
			if c.si != nil {
				b.SystemInfo(*c.si)
			}
			for i, n := range c.mods {
				b.Module(minidumptest.Module{Base: 0x10000000 * uint64(i+1), Size: 0x10000, Name: n})
			}
			p := open(t, b)
			main, how := p.Main()
			switch {
			case c.main == "" && main != nil:
				t.Errorf("main module %s, want none", main.FileName)
			case c.main != "" && (main == nil || main.FileName != c.main || how != c.mainHow):
				t.Errorf("main module %v (%s), want %s (%s)", main, how, c.main, c.mainHow)
			}
			if w := p.WOW64(); w.Is != c.wow64 || w.Is != (w.Reason != "") {
				t.Errorf("WOW64 %+v, want %v", w, c.wow64)
			}
			if p.PointerSize() != c.ptr || p.DumpPointerSize() != c.dptr {
				t.Errorf("pointer sizes %d/%d, want %d/%d", p.PointerSize(), p.DumpPointerSize(), c.ptr, c.dptr)
			}
			if p.Windows() != c.windows {
				t.Errorf("Windows %v", p.Windows())
			}
			// No image is captured: the CRT comes from the module list alone, and only
			// the Universal CRT is decided by it.
			if got := p.CRT().Kind; got != c.crt {
				t.Errorf("CRT %v, want %v (%v)", got, c.crt, p.CRT().Attempts)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCRTKindOf(t *testing.T) {
	for name, want := range map[string]process.CRTKind{
		"ucrtbase.dll": process.CRTUniversal, "UCRTBASED.DLL": process.CRTUniversal, "api-ms-win-crt-heap-l1-1-0.dll": process.CRTUniversal,
		"msvcrt.dll": process.CRTSystem, "MSVCR120.dll": process.CRTVersioned, "msvcr90d.dll": process.CRTVersioned,
		"msvcr100_clr0400.dll": process.CRTVersioned, "mycrt.dll": process.CRTOther, "": process.CRTUnknown,
		"msvcrtx.dll": process.CRTOther,
	} {
		if got := process.CRTKindOf(name); got != want {
			t.Errorf("CRTKindOf(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestDecodedOnce: asking a Process for a stream many times decodes it once, and
// the damage it found is reported once.
func TestDecodedOnce(t *testing.T) {
	b := minidumptest.New().SystemInfo(minidumptest.Windows10x64())
	b.Module(minidumptest.Module{Base: 0x140000000, Size: 0x10000, Name: `C:\a.exe`})
	b.Thread(minidumptest.Thread{ID: 1, TEB: 0x7ff000})
	p := open(t, b)
	for i := 0; i < 3; i++ {
		p.Modules()
		p.Threads()
		p.SystemInfo()
		p.Main()
		p.WOW64()
		p.CRT()
		p.Memory()
	}
	f := p.File()
	for _, s := range f.Streams {
		if n := f.Decodes(s); n > 1 {
			t.Errorf("%s decoded %d times", s.Type, n)
		}
	}
	if n := f.Decodes(f.Stream(minidump.StreamModuleList)); n != 1 {
		t.Errorf("ModuleList decoded %d times, want 1", n)
	}
}

func TestTriAndOS(t *testing.T) {
	if process.Yes.String() != "yes" || process.No.String() != "no" || process.Unknown.String() != "" {
		t.Error("Tri strings")
	}
	p := open(t, minidumptest.New().SystemInfo(minidumptest.Windows7x86()))
	v, ok := p.OS()
	if !ok || v.String() != "6.1.7601" || v.ServicePack != "Service Pack 1" || !v.AtLeast(6, 1, 7600) || v.AtLeast(6, 2, 0) {
		t.Errorf("OS %+v %v", v, ok)
	}
	laa, err := p.LargeAddressAware()
	if laa != process.Unknown || err == nil || !strings.Contains(err.Error(), "no module list") {
		t.Errorf("LAA %v %v", laa, err)
	}
}

// TestCRTKindOfLikeTheRegexp checks the hand matcher of versioned runtimes
// against the regular expression it replaced, on names built from the pieces
// that matter (and ones that almost match), in mixed case.
func TestCRTKindOfLikeTheRegexp(t *testing.T) {
	re := regexp.MustCompile(`^msvcr[0-9]+d?(_clr[0-9]+)?\.dll$`)
	ref := func(dll string) process.CRTKind {
		n := strings.ToLower(dll)
		switch {
		case n == "ucrtbase.dll" || n == "ucrtbased.dll" || strings.HasPrefix(n, "api-ms-win-crt-"):
			return process.CRTUniversal
		case n == "msvcrt.dll" || n == "msvcrtd.dll":
			return process.CRTSystem
		case re.MatchString(n):
			return process.CRTVersioned
		case n == "":
			return process.CRTUnknown
		}
		return process.CRTOther
	}
	pieces := []string{"msvcr", "MSVCR", "msvc", "msvcrt", "1", "20", "120", "d", "D", "dd", "_clr", "_CLR", "_cl", "0400",
		".dll", ".DLL", ".dl", ".dllx", "x", "", "_", ".", "ucrtbase", "api-ms-win-crt-", "K", "ſ", "İ", "é"}
	rng := rand.New(rand.NewPCG(1, 2))
	versioned := 0
	for range 200000 {
		var b strings.Builder
		if rng.IntN(2) == 0 {
			for range 1 + rng.IntN(6) {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		} else { // along the pattern, each part sometimes missing or wrong
			pick := func(opts ...string) { b.WriteString(opts[rng.IntN(len(opts))]) }
			pick("msvcr", "MSVCR", "Msvcr", "msvc", "xmsvcr")
			for range rng.IntN(4) {
				pick("1", "0", "9", "12", "x")
			}
			pick("", "", "d", "D", "dd")
			if rng.IntN(2) == 0 {
				pick("_clr", "_CLR", "clr", "_clr_")
				for range rng.IntN(4) {
					pick("0", "4", "400", "a")
				}
			}
			pick(".dll", ".DLL", ".dl", ".dllx", "")
		}
		name := b.String()
		got, want := process.CRTKindOf(name), ref(name)
		if got != want {
			t.Fatalf("CRTKindOf(%q) = %v, the regexp says %v", name, got, want)
		}
		if got == process.CRTVersioned {
			versioned++
		}
	}
	if versioned < 100 {
		t.Fatalf("only %d versioned names among the random ones", versioned)
	}
}
