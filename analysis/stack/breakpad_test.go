package stack

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// bpIP is the instruction pointer (frame 0) or return address of a Breakpad frame.
func bpIP(f *bpFrame) (uint64, bool) {
	for _, k := range []string{"rip", "eip", "pc"} {
		if v, ok := f.regs[k]; ok {
			return v, true
		}
	}
	return 0, false
}

// compareBreakpad matches Breakpad's trusted frames (context, CFI, frame pointer)
// with ours, by thread index and instruction pointer. It returns the numbers of
// trusted frames and of those we found, and a description of each we missed.
//
// Threads are matched by their context frame (instruction and stack pointer):
// Breakpad numbers threads after leaving out the one that wrote the dump.
func compareBreakpad(bp []bpThread, res Result) (trusted, found int, missed []string) {
	byCtx := map[[2]uint64]int{}
	for i, th := range res.Threads {
		if len(th.Frames) > 0 {
			byCtx[[2]uint64{th.Frames[0].IP, th.Frames[0].SP}] = i
		}
	}
	for _, bt := range bp {
		if len(bt.frames) == 0 {
			continue
		}
		f0 := &bt.frames[0]
		ip, _ := bpIP(f0)
		sp := f0.regs["rsp"] | f0.regs["esp"] | f0.regs["sp"]
		ti, ok := byCtx[[2]uint64{ip, sp}]
		if !ok {
			missed = append(missed, fmt.Sprintf("thread %d: no thread of ours starts at ip %#x sp %#x", bt.index, ip, sp))
			continue
		}
		ours := res.Threads[ti].Frames
		have := map[uint64]bool{}
		for _, f := range ours {
			have[f.IP] = true
		}
		for i := range bt.frames {
			f := &bt.frames[i]
			if f.trust != "context" && f.trust != "cfi" && f.trust != "frame_pointer" {
				continue
			}
			ip, ok := bpIP(f)
			if !ok {
				continue
			}
			trusted++
			if f.trust == "context" {
				if len(ours) > 0 && ours[0].IP == ip {
					found++
				} else {
					missed = append(missed, fmt.Sprintf("thread %d frame 0: context ip %#x", bt.index, ip))
				}
				continue
			}
			if have[ip] {
				found++
				continue
			}
			missed = append(missed, fmt.Sprintf("thread %d frame %d: %s %s+%#x ip %#x", bt.index, f.index, f.trust, f.module, f.offset, ip))
		}
	}
	return
}

func TestBreakpadStackwalk(t *testing.T) {
	root := filepath.Join(sharedRoot(t), "corpus")
	dumps := corpusDumps(t)
	var mu sync.Mutex
	total, totalFound := 0, 0
	var report []string
	t.Run("dumps", func(t *testing.T) {
		for _, rel := range dumps {
			rel := rel
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(root, rel)
				out := runStackwalk(t, path)
				bp := parseBreakpadStackwalk(out)
				_, res := walkDump(t, path, Options{})
				trusted, found, missed := compareBreakpad(bp, res)
				byTrust := map[Trust]int{}
				for _, th := range res.Threads {
					for _, f := range th.Frames {
						byTrust[f.Trust]++
					}
				}
				mu.Lock()
				total += trusted
				totalFound += found
				report = append(report, fmt.Sprintf("%-55s breakpad trusted %4d found %4d; ours %v", rel, trusted, found, byTrust))
				mu.Unlock()
				for i, m := range missed {
					if i == 5 {
						t.Logf("... %d more", len(missed)-5)
						break
					}
					t.Logf("missed %s", m)
				}
			})
		}
	})
	sort.Strings(report)
	t.Logf("\n%s\ntotal: %d of %d", strings.Join(report, "\n"), totalFound, total)
}
