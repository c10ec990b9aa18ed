// Package minidumptest builds synthetic minidumps in memory for tests: any set of
// streams in a few lines, laid out the way dbghelp lays them out (header, directory,
// stream data, strings, and full-memory data last).
package minidumptest

import (
	"encoding/binary"
	"os"
	"unicode/utf16"

	"github.com/dumpmap/dumpmap/minidump"
)

// A Builder accumulates streams; Bytes lays them out as a minidump file.
type Builder struct {
	Flags         minidump.DumpType
	TimeDateStamp uint32

	// PadLists writes ThreadList, ThreadExList, ModuleList and MemoryList with four
	// bytes of padding after the count, as some 64-bit writers do.
	PadLists bool
	// RegionHeaderSize and RegionEntrySize, when non-zero, override the MemoryInfoList
	// SizeOfHeader (16) and SizeOfEntry (48); the extra bytes are filled with 0xEE.
	RegionHeaderSize, RegionEntrySize int
	// HandleDescriptorSize is 32 (MINIDUMP_HANDLE_DESCRIPTOR) or 40 (_2, the default).
	HandleDescriptorSize int

	streams []pending
	modules []Module
	threads []Thread
	regions []minidump.MemoryInfo
	mem     []memBlock
	mem64   []memBlock
	haveMem bool // MemoryList stream requested even if empty

	threadsEx   []ThreadEx
	threadInfos []ThreadInfo
	threadNames []ThreadName
	unloaded    []UnloadedModule
	handles     []Handle
}

type pending struct {
	typ    minidump.StreamType
	encode func(w *writer) []byte
}

type memBlock struct {
	va   uint64
	data []byte
}

// New returns an empty Builder.
func New() *Builder { return &Builder{TimeDateStamp: 0x5f000000} }

// Stream adds a stream of type t with the given raw bytes.
func (b *Builder) Stream(t minidump.StreamType, data []byte) *Builder {
	b.streams = append(b.streams, pending{t, func(*writer) []byte { return data }})
	return b
}

// SystemInfo describes the SystemInfo stream.
type SystemInfo struct {
	Arch                minidump.Arch
	Platform            minidump.Platform
	Major, Minor, Build uint32
	ProductType         uint8
	NumberOfProcessors  uint8
	CSDVersion          string
	CPUVendor           string // x86 and amd64 only

	ProcessorLevel, ProcessorRevision, SuiteMask uint16
	CPUVersion, CPUFeatures, AMDExtendedFeatures uint32    // x86 and amd64
	ProcessorFeatures                            [2]uint64 // other architectures
}

// Windows10x64 returns the SystemInfo of a 64-bit Windows 10 machine.
func Windows10x64() SystemInfo {
	return SystemInfo{Arch: minidump.ArchAMD64, Platform: minidump.PlatformWindows, Major: 10, Build: 19041, ProductType: 1, NumberOfProcessors: 4, CPUVendor: "GenuineIntel"}
}

// Windows7x86 returns the SystemInfo of a 32-bit Windows 7 SP1 machine.
func Windows7x86() SystemInfo {
	return SystemInfo{Arch: minidump.ArchX86, Platform: minidump.PlatformWindows, Major: 6, Minor: 1, Build: 7601, ProductType: 1, NumberOfProcessors: 2, CSDVersion: "Service Pack 1", CPUVendor: "GenuineIntel"}
}

// SystemInfo adds a SystemInfo stream.
func (b *Builder) SystemInfo(si SystemInfo) *Builder {
	b.streams = append(b.streams, pending{minidump.StreamSystemInfo, func(w *writer) []byte {
		e := make([]byte, 56)
		le := binary.LittleEndian
		le.PutUint16(e[0:], uint16(si.Arch))
		le.PutUint16(e[2:], si.ProcessorLevel)
		le.PutUint16(e[4:], si.ProcessorRevision)
		e[6], e[7] = si.NumberOfProcessors, si.ProductType
		le.PutUint32(e[8:], si.Major)
		le.PutUint32(e[12:], si.Minor)
		le.PutUint32(e[16:], si.Build)
		le.PutUint32(e[20:], uint32(si.Platform))
		le.PutUint32(e[24:], w.str(si.CSDVersion))
		le.PutUint16(e[28:], si.SuiteMask)
		if si.Arch == minidump.ArchX86 || si.Arch == minidump.ArchAMD64 {
			copy(e[32:44], si.CPUVendor) // CPU_INFORMATION.X86CpuInfo
			le.PutUint32(e[44:], si.CPUVersion)
			le.PutUint32(e[48:], si.CPUFeatures)
			le.PutUint32(e[52:], si.AMDExtendedFeatures)
		} else {
			le.PutUint64(e[32:], si.ProcessorFeatures[0]) // .OtherCpuInfo
			le.PutUint64(e[40:], si.ProcessorFeatures[1])
		}
		return e
	}})
	return b
}

// Module describes a ModuleList entry. CodeView, when set, is the raw record; use
// RSDS to make one.
type Module struct {
	Base     uint64
	Size     uint32
	Name     string
	Checksum uint32
	Time     uint32
	Version  [4]uint16 // file version a.b.c.d; all zero for no version resource
	CodeView []byte
	Misc     []byte // IMAGE_DEBUG_MISC record; see MiscRecord
}

// RSDS returns a PDB 7.0 CodeView record.
func RSDS(guid minidump.GUID, age uint32, pdbPath string) []byte {
	r := make([]byte, 24+len(pdbPath)+1)
	binary.LittleEndian.PutUint32(r, minidump.CVSignatureRSDS)
	copy(r[4:], guid[:])
	binary.LittleEndian.PutUint32(r[20:], age)
	copy(r[24:], pdbPath)
	return r
}

// Module adds a module to the ModuleList stream (created on first use).
func (b *Builder) Module(m Module) *Builder {
	if b.modules == nil {
		b.streams = append(b.streams, pending{minidump.StreamModuleList, b.encodeModules})
	}
	b.modules = append(b.modules, m)
	return b
}

func (b *Builder) encodeModules(w *writer) []byte {
	le := binary.LittleEndian
	out := make([]byte, 4+108*len(b.modules))
	le.PutUint32(out, uint32(len(b.modules)))
	for i, m := range b.modules {
		e := out[4+108*i:]
		le.PutUint64(e[0:], m.Base)
		le.PutUint32(e[8:], m.Size)
		le.PutUint32(e[12:], m.Checksum)
		le.PutUint32(e[16:], m.Time)
		le.PutUint32(e[20:], w.blob(UTF16String(m.Name))) // always present, even if empty
		if m.Version != [4]uint16{} {
			v := e[24:]
			le.PutUint32(v[0:], 0xfeef04bd)
			le.PutUint32(v[4:], 0x10000)
			le.PutUint32(v[8:], uint32(m.Version[0])<<16|uint32(m.Version[1]))
			le.PutUint32(v[12:], uint32(m.Version[2])<<16|uint32(m.Version[3]))
			le.PutUint32(v[16:], uint32(m.Version[0])<<16|uint32(m.Version[1]))
			le.PutUint32(v[20:], uint32(m.Version[2])<<16|uint32(m.Version[3]))
		}
		if m.CodeView != nil {
			le.PutUint32(e[76:], uint32(len(m.CodeView)))
			le.PutUint32(e[80:], w.blob(m.CodeView))
		}
		if m.Misc != nil {
			le.PutUint32(e[84:], uint32(len(m.Misc)))
			le.PutUint32(e[88:], w.blob(m.Misc))
		}
	}
	return b.pad(out)
}

// pad inserts the four bytes of padding after a list's count when PadLists is set.
func (b *Builder) pad(list []byte) []byte {
	if !b.PadLists {
		return list
	}
	out := make([]byte, 0, len(list)+4)
	out = append(out, list[:4]...)
	out = append(out, 0, 0, 0, 0)
	return append(out, list[4:]...)
}

// Thread describes a ThreadList entry; Stack is the captured stack memory, which
// starts at StackStart.
type Thread struct {
	ID         uint32
	TEB        uint64
	StackStart uint64
	Stack      []byte
	Context    []byte
}

// Thread adds a thread to the ThreadList stream (created on first use).
func (b *Builder) Thread(t Thread) *Builder {
	if b.threads == nil {
		b.streams = append(b.streams, pending{minidump.StreamThreadList, b.encodeThreads})
	}
	b.threads = append(b.threads, t)
	return b
}

func (b *Builder) encodeThreads(w *writer) []byte {
	le := binary.LittleEndian
	out := make([]byte, 4+48*len(b.threads))
	le.PutUint32(out, uint32(len(b.threads)))
	for i, t := range b.threads {
		e := out[4+48*i:]
		le.PutUint32(e[0:], t.ID)
		le.PutUint64(e[16:], t.TEB)
		le.PutUint64(e[24:], t.StackStart)
		le.PutUint32(e[32:], uint32(len(t.Stack)))
		le.PutUint32(e[36:], w.blob(t.Stack))
		if t.Context != nil {
			le.PutUint32(e[40:], uint32(len(t.Context)))
			le.PutUint32(e[44:], w.blob(t.Context))
		}
	}
	return b.pad(out)
}

// Region adds regions to the MemoryInfoList stream (created on first use).
func (b *Builder) Region(r ...minidump.MemoryInfo) *Builder {
	if b.regions == nil {
		b.streams = append(b.streams, pending{minidump.StreamMemoryInfoList, b.encodeRegions})
		b.regions = []minidump.MemoryInfo{}
	}
	b.regions = append(b.regions, r...)
	return b
}

func (b *Builder) encodeRegions(*writer) []byte {
	le := binary.LittleEndian
	hs, es := b.RegionHeaderSize, b.RegionEntrySize
	if hs == 0 {
		hs = 16
	}
	if es == 0 {
		es = 48
	}
	out := make([]byte, hs+es*len(b.regions))
	for i := range out {
		out[i] = 0xEE // what a newer writer's extra fields would hold
	}
	le.PutUint32(out[0:], uint32(hs))
	le.PutUint32(out[4:], uint32(es))
	le.PutUint64(out[8:], uint64(len(b.regions)))
	for i, r := range b.regions {
		e := out[hs+es*i:]
		clear(e[:48])
		le.PutUint64(e[0:], r.BaseAddress)
		le.PutUint64(e[8:], r.AllocationBase)
		le.PutUint32(e[16:], uint32(r.AllocationProtect))
		le.PutUint64(e[24:], r.RegionSize)
		le.PutUint32(e[32:], uint32(r.State))
		le.PutUint32(e[36:], uint32(r.Protect))
		le.PutUint32(e[40:], uint32(r.Type))
	}
	return out
}

// Memory adds captured memory to the MemoryList stream (created on first use).
func (b *Builder) Memory(va uint64, data []byte) *Builder {
	if !b.haveMem {
		b.haveMem = true
		b.streams = append(b.streams, pending{minidump.StreamMemoryList, func(w *writer) []byte {
			le := binary.LittleEndian
			out := make([]byte, 4+16*len(b.mem))
			le.PutUint32(out, uint32(len(b.mem)))
			for i, m := range b.mem {
				e := out[4+16*i:]
				le.PutUint64(e, m.va)
				le.PutUint32(e[8:], uint32(len(m.data)))
				le.PutUint32(e[12:], w.blob(m.data))
			}
			return b.pad(out)
		}})
	}
	b.mem = append(b.mem, memBlock{va, data})
	return b
}

// Memory64 adds captured memory to the Memory64List stream (created on first use);
// its data is laid out last, back to back, as full-memory dumps do.
func (b *Builder) Memory64(va uint64, data []byte) *Builder {
	if b.mem64 == nil {
		b.streams = append(b.streams, pending{minidump.StreamMemory64List, nil})
	}
	b.mem64 = append(b.mem64, memBlock{va, data})
	return b
}

// Exception adds an Exception stream.
func (b *Builder) Exception(threadID uint32, code minidump.ExceptionCode, addr uint64, params ...uint64) *Builder {
	b.streams = append(b.streams, pending{minidump.StreamException, func(*writer) []byte {
		le := binary.LittleEndian
		e := make([]byte, 168)
		le.PutUint32(e[0:], threadID)
		le.PutUint32(e[8:], uint32(code))
		le.PutUint64(e[24:], addr)
		le.PutUint32(e[32:], uint32(len(params)))
		for i, p := range params {
			le.PutUint64(e[40+8*i:], p)
		}
		return e
	}})
	return b
}

// MiscInfo adds a MiscInfo stream of the given version (1-5) with a process id.
func (b *Builder) MiscInfo(version int, pid uint32, created uint32) *Builder {
	sizes := [...]int{1: 24, 2: 44, 3: 232, 4: 832, 5: 1364}
	b.streams = append(b.streams, pending{minidump.StreamMiscInfo, func(*writer) []byte {
		e := make([]byte, sizes[version])
		le := binary.LittleEndian
		le.PutUint32(e[0:], uint32(len(e)))
		le.PutUint32(e[4:], minidump.MiscProcessID|minidump.MiscProcessTimes)
		le.PutUint32(e[8:], pid)
		le.PutUint32(e[12:], created)
		return e
	}})
	return b
}

// SystemMemoryInfo adds a SystemMemoryInfo stream with the basic information.
func (b *Builder) SystemMemoryInfo(pageSize, granularity uint32, minAddr, maxAddr uint64) *Builder {
	b.streams = append(b.streams, pending{minidump.StreamSystemMemoryInfo, func(*writer) []byte {
		e := make([]byte, 492)
		le := binary.LittleEndian
		le.PutUint16(e[0:], 1)
		le.PutUint32(e[8:], pageSize)
		le.PutUint32(e[24:], granularity)
		le.PutUint64(e[28:], minAddr)
		le.PutUint64(e[36:], maxAddr)
		return e
	}})
	return b
}

// UTF16String returns s as a MINIDUMP_STRING (length-prefixed UTF-16LE, NUL ended).
func UTF16String(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 4+2*len(u)+2)
	binary.LittleEndian.PutUint32(out, uint32(2*len(u)))
	for i, c := range u {
		binary.LittleEndian.PutUint16(out[4+2*i:], c)
	}
	return out
}

// writer appends blobs to the file image, 4-byte aligned.
type writer struct {
	buf []byte
}

func (w *writer) align() {
	for len(w.buf)%4 != 0 {
		w.buf = append(w.buf, 0)
	}
}

// blob appends data and returns its RVA.
func (w *writer) blob(data []byte) uint32 {
	w.align()
	off := uint32(len(w.buf))
	w.buf = append(w.buf, data...)
	return off
}

// str appends a MINIDUMP_STRING and returns its RVA; "" gives RVA 0.
func (w *writer) str(s string) uint32 {
	if s == "" {
		return 0
	}
	return w.blob(UTF16String(s))
}

// Bytes lays the dump out: header, directory, streams, and Memory64List data last.
func (b *Builder) Bytes() []byte {
	le := binary.LittleEndian
	n := len(b.streams)
	w := &writer{buf: make([]byte, 32+12*n)}
	le.PutUint32(w.buf[0:], minidump.Signature)
	le.PutUint32(w.buf[4:], minidump.Version)
	le.PutUint32(w.buf[8:], uint32(n))
	le.PutUint32(w.buf[12:], 32)
	le.PutUint32(w.buf[20:], b.TimeDateStamp)
	le.PutUint64(w.buf[24:], uint64(b.Flags))
	mem64Entry := -1
	for i, s := range b.streams {
		dir := 32 + 12*i
		le.PutUint32(w.buf[dir:], uint32(s.typ))
		if s.encode == nil { // Memory64List: after everything else
			mem64Entry = i
			continue
		}
		data := s.encode(w)
		rva := w.blob(data)
		le.PutUint32(w.buf[dir+4:], uint32(len(data)))
		le.PutUint32(w.buf[dir+8:], rva)
	}
	if mem64Entry >= 0 {
		list := make([]byte, 16+16*len(b.mem64))
		le.PutUint64(list, uint64(len(b.mem64)))
		for i, m := range b.mem64 {
			le.PutUint64(list[16+16*i:], m.va)
			le.PutUint64(list[24+16*i:], uint64(len(m.data)))
		}
		rva := w.blob(list)
		w.align()
		le.PutUint64(w.buf[rva+8:], uint64(len(w.buf)))
		for _, m := range b.mem64 {
			w.buf = append(w.buf, m.data...)
		}
		dir := 32 + 12*mem64Entry
		le.PutUint32(w.buf[dir+4:], uint32(len(list)))
		le.PutUint32(w.buf[dir+8:], rva)
	}
	return w.buf
}

// WriteFile writes the dump to path.
func (b *Builder) WriteFile(path string) error { return os.WriteFile(path, b.Bytes(), 0o644) }
