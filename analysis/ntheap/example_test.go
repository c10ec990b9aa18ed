package ntheap_test

import (
	"fmt"

	"github.com/dumpmap/dumpmap/analysis/ntheap"
	"github.com/dumpmap/dumpmap/minidump"
)

// Example finds the heaps of a dump, prints one !heap -s line for each and asks
// whether the process heap could serve a 64 KB HeapAlloc.
func Example() {
	f, err := minidump.Open("crash.dmp")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	mem, _ := f.Memory()
	si, _ := f.SystemInfo()
	threads, _ := f.Threads()
	var tebs []uint64
	for _, t := range threads {
		tebs = append(tebs, t.TEB)
	}
	version := ntheap.OSVersion{Major: si.MajorVersion, Minor: si.MinorVersion, Build: si.BuildNumber}
	d := ntheap.Discover(ntheap.DiscoverInput{Memory: mem, Version: version, PointerSize: si.Arch.PointerSize(), TEBs: tebs})
	for _, found := range d.Heaps {
		h, err := ntheap.Open(mem, found.Addr, ntheap.Options{Version: version, PointerSize: found.PointerSize})
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(h.Summary(), found.FoundBy)
		if found.ProcessHeap {
			dec := ntheap.Fit(h.FitInput(), ntheap.Request{Size: 64 << 10})
			fmt.Println(dec.Outcome, dec.Steps)
		}
	}
}
