package minidump_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// notMinidump lists corpus files with a dump's name that are not minidumps, and what
// they must be reported as.
var notMinidump = map[string]string{
	"breakpad/microdump-x86.dmp": "a Breakpad text microdump (Android logcat)",
}

// openFails lists corpus files whose directory is unusable: New returns this error.
var openFails = map[string]string{
	"radare2-testbins/npe_r_mdmp.c-364_1.mdmp": "minidump: stream directory at offset 0xffff00: no stream directory entry fits in the file (1791 declared, file is 610 bytes)",
}

// malformed lists the damaged and fuzzer-made files (CATALOG.md marks them
// MALFORMED): they must give warnings or errors, of the documented kinds, and never
// panic. The accessors named must fail.
var malformed = map[string][]string{
	"radare2-testbins/mdmp-dos":                             {"Modules"},
	"radare2-testbins/npe_w_bin_mdmp.c-111_1.mdmp":          {"SystemInfo", "ThreadInfos", "ThreadNames"},
	"radare2-testbins/trunc_memory64.dmp":                   {"Memory64List", "Memory"},
	"rizin-testbins/crash-0a4b90615b8dd830e86ef1c4e5e80ea9": {"Modules", "Memory64List", "Memory"},
	"rust-minidump/invalid-range.dmp":                       {},
	"rust-minidump/invalid-record-count.dmp":                {},
}

// quirks lists intact dumps that carry a field no real writer produces; the accessors
// named must report it, and every other accessor must succeed.
var quirks = map[string][]string{
	// yaml2obj writes MINIDUMP_MISC_INFO with SizeOfInfo 0, which is no version.
	"lldb/regions-memlist64.dmp":                  {"MiscInfo"},
	"yaml2obj/lldb__arm-linux.llvm19.dmp":         {"MiscInfo"},
	"yaml2obj/lldb__arm-macos.llvm19.dmp":         {"MiscInfo"},
	"yaml2obj/lldb__arm64-macos.llvm19.dmp":       {"MiscInfo"},
	"yaml2obj/lldb__dump-all.llvm19.dmp":          {"MiscInfo"},
	"yaml2obj/lldb__fb-dump.llvm19.dmp":           {"MiscInfo"},
	"yaml2obj/lldb__regions-linux-map.llvm19.dmp": {"MiscInfo"},
}

// TestCorpus opens every file of the corpus. Real dumps must decode completely: no
// warning, no error from any accessor whose stream is present, every captured byte
// readable. Damaged ones must fail the way malformed says, with errors of the
// documented kinds. Files that are not minidumps must say what they look like.
func TestCorpus(t *testing.T) {
	root := corpusDir(t)
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		t.Run(rel, func(t *testing.T) { checkCorpusFile(t, rel, p) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string][]string{malformed, quirks} {
		for rel := range m {
			if !seen[rel] {
				t.Errorf("%s is listed but not in the corpus", rel)
			}
		}
	}
}

func checkCorpusFile(t *testing.T, rel, path string) {
	f, err := minidump.Open(path)
	if want, ok := openFails[rel]; ok {
		if err == nil || err.Error() != want {
			t.Fatalf("Open = %v, want %q", err, want)
		}
		return
	}
	if !isDumpName(rel) || notMinidump[rel] != "" {
		var nm *minidump.NotMinidumpError
		if !errors.As(err, &nm) || strings.ContainsAny(err.Error(), "\n") {
			t.Fatalf("Open = %v, want a one-line *NotMinidumpError", err)
		}
		if want := notMinidump[rel]; want != "" && nm.LooksLike != want {
			t.Errorf("looks like %q, want %q", nm.LooksLike, want)
		}
		return
	}
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	for _, s := range f.Streams {
		if s.Available < 0 || s.Available > s.Size || s.Offset+s.Available > f.Size() && s.Available > 0 {
			t.Errorf("stream %d (%v): %d of %d bytes available at %#x in a %d-byte file", s.Index, s.Type, s.Available, s.Size, s.Offset, f.Size())
		}
	}
	wantFail, isMalformed := malformed[rel]
	if q, ok := quirks[rel]; ok {
		wantFail = q
	}
	failing := map[string]bool{}
	for _, r := range callAll(f) {
		checkErrKinds(t, r.Name, r.Err, false)
		if r.MinSize > 0 && r.N > int(f.Size())/r.MinSize {
			t.Errorf("%s: %d entries from a %d-byte file", r.Name, r.N, f.Size())
		}
		if r.Err != nil && r.Present(f) {
			failing[r.Name] = true
		}
	}
	if isMalformed {
		if len(f.Warnings) == 0 && len(failing) == 0 {
			t.Error("listed as malformed but reads cleanly")
		}
		for _, w := range f.Warnings {
			checkErrKinds(t, "warning", w, false)
		}
	} else if len(f.Warnings) != 0 {
		t.Errorf("warnings: %v", f.Warnings)
	}
	for _, name := range wantFail {
		if !failing[name] {
			t.Errorf("%s succeeded; the file is damaged there", name)
		}
		delete(failing, name)
	}
	if isMalformed {
		return // other accessors may fail too
	}
	for _, r := range callAll(f) {
		if failing[r.Name] {
			t.Errorf("%s: %v", r.Name, r.Err)
		}
	}
	// Every captured byte is readable, through the reader by address.
	mem, err := f.Memory()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mem.Ranges() {
		if _, err := mem.Read(r.Start, int(min(r.Size, 1<<20))); err != nil {
			t.Errorf("range %#x+%#x: %v", r.Start, r.Size, err)
		}
	}
}

// catalogRow is what CATALOG.md's quick parse says about a dump.
type catalogRow struct {
	rel, inside string
}

func readCatalog(t *testing.T) []catalogRow {
	data, err := os.ReadFile(filepath.Join(corpusDir(t), "CATALOG.md"))
	if err != nil {
		t.Skip(err)
	}
	var rows []catalogRow
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		cells := strings.Split(sc.Text(), " | ")
		if len(cells) < 5 || !strings.HasPrefix(cells[0], "| `") {
			continue
		}
		rel := strings.Trim(strings.TrimPrefix(cells[0], "| "), "`")
		rows = append(rows, catalogRow{rel, strings.TrimSuffix(strings.TrimSpace(cells[4]), " |")})
	}
	return rows
}

var (
	catOS    = regexp.MustCompile(`^(\S+) (\S+) (\d+)\.(\d+)\.(\d+)(?: \(([^)]*)\))?, (\d+) streams`)
	catField = regexp.MustCompile(`(mods|thr|MemList|MemInfo|exc)=(0x[0-9a-f]+|\d+)`)
	catMem64 = regexp.MustCompile(`Mem64=(\d+) ranges/([\d,]+) B`)
	catMain  = regexp.MustCompile(`main=(.*?)(?: \[.*)?$`)
	catState = regexp.MustCompile(`MemInfo=\d+\*?\*? \(free:(\d+), commit:(\d+), reserve:(\d+)`)
)

// TestCatalog checks each dump against the independent quick parse recorded in the
// corpus's CATALOG.md: OS, architecture, version, service pack, stream count, and the
// number of modules, threads, memory ranges and regions, the exception code and the
// main module.
func TestCatalog(t *testing.T) {
	root := corpusDir(t)
	archs := map[string]minidump.Arch{"x86": minidump.ArchX86, "amd64": minidump.ArchAMD64, "arm": minidump.ArchARM,
		"arm64": minidump.ArchARM64, "arm64_old": minidump.ArchARM64Old}
	plats := map[string]minidump.Platform{"WindowsNT": minidump.PlatformWindows, "Linux": minidump.PlatformLinux,
		"macOS": minidump.PlatformMacOS, "iOS": minidump.PlatformIOS, "Android": minidump.PlatformAndroid}
	checked := 0
	for _, row := range readCatalog(t) {
		if !isDumpName(row.rel) || notMinidump[row.rel] != "" || openFails[row.rel] != "" {
			continue
		}
		if _, bad := malformed[row.rel]; bad {
			continue
		}
		t.Run(row.rel, func(t *testing.T) {
			f, err := minidump.Open(filepath.Join(root, row.rel))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			checked++
			m := catOS.FindStringSubmatch(row.inside)
			if m == nil {
				t.Fatalf("catalog row not understood: %q", row.inside)
			}
			si, err := f.SystemInfo()
			if err != nil {
				t.Fatal(err)
			}
			ver := fmt.Sprintf("%d.%d.%d", si.MajorVersion, si.MinorVersion, si.BuildNumber)
			if plats[m[1]] != si.Platform || archs[m[2]] != si.Arch || ver != m[3]+"."+m[4]+"."+m[5] {
				t.Errorf("system: ours %v %v %s, catalog %q", si.Platform, si.Arch, ver, m[0])
			}
			if m[6] != "" && si.CSDVersion != m[6] {
				t.Errorf("CSD version %q, catalog %q", si.CSDVersion, m[6])
			}
			if n, _ := strconv.Atoi(m[7]); n != len(f.Streams) {
				t.Errorf("%d streams, catalog %d", len(f.Streams), n)
			}
			for _, fm := range catField.FindAllStringSubmatch(row.inside, -1) {
				want, _ := strconv.ParseUint(fm[2], 0, 64)
				var got uint64
				switch fm[1] {
				case "mods":
					v, _ := f.Modules()
					got = uint64(len(v))
				case "thr":
					v, _ := f.Threads()
					got = uint64(len(v))
				case "MemList":
					v, _ := f.MemoryList()
					got = uint64(len(v))
				case "MemInfo":
					v, _ := f.MemoryInfo()
					got = uint64(len(v))
				case "exc":
					e, _ := f.Exception()
					got = uint64(e.Code)
				}
				if got != want {
					t.Errorf("%s: ours %d (%#x), catalog %s", fm[1], got, got, fm[2])
				}
			}
			if sm := catState.FindStringSubmatch(row.inside); sm != nil {
				info, _ := f.MemoryInfo()
				count := map[minidump.MemState]int{}
				for _, r := range info {
					count[r.State]++
				}
				got := fmt.Sprintf("%d %d %d", count[minidump.MemFree], count[minidump.MemCommit], count[minidump.MemReserve])
				if want := sm[1] + " " + sm[2] + " " + sm[3]; got != want {
					t.Errorf("free/commit/reserve: ours %s, catalog %s", got, want)
				}
			}
			if mm := catMem64.FindStringSubmatch(row.inside); mm != nil {
				rs, _ := f.Memory64List()
				var total uint64
				for _, r := range rs {
					total += r.Size
				}
				if got := fmt.Sprintf("%d/%d", len(rs), total); got != mm[1]+"/"+strings.ReplaceAll(mm[2], ",", "") {
					t.Errorf("Memory64: ours %s, catalog %s", got, mm[0])
				}
			}
			if mm := catMain.FindStringSubmatch(row.inside); mm != nil {
				mods, _ := f.Modules()
				if len(mods) == 0 || mods[0].BaseName() != mm[1] {
					t.Errorf("main module: catalog %q", mm[1])
				} else if mods[0].BaseName() != mm[1] {
					t.Errorf("main module %q, catalog %q", mods[0].BaseName(), mm[1])
				}
			}
		})
	}
	if checked < 60 {
		t.Errorf("only %d catalog rows checked", checked)
	}
}

// truth is a generated input's ground truth (shared/peers/gen_mdmp.py --emit-truth and
// gen_edge.py): regions, modules, threads and Memory64 ranges.
type truth struct {
	R [][5]uint64 // base, size, state, protect, type
	M []struct {
		Base, Size uint64
		Name       string
	}
	T [][3]uint64 // id, stack start, stack size
	D [][2]uint64 // start, size
}

func readTruth(t *testing.T, path string) *truth {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tr := &truth{}
	hexes := func(s string) []uint64 {
		var out []uint64
		for _, x := range strings.Split(s, ",") {
			v, err := strconv.ParseUint(strings.TrimPrefix(x, "0x"), 16, 64)
			if err != nil {
				t.Fatalf("truth %q: %v", s, err)
			}
			out = append(out, v)
		}
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) < 2 || line[0] == '#' {
			continue
		}
		rest := line[2:]
		switch line[0] {
		case 'R':
			v := hexes(rest)
			tr.R = append(tr.R, [5]uint64{v[0], v[1], v[2], v[3], v[4]})
		case 'M':
			parts := strings.SplitN(rest, ",", 3)
			v := hexes(parts[0] + "," + parts[1])
			tr.M = append(tr.M, struct {
				Base, Size uint64
				Name       string
			}{v[0], v[1], parts[2]})
		case 'T':
			v := hexes(rest)
			tr.T = append(tr.T, [3]uint64{v[0], v[1], v[2]})
		case 'D':
			v := hexes(rest)
			tr.D = append(tr.D, [2]uint64{v[0], v[1]})
		}
	}
	return tr
}

// checkTruth compares f with a truth file; regionErr and moduleErr are the errors the
// damaged edge cases must give ("" for none).
func checkTruth(t *testing.T, f *minidump.File, tr *truth, regionErr string) {
	info, err := f.MemoryInfo()
	if regionErr == "" && err != nil || regionErr != "" && (err == nil || !strings.Contains(err.Error(), regionErr)) {
		t.Errorf("MemoryInfo error %v, want %q", err, regionErr)
	}
	if len(tr.R) > 0 && len(info) != len(tr.R) {
		t.Fatalf("%d regions, truth %d", len(info), len(tr.R))
	}
	bad := 0
	for i, w := range tr.R {
		r := info[i]
		got := [5]uint64{r.BaseAddress, r.RegionSize, uint64(r.State), uint64(r.Protect), uint64(r.Type)}
		if got != w && bad < 5 {
			bad++
			t.Errorf("region %d: ours %#x, truth %#x", i, got, w)
		}
	}
	if len(tr.T) > 0 {
		th, err := f.Threads()
		if err != nil || len(th) != len(tr.T) {
			t.Fatalf("Threads = %d, %v; truth %d", len(th), err, len(tr.T))
		}
		for i, w := range tr.T {
			if got := [3]uint64{uint64(th[i].ID), th[i].Stack.Start, uint64(th[i].Stack.Data.Size)}; got != w {
				t.Errorf("thread %d: ours %#x, truth %#x", i, got, w)
			}
		}
	}
	if len(tr.D) > 0 {
		rs, err := f.Memory64List()
		if err != nil || len(rs) != len(tr.D) {
			t.Fatalf("Memory64List = %d, %v; truth %d", len(rs), err, len(tr.D))
		}
		for i, w := range tr.D {
			if got := [2]uint64{rs[i].Start, rs[i].Size}; got != w && bad < 5 {
				bad++
				t.Errorf("Memory64 range %d: ours %#x, truth %#x", i, got, w)
			}
		}
	}
}

func checkTruthModules(t *testing.T, f *minidump.File, tr *truth) []minidump.Module {
	mods, _ := f.Modules()
	if len(mods) != len(tr.M) {
		t.Fatalf("%d modules, truth %d", len(mods), len(tr.M))
	}
	bad := 0
	for i, w := range tr.M {
		m := mods[i]
		if (m.Base != w.Base || uint64(m.Size) != w.Size || m.Name != w.Name) && bad < 5 && !strings.HasPrefix(w.Name, "<rva") {
			bad++
			t.Errorf("module %d: ours %#x %#x %q, truth %#x %#x %q", i, m.Base, m.Size, m.Name, w.Base, w.Size, w.Name)
		}
	}
	return mods
}

// TestGeneratedInputs compares the generated inputs with their ground truth.
func TestGeneratedInputs(t *testing.T) {
	for _, name := range []string{"gen-small", "large-200k", "edge-weird-regions", "edge-entry56"} {
		t.Run(name, func(t *testing.T) {
			f, err := minidump.Open(peerInput(t, name+".dmp"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tr := readTruth(t, peerInput(t, name+".truth"))
			checkTruth(t, f, tr, "")
			_, err = f.Modules()
			if err != nil {
				t.Error(err)
			}
			checkTruthModules(t, f, tr)
			for _, r := range callAll(f) {
				if r.Err != nil && r.Present(f) {
					t.Errorf("%s: %v", r.Name, r.Err)
				}
			}
		})
	}
	t.Run("edge-truncated", func(t *testing.T) {
		f, err := minidump.Open(peerInput(t, "edge-truncated.dmp"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tr := readTruth(t, peerInput(t, "edge-truncated.truth"))
		checkTruth(t, f, tr, "MemoryInfoList at offset 0x738: 1000 entries declared, only 5 fit in the 256-byte stream")
		checkTruthModules(t, f, tr)
	})
	t.Run("edge-modnames", func(t *testing.T) {
		f, err := minidump.Open(peerInput(t, "edge-modnames.dmp"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tr := readTruth(t, peerInput(t, "edge-modnames.truth"))
		mods, err := f.Modules()
		if len(mods) != 4 || len(tr.M) != 4 {
			t.Fatalf("%d modules, %v", len(mods), err)
		}
		for i, w := range tr.M {
			if mods[i].Base != w.Base || uint64(mods[i].Size) != w.Size {
				t.Errorf("module %d: %#x+%#x, truth %#x+%#x", i, mods[i].Base, mods[i].Size, w.Base, w.Size)
			}
		}
		if mods[0].Name != tr.M[0].Name || mods[1].Name != "" || mods[2].Name != "" {
			t.Errorf("names %q %q %q", mods[0].Name, mods[1].Name, mods[2].Name)
		}
		// gen_edge.py patches the last name's length to 5 bytes after writing the truth
		// ("ok.dll"): the string holds two whole UTF-16 units, "ok", and is damaged.
		if mods[3].Name != "ok" || tr.M[3].Name != "ok.dll" {
			t.Errorf("odd-length name = %q (truth written before the patch: %q)", mods[3].Name, tr.M[3].Name)
		}
		for _, want := range []string{"ModuleList entry 2 name at offset 0x7ffffff0: 4 bytes at 0x7ffffff0 extend past the end of the file",
			"ModuleList entry 3 name", "string length 5 is odd"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Modules error %v, want %q", err, want)
			}
		}
		// Everything else in the file is intact.
		for _, r := range callAll(f) {
			if r.Name != "Modules" && r.Name != "Text(ModuleList)" && r.Err != nil && r.Present(f) {
				t.Errorf("%s: %v", r.Name, r.Err)
			}
		}
	})
	t.Run("full-1g", func(t *testing.T) {
		path := peerInput(t, "full-1g.dmp")
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		st, _ := fh.Stat()
		cr := &countingReader{r: fh}
		f, err := minidump.New(cr, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		tr := readTruth(t, peerInput(t, "full-1g.truth"))
		checkTruth(t, f, tr, "")
		checkTruthModules(t, f, tr)
		// gen_mdmp.py writes the Memory64 data as 1 MiB blocks whose first 8 bytes
		// are the block's index: find each block by address and read its index.
		mem, err := f.Memory()
		if err != nil {
			t.Fatal(err)
		}
		rs := mem.Ranges()
		sort.Slice(rs, func(i, j int) bool { return rs[i].Offset < rs[j].Offset })
		var data uint64 // offset into the Memory64 data
		block := uint64(0)
		for _, r := range rs {
			for block<<20 < data+r.Size {
				va := r.Start + (block<<20 - data)
				v, err := mem.ReadUint64(va)
				if err != nil || v != block {
					t.Fatalf("block %d at %#x: %d, %v", block, va, v, err)
				}
				block++
			}
			data += r.Size
		}
		if block != 1024 {
			t.Errorf("found %d MiB blocks, want 1024", block)
		}
		if n := cr.n.Load(); n > 16<<20 {
			t.Errorf("read %d bytes", n)
		}
	})
}
