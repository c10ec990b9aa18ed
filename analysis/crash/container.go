package crash

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"
)

// maxElementSize bounds the element sizes tried when working out a vector's:
// far above real element types, and the bound of the search.
const maxElementSize = 1 << 16

// growth recognises a container growing its buffer in the frames that called
// operator new (frame k), and for a std::vector growing by one element works out
// the element size from the vector's fields and the requested size.
//
// The vector's three pointers (first, last, end: the same order in MSVC's STL,
// libstdc++ and libc++; MSVC debug builds put a proxy pointer before them) give
// the bytes used and the bytes of capacity. A growth by one element asks for
// e × newCapacity bytes, where newCapacity follows the library's rule from the
// old capacity (MSVC: capacity + capacity/2, at least size + 1; libstdc++:
// size + max(size, 1); libc++: max(2 × capacity, size + 1)). Every element size
// e that divides the three byte counts and makes the rule give exactly the
// requested size is a candidate; one candidate is an answer, several are
// reported as such.
func (f *finder) growth(k int) {
	r := f.req
	if r.Path != PathOperatorNew {
		return
	}
	g, path, kind := -1, Path(""), growthNone
	for i := k + 1; i < len(f.frames) && i <= k+4; i++ {
		fr := &f.frames[i]
		if p, kd := containerGrowth(fr.Function); kd != growthNone {
			g, path, kind = i, p, kd
			break
		}
		if fr.Function == "" || !isAllocateHelper(fr.Function) {
			return
		}
	}
	if g < 0 {
		return
	}
	fr := &f.frames[g]
	r.Path = path
	what := "std::vector"
	if path == PathString {
		what = "std::basic_string"
	}
	r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceFrame, Address: hexp(fr.IP), Text: []string{
		fmt.Sprintf("frame %d, %s, grows a %s: it called %s for the new buffer, so the request is the new buffer's size", g, frameName(fr), what, r.Function)}})
	if path != PathVector {
		return
	}
	ps := f.in.PointerSize
	this := f.in.Walker.Argument(f.frames, g, 0, ps)
	if !this.Known {
		r.Unknown = append(r.Unknown, Unknown{What: "element size", Why: "the vector's address (`this`, argument 1 of " + frameName(fr) + "): " + this.Why})
		return
	}
	r.Container = hexp(this.Value)
	r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceArgument, Address: copiedAt(this), Text: []string{
		fmt.Sprintf("the vector is at %#x (this, argument 1 of %s): %s", this.Value, frameName(fr), argWhere(this, g))}})
	rule := vectorRule(fr.Function)
	var firstErr string
	for _, skip := range []int{0, 1} {
		addr := this.Value + uint64(skip*ps)
		b := make([]byte, 3*ps)
		if n, err := f.in.Memory.ReadAt(b, addr); err != nil || n != len(b) {
			if skip == 0 {
				r.Unknown = append(r.Unknown, Unknown{What: "element size", Address: hexp(addr), Why: "the vector object is not in the dump"})
				return
			}
			break
		}
		first, last, end := readWord(b[:ps]), readWord(b[ps:2*ps]), readWord(b[2*ps:])
		if !(first <= last && last <= end && end-first < 1<<48) {
			if firstErr == "" {
				firstErr = fmt.Sprintf("the words at %#x (%#x, %#x, %#x) are not a vector's first, last and end pointers", addr, first, last, end)
			}
			continue
		}
		used, capb := last-first, end-first
		layout := "first, last and end pointers"
		if skip == 1 {
			layout = "first, last and end pointers (after the debug iterator proxy)"
		}
		fields := fmt.Sprintf("its %s are %#x, %#x and %#x: %s bytes used of %s", layout, first, last, end, comma(used), comma(capb))
		if kind != growthByOne {
			r.OldBuffer = hexp(first)
			r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceContainer, Address: hexp(addr), Text: []string{fields}})
			r.Unknown = append(r.Unknown, Unknown{What: "element size", Why: frameName(fr) + " sets the new capacity from its caller's argument (reserve, resize), not from a growth rule, so the sizes do not give the element size"})
			return
		}
		if r.Size == 0 {
			r.Unknown = append(r.Unknown, Unknown{What: "element size", Why: "the requested size is unknown, and the element size is worked out from it"})
			return
		}
		cands := elementSizes(r.Size, used, capb, rule)
		switch {
		case len(cands) == 0:
			if firstErr == "" {
				firstErr = fmt.Sprintf("%s; no element size makes them and the requested %d bytes agree with %s growth rule (the vector may have changed since, or the frame is not a growth by one element)", fields, r.Size, ruleName(rule))
			}
			continue
		case len(cands) > 1:
			var list []string
			for _, c := range cands {
				list = append(list, fmt.Sprint(c))
			}
			r.OldBuffer = hexp(first)
			r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceContainer, Address: hexp(addr), Text: []string{fields}})
			r.Unknown = append(r.Unknown, Unknown{What: "element size", Why: fmt.Sprintf("element sizes %s all agree with %s growth rule and the sizes", strings.Join(list, ", "), ruleName(rule))})
			return
		}
		e := cands[0]
		r.ElementSize, r.OldSize, r.OldCapacity, r.NewCapacity = e, used/e, capb/e, r.Size/e
		r.OldBuffer, r.Growth = hexp(first), rule
		r.Evidence = append(r.Evidence, Evidence{Kind: EvidenceContainer, Address: hexp(addr), Text: []string{fields,
			fmt.Sprintf("an element size of %d bytes is the only one for which %s growth rule takes %s elements (capacity %s) to a capacity of %s, the requested %s bytes",
				e, ruleName(rule), comma(used/e), comma(capb/e), comma(r.Size/e), comma(r.Size))}})
		return
	}
	r.Unknown = append(r.Unknown, Unknown{What: "element size", Address: hexp(this.Value), Why: firstErr})
}

// vectorRule tells the growth rule from the growth function's name.
func vectorRule(name string) string {
	low := strings.ToLower(name)
	switch {
	case strings.Contains(low, "_m_realloc"):
		return "libstdc++"
	case strings.Contains(low, "slow_path"):
		return "libc++"
	}
	return "msvc"
}

func ruleName(rule string) string {
	switch rule {
	case "libstdc++":
		return "libstdc++'s doubling"
	case "libc++":
		return "libc++'s doubling"
	}
	return "MSVC's 1.5x"
}

// elementSizes returns the element sizes e for which a growth by one element
// of a vector using used of capb bytes asks for request bytes under rule.
func elementSizes(request, used, capb uint64, rule string) []uint64 {
	var out []uint64
	for e := uint64(1); e <= maxElementSize && e <= request; e++ {
		if request%e != 0 || used%e != 0 || capb%e != 0 {
			continue
		}
		size, capacity := used/e, capb/e
		var next uint64
		switch rule {
		case "libstdc++":
			next = size + max(size, 1)
		case "libc++":
			next = max(2*capacity, size+1)
		default:
			next = capacity + capacity/2
			if next < size+1 {
				next = size + 1
			}
		}
		if next*e == request {
			out = append(out, e)
			if len(out) > 8 {
				break
			}
		}
	}
	return out
}

// comma formats a byte or element count with thousands separators, as the
// rest of the outputs do (go-humanize, a named dependency).
func comma(n uint64) string { return humanize.Comma(int64(min(n, 1<<62))) }
