package stack

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/minidump"
)

// walkSeeds are small real dumps of each architecture and writer.
var walkSeeds = []string{
	"breakpad/minidump2.dmp", "breakpad/tiny-exe-fastfail.dmp", "breakpad/linux_overflow.dmp",
	"rust-minidump/linux-mini.dmp", "symbolicator/macos-no-fp.dmp", "syzygy/notepad-small-64bit.dmp",
	"yaml2obj/lldb__arm-linux.llvm19.dmp", "yaml2obj/lldb__unwind-via-stack-cfi.llvm19.dmp",
	"breakpad/thread_name_list.dmp", "rust-minidump/invalid-parameter.dmp",
}

// FuzzWalk walks every thread of arbitrary dumps and renders the result: it must
// not panic, hang or grow without bound. Seeds: small corpus dumps of each
// architecture and writer, and a fixture dump.
func FuzzWalk(f *testing.F) {
	if d, ok := sharedtest.Find(); ok {
		root := filepath.Join(filepath.Dir(d), "")
		for _, rel := range walkSeeds {
			if b, err := os.ReadFile(filepath.Join(root, rel)); err == nil {
				f.Add(b)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(fixtureDir, "pristine.dmp")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := minidump.New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		d, err := NewDump(md, Options{MaxFrames: 256, MaxReads: 1 << 16})
		if err != nil {
			return
		}
		res := d.WalkAll()
		for i := range res.Threads {
			th := &res.Threads[i]
			if len(th.Frames) > 256 {
				t.Fatalf("%d frames", len(th.Frames))
			}
			for k := 1; k < len(th.Frames); k++ {
				if th.Frames[k].SP < th.Frames[k-1].SP {
					t.Fatalf("thread %d frame %d: SP went down", i, k)
				}
			}
			WriteText(io.Discard, th, ArchOf(d.Arch).PointerSize())
			Signature(th.Frames, nil)
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatal(err)
		}
	})
}
