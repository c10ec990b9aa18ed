package stack_test

import (
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/minidump"
)

// Walk a thread of a dump (the fixture has no exception; WalkCrashed walks the
// crashing thread of one that has) and look at its innermost frame.
func ExampleNewDump() {
	f, err := minidump.Open("../../testdata/fixtures/dumps/crtheap.dmp")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	d, err := stack.NewDump(f, stack.Options{})
	if err != nil {
		log.Fatal(err)
	}
	t, err := d.WalkThread(d.Threads()[0].ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Frames[0].Location(), t.Frames[0].Trust)
	// Output:
	// ntdll.dll+0xebe4 context
}

// Write every thread's stack as JSON.
func ExampleResult() {
	f, err := minidump.Open("../../testdata/fixtures/dumps/pristine.dmp")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	d, err := stack.NewDump(f, stack.Options{MaxFrames: 2})
	if err != nil {
		log.Fatal(err)
	}
	res := d.WalkAll()
	res.Threads = res.Threads[:1]
	res.Threads[0].Frames = res.Threads[0].Frames[:1]
	json.NewEncoder(os.Stdout).Encode(res)
	// Output:
	// {"threads":[{"id":36,"crashed":false,"frames":[{"index":0,"ip":"0x17000ebe4","sp":"0x21f898","module":"ntdll.dll","module_offset":"0xebe4","trust":"context"}]}]}
}
