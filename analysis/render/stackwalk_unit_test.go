package render

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/minidump"
)

// TestSWFloat: floats as serde_json 1.0.145 writes them through ryu 1.0.20 (the
// versions rust-minidump's Cargo.lock pins). The cases are ryu's own
// tests/d2s_test.rs check!() literals, which assert that formatting the value
// prints the literal back.
func TestSWFloat(t *testing.T) {
	for _, s := range []string{
		"0.3", "1234000000000000.0", "1.234e16", "2.71828", "1.1e128", "1.1e-64", "2.718281828459045",
		"5e-324", "1.7976931348623157e308", "0.0", "-0.0", "1.0", "-1.0", "2.2250738585072014e-308",
		"2.9802322387695312e-8", "-2.109808898695963e16", "4.940656e-318", "9060801153433600.0",
		"4.708356024711512e18", "1.2345678", "5.764607523034235e39", "1.8014398509481984e16",
		"9007199254740992.0", "1234567890123.0", "3.196104012172126e-27", "4.294967295",
	} {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := swFloat(f); got != s {
			t.Errorf("swFloat(%s) = %s", s, got)
		}
	}
}

// TestSWString: string escapes as serde_json's test_write_char (tests/test.rs)
// expects them, and its ESCAPE table (src/ser.rs): only ", \ and U+0000-U+001F.
func TestSWString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"n", `"n"`}, {`"`, `"\""`}, {`\`, `"\\"`}, {"/", `"/"`}, {"\x08", `"\b"`}, {"\x0c", `"\f"`},
		{"\n", `"\n"`}, {"\r", `"\r"`}, {"\t", `"\t"`}, {"\x0b", `"\u000b"`}, {"\u03a3", "\"\u03a3\""},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f\""}, {"<&>\u2028", "\"<&>\u2028\""}, {"a\xffb", "\"a\ufffdb\""},
	} {
		var b bytes.Buffer
		swString(&b, c.in)
		if b.String() != c.want {
			t.Errorf("swString(%q) = %s, want %s", c.in, b.String(), c.want)
		}
	}
}

// TestParseSoftErrors: the stream's JSON comes back as serde_json re-serialises
// a Value: keys sorted, integers as they are, floats in ryu's form; null for text
// that is not UTF-8 or not one JSON document, or nests deeper than serde_json's
// recursion limit of 128.
func TestParseSoftErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`[{"b":1,"a":[2.50,1e2,-0,18446744073709551615,-9223372036854775808]}]`, `[{"a":[2.5,100.0,-0.0,18446744073709551615,-9223372036854775808],"b":1}]`},
		{`{"k": "v"}  ` + "\n", `{"k":"v"}`},
		{`{"k": "v"} x`, `null`},
		{"\xff", `null`},
		{`[`, `null`},
		{strings.Repeat("[", 200) + strings.Repeat("]", 200), `null`},
		{strings.Repeat("[", 100) + strings.Repeat("]", 100), strings.Repeat("[", 99) + "[]" + strings.Repeat("]", 99)},
	} {
		var b bytes.Buffer
		swWrite(&b, parseSoftErrors([]byte(c.in)), false, 0)
		if b.String() != c.want {
			t.Errorf("parseSoftErrors(%.40q) = %s, want %s", c.in, b.String(), c.want)
		}
	}
}

// TestSWCrashReason: crash_info.type for exceptions of each platform, in the
// forms rust-minidump's CrashReason Display writes (minidump crate,
// src/minidump.rs); codes from winnt.h/ntstatus.h, Linux's siginfo.h and Apple's
// exception headers.
func TestSWCrashReason(t *testing.T) {
	for _, c := range []struct {
		os     swOS
		cpu    swCPU
		code   uint32
		flags  uint32
		params []uint64
		want   string
	}{
		{swOSWindows, swCPUX86, 0xc0000005, 0, []uint64{1, 0x45}, "EXCEPTION_ACCESS_VIOLATION_WRITE"},
		{swOSWindows, swCPUAMD64, 0xc0000005, 0, []uint64{8, 0x45}, "EXCEPTION_ACCESS_VIOLATION_EXEC"},
		{swOSWindows, swCPUAMD64, 0xc0000005, 0, []uint64{3, 0x45}, "EXCEPTION_ACCESS_VIOLATION"},
		{swOSWindows, swCPUAMD64, 0xc0000005, 0, nil, "EXCEPTION_ACCESS_VIOLATION"},
		{swOSWindows, swCPUAMD64, 0xc0000006, 0, []uint64{0, 0x1000, 0xc000009c}, "EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR"},
		{swOSWindows, swCPUAMD64, 0xc0000006, 0, []uint64{0, 0x1000, 0x12345678}, "EXCEPTION_IN_PAGE_ERROR_READ / 0x12345678"},
		{swOSWindows, swCPUAMD64, 0xc0000409, 0, []uint64{7}, "EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_FATAL_APP_EXIT"},
		{swOSWindows, swCPUAMD64, 0xc0000409, 0, []uint64{77}, "EXCEPTION_STACK_BUFFER_OVERRUN / 0x0000004d"},
		{swOSWindows, swCPUAMD64, 0xc0000409, 0, nil, "STATUS_STACK_BUFFER_OVERRUN"},
		{swOSWindows, swCPUAMD64, 0xe06d7363, 0, nil, "Unhandled C++ Exception"},
		{swOSWindows, swCPUAMD64, 0xe0000008, 0, nil, "Out of Memory"},
		{swOSWindows, swCPUAMD64, 0x80000003, 0, nil, "EXCEPTION_BREAKPOINT"},
		{swOSWindows, swCPUAMD64, 0xc000008c, 0, nil, "EXCEPTION_BOUNDS_EXCEEDED"},
		{swOSWindows, swCPUAMD64, 0xc0000374, 0, nil, "STATUS_HEAP_CORRUPTION"},
		{swOSWindows, swCPUAMD64, 5, 0, nil, "ERROR_ACCESS_DENIED"},
		{swOSWindows, swCPUAMD64, 0xc06d007e, 0, nil, "FACILITY_VISUALCPP / ERROR_MOD_NOT_FOUND"},
		{swOSWindows, swCPUAMD64, 0xe1234567, 0, nil, "unknown 0xe1234567"},
		{swOSLinux, swCPUAMD64, 11, 0, nil, "SIGSEGV"},
		{swOSLinux, swCPUAMD64, 11, 1, nil, "SIGSEGV / SEGV_MAPERR"},
		{swOSAndroid, swCPUARM, 11, 2, nil, "SIGSEGV / SEGV_ACCERR"},
		{swOSLinux, swCPUAMD64, 11, 0x80, nil, "SIGSEGV / SI_KERNEL"},
		{swOSLinux, swCPUAMD64, 6, 0xfffffffa, nil, "SIGABRT / SI_TKILL"},
		{swOSLinux, swCPUAMD64, 6, 0x1234, nil, "SIGABRT / 0x00001234"},
		{swOSLinux, swCPUAMD64, 8, 1, nil, "SIGFPE / FPE_INTDIV"},
		{swOSLinux, swCPUAMD64, 0xffffffff, 0, nil, "DUMP_REQUESTED"},
		{swOSLinux, swCPUAMD64, 64, 0, nil, "unknown 0x00000040 / 0x00000000"},
		{swOSMac, swCPUAMD64, 1, 1, nil, "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS"},
		{swOSMac, swCPUAMD64, 1, 13, nil, "EXC_BAD_ACCESS / EXC_I386_GPFLT"},
		{swOSMac, swCPUARM64, 1, 0x101, nil, "EXC_BAD_ACCESS / EXC_ARM_DA_ALIGN"},
		{swOSMac, swCPUARM, 1, 0x101, nil, "EXC_BAD_ACCESS / 0x00000101"},
		{swOSIOS, swCPUARM64, 6, 1, nil, "EXC_BREAKPOINT / EXC_ARM_BREAKPOINT"},
		{swOSMac, swCPUAMD64, 2, 1, nil, "EXC_BAD_INSTRUCTION / EXC_I386_INVOP"},
		{swOSMac, swCPUAMD64, 5, 0x10002, nil, "EXC_SOFTWARE / SIGABRT"},
		{swOSMac, swCPUAMD64, 0x43507378, 0, nil, "Simulated Exception"},
		{swOSMac, swCPUAMD64, 11, 3 << 29, []uint64{0, 1<<58 | 500, 0}, "EXC_RESOURCE / RESOURCE_TYPE_MEMORY / FLAVOR_HIGH_WATERMARK high watermark limit: 500MiB"},
		{swOSMac, swCPUAMD64, 11, 1 << 29, []uint64{0, 2<<58 | 60<<7 | 5, 3}, "EXC_RESOURCE / RESOURCE_TYPE_CPU / FLAVOR_CPU_MONITOR_FATAL interval: 60s CPU limit: 5% CPU consumed: 3%"},
		{swOSMac, swCPUAMD64, 12, 2 << 29, []uint64{0, 1<<32 | 7, 42}, "EXC_GUARD / GUARD_TYPE_FD / GUARD_EXC_CLOSE file descriptor: 7 guard identifier: 42"},
		{swOSMac, swCPUAMD64, 12, 3 << 29, []uint64{0, 9, 42}, "EXC_GUARD / GUARD_TYPE_USER/ namespace: 9 guard identifier: 42"},
		{swOSMac, swCPUAMD64, 12, 1 << 29, []uint64{0, 0x99 << 32, 1}, "EXC_GUARD / GUARD_TYPE_MACH_PORT / 0x0000009900000000 / 0x0000000000000001"},
		{swOSMac, swCPUAMD64, 10, 0, nil, "unknown 0x0000000a / 0x00000000"},
		{swOSUnknown, swCPUAMD64, 5, 7, nil, "unknown 0x00000005 / 0x00000007"},
	} {
		e := &minidump.Exception{Code: minidump.ExceptionCode(c.code), Flags: c.flags, Parameters: c.params}
		if got := swCrashReason(e, c.os, c.cpu); got != c.want {
			t.Errorf("%v %#x/%#x %v: %q, want %q", c.os, c.code, c.flags, c.params, got, c.want)
		}
	}
}

// TestSWLinuxStreams: the /proc and /etc texts as procfs-core and rust-minidump
// read them.
func TestSWLinuxStreams(t *testing.T) {
	maps := "00400000-0041a000 r-xp 00000000 fe:01 123  /bin/crash\n" +
		"7fff5aef1000-7fff5aef3000 r-xp 00000000 00:00 0                          [vdso]\n" +
		"Rss:  4 kB\nVmFlags: rd ex mr mw me\n" +
		"7fff5aef3000-7fff5aef4000 rw-p 00000000 00:00 0 \n"
	if m, ok := swMaps([]byte(maps)); !ok || len(m) != 3 || !m[1].x || m[1].w || !m[2].w {
		t.Errorf("swMaps = %+v, %v", m, ok)
	}
	for _, bad := range []string{
		"00400000-0041a000 r-xp 00000000 fe:01 123\n", // no path field: procfs needs the padding
		"00400000 r-xp 00000000 fe:01 123 x\n",
		"Rss: 4 kB\n", // an extension line before any mapping
		"00400000-0041a000 r-xp 00000000 fe:01 123 x\n\n00400000-0041a000 r-xp 00000000 fe:01 123 x\n",
		"00400000-0041a000 r-xp 00000000 fe:01 123 x\x00\n\x00",
	} {
		if _, ok := swMaps([]byte(bad)); ok {
			t.Errorf("swMaps(%q) accepted", bad)
		}
	}
	var b bytes.Buffer
	swWrite(&b, swLSB([]byte("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=16.04\nDISTRIB_CODENAME=xenial\nDISTRIB_DESCRIPTION=\"Ubuntu 16.04.3 LTS\"\nPRETTY_NAME=\"Other\"\n")), false, 0)
	if want := `{"codename":"xenial","description":"Other","id":"Ubuntu","release":"16.04"}`; b.String() != want {
		t.Errorf("swLSB = %s, want %s", b.String(), want)
	}
	b.Reset()
	swWrite(&b, swLimits([]byte("Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            1024                 4096                 files     \nMax bogus                 x                    y\n")), false, 0)
	if want := `{"limits":[{"hard":"unlimited","name":"Max cpu time","soft":"unlimited","unit":"seconds"},{"hard":4096,"name":"Max open files","soft":1024,"unit":"files"},{"hard":0,"name":"Max bogus","soft":0,"unit":"n/a"}]}`; b.String() != want {
		t.Errorf("swLimits = %s\nwant %s", b.String(), want)
	}
	if v := swMicrocode([]byte("processor : 0\nmicrocode\t: 0xB4\nmicrocode : 0x1\n")); v != "0xb4" {
		t.Errorf("swMicrocode = %v", v)
	}
	if pid, ok := swProcStatusPid([]byte("Name:\tcrash\nPid:\t1304\n")); !ok || pid != 1304 {
		t.Errorf("swProcStatusPid = %d, %v", pid, ok)
	}
}

// stackwalkSeeds are small corpus dumps of each platform and writer.
var stackwalkSeeds = []string{
	"rust-minidump/test.dmp", "rust-minidump/linux-mini.dmp", "breakpad/tiny-exe-fastfail.dmp",
	"symbolicator/macos-no-fp.dmp", "yaml2obj/lldb__arm-linux.llvm19.dmp", "breakpad/thread_name_list.dmp",
	"rust-minidump/invalid-parameter.dmp",
}

// FuzzStackwalk builds and writes the document for arbitrary dumps: it must not
// panic, and what it writes must be one JSON object. Seeds: small corpus dumps
// and the synthetic dump of rust-minidump's unloaded-modules test.
func FuzzStackwalk(f *testing.F) {
	f.Add(unloadedDump().Bytes())
	if dir, err := os.Getwd(); err == nil {
		for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			root := filepath.Join(dir, "shared", "corpus")
			if _, err := os.Stat(root); err == nil {
				for _, rel := range stackwalkSeeds {
					if b, err := os.ReadFile(filepath.Join(root, rel)); err == nil {
						f.Add(b)
					}
				}
				break
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang shows up as a crash with its input rather than as a stalled
		// fuzzer (a real run takes milliseconds).
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic("stackwalk: input took over 10 s")
			}
		}()
		md, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		p := process.New(md, process.Options{})
		defer p.Close()
		d, err := stack.ForProcess(context.Background(), p, stack.Options{MaxFrames: 256, MaxReads: 1 << 16})
		if err != nil {
			return
		}
		sw, err := NewStackwalk(context.Background(), p, d)
		if err != nil {
			return
		}
		for _, pretty := range []bool{false, true} {
			var b bytes.Buffer
			if err := sw.write(&b, pretty); err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal(b.Bytes(), &v); err != nil {
				t.Fatalf("not JSON (%v): %.300s", err, b.String())
			}
		}
	})
}

// BenchmarkStackwalk builds and writes the document for linux-mini.dmp and
// test.dmp, the dumps open, process and walk included.
func BenchmarkStackwalk(b *testing.B) {
	dir := rustMinidumpDir(b)
	var dumps [][]byte
	for _, n := range []string{"test.dmp", "linux-mini.dmp", "pipeline-inlines-macos-segv.dmp"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			b.Fatal(err)
		}
		dumps = append(dumps, data)
	}
	b.ResetTimer()
	for range b.N {
		for _, data := range dumps {
			md, err := minidump.New(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				b.Fatal(err)
			}
			p := process.New(md, process.Options{})
			d, err := stack.ForProcess(context.Background(), p, stack.Options{})
			if err != nil {
				b.Fatal(err)
			}
			sw, err := NewStackwalk(context.Background(), p, d)
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			sw.WriteJSON(&out)
			p.Close()
		}
	}
	b.ReportMetric(float64(b.N*len(dumps))/b.Elapsed().Seconds(), "dumps/s")
}
