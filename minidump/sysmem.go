package minidump

import (
	"bytes"

	"github.com/dumpmap/dumpmap/minidump/internal/raw"
)

// SystemMemoryInfo is the SystemMemoryInfo stream (21, MINIDUMP_SYSTEM_MEMORY_INFO_1):
// the system's page size, allocation granularity and user-mode address limits as the
// dumped process saw them, and system-wide commit figures.
type SystemMemoryInfo struct {
	Revision uint16
	Flags    uint16

	TimerResolution        uint32
	PageSize               uint32
	NumberOfPhysicalPages  uint32
	AllocationGranularity  uint32
	MinimumUserModeAddress uint64
	MaximumUserModeAddress uint64
	ActiveProcessorsMask   uint64
	NumberOfProcessors     uint32

	FileCacheCurrentSize uint64
	FileCachePeakSize    uint64

	// System-wide commit, in pages (MINIDUMP_SYSTEM_BASIC_PERFORMANCE_INFORMATION).
	AvailablePages uint64
	CommittedPages uint64
	CommitLimit    uint64
	PeakCommitment uint64
}

// SystemMemoryInfo decodes the SystemMemoryInfo stream.
func (f *File) SystemMemoryInfo() (*SystemMemoryInfo, error) {
	s := f.Stream(StreamSystemMemoryInfo)
	if s == nil {
		return nil, noStream(StreamSystemMemoryInfo)
	}
	data, err := f.readStream(s, 64<<10)
	p := raw.NewProfile()
	m := p.MINIDUMP_SYSTEM_MEMORY_INFO_1(bytes.NewReader(data), 0)
	// Only the basic information is required; the performance part is optional.
	const needBasic = 4 + 52
	if len(data) < needBasic {
		if err == nil {
			err = formatErr("SystemMemoryInfo", s.Offset, "stream is %d bytes, need at least %d", len(data), needBasic)
		}
		return nil, err
	}
	b := m.BasicInfo()
	out := &SystemMemoryInfo{
		Revision:               m.Revision(),
		Flags:                  m.Flags(),
		TimerResolution:        b.TimerResolution(),
		PageSize:               b.PageSize(),
		NumberOfPhysicalPages:  b.NumberOfPhysicalPages(),
		AllocationGranularity:  b.AllocationGranularity(),
		MinimumUserModeAddress: b.MinimumUserModeAddress(),
		MaximumUserModeAddress: b.MaximumUserModeAddress(),
		ActiveProcessorsMask:   b.ActiveProcessorsAffinityMask(),
		NumberOfProcessors:     b.NumberOfProcessors(),
	}
	if len(data) >= 4+52+60 {
		fc := m.FileCacheInfo()
		out.FileCacheCurrentSize, out.FileCachePeakSize = fc.CurrentSize(), fc.PeakSize()
	}
	if len(data) >= 4+52+60+32 {
		bp := m.BasicPerfInfo()
		out.AvailablePages, out.CommittedPages = bp.AvailablePages(), bp.CommittedPages()
		out.CommitLimit, out.PeakCommitment = bp.CommitLimit(), bp.PeakCommitment()
	}
	return out, err
}

// ProcessVMCounters is the ProcessVmCounters stream (22): the process's working set,
// commit (PrivateUsage) and virtual size, as Task Manager and VMMap show them.
type ProcessVMCounters struct {
	Revision uint16
	Flags    uint16 // revision 2: which groups below are valid (MINIDUMP_PROCESS_VM_COUNTERS*)

	PageFaultCount             uint32
	PeakWorkingSetSize         uint64
	WorkingSetSize             uint64
	QuotaPeakPagedPoolUsage    uint64
	QuotaPagedPoolUsage        uint64
	QuotaPeakNonPagedPoolUsage uint64
	QuotaNonPagedPoolUsage     uint64
	PagefileUsage              uint64
	PeakPagefileUsage          uint64
	PrivateUsage               uint64 // committed private bytes

	// Revision 2 only.
	PeakVirtualSize       uint64
	VirtualSize           uint64
	PrivateWorkingSetSize uint64
	SharedCommitUsage     uint64
	JobPrivateCommitLimit uint64
	JobTotalCommitLimit   uint64
}

// ProcessVMCounters decodes the ProcessVmCounters stream, revision 1 or 2.
func (f *File) ProcessVMCounters() (*ProcessVMCounters, error) {
	s := f.Stream(StreamProcessVMCounters)
	if s == nil {
		return nil, noStream(StreamProcessVMCounters)
	}
	data, err := f.readStream(s, 64<<10)
	if len(data) < 2 {
		if err == nil {
			err = formatErr("ProcessVmCounters", s.Offset, "stream is %d bytes", len(data))
		}
		return nil, err
	}
	p := raw.NewProfile()
	r := bytes.NewReader(data)
	rev := raw.ParseUint16(r, 0)
	switch {
	case rev == 1 && len(data) >= 80:
		c := p.MINIDUMP_PROCESS_VM_COUNTERS_1(r, 0)
		return &ProcessVMCounters{
			Revision: 1, PageFaultCount: c.PageFaultCount(),
			PeakWorkingSetSize: c.PeakWorkingSetSize(), WorkingSetSize: c.WorkingSetSize(),
			QuotaPeakPagedPoolUsage: c.QuotaPeakPagedPoolUsage(), QuotaPagedPoolUsage: c.QuotaPagedPoolUsage(),
			QuotaPeakNonPagedPoolUsage: c.QuotaPeakNonPagedPoolUsage(), QuotaNonPagedPoolUsage: c.QuotaNonPagedPoolUsage(),
			PagefileUsage: c.PagefileUsage(), PeakPagefileUsage: c.PeakPagefileUsage(), PrivateUsage: c.PrivateUsage(),
		}, err
	case rev == 2 && len(data) >= 152:
		c := p.MINIDUMP_PROCESS_VM_COUNTERS_2(r, 0)
		return &ProcessVMCounters{
			Revision: 2, Flags: c.Flags(), PageFaultCount: c.PageFaultCount(),
			PeakWorkingSetSize: c.PeakWorkingSetSize(), WorkingSetSize: c.WorkingSetSize(),
			QuotaPeakPagedPoolUsage: c.QuotaPeakPagedPoolUsage(), QuotaPagedPoolUsage: c.QuotaPagedPoolUsage(),
			QuotaPeakNonPagedPoolUsage: c.QuotaPeakNonPagedPoolUsage(), QuotaNonPagedPoolUsage: c.QuotaNonPagedPoolUsage(),
			PagefileUsage: c.PagefileUsage(), PeakPagefileUsage: c.PeakPagefileUsage(),
			PeakVirtualSize: c.PeakVirtualSize(), VirtualSize: c.VirtualSize(), PrivateUsage: c.PrivateUsage(),
			PrivateWorkingSetSize: c.PrivateWorkingSetSize(), SharedCommitUsage: c.SharedCommitUsage(),
			JobPrivateCommitLimit: c.JobPrivateCommitLimit(), JobTotalCommitLimit: c.JobTotalCommitLimit(),
		}, err
	}
	if err == nil {
		err = formatErr("ProcessVmCounters", s.Offset, "revision %d with %d bytes is not a known layout", rev, len(data))
	}
	return nil, err
}
