//go:build !linux

package analysis

// adviseHuge is a no-op where transparent huge pages do not exist.
func adviseHuge(p, n uintptr) {}

// hugePage 0: makeLarge makes plain slices.
const (
	hugePage = 0
	hugeMin  = 0
)
