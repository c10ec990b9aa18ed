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

// bpComparison is the outcome of comparing one dump's walk with Breakpad's.
type bpComparison struct {
	trusted, found int      // Breakpad's context/CFI/frame-pointer frames, and how many we have
	known          []string // those we miss for a reason documented in docs/stacks.md
	missed         []string // those we miss for no known reason
	// ourTrusted counts our frames found by unwind data or a frame pointer where
	// Breakpad's walk of the same thread has no frame with that return address.
	ourExtra map[Trust]int
	extras   []string
}

// compareBreakpad matches Breakpad's trusted frames (context, CFI, frame pointer)
// with ours, by instruction pointer, and classifies the ones we do not find.
//
// Threads are matched by their context frame (instruction and stack pointer):
// Breakpad numbers threads after leaving out the one that wrote the dump.
func compareBreakpad(bp []bpThread, res Result, w *Walker) bpComparison {
	c := bpComparison{ourExtra: map[Trust]int{}}
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
			c.missed = append(c.missed, fmt.Sprintf("thread %d: no thread of ours starts at ip %#x sp %#x", bt.index, ip, sp))
			continue
		}
		ours := res.Threads[ti].Frames
		have := map[uint64]bool{}
		for _, f := range ours {
			have[f.IP] = true
		}
		theirs := map[uint64]bool{}
		for i := range bt.frames {
			f := &bt.frames[i]
			ip, ok := bpIP(f)
			if !ok {
				continue
			}
			theirs[ip] = true
			if f.trust != "context" && f.trust != "cfi" && f.trust != "frame_pointer" {
				continue
			}
			c.trusted++
			if f.trust == "context" {
				if len(ours) > 0 && ours[0].IP == ip {
					c.found++
				} else {
					c.missed = append(c.missed, fmt.Sprintf("thread %d frame 0: context ip %#x", bt.index, ip))
				}
				continue
			}
			if have[ip] {
				c.found++
				continue
			}
			desc := fmt.Sprintf("thread %d frame %d: %s %s+%#x ip %#x", bt.index, f.index, f.trust, f.module, f.offset, ip)
			// Breakpad's x86/x64 scan guesses the caller's frame pointer (the word
			// below the return address it found); a frame-pointer step from that
			// guess that lands outside every module is not a frame.
			if f.trust == "frame_pointer" && i > 0 && bt.frames[i-1].trust == "scan" && w.moduleIndex(ip-1) < 0 {
				c.known = append(c.known, "frame pointer guessed by a scan, leading outside every module: "+desc)
				continue
			}
			c.missed = append(c.missed, desc)
		}
		for _, f := range ours[1:] {
			if (f.Trust == TrustUnwind || f.Trust == TrustFramePointer || f.Trust == TrustCFI || f.Trust == TrustFPO) && !theirs[f.IP] {
				c.ourExtra[f.Trust]++
				c.extras = append(c.extras, fmt.Sprintf("thread %d frame %d: %v %s ip %#x", bt.index, f.Index, f.Trust, f.Location(), f.IP))
			}
		}
	}
	return c
}

// TestBreakpadStackwalk walks every thread of every corpus dump and checks that
// each frame Breakpad's minidump_stackwalk found from the context, CFI or a frame
// pointer is among ours, with the same instruction pointer or return address.
// The differences are classified (docs/stacks.md); an unclassified one fails.
func TestBreakpadStackwalk(t *testing.T) {
	root := filepath.Join(sharedRoot(t), "corpus")
	dumps := corpusDumps(t)
	var mu sync.Mutex
	total, totalFound, totalKnown := 0, 0, 0
	extra := map[Trust]int{}
	var report []string
	t.Run("dumps", func(t *testing.T) {
		for _, rel := range dumps {
			rel := rel
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(root, rel)
				bp := parseBreakpadStackwalk(runStackwalk(t, path))
				d, res := walkDump(t, path, Options{})
				c := compareBreakpad(bp, res, d.Walker)
				byTrust := map[Trust]int{}
				for _, th := range res.Threads {
					for _, f := range th.Frames {
						byTrust[f.Trust]++
					}
				}
				for _, m := range c.missed {
					t.Errorf("Breakpad's frame not found: %s", m)
				}
				for i, x := range c.extras {
					if i < 3 {
						t.Logf("ours only: %s", x)
					}
				}
				for _, k := range c.known {
					t.Logf("known difference: %s", k)
				}
				mu.Lock()
				total += c.trusted
				totalFound += c.found
				totalKnown += len(c.known)
				for k, v := range c.ourExtra {
					extra[k] += v
				}
				report = append(report, fmt.Sprintf("%-55s breakpad trusted %4d found %4d; ours %v; ours trusted, not in breakpad %v", rel, c.trusted, c.found, byTrust, c.ourExtra))
				mu.Unlock()
			})
		}
	})
	sort.Strings(report)
	t.Logf("\n%s\nBreakpad's trusted frames: %d, found %d, known differences %d; our trusted frames Breakpad lacks: %v",
		strings.Join(report, "\n"), total, totalFound, totalKnown, extra)
	if total > 0 && total < 1000 {
		t.Errorf("only %d of Breakpad's frames compared", total)
	}
}
