// Package overview says what a minidump is and what it can and cannot tell: the
// system and process it came from, the exception that made it, the product module,
// what the writer captured, and what that capture implies for the analyses built on
// it ("no MemoryInfoList: region map will be partial", "no full memory: heaps cannot be
// walked", "WOW64 process").
//
// It is the logic behind `dumpmap info`, kept out of the command so that reports and
// batch triage reuse the same conclusions. An Overview is also the JSON object that
// `dumpmap info --json` prints (see docs/cli-json.md): addresses are Hex values that
// encode as "0x..." strings, sizes are plain integers, and a field the dump does not
// hold is omitted.
//
// Of reads only the small streams and the headers of the large lists, so it costs a
// few kilobytes of I/O even on a multi-gigabyte full-memory dump.
package overview

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/analysis/crash"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
)

// Overview is a one-screen description of a dump.
type Overview struct {
	Dump       Dump       `json:"dump"`
	System     *System    `json:"system,omitempty"`
	Process    *Process   `json:"process,omitempty"`
	Exception  *Exception `json:"exception,omitempty"`
	MainModule *Module    `json:"main_module,omitempty"`
	Counts     Counts     `json:"counts"`
	Capture    Capture    `json:"capture"`
	// Findings are the conclusions drawn from what was captured, most important first.
	Findings []Finding `json:"findings"`
	// Warnings lists the damage met while reading (damaged streams, truncation). A
	// damaged stream's intact part is still used. Not part of the JSON object: the CLI
	// prints warnings as strings.
	Warnings []error `json:"-"`
}

// Dump describes the file itself.
type Dump struct {
	Size      int64     `json:"size"`
	Time      time.Time `json:"time,omitzero"` // when the dump was written (UTC)
	Version   Hex       `json:"version"`       // MINIDUMP_HEADER.Version
	Flags     Hex       `json:"flags"`         // MINIDUMP_TYPE the writer was asked for
	FlagNames []string  `json:"flag_names"`
	Streams   int       `json:"streams"` // directory entries, unused ones included
	// Writer names the program that wrote the dump when its streams say so
	// ("Breakpad", "Crashpad"); empty when it cannot be told (dbghelp writes no
	// signature of its own).
	Writer string `json:"writer,omitempty"`
}

// System describes the machine, from the SystemInfo and SystemMemoryInfo streams.
type System struct {
	OS          string `json:"os"`       // "Windows 10 10.0.19041", "Linux 5.10.28"
	Platform    string `json:"platform"` // "Windows NT", "Linux", "macOS", ...
	Version     string `json:"version"`  // "10.0.19041"
	ServicePack string `json:"service_pack,omitempty"`
	Arch        string `json:"arch"`         // "x86", "amd64", "arm64", ...
	PointerBits int    `json:"pointer_bits"` // 32 or 64; 0 when unknown
	CPU         string `json:"cpu,omitempty"`
	CPUVendor   string `json:"cpu_vendor,omitempty"`
	Processors  int    `json:"processors"`
	// WOW64 is true for a 32-bit process on 64-bit Windows; WOW64Reason says how that
	// was recognised.
	WOW64       bool   `json:"wow64"`
	WOW64Reason string `json:"wow64_reason,omitempty"`
	// From SystemMemoryInfo, when the dump has it.
	PageSize              uint32 `json:"page_size,omitempty"`
	AllocationGranularity uint32 `json:"allocation_granularity,omitempty"`
	MinUserAddress        *Hex   `json:"min_user_address,omitempty"`
	MaxUserAddress        *Hex   `json:"max_user_address,omitempty"`
	PhysicalMemory        uint64 `json:"physical_memory,omitempty"` // bytes
}

// Process describes the dumped process, from MiscInfo and ProcessVmCounters.
type Process struct {
	ID          uint32    `json:"id,omitempty"`
	CreateTime  time.Time `json:"create_time,omitzero"`
	Uptime      int64     `json:"uptime_seconds,omitempty"` // dump time - create time
	UserTime    int64     `json:"user_time_seconds,omitempty"`
	KernelTime  int64     `json:"kernel_time_seconds,omitempty"`
	Integrity   string    `json:"integrity_level,omitempty"` // "Low", "Medium", "High", "System"
	BuildString string    `json:"build_string,omitempty"`    // the OS build as the process saw it
	DbgBuild    string    `json:"dbghelp_build,omitempty"`   // the build of the writer's dbghelp
	TimeZone    string    `json:"time_zone,omitempty"`
	// From ProcessVmCounters.
	PrivateBytes    uint64 `json:"private_bytes,omitempty"` // commit charge (PrivateUsage)
	WorkingSet      uint64 `json:"working_set,omitempty"`
	VirtualSize     uint64 `json:"virtual_size,omitempty"`
	PeakVirtualSize uint64 `json:"peak_virtual_size,omitempty"`
}

// Identity returns the process's id, start time (and how long before the dump) and
// integrity level as short phrases, in that order, leaving out what is unknown.
func (p *Process) Identity(timeLayout string) []string {
	var ps []string
	if p.ID != 0 {
		ps = append(ps, fmt.Sprintf("pid %d", p.ID))
	}
	if !p.CreateTime.IsZero() {
		s := "started " + p.CreateTime.Format(timeLayout)
		if p.Uptime > 0 {
			s += fmt.Sprintf(" (%s before the dump)", time.Duration(p.Uptime)*time.Second)
		}
		ps = append(ps, s)
	}
	if p.Integrity != "" {
		ps = append(ps, "integrity "+p.Integrity)
	}
	return ps
}

// Exception describes the exception that made the process write the dump.
type Exception struct {
	ThreadID uint32 `json:"thread_id"`
	Code     Hex    `json:"code"`
	Name     string `json:"name"` // NTSTATUS, signal or Mach exception name
	Flags    Hex    `json:"flags"`
	Address  Hex    `json:"address"`
	// Where names Address as module+offset ("crashme.exe+0x1234",
	// "<Unloaded_foo.dll>+0x10"); empty when no module holds it.
	Where        string `json:"where,omitempty"`
	Module       string `json:"module,omitempty"`
	ModuleOffset *Hex   `json:"module_offset,omitempty"`
	Unloaded     bool   `json:"module_unloaded,omitempty"`
	// Access and AccessAddress decode an access violation: "read", "write" or
	// "execute (DEP)" of AccessAddress.
	Access        string `json:"access,omitempty"`
	AccessAddress *Hex   `json:"access_address,omitempty"`
	Parameters    []Hex  `json:"parameters"`
	// OutOfMemory is true when an allocation failed: the exception says so (an
	// out-of-memory code, a thrown C++ std::bad_alloc: crash.Crash.OOM), or the
	// stack shows the exception thrown by operator new (FailedRequest).
	OutOfMemory bool `json:"out_of_memory"`
	// Decoded is the exception as package crash decodes it: parameters by name,
	// the thrown C++ type and message, the out-of-memory verdict and its evidence.
	Decoded *crash.Crash `json:"decoded,omitempty"`
	// FailedRequest is the allocation that failed, found from the exception and
	// the crashing thread's stack (crash.Analyze): path, size, heap, evidence.
	FailedRequest *crash.FailedRequest `json:"failed_request,omitempty"`
	// Signature is the crash signature batch triage groups by: the code's name and
	// where it happened, "EXCEPTION_ACCESS_VIOLATION crashme.exe+0x1234".
	Signature string `json:"signature"`
}

// Module describes the product module: the process's executable.
type Module struct {
	Name           string `json:"name"` // file name, "crashme.exe"
	Path           string `json:"path"` // as the writer recorded it
	Base           Hex    `json:"base"`
	Size           uint64 `json:"size"`
	FileVersion    string `json:"file_version,omitempty"`
	ProductVersion string `json:"product_version,omitempty"`
	Timestamp      uint32 `json:"timestamp,omitempty"` // PE TimeDateStamp
	FoundBy        string `json:"found_by"`            // how it was chosen
}

// Counts says how much of each kind the dump holds.
type Counts struct {
	Modules         int    `json:"modules"`
	UnloadedModules int    `json:"unloaded_modules"`
	Threads         int    `json:"threads"`
	MemoryRanges    int    `json:"memory_ranges"`    // MemoryList + Memory64List entries
	MemoryBytes     uint64 `json:"memory_bytes"`     // captured bytes the file holds
	MissingBytes    uint64 `json:"missing_bytes"`    // declared but cut off by truncation
	Regions         int    `json:"regions"`          // MemoryInfoList entries
	Handles         int    `json:"handles"`          // HandleData descriptors
	DamagedStreams  int    `json:"damaged_streams"`  // directory entries pointing past the end
	UnknownStreams  int    `json:"unknown_streams"`  // stream types this tool has no name for
	UnusedDirectory int    `json:"unused_directory"` // directory entries of type Unused
}

// Capture says which of the streams the analyses depend on are present.
type Capture struct {
	MemoryInfo       bool `json:"memory_info"`        // MemoryInfoList: the full region map
	FullMemory       bool `json:"full_memory"`        // Memory64List: all committed memory
	MemoryList       bool `json:"memory_list"`        // MemoryList: stacks and selected memory
	ThreadInfo       bool `json:"thread_info"`        // ThreadInfoList
	ThreadNames      bool `json:"thread_names"`       // ThreadNames
	HandleData       bool `json:"handle_data"`        // HandleData
	UnloadedModules  bool `json:"unloaded_modules"`   // UnloadedModuleList
	SystemMemoryInfo bool `json:"system_memory_info"` // SystemMemoryInfo: address-space limits
	VMCounters       bool `json:"vm_counters"`        // ProcessVmCounters: commit charge
	LinuxMaps        bool `json:"linux_maps"`         // /proc/self/maps (Breakpad, Crashpad)
}

// Streams names the captured streams the analyses depend on, in a fixed order, or
// says that there are none.
func (c Capture) Streams() string {
	var have []string
	add := func(ok bool, name string) {
		if ok {
			have = append(have, name)
		}
	}
	add(c.MemoryInfo, "MemoryInfoList")
	add(c.FullMemory, "Memory64List (full memory)")
	add(c.MemoryList, "MemoryList")
	add(c.ThreadInfo, "ThreadInfoList")
	add(c.ThreadNames, "ThreadNames")
	add(c.HandleData, "HandleData")
	add(c.UnloadedModules, "UnloadedModuleList")
	add(c.SystemMemoryInfo, "SystemMemoryInfo")
	add(c.VMCounters, "ProcessVmCounters")
	add(c.LinuxMaps, "/proc/self/maps")
	if len(have) == 0 {
		return "none of the memory streams"
	}
	return strings.Join(have, ", ")
}

// A Finding is one conclusion about the dump. ID is stable, for programs (triage
// groups and filters by it); Text is for people.
type Finding struct {
	ID    string `json:"id"`
	Level string `json:"level"` // "limit": the capture limits an analysis; "info"; "damage"
	Text  string `json:"text"`
}

// Finding IDs.
const (
	FindingNotWindows         = "not-windows"
	FindingWOW64              = "wow64"
	FindingNoMemoryInfo       = "no-memory-info"
	FindingLinuxMaps          = "linux-maps"
	FindingNoFullMemory       = "no-full-memory"
	FindingNoSystemMemoryInfo = "no-system-memory-info"
	FindingNoVMCounters       = "no-vm-counters"
	FindingNoUnloadedModules  = "no-unloaded-modules"
	FindingNoException        = "no-exception"
	FindingOutOfMemory        = "out-of-memory"
	FindingTruncated          = "truncated"
	FindingDamaged            = "damaged"
	FindingNoSystemInfo       = "no-system-info"
	FindingNoModules          = "no-modules"
)

// Has reports whether the overview has a finding with the given ID.
func (o *Overview) Has(id string) bool {
	for _, f := range o.Findings {
		if f.ID == id {
			return true
		}
	}
	return false
}

// Of describes process p. It never fails: what cannot be read is left out and the
// damage is listed in Warnings.
func Of(p *process.Process) *Overview {
	f := p.File()
	o := &Overview{Findings: []Finding{}}
	w := &warnings{}
	for _, e := range f.Warnings {
		w.add(e)
	}

	h := f.Header
	o.Dump = Dump{
		Size: f.Size(), Version: Hex(h.Version), Flags: Hex(h.Flags), FlagNames: h.Flags.Names(),
		Streams: len(f.Streams),
	}
	if h.TimeDateStamp != 0 {
		o.Dump.Time = h.Time()
	}
	switch {
	case f.HasStream(minidump.StreamCrashpadInfo):
		o.Dump.Writer = "Crashpad"
	case f.HasStream(minidump.StreamBreakpadInfo):
		o.Dump.Writer = "Breakpad"
	}
	for _, s := range f.Streams {
		switch {
		case s.Type == minidump.StreamUnused:
			o.Counts.UnusedDirectory++
		case !s.Type.Known():
			o.Counts.UnknownStreams++
		}
		if s.Damage != nil {
			o.Counts.DamagedStreams++
		}
	}

	c := &o.Capture
	c.MemoryInfo = f.HasStream(minidump.StreamMemoryInfoList)
	c.FullMemory = f.HasStream(minidump.StreamMemory64List)
	c.MemoryList = f.HasStream(minidump.StreamMemoryList)
	c.ThreadInfo = f.HasStream(minidump.StreamThreadInfoList)
	c.ThreadNames = f.HasStream(minidump.StreamThreadNames)
	c.HandleData = f.HasStream(minidump.StreamHandleData)
	c.UnloadedModules = f.HasStream(minidump.StreamUnloadedModuleList)
	c.SystemMemoryInfo = f.HasStream(minidump.StreamSystemMemoryInfo)
	c.VMCounters = f.HasStream(minidump.StreamProcessVMCounters)
	c.LinuxMaps = f.HasStream(minidump.StreamLinuxMaps)

	si, err := p.SystemInfo()
	w.add(err)
	if si != nil {
		o.System = systemOf(si)
	}
	if smi, err := p.SystemMemoryInfo(); smi != nil && o.System != nil {
		o.System.PageSize = smi.PageSize
		o.System.AllocationGranularity = smi.AllocationGranularity
		lo, hi := Hex(smi.MinimumUserModeAddress), Hex(smi.MaximumUserModeAddress)
		o.System.MinUserAddress, o.System.MaxUserAddress = &lo, &hi
		o.System.PhysicalMemory = uint64(smi.NumberOfPhysicalPages) * uint64(smi.PageSize)
	} else {
		w.add(err)
	}

	mods := p.ModuleList()
	w.add(p.ModuleErr())
	unl, err := p.UnloadedModules()
	w.add(err)
	o.Counts.Modules, o.Counts.UnloadedModules = len(mods), len(unl)
	idx := p.ModuleIndex()

	platform := p.Platform()
	if o.System != nil {
		wow := p.WOW64()
		o.System.WOW64, o.System.WOW64Reason = wow.Is, wow.Reason
	}
	if m, how := p.Main(); m != nil {
		o.MainModule = &Module{
			Name: m.FileName, Path: m.Name, Base: Hex(m.Base), Size: uint64(m.Size),
			FileVersion: m.Version.FileVersion(), ProductVersion: m.Version.ProductVersion(),
			Timestamp: m.TimeDateStamp, FoundBy: how,
		}
	}

	o.Process = processOf(p, w, o.Dump.Time)

	if e, err := p.Exception(); e != nil {
		o.Exception = exceptionOf(e, platform, idx)
		if a := crash.Analyze(context.Background(), p); a.Crash != nil {
			o.Exception.Decoded = a.Crash
			o.Exception.FailedRequest = a.Request
			o.Exception.OutOfMemory = platform.IsWindows() && (a.Crash.OOM || a.Request != nil)
		}
		w.add(err)
	} else {
		w.add(err)
	}

	o.Counts.Threads = listCount(f, minidump.StreamThreadList)
	if o.Counts.Threads == 0 && !f.HasStream(minidump.StreamThreadList) {
		o.Counts.Threads = listCount(f, minidump.StreamThreadExList)
	}
	o.Counts.Regions = headedCount(f, minidump.StreamMemoryInfoList, 16, 48, true, w)
	o.Counts.Handles = headedCount(f, minidump.StreamHandleData, 16, 32, false, w)
	memoryCounts(p, &o.Counts, w)

	o.Warnings = w.list
	o.Findings = findings(o, f, platform)
	return o
}

func systemOf(si *minidump.SystemInfo) *System {
	s := &System{
		OS:          si.OS(),
		Platform:    si.Platform.String(),
		Version:     fmt.Sprintf("%d.%d.%d", si.MajorVersion, si.MinorVersion, si.BuildNumber),
		ServicePack: si.CSDVersion,
		Arch:        si.Arch.String(),
		PointerBits: si.Arch.PointerSize() * 8,
		CPUVendor:   si.CPUVendor,
		Processors:  int(si.NumberOfProcessors),
	}
	if !si.Platform.IsWindows() {
		// Breakpad writers put the kernel's version string here, not a service pack.
		s.ServicePack = ""
	}
	s.CPU = cpuString(si)
	return s
}

// cpuString describes the processor as Breakpad's minidump_stackwalk does:
// "GenuineIntel family 6 model 158 stepping 10".
func cpuString(si *minidump.SystemInfo) string {
	switch si.Arch {
	case minidump.ArchX86, minidump.ArchAMD64, minidump.ArchX86Win64:
		vendor := si.CPUVendor
		if si.CPUVersion == 0 && si.ProcessorLevel == 0 && si.ProcessorRevision == 0 {
			return vendor // nothing recorded about the model
		}
		var family, model, stepping uint32
		if v := si.CPUVersion; v != 0 {
			family = (v >> 8) & 0xf
			model = (v >> 4) & 0xf
			stepping = v & 0xf
			if family == 0xf {
				family += (v >> 20) & 0xff
			}
			if family == 6 || family >= 0xf {
				model += ((v >> 16) & 0xf) << 4
			}
		} else {
			family = uint32(si.ProcessorLevel)
			model = uint32(si.ProcessorRevision >> 8)
			stepping = uint32(si.ProcessorRevision & 0xff)
		}
		if vendor == "" {
			vendor = si.Arch.String()
		}
		return fmt.Sprintf("%s family %d model %d stepping %d", vendor, family, model, stepping)
	}
	if si.ProcessorLevel != 0 || si.ProcessorRevision != 0 {
		return fmt.Sprintf("%s level %d revision %#x", si.Arch, si.ProcessorLevel, si.ProcessorRevision)
	}
	return ""
}

func processOf(pr *process.Process, w *warnings, dumpTime time.Time) *Process {
	mi, err := pr.MiscInfo()
	w.add(err)
	vm, verr := pr.VMCounters()
	w.add(verr)
	if mi == nil && vm == nil {
		return nil
	}
	p := &Process{}
	if mi != nil {
		if mi.HasProcessID {
			p.ID = mi.ProcessID
		}
		if mi.HasProcessTimes {
			if mi.ProcessCreateTime.Unix() > 0 {
				p.CreateTime = mi.ProcessCreateTime
				if !dumpTime.IsZero() && dumpTime.After(p.CreateTime) {
					p.Uptime = int64(dumpTime.Sub(p.CreateTime) / time.Second)
				}
			}
			p.UserTime = int64(mi.ProcessUserTime / time.Second)
			p.KernelTime = int64(mi.ProcessKernelTime / time.Second)
		}
		p.Integrity = mi.IntegrityLevel()
		p.BuildString = mi.BuildString
		p.DbgBuild = mi.DbgBldStr
		if mi.TimeZoneStandardName != "" {
			p.TimeZone = fmt.Sprintf("%s (UTC%+.1fh)", mi.TimeZoneStandardName, -float64(mi.TimeZoneBias)/60)
			p.TimeZone = strings.Replace(p.TimeZone, ".0h", "h", 1)
		}
	}
	if vm != nil {
		p.PrivateBytes, p.WorkingSet = vm.PrivateUsage, vm.WorkingSetSize
		p.VirtualSize, p.PeakVirtualSize = vm.VirtualSize, vm.PeakVirtualSize
	}
	return p
}

func exceptionOf(e *minidump.Exception, p minidump.Platform, idx *process.ModuleIndex) *Exception {
	x := &Exception{
		ThreadID: e.ThreadID, Code: Hex(e.Code), Name: e.Code.Name(p), Flags: Hex(e.Flags),
		Address: Hex(e.Address), Parameters: make([]Hex, len(e.Parameters)),
		OutOfMemory: p.IsWindows() && e.Code.IsOutOfMemory(),
	}
	for i, v := range e.Parameters {
		x.Parameters[i] = Hex(v)
	}
	if m := idx.Loaded(e.Address); m != nil {
		off := Hex(e.Address - m.Base)
		x.Module, x.ModuleOffset = minidump.BaseName(m.Name), &off
	} else if u := idx.Unloaded(e.Address); u != nil {
		off := Hex(e.Address - u.Base)
		x.Module, x.ModuleOffset, x.Unloaded = minidump.BaseName(u.Name), &off, true
	}
	x.Where = idx.Name(e.Address)
	if p.IsWindows() {
		if op, addr, ok := e.AccessViolation(); ok {
			a := Hex(addr)
			x.Access, x.AccessAddress = op, &a
		}
	}
	where := x.Where
	if where == "" {
		where = x.Address.String()
	}
	x.Signature = x.Name + " " + where
	return x
}

// warnings collects accessor errors, leaving out "stream not present" (absence is a
// finding, not damage) and repeats.
type warnings struct {
	list []error
	seen map[string]bool
}

func (w *warnings) add(err error) {
	if err == nil || errors.Is(err, minidump.ErrNoStream) {
		return
	}
	for _, e := range process.Flatten(err) {
		if errors.Is(e, minidump.ErrNoStream) {
			continue
		}
		k := e.Error()
		if w.seen[k] {
			continue
		}
		if w.seen == nil {
			w.seen = map[string]bool{}
		}
		w.seen[k] = true
		w.list = append(w.list, e)
	}
}
