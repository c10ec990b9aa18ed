package minidump

import (
	"bytes"
	"time"

	"github.com/dumpmap/dumpmap/minidump/internal/raw"
)

// MiscInfo flag bits (MINIDUMP_MISC*): a field is valid only if its bit is set and the
// stream is long enough to hold it.
const (
	MiscProcessID           = 0x001
	MiscProcessTimes        = 0x002
	MiscProcessorPowerInfo  = 0x004
	MiscProcessIntegrity    = 0x010
	MiscProcessExecuteFlags = 0x020
	MiscTimeZone            = 0x040
	MiscProtectedProcess    = 0x080
	MiscBuildString         = 0x100
	MiscProcessCookie       = 0x200
)

// Sizes of the five MINIDUMP_MISC_INFO versions.
var miscInfoSizes = [...]int{1: 24, 2: 44, 3: 232, 4: 832, 5: 1364}

// MiscInfo is the MiscInfo stream, versions 1 to 5 (MINIDUMP_MISC_INFO_N). Fields
// beyond Version's structure, or whose flag is clear, are zero.
type MiscInfo struct {
	// Version is 1-5, chosen by SizeOfInfo; 0 if the size matches no version (the
	// fields that fit are still decoded).
	Version    int
	SizeOfInfo uint32
	Flags      uint32

	ProcessID         uint32
	HasProcessID      bool
	ProcessCreateTime time.Time
	ProcessUserTime   time.Duration
	ProcessKernelTime time.Duration
	HasProcessTimes   bool

	ProcessorMaxMhz, ProcessorCurrentMhz, ProcessorMhzLimit      uint32
	ProcessorMaxIdleState, ProcessorCurrentIdleState             uint32
	ProcessIntegrityLevel, ProcessExecuteFlags, ProtectedProcess uint32
	TimeZoneID                                                   uint32
	TimeZoneBias                                                 int32 // minutes, UTC = local + bias
	TimeZoneStandardName, TimeZoneDaylightName                   string

	BuildString string // e.g. "10.0.19041.1 (WinBuild.160101.0800)"
	DbgBldStr   string // dbghelp's own build

	ProcessCookie uint32
}

// IntegrityLevel names the ProcessIntegrityLevel RID (SECURITY_MANDATORY_*_RID), or
// returns "" when the stream does not carry it (flag clear, or a version 1 or 2
// structure, which has no such field whatever its flags say).
func (m *MiscInfo) IntegrityLevel() string {
	if m.Flags&MiscProcessIntegrity == 0 || (m.Version > 0 && m.Version < 3) {
		return ""
	}
	switch lvl := m.ProcessIntegrityLevel; {
	case lvl >= 0x4000:
		return "System"
	case lvl >= 0x3000:
		return "High"
	case lvl >= 0x2100:
		return "Medium Plus"
	case lvl >= 0x2000:
		return "Medium"
	case lvl >= 0x1000:
		return "Low"
	default:
		return "Untrusted"
	}
}

// MiscInfo decodes the MiscInfo stream.
func (f *File) MiscInfo() (*MiscInfo, error) {
	s := f.Stream(StreamMiscInfo)
	if s == nil {
		return nil, noStream(StreamMiscInfo)
	}
	data, err := f.readStream(s, 64<<10)
	if len(data) < miscInfoSizes[1] {
		if err == nil {
			err = formatErr("MiscInfo", s.Offset, "stream is %d bytes, need at least %d", len(data), miscInfoSizes[1])
		}
		return nil, err
	}
	// Decode from a buffer padded to the largest version so the generated accessors
	// read zeros, not garbage, past what this dump's version holds.
	full := make([]byte, miscInfoSizes[5])
	n := copy(full, data)
	p := raw.NewProfile()
	mi := p.MINIDUMP_MISC_INFO_N(bytes.NewReader(full), 0)
	m := &MiscInfo{SizeOfInfo: mi.SizeOfInfo(), Flags: mi.Flags1()}
	// SizeOfInfo says which version the writer meant; trust it only as far as the
	// stream really extends.
	version := func(size int) int {
		for v := 5; v >= 1; v-- {
			if size == miscInfoSizes[v] {
				return v
			}
		}
		return 0
	}
	size := min(int(m.SizeOfInfo), n)
	if int(m.SizeOfInfo) > n && version(int(m.SizeOfInfo)) != 0 && err == nil {
		// A known version whose fields the stream does not hold: decode what is there,
		// and say what is missing.
		err = formatErr("MiscInfo", s.Offset, "SizeOfInfo %d (MINIDUMP_MISC_INFO version %d) but the stream holds %d bytes: the fields past them are missing",
			m.SizeOfInfo, version(int(m.SizeOfInfo)), n)
	}
	m.Version = version(size)
	if m.Version == 0 {
		// Some writers (yaml2obj) leave SizeOfInfo zero: fall back on the stream's
		// length, and say so.
		if err == nil {
			err = formatErr("MiscInfo", s.Offset, "SizeOfInfo %d (stream %d bytes) matches no MINIDUMP_MISC_INFO version", m.SizeOfInfo, len(data))
		}
		size = n
		m.Version = version(n)
	}
	has := func(bit uint32, end int) bool { return m.Flags&bit != 0 && size >= end }
	if has(MiscProcessID, 12) {
		m.ProcessID, m.HasProcessID = mi.ProcessId(), true
	}
	if has(MiscProcessTimes, 24) {
		m.HasProcessTimes = true
		m.ProcessCreateTime = time.Unix(int64(mi.ProcessCreateTime()), 0).UTC()
		m.ProcessUserTime = time.Duration(mi.ProcessUserTime()) * time.Second
		m.ProcessKernelTime = time.Duration(mi.ProcessKernelTime()) * time.Second
	}
	if has(MiscProcessorPowerInfo, 44) {
		m.ProcessorMaxMhz, m.ProcessorCurrentMhz = mi.ProcessorMaxMhz(), mi.ProcessorCurrentMhz()
		m.ProcessorMhzLimit = mi.ProcessorMhzLimit()
		m.ProcessorMaxIdleState, m.ProcessorCurrentIdleState = mi.ProcessorMaxIdleState(), mi.ProcessorCurrentIdleState()
	}
	if has(MiscProcessIntegrity, 48) {
		m.ProcessIntegrityLevel = mi.ProcessIntegrityLevel()
	}
	if has(MiscProcessExecuteFlags, 52) {
		m.ProcessExecuteFlags = mi.ProcessExecuteFlags()
	}
	if has(MiscProtectedProcess, 56) {
		m.ProtectedProcess = mi.ProtectedProcess()
	}
	if has(MiscTimeZone, 232) {
		tz := mi.TimeZone()
		m.TimeZoneID = mi.TimeZoneId()
		m.TimeZoneBias = tz.Bias()
		m.TimeZoneStandardName = utf16Units(tz.StandardName())
		m.TimeZoneDaylightName = utf16Units(tz.DaylightName())
	}
	if has(MiscBuildString, 832) {
		m.BuildString = utf16Units(mi.BuildString())
		m.DbgBldStr = utf16Units(mi.DbgBldStr())
	}
	if has(MiscProcessCookie, 1364) {
		m.ProcessCookie = mi.ProcessCookie()
	}
	return m, err
}
