package analysis

import (
	"syscall"
)

// adviseHuge asks Linux to back a large, fresh slice with transparent huge pages
// where the system allows them only on request (THP "madvise" mode, the default on
// many distributions). A map of a million regions is tens of megabytes written once;
// with 4 KiB pages, faulting them in costs more than building the map. The advice is
// only a hint: errors are ignored.
func adviseHuge(p, n uintptr) {
	const madvHugepage = 14 // MADV_HUGEPAGE
	// madvise wants a page-aligned start; round inward.
	start := (p + 4095) &^ 4095
	end := (p + n) &^ 4095
	if end <= start {
		return
	}
	syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvHugepage)
}

// hugePage is the size of a transparent huge page on x86-64 and arm64 with 4 KiB
// pages; hugeMin the size from which makeLarge asks for them (below it, a slice
// would not span two huge pages).
const (
	hugePage = 2 << 20
	hugeMin  = 4 << 20
)
