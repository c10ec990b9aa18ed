package breakpad

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// bigSym writes a synthetic symbol file shaped like dump_syms output: n
// functions, each with 8 line records, a STACK CFI INIT and 3 deltas, and
// a STACK WIN record.
func bigSym(n int) []byte {
	var b strings.Builder
	b.WriteString("MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 big\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "FILE %d /src/dir%d/file%d.cc\n", i, i%7, i)
	}
	for i := 0; i < n; i++ {
		a := 0x1000 + i*0x80
		fmt.Fprintf(&b, "FUNC %x 80 0 namespace::Class%d::method(int, char const*)\n", a, i)
		for j := 0; j < 8; j++ {
			fmt.Fprintf(&b, "%x 10 %d %d\n", a+j*16, 100+j, i%100)
		}
	}
	for i := 0; i < n; i++ {
		a := 0x1000 + i*0x80
		fmt.Fprintf(&b, "STACK CFI INIT %x 80 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n", a)
		fmt.Fprintf(&b, "STACK CFI %x .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n", a+1)
		fmt.Fprintf(&b, "STACK CFI %x .cfa: $rbp 16 +\n", a+4)
		fmt.Fprintf(&b, "STACK CFI %x .cfa: $rsp 8 +\n", a+0x7f)
		fmt.Fprintf(&b, "STACK WIN 4 %x 80 4 0 8 4 10 0 1 $T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + =\n", a)
	}
	return []byte(b.String())
}

// BenchmarkParse parses a synthetic 100,000-function file (about 40 MB).
func BenchmarkParse(b *testing.B) {
	data := bigSym(100000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFixture parses the dump_syms output of the CFI fixture.
func BenchmarkParseFixture(b *testing.B) {
	data, err := os.ReadFile("testdata/cfi-x64/prog.sym")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup names addresses (function, line) in the 100,000-function
// file.
func BenchmarkLookup(b *testing.B) {
	f, err := Parse(bigSym(100000))
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		a := uint64(0x1000 + (i*7919)%100000*0x80 + 0x33)
		i++
		if _, ok := f.Lookup(a); !ok {
			b.Fatal(a)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkUnwindCFI looks up the rules and unwinds one x86-64 frame.
func BenchmarkUnwindCFI(b *testing.B) {
	f, err := Parse(bigSym(100000))
	if err != nil {
		b.Fatal(err)
	}
	regs := Registers{"$rip": 0, "$rsp": 0x7000, "$rbp": 0x7100, "$rbx": 1}
	i := 0
	for b.Loop() {
		a := uint64(0x1000 + (i*7919)%100000*0x80 + 0x10)
		i++
		if _, err := f.UnwindCFI(ArchAMD64, a, regs, fakeMemory{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkUnwindWin looks up a STACK WIN record and runs its program.
func BenchmarkUnwindWin(b *testing.B) {
	f, err := Parse(bigSym(100000))
	if err != nil {
		b.Fatal(err)
	}
	in := WinUnwind{Regs: Registers{"$eip": 0, "$esp": 0x7000, "$ebp": 0x7100}, Memory: fakeMemory{}}
	i := 0
	for b.Loop() {
		a := uint64(0x1000 + (i*7919)%100000*0x80 + 0x10)
		i++
		if _, _, err := f.UnwindWin(a, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}
