package minidump_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// bpContextName maps one of our register names to the field minidump_dump prints
// for it, per layout ("" when it prints none).
func bpContextName(arch minidump.Arch, name string) string {
	switch arch {
	case minidump.ArchARM:
		if name == "fpscr" {
			return "float_save.fpscr"
		}
		return name
	case minidump.ArchARM64, minidump.ArchARM64Old:
		switch name {
		case "fp":
			return "iregs[29]"
		case "lr":
			return "iregs[30]"
		case "sp":
			return "iregs[31]"
		case "pc":
			return "iregs[32]"
		case "fpcr", "fpsr":
			return "float_save." + name
		case "cpsr":
			return name
		}
		var n int
		if _, err := fmt.Sscanf(name, "x%d", &n); err == nil {
			return fmt.Sprintf("iregs[%2d]", n)
		}
		return ""
	}
	return name
}

// TestContextBreakpad decodes every thread and exception context of every corpus
// dump and compares each register with what Breakpad's minidump_dump prints for the
// same record (it prints a context block right after each MDRawThread and after the
// MDException block).
func TestContextBreakpad(t *testing.T) {
	requirePeers(t)
	var mu sync.Mutex
	total := map[string]int{}
	forRealDumps(t, func(t *testing.T, rel, path string, f *minidump.File, data []byte) {
		si, err := f.SystemInfo()
		if err != nil {
			t.Skip("no SystemInfo")
		}
		threads, _ := f.Threads()
		exc, _ := f.Exception()
		out, _ := runPeer(t, "breakpad-dump", path)
		blocks := parseBreakpadDump(out)
		var locs []minidump.Location
		var owners []string
		var bctx []*bpBlock
		ti := 0
		for i, b := range blocks {
			if !strings.HasPrefix(b.Kind, "MDRawContext") || i == 0 {
				continue
			}
			switch prev := blocks[i-1].Kind; prev {
			case "MDRawThread":
				if ti >= len(threads) {
					t.Fatalf("minidump_dump printed more thread contexts than the %d threads", len(threads))
				}
				locs = append(locs, threads[ti].Context)
				owners = append(owners, fmt.Sprintf("thread %#x", threads[ti].ID))
				ti++
			case "MDException":
				locs = append(locs, exc.Context)
				owners = append(owners, "exception")
			default:
				continue
			}
			bctx = append(bctx, b)
		}
		checked := 0
		for i, b := range bctx {
			c, err := f.Context(locs[i], si.Arch)
			if err != nil {
				t.Errorf("%s: %s: %v (minidump_dump decoded it as %s)", rel, owners[i], err, b.Kind)
				continue
			}
			if want := strings.TrimPrefix(b.Kind, "MDRawContext"); !sameArch(c.Arch, want) {
				t.Errorf("%s: %s: decoded as %v, minidump_dump as %s", rel, owners[i], c.Arch, b.Kind)
				continue
			}
			if c.Arch != minidump.ArchARM64Old { // Breakpad prints the old layout converted
				if w, ok := b.num("context_flags"); !ok || w != c.Flags {
					t.Errorf("%s: %s: flags %#x, minidump_dump %q", rel, owners[i], c.Flags, b.Fields["context_flags"])
				}
			}
			for _, r := range c.Registers() {
				key := bpContextName(c.Arch, r.Name)
				w, ok := b.num(key)
				if !ok {
					continue // debug and segment registers it does not print for some layouts
				}
				checked++
				if w != r.Value {
					t.Errorf("%s: %s: %s = %#x, minidump_dump %s = %#x", rel, owners[i], r.Name, r.Value, key, w)
				}
			}
		}
		mu.Lock()
		total[rel] = checked
		mu.Unlock()
	})
	n, files := 0, 0
	for _, c := range total {
		n += c
		if c > 0 {
			files++
		}
	}
	if n < 1000 {
		t.Errorf("only %d registers compared", n)
	}
	t.Logf("%d registers compared with minidump_dump in %d dumps", n, files)
}

func sameArch(a minidump.Arch, bp string) bool {
	switch bp {
	case "X86":
		return a == minidump.ArchX86
	case "AMD64":
		return a == minidump.ArchAMD64
	case "ARM":
		return a == minidump.ArchARM
	case "ARM64":
		return a == minidump.ArchARM64 || a == minidump.ArchARM64Old
	}
	return false
}

// TestContextLayouts writes a register value at the offset the published structure
// gives it (computed here from the field order and sizes of Breakpad's headers, not
// from the decoder's table) and reads it back by name.
func TestContextLayouts(t *testing.T) {
	type field struct {
		name string
		size int
	}
	// lay returns name -> offset for consecutive fields.
	lay := func(start int, fs ...field) map[string]int {
		m := map[string]int{}
		off := start
		for _, f := range fs {
			if f.name != "" {
				m[f.name] = off
			}
			off += f.size
		}
		return m
	}
	u32 := func(n string) field { return field{n, 4} }
	u64 := func(n string) field { return field{n, 8} }
	x86 := lay(0, u32(""), u32("dr0"), u32("dr1"), u32("dr2"), u32("dr3"), u32("dr6"), u32("dr7"),
		field{"", 7*4 + 80 + 4}, u32("gs"), u32("fs"), u32("es"), u32("ds"),
		u32("edi"), u32("esi"), u32("ebx"), u32("edx"), u32("ecx"), u32("eax"),
		u32("ebp"), u32("eip"), u32("cs"), u32("eflags"), u32("esp"), u32("ss"))
	amd64 := lay(0, field{"", 48}, u32(""), u32("mx_csr"), field{"cs", 2}, field{"ds", 2}, field{"es", 2}, field{"fs", 2},
		field{"gs", 2}, field{"ss", 2}, u32("eflags"), u64("dr0"), u64("dr1"), u64("dr2"), u64("dr3"), u64("dr6"), u64("dr7"),
		u64("rax"), u64("rcx"), u64("rdx"), u64("rbx"), u64("rsp"), u64("rbp"), u64("rsi"), u64("rdi"),
		u64("r8"), u64("r9"), u64("r10"), u64("r11"), u64("r12"), u64("r13"), u64("r14"), u64("r15"), u64("rip"))
	armFields := []field{u32("")}
	for i := range 13 {
		armFields = append(armFields, u32(fmt.Sprintf("r%d", i)))
	}
	armFields = append(armFields, u32("sp"), u32("lr"), u32("pc"), u32("cpsr"), u64("fpscr"))
	arm := lay(0, armFields...)
	a64 := []field{}
	for i := range 29 {
		a64 = append(a64, u64(fmt.Sprintf("x%d", i)))
	}
	a64 = append(a64, u64("fp"), u64("lr"), u64("sp"), u64("pc"))
	arm64 := lay(0, append([]field{u32(""), u32("cpsr")}, append(a64, field{"", 32 * 16}, u32("fpcr"), u32("fpsr"))...)...)
	arm64old := lay(0, append([]field{u64("")}, append(a64, u32("cpsr"), u32("fpsr"), u32("fpcr"))...)...)

	cases := []struct {
		arch  minidump.Arch
		size  int
		flags uint64
		offs  map[string]int
		sizes map[string]int
	}{
		{minidump.ArchX86, minidump.ContextX86Size, 0x1003f, x86, nil},
		{minidump.ArchAMD64, minidump.ContextAMD64Size, 0x10005f, amd64, map[string]int{"cs": 2, "ds": 2, "es": 2, "fs": 2, "gs": 2, "ss": 2, "eflags": 4, "mx_csr": 4}},
		{minidump.ArchARM, minidump.ContextARMSize, 0x40000006, arm, map[string]int{"fpscr": 8}},
		{minidump.ArchARM64, minidump.ContextARM64Size, 0x400007, arm64, map[string]int{"cpsr": 4, "fpcr": 4, "fpsr": 4}},
		{minidump.ArchARM64Old, minidump.ContextARM64OldSize, 0x80000003, arm64old, map[string]int{"cpsr": 4, "fpcr": 4, "fpsr": 4}},
	}
	le := binary.LittleEndian
	for _, c := range cases {
		t.Run(c.arch.String()+fmt.Sprint(c.size), func(t *testing.T) {
			b := make([]byte, c.size)
			flagsOff := 0
			if c.arch == minidump.ArchAMD64 {
				flagsOff = 48
			}
			if c.arch == minidump.ArchARM64Old {
				le.PutUint64(b[flagsOff:], c.flags)
			} else {
				le.PutUint32(b[flagsOff:], uint32(c.flags))
			}
			want := map[string]uint64{}
			i := uint64(0)
			for name, off := range c.offs {
				i++
				size := 8
				if c.sizes != nil && c.sizes[name] != 0 {
					size = c.sizes[name]
				} else if c.arch == minidump.ArchX86 || c.arch == minidump.ArchARM {
					size = 4
				}
				v := 0x1111111111111111 * i
				switch size {
				case 2:
					v &= 0xffff
					le.PutUint16(b[off:], uint16(v))
				case 4:
					v &= 0xffffffff
					le.PutUint32(b[off:], uint32(v))
				default:
					le.PutUint64(b[off:], v)
				}
				want[name] = v
			}
			ctx, err := minidump.ParseContext(b, c.arch)
			if err != nil {
				t.Fatal(err)
			}
			if ctx.Arch != c.arch || ctx.Flags != c.flags {
				t.Errorf("arch %v flags %#x, want %v %#x", ctx.Arch, ctx.Flags, c.arch, c.flags)
			}
			for name, v := range want {
				got, ok := ctx.Reg(name)
				if !ok || got != v {
					t.Errorf("%s = %#x (%v), want %#x", name, got, ok, v)
				}
			}
			if len(ctx.Registers()) < len(want) {
				t.Errorf("Registers lists %d, want at least %d", len(ctx.Registers()), len(want))
			}
			// Inference from the record alone gives the same layout.
			if inf, err := minidump.ParseContext(b, minidump.ArchUnknown); err != nil || inf.Arch != c.arch {
				t.Errorf("inferred %v, %v; want %v", inf, err, c.arch)
			}
		})
	}
}

func TestContextAccessors(t *testing.T) {
	for _, tc := range []struct {
		arch       minidump.Arch
		pc, sp, fp string
	}{
		{minidump.ArchX86, "eip", "esp", "ebp"},
		{minidump.ArchAMD64, "rip", "rsp", "rbp"},
		{minidump.ArchARM, "pc", "sp", "r11"},
		{minidump.ArchARM64, "pc", "sp", "x29"},
		{minidump.ArchARM64Old, "x32", "x31", "fp"},
	} {
		c := minidump.NewContext(tc.arch)
		c.SetReg(tc.pc, 0x1000)
		c.SetReg(tc.sp, 0x2000)
		c.SetReg(tc.fp, 0x3000)
		if tc.arch == minidump.ArchARM64Old {
			// x32 is no alias: pc stays 0.
			c.SetReg("pc", 0x1000)
			c.SetReg("sp", 0x2000)
		}
		if c.PC() != 0x1000 || c.SP() != 0x2000 || c.FP() != 0x3000 {
			t.Errorf("%v: pc %#x sp %#x fp %#x", tc.arch, c.PC(), c.SP(), c.FP())
		}
		if _, ok := c.Reg("nonesuch"); ok {
			t.Errorf("%v: unknown register found", tc.arch)
		}
	}
	if minidump.NewContext(minidump.ArchMIPS) != nil {
		t.Error("NewContext(mips) is not nil")
	}
}

func TestContextErrors(t *testing.T) {
	le := binary.LittleEndian
	amd := make([]byte, minidump.ContextAMD64Size)
	le.PutUint32(amd[48:], minidump.ContextX86|0x1f) // an x86 flag in an amd64 record
	x86 := make([]byte, minidump.ContextX86Size)
	le.PutUint32(x86, minidump.ContextAMD64|0x3f)
	for _, tc := range []struct {
		name string
		data []byte
		arch minidump.Arch
		off  int64
		msg  string
	}{
		{"short amd64", make([]byte, 1000), minidump.ArchAMD64, 0, "needs 1232"},
		{"short x86", make([]byte, 200), minidump.ArchX86, 0, "needs 204"},
		{"foreign flags amd64", amd, minidump.ArchAMD64, 48, "another processor"},
		{"foreign flags x86", x86, minidump.ArchX86, 0, "another processor"},
		{"unknown", make([]byte, 100), minidump.ArchUnknown, 0, "cannot tell"},
		{"mips", make([]byte, 1000), minidump.ArchMIPS, 0, "not decoded"},
		{"empty", nil, minidump.ArchARM, 0, "needs 368"},
	} {
		_, err := minidump.ParseContext(tc.data, tc.arch)
		var fe *minidump.FormatError
		if !errors.As(err, &fe) || fe.Off != tc.off || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("%s: %v, want a FormatError at %#x saying %q", tc.name, err, tc.off, tc.msg)
		}
	}
	// Through File: the offset is the record's file offset.
	f := parse(t, buildWithContext(t, make([]byte, 300)))
	th, _ := f.Threads()
	_, err := f.Context(th[0].Context, minidump.ArchAMD64)
	var fe *minidump.FormatError
	if !errors.As(err, &fe) || fe.Off != int64(th[0].Context.RVA) {
		t.Errorf("File.Context: %v, want an error at the record's offset %#x", err, th[0].Context.RVA)
	}
	if _, err := f.Context(minidump.Location{Size: 1232, RVA: 0xfffffff0}, minidump.ArchAMD64); err == nil {
		t.Error("context past the end of the file decoded")
	}
	if _, err := f.Context(minidump.Location{}, minidump.ArchAMD64); err == nil {
		t.Error("empty context decoded")
	}
}

// buildWithContext makes a dump with one thread whose context record is ctx.
func buildWithContext(t *testing.T, ctx []byte) []byte {
	t.Helper()
	return minidumptest.New().SystemInfo(minidumptest.Windows10x64()).
		Thread(minidumptest.Thread{ID: 1, StackStart: 0x1000, Stack: make([]byte, 16), Context: ctx}).Bytes()
}

func TestContextMarshalRoundTrip(t *testing.T) {
	for _, arch := range []minidump.Arch{minidump.ArchX86, minidump.ArchAMD64, minidump.ArchARM, minidump.ArchARM64, minidump.ArchARM64Old} {
		c := minidump.NewContext(arch)
		for i, r := range c.Registers() {
			c.SetReg(r.Name, uint64(i+1)*0x01010101)
		}
		c.SetVector(3, [16]byte{1, 2, 3, 4, 5, 6, 7, 8})
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		d, err := minidump.ParseContext(b, arch)
		if err != nil {
			t.Fatalf("%v: %v", arch, err)
		}
		want := fmt.Sprint(c.Registers())
		if got := fmt.Sprint(d.Registers()); got != want {
			t.Errorf("%v: round trip\n got %s\nwant %s", arch, got, want)
		}
		if v, ok := d.Vector(3); !ok || v[7] != 8 {
			t.Errorf("%v: vector 3 = %v %v", arch, v, ok)
		}
	}
}
