package pe

import (
	"bufio"
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

const lld = "../testdata/lld"

// mapImage lays a PE file out the way the loader does (headers at 0, each
// section's raw data at its VirtualAddress, the rest zero), to test the
// mapped layout on real images.
func mapImage(t testing.TB, file []byte) []byte {
	t.Helper()
	f, err := New(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	img := make([]byte, f.SizeOfImage)
	copy(img, file[:f.SizeOfHeaders])
	for _, s := range f.Sections {
		raw := file[s.PointerToRawData : s.PointerToRawData+min(s.SizeOfRawData, max(s.VirtualSize, s.SizeOfRawData))]
		copy(img[s.VirtualAddress:], raw)
	}
	return img
}

type imageCase struct {
	name          string
	path          string // relative to the shared corpus when shared
	shared        bool
	machine       uint16
	timestamp     uint32
	imageBase     uint64
	sizeOfImage   uint32
	laa, is64     bool
	sections      string
	guid          string
	age           uint32
	pdbPath       string
	debugTypes    string
	exportDLLName string
}

var imageCases = []imageCase{
	{"crash.exe", "images/crash.exe", true, MachineI386, 0x5AB38077, 0x400000, 36864, false, false,
		".text@1000 .rdata@4000 .data@6000 .rsrc@7000 .reloc@8000",
		"{3249D99D-0C40-4931-8610-F4E4FB0B6936}", 1, `C:\projects\breakpad-tools\windows\Release\crash.pdb`, "", ""},
	{"CrashWithException.exe", "images/CrashWithException.exe", true, MachineAMD64, 0x5C9E0959, 0x140000000, 0x9000, true, true,
		"", "{F535C5FB-2AE8-4BB8-AA20-6C30BE566C5A}", 1, "", "", ""},
	{"fixture-x86.dll", lld + "/fixture-x86.dll", false, MachineI386, 0, 0x10000000, 0x5000, true, false,
		".text@1000 .rdata@2000 .data@3000 .reloc@4000", "{3622D5D7-2E97-DBF7-4C4C-44205044422E}", 1, "fixture-x86.pdb", "2 16", "fixture-x86.dll"},
	{"fixture-x64.dll", lld + "/fixture-x64.dll", false, MachineAMD64, 0, 0x180000000, 0x4000, true, true,
		"", "{65FE4835-2346-7225-4C4C-44205044422E}", 1, "fixture-x64.pdb", "2 16", "fixture-x64.dll"},
}

func (c imageCase) read(t *testing.T) []byte {
	t.Helper()
	p := c.path
	if c.shared {
		p = filepath.Join(sharedtest.Dir(t), p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImages checks headers, sections and the CodeView record of real
// images, opened both as files and as mapped images.
func TestImages(t *testing.T) {
	for _, c := range imageCases {
		t.Run(c.name, func(t *testing.T) {
			file := c.read(t)
			layouts := map[Layout][]byte{LayoutFile: file, LayoutMapped: mapImage(t, file)}
			for l, b := range layouts {
				var f *File
				var err error
				if l == LayoutFile {
					f, err = New(bytes.NewReader(b), int64(len(b)))
				} else {
					f, err = NewMapped(bytes.NewReader(b), int64(len(b)))
				}
				if err != nil {
					t.Fatalf("%v: %v", l, err)
				}
				if f.Machine != c.machine || f.ImageBase != c.imageBase || f.SizeOfImage != c.sizeOfImage ||
					f.LargeAddressAware() != c.laa || f.Is64() != c.is64 {
					t.Errorf("%v: headers %+v", l, f)
				}
				if c.timestamp != 0 && f.TimeDateStamp != c.timestamp {
					t.Errorf("%v: timestamp %#x, want %#x", l, f.TimeDateStamp, c.timestamp)
				}
				if c.sections != "" {
					var ss []string
					for _, s := range f.Sections {
						ss = append(ss, fmt.Sprintf("%s@%x", s.Name, s.VirtualAddress))
					}
					if got := strings.Join(ss, " "); got != c.sections {
						t.Errorf("%v: sections %q, want %q", l, got, c.sections)
					}
				}
				cv, err := f.CodeView()
				if err != nil {
					t.Fatalf("%v: CodeView: %v", l, err)
				}
				if cv.Signature != "RSDS" || cv.GUID.String() != c.guid || cv.Age != c.age || c.pdbPath != "" && cv.PDBPath != c.pdbPath {
					t.Errorf("%v: CodeView %+v", l, cv)
				}
				if c.debugTypes != "" {
					dd, err := f.DebugDirectory()
					if err != nil {
						t.Fatal(err)
					}
					var ts []string
					for _, e := range dd {
						ts = append(ts, fmt.Sprint(e.Type))
					}
					if got := strings.Join(ts, " "); got != c.debugTypes {
						t.Errorf("%v: debug types %q, want %q", l, got, c.debugTypes)
					}
				}
				exp, err := f.Exports()
				if err != nil {
					t.Fatalf("%v: exports: %v", l, err)
				}
				if c.exportDLLName == "" && exp != nil || c.exportDLLName != "" && (exp == nil || exp.Name != c.exportDLLName) {
					t.Errorf("%v: export directory %+v, want name %q", l, exp, c.exportDLLName)
				}
			}
		})
	}
}

// TestMatchesDebugPE compares the headers and sections with Go's debug/pe
// where the two overlap (the file layout only: debug/pe assumes it).
func TestMatchesDebugPE(t *testing.T) {
	for _, c := range imageCases {
		t.Run(c.name, func(t *testing.T) {
			b := c.read(t)
			f, err := New(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			g, err := pe.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if g.Machine != f.Machine || g.TimeDateStamp != f.TimeDateStamp || g.Characteristics != f.Characteristics || len(g.Sections) != len(f.Sections) {
				t.Fatalf("file header: debug/pe %+v, ours %+v", g.FileHeader, f)
			}
			var base uint64
			var soi, soh uint32
			var dirs []pe.DataDirectory
			switch oh := g.OptionalHeader.(type) {
			case *pe.OptionalHeader32:
				base, soi, soh, dirs = uint64(oh.ImageBase), oh.SizeOfImage, oh.SizeOfHeaders, oh.DataDirectory[:oh.NumberOfRvaAndSizes]
			case *pe.OptionalHeader64:
				base, soi, soh, dirs = oh.ImageBase, oh.SizeOfImage, oh.SizeOfHeaders, oh.DataDirectory[:oh.NumberOfRvaAndSizes]
			}
			if base != f.ImageBase || soi != f.SizeOfImage || soh != f.SizeOfHeaders || len(dirs) != len(f.DataDirectories) {
				t.Errorf("optional header differs from debug/pe")
			}
			for i, d := range dirs {
				if d.VirtualAddress != f.DataDirectories[i].VirtualAddress || d.Size != f.DataDirectories[i].Size {
					t.Errorf("data directory %d: debug/pe %+v, ours %+v", i, d, f.DataDirectories[i])
				}
			}
			for i, s := range g.Sections {
				o := f.Sections[i]
				if s.Name != o.Name || s.VirtualAddress != o.VirtualAddress || s.VirtualSize != o.VirtualSize ||
					s.Size != o.SizeOfRawData || s.Offset != o.PointerToRawData || s.Characteristics != o.Characteristics {
					t.Errorf("section %d: debug/pe %+v, ours %+v", i, s.SectionHeader, o)
				}
			}
		})
	}
}

var (
	reExportOrd  = regexp.MustCompile(`^\s+Ordinal: (\d+)$`)
	reExportName = regexp.MustCompile(`^\s+Name: (.*)$`)
	reExportRVA  = regexp.MustCompile(`^\s+RVA: 0x([0-9A-F]+)$`)
	reObjdumpExp = regexp.MustCompile(`^\s+(\d+)\s+(?:0x([0-9a-f]+)\s*)?(\S*)(?: \(forwarded to (.*)\))?$`)
)

// objdumpExports parses the export table of llvm-objdump -p, the tool of the
// two that prints forwarders: "ordinal|name|forwarder" for used slots.
func objdumpExports(text string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "Export Table:") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.TrimSpace(line) == "" {
			break
		}
		m := reObjdumpExp.FindStringSubmatch(line)
		if m == nil || m[2] == "" && m[4] == "" {
			continue // header lines and empty slots
		}
		out = append(out, m[1]+"|"+m[3]+"|"+m[4])
	}
	return out
}

// readobjExports parses the Export blocks of llvm-readobj --coff-exports,
// skipping empty slots (RVA 0) as Exports does.
func readobjExports(text string) []string {
	var out []string
	var cur []string
	sc := bufio.NewScanner(strings.NewReader(text))
	flush := func() {
		if cur != nil && cur[2] != "0" {
			out = append(out, strings.Join(cur, "|"))
		}
		cur = nil
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "Export {":
			flush()
			cur = []string{"", "", ""}
		case cur == nil:
		case reExportOrd.MatchString(line):
			cur[0] = reExportOrd.FindStringSubmatch(line)[1]
		case reExportName.MatchString(line):
			cur[1] = reExportName.FindStringSubmatch(line)[1]
		case reExportRVA.MatchString(line):
			cur[2] = strings.TrimLeft(reExportRVA.FindStringSubmatch(line)[1], "0")
			if cur[2] == "" {
				cur[2] = "0"
			}
		case strings.TrimSpace(line) == "}":
			flush()
		}
	}
	flush()
	return out
}

// exportLines formats exports as readobjExports and objdumpExports do.
func exportLines(d *ExportDirectory) (readobj, objdump []string) {
	for _, e := range d.Exports {
		readobj = append(readobj, fmt.Sprintf("%d|%s|%X", e.Ordinal, e.Name, e.RVA))
		objdump = append(objdump, fmt.Sprintf("%d|%s|%s", e.Ordinal, e.Name, e.Forwarder))
	}
	return readobj, objdump
}

// TestExports checks the lld DLLs' exports in both layouts against
// llvm-readobj (ordinals, names, RVAs) and llvm-objdump (forwarders), as
// committed by gen.sh and, when the tools are installed, run live: named,
// data, ordinal-only (NONAME) and forwarded exports.
func TestExports(t *testing.T) {
	for _, arch := range []string{"x86", "x64"} {
		t.Run(arch, func(t *testing.T) {
			dll := filepath.Join(lld, "fixture-"+arch+".dll")
			b, err := os.ReadFile(dll)
			if err != nil {
				t.Fatal(err)
			}
			type oracle struct{ readobj, objdump string }
			oracles := map[string]oracle{}
			ro, err1 := os.ReadFile(dll + ".llvm-readobj.txt")
			od, err2 := os.ReadFile(dll + ".llvm-objdump.txt")
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			oracles["committed"] = oracle{string(ro), string(od)}
			ro1, err1 := exec.Command("llvm-readobj", "--coff-exports", dll).Output()
			od1, err2 := exec.Command("llvm-objdump", "-p", dll).Output()
			if err1 == nil && err2 == nil {
				oracles["live"] = oracle{string(ro1), string(od1)}
			} else {
				t.Logf("llvm tools not run (%v, %v): committed outputs only", err1, err2)
			}
			for _, l := range []Layout{LayoutFile, LayoutMapped} {
				var f *File
				if l == LayoutFile {
					f, err = New(bytes.NewReader(b), int64(len(b)))
				} else {
					img := mapImage(t, b)
					f, err = NewMapped(bytes.NewReader(img), int64(len(img)))
				}
				if err != nil {
					t.Fatal(err)
				}
				d, err := f.Exports()
				if err != nil {
					t.Fatal(err)
				}
				gotRO, gotOD := exportLines(d)
				for src, o := range oracles {
					if want := readobjExports(o.readobj); strings.Join(gotRO, "\n") != strings.Join(want, "\n") {
						t.Errorf("%v vs %s llvm-readobj:\n got %q\nwant %q", l, src, gotRO, want)
					}
					if want := objdumpExports(o.objdump); strings.Join(gotOD, "\n") != strings.Join(want, "\n") {
						t.Errorf("%v vs %s llvm-objdump:\n got %q\nwant %q", l, src, gotOD, want)
					}
				}
				// Spell out what the fixture holds, so a wrong oracle parse cannot pass.
				var names []string
				for _, e := range d.Exports {
					names = append(names, fmt.Sprintf("%d:%s>%s", e.Ordinal, e.Name, e.Forwarder))
				}
				// lld 14 decorates the x86 forwarder's DLL part ("_KERNEL32"):
				// the reader reports the bytes as written.
				fwd := "KERNEL32.HeapAlloc"
				if arch == "x86" {
					fwd = "_" + fwd
				}
				want := "7:>; 8:HeapAllocFwd>" + fwd + "; 9:add>; 10:exported_data>; 11:get_heap>"
				if strings.Join(names, "; ") != want {
					t.Errorf("%v: exports %q, want %q", l, strings.Join(names, "; "), want)
				}
			}
		})
	}
}

// TestMemoryReader opens the x64 fixture through a virtual-address reader at
// a module base, as the lead's minidump glue will.
func TestMemoryReader(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(lld, "fixture-x64.dll"))
	if err != nil {
		t.Fatal(err)
	}
	img := mapImage(t, b)
	const base = 0x7ff600000000
	read := func(p []byte, va uint64) (int, error) {
		if va < base || va-base >= uint64(len(img)) {
			return 0, fmt.Errorf("memory at %#x not captured", va)
		}
		n := copy(p, img[va-base:])
		if n < len(p) {
			return n, fmt.Errorf("memory at %#x not captured", va+uint64(n))
		}
		return n, nil
	}
	f, err := NewMapped(MemoryReader(read, base), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	cv, err := f.CodeView()
	if err != nil || cv.PDBName() != "fixture-x64.pdb" {
		t.Fatalf("CodeView %+v, %v", cv, err)
	}
	// A module whose pages past the headers were not captured fails cleanly.
	f, err = NewMapped(MemoryReader(read, base), int64(len(img))+0x10000)
	if err != nil {
		t.Fatal(err)
	}
	var p [16]byte
	if err := f.ReadRVA(p[:], uint32(len(img))+0x100); err == nil || !strings.Contains(err.Error(), "not captured") {
		t.Errorf("ReadRVA past capture: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	le := binary.LittleEndian
	good, err := os.ReadFile(filepath.Join(lld, "fixture-x86.dll"))
	if err != nil {
		t.Fatal(err)
	}
	lfanew := int(le.Uint32(good[60:]))
	opt := lfanew + 24
	mod := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	exportDir := int(le.Uint32(good[opt+96:])) // RVA; .rdata raw offset differs
	expOff := func(b []byte) int {
		f, _ := New(bytes.NewReader(b), int64(len(b)))
		for _, s := range f.Sections {
			if uint32(exportDir) >= s.VirtualAddress && uint32(exportDir) < s.VirtualAddress+s.VirtualSize {
				return exportDir - int(s.VirtualAddress) + int(s.PointerToRawData)
			}
		}
		t.Fatal("export directory not found")
		return 0
	}
	eo := expOff(good)
	tests := []struct {
		name    string
		in      []byte
		newErr  string
		expErr  string
		cvErr   string
		mapped  bool
		sizeAdj int64
	}{
		{name: "empty", in: nil, newErr: "past the end"},
		{name: "not MZ", in: []byte(strings.Repeat("x", 200)), newErr: "no MZ"},
		{name: "lfanew huge", in: mod(func(b []byte) { le.PutUint32(b[60:], 1<<30) }), newErr: "out of range"},
		{name: "no PE sig", in: mod(func(b []byte) { b[lfanew] = 'X' }), newErr: "no PE signature"},
		{name: "bad magic", in: mod(func(b []byte) { le.PutUint16(b[opt:], 0x999) }), newErr: "magic"},
		{name: "tiny optional header", in: mod(func(b []byte) { le.PutUint16(b[lfanew+20:], 1) }), newErr: "too small"},
		{name: "short PE32 optional header", in: mod(func(b []byte) { le.PutUint16(b[lfanew+20:], 50) }), newErr: "too small"},
		{name: "too many sections", in: mod(func(b []byte) { le.PutUint16(b[lfanew+6:], 0xFFFF) }), newErr: "past the headers"},
		{name: "truncated headers", in: good[:300], newErr: "optional header"},
		{name: "huge export counts", in: mod(func(b []byte) { le.PutUint32(b[eo+20:], 0x7FFFFFFF) }), expErr: "more than the image holds"},
		{name: "export names out of image", in: mod(func(b []byte) { le.PutUint32(b[eo+32:], 0x7FFF0000) }), expErr: "in no section"},
		{name: "bad name ordinal", in: mod(func(b []byte) {
			ords := int(le.Uint32(b[eo+36:])) - exportDir + eo
			le.PutUint16(b[ords:], 0xFFFF)
		}), expErr: "points at function"},
		{name: "export dir in no section", in: mod(func(b []byte) { le.PutUint32(b[opt+96:], 0x900000) }), expErr: "in no section"},
		{name: "debug dir huge", in: mod(func(b []byte) { le.PutUint32(b[opt+96+6*8+4:], 0xFFFFFF) }), cvErr: "implausibly large"},
		{name: "no debug dir", in: mod(func(b []byte) { le.PutUint32(b[opt+96+6*8:], 0) }), cvErr: "no CodeView"},
		{name: "mapped short image", in: good, mapped: true, sizeAdj: -int64(len(good)) + 0x400, expErr: "past the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := int64(len(tt.in)) + tt.sizeAdj
			var f *File
			var err error
			if tt.mapped {
				f, err = NewMapped(bytes.NewReader(tt.in), size)
			} else {
				f, err = New(bytes.NewReader(tt.in), size)
			}
			if tt.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.newErr) {
					t.Fatalf("New err = %v, want %q", err, tt.newErr)
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Errorf("%T is not a *FormatError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Exports()
			if tt.expErr == "" && err != nil || tt.expErr != "" && (err == nil || !strings.Contains(err.Error(), tt.expErr)) {
				t.Errorf("Exports err = %v, want %q", err, tt.expErr)
			}
			_, err = f.CodeView()
			if tt.cvErr == "" && err != nil && tt.expErr == "" || tt.cvErr != "" && (err == nil || !strings.Contains(err.Error(), tt.cvErr)) {
				t.Errorf("CodeView err = %v, want %q", err, tt.cvErr)
			}
		})
	}
}

// TestTruncations opens every prefix of the images: no panic, clean errors.
func TestTruncations(t *testing.T) {
	for _, c := range imageCases {
		if c.shared {
			if _, ok := sharedtest.Find(); !ok {
				continue
			}
		}
		b := c.read(t)
		for n := 0; n <= len(b); n += 7 {
			for _, l := range []Layout{LayoutFile, LayoutMapped} {
				f, err := newFile(bytes.NewReader(b[:n]), int64(n), l)
				if err == nil {
					f.Exports()
					f.CodeView()
				}
			}
		}
	}
}
