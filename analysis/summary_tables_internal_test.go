package analysis

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// TestProtectSlots: every protection below 0x1000 either has a direct counter
// that maps back to it, alone, or none (the list counts it).
func TestProtectSlots(t *testing.T) {
	seen := map[int]minidump.Protect{}
	for p := minidump.Protect(0); p < 0x1000; p++ {
		i := protectSlot(p)
		if i < 0 {
			continue
		}
		if i >= numProtectSlots {
			t.Fatalf("protectSlot(%#x) = %d, past the %d slots", uint32(p), i, numProtectSlots)
		}
		if q, dup := seen[i]; dup {
			t.Fatalf("protectSlot(%#x) = protectSlot(%#x) = %d", uint32(p), uint32(q), i)
		}
		seen[i] = p
		if slotProtect(i) != p {
			t.Fatalf("slotProtect(protectSlot(%#x)) = %#x", uint32(p), uint32(slotProtect(i)))
		}
	}
	if len(seen) != numProtectSlots {
		t.Fatalf("%d slots used, want %d", len(seen), numProtectSlots)
	}
	// The common values have counters of their own.
	for _, p := range []minidump.Protect{minidump.PageNoAccess, minidump.PageReadOnly, minidump.PageReadWrite,
		minidump.PageExecuteRead, minidump.PageExecuteReadWrite, minidump.PageReadWrite | minidump.PageGuard} {
		if protectSlot(p) < 0 {
			t.Errorf("protectSlot(%v) = -1", p)
		}
	}
}

// TestSummaryTablesCountedLikeMaps counts the protection, state and type tables
// of random maps, whose committed regions carry protections of every kind
// (direct counters, combinations, values past 0x800), with Go maps over the
// regions and wants the summary's rows.
func TestSummaryTablesCountedLikeMaps(t *testing.T) {
	odd := []minidump.Protect{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x104, 0x204, 0x404, 0x704, 0x140,
		0x06, 0x00, 0x800, 0x40000000, 0x40000020, 0x7ff, 0x3ff, 0x1ff, 0x81, 0x180, 0xffffffff}
	checked, odds := 0, 0
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 12))
		walk := randomWalk(r, false)
		for i := range walk {
			if walk[i].State == minidump.MemCommit {
				walk[i].Protect = odd[r.IntN(len(odd))]
			}
		}
		data := minidumptest.New().SystemInfo(minidumptest.Windows10x64()).Region(walk...).Bytes()
		f, _ := minidump.New(bytes.NewReader(data), int64(len(data)))
		for _, noInc := range []bool{false, true} {
			noLayoutSummary = noInc
			m, err := NewMap(process.New(f, process.Options{}), Options{})
			noLayoutSummary = false
			if err != nil {
				continue
			}
			type sum struct {
				n    int
				size uint64
			}
			prot, state, typ := map[string]sum{}, map[string]sum{}, map[string]sum{}
			add := func(m map[string]sum, k string, size uint64) {
				s := m[k]
				s.n++
				s.size += size
				m[k] = s
			}
			for _, rg := range m.Regions {
				if rg.IsFree() {
					add(state, "MEM_FREE", rg.Size)
					continue
				}
				if rg.State == minidump.MemCommit || rg.State == minidump.MemReserve {
					add(state, rg.State.String(), rg.Size)
				}
				if rg.Type == minidump.MemPrivate || rg.Type == minidump.MemImage || rg.Type == minidump.MemMapped {
					add(typ, rg.Type.String(), rg.Size)
				}
				if rg.State == minidump.MemCommit {
					name := rg.Protect.String()
					if name == "" {
						name = fmt.Sprintf("%#x", uint32(rg.Protect))
					}
					add(prot, name, rg.Size)
					if protectSlot(rg.Protect) < 0 {
						odds++
					}
				}
			}
			s := m.Summary()
			checked++
			for _, c := range []struct {
				what string
				want map[string]sum
				rows []SummaryRow
			}{{"protect", prot, s.Protect}, {"state", state, s.State}, {"type", typ, s.Type}} {
				if len(c.rows) != len(c.want) {
					t.Fatalf("seed %d (layout's count off: %v): %d %s rows, want %d: %+v", seed, noInc, len(c.rows), c.what, len(c.want), c.rows)
				}
				for _, row := range c.rows {
					if w := c.want[row.Name]; w.n != row.Regions || w.size != row.Size {
						t.Fatalf("seed %d (layout's count off: %v): %s %s = %d regions %#x bytes, want %d %#x", seed, noInc, c.what, row.Name, row.Regions, row.Size, w.n, w.size)
					}
				}
			}
		}
	}
	// The random walks must have reached both kinds of counter.
	if checked < 300 || odds < 100 {
		t.Fatalf("%d maps checked, %d regions with protections the list counts: the walks went wrong", checked, odds)
	}
}
