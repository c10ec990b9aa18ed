package analysis

import (
	"github.com/dumpmap/dumpmap/analysis/crash"
)

// RequestFor turns the allocation a crash shows failing into the request
// Explain decides: operator new and malloc ask the C runtime's heap, HeapAlloc
// the heap it was called with (every heap, when the dump does not say which),
// VirtualAlloc the address space, a vector growth its new buffer with the old
// one held. ok is false when the request's size is not known.
func RequestFor(f *crash.FailedRequest) (req Request, ok bool) {
	if f == nil || f.Size == 0 {
		return Request{}, false
	}
	req.Size, req.Failed = f.Size, true
	switch f.Path {
	case crash.PathHeap:
		req.Via = ViaHeap
		if f.Heap != nil {
			req.Heap = uint64(*f.Heap)
		} else {
			req.AnyHeap = true
		}
	case crash.PathVirtualAlloc:
		req.Via = ViaVirtualAlloc
	case crash.PathVector:
		req.Via = ViaMalloc
		if f.ElementSize != 0 && f.OldCapacity != 0 {
			// The old buffer is held while the new one is asked for.
			req.Via, req.Size, req.NewSize = ViaVector, f.OldCapacity*f.ElementSize, f.Size
			req.ElementSize, req.Growth = f.ElementSize, f.Growth
		}
	default: // operator new, malloc, a string's growth
		req.Via = ViaMalloc
	}
	return req, true
}
