package breakpad

import (
	"errors"
	"testing"
)

// fakeMemory answers every 4- or 8-byte read at a with a+1, like the
// FakeMemoryRegion of Breakpad's postfix_evaluator_unittest.cc.
type fakeMemory struct{}

func (fakeMemory) ReadAt(p []byte, a uint64) (int, error) {
	v := a + 1
	for i := range p {
		p[i] = byte(v >> (8 * i))
	}
	return len(p), nil
}

// TestEvaluatorBreakpadVectors runs the programs of Breakpad's
// src/processor/postfix_evaluator_unittest.cc (evaluate_tests_0 and _1)
// through one Evaluator per set, as that test does (the dictionary carries
// over between programs), and checks its validate_data tables.
func TestEvaluatorBreakpadVectors(t *testing.T) {
	sets := []struct {
		vars  Registers
		progs []struct {
			prog string
			ok   bool
		}
		want Registers
	}{
		{
			vars: Registers{},
			progs: []struct {
				prog string
				ok   bool
			}{
				{"$rAdd 2 2 + =", true},
				{"$rAdd $rAdd 2 + =", true},
				{"$rAdd 2 $rAdd + =", true},
				{"99", false},
				{"$rAdd2 2 2 + =", true},
				{"$rAdd2\t2\n2 + =", true},
				{"$rAdd2 2 2 + = ", true},
				{" $rAdd2 2 2 + =", true},
				{"$rAdd2  2 2 +   =", true},
				{"$T0 2 = +", false},
				{"2 + =", false},
				{"2 +", false},
				{"+", false},
				{"^", false},
				{"=", false},
				{"2 =", false},
				{"2 2 + =", false},
				{"2 2 =", false},
				{"k 2 =", false},
				{"2", false},
				{"2 2 +", false},
				{"$rAdd", false},
				{"0 $T1 0 0 + =", false},
				{"$T2 $T2 2 + =", false},
				{"$rMul 9 6 * =", true},
				{"$rSub 9 6 - =", true},
				{"$rDivQ 9 6 / =", true},
				{"$rDivM 9 6 % =", true},
				{"$rDeref 9 ^ =", true},
				{"$rAlign 36 8 @ =", true},
				{"$rAdd3 2 2 + =$rMul2 9 6 * =", true},
			},
			want: Registers{"$rAdd": 8, "$rAdd2": 4, "$rSub": 3, "$rMul": 54, "$rDivQ": 1, "$rDivM": 3,
				"$rDeref": 10, "$rAlign": 32, "$rAdd3": 4, "$rMul2": 54},
		},
		{
			vars: Registers{"$ebp": 0xbfff0010, "$eip": 0x10000000, "$esp": 0xbfff0000,
				".cbSavedRegs": 4, ".cbParams": 4, ".raSearchStart": 0xbfff0020},
			progs: []struct {
				prog string
				ok   bool
			}{
				{"$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + =", true},
				{"$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + = $ebx $T0 28 - ^ =", true},
				{"$T0 $ebp = $T2 $esp = $T1 .raSearchStart = $eip $T1 ^ = $ebp $T0 = $esp $T1 4 + = $L $T0 .cbSavedRegs - = $P $T1 4 + .cbParams + = $ebx $T0 28 - ^ =", true},
			},
			want: Registers{"$T0": 0xbfff0012, "$T1": 0xbfff0020, "$T2": 0xbfff0019, "$eip": 0xbfff0021,
				"$ebp": 0xbfff0012, "$esp": 0xbfff0024, "$L": 0xbfff000e, "$P": 0xbfff0028,
				"$ebx": 0xbffefff7, ".cbSavedRegs": 4, ".cbParams": 4},
		},
	}
	for si, set := range sets {
		ev := Evaluator{Vars: set.vars, Memory: fakeMemory{}, Width: 4}
		for _, p := range set.progs {
			if err := ev.Run(p.prog); (err == nil) != p.ok {
				t.Errorf("set %d: %q: err = %v, want ok=%v", si, p.prog, err, p.ok)
			}
		}
		for k, v := range set.want {
			if got, ok := ev.Vars[k]; !ok || got != v {
				t.Errorf("set %d: %s = %#x (%v), want %#x", si, k, got, ok, v)
			}
		}
	}
}

// TestEvaluatorValue covers expression evaluation (the CFI form), the
// machine-width arithmetic and the bounds.
func TestEvaluatorValue(t *testing.T) {
	deep := ""
	for i := 0; i < MaxStack+1; i++ {
		deep += "1 "
	}
	tests := []struct {
		expr  string
		width int
		want  uint64
		ok    bool
	}{
		{"$esp 4 +", 4, 0x1004, true},
		{"$esp 8 -", 4, 0xFF8, true},
		{"0 4 -", 4, 0xFFFFFFFC, true},           // wraps at 32 bits
		{"0 4 -", 8, 0xFFFFFFFFFFFFFFFC, true},   // and at 64
		{".cfa -8 + ^", 8, 0x2000 - 8 + 1, true}, // fake memory: a+1
		{".cfa -8 +", 4, 0x2000 - 8, true},       // negative literal
		{"$esp 16 @", 4, 0x1000, true},           // aligned already
		{"$esp 3 + 16 @", 4, 0x1000, true},       // aligned down
		{"1 0 /", 4, 0, false},                   // division by zero
		{"1 0 %", 4, 0, false},                   // modulus by zero
		{"$nothere", 4, 0, false},                // unknown identifier
		{".undef", 8, 0, false},                  // CFI's unrecoverable register
		{"1 2", 4, 0, false},                     // two values left
		{"", 4, 0, false},                        // none left
		{deep, 4, 0, false},                      // stack bound
		{"$esp 4 +", 3, 0, false},                // bad width
	}
	for _, tt := range tests {
		ev := Evaluator{Vars: Registers{"$esp": 0x1000, ".cfa": 0x2000}, Memory: fakeMemory{}, Width: tt.width}
		got, err := ev.Value(tt.expr)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%q (width %d) = %#x, %v; want %#x ok=%v", tt.expr, tt.width, got, err, tt.want, tt.ok)
		}
	}
	// A dereference that cannot be read names ErrMemory.
	ev := Evaluator{Vars: Registers{"$esp": 8}, Memory: mapMemory{}, Width: 4}
	if _, err := ev.Value("$esp ^"); !errors.Is(err, ErrMemory) {
		t.Errorf("unreadable dereference: %v", err)
	}
}

// mapMemory is sparse memory of 4-byte-aligned little-endian words.
type mapMemory map[uint64]byte

func (m mapMemory) ReadAt(p []byte, a uint64) (int, error) {
	for i := range p {
		b, ok := m[a+uint64(i)]
		if !ok {
			return i, errors.New("not mapped")
		}
		p[i] = b
	}
	return len(p), nil
}

func (m mapMemory) put32(a uint64, v uint32) {
	for i := 0; i < 4; i++ {
		m[a+uint64(i)] = byte(v >> (8 * i))
	}
}

func (m mapMemory) put(a uint64, b []byte) {
	for i, x := range b {
		m[a+uint64(i)] = x
	}
}
