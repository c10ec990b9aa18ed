package analysis

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks Linux to back a large, fresh slice with transparent huge pages
// where the system allows them only on request (THP "madvise" mode, the default on
// many distributions). A map of a million regions is tens of megabytes written once;
// with 4 KiB pages, faulting them in costs more than building the map. The advice is
// only a hint: errors are ignored.
func adviseHuge(p unsafe.Pointer, n uintptr) {
	const madvHugepage = 14 // MADV_HUGEPAGE
	if n < 4<<20 {
		return
	}
	// madvise wants a page-aligned start; round inward.
	start := (uintptr(p) + 4095) &^ 4095
	end := (uintptr(p) + n) &^ 4095
	if end <= start {
		return
	}
	syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvHugepage)
}
