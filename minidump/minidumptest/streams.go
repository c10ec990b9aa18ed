package minidumptest

import (
	"encoding/binary"
	"sort"
	"unicode/utf16"

	"github.com/dumpmap/dumpmap/minidump"
)

// The encoders below write each structure field by field at the offsets that
// minidumpapiset.h (Windows SDK), Breakpad's minidump_format.h and Crashpad's
// minidump_extensions.h give, independently of the decoders in package minidump.

// NB10 returns a PDB 2.0 CodeView record.
func NB10(signature, age uint32, pdbPath string) []byte {
	r := make([]byte, 16+len(pdbPath)+1)
	binary.LittleEndian.PutUint32(r, minidump.CVSignatureNB10)
	binary.LittleEndian.PutUint32(r[8:], signature)
	binary.LittleEndian.PutUint32(r[12:], age)
	copy(r[16:], pdbPath)
	return r
}

// BpEL returns Breakpad's ELF build-id CodeView record.
func BpEL(buildID []byte) []byte {
	r := make([]byte, 4+len(buildID))
	binary.LittleEndian.PutUint32(r, minidump.CVSignatureBpEL)
	copy(r[4:], buildID)
	return r
}

// MiscRecord returns an IMAGE_DEBUG_MISC record holding name (UTF-16 if unicode).
func MiscRecord(dataType uint32, unicode bool, name string) []byte {
	var data []byte
	if unicode {
		for _, c := range utf16.Encode([]rune(name)) {
			data = binary.LittleEndian.AppendUint16(data, c)
		}
		data = append(data, 0, 0)
	} else {
		data = append([]byte(name), 0)
	}
	r := make([]byte, 12, 12+len(data))
	binary.LittleEndian.PutUint32(r, dataType)
	binary.LittleEndian.PutUint32(r[4:], uint32(12+len(data)))
	if unicode {
		r[8] = 1
	}
	return append(r, data...)
}

// ThreadEx describes a ThreadExList entry (MINIDUMP_THREAD_EX): a thread plus its
// IA64 backing store.
type ThreadEx struct {
	Thread
	BackingStoreStart uint64
	BackingStore      []byte
}

// ThreadEx adds a thread to the ThreadExList stream (created on first use).
func (b *Builder) ThreadEx(t ThreadEx) *Builder {
	if b.threadsEx == nil {
		b.streams = append(b.streams, pending{minidump.StreamThreadExList, func(w *writer) []byte {
			le := binary.LittleEndian
			out := make([]byte, 4+64*len(b.threadsEx))
			le.PutUint32(out, uint32(len(b.threadsEx)))
			for i, t := range b.threadsEx {
				e := out[4+64*i:]
				le.PutUint32(e[0:], t.ID)
				le.PutUint64(e[16:], t.TEB)
				le.PutUint64(e[24:], t.StackStart)
				le.PutUint32(e[32:], uint32(len(t.Stack)))
				le.PutUint32(e[36:], w.blob(t.Stack))
				if t.Context != nil {
					le.PutUint32(e[40:], uint32(len(t.Context)))
					le.PutUint32(e[44:], w.blob(t.Context))
				}
				le.PutUint64(e[48:], t.BackingStoreStart)
				le.PutUint32(e[56:], uint32(len(t.BackingStore)))
				le.PutUint32(e[60:], w.blob(t.BackingStore))
			}
			return b.pad(out)
		}})
	}
	b.threadsEx = append(b.threadsEx, t)
	return b
}

// ThreadInfo describes a ThreadInfoList entry (MINIDUMP_THREAD_INFO). Times are raw:
// CreateTime and ExitTime are FILETIMEs, KernelTime and UserTime 100 ns units.
type ThreadInfo struct {
	ThreadID, DumpFlags, DumpError, ExitStatus uint32
	CreateTime, ExitTime, KernelTime, UserTime uint64
	StartAddress, Affinity                     uint64
}

// ThreadInfo adds an entry to the ThreadInfoList stream (created on first use).
func (b *Builder) ThreadInfo(ti ThreadInfo) *Builder {
	if b.threadInfos == nil {
		b.streams = append(b.streams, pending{minidump.StreamThreadInfoList, func(*writer) []byte {
			le := binary.LittleEndian
			out := make([]byte, 12+64*len(b.threadInfos))
			le.PutUint32(out[0:], 12)
			le.PutUint32(out[4:], 64)
			le.PutUint32(out[8:], uint32(len(b.threadInfos)))
			for i, t := range b.threadInfos {
				e := out[12+64*i:]
				le.PutUint32(e[0:], t.ThreadID)
				le.PutUint32(e[4:], t.DumpFlags)
				le.PutUint32(e[8:], t.DumpError)
				le.PutUint32(e[12:], t.ExitStatus)
				le.PutUint64(e[16:], t.CreateTime)
				le.PutUint64(e[24:], t.ExitTime)
				le.PutUint64(e[32:], t.KernelTime)
				le.PutUint64(e[40:], t.UserTime)
				le.PutUint64(e[48:], t.StartAddress)
				le.PutUint64(e[56:], t.Affinity)
			}
			return out
		}})
	}
	b.threadInfos = append(b.threadInfos, ti)
	return b
}

// ThreadName describes a ThreadNames entry (MINIDUMP_THREAD_NAME).
type ThreadName struct {
	ThreadID uint32
	Name     string
}

// ThreadName adds an entry to the ThreadNames stream (created on first use).
func (b *Builder) ThreadName(id uint32, name string) *Builder {
	if b.threadNames == nil {
		b.streams = append(b.streams, pending{minidump.StreamThreadNames, func(w *writer) []byte {
			le := binary.LittleEndian
			out := make([]byte, 4+12*len(b.threadNames))
			le.PutUint32(out, uint32(len(b.threadNames)))
			for i, t := range b.threadNames {
				e := out[4+12*i:]
				le.PutUint32(e[0:], t.ThreadID)
				le.PutUint64(e[4:], uint64(w.blob(UTF16String(t.Name)))) // RVA64
			}
			return out
		}})
	}
	b.threadNames = append(b.threadNames, ThreadName{id, name})
	return b
}

// UnloadedModule describes an UnloadedModuleList entry (MINIDUMP_UNLOADED_MODULE).
type UnloadedModule struct {
	Base                 uint64
	Size, Checksum, Time uint32
	Name                 string
}

// UnloadedModule adds an entry to the UnloadedModuleList stream (created on first use).
func (b *Builder) UnloadedModule(u UnloadedModule) *Builder {
	if b.unloaded == nil {
		b.streams = append(b.streams, pending{minidump.StreamUnloadedModuleList, func(w *writer) []byte {
			le := binary.LittleEndian
			out := make([]byte, 12+24*len(b.unloaded))
			le.PutUint32(out[0:], 12)
			le.PutUint32(out[4:], 24)
			le.PutUint32(out[8:], uint32(len(b.unloaded)))
			for i, u := range b.unloaded {
				e := out[12+24*i:]
				le.PutUint64(e[0:], u.Base)
				le.PutUint32(e[8:], u.Size)
				le.PutUint32(e[12:], u.Checksum)
				le.PutUint32(e[16:], u.Time)
				le.PutUint32(e[20:], w.blob(UTF16String(u.Name)))
			}
			return out
		}})
	}
	b.unloaded = append(b.unloaded, u)
	return b
}

// Handle describes a HandleData descriptor (MINIDUMP_HANDLE_DESCRIPTOR_2; the
// ObjectInfoRVA is written only with 40-byte descriptors).
type Handle struct {
	Handle                                               uint64
	TypeName, ObjectName                                 string
	Attributes, GrantedAccess, HandleCount, PointerCount uint32
	ObjectInfoRVA                                        uint32
}

// Handle adds a descriptor to the HandleData stream (created on first use).
func (b *Builder) Handle(h Handle) *Builder {
	if b.handles == nil {
		b.streams = append(b.streams, pending{minidump.StreamHandleData, func(w *writer) []byte {
			le := binary.LittleEndian
			ds := b.HandleDescriptorSize
			if ds == 0 {
				ds = 40
			}
			out := make([]byte, 16+ds*len(b.handles))
			le.PutUint32(out[0:], 16)
			le.PutUint32(out[4:], uint32(ds))
			le.PutUint32(out[8:], uint32(len(b.handles)))
			for i, h := range b.handles {
				e := out[16+ds*i:]
				le.PutUint64(e[0:], h.Handle)
				le.PutUint32(e[8:], w.str(h.TypeName))
				le.PutUint32(e[12:], w.str(h.ObjectName))
				le.PutUint32(e[16:], h.Attributes)
				le.PutUint32(e[20:], h.GrantedAccess)
				le.PutUint32(e[24:], h.HandleCount)
				le.PutUint32(e[28:], h.PointerCount)
				if ds >= 40 {
					le.PutUint32(e[32:], h.ObjectInfoRVA)
				}
			}
			return out
		}})
	}
	b.handles = append(b.handles, h)
	return b
}

// CommentA adds a CommentStreamA stream (NUL-terminated ANSI text).
func (b *Builder) CommentA(s string) *Builder {
	return b.Stream(minidump.StreamCommentA, append([]byte(s), 0))
}

// CommentW adds a CommentStreamW stream (NUL-terminated UTF-16LE text).
func (b *Builder) CommentW(s string) *Builder {
	var data []byte
	for _, c := range utf16.Encode([]rune(s)) {
		data = binary.LittleEndian.AppendUint16(data, c)
	}
	return b.Stream(minidump.StreamCommentW, append(data, 0, 0))
}

// BreakpadInfo adds Breakpad's info stream (MDRawBreakpadInfo).
func (b *Builder) BreakpadInfo(validity, dumpThreadID, requestingThreadID uint32) *Builder {
	e := make([]byte, 12)
	binary.LittleEndian.PutUint32(e[0:], validity)
	binary.LittleEndian.PutUint32(e[4:], dumpThreadID)
	binary.LittleEndian.PutUint32(e[8:], requestingThreadID)
	return b.Stream(minidump.StreamBreakpadInfo, e)
}

// CrashpadInfo adds Crashpad's info stream (MinidumpCrashpadInfo, 52 bytes) with its
// simple annotations as a MinidumpSimpleStringDictionary of MinidumpUTF8Strings.
// A nil map writes no dictionary (location 0,0).
func (b *Builder) CrashpadInfo(version uint32, report, client minidump.GUID, annotations map[string]string) *Builder {
	b.streams = append(b.streams, pending{minidump.StreamCrashpadInfo, func(w *writer) []byte {
		le := binary.LittleEndian
		e := make([]byte, 52)
		le.PutUint32(e[0:], version)
		copy(e[4:20], report[:])
		copy(e[20:36], client[:])
		if annotations != nil {
			keys := make([]string, 0, len(annotations))
			for k := range annotations {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			dict := make([]byte, 4+8*len(keys))
			le.PutUint32(dict, uint32(len(keys)))
			for i, k := range keys {
				le.PutUint32(dict[4+8*i:], w.blob(UTF8String(k)))
				le.PutUint32(dict[8+8*i:], w.blob(UTF8String(annotations[k])))
			}
			le.PutUint32(e[36:], uint32(len(dict)))
			le.PutUint32(e[40:], w.blob(dict))
		}
		return e
	}})
	return b
}

// UTF8String returns s as a Breakpad/Crashpad MinidumpUTF8String (u32 length, bytes,
// NUL).
func UTF8String(s string) []byte {
	out := make([]byte, 4, 4+len(s)+1)
	binary.LittleEndian.PutUint32(out, uint32(len(s)))
	out = append(out, s...)
	return append(out, 0)
}

// MiscInfoSpec describes a MiscInfo stream of any version (MINIDUMP_MISC_INFO_N).
type MiscInfoSpec struct {
	Version    int    // 1-5: picks the structure size
	SizeOfInfo uint32 // 0: the version's size
	Flags      uint32

	ProcessID, CreateTime, UserTime, KernelTime        uint32
	MaxMhz, CurrentMhz, MhzLimit, MaxIdle, CurrentIdle uint32
	Integrity, ExecuteFlags, Protected                 uint32
	TimeZoneID                                         uint32
	TimeZoneBias                                       int32
	StandardName, DaylightName                         string
	BuildString, DbgBldStr                             string
	ProcessCookie                                      uint32
}

// MiscInfoSizes are the sizes of MINIDUMP_MISC_INFO versions 1-5.
var MiscInfoSizes = [...]int{1: 24, 2: 44, 3: 232, 4: 832, 5: 1364}

// MiscInfoFull adds a MiscInfo stream with every field of m that its version holds.
func (b *Builder) MiscInfoFull(m MiscInfoSpec) *Builder {
	e := make([]byte, MiscInfoSizes[m.Version])
	le := binary.LittleEndian
	put := func(off int, v uint32) {
		if off+4 <= len(e) {
			le.PutUint32(e[off:], v)
		}
	}
	wstr := func(off, max int, s string) {
		if off+2*max > len(e) {
			return
		}
		for i, c := range utf16.Encode([]rune(s)) {
			if i < max-1 {
				le.PutUint16(e[off+2*i:], c)
			}
		}
	}
	size := m.SizeOfInfo
	if size == 0 {
		size = uint32(len(e))
	}
	put(0, size)
	put(4, m.Flags)
	put(8, m.ProcessID)
	put(12, m.CreateTime)
	put(16, m.UserTime)
	put(20, m.KernelTime)
	put(24, m.MaxMhz)
	put(28, m.CurrentMhz)
	put(32, m.MhzLimit)
	put(36, m.MaxIdle)
	put(40, m.CurrentIdle)
	put(44, m.Integrity)
	put(48, m.ExecuteFlags)
	put(52, m.Protected)
	put(56, m.TimeZoneID)
	put(60, uint32(m.TimeZoneBias)) // TIME_ZONE_INFORMATION.Bias
	wstr(64, 32, m.StandardName)    // .StandardName[32]
	wstr(148, 32, m.DaylightName)   // .DaylightName[32] at 60+88
	wstr(232, 260, m.BuildString)
	wstr(752, 40, m.DbgBldStr)
	put(1360, m.ProcessCookie)
	return b.Stream(minidump.StreamMiscInfo, e)
}

// SystemMemoryInfo1 adds a SystemMemoryInfo stream (MINIDUMP_SYSTEM_MEMORY_INFO_1,
// 492 bytes) with every field of m.
func (b *Builder) SystemMemoryInfo1(m minidump.SystemMemoryInfo) *Builder {
	e := make([]byte, 492)
	le := binary.LittleEndian
	le.PutUint16(e[0:], m.Revision)
	le.PutUint16(e[2:], m.Flags)
	bi := e[4:] // MINIDUMP_SYSTEM_BASIC_INFORMATION
	le.PutUint32(bi[0:], m.TimerResolution)
	le.PutUint32(bi[4:], m.PageSize)
	le.PutUint32(bi[8:], m.NumberOfPhysicalPages)
	le.PutUint32(bi[20:], m.AllocationGranularity)
	le.PutUint64(bi[24:], m.MinimumUserModeAddress)
	le.PutUint64(bi[32:], m.MaximumUserModeAddress)
	le.PutUint64(bi[40:], m.ActiveProcessorsMask)
	le.PutUint32(bi[48:], m.NumberOfProcessors)
	fc := e[56:] // MINIDUMP_SYSTEM_FILECACHE_INFORMATION
	le.PutUint64(fc[0:], m.FileCacheCurrentSize)
	le.PutUint64(fc[8:], m.FileCachePeakSize)
	bp := e[116:] // MINIDUMP_SYSTEM_BASIC_PERFORMANCE_INFORMATION
	le.PutUint64(bp[0:], m.AvailablePages)
	le.PutUint64(bp[8:], m.CommittedPages)
	le.PutUint64(bp[16:], m.CommitLimit)
	le.PutUint64(bp[24:], m.PeakCommitment)
	return b.Stream(minidump.StreamSystemMemoryInfo, e)
}

// ProcessVMCounters adds a ProcessVmCounters stream: revision 1 (80 bytes) or 2
// (152 bytes), as c.Revision says.
func (b *Builder) ProcessVMCounters(c minidump.ProcessVMCounters) *Builder {
	le := binary.LittleEndian
	n := 80
	if c.Revision == 2 {
		n = 152
	}
	e := make([]byte, n)
	le.PutUint16(e[0:], c.Revision)
	if c.Revision == 2 {
		le.PutUint16(e[2:], c.Flags)
	}
	le.PutUint32(e[4:], c.PageFaultCount)
	for i, v := range []uint64{c.PeakWorkingSetSize, c.WorkingSetSize, c.QuotaPeakPagedPoolUsage,
		c.QuotaPagedPoolUsage, c.QuotaPeakNonPagedPoolUsage, c.QuotaNonPagedPoolUsage,
		c.PagefileUsage, c.PeakPagefileUsage} {
		le.PutUint64(e[8+8*i:], v)
	}
	if c.Revision == 2 {
		le.PutUint64(e[72:], c.PeakVirtualSize)
		le.PutUint64(e[80:], c.VirtualSize)
		le.PutUint64(e[88:], c.PrivateUsage)
		le.PutUint64(e[96:], c.PrivateWorkingSetSize)
		le.PutUint64(e[104:], c.SharedCommitUsage)
		le.PutUint64(e[136:], c.JobPrivateCommitLimit)
		le.PutUint64(e[144:], c.JobTotalCommitLimit)
	} else {
		le.PutUint64(e[72:], c.PrivateUsage)
	}
	return b.Stream(minidump.StreamProcessVMCounters, e)
}

// ExceptionSpec describes an Exception stream in full.
type ExceptionSpec struct {
	ThreadID uint32
	Code     minidump.ExceptionCode
	Flags    uint32
	Record   uint64
	Address  uint64
	// NumberParameters is written as is; Params fills ExceptionInformation (at most
	// 15 are written).
	NumberParameters uint32
	Params           []uint64
	Context          []byte
}

// ExceptionFull adds an Exception stream (MINIDUMP_EXCEPTION_STREAM, 168 bytes).
func (b *Builder) ExceptionFull(x ExceptionSpec) *Builder {
	b.streams = append(b.streams, pending{minidump.StreamException, func(w *writer) []byte {
		le := binary.LittleEndian
		e := make([]byte, 168)
		le.PutUint32(e[0:], x.ThreadID)
		r := e[8:] // MINIDUMP_EXCEPTION
		le.PutUint32(r[0:], uint32(x.Code))
		le.PutUint32(r[4:], x.Flags)
		le.PutUint64(r[8:], x.Record)
		le.PutUint64(r[16:], x.Address)
		le.PutUint32(r[24:], x.NumberParameters)
		for i, p := range x.Params {
			if i < 15 {
				le.PutUint64(r[32+8*i:], p)
			}
		}
		if x.Context != nil {
			le.PutUint32(e[160:], uint32(len(x.Context)))
			le.PutUint32(e[164:], w.blob(x.Context))
		}
		return e
	}})
	return b
}
