package minidump

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/dumpmap/dumpmap/minidump/internal/raw"
)

// SystemInfo is the SystemInfo stream (MINIDUMP_SYSTEM_INFO): processor and OS.
type SystemInfo struct {
	Arch               Arch
	ProcessorLevel     uint16
	ProcessorRevision  uint16
	NumberOfProcessors uint8
	ProductType        uint8 // 1 workstation, 2 domain controller, 3 server
	MajorVersion       uint32
	MinorVersion       uint32
	BuildNumber        uint32
	Platform           Platform
	// CSDVersion is the service pack string ("Service Pack 1"); Breakpad writers put
	// the kernel version or OS build string here.
	CSDVersion string
	SuiteMask  uint16

	// x86 and amd64 dumps carry CPUID results; others carry processor feature bits.
	CPUVendor              string // "GenuineIntel", "AuthenticAMD", ...; "" unless the writer recorded CPUID (x86, amd64)
	CPUVersion             uint32 // CPUID(1).EAX
	CPUFeatures            uint32 // CPUID(1).EDX
	AMDExtendedCPUFeatures uint32
	ProcessorFeatures      [2]uint64 // non-x86 architectures
}

// OS returns a readable name and version, such as "Windows 10 10.0.19041" or
// "Linux 5.10.28".
func (s *SystemInfo) OS() string {
	v := fmt.Sprintf("%d.%d.%d", s.MajorVersion, s.MinorVersion, s.BuildNumber)
	if s.Platform != PlatformWindows {
		return s.Platform.String() + " " + v
	}
	name := "Windows NT"
	switch {
	case s.MajorVersion == 10 && s.BuildNumber >= 22000 && s.ProductType == 1:
		name = "Windows 11"
	case s.MajorVersion == 10 && s.ProductType == 1:
		name = "Windows 10"
	case s.MajorVersion == 10:
		name = "Windows Server 2016+"
	case s.MajorVersion == 6 && s.MinorVersion == 3:
		name = "Windows 8.1"
	case s.MajorVersion == 6 && s.MinorVersion == 2:
		name = "Windows 8"
	case s.MajorVersion == 6 && s.MinorVersion == 1 && s.ProductType != 1:
		name = "Windows Server 2008 R2"
	case s.MajorVersion == 6 && s.MinorVersion == 1:
		name = "Windows 7"
	case s.MajorVersion == 6 && s.MinorVersion == 0:
		name = "Windows Vista"
	case s.MajorVersion == 5 && s.MinorVersion == 2:
		name = "Windows XP x64 / Server 2003"
	case s.MajorVersion == 5 && s.MinorVersion == 1:
		name = "Windows XP"
	case s.MajorVersion == 5 && s.MinorVersion == 0:
		name = "Windows 2000"
	}
	out := name + " " + v
	if s.CSDVersion != "" {
		out += " (" + s.CSDVersion + ")"
	}
	return out
}

// SystemInfo decodes the SystemInfo stream.
func (f *File) SystemInfo() (*SystemInfo, error) {
	s := f.Stream(StreamSystemInfo)
	if s == nil {
		return nil, noStream(StreamSystemInfo)
	}
	data, err := f.readStream(s, 64<<10)
	p := raw.NewProfile()
	si := p.MINIDUMP_SYSTEM_INFO(bytes.NewReader(data), 0)
	if len(data) < si.Size() {
		if err == nil {
			err = formatErr("SystemInfo", s.Offset, "stream is %d bytes, need %d", len(data), si.Size())
		}
		return nil, err
	}
	out := &SystemInfo{
		Arch:                   Arch(si.ProcessorArchitecture()),
		ProcessorLevel:         si.ProcessorLevel(),
		ProcessorRevision:      si.ProcessorRevision(),
		NumberOfProcessors:     si.NumberOfProcessors(),
		ProductType:            si.ProductType(),
		MajorVersion:           si.MajorVersion(),
		MinorVersion:           si.MinorVersion(),
		BuildNumber:            si.BuildNumber(),
		Platform:               Platform(si.PlatformId()),
		SuiteMask:              si.SuiteMask(),
		CPUVersion:             si.VersionInformation(),
		CPUFeatures:            si.FeatureInformation(),
		AMDExtendedCPUFeatures: si.AMDExtendedCpuFeatures(),
	}
	copy(out.ProcessorFeatures[:], si.ProcessorFeatures())
	if out.Arch == ArchX86 || out.Arch == ArchAMD64 || out.Arch == ArchX86Win64 {
		var v [12]byte
		for i, w := range si.VendorId() {
			binary.LittleEndian.PutUint32(v[i*4:], w)
		}
		// dbghelp on x64 (and Crashpad on some systems) fill the union with
		// OtherCpuInfo, processor feature bits, even for amd64: only a printable
		// 12-character CPUID vendor is a vendor.
		if vendor := bytes.TrimRight(v[:], "\x00"); isPrintableASCII(vendor) {
			out.CPUVendor = string(vendor)
		}
	}
	if rva := si.CSDVersionRva(); rva != 0 {
		str, serr := f.readString(int64(rva), "SystemInfo CSDVersion")
		if serr != nil && err == nil {
			err = serr
		}
		out.CSDVersion = str
	}
	return out, err
}

// isPrintableASCII reports whether b is non-empty and all printable ASCII.
func isPrintableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(b) > 0
}
