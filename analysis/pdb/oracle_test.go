package pdb

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
)

// oracle is what llvm-pdbutil printed for one PDB.
type oracle struct {
	guid, age string
	publics   []string // "offset|kind|name|flags|seg:off"
	globals   []string
	sections  []string // "name|vsize|va|rawsize|rawptr|flags" in hex as printed
}

var (
	reRecord = regexp.MustCompile("^\\s+(\\d+) \\| (S_\\w+) \\[size = \\d+\\] `(.*)`$")
	reAddr   = regexp.MustCompile(`^\s+(?:flags = (.*)|type = .*), addr = (\d+):(\d+)$`)
	reSecHdr = regexp.MustCompile(`^\s+SECTION HEADER #\d+$`)
	reSecFld = regexp.MustCompile(`^\s+([0-9A-Fa-f]+|\.?\S+) (name|virtual size|virtual address|size of raw data|file pointer to raw data|flags)$`)
)

// parseOracle reads the -summary -publics -globals -section-headers dump.
func parseOracle(t *testing.T, path string) oracle {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var o oracle
	var section string
	var pending []string // record line fields waiting for their addr line
	var sec []string
	flushSec := func() {
		if sec != nil {
			o.sections = append(o.sections, strings.Join(sec, "|"))
			sec = nil
		}
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch trim {
		case "Summary", "Global Symbols", "Public Symbols", "Section Headers", "Original Section Headers":
			flushSec()
			section = trim
			continue
		}
		switch section {
		case "Summary":
			if v, ok := strings.CutPrefix(trim, "GUID: "); ok {
				o.guid = v
			}
			if v, ok := strings.CutPrefix(trim, "Age: "); ok {
				o.age = v
			}
		case "Global Symbols", "Public Symbols":
			if m := reRecord.FindStringSubmatch(line); m != nil {
				pending = m[1:]
				continue
			}
			if m := reAddr.FindStringSubmatch(line); m != nil && pending != nil {
				seg, _ := strconv.Atoi(m[2])
				off, _ := strconv.Atoi(m[3])
				entry := fmt.Sprintf("%s|%s|%s|%s|%d:%d", pending[0], pending[1], pending[2], m[1], seg, off)
				switch pending[1] {
				case "S_PUB32":
					o.publics = append(o.publics, entry)
				case "S_GDATA32", "S_LDATA32":
					o.globals = append(o.globals, entry)
				}
			}
			pending = nil
		case "Section Headers":
			if reSecHdr.MatchString(line) {
				flushSec()
				sec = []string{}
				continue
			}
			if m := reSecFld.FindStringSubmatch(line); m != nil && sec != nil {
				sec = append(sec, m[1])
			}
		}
	}
	flushSec()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOracles(t *testing.T) {
	const lld = "../testdata/lld"
	tests := []struct {
		shared           bool // paths are relative to the shared corpus
		pdb, oracle      string
		publics, globals int
		machine          uint16
	}{
		{true, "store/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb", "oracles/crash.pdb.llvm-pdbutil.txt", 339, 66, 0x14c},
		{true, "store/CrashWithException.pdb/F535C5FB2AE84BB8AA206C30BE566C5A1/CrashWithException.pdb", "oracles/CrashWithException.pdb.llvm-pdbutil.txt", 258, 64, 0x8664},
		{false, lld + "/fixture-x86.pdb", lld + "/fixture-x86.pdb.llvm-pdbutil.txt", 6, 3, 0x14c},
		{false, lld + "/fixture-x64.pdb", lld + "/fixture-x64.pdb.llvm-pdbutil.txt", 6, 3, 0x8664},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.pdb), func(t *testing.T) {
			dir := "."
			if tt.shared {
				dir = sharedtest.Dir(t)
			}
			o := parseOracle(t, filepath.Join(dir, tt.oracle))
			f, err := Open(filepath.Join(dir, tt.pdb))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.GUID.String() != o.guid || strconv.Itoa(int(f.Age)) != o.age {
				t.Errorf("GUID/age = %s/%d, oracle %s/%s", f.GUID, f.Age, o.guid, o.age)
			}
			if f.Machine != tt.machine {
				t.Errorf("machine = %#x, want %#x", f.Machine, tt.machine)
			}
			pubs, err := f.Publics()
			if err != nil {
				t.Fatal(err)
			}
			globs, err := f.Globals()
			if err != nil {
				t.Fatal(err)
			}
			if len(o.publics) != tt.publics || len(o.globals) != tt.globals {
				t.Fatalf("oracle parse: %d publics, %d globals; want %d, %d", len(o.publics), len(o.globals), tt.publics, tt.globals)
			}
			compareSet(t, "publics", o.publics, symbolLines(pubs))
			compareSet(t, "globals", o.globals, symbolLines(globs))

			var secs []string
			for _, s := range f.Sections {
				secs = append(secs, fmt.Sprintf("%s|%X|%X|%X|%X|%X", s.Name, s.VirtualSize, s.VirtualAddress, s.SizeOfRawData, s.PointerToRawData, s.Characteristics))
			}
			if len(o.sections) == 0 || strings.Join(secs, "\n") != strings.Join(o.sections, "\n") {
				t.Errorf("sections:\n got %q\nwant %q", secs, o.sections)
			}
			t.Logf("%d publics, %d globals, %d sections match the oracle", len(pubs), len(globs), len(secs))
			// Every mapped symbol's RVA is its section's address plus offset.
			for _, s := range append(pubs, globs...) {
				if s.Segment >= 1 && int(s.Segment) <= len(f.Sections) {
					if !s.HasRVA || s.RVA != f.Sections[s.Segment-1].VirtualAddress+s.Offset {
						t.Errorf("%s: RVA %#x (has %v) for %d:%#x", s.Name, s.RVA, s.HasRVA, s.Segment, s.Offset)
					}
				} else if s.HasRVA {
					t.Errorf("%s: segment %d has an RVA", s.Name, s.Segment)
				}
			}
		})
	}
}

func symbolLines(syms []Symbol) []string {
	var out []string
	for _, s := range syms {
		flags := ""
		if s.Kind == KindPub32 {
			flags = s.Flags.String()
		}
		out = append(out, fmt.Sprintf("%d|%s|%s|%s|%d:%d", s.RecordOffset, s.Kind, s.Name, flags, s.Segment, s.Offset))
	}
	return out
}

// compareSet checks symbol for symbol: the oracle lists hash order, the
// reader stream order, so both are compared as sets with multiplicity.
func compareSet(t *testing.T, what string, want, got []string) {
	t.Helper()
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	bad := 0
	for k, n := range count {
		if n != 0 {
			bad++
			if bad <= 10 {
				t.Errorf("%s: %q: oracle has %d more than reader", what, k, n)
			}
		}
	}
	if len(want) != len(got) {
		t.Errorf("%s: oracle %d, reader %d", what, len(want), len(got))
	}
}
