package minidump

import "fmt"

// Arch is the processor architecture of the dumped system
// (PROCESSOR_ARCHITECTURE_*, plus Breakpad's values above 0x8000).
type Arch uint16

// Processor architectures.
const (
	ArchX86      Arch = 0
	ArchMIPS     Arch = 1
	ArchAlpha    Arch = 2
	ArchPPC      Arch = 3
	ArchSHX      Arch = 4
	ArchARM      Arch = 5
	ArchIA64     Arch = 6
	ArchAlpha64  Arch = 7
	ArchMSIL     Arch = 8
	ArchAMD64    Arch = 9
	ArchX86Win64 Arch = 10 // WOW64 as reported by some writers
	ArchARM64    Arch = 12
	ArchSPARC    Arch = 0x8001
	ArchPPC64    Arch = 0x8002
	ArchARM64Old Arch = 0x8003 // Breakpad's ARM64 before Windows had a number for it
	ArchMIPS64   Arch = 0x8004
	ArchRISCV    Arch = 0x8005
	ArchRISCV64  Arch = 0x8006
	ArchUnknown  Arch = 0xffff
)

var archNames = map[Arch]string{
	ArchX86: "x86", ArchMIPS: "mips", ArchAlpha: "alpha", ArchPPC: "ppc", ArchSHX: "shx",
	ArchARM: "arm", ArchIA64: "ia64", ArchAlpha64: "alpha64", ArchMSIL: "msil",
	ArchAMD64: "amd64", ArchX86Win64: "x86-on-win64", ArchARM64: "arm64", ArchSPARC: "sparc",
	ArchPPC64: "ppc64", ArchARM64Old: "arm64", ArchMIPS64: "mips64", ArchRISCV: "riscv",
	ArchRISCV64: "riscv64", ArchUnknown: "unknown",
}

func (a Arch) String() string {
	if n, ok := archNames[a]; ok {
		return n
	}
	return fmt.Sprintf("arch(%#x)", uint16(a))
}

// PointerSize returns the size in bytes of a pointer on a, or 0 if unknown.
func (a Arch) PointerSize() int {
	switch a {
	case ArchX86, ArchMIPS, ArchPPC, ArchSHX, ArchARM, ArchSPARC, ArchRISCV, ArchX86Win64:
		return 4
	case ArchAMD64, ArchIA64, ArchAlpha64, ArchARM64, ArchARM64Old, ArchPPC64, ArchMIPS64, ArchRISCV64:
		return 8
	}
	return 0
}

// Platform is the operating system family (VER_PLATFORM_* and Breakpad's values).
type Platform uint32

// Platforms.
const (
	PlatformWin32s   Platform = 0
	PlatformWin9x    Platform = 1
	PlatformWindows  Platform = 2 // VER_PLATFORM_WIN32_NT
	PlatformWinCE    Platform = 3
	PlatformUnix     Platform = 0x8000
	PlatformMacOS    Platform = 0x8101
	PlatformIOS      Platform = 0x8102
	PlatformLinux    Platform = 0x8201
	PlatformSolaris  Platform = 0x8202
	PlatformAndroid  Platform = 0x8203
	PlatformPS3      Platform = 0x8204
	PlatformNaCl     Platform = 0x8205
	PlatformFuchsia  Platform = 0x8206
	PlatformUnknownP Platform = 0xffffffff
)

var platformNames = map[Platform]string{
	PlatformWin32s: "Win32s", PlatformWin9x: "Windows 9x", PlatformWindows: "Windows NT",
	PlatformWinCE: "Windows CE", PlatformUnix: "Unix", PlatformMacOS: "macOS", PlatformIOS: "iOS",
	PlatformLinux: "Linux", PlatformSolaris: "Solaris", PlatformAndroid: "Android",
	PlatformPS3: "PS3", PlatformNaCl: "NaCl", PlatformFuchsia: "Fuchsia",
}

func (p Platform) String() string {
	if n, ok := platformNames[p]; ok {
		return n
	}
	return fmt.Sprintf("platform(%#x)", uint32(p))
}

// IsWindows reports whether p is a Windows NT platform, the only one whose dumps carry
// Windows address-space semantics (64 KB allocation granularity, VirtualAlloc).
func (p Platform) IsWindows() bool { return p == PlatformWindows }
