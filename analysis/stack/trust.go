package stack

import "fmt"

// Trust says how a frame was found, from most to least reliable.
type Trust uint8

// Trust levels. Their JSON names are "context", "unwind", "cfi", "fpo",
// "frame_pointer" and "scan".
const (
	// TrustNone is the zero value; no returned frame has it.
	TrustNone Trust = iota
	// TrustContext: the thread's own CPU context (frame 0).
	TrustContext
	// TrustUnwind: the module's exception directory (.pdata and its unwind data,
	// x64 and ARM64), interpreted as Windows' RtlVirtualUnwind does; this includes
	// a leaf function, which by the same rules has no entry.
	TrustUnwind
	// TrustCFI: call frame information (Breakpad STACK CFI records, DWARF CFI)
	// from a CFIUnwinder.
	TrustCFI
	// TrustFPO: x86 frame data (FPO_DATA, FrameData, Breakpad STACK WIN) from a
	// FrameDataSource.
	TrustFPO
	// TrustFramePointer: the chain of saved frame pointers (EBP, RBP, x29).
	TrustFramePointer
	// TrustScan: a word on the stack that looks like a return address.
	TrustScan
)

var trustNames = [...]string{"", "context", "unwind", "cfi", "fpo", "frame_pointer", "scan"}

// String returns the JSON name of the trust level.
func (t Trust) String() string {
	if int(t) < len(trustNames) {
		return trustNames[t]
	}
	return fmt.Sprintf("trust(%d)", uint8(t))
}

// MarshalText writes the JSON name.
func (t Trust) MarshalText() ([]byte, error) {
	if t == TrustNone || int(t) >= len(trustNames) {
		return nil, fmt.Errorf("stack: no name for trust level %d", uint8(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads a JSON name.
func (t *Trust) UnmarshalText(b []byte) error {
	for i, n := range trustNames {
		if i > 0 && n == string(b) {
			*t = Trust(i)
			return nil
		}
	}
	return fmt.Errorf("stack: unknown trust %q", b)
}
