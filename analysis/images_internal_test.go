package analysis

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// imagesAgree builds the map of data twice, naming the images the layout recorded
// (what NewMap does) and those the sweep over every region finds (the plain
// algorithm the record lets classify skip), and wants the same regions, names and
// unloaded marks.
func imagesAgree(t *testing.T, name string, data []byte) (images int, ok bool) {
	t.Helper()
	build := func(sweep bool) *Map {
		defer func(v bool) { sweepImages = v }(sweepImages)
		sweepImages = sweep
		f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil
		}
		m, err := NewMap(process.New(f, process.Options{}), Options{NoHeaps: true})
		if err != nil {
			return nil
		}
		return m
	}
	fast, sweep := build(false), build(true)
	if fast == nil || sweep == nil {
		if (fast == nil) != (sweep == nil) {
			t.Fatalf("%s: one build failed", name)
		}
		return 0, false
	}
	if len(fast.Regions) != len(sweep.Regions) {
		t.Fatalf("%s: %d regions, the sweep's map %d", name, len(fast.Regions), len(sweep.Regions))
	}
	for i := range fast.Regions {
		a, b := &fast.Regions[i], &sweep.Regions[i]
		if !sameRegion(*a, *b) || a.Unloaded != b.Unloaded || a.Module() != b.Module() {
			t.Fatalf("%s: region %d: %#x %v %q %q unloaded %v, the sweep's %#x %v %q %q unloaded %v", name, i,
				a.Base, a.Usage, a.Detail(), a.Module(), a.Unloaded, b.Base, b.Usage, b.Detail(), b.Module(), b.Unloaded)
		}
		if a.Usage == UsageImage {
			images++
		}
	}
	return images, true
}

// TestImagesNamedLikeTheSweep: classify names the images the layout recorded
// without reading every region; on random maps with images,
// modules that overlap, share bases, stop short or are missing, and unloaded
// modules, and on every real dump, the result is the sweep's.
func TestImagesNamedLikeTheSweep(t *testing.T) {
	// Split layouts too, so that both halves name images as they lay them out.
	defer func(v int) { splitMin = v }(splitMin)
	splitMin = 4
	withImages := 0
	for seed := range uint64(600) {
		r := rand.New(rand.NewPCG(seed, 21))
		x86 := seed%3 == 0
		b := minidumptest.New().SystemInfo(minidumptest.Windows10x64())
		if x86 {
			b = minidumptest.New().SystemInfo(minidumptest.Windows7x86())
		}
		var walk []minidump.MemoryInfo
		var bases []uint64
		a := uint64(0x10000)
		for range 1 + r.IntN(60) {
			size := uint64(1+r.IntN(40)) << 12
			e := minidump.MemoryInfo{BaseAddress: a, AllocationBase: a, RegionSize: size, State: minidump.MemCommit, Type: minidump.MemImage, Protect: minidump.PageReadOnly}
			switch r.IntN(6) {
			case 0:
				e.State, e.Type, e.Protect, e.AllocationBase = minidump.MemFree, 0, minidump.PageNoAccess, 0
			case 1:
				e.Type = minidump.MemPrivate
			}
			if r.IntN(25) == 0 && a >= 0x2000 {
				e.BaseAddress -= 0x2000 // an overlap
			}
			walk = append(walk, e)
			if e.Type == minidump.MemImage {
				bases = append(bases, e.BaseAddress)
			}
			a = e.BaseAddress + e.RegionSize
		}
		for _, base := range bases {
			if r.IntN(3) == 0 {
				continue // an image the list does not cover from its start
			}
			if r.IntN(8) == 0 {
				base -= uint64(r.IntN(3)) << 12 // starts below, or at, the region
			}
			size := uint32(1+r.IntN(30)) << 12
			n := 1
			if r.IntN(10) == 0 {
				n = 2 // two modules at one base
			}
			for k := range n {
				name := fmt.Sprintf(`C:\m\%d-%d.dll`, base, k)
				if r.IntN(6) == 0 {
					name = ""
				}
				b.Module(minidumptest.Module{Base: base, Size: size, Name: name})
			}
		}
		for range r.IntN(3) {
			if len(bases) > 0 {
				base := bases[r.IntN(len(bases))]
				b.UnloadedModule(minidumptest.UnloadedModule{Base: base, Size: uint32(1+r.IntN(8)) << 12, Name: fmt.Sprintf(`C:\gone\%d.dll`, base)})
			}
		}
		n, _ := imagesAgree(t, fmt.Sprintf("seed %d", seed), b.Region(walk...).Bytes())
		if n > 0 {
			withImages++
		}
	}
	if withImages < 300 {
		t.Fatalf("only %d random maps had images", withImages)
	}
	// Real dumps.
	dir, ok := sharedtest.Find()
	if !ok {
		t.Log("../shared not found: real dumps not compared")
		return
	}
	checked := 0
	filepath.Walk(filepath.Dir(dir), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Size() > 64<<20 {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(data, []byte("MDMP")) {
			return nil
		}
		if n, ok := imagesAgree(t, p, data); ok && n > 0 {
			checked++
		}
		return nil
	})
	if checked < 20 {
		t.Fatalf("only %d real dumps with images compared", checked)
	}
	t.Logf("%d real dumps with images compared", checked)
}

// TestLayoutNamedImagesNotSwept: when the layout named every image it wrote
// (the modules were known before it reached them, as on one core), classify
// does not sweep the map for them again. It did: an empty record was nil, and
// nil means "not recorded".
func TestLayoutNamedImagesNotSwept(t *testing.T) {
	// On one P the layout goroutine runs only once NewMap waits for it, after the
	// modules are read: it names every image itself.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, split := range []int{1 << 15, 4} {
		func() {
			defer func(v int) { splitMin = v }(splitMin)
			splitMin = split
			b := minidumptest.New().SystemInfo(minidumptest.Windows10x64())
			var walk []minidump.MemoryInfo
			a := uint64(0x10000)
			for i := range 200 {
				e := minidump.MemoryInfo{BaseAddress: a, AllocationBase: a, RegionSize: 0x10000, State: minidump.MemCommit, Type: minidump.MemPrivate, Protect: minidump.PageReadWrite}
				if i%4 == 0 {
					e.Type, e.Protect = minidump.MemImage, minidump.PageReadOnly
					b.Module(minidumptest.Module{Base: a, Size: 0x10000, Name: fmt.Sprintf(`C:\m\%d.dll`, i)})
				}
				walk = append(walk, e)
				a += e.RegionSize
			}
			data := b.Region(walk...).Bytes()
			f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			before := imageSweeps.Load()
			m, err := NewMap(process.New(f, process.Options{}), Options{NoHeaps: true})
			if err != nil {
				t.Fatal(err)
			}
			if n := imageSweeps.Load() - before; n != 0 {
				t.Errorf("splitMin %d: classify swept the map %d times for images the layout named", split, n)
			}
			named := 0
			for i := range m.Regions {
				if r := &m.Regions[i]; r.Usage == UsageImage && r.Module() != "" {
					named++
				}
			}
			if named != 50 {
				t.Errorf("splitMin %d: %d images named, want 50", split, named)
			}
			// And the plain algorithm agrees.
			imagesAgree(t, fmt.Sprintf("splitMin %d", split), data)
		}()
	}
}
