package render

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/analysis/symstore"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// Stackwalk is `dumpmap stack --format stackwalk-json`: the JSON document
// rust-minidump's minidump-stackwalk writes with --json, the shape crash pipelines
// such as Mozilla's Socorro consume (minidump-processor/json-schema.md): status,
// system_info, crash_info, threads with their frames, crashing_thread with the
// crashing frame's registers, modules, unloaded_modules and the Linux and macOS
// extras. Field names, key order (sorted, as serde_json writes a map), value
// formats and nulls are rust-minidump's; see docs/stacks.md for what is derived
// differently and which fields are always null here.
type Stackwalk struct {
	doc      swObject
	warnings []error
}

// Warnings says where the document is incomplete (frames left out past the
// bound on their number); nil for a nil Stackwalk, so a caller that built none
// can ask too.
func (x *Stackwalk) Warnings() []error {
	if x == nil {
		return nil
	}
	return x.warnings
}

// WriteJSON writes the document compact, as `minidump-stackwalk --json` does,
// with a final line feed.
func (x *Stackwalk) WriteJSON(w io.Writer) error { return x.write(w, false) }

// WritePretty writes the document indented, as `minidump-stackwalk --json
// --pretty` does, with a final line feed.
func (x *Stackwalk) WritePretty(w io.Writer) error { return x.write(w, true) }

// WriteText writes the indented document: the format has no text form.
func (x *Stackwalk) WriteText(w io.Writer) error { return x.WritePretty(w) }

func (x *Stackwalk) write(w io.Writer, pretty bool) error {
	var b bytes.Buffer
	swWrite(&b, x.doc, pretty, 0)
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// Errors NewStackwalk returns where minidump-stackwalk refuses a dump.
var (
	ErrStackwalkNoSystemInfo = errors.New("stackwalk: the dump has no readable SystemInfo stream")
	ErrStackwalkNoThreads    = errors.New("stackwalk: the dump has no readable thread list")
)

// Bounds on hostile input.
const (
	// swMaxUnloaded bounds the unloaded modules matched against frames outside
	// every module (Windows keeps the last 64 unload events; a dump listing more
	// is damaged or hostile). The unloaded_modules list itself has them all.
	swMaxUnloaded = 1024
	// swMaxTextStream bounds the text streams read (maps, cpuinfo, limits, soft
	// errors...).
	swMaxTextStream = 16 << 20
	// swMaxString bounds the MINIDUMP_STRING of the macOS boot arguments.
	swMaxString = 1 << 20
	// swMaxFrames bounds the frames the document lists, all threads together (a
	// large real process has some 20,000; each frame is a JSON object of a dozen
	// fields). Past it, threads list the frames they have room for.
	swMaxFrames = 1 << 20
)

// NewStackwalk builds minidump-stackwalk's JSON for process p, whose threads d
// walks (stack.ForProcess(ctx, p, ...)). Every thread is walked, as
// minidump-stackwalk does, except the one that wrote the dump (Breakpad's
// BreakpadInfo stream names it), which is listed without frames. ctx bounds the
// symbol lookups that say which modules have symbols (they are the walk's own,
// already made). Like minidump-stackwalk, it refuses a dump without a system
// information stream or a thread list.
func NewStackwalk(ctx context.Context, p *process.Process, d *stack.Dump) (*Stackwalk, error) {
	si, _ := p.SystemInfo()
	if si == nil {
		return nil, ErrStackwalkNoSystemInfo
	}
	threads := d.Threads()
	if threads == nil {
		return nil, ErrStackwalkNoThreads
	}
	b := &swBuilder{ctx: ctx, p: p, d: d, f: p.File(), si: si, os: swOSOf(si.Platform), cpu: swCPUOf(si.Arch),
		hits: map[uint64]bool{}}
	if b.f.HasStream(minidump.StreamException) {
		b.exc, _ = p.Exception()
	}
	b.unloaded, _ = p.UnloadedModules()
	if b.f.HasStream(minidump.StreamLinuxMaps) {
		if data, err := b.f.StreamData(minidump.StreamLinuxMaps, swMaxTextStream); err == nil {
			b.maps, b.mapsOK = swMaps(data)
		}
	}
	b.doc = swObject{
		"status":                     "OK",
		"system_info":                b.systemInfo(),
		"main_module":                0, // rust-minidump: "the first module is always the main one"
		"modules_contains_cert_info": false,
		"unloaded_modules":           b.unloadedModules(),
		"handles":                    b.handles(),
		"pid":                        b.pid(),
		"process_uptime":             b.uptime(),
		"linux_memory_map_count":     nil,
		"lsb_release":                nil,
		"proc_limits":                nil,
		"soft_errors":                nil,
		"mac_crash_info":             nil, // the MozMacosCrashInfo stream is not decoded
		"mac_boot_args":              b.macBootArgs(),
	}
	if b.mapsOK {
		b.doc["linux_memory_map_count"] = len(b.maps)
	}
	if data := b.text(minidump.StreamLinuxLSBRelease); data != nil {
		b.doc["lsb_release"] = swLSB(data)
	}
	if data := b.text(minidump.StreamMozLinuxLimits); data != nil {
		b.doc["proc_limits"] = swLimits(data)
	}
	if data := b.text(minidump.StreamMozSoftErrors); data != nil {
		b.doc["soft_errors"] = parseSoftErrors(data)
	}
	b.threads(threads)
	b.doc["crash_info"] = b.crashInfo()
	b.doc["modules"] = b.modules() // after the threads: which modules frames hit
	return &Stackwalk{doc: b.doc, warnings: b.warnings}, nil
}

// swBuilder holds what the parts of the document share.
type swBuilder struct {
	ctx      context.Context
	p        *process.Process
	d        *stack.Dump
	f        *minidump.File
	si       *minidump.SystemInfo
	os       swOS
	cpu      swCPU
	exc      *minidump.Exception
	unloaded []minidump.UnloadedModule
	maps     []swMapping
	mapsOK   bool
	doc      swObject
	// requesting is the index in the thread list of the thread that crashed or
	// asked for the dump (-1: none).
	requesting int
	// hits are the bases of the modules some frame lies in: rust-minidump has
	// symbol statistics only for those.
	hits map[uint64]bool
	// frames counts the frames listed, against swMaxFrames.
	frames   int
	warnings []error
}

// hex is rust-minidump's Address formatting: 8 hex digits for 32-bit CPUs, 16
// for the others.
func (b *swBuilder) hex(v uint64) string {
	if b.cpu.bits32() {
		return fmt.Sprintf("0x%08x", v)
	}
	return fmt.Sprintf("0x%016x", v)
}

// text returns a text stream's bytes, nil when the dump has none or it cannot
// be read whole.
func (b *swBuilder) text(t minidump.StreamType) []byte {
	if !b.f.HasStream(t) {
		return nil
	}
	data, err := b.f.StreamData(t, swMaxTextStream)
	if err != nil {
		return nil
	}
	if data == nil {
		data = []byte{}
	}
	return data
}

func (b *swBuilder) systemInfo() swObject {
	si := b.si
	ver := fmt.Sprintf("%d.%d.%d", si.MajorVersion, si.MinorVersion, si.BuildNumber)
	build := strings.TrimSpace(si.CSDVersion)
	hasBuild := build != ""
	if uint32(si.Platform) == 0x8201 && ver == "0.0.0" {
		// Breakpad and Crashpad leave Linux's version 0.0.0 and put `uname -srvmo`
		// in the CSD version: "Linux 4.9.60 #1 SMP ... x86_64 [GNU/Linux]". As
		// MinidumpSystemInfo::os_parts: the second word is the version, the rest
		// but the last word (or two, after "Linux/GNU") the build.
		parts := strings.Split(si.CSDVersion, " ")
		if len(parts) > 1 && parts[1] != "0.0.0" {
			rest := parts[2:]
			if n := len(rest); n > 0 {
				last := rest[n-1]
				rest = rest[:n-1]
				if last == "Linux/GNU" && len(rest) > 0 {
					rest = rest[:len(rest)-1]
				}
			}
			ver, build, hasBuild = parts[1], strings.Join(rest, " "), true
		}
	}
	osVer := ver
	if hasBuild {
		osVer += " " + build
	}
	var micro any
	if data := b.text(minidump.StreamLinuxCPUInfo); data != nil {
		micro = swMicrocode(data)
	}
	return swObject{
		"os":                    swLongName(si.Platform),
		"os_ver":                osVer,
		"cpu_arch":              b.cpu.String(),
		"cpu_info":              b.cpuInfo(),
		"cpu_count":             int(si.NumberOfProcessors),
		"cpu_microcode_version": micro,
	}
}

// cpuInfo is MinidumpSystemInfo's cpu_info: on x86 the CPUID vendor's 12 bytes
// (NULs and all, each byte one character) and the family, model and stepping; on
// amd64 the three numbers; on ARM the architecture level, the vendor and part
// from the CPUID and the ELF hardware capabilities; null elsewhere.
func (b *swBuilder) cpuInfo() any {
	si := b.si
	fms := fmt.Sprintf("family %d model %d stepping %d", si.ProcessorLevel, si.ProcessorRevision>>8&0xff, si.ProcessorRevision&0xff)
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[0:], si.ProcessorFeatures[0])
	binary.LittleEndian.PutUint64(raw[8:], si.ProcessorFeatures[1])
	switch b.cpu {
	case swCPUX86:
		var s strings.Builder
		for _, c := range raw[:12] {
			s.WriteRune(rune(c))
		}
		return s.String() + " " + fms
	case swCPUAMD64:
		return fms
	case swCPUARM:
		return swARMInfo(si.ProcessorLevel, binary.LittleEndian.Uint32(raw[0:]), binary.LittleEndian.Uint32(raw[4:]))
	}
	return nil
}

// swARMInfo describes a 32-bit ARM CPU: "ARMv7 ARM Cortex-A9 features: swp,half,...".
// Vendor and part numbers as rust-minidump (and Breakpad's minidump_processor)
// name them; the features are Linux's HWCAP_* bits (asm/hwcap.h).
func swARMInfo(level uint16, cpuid, hwcaps uint32) string {
	s := fmt.Sprintf("ARMv%d", level)
	if cpuid != 0 {
		vendors := map[uint32]string{0x41: "ARM", 0x51: "Qualcomm", 0x56: "Marvell", 0x69: "Intel/Marvell"}
		parts := map[uint32]string{
			0x4100c050: "Cortex-A5", 0x4100c080: "Cortex-A8", 0x4100c090: "Cortex-A9", 0x4100c0f0: "Cortex-A15",
			0x4100c140: "Cortex-R4", 0x4100c150: "Cortex-R5", 0x4100b360: "ARM1136", 0x4100b560: "ARM1156",
			0x4100b760: "ARM1176", 0x4100b020: "ARM11-MPCore", 0x41009260: "ARM926", 0x41009460: "ARM946",
			0x41009660: "ARM966", 0x510006f0: "Krait", 0x510000f0: "Scorpion",
		}
		vendor, part := cpuid>>24&0xff, cpuid&0xff00fff0
		if n, ok := vendors[vendor]; ok {
			s += " " + n
		} else {
			s += fmt.Sprintf(" vendor(%#x)", vendor)
		}
		if n, ok := parts[part]; ok {
			s += " " + n
		} else {
			s += fmt.Sprintf(" part(%#x)", part)
		}
	}
	// Bits 0-21 are the ones rust-minidump knows; 19-21 (vfpd32, lpae, evtstrm)
	// start the list without being named in it.
	if hwcaps&(1<<22-1) != 0 {
		names := []string{"swp", "half", "thumb", "26bit", "fastmult", "fpa", "vfpv2", "edsp", "java",
			"iwmmxt", "crunch", "thumbee", "neon", "vfpv3", "vfpv3d16", "tls", "vfpv4", "idiva", "idivt"}
		var on []string
		for i, n := range names {
			if hwcaps&(1<<i) != 0 {
				on = append(on, n)
			}
		}
		s += " features: " + strings.Join(on, ",")
	}
	return s
}

// pid is MiscInfo's process id when the dump has a MiscInfo stream (null when
// its flag is off), else the Pid line of /proc/self/status.
func (b *swBuilder) pid() any {
	if mi, _ := b.p.MiscInfo(); mi != nil {
		if mi.HasProcessID {
			return mi.ProcessID
		}
		return nil
	}
	if data := b.text(minidump.StreamLinuxProcStatus); data != nil {
		pid, _ := swProcStatusPid(data)
		return pid
	}
	return nil
}

// uptime is the dump's time minus the process's creation time, in seconds, 0
// when the dump claims to be older; null without the process times.
func (b *swBuilder) uptime() any {
	mi, _ := b.p.MiscInfo()
	if mi == nil || !mi.HasProcessTimes {
		return nil
	}
	return max(int64(b.f.Header.TimeDateStamp)-mi.ProcessCreateTime.Unix(), 0)
}

func (b *swBuilder) handles() any {
	if !b.f.HasStream(minidump.StreamHandleData) {
		return nil
	}
	hs, err := b.p.Handles()
	if hs == nil && err != nil {
		return nil
	}
	out := make([]any, 0, len(hs))
	for _, h := range hs {
		out = append(out, swObject{"handle": h.Handle, "type_name": swOptional(h.TypeName), "object_name": swOptional(h.ObjectName)})
	}
	return out
}

// swOptional is s, or null for "" (a name the dump does not give).
func swOptional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// macBootArgs is the MozMacosBootargs stream's string (UTF-16 MINIDUMP_STRING at
// the 64-bit RVA after the stream type), null when absent or not UTF-16.
func (b *swBuilder) macBootArgs() any {
	data := b.text(minidump.StreamMozMacosBootargs)
	if len(data) < 12 {
		return nil
	}
	rva := binary.LittleEndian.Uint64(data[4:])
	r := b.f.ReaderAt()
	var n [4]byte
	if rva > uint64(b.f.Size()) || b.f.Size()-int64(rva) < 4 {
		return nil
	}
	if _, err := r.ReadAt(n[:], int64(rva)); err != nil {
		return nil
	}
	size := int64(binary.LittleEndian.Uint32(n[:]))
	if size%2 != 0 || size > swMaxString || size > b.f.Size()-int64(rva)-4 {
		return nil
	}
	buf := make([]byte, size)
	if _, err := r.ReadAt(buf, int64(rva)+4); err != nil {
		return nil
	}
	u := make([]uint16, size/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(buf[2*i:])
	}
	for i := 0; i < len(u); i++ { // a lone surrogate: not UTF-16, no string
		switch {
		case utf16.IsSurrogate(rune(u[i])) && u[i] < 0xdc00 && i+1 < len(u) && u[i+1] >= 0xdc00 && u[i+1] < 0xe000:
			i++
		case utf16.IsSurrogate(rune(u[i])):
			return nil
		}
	}
	return string(utf16.Decode(u))
}

func (b *swBuilder) unloadedModules() []any {
	out := make([]any, 0, len(b.unloaded))
	for _, u := range b.unloaded {
		out = append(out, swObject{
			"base_addr":    b.hex(u.Base),
			"end_addr":     b.hex(u.Base + uint64(u.Size)),
			"filename":     u.Name,
			"code_id":      strings.ToLower(fmt.Sprintf("%08X%x", u.TimeDateStamp, u.Size)),
			"cert_subject": nil,
		})
	}
	return out
}

// crashInfo is crash_info: the exception's type and address; the fields that
// come from rust-minidump's disassembly of the crashing instruction and its
// bit-flip heuristics (adjusted_address, instruction, memory_accesses,
// instruction_pointer_update, possible_bit_flips) are null: see docs/stacks.md.
func (b *swBuilder) crashInfo() swObject {
	o := swObject{
		"type": nil, "address": nil, "adjusted_address": nil, "instruction": nil,
		"memory_accesses": nil, "instruction_pointer_update": nil, "possible_bit_flips": nil,
		"crash_inconsistencies": nil, "crashing_thread": nil, "assertion": nil,
	}
	if b.requesting >= 0 {
		o["crashing_thread"] = b.requesting
	}
	if e := b.exc; e != nil {
		o["type"] = swCrashReason(e, b.os, b.cpu)
		addr := swCrashAddress(e, b.os, b.cpu)
		o["address"] = b.hex(addr)
		o["crash_inconsistencies"] = b.inconsistencies(e, addr)
	}
	return o
}

// inconsistencies is crash_inconsistencies as far as it needs no disassembly:
// "access_violation_when_access_allowed" when a Windows access violation's address
// lies in memory whose protection allows the access (MemoryInfoList, else
// /proc/self/maps).
func (b *swBuilder) inconsistencies(e *minidump.Exception, addr uint64) []any {
	out := []any{}
	if b.os != swOSWindows || e.Code != 0xC0000005 || len(e.Parameters) < 1 {
		return out
	}
	op, ok := swAccess(e.Parameters[0])
	if !ok {
		return out
	}
	if r, w, x, found := b.protectionAt(addr); found && (op == "READ" && r || op == "WRITE" && w || op == "EXEC" && x) {
		out = append(out, "access_violation_when_access_allowed")
	}
	return out
}

// protectionAt finds the region holding addr in the MemoryInfoList (preferred,
// as rust-minidump does when a dump has both) or the maps, and what it allows.
func (b *swBuilder) protectionAt(addr uint64) (r, w, x, found bool) {
	if b.f.HasStream(minidump.StreamMemoryInfoList) {
		var hit *minidump.MemoryInfo
		_, err := b.f.ScanMemoryInfo(func(batch []minidump.MemoryInfo) bool {
			for i := range batch {
				m := batch[i]
				if m.RegionSize > 0 && addr >= m.BaseAddress && addr-m.BaseAddress < m.RegionSize {
					hit = &m
					return false
				}
			}
			return true
		})
		if err == nil || hit != nil {
			if hit == nil {
				return false, false, false, false
			}
			p := hit.Protect
			return p&(minidump.PageReadOnly|minidump.PageReadWrite|minidump.PageExecuteRead|minidump.PageExecuteReadWrite) != 0,
				p&(minidump.PageReadWrite|minidump.PageWriteCopy|minidump.PageExecuteReadWrite|minidump.PageExecuteWriteCopy) != 0,
				p&(minidump.PageExecute|minidump.PageExecuteRead|minidump.PageExecuteReadWrite|minidump.PageExecuteWriteCopy) != 0,
				true
		}
	}
	for _, m := range b.maps {
		if addr >= m.start && addr < m.end {
			return m.r, m.w, m.x, true
		}
	}
	return false, false, false, false
}

// threads fills threads, thread_count and crashing_thread.
func (b *swBuilder) threads(threads []minidump.Thread) {
	var dumpTID, reqTID uint32
	var hasDump, hasReq bool
	if bi, _ := b.p.BreakpadInfo(); bi != nil {
		dumpTID, hasDump = bi.DumpThreadID, bi.Validity&1 != 0
		reqTID, hasReq = bi.RequestingThreadID, bi.Validity&2 != 0
	}
	// The exception's thread, else the one Breakpad says asked for the dump.
	crashTID, hasCrash := reqTID, hasReq
	if b.exc != nil {
		crashTID, hasCrash = b.exc.ThreadID, true
	}
	names := map[uint32]string{}
	if tn, _ := b.p.ThreadNames(); tn != nil {
		for _, n := range tn {
			names[n.ThreadID] = n.Name
		}
	}
	walked := b.d.WalkAll().Threads
	b.requesting = -1
	out := make([]any, 0, len(threads))
	var crashing swObject
	for i := range threads {
		th := &threads[i]
		var frames []stack.Frame
		skipped := hasDump && th.ID == dumpTID
		if !skipped && i < len(walked) && walked[i].ID == th.ID {
			frames = walked[i].Frames
		}
		if !skipped && hasCrash && th.ID == crashTID {
			b.requesting = i
		}
		// rust-minidump gives the thread that wrote the dump neither frames nor
		// name nor last error (CallStack::with_info).
		var name, lastErr any
		if n, ok := names[th.ID]; ok && !skipped {
			name = n
		}
		if !skipped {
			lastErr = b.lastError(th)
		}
		if room := swMaxFrames - b.frames; len(frames) > room {
			b.warnings = append(b.warnings, fmt.Errorf("stackwalk: thread %d: %d of its %d frames left out: the document lists at most %d frames", th.ID, len(frames)-room, len(frames), swMaxFrames))
			frames = frames[:room]
		}
		b.frames += len(frames)
		fs := make([]any, 0, len(frames))
		for j := range frames {
			fs = append(fs, b.frame(&frames[j], j))
		}
		t := swObject{
			"thread_id":        th.ID,
			"thread_name":      name,
			"last_error_value": lastErr,
			"frame_count":      len(fs),
			"frames":           fs,
		}
		out = append(out, t)
	}
	if b.requesting >= 0 {
		t := out[b.requesting].(swObject)
		if fs := t["frames"].([]any); len(fs) > 0 {
			// A copy, with the crashing frame's registers and the thread's index.
			crashing = swCopy(t)
			cfs := slices.Clone(fs)
			f0 := swCopy(cfs[0].(swObject))
			f0["registers"] = b.registers(&threads[b.requesting])
			cfs[0] = f0
			crashing["frames"] = cfs
			crashing["threads_index"] = b.requesting
		}
	}
	b.doc["thread_count"] = len(out)
	b.doc["threads"] = out
	if crashing != nil {
		b.doc["crashing_thread"] = crashing
	}
}

// swCopy copies an object one level deep.
func swCopy(o swObject) swObject {
	c := make(swObject, len(o)+2)
	for k, v := range o {
		c[k] = v
	}
	return c
}

// lastError is last_error_value: the 32-bit word 13 pointers into the thread's
// TEB (LastErrorValue, at 0x34 in the 32-bit TEB and 0x68 in the 64-bit one),
// named as a Win32 error, read whatever the platform as rust-minidump does;
// null when the dump did not capture it.
func (b *swBuilder) lastError(th *minidump.Thread) any {
	ptr := uint64(8)
	switch {
	case b.cpu == swCPUUnknown:
		return nil
	case b.cpu.bits32():
		ptr = 4
	}
	addr := th.TEB + 13*ptr
	mem := b.p.Memory()
	if addr < th.TEB || mem == nil || !mem.Contains(addr, 4) {
		return nil
	}
	v, err := mem.ReadUint32(addr)
	if err != nil {
		return nil
	}
	return swWindowsError(v)
}

// swTrust names how a frame was found in rust-minidump's terms. Its unwinder has
// context, cfi, frame_pointer and scan (and cfi_scan, prewalked, inline frames
// that ours never produce); ours differ in where the rules came from, not in what
// they are: .pdata/.xdata unwind codes (unwind) are what dump_syms turns into
// STACK CFI records for rust-minidump, and x86 frame data (fpo) is STACK WIN,
// which rust-minidump's x86 walker also reports as "cfi".
func swTrust(t stack.Trust) string {
	switch t {
	case stack.TrustContext:
		return "context"
	case stack.TrustUnwind, stack.TrustCFI, stack.TrustFPO:
		return "cfi"
	case stack.TrustFramePointer:
		return "frame_pointer"
	case stack.TrustScan:
		return "scan"
	}
	return "none"
}

// frame is one frame. rust-minidump reports a caller at the instruction before its
// return address ("offset"): the return address minus 1 on x86 and amd64, 4 on
// ARM64, 2 on ARM; the module is the one holding that address.
func (b *swBuilder) frame(f *stack.Frame, i int) swObject {
	instr := f.IP
	back := uint64(0)
	if i > 0 && !f.Interrupted() {
		switch stack.ArchOf(b.si.Arch) {
		case stack.ArchARM64:
			back = 4
		case stack.ArchARM:
			back = 2
		default:
			back = 1
		}
	}
	instr -= back
	o := swObject{
		"frame": i, "offset": b.hex(instr), "trust": swTrust(f.Trust), "inlines": nil,
		"module": nil, "module_offset": nil, "unloaded_modules": nil,
		"function": nil, "function_offset": nil, "file": nil, "line": nil,
		"missing_symbols": f.Function == "",
	}
	if f.Function != "" {
		o["function"] = f.Function
		o["function_offset"] = b.hex(f.FunctionOffset - back)
	}
	if f.File != "" {
		o["file"] = f.File
	}
	if f.Line > 0 {
		o["line"] = f.Line
	}
	if m := b.p.ModuleIndex().Loaded(instr); m != nil {
		b.hits[m.Base] = true
		o["module"] = swBasename(m.Name)
		o["module_offset"] = b.hex(instr - m.Base)
	} else if u := b.unloadedAt(instr); u != nil {
		o["unloaded_modules"] = u
	}
	return o
}

// unloadedAt lists the unloaded modules whose former range holds addr, by name
// with each name's offsets sorted and without repeats (rust-minidump keeps a
// BTreeMap of BTreeSets); nil when none does.
func (b *swBuilder) unloadedAt(addr uint64) []any {
	offs := map[string][]uint64{}
	for _, u := range b.unloaded[:min(len(b.unloaded), swMaxUnloaded)] {
		if u.Size > 0 && addr >= u.Base && addr-u.Base < uint64(u.Size) {
			if o := addr - u.Base; !slices.Contains(offs[u.Name], o) {
				offs[u.Name] = append(offs[u.Name], o)
			}
		}
	}
	if len(offs) == 0 {
		return nil
	}
	names := make([]string, 0, len(offs))
	for n := range offs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, n := range names {
		slices.Sort(offs[n])
		hs := make([]any, 0, len(offs[n]))
		for _, o := range offs[n] {
			hs = append(hs, b.hex(o))
		}
		out = append(out, swObject{"module": n, "offsets": hs})
	}
	return out
}

// swBasename is minidump_common::utils::basename: what follows the last / or \.
func swBasename(p string) string {
	return p[strings.LastIndexAny(p, `/\`)+1:]
}

// swRegisterSet is the register list of one context type, with the width of the
// values in hex digits.
type swRegisterSet struct {
	names []string
	width int
}

// swRegisters are the general-purpose registers rust-minidump lists for each
// context type (CpuContext::REGISTERS), with their width in hex digits. Built on
// first use: a run that never writes a stackwalk does not pay for it at start-up.
var swRegisters = sync.OnceValue(func() map[swCPU]swRegisterSet {
	return map[swCPU]swRegisterSet{
		swCPUX86:   {[]string{"eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags"}, 8},
		swCPUAMD64: {[]string{"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"}, 16},
		swCPUARM:   {[]string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r12", "fp", "sp", "lr", "pc"}, 8},
		swCPUARM64: {func() []string {
			n := make([]string, 0, 33)
			for i := range 29 {
				n = append(n, fmt.Sprintf("x%d", i))
			}
			return append(n, "fp", "lr", "sp", "pc")
		}(), 16},
	}
})

// registers are the crashing frame's registers: the exception's context (the
// thread's when the exception has none or it is damaged), as the walk used it.
func (b *swBuilder) registers(th *minidump.Thread) swObject {
	loc := th.Context
	if b.exc != nil && b.exc.ThreadID == th.ID && b.exc.Context.Size != 0 {
		loc = b.exc.Context
	}
	c, err := b.f.Context(loc, b.si.Arch)
	if err != nil && loc != th.Context && th.Context.Size != 0 {
		c, err = b.f.Context(th.Context, b.si.Arch)
	}
	o := swObject{}
	if err != nil || c == nil {
		return o
	}
	set := swRegisters()[swCPUOf(c.Arch)]
	for _, n := range set.names {
		if v, ok := c.Reg(n); ok {
			o[n] = fmt.Sprintf("0x%0*x", set.width, v)
		}
	}
	return o
}

func (b *swBuilder) modules() []any {
	list := b.p.ModuleList()
	pms := b.p.Modules()
	out := make([]any, 0, len(list))
	for i := range list {
		m := &list[i]
		var pm *process.Module
		if i < len(pms) {
			pm = pms[i]
		}
		loaded, missing, corrupt := b.symbolStats(pm, b.hits[m.Base])
		out = append(out, swObject{
			"base_addr":       b.hex(m.Base),
			"end_addr":        b.hex(m.Base + uint64(m.Size)),
			"filename":        swBasename(m.Name),
			"code_id":         swCodeID(m, b.os),
			"debug_file":      swBasename(swDebugFile(m)),
			"debug_id":        swDebugID(m.CodeView),
			"version":         swVersion(m, b.os),
			"cert_subject":    nil,
			"loaded_symbols":  loaded,
			"missing_symbols": missing,
			"corrupt_symbols": corrupt,
			"symbol_url":      nil,
		})
	}
	return out
}

// symbolStats says, for a module some frame lies in, whether its symbols (PDB or
// Breakpad symbol file) were loaded, looked for on the symbol path and not found,
// or found and unreadable. rust-minidump counts only the modules its symbolizer
// was asked about, and nothing without a symbol path: neither do these.
func (b *swBuilder) symbolStats(pm *process.Module, hit bool) (loaded, missing, corrupt bool) {
	if pm == nil || !hit {
		return false, false, false
	}
	pdb, perr := pm.PDB(b.ctx)
	sym, serr := pm.Symbols(b.ctx)
	if pdb != nil || sym != nil {
		return true, false, false
	}
	if len(b.p.Options().SymbolPath) == 0 {
		return false, false, false
	}
	found := func(err error) bool {
		// A lookup that reached a file: not "not found", and not a module
		// without a key to look for.
		return err != nil && !errors.Is(err, symstore.ErrNotFound) && !errors.Is(err, process.ErrNoSymbolPath) &&
			pm.CodeView != nil && strings.Contains(err.Error(), ": ")
	}
	if found(perr) || found(serr) {
		return false, false, true
	}
	return false, true, false
}

// swCodeID is the module's code identifier as rust-minidump derives it (its
// MinidumpModule::code_identifier, lower-cased by the debugid crate's CodeId):
// on macOS and iOS the CodeView GUID (the Mach-O UUID); with a PDB record, or on
// Windows without any CodeView record, the image's time stamp and size
// ("%08X%x", the symbol-server key); with an ELF build id, the build id in hex;
// else "".
func swCodeID(m *minidump.Module, os swOS) string {
	cv := m.CodeView
	switch {
	case cv != nil && cv.Signature == codeview.SignatureRSDS && (os == swOSMac || os == swOSIOS):
		return strings.ToLower(cv.GUID.Hex())
	case cv != nil && (cv.Signature == codeview.SignatureRSDS || cv.Signature == codeview.SignatureNB10),
		cv == nil && os == swOSWindows:
		return strings.ToLower(fmt.Sprintf("%08X%x", m.TimeDateStamp, m.Size))
	case cv != nil && cv.Signature == codeview.SignatureBpEL:
		if swAllZero(cv.BuildID) {
			return ""
		}
		return fmt.Sprintf("%x", cv.BuildID)
	}
	return ""
}

func swAllZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// swDebugFile is the PDB path of a PDB record, the module's own path for an ELF
// build id, else "".
func swDebugFile(m *minidump.Module) string {
	cv := m.CodeView
	switch {
	case cv == nil:
		return ""
	case cv.Signature == codeview.SignatureRSDS || cv.Signature == codeview.SignatureNB10:
		return swLossy(cv.PDBPath)
	case cv.Signature == codeview.SignatureBpEL:
		return m.Name
	}
	return ""
}

// swDebugID is the debug identifier in Breakpad's form (the debugid crate's
// breakpad()): GUID in upper-case hex and age in lower-case hex; for NB10 the
// signature and age; for an ELF build id its first 16 bytes (zero-padded) read
// as a GUID, age 0. A missing or nil identifier is the nil one, 33 zeros.
func swDebugID(cv *minidump.CodeView) string {
	const nilID = "000000000000000000000000000000000"
	switch {
	case cv == nil:
		return nilID
	case cv.Signature == codeview.SignatureRSDS:
		if cv.GUID.IsZero() {
			return nilID
		}
		return cv.Identifier()
	case cv.Signature == codeview.SignatureNB10:
		return cv.Identifier()
	case cv.Signature == codeview.SignatureBpEL:
		if swAllZero(cv.BuildID) {
			return nilID
		}
		var g codeview.GUID
		copy(g[:], cv.BuildID)
		return g.Hex() + "0"
	}
	return nilID
}

// swVersion is the module's version from its VS_FIXEDFILEINFO (signature and
// structure version checked): the file version's four 16-bit parts on Windows and
// Apple systems; elsewhere, where writers fill the fields differently, the four
// 32-bit fields file-MS, file-LS, product-MS, product-LS.
func swVersion(m *minidump.Module, os swOS) any {
	v := &m.Version
	if v.Signature != 0xfeef04bd || v.StrucVersion != 0x00010000 {
		return nil
	}
	if os == swOSWindows || os == swOSMac || os == swOSIOS {
		return fmt.Sprintf("%d.%d.%d.%d", v.FileVersionMS>>16, v.FileVersionMS&0xffff, v.FileVersionLS>>16, v.FileVersionLS&0xffff)
	}
	return fmt.Sprintf("%d.%d.%d.%d", v.FileVersionMS, v.FileVersionLS, v.ProductVersionMS, v.ProductVersionLS)
}
