package breakpad

import (
	"errors"
	"fmt"
	"strings"
)

// Trust says how a caller frame was found, as Breakpad's FrameTrust does.
type Trust int

// Trust levels of an unwind step, best first.
const (
	// TrustCFI: the record's program (or the FPO rule) gave the caller.
	TrustCFI Trust = iota
	// TrustCFIScan: the program ran, but its return address pointed
	// outside any module and a stack scan found a better one.
	TrustCFIScan
	// TrustScan: the program failed; the return address was found by
	// scanning the stack.
	TrustScan
)

// String names t as Breakpad's minidump_stackwalk prints trust.
func (t Trust) String() string {
	switch t {
	case TrustCFI:
		return "call frame info"
	case TrustCFIScan:
		return "call frame info with scanning"
	case TrustScan:
		return "stack scanning"
	}
	return fmt.Sprintf("Trust(%d)", int(t))
}

// raSearchWords is how far a scan looks for a return address: 40 words,
// four times that from the context frame (Breakpad's kRASearchWords and
// Stackwalker::ScanForReturnAddress).
const raSearchWords = 40

// WinUnwind is the input of an x86 STACK WIN (or PDB FPO/FrameData) unwind
// step for one frame.
type WinUnwind struct {
	// Regs are the frame's registers: $eip, $esp and $ebp, and $ebx,
	// $esi, $edi when known.
	Regs Registers
	// Memory reads the stack; values are 4 bytes.
	Memory Memory
	// CalleeParamSize is the ParamSize of the record (STACK WIN or FUNC)
	// of the frame this frame called, 0 for the context frame or when
	// unknown: the callee's arguments are still on this frame's stack.
	CalleeParamSize uint32
	// ContextFrame marks the innermost frame (the thread's context): its
	// scans look four times farther, and an FPO system-call stub that
	// already returned is recognised, as in Breakpad.
	ContextFrame bool
	// IsCode reports whether a value read from the stack may be a return
	// address: Breakpad accepts an address inside a loaded module for
	// which it has symbols. Nil disables stack scanning: the program's
	// result is then used as it is.
	IsCode func(addr uint64) bool
}

// Programs Breakpad uses for records without a program string
// (stackwalker_x86.cc, GetCallerByWindowsFrameInfo).
const (
	// The function saved the caller's EBP in its saved-register area.
	progAllocatesBP = "$eip .raSearchStart ^ = $ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = $esp .raSearchStart 4 + ="
	// The function does not touch EBP.
	progNoBP = "$eip .raSearchStart ^ = $esp .raSearchStart 4 + ="
)

// UnwindWin computes the caller's registers from a frame's with the
// frame's STACK WIN, FPO or FrameData record, following Breakpad's
// StackwalkerX86::GetCallerByWindowsFrameInfo:
//
//   - .raSearchStart is ESP + CalleeParamSize + LocalSize + SavedRegSize,
//     moved up to three words to the first value that IsCode accepts (the
//     stack may have been aligned); EBP + 4 instead when the program aligns
//     with @ and EBP is known;
//   - the record's program runs with $ebp, $esp, $ebx, .cbParams,
//     .cbCalleeParams, .cbSavedRegs, .cbLocals, .raSearchStart and
//     .raSearch defined; a record without a program uses Breakpad's rules for
//     FPO frames that do and do not allocate EBP;
//   - when the program fails or does not set $eip and $esp, the stack is
//     scanned from ESP for a return address (TrustScan); when it sets an
//     $eip that IsCode rejects, the stack is scanned above .raSearchStart
//     (TrustCFIScan); a recovered EBP that is not readable memory is
//     searched for in the saved-register area.
//
// The result holds $eip, $esp and $ebp, and $ebx, $esi, $edi when the
// program set them. $eip = 0 and $ebp = 0 mean the end of the stack.
func UnwindWin(info *WinFrameInfo, in WinUnwind) (Registers, Trust, error) {
	esp, ok := in.Regs["$esp"]
	if !ok {
		return nil, 0, errors.New("breakpad: STACK WIN unwind needs $esp")
	}
	esp &= 0xFFFFFFFF
	ebp, haveEBP := in.Regs["$ebp"]
	ebx, haveEBX := in.Regs["$ebx"]
	eip := in.Regs["$eip"]
	scan := in.IsCode != nil
	words := raSearchWords
	if in.ContextFrame {
		words *= 4
	}

	dict := Registers{"$esp": esp}
	if haveEBP {
		dict["$ebp"] = ebp & 0xFFFFFFFF
	}
	if haveEBX {
		dict["$ebx"] = ebx & 0xFFFFFFFF
	}
	dict[".cbCalleeParams"] = uint64(in.CalleeParamSize)
	dict[".cbSavedRegs"] = uint64(info.SavedRegSize)
	dict[".cbLocals"] = uint64(info.LocalSize)
	dict[".cbParams"] = uint64(info.ParamSize)

	raSearchStart := uint32(esp) + in.CalleeParamSize + info.LocalSize + info.SavedRegSize
	if scan {
		start := raSearchStart
		if loc, found, ok := scanForReturn(in, raSearchStart, 3); ok {
			raSearchStart = loc
			// A context frame in an FPO system-call stub that already
			// returned: the top of the stack still holds the return into
			// the stub itself. Skip that word and scan again.
			if in.ContextFrame && info.Type == WinFrameFPO && loc == start && uint64(found) == eip&0xFFFFFFFF {
				raSearchStart += 4
				if loc, _, ok := scanForReturn(in, raSearchStart, 3); ok {
					raSearchStart = loc
				}
			}
		}
	}

	program := info.Program
	recoverEBP := true
	switch {
	case program != "":
	case info.AllocatesBasePointer:
		program = progAllocatesBP
	default:
		program = progNoBP
		if haveEBX {
			program += " $ebx $ebx ="
		}
		recoverEBP = false
	}
	if haveEBP && strings.Contains(program, "@") {
		// The frame aligned ESP, so ESP-relative arithmetic cannot find
		// the return address; EBP still can.
		raSearchStart = uint32(ebp) + 4
	}
	dict[".raSearchStart"] = uint64(raSearchStart)
	dict[".raSearch"] = uint64(raSearchStart)

	trust := TrustCFI
	ev := Evaluator{Vars: dict, Memory: in.Memory, Width: 4}
	err := ev.Run(program)
	assigned := ev.Assigned
	if err != nil || !assigned["$eip"] || !assigned["$esp"] {
		if !scan {
			if err == nil {
				err = errors.New("program did not set $eip and $esp")
			}
			return nil, 0, fmt.Errorf("breakpad: STACK WIN %x: %w", info.RVA, err)
		}
		loc, found, ok := scanForReturn(in, uint32(esp), words)
		if !ok {
			return nil, 0, fmt.Errorf("breakpad: STACK WIN %x: program failed (%v) and no return address found by scanning", info.RVA, err)
		}
		dict["$eip"], dict["$esp"] = uint64(found), uint64(loc)+4
		trust = TrustScan
	}

	if dict["$eip"] != 0 || dict["$ebp"] != 0 {
		offset := uint32(0)
		if scan && !in.IsCode(dict["$eip"]) {
			start := uint32(dict[".raSearchStart"]) + 4
			if loc, found, ok := scanForReturn(in, start, words); ok {
				dict["$eip"], dict["$esp"] = uint64(found), uint64(loc)+4
				offset = loc - start
				trust = TrustCFIScan
			}
		}
		if recoverEBP {
			newEBP := uint32(dict["$ebp"])
			skipped := trust != TrustCFI && newEBP <= raSearchStart+offset
			if skipped || !readable(in.Memory, newEBP) {
				// Look for a saved EBP that points into readable memory,
				// from the top of the saved-register area down.
				end := uint32(esp) + in.CalleeParamSize
				span := info.SavedRegSize + offset
				for i := uint32(0); i <= span/4 && i < 1024; i++ {
					loc := end + span - 4*i
					cand, ok := read32(in.Memory, loc)
					if !ok {
						break
					}
					if readable(in.Memory, cand) {
						dict["$ebp"] = uint64(cand)
						break
					}
				}
			}
		}
	}

	out := Registers{"$eip": dict["$eip"], "$esp": dict["$esp"]}
	if v, ok := dict["$ebp"]; ok {
		out["$ebp"] = v
	}
	for _, r := range []string{"$ebx", "$esi", "$edi"} {
		if assigned[r] {
			out[r] = dict[r]
		}
	}
	return out, trust, nil
}

// scanForReturn looks at up to words+1 stack words from start for a value
// IsCode accepts (Breakpad's ScanForReturnAddress).
func scanForReturn(in WinUnwind, start uint32, words int) (loc, ip uint32, ok bool) {
	for i := 0; i <= words; i++ {
		a := uint64(start) + 4*uint64(i)
		if a > 0xFFFFFFFF {
			break
		}
		v, ok := read32(in.Memory, uint32(a))
		if !ok {
			break
		}
		if in.IsCode(uint64(v)) {
			return uint32(a), v, true
		}
	}
	return 0, 0, false
}

func read32(m Memory, a uint32) (uint32, bool) {
	if m == nil {
		return 0, false
	}
	var b [4]byte
	if n, _ := m.ReadAt(b[:], uint64(a)); n < 4 {
		return 0, false
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24, true
}

func readable(m Memory, a uint32) bool {
	_, ok := read32(m, a)
	return ok
}

// UnwindWin looks up the STACK WIN record at rva and applies it (see the
// package function UnwindWin).
func (f *File) UnwindWin(rva uint64, in WinUnwind) (Registers, Trust, error) {
	info, ok := f.WinFrameAt(rva)
	if !ok {
		return nil, 0, fmt.Errorf("breakpad: no STACK WIN record covers %#x", rva)
	}
	return UnwindWin(&info, in)
}
