package minidump_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// FuzzParseContext decodes arbitrary records under every architecture. Seeds: the
// thread and exception contexts of the corpus dumps (one per layout and writer).
func FuzzParseContext(f *testing.F) {
	if dir := corpusDirOrEmpty(); dir != "" {
		for _, rel := range []string{"breakpad/minidump2.dmp", "breakpad/tiny-exe-with-cet-xsave.dmp",
			"mozilla-pgo/android-aarch64.dmp", "mozilla-pgo/android-arm.dmp", "rust-minidump/linux-mini.dmp",
			"yaml2obj/lldb__arm64-macos.llvm19.dmp", "mozilla-pgo/linux-x86.dmp"} {
			addContextSeeds(f, filepath.Join(dir, rel))
		}
	}
	for _, arch := range []minidump.Arch{minidump.ArchX86, minidump.ArchAMD64, minidump.ArchARM, minidump.ArchARM64, minidump.ArchARM64Old} {
		b, _ := minidump.NewContext(arch).MarshalBinary()
		f.Add(b, uint16(arch))
	}
	f.Fuzz(func(t *testing.T, data []byte, arch uint16) {
		c, err := minidump.ParseContext(data, minidump.Arch(arch))
		if err != nil {
			return
		}
		c.PC()
		c.SP()
		c.FP()
		for _, r := range c.Registers() {
			if v, ok := c.Reg(r.Name); !ok || v != r.Value {
				t.Fatalf("Reg(%q) = %#x %v, Registers says %#x", r.Name, v, ok, r.Value)
			}
		}
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		d, err := minidump.ParseContext(b, c.Arch)
		if err != nil {
			t.Fatalf("re-encoded context does not decode: %v", err)
		}
		if d.PC() != c.PC() || d.SP() != c.SP() {
			t.Fatalf("round trip changed pc/sp")
		}
	})
}

func addContextSeeds(f *testing.F, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	md := parse(f, data)
	si, err := md.SystemInfo()
	if err != nil {
		return
	}
	threads, _ := md.Threads()
	for i, th := range threads {
		if i == 2 {
			break
		}
		loc := th.Context
		if int(loc.RVA)+int(loc.Size) <= len(data) && loc.Size > 0 {
			f.Add(data[loc.RVA:loc.RVA+loc.Size], uint16(si.Arch))
		}
	}
}

// corpusDirOrEmpty returns the corpus directory or "".
func corpusDirOrEmpty() string {
	d := sharedDir()
	if d == "" {
		return ""
	}
	return filepath.Join(d, "corpus")
}
