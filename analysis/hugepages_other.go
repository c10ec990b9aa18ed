//go:build !linux

package analysis

import "unsafe"

// adviseHuge is a no-op where transparent huge pages do not exist.
func adviseHuge(p unsafe.Pointer, n uintptr) {}
