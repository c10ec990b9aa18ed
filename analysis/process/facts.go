package process

import (
	"fmt"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/minidump"
)

// Tri is a yes/no fact that the dump may not decide.
type Tri int8

// The values of a Tri.
const (
	Unknown Tri = iota
	Yes
	No
)

// TriOf returns Yes for true and No for false.
func TriOf(b bool) Tri {
	if b {
		return Yes
	}
	return No
}

// String returns "yes", "no", or "" when unknown: the form the JSON outputs use.
func (t Tri) String() string {
	switch t {
	case Yes:
		return "yes"
	case No:
		return "no"
	}
	return ""
}

// Arch returns the dump's processor architecture, ArchUnknown without SystemInfo.
// For a WOW64 process it is the machine's (amd64 or arm64): see PointerSize for
// the process's own width.
func (p *Process) Arch() minidump.Arch {
	if si, _ := p.SystemInfo(); si != nil {
		return si.Arch
	}
	return minidump.ArchUnknown
}

// Platform returns the dump's operating system family. Without SystemInfo a dump
// is taken to be of Windows, the platform minidumps come from unless a writer says
// otherwise (Breakpad and Crashpad always write SystemInfo).
func (p *Process) Platform() minidump.Platform {
	if si, _ := p.SystemInfo(); si != nil {
		return si.Platform
	}
	return minidump.PlatformWindows
}

// Windows reports whether the process ran on Windows NT, the only platform whose
// address-space rules (64 KB allocation granularity, VirtualAlloc, NT heaps) apply.
func (p *Process) Windows() bool { return p.Platform().IsWindows() }

// DumpPointerSize is the pointer size of the dump's architecture: 8 for a 64-bit
// dump of a WOW64 process. Without SystemInfo it is 8.
func (p *Process) DumpPointerSize() int {
	if ps := p.Arch().PointerSize(); ps != 0 {
		return ps
	}
	return 8
}

// PointerSize is the pointer size of the process's own code: 4 for a 32-bit
// process, the 32-bit view of a WOW64 process included; 8 for a 64-bit one.
func (p *Process) PointerSize() int {
	if p.WOW64().Is {
		return 4
	}
	return p.DumpPointerSize()
}

// OSVersion is the Windows (or kernel) version the dump was written on.
type OSVersion struct {
	Major, Minor, Build uint32
	// ServicePack is the CSDVersion string of Windows dumps ("Service Pack 1").
	ServicePack string
}

// String returns "10.0.19041".
func (v OSVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build) }

// AtLeast reports whether v is major.minor.build or later.
func (v OSVersion) AtLeast(major, minor, build uint32) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Build >= build
}

// OS returns the OS version from SystemInfo, and false without it.
func (p *Process) OS() (OSVersion, bool) {
	si, _ := p.SystemInfo()
	if si == nil {
		return OSVersion{}, false
	}
	v := OSVersion{Major: si.MajorVersion, Minor: si.MinorVersion, Build: si.BuildNumber}
	if si.Platform.IsWindows() {
		v.ServicePack = si.CSDVersion
	}
	return v, true
}

// WOW64 says whether the dump is of a 32-bit process on 64-bit Windows and how
// that was recognised.
type WOW64 struct {
	Is bool
	// Reason is a sentence naming the evidence and the view the dump gives.
	Reason string
	// Evidence is the module (or "arch") that decided.
	Evidence string
}

// The DLLs that make up the WOW64 layer: loaded only into 32-bit processes on
// 64-bit Windows (wowarmhw.dll and xtajit.dll on ARM64).
var wow64DLLs = []string{"wow64.dll", "wow64cpu.dll", "wow64win.dll", "wowarmhw.dll", "xtajit.dll"}

// WOW64 recognises a 32-bit process on 64-bit Windows: the writer says so
// (PROCESSOR_ARCHITECTURE_IA32_ON_WIN64), the WOW64 layer's DLLs are loaded, or
// modules are loaded from SysWOW64.
func (p *Process) WOW64() WOW64 {
	p.facts()
	return p.wow64
}

func (p *Process) facts() {
	p.factsOnce.Do(func() {
		mods := p.ModuleList()
		p.wow64 = detectWOW64(p.Arch(), p.Windows(), mods)
		p.main, p.mainHow = mainModule(mods, p.Platform())
	})
}

func detectWOW64(arch minidump.Arch, windows bool, mods []minidump.Module) WOW64 {
	const on64 = "32-bit process on 64-bit Windows (WOW64): "
	const dump64 = "64-bit dump of a 32-bit process (WOW64): "
	const below4G = "; the 32-bit code sees only the space below 4 GB"
	if !windows {
		return WOW64{}
	}
	if arch == minidump.ArchX86Win64 {
		return WOW64{Is: true, Evidence: "arch", Reason: on64 + "the writer reports the architecture as x86 on Win64"}
	}
	wowDLL, sysWow := "", ""
	for i := range mods {
		if wowDLL == "" {
			base := minidump.BaseName(mods[i].Name)
			for _, dll := range wow64DLLs {
				if strings.EqualFold(base, dll) {
					wowDLL = base
					break
				}
			}
		}
		if sysWow == "" && containsFold(mods[i].Name, `\syswow64\`) {
			sysWow = minidump.BaseName(mods[i].Name)
		}
	}
	switch arch.PointerSize() {
	case 8:
		if wowDLL != "" {
			return WOW64{Is: true, Evidence: wowDLL, Reason: dump64 + wowDLL + " is loaded" + below4G}
		}
		if sysWow != "" {
			return WOW64{Is: true, Evidence: sysWow, Reason: dump64 + sysWow + " is loaded from SysWOW64" + below4G}
		}
	case 4:
		if wowDLL != "" {
			return WOW64{Is: true, Evidence: wowDLL, Reason: on64 + wowDLL + " is loaded"}
		}
		if sysWow != "" {
			return WOW64{Is: true, Evidence: sysWow, Reason: on64 + sysWow + " is loaded from SysWOW64"}
		}
	}
	return WOW64{}
}

// containsFold reports whether s contains sub, ignoring ASCII case; sub is lower
// case and starts with a character that has no case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i] == sub[0] && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// Main returns the main executable's module and how it was chosen, or nil
// without modules.
func (p *Process) Main() (*Module, string) {
	p.facts()
	mods := p.Modules()
	if p.main < 0 || p.main >= len(mods) {
		return nil, ""
	}
	return mods[p.main], p.mainHow
}

// mainModule is the one rule for the main module: dbghelp, Breakpad and Crashpad
// all list the executable first; on Windows the first module whose name ends in
// ".exe" is preferred, in case a writer did not.
func mainModule(mods []minidump.Module, pl minidump.Platform) (int, string) {
	if len(mods) == 0 {
		return -1, ""
	}
	if pl.IsWindows() {
		for i := range mods {
			if n := mods[i].Name; len(n) >= 4 && strings.EqualFold(n[len(n)-4:], ".exe") {
				if i == 0 {
					return 0, "first module, an .exe"
				}
				return i, "first .exe in the module list"
			}
		}
	}
	return 0, "first module in the module list"
}

// LargeAddressAware reads IMAGE_FILE_LARGE_ADDRESS_AWARE from the main module's
// PE header in dump memory; Unknown, with the reason, when the header was not
// captured.
func (p *Process) LargeAddressAware() (Tri, error) {
	p.laaOnce.Do(func() {
		main, _ := p.Main()
		if main == nil || p.Memory() == nil {
			p.laa, p.laaWhy = Unknown, fmt.Errorf("no module list or no captured memory")
			return
		}
		// Only the file header is needed, which a dump may hold when the rest of
		// the image's headers was not captured.
		mem := p.Memory()
		if !mem.Contains(main.Base, 64) {
			p.laa, p.laaWhy = Unknown, fmt.Errorf("main module header at %#x not captured", main.Base)
			return
		}
		fh, err := pe.ReadFileHeader(pe.MemoryReader(mem.ReadAt, main.Base))
		if err != nil {
			p.laa, p.laaWhy = Unknown, fmt.Errorf("main module at %#x: %w", main.Base, err)
			return
		}
		p.laa = TriOf(fh.LargeAddressAware())
	})
	return p.laa, p.laaWhy
}
