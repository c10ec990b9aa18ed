package stack

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// Location returns the frame's code location the way WinDbg writes a call site:
// module!function+0xoff, module+0xoff without a function, the bare address
// without a module.
func (f *Frame) Location() string {
	switch {
	case f.Module != "" && f.Function != "":
		return f.Module + "!" + f.Function + "+0x" + strconv.FormatUint(f.FunctionOffset, 16)
	case f.Function != "":
		return f.Function + "+0x" + strconv.FormatUint(f.FunctionOffset, 16)
	case f.Module != "":
		return f.Module + "+0x" + strconv.FormatUint(f.ModuleOffset, 16)
	}
	return "0x" + strconv.FormatUint(f.IP, 16)
}

// WriteText writes a thread's stack like WinDbg's k command: frame number,
// Child-SP (the frame's stack pointer), RetAddr (where the frame returns to: the
// next frame's IP), the call site with its source position, and how the frame was
// found. ptrSize (4 or 8) sets the address width.
//
//	 # Child-SP          RetAddr           Call Site
//	00 00000000`0014f7a8 00007ffb`0b1815a0 tiny.exe+0x1af42  (context)
func WriteText(w io.Writer, t *Thread, ptrSize int) error {
	bw := bufio.NewWriter(w)
	head := "Thread %#x"
	if t.Crashed {
		head += " (crashed)"
	}
	fmt.Fprintf(bw, head+"\n", t.ID)
	addrW := 17
	if ptrSize == 4 {
		addrW = 8
	}
	fmt.Fprintf(bw, " # %-*s %-*s Call Site\n", addrW, "Child-SP", addrW, "RetAddr")
	for i := range t.Frames {
		f := &t.Frames[i]
		ret := "-"
		if i+1 < len(t.Frames) {
			ret = fmtAddr(t.Frames[i+1].IP, ptrSize)
		}
		loc := f.Location()
		if f.File != "" {
			loc += fmt.Sprintf(" [%s @ %d]", f.File, f.Line)
		}
		fmt.Fprintf(bw, "%02x %s %-*s %s  (%s)\n", f.Index, fmtAddr(f.SP, ptrSize), addrW, ret, loc, f.Trust)
	}
	if t.Err != nil {
		fmt.Fprintf(bw, "   walk stopped: %v\n", t.Err)
	}
	return bw.Flush()
}

// fmtAddr writes an address as WinDbg does: 8 hex digits for 32-bit processes,
// 16 with a backtick in the middle for 64-bit ones.
func fmtAddr(v uint64, ptrSize int) string {
	if ptrSize == 4 {
		return fmt.Sprintf("%08x", v)
	}
	return fmt.Sprintf("%08x`%08x", v>>32, v&0xffffffff)
}
