package stack

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// symDouble is a Symbolizer test double: one function covering a range of module
// offsets, with one line.
type symDouble struct {
	name        string
	start, size uint64
	file        string
	line        int
	asked       []uint64
}

func (s *symDouble) Symbolize(m *Module, off uint64) (Symbol, bool) {
	s.asked = append(s.asked, off)
	if off < s.start || off >= s.start+s.size {
		return Symbol{}, false
	}
	return Symbol{Function: s.name, Start: s.start, Size: s.size, File: s.file, Line: s.line}, true
}

// TestSymbolizer: a caller frame is looked up at the byte before its return
// address (inside the call) and its function offset is that of the return address,
// as Breakpad and WinDbg print it.
func TestSymbolizer(t *testing.T) {
	st := newFakeStack(0x130000, 0x1000, 4)
	st.put(0x12fe00, x86RA1)
	sym := &symDouble{name: "Loader::Add", start: 0x1000, size: 5, file: `c:\src\loader.cpp`, line: 42}
	w := NewWalker(ArchX86, x86Process(st), x86Modules, Options{Windows: true, Symbolizer: sym})
	frames, _ := w.Walk(x86Regs(0x401500, 0x12fe00, 0), st.rng(), StackRange{})
	if len(frames) < 2 {
		t.Fatalf("%d frames", len(frames))
	}
	f := frames[1]
	// x86RA1 = 0x401005 returns just past the function's 5 bytes: only the byte
	// before it lies in the function.
	if f.Function != "Loader::Add" || f.FunctionOffset != 5 || f.File != sym.file || f.Line != 42 || f.ModuleOffset != 0x1005 {
		t.Errorf("frame 1: %+v", f)
	}
	if got := f.Location(); got != "app.exe!Loader::Add+0x5" {
		t.Errorf("Location %q", got)
	}
	if frames[0].Function != "" || frames[0].Location() != "app.exe+0x1500" {
		t.Errorf("frame 0: %q %q", frames[0].Function, frames[0].Location())
	}
	if sym.asked[0] != 0x1500 || sym.asked[1] != 0x1004 {
		t.Errorf("asked at %#x", sym.asked)
	}
}

// TestJSON checks the JSON contract: key names and order, hex strings, the fields
// left out when unknown, and that it reads back.
func TestJSON(t *testing.T) {
	r := Result{Threads: []Thread{
		{ID: 0x1a2b, Crashed: true, Frames: []Frame{
			{Index: 0, IP: 0x7ff6a0001234, SP: 0xd2de4ff720, Module: "app.exe", ModuleBase: 0x7ff6a0000000, ModuleOffset: 0x1234,
				Function: "Loader::Add", FunctionOffset: 0x34, File: `c:\src\loader.cpp`, Line: 42, Trust: TrustContext},
			{Index: 1, IP: 0x7ff6a0002000, SP: 0xd2de4ff780, Module: "app.exe", ModuleBase: 0x7ff6a0000000, ModuleOffset: 0x2000, Trust: TrustUnwind},
			{Index: 2, IP: 0x12345678, SP: 0xd2de4ff790, Trust: TrustScan},
		}},
		{ID: 7},
	}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"threads":[{"id":6699,"crashed":true,"frames":[` +
		`{"index":0,"ip":"0x7ff6a0001234","sp":"0xd2de4ff720","module":"app.exe","module_offset":"0x1234","function":"Loader::Add","function_offset":"0x34","file":"c:\\src\\loader.cpp","line":42,"trust":"context"},` +
		`{"index":1,"ip":"0x7ff6a0002000","sp":"0xd2de4ff780","module":"app.exe","module_offset":"0x2000","trust":"unwind"},` +
		`{"index":2,"ip":"0x12345678","sp":"0xd2de4ff790","trust":"scan"}]},` +
		`{"id":7,"crashed":false,"frames":[]}]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Threads) != 2 || back.Threads[0].Frames[0].FunctionOffset != 0x34 || back.Threads[0].Frames[1].Trust != TrustUnwind ||
		back.Threads[0].Frames[1].ModuleBase != 0x7ff6a0000000 || back.Threads[1].ID != 7 {
		t.Errorf("read back %+v", back)
	}
	// Every trust level has its name; none is left nameless.
	for tr := TrustContext; tr <= TrustScan; tr++ {
		if b, err := tr.MarshalText(); err != nil || len(b) == 0 {
			t.Errorf("trust %d: %q %v", tr, b, err)
		}
	}
	if _, err := json.Marshal(Frame{Trust: TrustNone}); err == nil {
		t.Error("a frame without trust marshals")
	}
}

func TestWriteText(t *testing.T) {
	th := Thread{ID: 0x5f78, Crashed: true, Frames: []Frame{
		{Index: 0, IP: 0x7ff75355af42, SP: 0xd2de4ff720, Module: "tiny.exe", ModuleOffset: 0x1af42, Trust: TrustContext},
		{Index: 1, IP: 0x7ffb0b1815a0, SP: 0xd2de4ff740, Module: "ntdll.dll", Function: "RtlUserThreadStart", FunctionOffset: 0x21, File: "rtl.c", Line: 7, Trust: TrustUnwind},
	}}
	var b bytes.Buffer
	if err := WriteText(&b, &th, 8); err != nil {
		t.Fatal(err)
	}
	want := "Thread 0x5f78 (crashed)\n" +
		" # Child-SP          RetAddr           Call Site\n" +
		"00 000000d2`de4ff720 00007ffb`0b1815a0 tiny.exe+0x1af42  (context)\n" +
		"01 000000d2`de4ff740 -                 ntdll.dll!RtlUserThreadStart+0x21 [rtl.c @ 7]  (unwind)\n"
	if b.String() != want {
		t.Errorf("text\n got %q\nwant %q", b.String(), want)
	}
	b.Reset()
	WriteText(&b, &Thread{ID: 1, Frames: []Frame{{IP: 0x401000, SP: 0x12fe00, Trust: TrustContext}}}, 4)
	if !strings.Contains(b.String(), "00 0012fe00 -        0x401000  (context)") {
		t.Errorf("32-bit text %q", b.String())
	}
}

func TestSignature(t *testing.T) {
	fr := func(mod, fn string) Frame { return Frame{Module: mod, Function: fn, ModuleOffset: 0x10} }
	stack := []Frame{
		fr("KERNELBASE.dll", "RaiseException"),
		fr("vcruntime140.dll", "_CxxThrowException"),
		fr("msvcp140.dll", "std::_Xbad_alloc"),
		fr("app.exe", "operator new"),
		fr("app.exe", "std::_Allocate<16,std::_Default_allocate_traits,0>"),
		fr("app.exe", "std::vector<Item,std::allocator<Item> >::_Emplace_reallocate<Item const &>"),
		fr("app.exe", "Loader::Add"),
		fr("app.exe", "main"),
		fr("kernel32.dll", "BaseThreadInitThunk"),
	}
	if got, want := Signature(stack, nil), "std::vector<Item,std::allocator<Item> >::_Emplace_reallocate<Item const &> | Loader::Add"; got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	// Unsymbolized frames are named module+offset and end the signature.
	if got := Signature([]Frame{fr("ntdll.dll", "KiUserExceptionDispatcher"), {Module: "app.exe", ModuleOffset: 0x1234}, fr("app.exe", "main")}, nil); got != "app.exe+0x1234" {
		t.Errorf("signature %q", got)
	}
	if got := Signature([]Frame{{IP: 0x1234}}, nil); got != "0x1234" {
		t.Errorf("signature of an address %q", got)
	}
	// Rules read from a file extend the defaults.
	rules := DefaultSignatureRules()
	if err := ReadSignatureRules(strings.NewReader("# ours\n[irrelevant]\nLoader::*\n[prefix]\nmain\n"), &rules); err != nil {
		t.Fatal(err)
	}
	// _Emplace_reallocate is a prefix, Loader::Add is now irrelevant and main a
	// prefix: the signature runs on to the stack's last relevant frame.
	if got, want := Signature(stack, &rules), "std::vector<Item,std::allocator<Item> >::_Emplace_reallocate<Item const &> | main"; got != want {
		t.Errorf("extended rules: %q, want %q", got, want)
	}
	for _, bad := range []string{"pattern before section\n", "[prefix]\n[a-\n"} {
		r := DefaultSignatureRules()
		if err := ReadSignatureRules(strings.NewReader(bad), &r); err == nil {
			t.Errorf("rules %q accepted", bad)
		}
	}
	if got := Signature(nil, nil); got != "" {
		t.Errorf("empty stack: %q", got)
	}
}

func TestBreakpadNames(t *testing.T) {
	for _, tc := range []struct {
		arch  Arch
		names []string
	}{
		{ArchX86, []string{"$eip", "$esp", "$ebp", "$ebx"}},
		{ArchAMD64, []string{"$rip", "$rsp", "$rbp", "$r12"}},
		{ArchARM64, []string{"pc", "sp", "x29", "x30", "x19"}},
		{ArchARM, []string{"pc", "sp", "lr", "r11", "r7"}},
	} {
		in := map[string]uint64{".cfa": 1, "$T0": 2}
		for i, n := range tc.names {
			in[n] = uint64(0x1000 + i)
		}
		r := RegsFromBreakpad(tc.arch, in)
		out := r.BreakpadMap()
		for _, n := range tc.names {
			if out[n] != in[n] {
				t.Errorf("%v %s: %#x, want %#x", tc.arch, n, out[n], in[n])
			}
		}
		if len(out) != len(tc.names) {
			t.Errorf("%v: %v", tc.arch, out)
		}
	}
}
