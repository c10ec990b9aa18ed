// Command stackwalk walks the threads of minidumps and prints them: a
// development tool for measuring package stack against Breakpad's
// minidump_stackwalk side by side (docs/stacks.md). The dumpmap command's "stack"
// subcommand is the user-facing form.
//
// Usage: stackwalk [-json] [-crashed] FILE...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/dumpmap/dumpmap/analysis/stack"
	"github.com/dumpmap/dumpmap/minidump"
)

func main() {
	// A short-lived process: collecting garbage would only cost time.
	debug.SetGCPercent(-1)
	asJSON := flag.Bool("json", false, "print JSON")
	crashed := flag.Bool("crashed", false, "walk the crashing thread only")
	flag.Parse()
	status := 0
	for _, name := range flag.Args() {
		if err := walk(name, *asJSON, *crashed); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			status = 1
		}
	}
	os.Exit(status)
}

func walk(name string, asJSON, crashed bool) error {
	f, err := minidump.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := stack.NewDump(f, stack.Options{})
	if err != nil {
		return err
	}
	var res stack.Result
	if crashed {
		t, err := d.WalkCrashed()
		if err != nil {
			return err
		}
		res.Threads = []stack.Thread{t}
	} else {
		res = d.WalkAll()
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("%s\n", name)
	for i := range res.Threads {
		if err := stack.WriteText(os.Stdout, &res.Threads[i], stack.ArchOf(d.Arch).PointerSize()); err != nil {
			return err
		}
	}
	return nil
}
