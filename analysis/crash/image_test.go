package crash

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/analysis/pdb"
	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// imageCase is a real MSVC image of the corpus with its PDB.
type imageCase struct {
	exe, pdb string
	ptr      int
	tiPrefix string // the linker's public symbol prefix of ThrowInfo: "_TI" on x64, "__TI" on x86
	ctPrefix string
}

var imageCases = []imageCase{
	{"CrashWithException.exe", "CrashWithException.pdb", 8, "_TI", "_CT"},
	{"crash.exe", "crash.pdb", 4, "__TI", "__CT"},
}

func openImageCase(t testing.TB, c imageCase) (*pe.File, []byte, map[uint32][]string, []pdb.Symbol) {
	t.Helper()
	dir := filepath.Join(sharedCorpus(t), "symbols")
	img, err := pe.Open(filepath.Join(dir, "images", c.exe))
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { img.Close() })
	raw, err := os.ReadFile(filepath.Join(dir, "images", c.exe))
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "store", c.pdb, "*", c.pdb))
	if len(paths) != 1 {
		t.Skipf("no %s in the symbol store", c.pdb)
	}
	pf, err := pdb.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pf.Close() })
	pubs, err := pf.Publics()
	if err != nil {
		t.Fatal(err)
	}
	byRVA := map[uint32][]string{}
	var tis []pdb.Symbol
	for _, s := range pubs {
		if !s.HasRVA {
			continue
		}
		byRVA[s.RVA] = append(byRVA[s.RVA], s.Name)
		if strings.HasPrefix(s.Name, c.tiPrefix) && !strings.HasPrefix(s.Name, c.tiPrefix+"D") {
			tis = append(tis, s)
		}
	}
	if len(tis) < 2 {
		t.Fatalf("%s: only %d ThrowInfo publics", c.pdb, len(tis))
	}
	return img, raw, byRVA, tis
}

// parseTI splits a ThrowInfo public "_TI2?AVbad_alloc@std@@" into the number of
// catchable types (2) and the decorated type (".?AVbad_alloc@std@@").
func parseTI(t *testing.T, name, prefix string) (int, string) {
	rest := strings.TrimPrefix(name, prefix)
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(rest[:i])
	if err != nil {
		t.Fatalf("ThrowInfo public %q: %v", name, err)
	}
	return n, "." + rest[i:]
}

func hasPrefixed(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// checkTables compares a decoded exception with the PDB's public symbols: the
// linker names each ThrowInfo "_TI<count><decorated type>", each CatchableType
// "_CT??_R0<decorated>@8..." and each TypeDescriptor "??_R0<decorated>@8".
func checkTables(t *testing.T, c imageCase, got *Crash, base uint64, ti pdb.Symbol, byRVA map[uint32][]string, oracle map[string]string) {
	t.Helper()
	count, thrown := parseTI(t, ti.Name, c.tiPrefix)
	cpp := got.CPP
	if cpp == nil || cpp.ThrownType == nil {
		t.Fatalf("%s: no thrown type; unknown: %+v", ti.Name, got.Unknown)
	}
	for _, u := range got.Unknown {
		// The thrown object is not in these dumps: only the message may be missing.
		if u.What != "what() message" {
			t.Errorf("%s: unknown: %+v", ti.Name, u)
		}
	}
	if cpp.ThrownType.Decorated != thrown {
		t.Errorf("%s: thrown type %q, the PDB says %q", ti.Name, cpp.ThrownType.Decorated, thrown)
	}
	if len(cpp.CatchableTypes) != count {
		t.Errorf("%s: %d catchable types, the PDB says %d", ti.Name, len(cpp.CatchableTypes), count)
	}
	for _, ct := range cpp.CatchableTypes {
		dec := strings.TrimPrefix(ct.Type.Decorated, ".")
		if names := byRVA[uint32(uint64(ct.Address)-base)]; !hasPrefixed(names, c.ctPrefix+"??_R0"+dec+"@8") {
			t.Errorf("%s: CatchableType at RVA %#x is %v in the PDB, decoded as %s", ti.Name, uint64(ct.Address)-base, names, dec)
		}
		if names := byRVA[uint32(uint64(ct.TypeDescriptor)-base)]; !hasPrefixed(names, "??_R0"+dec+"@8") {
			t.Errorf("%s: TypeDescriptor at RVA %#x is %v in the PDB, decoded as %s", ti.Name, uint64(ct.TypeDescriptor)-base, names, dec)
		}
		want, ok := oracle[ct.Type.Decorated]
		if !ok {
			t.Errorf("%s: %s is not in testdata/msvc-names.tsv", ti.Name, ct.Type.Decorated)
		} else if normalize(ct.Type.Name) != normalize(want) {
			t.Errorf("%s: %s demangled as %q, llvm-undname %q", ti.Name, ct.Type.Decorated, ct.Type.Name, want)
		}
	}
	if ti.Name == c.tiPrefix+"2?AVbad_alloc@std@@" && !got.OOM {
		t.Errorf("%s: not classified as out of memory", ti.Name)
	}
}

func loadOracle(t *testing.T) map[string]string {
	m := map[string]string{}
	for _, c := range readOracle(t, "testdata/msvc-names.tsv") {
		m[c[0]] = c[1]
	}
	return m
}

func throwRecord(ptr int, ti, base uint64) *minidump.Exception {
	e := &minidump.Exception{Code: CodeMSVCThrow, Flags: 1, ThreadID: 1}
	if ptr == 8 {
		e.Parameters = []uint64{ehMagic1, 0x1000, ti, base}
	} else {
		e.Parameters = []uint64{ehMagic1, 0x1000, ti}
	}
	return e
}

// TestImageTables decodes every ThrowInfo of two real MSVC images (x64 and x86)
// from the image file by RVA, the dump holding none of the tables, at the image's
// preferred base and at another one (x86 pointers must then be relocated).
func TestImageTables(t *testing.T) {
	oracle := loadOracle(t)
	for _, c := range imageCases {
		t.Run(c.exe, func(t *testing.T) {
			img, _, byRVA, tis := openImageCase(t, c)
			for _, base := range []uint64{img.ImageBase, img.ImageBase + 0x3210000} {
				mod := minidump.Module{Base: base, Size: img.SizeOfImage, TimeDateStamp: img.TimeDateStamp, Name: `C:\app\` + c.exe}
				for _, ti := range tis {
					got := Decode(Input{
						Exception: throwRecord(c.ptr, base+uint64(ti.RVA), base), Platform: minidump.PlatformWindows,
						PointerSize: c.ptr, Modules: []minidump.Module{mod},
						Image: func(m *minidump.Module) (*pe.File, error) { return img, nil },
					})
					checkTables(t, c, got, base, ti, byRVA, oracle)
					if got.CPP.TablesFrom != "image file" || got.CPP.Module != c.exe {
						t.Errorf("%s: tables from %q in %q", ti.Name, got.CPP.TablesFrom, got.CPP.Module)
					}
				}
			}
		})
	}
}

// TestDumpTables puts the images into a synthetic dump's memory (mapped and
// relocated as the loader does) and decodes through FromDump with no image files.
func TestDumpTables(t *testing.T) {
	oracle := loadOracle(t)
	for _, c := range imageCases {
		t.Run(c.exe, func(t *testing.T) {
			img, raw, byRVA, tis := openImageCase(t, c)
			base := img.ImageBase + 0x5550000
			mapped, err := minidumptest.MapImage(raw, base)
			if err != nil {
				t.Fatal(err)
			}
			si := minidumptest.Windows10x64()
			if c.ptr == 4 {
				si = minidumptest.Windows7x86()
			}
			for _, ti := range tis {
				e := throwRecord(c.ptr, base+uint64(ti.RVA), base)
				b := minidumptest.New().SystemInfo(si).
					Module(minidumptest.Module{Base: base, Size: img.SizeOfImage, Time: img.TimeDateStamp, Name: `C:\app\` + c.exe}).
					Memory(base, mapped).Exception(1, e.Code, 0, e.Parameters...)
				data := b.Bytes()
				f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				got, err := Of(process.New(f, process.Options{}))
				if err != nil {
					t.Fatal(err)
				}
				checkTables(t, c, got, base, ti, byRVA, oracle)
				if got.CPP.TablesFrom != "dump memory" {
					t.Errorf("%s: tables from %q", ti.Name, got.CPP.TablesFrom)
				}
			}
		})
	}
}

// TestMixedTables: the dump holds the image's read-only data (ThrowInfo,
// CatchableTypes) but not its .data section, where MSVC puts the
// TypeDescriptors: their names come from the image file.
func TestMixedTables(t *testing.T) {
	c := imageCases[0]
	img, raw, byRVA, tis := openImageCase(t, c)
	oracle := loadOracle(t)
	base := img.ImageBase
	mapped, err := minidumptest.MapImage(raw, base)
	if err != nil {
		t.Fatal(err)
	}
	var data uint32
	for _, s := range img.Sections {
		if s.Name == ".data" {
			data = s.VirtualAddress
		}
	}
	if data == 0 {
		t.Fatal("no .data section")
	}
	mem := (&fakeMem{}).add(base, mapped[:data])
	mod := minidump.Module{Base: base, Size: img.SizeOfImage, TimeDateStamp: img.TimeDateStamp, Name: c.exe}
	for _, ti := range tis {
		got := Decode(Input{
			Exception: throwRecord(8, base+uint64(ti.RVA), base), Platform: minidump.PlatformWindows, PointerSize: 8,
			Memory: mem, Modules: []minidump.Module{mod},
			Image: func(*minidump.Module) (*pe.File, error) { return img, nil },
		})
		checkTables(t, c, got, base, ti, byRVA, oracle)
		if got.CPP.TablesFrom != "dump memory and image file" {
			t.Errorf("%s: tables from %q", ti.Name, got.CPP.TablesFrom)
		}
	}
	// An image file of another build is refused.
	other := mod
	other.TimeDateStamp++
	got := Decode(Input{
		Exception: throwRecord(8, base+uint64(tis[0].RVA), base), Platform: minidump.PlatformWindows, PointerSize: 8,
		Memory: mem, Modules: []minidump.Module{other},
		Image: func(*minidump.Module) (*pe.File, error) { return img, nil },
	})
	if !unknownAbout(got, "type name", "timestamp") {
		t.Errorf("a mismatched image was used: %+v", got.Unknown)
	}
}
