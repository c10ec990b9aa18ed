package minidump_test

// Cross-checks against parsers that share no code with package minidump: Breakpad's
// minidump_dump (its expected output for minidump2.dmp is in the corpus, and the live
// tool when the peers are installed) and LLVM's obj2yaml.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/minidump"
)

// diffs collects the disagreements found in one file, reporting at most a few of each
// kind so one systematic difference does not bury the rest.
type diffs struct {
	tb      testing.TB
	file    string
	peer    string
	perKind map[string]int
	n       int
	checked map[string]int // values compared, by kind
	notes   map[string]int // known disagreements where the peer is wrong, by kind
}

func newDiffs(tb testing.TB, file, peer string) *diffs {
	return &diffs{tb: tb, file: file, peer: peer, perKind: map[string]int{}, checked: map[string]int{}, notes: map[string]int{}}
}

// note records a known disagreement in which the peer is wrong (explained where it
// is called); it is logged, not failed.
func (d *diffs) note(kind, format string, args ...any) {
	d.tb.Helper()
	d.notes[kind]++
	if d.notes[kind] == 1 {
		d.tb.Logf("%s: %s disagrees (%s): %s", d.file, d.peer, kind, fmt.Sprintf(format, args...))
	}
}

func (d *diffs) errorf(kind, format string, args ...any) {
	d.tb.Helper()
	d.n++
	d.perKind[kind]++
	if d.perKind[kind] <= 3 {
		d.tb.Errorf("%s: %s %s: %s", d.file, d.peer, kind, fmt.Sprintf(format, args...))
	}
}

func (d *diffs) eq(kind, what string, got, want any) {
	d.tb.Helper()
	d.checked[kind]++
	if fmt.Sprint(got) != fmt.Sprint(want) {
		d.errorf(kind, "%s: ours %v, peer %v", what, got, want)
	}
}

// bnum compares a number minidump_dump printed with ours.
func (d *diffs) bnum(kind, what string, b *bpBlock, key string, got uint64) {
	d.tb.Helper()
	want, ok := b.num(key)
	if !ok {
		d.errorf(kind, "%s: peer printed no number for %q (%q)", what, key, b.Fields[key])
		return
	}
	if got <= 0xffffffff && want == uint64(int64(int32(uint32(got)))) && want != got {
		// minidump_dump prints some unsigned 32-bit MiscInfo fields (process_cookie,
		// processor_*_mhz) through a signed int: 0x926b816c comes out as
		// 0xffffffff926b816c. The field is a ULONG; ours is the value.
		d.checked[kind]++
		d.note("sign-extended u32", "%s %s: ours %#x, peer %#x", what, key, got, want)
		return
	}
	d.eq(kind, what+" "+key, fmt.Sprintf("%#x", got), fmt.Sprintf("%#x", want))
}

func guidLower(g minidump.GUID) string { return strings.ToLower(strings.Trim(g.String(), "{}")) }

// compareBreakpad checks every field minidump_dump printed against what package
// minidump decodes from the same file.
func compareBreakpad(d *diffs, f *minidump.File, data []byte, blocks []*bpBlock) {
	d.tb.Helper()
	if h := bpKind(blocks, "MDRawHeader"); len(h) == 1 {
		b, hd := h[0], f.Header
		d.bnum("header", "", b, "signature", uint64(hd.Signature))
		d.bnum("header", "", b, "version", uint64(hd.Version))
		d.bnum("header", "", b, "stream_count", uint64(hd.NumberOfStreams))
		d.bnum("header", "", b, "stream_directory_rva", uint64(hd.StreamDirectoryRva))
		d.bnum("header", "", b, "checksum", uint64(hd.CheckSum))
		d.bnum("header", "", b, "time_date_stamp", uint64(hd.TimeDateStamp))
		d.bnum("header", "", b, "flags", uint64(hd.Flags))
		if want := b.Fields["time_date_stamp"]; !strings.HasSuffix(want, hd.Time().Format("2006-01-02 15:04:05")) {
			d.errorf("header", "time %v, peer %q", hd.Time(), want)
		}
	}
	if dir := bpKind(blocks, "MDRawDirectory"); len(dir) > 0 {
		d.eq("directory", "entries", len(f.Streams), len(dir))
		for i, b := range dir {
			if i >= len(f.Streams) {
				break
			}
			s := f.Streams[i]
			w := fmt.Sprintf("entry %d", i)
			d.bnum("directory", w, b, "stream_type", uint64(s.Type))
			d.bnum("directory", w, b, "location.data_size", uint64(s.Size))
			d.bnum("directory", w, b, "location.rva", uint64(s.Offset))
		}
	}
	mem, _ := f.Memory()

	if l := bpKind(blocks, "MinidumpThreadList"); len(l) == 1 {
		threads, err := f.Threads()
		d.eq("threads", "error", err, nil)
		d.bnum("threads", "", l[0], "thread_count", uint64(len(threads)))
		for i, b := range bpKind(blocks, "MDRawThread") {
			if i >= len(threads) {
				break
			}
			th, w := threads[i], fmt.Sprintf("thread %d", i)
			d.bnum("threads", w, b, "thread_id", uint64(th.ID))
			d.bnum("threads", w, b, "suspend_count", uint64(th.SuspendCount))
			d.bnum("threads", w, b, "priority_class", uint64(th.PriorityClass))
			d.bnum("threads", w, b, "priority", uint64(th.Priority))
			d.bnum("threads", w, b, "teb", th.TEB)
			d.bnum("threads", w, b, "stack.start_of_memory_range", th.Stack.Start)
			d.bnum("threads", w, b, "stack.memory.data_size", uint64(th.Stack.Data.Size))
			d.bnum("threads", w, b, "stack.memory.rva", uint64(th.Stack.Data.RVA))
			d.bnum("threads", w, b, "thread_context.data_size", uint64(th.Context.Size))
			d.bnum("threads", w, b, "thread_context.rva", uint64(th.Context.RVA))
			if b.HasHex {
				// The stack bytes, which Breakpad reads from the thread's own
				// descriptor; the same bytes through the memory reader when the
				// MemoryList holds the stack too (real writers put it there).
				stack := data[th.Stack.Data.RVA : th.Stack.Data.RVA+th.Stack.Data.Size]
				d.eq("stack memory", w+" bytes", fmt.Sprintf("%x", stack), fmt.Sprintf("%x", b.Hex))
				if mem.Contains(th.Stack.Start, uint64(th.Stack.Data.Size)) {
					got, err := mem.Read(th.Stack.Start, int(th.Stack.Data.Size))
					d.eq("stack memory", w+" read error", err, nil)
					d.eq("stack memory", w+" read", fmt.Sprintf("%x", got), fmt.Sprintf("%x", b.Hex))
				}
			}
		}
	}

	if l := bpKind(blocks, "MinidumpModuleList"); len(l) == 1 {
		mods, err := f.Modules()
		d.eq("modules", "error", err, nil)
		d.bnum("modules", "", l[0], "module_count", uint64(len(mods)))
		for i, b := range bpKind(blocks, "MDRawModule") {
			if i >= len(mods) {
				break
			}
			compareBreakpadModule(d, &mods[i], data, b, fmt.Sprintf("module %d", i))
		}
	}

	if l := bpKind(blocks, "MinidumpMemoryList"); len(l) == 1 {
		ranges, err := f.MemoryList()
		d.eq("memory list", "error", err, nil)
		d.bnum("memory list", "", l[0], "region_count", uint64(len(ranges)))
		for i, b := range bpKind(blocks, "MDMemoryDescriptor") {
			if i >= len(ranges) {
				break
			}
			r, w := ranges[i], fmt.Sprintf("region %d", i)
			d.bnum("memory list", w, b, "start_of_memory_range", r.Start)
			d.bnum("memory list", w, b, "memory.data_size", r.Size)
			d.bnum("memory list", w, b, "memory.rva", uint64(r.Offset))
			if b.HasHex {
				got, err := mem.Read(r.Start, int(r.Size))
				d.eq("memory bytes", w+" read error", err, nil)
				d.eq("memory bytes", w, fmt.Sprintf("%x", got), fmt.Sprintf("%x", b.Hex))
			}
		}
	}

	if l := bpKind(blocks, "MDException"); len(l) == 1 {
		b := l[0]
		e, err := f.Exception()
		d.eq("exception", "error", err, nil)
		if e != nil {
			d.bnum("exception", "", b, "thread_id", uint64(e.ThreadID))
			d.bnum("exception", "", b, "exception_record.exception_code", uint64(e.Code))
			d.bnum("exception", "", b, "exception_record.exception_flags", uint64(e.Flags))
			d.bnum("exception", "", b, "exception_record.exception_record", e.Record)
			d.bnum("exception", "", b, "exception_record.exception_address", e.Address)
			d.bnum("exception", "", b, "exception_record.number_parameters", uint64(len(e.Parameters)))
			for i, p := range e.Parameters {
				d.bnum("exception", "", b, fmt.Sprintf("exception_record.exception_information[%2d]", i), p)
			}
			d.bnum("exception", "", b, "thread_context.data_size", uint64(e.Context.Size))
			d.bnum("exception", "", b, "thread_context.rva", uint64(e.Context.RVA))
		}
	}

	if l := bpKind(blocks, "MDRawSystemInfo"); len(l) == 1 {
		b := l[0]
		si, err := f.SystemInfo()
		if si != nil {
			d.bnum("system info", "", b, "processor_architecture", uint64(si.Arch))
			d.bnum("system info", "", b, "processor_level", uint64(si.ProcessorLevel))
			d.bnum("system info", "", b, "processor_revision", uint64(si.ProcessorRevision))
			d.bnum("system info", "", b, "number_of_processors", uint64(si.NumberOfProcessors))
			d.bnum("system info", "", b, "product_type", uint64(si.ProductType))
			d.bnum("system info", "", b, "major_version", uint64(si.MajorVersion))
			d.bnum("system info", "", b, "minor_version", uint64(si.MinorVersion))
			d.bnum("system info", "", b, "build_number", uint64(si.BuildNumber))
			d.bnum("system info", "", b, "platform_id", uint64(si.Platform))
			d.bnum("system info", "", b, "suite_mask", uint64(si.SuiteMask))
			pf := si.ProcessorFeatures
			if _, ok := b.Fields["cpu.x86_cpu_info.vendor_id[0]"]; ok {
				d.bnum("system info", "", b, "cpu.x86_cpu_info.vendor_id[0]", pf[0]&0xffffffff)
				d.bnum("system info", "", b, "cpu.x86_cpu_info.vendor_id[1]", pf[0]>>32)
				d.bnum("system info", "", b, "cpu.x86_cpu_info.vendor_id[2]", pf[1]&0xffffffff)
				d.bnum("system info", "", b, "cpu.x86_cpu_info.version_information", uint64(si.CPUVersion))
				d.bnum("system info", "", b, "cpu.x86_cpu_info.feature_information", uint64(si.CPUFeatures))
				d.bnum("system info", "", b, "cpu.x86_cpu_info.amd_extended_cpu_features", uint64(si.AMDExtendedCPUFeatures))
			}
			if _, ok := b.Fields["cpu.other_cpu_info.processor_features[0]"]; ok {
				d.bnum("system info", "", b, "cpu.other_cpu_info.processor_features[0]", pf[0])
				d.bnum("system info", "", b, "cpu.other_cpu_info.processor_features[1]", pf[1])
			}
			if s, ok := b.str("(csd_version)"); ok {
				d.eq("system info", "CSD version", si.CSDVersion, s)
				d.eq("system info", "CSD error", err, nil)
			}
			if s, ok := b.str("(cpu_vendor)"); ok {
				d.eq("system info", "CPU vendor", si.CPUVendor, s)
			}
		}
	}

	if l := bpKind(blocks, "MDRawMiscInfo"); len(l) == 1 {
		b := l[0]
		m, err := f.MiscInfo()
		d.eq("misc info", "error", err, nil)
		if m != nil {
			d.bnum("misc info", "", b, "size_of_info", uint64(m.SizeOfInfo))
			d.bnum("misc info", "", b, "flags1", uint64(m.Flags))
			opt := func(key string, got uint64) {
				if v, present := b.Fields[key]; present && v == "(invalid)" {
					d.eq("misc info", key+" (invalid for Breakpad)", got, 0)
				} else if present {
					d.bnum("misc info", "", b, key, got)
				}
			}
			opt("process_id", uint64(m.ProcessID))
			if m.HasProcessTimes {
				opt("process_create_time", uint64(m.ProcessCreateTime.Unix()))
			} else {
				opt("process_create_time", 0)
			}
			opt("process_user_time", uint64(m.ProcessUserTime/time.Second))
			opt("process_kernel_time", uint64(m.ProcessKernelTime/time.Second))
			opt("processor_max_mhz", uint64(m.ProcessorMaxMhz))
			opt("processor_current_mhz", uint64(m.ProcessorCurrentMhz))
			opt("processor_mhz_limit", uint64(m.ProcessorMhzLimit))
			opt("processor_max_idle_state", uint64(m.ProcessorMaxIdleState))
			opt("processor_current_idle_state", uint64(m.ProcessorCurrentIdleState))
			opt("process_integrity_level", uint64(m.ProcessIntegrityLevel))
			opt("process_execute_flags", uint64(m.ProcessExecuteFlags))
			opt("protected_process", uint64(m.ProtectedProcess))
			opt("time_zone_id", uint64(m.TimeZoneID))
			opt("time_zone.bias", uint64(int64(m.TimeZoneBias)))
			opt("process_cookie", uint64(m.ProcessCookie))
			for key, got := range map[string]string{"time_zone.standard_name": m.TimeZoneStandardName,
				"time_zone.daylight_name": m.TimeZoneDaylightName, "build_string": m.BuildString, "dbg_bld_str": m.DbgBldStr} {
				if v, present := b.Fields[key]; present && v != "(invalid)" {
					d.eq("misc info", key, got, v)
				} else if present {
					d.eq("misc info", key+" (invalid for Breakpad)", got, "")
				}
			}
		}
	}

	if l := bpKind(blocks, "MDRawBreakpadInfo"); len(l) == 1 {
		bi, err := f.BreakpadInfo()
		d.eq("breakpad info", "error", err, nil)
		if bi != nil {
			d.bnum("breakpad info", "", l[0], "validity", uint64(bi.Validity))
			if bi.Validity&1 != 0 {
				d.bnum("breakpad info", "", l[0], "dump_thread_id", uint64(bi.DumpThreadID))
			}
			if bi.Validity&2 != 0 {
				d.bnum("breakpad info", "", l[0], "requesting_thread_id", uint64(bi.RequestingThreadID))
			}
		}
	}

	if l := bpKind(blocks, "MDRawThreadName"); len(l) > 0 {
		names, err := f.ThreadNames()
		d.eq("thread names", "error", err, nil)
		d.eq("thread names", "count", len(names), len(l))
		for i, b := range l {
			if i < len(names) {
				d.bnum("thread names", fmt.Sprint(i), b, "thread_id", uint64(names[i].ThreadID))
				want, _ := b.str("thread_name")
				d.eq("thread names", fmt.Sprint(i), names[i].Name, want)
			}
		}
	}

	if l := bpKind(blocks, "MinidumpMemoryInfoList"); len(l) == 1 {
		info, err := f.MemoryInfo()
		d.eq("memory info", "error", err, nil)
		d.bnum("memory info", "", l[0], "info_count", uint64(len(info)))
		for i, b := range bpKind(blocks, "MDRawMemoryInfo") {
			if i >= len(info) {
				break
			}
			r, w := info[i], fmt.Sprintf("region %d", i)
			d.bnum("memory info", w, b, "base_address", r.BaseAddress)
			d.bnum("memory info", w, b, "allocation_base", r.AllocationBase)
			d.bnum("memory info", w, b, "allocation_protection", uint64(r.AllocationProtect))
			d.bnum("memory info", w, b, "region_size", r.RegionSize)
			d.bnum("memory info", w, b, "state", uint64(r.State))
			d.bnum("memory info", w, b, "protection", uint64(r.Protect))
			d.bnum("memory info", w, b, "type", uint64(r.Type))
		}
	}

	if l := bpKind(blocks, "MDRawCrashpadInfo"); len(l) == 1 {
		b := l[0]
		ci, err := f.CrashpadInfo()
		d.eq("crashpad info", "error", err, nil)
		if ci != nil {
			d.bnum("crashpad info", "", b, "version", uint64(ci.Version))
			d.eq("crashpad info", "report_id", guidLower(ci.ReportID), b.Fields["report_id"])
			d.eq("crashpad info", "client_id", guidLower(ci.ClientID), b.Fields["client_id"])
			want := map[string]string{}
			for k, v := range b.Fields {
				if key, ok := strings.CutPrefix(k, `simple_annotations["`); ok {
					want[strings.TrimSuffix(key, `"]`)] = v
				}
			}
			d.eq("crashpad info", "annotation count", len(ci.SimpleAnnotations), len(want))
			for k, v := range want {
				d.eq("crashpad info", "annotation "+k, ci.SimpleAnnotations[k], v)
			}
		}
	}
}

func compareBreakpadModule(d *diffs, m *minidump.Module, data []byte, b *bpBlock, w string) {
	d.tb.Helper()
	d.bnum("modules", w, b, "base_of_image", m.Base)
	d.bnum("modules", w, b, "size_of_image", uint64(m.Size))
	d.bnum("modules", w, b, "checksum", uint64(m.Checksum))
	d.bnum("modules", w, b, "time_date_stamp", uint64(m.TimeDateStamp))
	v := m.Version
	d.bnum("modules", w, b, "version_info.signature", uint64(v.Signature))
	d.bnum("modules", w, b, "version_info.struct_version", uint64(v.StrucVersion))
	d.eq("modules", w+" file_version", fmt.Sprintf("%#x:%#x", v.FileVersionMS, v.FileVersionLS), b.Fields["version_info.file_version"])
	d.eq("modules", w+" product_version", fmt.Sprintf("%#x:%#x", v.ProductVersionMS, v.ProductVersionLS), b.Fields["version_info.product_version"])
	d.bnum("modules", w, b, "version_info.file_flags_mask", uint64(v.FileFlagsMask))
	d.bnum("modules", w, b, "version_info.file_flags", uint64(v.FileFlags))
	d.bnum("modules", w, b, "version_info.file_os", uint64(v.FileOS))
	d.bnum("modules", w, b, "version_info.file_type", uint64(v.FileType))
	d.bnum("modules", w, b, "version_info.file_subtype", uint64(v.FileSubtype))
	d.eq("modules", w+" file_date", fmt.Sprintf("%#x:%#x", v.FileDateMS, v.FileDateLS), b.Fields["version_info.file_date"])
	d.bnum("modules", w, b, "cv_record.data_size", uint64(m.CvRecord.Size))
	d.bnum("modules", w, b, "cv_record.rva", uint64(m.CvRecord.RVA))
	d.bnum("modules", w, b, "misc_record.data_size", uint64(m.MiscRecord.Size))
	d.bnum("modules", w, b, "misc_record.rva", uint64(m.MiscRecord.RVA))
	name, _ := b.str("(code_file)")
	d.eq("modules", w+" name", m.Name, name)
	if ver, ok := b.str("(version)"); ok {
		d.eq("modules", w+" version", m.Version.FileVersion(), ver)
	}
	sig, ok := b.num("(cv_record).cv_signature")
	if !ok {
		if b.Fields["(cv_record)"] == "(null)" && m.CodeView != nil && m.CodeView.Signature == "RSDS" &&
			m.CvRecord.Size > 24 && data[m.CvRecord.RVA+m.CvRecord.Size-1] != 0 {
			// Breakpad rejects an RSDS record whose PDB name has no terminating NUL
			// ("CodeView7 record string is not 0-terminated"); its GUID and age are
			// intact, and LLDB, whose tests made these records, reads them as we do.
			d.note("unterminated RSDS", "%s: peer dropped the CodeView record, ours %s", w, m.CodeView.Identifier())
			return
		}
		d.eq("modules", w+" has CodeView", m.CodeView != nil, false)
		return
	}
	cv := m.CodeView
	if cv == nil {
		d.errorf("modules", "%s: peer decoded a CodeView record, we did not", w)
		return
	}
	switch sig {
	case minidump.CVSignatureRSDS:
		d.eq("codeview", w+" signature", cv.Signature, "RSDS")
		d.eq("codeview", w+" GUID", guidLower(cv.GUID), b.Fields["(cv_record).signature"])
		d.bnum("codeview", w, b, "(cv_record).age", uint64(cv.Age))
		pdb, _ := b.str("(cv_record).pdb_file_name")
		d.eq("codeview", w+" pdb", cv.PDBPath, pdb)
		id, _ := b.str("(debug_identifier)")
		d.eq("codeview", w+" identifier", cv.Identifier(), id)
	case minidump.CVSignatureNB10:
		d.eq("codeview", w+" signature", cv.Signature, "NB10")
		d.bnum("codeview", w, b, "(cv_record).signature", uint64(cv.Timestamp))
		d.bnum("codeview", w, b, "(cv_record).age", uint64(cv.Age))
		pdb, _ := b.str("(cv_record).pdb_file_name")
		d.eq("codeview", w+" pdb", cv.PDBPath, pdb)
	case minidump.CVSignatureBpEL:
		d.eq("codeview", w+" signature", cv.Signature, "BpEL")
		d.eq("codeview", w+" build id", fmt.Sprintf("%x", cv.BuildID), b.Fields["(cv_record).build_id"])
	default:
		// A signature we do not know: Breakpad must not have decoded it either.
		d.eq("codeview", w+" signature", cv.Signature, fmt.Sprintf("%08x", sig))
		for _, k := range []string{"(cv_record).build_id", "(cv_record).pdb_file_name", "(cv_record).age"} {
			if v, ok := b.Fields[k]; ok {
				d.errorf("codeview", "%s: peer decoded %s = %s from signature %#x, we did not", w, k, v, sig)
			}
		}
	}
}

// compareObj2yaml checks what obj2yaml printed against package minidump.
func compareObj2yaml(d *diffs, f *minidump.File, data []byte, root *ynode) {
	d.tb.Helper()
	streams := root.get("Streams")
	if streams == nil {
		d.errorf("yaml", "no Streams")
		return
	}
	d.eq("directory", "entries", len(streams.List), len(f.Streams))
	at := func(loc minidump.Location) string {
		if int64(loc.RVA)+int64(loc.Size) > int64(len(data)) {
			return "(past EOF)"
		}
		return fmt.Sprintf("%x", data[loc.RVA:loc.RVA+loc.Size])
	}
	hexOf := func(b []byte) string { return fmt.Sprintf("%x", b) }
	mem, _ := f.Memory()
	for si, s := range streams.List {
		typ, _ := s.str("Type")
		if content, ok := s.str("Content"); ok && si < len(f.Streams) {
			// A stream obj2yaml shows raw: its bytes are where our directory says.
			st := f.Streams[si]
			d.eq("raw streams", fmt.Sprintf("stream %d (%s)", si, typ), hexOf(data[st.Offset:st.Offset+st.Size]),
				strings.ToLower(strings.Trim(content, "'")))
		}
		switch typ {
		case "ModuleList":
			mods, err := f.Modules()
			d.eq("modules", "error", err, nil)
			list := s.get("Modules")
			if list == nil {
				break
			}
			d.eq("modules", "count", len(mods), len(list.List))
			for i, y := range list.List {
				if i >= len(mods) {
					break
				}
				m, w := mods[i], fmt.Sprintf("module %d", i)
				d.eq("modules", w+" base", m.Base, y.num(0, "Base of Image"))
				d.eq("modules", w+" size", uint64(m.Size), y.num(0, "Size of Image"))
				d.eq("modules", w+" checksum", uint64(m.Checksum), y.num(0, "Checksum"))
				d.eq("modules", w+" time", uint64(m.TimeDateStamp), y.num(0, "Time Date Stamp"))
				name, _ := y.str("Module Name")
				d.eq("modules", w+" name", m.Name, name)
				v := m.Version
				for key, got := range map[string]uint32{"Signature": v.Signature, "Struct Version": v.StrucVersion,
					"File Version High": v.FileVersionMS, "File Version Low": v.FileVersionLS,
					"Product Version High": v.ProductVersionMS, "Product Version Low": v.ProductVersionLS,
					"File Flags Mask": v.FileFlagsMask, "File Flags": v.FileFlags, "File OS": v.FileOS,
					"File Type": v.FileType, "File Subtype": v.FileSubtype, "File Date High": v.FileDateMS, "File Date Low": v.FileDateLS} {
					d.eq("modules", w+" "+key, uint64(got), y.num(0, "Version Info", key))
				}
				cvBytes := y.bytes("CodeView Record")
				d.eq("codeview", w+" record bytes", at(m.CvRecord), hexOf(cvBytes))
				if len(cvBytes) > 0 {
					cv, err := minidump.ParseCodeView(cvBytes)
					if err == nil && m.CodeView != nil {
						d.eq("codeview", w+" decoded", fmt.Sprintf("%+v", *m.CodeView), fmt.Sprintf("%+v", *cv))
					}
				}
				d.eq("modules", w+" misc record bytes", at(m.MiscRecord), hexOf(y.bytes("Misc Record")))
			}
		case "MemoryInfoList":
			info, err := f.MemoryInfo()
			d.eq("memory info", "error", err, nil)
			list := s.get("Memory Ranges")
			if list == nil {
				break
			}
			d.eq("memory info", "count", len(info), len(list.List))
			for i, y := range list.List {
				if i >= len(info) {
					break
				}
				r, w := info[i], fmt.Sprintf("region %d", i)
				base := y.num(0, "Base Address")
				d.eq("memory info", w+" base", r.BaseAddress, base)
				d.eq("memory info", w+" allocation base", r.AllocationBase, y.num(base, "Allocation Base"))
				d.eq("memory info", w+" size", r.RegionSize, y.num(0, "Region Size"))
				ap, ok1 := flags(y.Map["Allocation Protect"].scalar(), yamlProtect)
				p, ok2 := ap, true
				if y.get("Protect") != nil {
					p, ok2 = flags(y.Map["Protect"].scalar(), yamlProtect)
				}
				st, ok3 := flags(y.Map["State"].scalar(), yamlState)
				ty, ok4 := flags(y.Map["Type"].scalar(), yamlType)
				if !(ok1 && ok2 && ok3 && ok4) {
					d.errorf("memory info", "%s: unknown flag names", w)
					continue
				}
				// obj2yaml drops bits it has no name for.
				d.eq("memory info", w+" allocation protect", uint32(r.AllocationProtect)&mask(yamlProtect), ap)
				d.eq("memory info", w+" protect", uint32(r.Protect)&mask(yamlProtect), p)
				d.eq("memory info", w+" state", uint32(r.State)&mask(yamlState), st)
				d.eq("memory info", w+" type", uint32(r.Type)&mask(yamlType), ty)
			}
		case "ThreadList":
			threads, err := f.Threads()
			d.eq("threads", "error", err, nil)
			list := s.get("Threads")
			if list == nil {
				break
			}
			d.eq("threads", "count", len(threads), len(list.List))
			for i, y := range list.List {
				if i >= len(threads) {
					break
				}
				th, w := threads[i], fmt.Sprintf("thread %d", i)
				d.eq("threads", w+" id", uint64(th.ID), y.num(0, "Thread Id"))
				d.eq("threads", w+" suspend count", uint64(th.SuspendCount), y.num(0, "Suspend Count"))
				d.eq("threads", w+" priority class", uint64(th.PriorityClass), y.num(0, "Priority Class"))
				d.eq("threads", w+" priority", uint64(th.Priority), y.num(0, "Priority"))
				d.eq("threads", w+" TEB", th.TEB, y.num(0, "Environment Block"))
				d.eq("threads", w+" context bytes", at(th.Context), hexOf(y.bytes("Context")))
				d.eq("threads", w+" stack start", th.Stack.Start, y.num(0, "Stack", "Start of Memory Range"))
				stack := y.bytes("Stack", "Content")
				d.eq("threads", w+" stack bytes", at(th.Stack.Data), hexOf(stack))
				// A stack RVA of 0 (writers that put stacks only in the MemoryList)
				// makes obj2yaml print the file header as the stack; skip those.
				if len(stack) > 0 && th.Stack.Data.RVA != 0 && mem.Contains(th.Stack.Start, uint64(len(stack))) {
					got, _ := mem.Read(th.Stack.Start, len(stack))
					d.eq("stack memory", w, hexOf(got), hexOf(stack))
				}
			}
		case "MemoryList":
			ranges, err := f.MemoryList()
			d.eq("memory list", "error", err, nil)
			list := s.get("Memory Ranges")
			if list == nil {
				break
			}
			d.eq("memory list", "count", len(ranges), len(list.List))
			for i, y := range list.List {
				if i >= len(ranges) {
					break
				}
				r, w := ranges[i], fmt.Sprintf("range %d", i)
				content := y.bytes("Content")
				d.eq("memory list", w+" start", r.Start, y.num(0, "Start of Memory Range"))
				d.eq("memory list", w+" size", r.Size, uint64(len(content)))
				d.eq("memory bytes", w, hexOf(data[r.Offset:r.Offset+int64(r.Available)]), hexOf(content))
			}
		case "Exception":
			e, err := f.Exception()
			d.eq("exception", "error", err, nil)
			if e == nil {
				break
			}
			d.eq("exception", "thread", uint64(e.ThreadID), s.num(0, "Thread ID"))
			d.eq("exception", "code", uint64(e.Code), s.num(0, "Exception Record", "Exception Code"))
			d.eq("exception", "flags", uint64(e.Flags), s.num(0, "Exception Record", "Exception Flags"))
			d.eq("exception", "record", e.Record, s.num(0, "Exception Record", "Exception Record"))
			d.eq("exception", "address", e.Address, s.num(0, "Exception Record", "Exception Address"))
			d.eq("exception", "parameters", uint64(len(e.Parameters)), s.num(0, "Exception Record", "Number of Parameters"))
			for i, p := range e.Parameters {
				d.eq("exception", fmt.Sprintf("parameter %d", i), p, s.num(0, "Exception Record", fmt.Sprintf("Parameter %d", i)))
			}
			d.eq("exception", "context bytes", at(e.Context), hexOf(s.bytes("Thread Context")))
		case "SystemInfo":
			si, err := f.SystemInfo()
			d.eq("system info", "error", err, nil)
			if si == nil {
				break
			}
			arch, _ := s.str("Processor Arch")
			archs := map[string]minidump.Arch{"X86": minidump.ArchX86, "AMD64": minidump.ArchAMD64, "ARM": minidump.ArchARM,
				"ARM64": minidump.ArchARM64, "BP_ARM64": minidump.ArchARM64Old}
			if a, ok := archs[arch]; ok {
				d.eq("system info", "arch", si.Arch, a)
			} else {
				d.eq("system info", "arch", uint64(si.Arch), s.num(0, "Processor Arch"))
			}
			plat, _ := s.str("Platform ID")
			plats := map[string]minidump.Platform{"Win32NT": minidump.PlatformWindows, "Linux": minidump.PlatformLinux,
				"MacOSX": minidump.PlatformMacOS, "IOS": minidump.PlatformIOS, "Android": minidump.PlatformAndroid}
			if p, ok := plats[plat]; ok {
				d.eq("system info", "platform", si.Platform, p)
			} else {
				d.eq("system info", "platform", uint64(si.Platform), s.num(0, "Platform ID"))
			}
			d.eq("system info", "level", uint64(si.ProcessorLevel), s.num(0, "Processor Level"))
			d.eq("system info", "revision", uint64(si.ProcessorRevision), s.num(0, "Processor Revision"))
			d.eq("system info", "processors", uint64(si.NumberOfProcessors), s.num(0, "Number of Processors"))
			d.eq("system info", "product type", uint64(si.ProductType), s.num(0, "Product type"))
			d.eq("system info", "major", uint64(si.MajorVersion), s.num(0, "Major Version"))
			d.eq("system info", "minor", uint64(si.MinorVersion), s.num(0, "Minor Version"))
			d.eq("system info", "build", uint64(si.BuildNumber), s.num(0, "Build Number"))
			d.eq("system info", "suite mask", uint64(si.SuiteMask), s.num(0, "Suite Mask"))
			csd, _ := s.str("CSD Version")
			d.eq("system info", "CSD version", si.CSDVersion, csd)
			pf := si.ProcessorFeatures
			switch {
			case s.get("CPU", "Vendor ID") != nil:
				if v, _ := s.str("CPU", "Vendor ID"); isPrintable(v) {
					d.eq("system info", "vendor", si.CPUVendor, v)
				}
				d.eq("system info", "version info", uint64(si.CPUVersion), s.num(0, "CPU", "Version Info"))
				d.eq("system info", "feature info", uint64(si.CPUFeatures), s.num(0, "CPU", "Feature Info"))
				d.eq("system info", "AMD features", uint64(si.AMDExtendedCPUFeatures), s.num(0, "CPU", "AMD Extended Features"))
			case s.get("CPU", "CPUID") != nil:
				d.eq("system info", "CPUID", pf[0]&0xffffffff, s.num(0, "CPU", "CPUID"))
				d.eq("system info", "ELF hwcaps", pf[0]>>32, s.num(0, "CPU", "ELF hwcaps"))
			}
		}
	}
}

func (n *ynode) scalar() string {
	if n == nil {
		return ""
	}
	return n.Scalar
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return s != ""
}

// runPeer runs one peer through shared/peers/run-peer.sh and returns its stdout.
func runPeer(tb testing.TB, peer, file string) (string, error) {
	tb.Helper()
	script := filepath.Join(sharedDir(), "peers", "run-peer.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, peer, file)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return out.String(), err
}

// requirePeers skips unless the peers are installed and runnable.
func requirePeers(tb testing.TB) {
	tb.Helper()
	home := peersHome(tb)
	if sharedDir() == "" {
		tb.Skip("shared/peers not found")
	}
	bp := filepath.Join(home, "node", "node_modules", "minidump", "bin", "linux-x64", "minidump_dump")
	if _, err := os.Stat(bp); err != nil {
		tb.Skipf("Breakpad's minidump_dump not built (%v)", err)
	}
	if _, err := exec.LookPath("obj2yaml"); err != nil {
		tb.Skip("obj2yaml not installed")
	}
}

// TestBreakpadOracle compares minidump2.dmp with the output Breakpad's own test suite
// expects of minidump_dump for it (corpus breakpad/minidump2.dump.out): header,
// directory, threads and their stacks, modules with CodeView records, memory list with
// the bytes, exception, system info, misc info and Breakpad info, field by field.
func TestBreakpadOracle(t *testing.T) {
	dir := corpusDir(t)
	out, err := os.ReadFile(filepath.Join(dir, "breakpad", "minidump2.dump.out"))
	if err != nil {
		t.Skip(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "breakpad", "minidump2.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	f := parse(t, data)
	d := newDiffs(t, "breakpad/minidump2.dmp", "minidump2.dump.out")
	blocks := parseBreakpadDump(string(out))
	compareBreakpad(d, f, data, blocks)
	// The oracle must really have been compared: count what was checked.
	for kind, min := range map[string]int{"header": 7, "directory": 27, "threads": 21, "stack memory": 6, "modules": 13 * 20,
		"codeview": 13 * 5, "memory list": 10, "memory bytes": 6, "exception": 11, "system info": 19, "misc info": 7,
		"breakpad info": 4} {
		if d.checked[kind] < min {
			t.Errorf("only %d %s values compared, want at least %d", d.checked[kind], kind, min)
		}
	}
	t.Logf("compared %v", d.checked)
}

// peerJobs runs fn on every corpus dump that we read without damage, two at a time.
func forRealDumps(t *testing.T, fn func(t *testing.T, rel, path string, f *minidump.File, data []byte)) {
	root, rels := corpusDumps(t)
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	t.Run("dumps", func(t *testing.T) {
		for _, rel := range rels {
			if _, bad := malformed[rel]; bad {
				continue
			}
			if _, nm := notMinidump[rel]; nm || openFails[rel] != "" {
				continue
			}
			rel := rel
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				path := filepath.Join(root, rel)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				fn(t, rel, path, parse(t, data), data)
			})
		}
	})
	wg.Wait()
}

// TestPeerBreakpad compares every real dump in the corpus with what the live
// minidump_dump prints for it.
func TestPeerBreakpad(t *testing.T) {
	requirePeers(t)
	var mu sync.Mutex
	compared := map[string]map[string]int{}
	forRealDumps(t, func(t *testing.T, rel, path string, f *minidump.File, data []byte) {
		out, _ := runPeer(t, "breakpad-dump", path) // exits 1 whenever any stream is absent
		blocks := parseBreakpadDump(out)
		if len(bpKind(blocks, "MDRawHeader")) != 1 {
			t.Fatalf("minidump_dump printed no header:\n%.500s", out)
		}
		d := newDiffs(t, rel, "minidump_dump")
		compareBreakpad(d, f, data, blocks)
		mu.Lock()
		compared[rel] = d.checked
		mu.Unlock()
	})
	// Every Windows dump's module list and region map must have been compared.
	for rel, c := range compared {
		if windowsDump(t, rel) && c["modules"] == 0 {
			t.Errorf("%s: no module compared with minidump_dump", rel)
		}
	}
}

// TestPeerObj2yaml compares every real dump with what obj2yaml prints for it.
func TestPeerObj2yaml(t *testing.T) {
	requirePeers(t)
	var mu sync.Mutex
	compared := map[string]map[string]int{}
	forRealDumps(t, func(t *testing.T, rel, path string, f *minidump.File, data []byte) {
		out, err := runPeer(t, "obj2yaml", path)
		if err != nil {
			t.Fatalf("obj2yaml: %v", err)
		}
		d := newDiffs(t, rel, "obj2yaml")
		compareObj2yaml(d, f, data, parseYAML(out))
		mu.Lock()
		compared[rel] = d.checked
		mu.Unlock()
	})
	for rel, c := range compared {
		if windowsDump(t, rel) && c["modules"] == 0 {
			t.Errorf("%s: no module compared with obj2yaml", rel)
		}
	}
}

// windowsDump reports whether a corpus dump is of a Windows process.
func windowsDump(t *testing.T, rel string) bool {
	f, err := minidump.Open(filepath.Join(corpusDir(t), rel))
	if err != nil {
		return false
	}
	defer f.Close()
	si, err := f.SystemInfo()
	return err == nil && si.Platform == minidump.PlatformWindows && f.HasStream(minidump.StreamModuleList)
}
