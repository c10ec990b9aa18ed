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

// String returns the architecture's short name ("amd64", "arm64", ...), or its
// number in hex. A switch rather than a map: there is nothing to build at start-up.
func (a Arch) String() string {
	switch a {
	case ArchX86:
		return "x86"
	case ArchMIPS:
		return "mips"
	case ArchAlpha:
		return "alpha"
	case ArchPPC:
		return "ppc"
	case ArchSHX:
		return "shx"
	case ArchARM:
		return "arm"
	case ArchIA64:
		return "ia64"
	case ArchAlpha64:
		return "alpha64"
	case ArchMSIL:
		return "msil"
	case ArchAMD64:
		return "amd64"
	case ArchX86Win64:
		return "x86-on-win64"
	case ArchARM64, ArchARM64Old:
		return "arm64"
	case ArchSPARC:
		return "sparc"
	case ArchPPC64:
		return "ppc64"
	case ArchMIPS64:
		return "mips64"
	case ArchRISCV:
		return "riscv"
	case ArchRISCV64:
		return "riscv64"
	case ArchUnknown:
		return "unknown"
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

// String returns the platform's name ("Windows NT", "Linux", ...), or its number
// in hex. A switch rather than a map: there is nothing to build at start-up.
func (p Platform) String() string {
	switch p {
	case PlatformWin32s:
		return "Win32s"
	case PlatformWin9x:
		return "Windows 9x"
	case PlatformWindows:
		return "Windows NT"
	case PlatformWinCE:
		return "Windows CE"
	case PlatformUnix:
		return "Unix"
	case PlatformMacOS:
		return "macOS"
	case PlatformIOS:
		return "iOS"
	case PlatformLinux:
		return "Linux"
	case PlatformSolaris:
		return "Solaris"
	case PlatformAndroid:
		return "Android"
	case PlatformPS3:
		return "PS3"
	case PlatformNaCl:
		return "NaCl"
	case PlatformFuchsia:
		return "Fuchsia"
	}
	return fmt.Sprintf("platform(%#x)", uint32(p))
}

// IsWindows reports whether p is a Windows NT platform, the only one whose dumps carry
// Windows address-space semantics (64 KB allocation granularity, VirtualAlloc).
func (p Platform) IsWindows() bool { return p == PlatformWindows }
