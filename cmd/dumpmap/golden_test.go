package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/golden"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// A goldenCase is one dump and the commands whose output is kept as golden files.
// The goldens pin the exact text and JSON; TestAgainstBreakpad checks the same
// commands' facts against Breakpad's minidump_dump, so the goldens are not only our
// own word.
type goldenCase struct {
	name   string
	corpus string // path under the corpus, or "" for a builder dump
	build  func() []byte
	read   string   // ADDR for the read command
	extra  []string // extra variants: "modules --unloaded", "modules --long", "threads --long"
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{name: "synthetic-x64", build: func() []byte { return syntheticX64().Bytes() }, read: "seed.exe+0x10",
			extra: []string{"modules --long", "threads --long"}},
		{name: "synthetic-wow64-x86", build: syntheticWOW64, read: "0x00190000"},
		{name: "minidump2", corpus: "breakpad/minidump2.dmp", read: "0x0012fff0", extra: []string{"modules --long"}},
		{name: "tiny-exe-with-cet-xsave", corpus: "breakpad/tiny-exe-with-cet-xsave.dmp", read: "0x000000cbc80b8f80",
			extra: []string{"modules --unloaded"}},
		{name: "fizzbuzz_no_heap", corpus: "lldb/fizzbuzz_no_heap.dmp", read: "0x00164c94", extra: []string{"threads --long"}},
		{name: "thread_name_list", corpus: "breakpad/thread_name_list.dmp", read: "0x0061fcd8"},
		{name: "linux_inline", corpus: "breakpad/linux_inline.dmp", read: "00007fff`1669d120"},
		{name: "rizin-truncated-wow64", corpus: "rizin-testbins/crash-0a4b90615b8dd830e86ef1c4e5e80ea9", read: "hello"},
		{name: "invalid-range", corpus: "rust-minidump/invalid-range.dmp", read: "0x1000"},
	}
}

// syntheticWOW64 is a 32-bit dump of a WOW64 process with no MemoryInfoList and no
// exception: the overview must say so.
func syntheticWOW64() []byte {
	b := minidumptest.New().
		SystemInfo(minidumptest.SystemInfo{Arch: minidump.ArchX86, Platform: minidump.PlatformWindows, Major: 10, Build: 19045,
			ProductType: 1, NumberOfProcessors: 8, CPUVendor: "AuthenticAMD"}).
		Module(minidumptest.Module{Base: 0x00400000, Size: 0x9000, Name: `C:\Tools\legacy.exe`, Version: [4]uint16{2, 0, 0, 17}}).
		Module(minidumptest.Module{Base: 0x77a00000, Size: 0x1a4000, Name: `C:\Windows\SysWOW64\ntdll.dll`, Version: [4]uint16{10, 0, 19041, 3636}}).
		Module(minidumptest.Module{Base: 0x76f00000, Size: 0xf0000, Name: `C:\Windows\SysWOW64\KERNEL32.DLL`}).
		Thread(minidumptest.Thread{ID: 900, TEB: 0x00231000, StackStart: 0x0018ff00, Stack: bytes.Repeat([]byte{0x11, 0x22}, 0x80)}).
		Memory(0x0018ff00, bytes.Repeat([]byte{0x11, 0x22}, 0x80)).
		Memory(0x00190000, []byte("adjacent range continues here")).
		MiscInfo(1, 1234, 0x60000000)
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	corpus := corpusDirOrEmpty(t)
	tmp := t.TempDir()
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			var path string
			if gc.corpus != "" {
				if corpus == "" {
					t.Skip("corpus not found")
				}
				path = filepath.Join(corpus, gc.corpus)
			} else {
				path = filepath.Join(tmp, gc.name+".dmp")
				if err := os.WriteFile(path, gc.build(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			variants := []string{"info", "streams", "modules", "threads", "memory", "read " + gc.read + " 64"}
			variants = append(variants, gc.extra...)
			seen := map[string]bool{}
			for _, v := range variants {
				if seen[v] {
					continue
				}
				seen[v] = true
				for _, js := range []bool{false, true} {
					fields := strings.Fields(v)
					args := append([]string{fields[0]}, fields[1:]...)
					args = append(args[:1], append([]string{path}, args[1:]...)...)
					// Flags go after FILE here on purpose: GNU-style interspersed flags.
					if js {
						args = append(args, "--json")
					}
					out, errOut, code := runCLI(args...)
					got := normalize(out, corpus, tmp)
					ext := ".txt"
					if js {
						ext = ".json"
					}
					// JSON goldens hold the JSON alone (warnings are inside it); an
					// error leaves stdout empty and its message is kept instead.
					if (!js && errOut != "") || code != 0 {
						got += fmt.Sprintf("--- stderr (exit %d)\n%s", code, normalize(errOut, corpus, tmp))
					}
					name := gc.name + "." + safeName.ReplaceAllString(strings.ReplaceAll(strings.Join(fields, "_"), "-", ""), "_") + ext
					checkGolden(t, name, got)
				}
			}
		})
	}
}

var safeName = regexp.MustCompile(`[^A-Za-z0-9._+]`)

// normalize replaces the corpus and temporary directories, which differ from machine
// to machine, with $CORPUS and $TMP.
func normalize(s, corpus, tmp string) string {
	if corpus != "" {
		s = strings.ReplaceAll(s, corpus, "$CORPUS")
	}
	return strings.ReplaceAll(s, tmp, "$TMP")
}

// checkGolden compares got with testdata/golden/name (see package golden).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.CheckString(t, filepath.Join("testdata", "golden", name), got)
}
