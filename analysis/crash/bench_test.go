package crash

import (
	"testing"

	"github.com/dumpmap/dumpmap/analysis/pe"
	"github.com/dumpmap/dumpmap/minidump"
)

// BenchmarkDecodeImage decodes a real x64 ThrowInfo read from the image file.
func BenchmarkDecodeImage(b *testing.B) {
	c := imageCases[0]
	img, _, _, tis := openImageCase(b, c)
	base := img.ImageBase
	mod := minidump.Module{Base: base, Size: img.SizeOfImage, TimeDateStamp: img.TimeDateStamp, Name: c.exe}
	in := Input{
		Exception: throwRecord(8, base+uint64(tis[0].RVA), base), Platform: minidump.PlatformWindows, PointerSize: 8,
		Modules: []minidump.Module{mod}, Image: func(*minidump.Module) (*pe.File, error) { return img, nil },
	}
	b.ReportAllocs()
	reads := 0
	for b.Loop() {
		d := &decoder{in: in, ptr: 8, r: &reader{mods: in.Modules, image: in.Image}}
		d.decode()
		reads += d.r.reads
	}
	b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
}

// BenchmarkDemangleMSVC demangles the oracle names.
func BenchmarkDemangleMSVC(b *testing.B) {
	names := []string{".?AVbad_alloc@std@@", ".?AV?$basic_string@DU?$char_traits@D@std@@V?$allocator@D@2@@std@@",
		".?AV?$Tmpl@P6AXV?$vector@HV?$allocator@H@std@@@std@@0@Z@@"}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, s := range names {
			DemangleMSVC(s)
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "names/s")
}
