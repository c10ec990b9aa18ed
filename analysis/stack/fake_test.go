package stack

import (
	"encoding/binary"
	"errors"
	"os"
	"sort"
	"testing"

	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// fakeMem is process memory for tests: a few ranges of bytes.
type fakeMem struct {
	rs []fakeRange
}

type fakeRange struct {
	base uint64
	b    []byte
}

func (m *fakeMem) add(base uint64, b []byte) {
	m.rs = append(m.rs, fakeRange{base, b})
	sort.Slice(m.rs, func(i, j int) bool { return m.rs[i].base < m.rs[j].base })
}

var errFake = errors.New("fake: not captured")

func (m *fakeMem) ReadAt(p []byte, va uint64) (int, error) {
	for _, r := range m.rs {
		if va >= r.base && va-r.base+uint64(len(p)) <= uint64(len(r.b)) {
			return copy(p, r.b[va-r.base:]), nil
		}
	}
	return 0, errFake
}

// fakeStack is a stack being built downward, as pushes would build it.
type fakeStack struct {
	lo, hi uint64
	b      []byte
	sp     uint64
	ps     int
}

func newFakeStack(hi uint64, size int, ps int) *fakeStack {
	return &fakeStack{lo: hi - uint64(size), hi: hi, b: make([]byte, size), sp: hi, ps: ps}
}

func (s *fakeStack) put(va, v uint64) {
	off := va - s.lo
	if s.ps == 4 {
		binary.LittleEndian.PutUint32(s.b[off:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(s.b[off:], v)
	}
}

func (s *fakeStack) put64(va, v uint64) { binary.LittleEndian.PutUint64(s.b[va-s.lo:], v) }

func (s *fakeStack) get(va uint64) uint64 {
	off := va - s.lo
	if s.ps == 4 {
		return uint64(binary.LittleEndian.Uint32(s.b[off:]))
	}
	return binary.LittleEndian.Uint64(s.b[off:])
}

func (s *fakeStack) push(v uint64) {
	s.sp -= uint64(s.ps)
	s.put(s.sp, v)
}

func (s *fakeStack) rng() StackRange { return StackRange{s.lo, s.hi} }

// loadMapped reads a PE test image and maps it at base, as a dump holding the
// module's memory would.
func loadMapped(t testing.TB, path string, base uint64) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := minidumptest.MapImage(b, base)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
