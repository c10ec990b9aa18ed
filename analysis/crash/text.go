package crash

import (
	"fmt"
	"strings"
)

// Summary describes the exception in one line, plus a second when it is an
// allocation failure, for `dumpmap info`:
//
//	C++ exception std::bad_alloc ("bad allocation") thrown from msvcr120.dll; object at 0x22fb40, ThrowInfo at 0x7ff7c2a0b8
//	out of memory: thrown std::bad_alloc: operator new (or an allocator) could not allocate
//
// Strings read from the dump (the message) are quoted with Go escapes and cut
// at 80 bytes.
func (c *Crash) Summary() string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(c.headline())
	switch {
	case c.OOM:
		b.WriteString("\nout of memory: " + c.Verdict)
	case c.Refused:
		b.WriteString("\nallocation refused, not out of memory: " + c.Verdict)
	}
	return b.String()
}

func (c *Crash) headline() string {
	at := ""
	if c.Where != "" {
		at = " at " + c.Where
	}
	if cpp := c.CPP; cpp != nil {
		return c.cppHeadline(cpp)
	}
	switch {
	case c.Access != nil:
		return fmt.Sprintf("%s: %s of %s%s", c.Name, c.Access.Op, c.Access.Address, at)
	case c.FastFail != nil:
		return fmt.Sprintf("%s: __fastfail %s (%d)%s", c.Name, c.FastFail.Name, c.FastFail.Code, at)
	case c.Assertion != nil:
		return fmt.Sprintf("%s%s: %s in %s line %d", c.Name, at, quoteClip(c.Assertion.Expression, 80), quoteClip(c.Assertion.File, 120), c.Assertion.Line)
	case c.Size != nil:
		return fmt.Sprintf("%s%s: %s %d bytes (%#x)", c.Name, at, c.Size.What, c.Size.Bytes, c.Size.Bytes)
	}
	return c.Name + at
}

func (c *Crash) cppHeadline(cpp *CPPException) string {
	var b strings.Builder
	b.WriteString("C++ exception")
	if cpp.ThrownType == nil {
		b.WriteString(" (" + cpp.ABI + "), thrown type unknown")
		for _, u := range c.Unknown {
			b.WriteString(": " + u.Why)
			break
		}
		return b.String()
	}
	b.WriteString(" " + cpp.ThrownType.Name)
	if cpp.Message != nil {
		b.WriteString(" (" + quoteClip(cpp.Message.Text, 80) + ")")
	}
	if cpp.HResult != nil {
		fmt.Fprintf(&b, " (HRESULT %#08x)", uint64(*cpp.HResult))
	}
	if cpp.Module != "" {
		b.WriteString(" thrown from " + cpp.Module)
	}
	fmt.Fprintf(&b, "; object at %s", cpp.Object)
	if cpp.ThrowInfo != nil {
		fmt.Fprintf(&b, ", ThrowInfo at %s", cpp.ThrowInfo)
	}
	if cpp.TypeInfo != nil {
		fmt.Fprintf(&b, ", type_info at %s", cpp.TypeInfo)
	}
	return b.String()
}

func quoteClip(s string, n int) string {
	if len(s) > n {
		return fmt.Sprintf("%q...", s[:n])
	}
	return fmt.Sprintf("%q", s)
}
