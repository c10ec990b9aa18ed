package breakpad

import "slices"

// lastAtOrBelow returns the index of the last element whose key is <= a,
// or -1.
func lastAtOrBelow[T any](s []T, a uint64, key func(*T) uint64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if key(&s[m]) <= a {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// FuncAt returns the FUNC record whose range holds rva. Ranges are taken
// as Breakpad's RangeMap does: when two functions overlap, an address is
// attributed to the one starting last at or below it.
func (f *File) FuncAt(rva uint64) (*Func, bool) {
	i := lastAtOrBelow(f.funcs, rva, func(fn *Func) uint64 { return fn.Addr })
	if i < 0 {
		return nil, false
	}
	fn := &f.funcs[i]
	if rva-fn.Addr >= fn.Size {
		return nil, false
	}
	return fn, true
}

// PublicAt returns the PUBLIC record nearest at or below rva. Publics have
// no size: Breakpad takes one to extend to the next symbol.
func (f *File) PublicAt(rva uint64) (*Public, bool) {
	i := lastAtOrBelow(f.publics, rva, func(p *Public) uint64 { return p.Addr })
	if i < 0 {
		return nil, false
	}
	return &f.publics[i], true
}

// Line is a source position.
type Line struct {
	File string // "" when the FILE record is missing
	Line uint32
	// Addr and Size are the line record's range.
	Addr, Size uint64
}

// LineAt returns the line record of fn whose range holds rva.
func (fn *Func) LineAt(rva uint64) (Line, int, bool) {
	i := lastAtOrBelow(fn.lines, rva, func(l *lineRec) uint64 { return l.addr })
	if i < 0 {
		return Line{}, 0, false
	}
	l := fn.lines[i]
	if rva-l.addr >= l.size {
		return Line{}, 0, false
	}
	return Line{Line: l.line, Addr: l.addr, Size: l.size}, int(l.file), true
}

// LineAt returns the source file and line of the code at rva.
func (f *File) LineAt(rva uint64) (Line, bool) {
	fn, ok := f.FuncAt(rva)
	if !ok {
		return Line{}, false
	}
	l, file, ok := fn.LineAt(rva)
	if !ok {
		return Line{}, false
	}
	l.File = f.files[file]
	return l, true
}

// Symbol is what Lookup finds for an address.
type Symbol struct {
	Name string
	// Addr is the function's (or public's) start; Offset is rva - Addr.
	Addr, Offset uint64
	// Size is the function's size, 0 for a public.
	Size      uint64
	ParamSize uint32
	Public    bool // from a PUBLIC record (no size, no lines)
	// Line is the source position when a line record covers rva.
	Line    Line
	HasLine bool
	// Inlines are the inline frames at rva, outermost first (see
	// InlinesAt).
	Inlines []InlineFrame
}

// Lookup names the code at rva as Breakpad's resolver does: the FUNC
// record holding it, with its line; else the nearest PUBLIC at or below it,
// unless a FUNC lies between the public and rva (the public then belongs to
// code before that function).
func (f *File) Lookup(rva uint64) (Symbol, bool) {
	if fn, ok := f.FuncAt(rva); ok {
		s := Symbol{Name: fn.Name, Addr: fn.Addr, Offset: rva - fn.Addr, Size: fn.Size, ParamSize: fn.ParamSize}
		if l, file, ok := fn.LineAt(rva); ok {
			l.File = f.files[file]
			s.Line, s.HasLine = l, true
		}
		s.Inlines = f.inlinesAt(fn, rva)
		return s, true
	}
	p, ok := f.PublicAt(rva)
	if !ok {
		return Symbol{}, false
	}
	if i := lastAtOrBelow(f.funcs, rva, func(fn *Func) uint64 { return fn.Addr }); i >= 0 && f.funcs[i].Addr > p.Addr {
		return Symbol{}, false
	}
	return Symbol{Name: p.Name, Addr: p.Addr, Offset: rva - p.Addr, ParamSize: p.ParamSize, Public: true}, true
}

// InlineFrame is one level of inlined code at an address.
type InlineFrame struct {
	// Name is the inlined function (the INLINE_ORIGIN record).
	Name string
	// CallFile and CallLine are where it was inlined, in its parent.
	CallFile string
	CallLine uint32
	// Depth is the nesting level: 0 is inlined into the FUNC itself.
	Depth int
}

// InlinesAt returns the chain of inlined functions whose ranges hold rva,
// outermost first: the function at Depth 0 was inlined into the FUNC, the
// one at Depth 1 into it, and so on.
func (f *File) InlinesAt(rva uint64) []InlineFrame {
	fn, ok := f.FuncAt(rva)
	if !ok {
		return nil
	}
	return f.inlinesAt(fn, rva)
}

func (f *File) inlinesAt(fn *Func, rva uint64) []InlineFrame {
	var out []InlineFrame
	for i := range fn.inlines {
		in := &fn.inlines[i]
		// An INLINE record applies only inside its parent: the levels
		// found so far must reach depth-1.
		if in.Depth != len(out) {
			continue
		}
		if !slices.ContainsFunc(in.Ranges, func(r Range) bool { return r.contains(rva) }) {
			continue
		}
		fr := InlineFrame{Name: f.origins[in.Origin], CallLine: in.CallLine, Depth: in.Depth}
		if in.CallFile >= 0 {
			fr.CallFile = f.files[in.CallFile]
		}
		out = append(out, fr)
	}
	return out
}

// ParamSizeAt returns the size of the stack parameters of the function at
// rva, as Breakpad's FindWindowsFrameInfo does: from the STACK WIN record
// holding rva, else the FUNC, else the PUBLIC that Lookup would name. The
// x86 walker passes it as WinUnwind.CalleeParamSize when it unwinds the
// frame that called this one.
func (f *File) ParamSizeAt(rva uint64) (uint32, bool) {
	if w, ok := f.WinFrameAt(rva); ok {
		return w.ParamSize, true
	}
	if s, ok := f.Lookup(rva); ok {
		return s.ParamSize, true
	}
	return 0, false
}
