package stack

// Call instruction recognition, to accept a stack word as a return address only
// when the code before it is a call (Intel SDM vol. 2, CALL; Arm ARM, BL/BLR).

// endsWithCall reports whether the 8 bytes b, which end at a candidate return
// address, end with a call instruction: E8 rel32, FF /2 in any of its ModRM forms
// (with prefixes and, on x64, a REX byte before it), or, on x86, 9A ptr16:32.
func endsWithCall(b []byte, x64 bool) bool {
	n := len(b)
	if n >= 5 && b[n-5] == 0xe8 {
		return true
	}
	if !x64 && n >= 7 && b[n-7] == 0x9a {
		return true
	}
	for pos := n - 2; pos >= 0; pos-- {
		if b[pos] != 0xff {
			continue
		}
		if l, ok := ff2Len(b[pos:]); ok && pos+l == n {
			return true
		}
	}
	return false
}

// ff2Len returns the length of an FF /2 (call r/m) instruction starting at b[0],
// or ok false when b[1] is not a /2 ModRM byte or b is too short to tell.
func ff2Len(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	modrm := b[1]
	if modrm>>3&7 != 2 {
		return 0, false
	}
	mod, rm := modrm>>6, modrm&7
	n := 2
	sib := rm == 4 && mod != 3
	if sib {
		if len(b) < 3 {
			return 0, false
		}
		n++
	}
	switch mod {
	case 0:
		if rm == 5 {
			n += 4 // disp32, or RIP-relative on x64
		} else if sib && b[2]&7 == 5 {
			n += 4 // SIB with no base: disp32
		}
	case 1:
		n++
	case 2:
		n += 4
	}
	return n, true
}

// arm64IsCall reports whether an A64 instruction is BL, BLR, or one of the
// pointer-authenticating BLRAA, BLRAAZ, BLRAB, BLRABZ.
func arm64IsCall(insn uint32) bool {
	switch {
	case insn&0xfc000000 == 0x94000000: // BL imm26
		return true
	case insn&0xfffffc1f == 0xd63f0000: // BLR Xn
		return true
	case insn&0xfefff800 == 0xd63f0800: // BLRAA(Z), BLRAB(Z)
		return true
	}
	return false
}
