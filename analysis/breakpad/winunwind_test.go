package breakpad

import "testing"

// TestUnwindWinFPODoc checks the records without a program against the
// rules of symbol_files.md ("Interpreting a STACK WIN record"): with
// frame_size = locals + saved registers + the callee's parameter size, the
// return address is at ESP + frame_size, the caller's ESP is ESP +
// frame_size + 4, and the caller's EBP is saved at ESP + the callee's
// parameter size + saved registers - 8 when the function allocates EBP, and
// is the callee's EBP otherwise.
func TestUnwindWinFPODoc(t *testing.T) {
	const esp, ebp = 0x8000, 0x9000
	for _, tt := range []struct {
		name                        string
		locals, saved, calleeParams uint32
		allocatesBP                 bool
	}{
		{"no EBP", 0x10, 0x8, 0, false},
		{"no EBP, callee params", 0x10, 0x8, 0xc, false},
		{"EBP allocated", 0x20, 0xc, 0, true},
		{"EBP allocated, callee params", 0x20, 0xc, 0x8, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			frameSize := tt.locals + tt.saved + tt.calleeParams
			mem := mapMemory{}
			mem.put32(esp+uint64(frameSize), 0x401234)
			savedEBP := uint64(esp + tt.calleeParams + tt.saved - 8)
			mem.put32(savedEBP, 0x8800)
			mem.put32(0x8800, 0) // the saved EBP points at readable stack
			info := WinFrameInfo{Type: WinFrameFPO, RVA: 0x1000, CodeSize: 0x100, LocalSize: tt.locals, SavedRegSize: tt.saved, AllocatesBasePointer: tt.allocatesBP}
			caller, trust, err := UnwindWin(&info, WinUnwind{
				Regs: Registers{"$eip": 0x1010, "$esp": esp, "$ebp": ebp}, Memory: mem, CalleeParamSize: tt.calleeParams,
			})
			if err != nil || trust != TrustCFI {
				t.Fatalf("%v, %v", err, trust)
			}
			wantEBP := uint64(ebp)
			if tt.allocatesBP {
				wantEBP = 0x8800
			}
			if caller["$eip"] != 0x401234 || caller["$esp"] != uint64(esp+frameSize+4) || caller["$ebp"] != wantEBP {
				t.Errorf("caller %v; want eip 0x401234 esp %#x ebp %#x", caller, esp+frameSize+4, wantEBP)
			}
		})
	}
}

// TestUnwindWinScan: when the program cannot run (EBP points nowhere), the
// stack is scanned from ESP for a value the walker accepts as code, and the
// caller's ESP is just above it (Breakpad's fallback); without IsCode the
// step fails.
func TestUnwindWinScan(t *testing.T) {
	mem := mapMemory{}
	for a := uint64(0x8000); a < 0x8100; a += 4 {
		mem.put32(a, 0x1111)
	}
	mem.put32(0x8010, 0x401234)
	info := WinFrameInfo{Type: WinFrameFrameData, RVA: 0x1000, CodeSize: 0x100, Program: "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + ="}
	in := WinUnwind{Regs: Registers{"$eip": 0x1010, "$esp": 0x8000, "$ebp": 0x100}, Memory: mem}
	if _, _, err := UnwindWin(&info, in); err == nil {
		t.Error("no scanning allowed, yet the step succeeded")
	}
	in.IsCode = func(a uint64) bool { return a >= 0x400000 && a < 0x500000 }
	caller, trust, err := UnwindWin(&info, in)
	if err != nil || trust != TrustScan || caller["$eip"] != 0x401234 || caller["$esp"] != 0x8014 {
		t.Errorf("caller %v, %v, %v", caller, trust, err)
	}
}
