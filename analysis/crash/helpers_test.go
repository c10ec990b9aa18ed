package crash

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// fakeMem is process memory made of blocks; reads of bytes no block holds fail
// with a *minidump.MissingMemoryError, as *minidump.Memory's do.
type fakeMem struct {
	blocks []memBlock
}

type memBlock struct {
	va   uint64
	data []byte
}

func (m *fakeMem) add(va uint64, data []byte) *fakeMem {
	m.blocks = append(m.blocks, memBlock{va, slices.Clone(data)})
	return m
}

func (m *fakeMem) ReadAt(p []byte, va uint64) (int, error) {
	clear(p)
	n := 0
	var missing []minidump.AddrRange
	for i := range p {
		a := va + uint64(i)
		ok := false
		// Later blocks overwrite earlier ones.
		for j := len(m.blocks) - 1; j >= 0; j-- {
			b := m.blocks[j]
			if a >= b.va && a-b.va < uint64(len(b.data)) {
				p[i] = b.data[a-b.va]
				ok = true
				break
			}
		}
		if ok {
			n++
		} else if k := len(missing); k > 0 && missing[k-1].End == a {
			missing[k-1].End++
		} else {
			missing = append(missing, minidump.AddrRange{Start: a, End: a + 1})
		}
	}
	if n < len(p) {
		return n, &minidump.MissingMemoryError{Addr: va, Len: uint64(len(p)), Missing: missing}
	}
	return n, nil
}

// layout builds little-endian structures at chosen addresses.
type layout struct {
	mem *fakeMem
}

func (l layout) u32s(va uint64, vs ...uint32) {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	l.mem.add(va, b)
}

func (l layout) ptrs(va uint64, size int, vs ...uint64) {
	b := make([]byte, size*len(vs))
	for i, v := range vs {
		if size == 4 {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
	}
	l.mem.add(va, b)
}

func (l layout) str(va uint64, s string) { l.mem.add(va, append([]byte(s), 0)) }

// sharedCorpus returns ../shared/corpus found above the working directory, or
// skips.
func sharedCorpus(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Skip(err)
	}
	for {
		p := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/corpus not found above the working directory")
		}
		dir = parent
	}
}

// corpusDumps lists every .dmp file under the shared corpus, sorted.
func corpusDumps(t testing.TB) (root string, rel []string) {
	root = sharedCorpus(t)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".dmp" {
			r, _ := filepath.Rel(root, p)
			rel = append(rel, filepath.ToSlash(r))
		}
		return nil
	})
	sort.Strings(rel)
	return root, rel
}
