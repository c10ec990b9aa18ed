package modsym

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// GetHeapHandleCode is what DecodeGetHeapHandle recognised in the code of a
// CRT's _get_heap_handle: the function loads a global and returns it.
type GetHeapHandleCode struct {
	// Global is the address of the global the function returns (the CRT's
	// _crtheap), in the same address space as the code's address.
	Global uint64
	// Absolute is set when the code names the global by an absolute address
	// (x86 "mov eax, [imm32]"): such an address is relocated by the loader,
	// so code read from an image file names it relative to the file's
	// ImageBase. RIP-relative code (x64) needs no relocation.
	Absolute bool
	// Thunks lists the addresses of the jumps followed to reach the code.
	Thunks []uint64
	// Code is the address of the load instruction.
	Code uint64
}

// CodeReader reads len(p) bytes of code at address va.
type CodeReader func(p []byte, va uint64) error

// maxThunks bounds the jumps followed from an export to its body: an
// incremental-linking thunk, then perhaps an import thunk.
const maxThunks = 4

// codeWindow is how many bytes are read at each address: the longest pattern
// (hot-patch prologue, frame, 7-byte load, epilogue) fits.
const codeWindow = 16

// ErrNotGetHeapHandle is wrapped by DecodeGetHeapHandle's error when the code
// is not one of the recognised shapes.
var ErrNotGetHeapHandle = errors.New("not the expected load of a global and return")

// DecodeGetHeapHandle recognises the body of _get_heap_handle at va:
//
//	x86: [mov edi, edi] [push ebp; mov ebp, esp] mov eax, [abs32] [pop ebp] ret
//	     (A1 imm32 C3, or 8B 05 imm32 C3)
//	x64: mov rax, [rip+rel32]; ret                     (48 8B 05 rel32 C3)
//
// possibly reached through jumps (E9 rel32, EB rel8; and on x64 or x86
// FF 25, the jump through a pointer, whose pointer is read with read). It
// returns the address of the global the function returns.
func DecodeGetHeapHandle(read CodeReader, va uint64, is64 bool) (GetHeapHandleCode, error) {
	var res GetHeapHandleCode
	var buf [codeWindow]byte
	le := binary.LittleEndian
	for hop := 0; ; hop++ {
		b := buf[:]
		if err := readSome(read, b, va); err != nil {
			return res, fmt.Errorf("code at %#x: %w", va, err)
		}
		// Jumps: follow them.
		next, isJump, err := decodeJump(read, b, va, is64)
		if err != nil {
			return res, err
		}
		if isJump {
			if hop >= maxThunks {
				return res, fmt.Errorf("more than %d jumps from the export: %w", maxThunks, ErrNotGetHeapHandle)
			}
			res.Thunks = append(res.Thunks, va)
			va = next
			continue
		}
		res.Code = va
		if is64 {
			// 48 8B 05 rel32 C3; REX.W may carry other harmless bits (49 = REX.WB
			// would change the register, so only 48 is accepted).
			if b[0] == 0x48 && b[1] == 0x8B && b[2] == 0x05 && b[7] == 0xC3 {
				rel := int64(int32(le.Uint32(b[3:])))
				res.Global = uint64(int64(va) + 7 + rel)
				return res, nil
			}
			return res, fmt.Errorf("x64 code at %#x (% x): %w", va, b[:8], ErrNotGetHeapHandle)
		}
		p := b
		if p[0] == 0x8B && p[1] == 0xFF { // mov edi, edi: the hot-patch point
			p = p[2:]
		}
		frame := false
		if p[0] == 0x55 && p[1] == 0x8B && p[2] == 0xEC { // push ebp; mov ebp, esp
			frame, p = true, p[3:]
		}
		var abs uint32
		switch {
		case p[0] == 0xA1:
			abs, p = le.Uint32(p[1:]), p[5:]
		case p[0] == 0x8B && p[1] == 0x05:
			abs, p = le.Uint32(p[2:]), p[6:]
		default:
			return res, fmt.Errorf("x86 code at %#x (% x): %w", va, b[:8], ErrNotGetHeapHandle)
		}
		if frame {
			if p[0] != 0x5D { // pop ebp
				return res, fmt.Errorf("x86 code at %#x (% x): no pop ebp after the load: %w", va, b[:12], ErrNotGetHeapHandle)
			}
			p = p[1:]
		}
		if p[0] != 0xC3 {
			return res, fmt.Errorf("x86 code at %#x (% x): no ret after the load: %w", va, b[:12], ErrNotGetHeapHandle)
		}
		res.Global, res.Absolute = uint64(abs), true
		return res, nil
	}
}

// decodeJump recognises an unconditional jump at the start of b (the bytes at
// va) and returns its target.
func decodeJump(read CodeReader, b []byte, va uint64, is64 bool) (uint64, bool, error) {
	le := binary.LittleEndian
	mask := ^uint64(0)
	if !is64 {
		mask = 0xFFFFFFFF
	}
	switch {
	case b[0] == 0xE9: // jmp rel32
		return uint64(int64(va)+5+int64(int32(le.Uint32(b[1:])))) & mask, true, nil
	case b[0] == 0xEB: // jmp rel8
		return uint64(int64(va)+2+int64(int8(b[1]))) & mask, true, nil
	case b[0] == 0xFF && b[1] == 0x25, is64 && b[0] == 0x48 && b[1] == 0xFF && b[2] == 0x25:
		// jmp [mem]: x64 RIP-relative, x86 absolute; the target is the pointer there.
		off := 2
		if b[0] == 0x48 {
			off = 3
		}
		disp := le.Uint32(b[off:])
		var slot uint64
		size := 4
		if is64 {
			slot, size = uint64(int64(va)+int64(off)+4+int64(int32(disp))), 8
		} else {
			slot = uint64(disp)
		}
		var p [8]byte
		if err := read(p[:size], slot); err != nil {
			return 0, false, fmt.Errorf("jump through the pointer at %#x: %w", slot, err)
		}
		if is64 {
			return le.Uint64(p[:]), true, nil
		}
		return uint64(le.Uint32(p[:])), true, nil
	}
	return 0, false, nil
}

// readSome fills p from va, accepting a short read at the end of the readable
// range as long as the first 6 bytes are there (the shortest shape,
// A1 imm32 C3); the rest is zeroed, which no pattern matches.
func readSome(read CodeReader, p []byte, va uint64) error {
	if err := read(p, va); err == nil {
		return nil
	}
	clear(p)
	for n := len(p) - 1; n > 6; n-- {
		if err := read(p[:n], va); err == nil {
			return nil
		}
	}
	return read(p[:6], va)
}
