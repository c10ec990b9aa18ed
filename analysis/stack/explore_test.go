package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestExplore(t *testing.T) {
	rel := os.Getenv("DUMP")
	if rel == "" {
		t.Skip()
	}
	path := filepath.Join(sharedRoot(t), "corpus", rel)
	if filepath.IsAbs(rel) {
		path = rel
	}
	d, res := walkDump(t, path, Options{})
	bp := parseBreakpadStackwalk(runStackwalk(t, path))
	ps := ArchOf(d.Arch).PointerSize()
	for i, th := range res.Threads {
		if i >= 6 && os.Getenv("THREAD") == "" || os.Getenv("THREAD") != "" && fmt.Sprint(i) != os.Getenv("THREAD") {
			continue
		}
		if false {
			break
		}
		fmt.Printf("=== thread %d id %#x crashed %v err %v\n", i, th.ID, th.Crashed, th.Err)
		var bt *bpThread
		for k := range bp {
			if bp[k].index == i {
				bt = &bp[k]
			}
		}
		n := len(th.Frames)
		if bt != nil && len(bt.frames) > n {
			n = len(bt.frames)
		}
		for k := 0; k < n && k < 40; k++ {
			ours, theirs := "", ""
			if k < len(th.Frames) {
				f := th.Frames[k]
				ours = fmt.Sprintf("%-40s sp=%s %s", f.Location(), fmtAddr(f.SP, ps), f.Trust)
			}
			if bt != nil && k < len(bt.frames) {
				f := bt.frames[k]
				theirs = fmt.Sprintf("%s+0x%x %s", f.module, f.offset, f.trust)
			}
			fmt.Printf("%2d %-80s | %s\n", k, ours, theirs)
		}
	}
}
