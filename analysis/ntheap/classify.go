package ntheap

import "fmt"

type classification struct {
	kind   Kind
	layout Layout
	why    string
}

// classify decides what kind of heap header, if any, is at addr. It needs positive
// evidence for every kind: an NT heap has the segment signature, the _HEAP
// signature at its layout's offset and its first segment pointing back at the heap;
// Wine's heap has Wine's own magic and free-list sentinels; a segment heap has its
// signature where the others have the segment signature.
func classify(m *mem, addr uint64, opts Options) classification {
	ptr := uint64(opts.PointerSize)
	sigOff := 2 * ptr
	sig, err := m.u32(addr+sigOff, "heap signature")
	if err != nil {
		return classification{why: fmt.Sprintf("the header at %#x is not captured (%v)", addr, unwrapRead(err))}
	}
	if w, ok := isWine(m, addr, opts.PointerSize); ok {
		return classification{kind: KindWine, why: w}
	}
	switch sig {
	case SegmentHeapSignature:
		return classification{kind: KindSegment, why: fmt.Sprintf("segment heap signature %#x at +%#x", sig, sigOff)}
	case SegmentSignature:
	default:
		return classification{why: fmt.Sprintf("no heap signature at +%#x (%#x; an NT heap has %#x, a segment heap %#x)", sigOff, sig, uint32(SegmentSignature), uint32(SegmentHeapSignature))}
	}
	var layouts []Layout
	if opts.Layout != nil {
		layouts = []Layout{*opts.Layout}
	} else {
		layouts = layoutsFor(opts.Version, opts.PointerSize)
	}
	var tried []string
	for _, l := range layouts {
		if l.PointerSize != opts.PointerSize {
			continue
		}
		s, err := m.u32(addr+l.Heap.Signature, "_HEAP.Signature")
		if err != nil {
			tried = append(tried, fmt.Sprintf("+%#x not captured", l.Heap.Signature))
			continue
		}
		if s != HeapSignature {
			tried = append(tried, fmt.Sprintf("+%#x holds %#x", l.Heap.Signature, s))
			continue
		}
		back, err := m.ptrAt(addr+l.Segment.Heap, "_HEAP_SEGMENT.Heap")
		if err != nil || back != addr {
			tried = append(tried, fmt.Sprintf("_HEAP_SEGMENT.Heap at +%#x is %#x, not the heap", l.Segment.Heap, back))
			continue
		}
		return classification{kind: KindNT, layout: l,
			why: fmt.Sprintf("NT heap: segment signature at +%#x, _HEAP.Signature at +%#x (%s), first segment's Heap = itself", sigOff, l.Heap.Signature, l.Name)}
	}
	return classification{why: fmt.Sprintf("segment signature %#x at +%#x but no NT heap header of a known layout (%s): a later segment of a heap, or damage",
		sig, sigOff, joinLimit(tried, 4))}
}

func unwrapRead(err error) error {
	if re, ok := err.(*ReadError); ok {
		return re.Err
	}
	return err
}

func joinLimit(s []string, n int) string {
	out := ""
	for i, x := range s {
		if i == n {
			out += fmt.Sprintf("; %d more", len(s)-n)
			break
		}
		if i > 0 {
			out += "; "
		}
		out += x
	}
	if out == "" {
		out = "no layout for this pointer size"
	}
	return out
}

// Classify says what kind of heap header is at addr without reading the rest of
// the heap, and why.
func Classify(r Reader, addr uint64, opts Options) (Kind, string) {
	opts.norm()
	if opts.PointerSize != 4 && opts.PointerSize != 8 {
		return KindUnknown, "pointer size must be 4 or 8"
	}
	c := classify(newMem(r, opts.PointerSize), addr, opts)
	return c.kind, c.why
}
