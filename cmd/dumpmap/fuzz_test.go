package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// FuzzCommands runs every command, in text and JSON, on arbitrary bytes: no input may
// make dumpmap panic (run turns a panic into "internal error", which fails here) or
// exit with a status other than 0 and 1.
//
//	go test ./cmd/dumpmap -run '^$' -fuzz FuzzCommands -fuzztime 5m
func FuzzCommands(f *testing.F) {
	f.Add(syntheticX64().Bytes())
	f.Add(syntheticWOW64())
	f.Add(minidumptest.New().SystemInfo(minidumptest.Windows7x86()).
		Stream(minidump.StreamThreadNames, []byte{1, 0, 0, 0, 42, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0}).
		Stream(minidump.StreamThreadInfoList, []byte{12, 0, 0, 0, 64, 0, 0, 0, 1, 0, 0, 0}).
		Stream(minidump.StreamUnloadedModuleList, []byte{12, 0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0}).
		Stream(minidump.StreamBreakpadInfo, []byte{3, 0, 0, 0, 42, 0, 0, 0, 42, 0, 0, 0}).
		Memory64(0x10000, []byte("full memory")).Bytes())
	if c := corpusDirOrEmptyTB(f); c != "" {
		for _, name := range []string{"breakpad/minidump2.dmp", "lldb/fizzbuzz_no_heap.dmp", "rust-minidump/invalid-range.dmp",
			"radare2-testbins/trunc_memory64.dmp", "lldb/regions-memlist64.dmp"} {
			if b, err := os.ReadFile(filepath.Join(c, name)); err == nil {
				f.Add(b)
			}
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.dmp")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"info", p}, {"info", "--json", p}, {"streams", p}, {"streams", "--json", p},
			{"modules", p}, {"modules", "-l", p}, {"modules", "-u", "--json", p}, {"modules", "--json", p},
			{"threads", p}, {"threads", "-l", p}, {"threads", "--json", p},
			{"memory", p}, {"memory", "--json", p},
			{"read", p, "0x10000", "32"}, {"read", "--json", p, "0x7ff6a0000000", "64"},
			{"symbols", p, "*!*"}, {"symbols", "--json", p, "*!*heap*"}, {"heaps", p}, {"heaps", "--json", p},
		} {
			_, errOut, code := runCLI(args...)
			if strings.Contains(errOut, "internal error") {
				t.Fatalf("%v: %s", args, errOut)
			}
			if code != 0 && code != 1 && !(args[0] == "read" && code == 2) {
				t.Fatalf("%v: exit %d: %s", args, code, errOut)
			}
		}
	})
}

func corpusDirOrEmptyTB(tb testing.TB) string {
	dir := os.Getenv("DUMPMAP_CORPUS")
	if dir == "" {
		dir = filepath.Join(repoRoot(tb), "..", "shared", "corpus")
	}
	if _, err := os.Stat(filepath.Join(dir, "CATALOG.md")); err != nil {
		return ""
	}
	return dir
}

// TestMutatedDumps is a deterministic cousin of FuzzCommands that runs in every test
// run: a few hundred random byte mutations of the seeds, every command on each,
// with a watchdog so that a hang fails the test instead of stalling it.
func TestMutatedDumps(t *testing.T) {
	seeds := [][]byte{syntheticX64().Bytes(), syntheticWOW64()}
	if c := corpusDirOrEmptyTB(t); c != "" {
		for _, n := range []string{"breakpad/minidump2.dmp", "lldb/fizzbuzz_no_heap.dmp", "radare2-testbins/trunc_memory64.dmp"} {
			if b, err := os.ReadFile(filepath.Join(c, n)); err == nil {
				seeds = append(seeds, b)
			}
		}
	}
	n := 200
	if testing.Short() {
		n = 50
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range n {
		d := append([]byte(nil), seeds[iter%len(seeds)]...)
		for range 1 + r.IntN(8) {
			i := r.IntN(len(d))
			switch r.IntN(3) {
			case 0:
				d[i] = byte(r.IntN(256))
			case 1:
				d[i] = 0xff
			default:
				d[i] ^= 0x80
			}
		}
		p := filepath.Join(dir, "mutated.dmp")
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"info", p}, {"streams", "--json", p}, {"modules", "-l", p}, {"modules", "-u", p},
			{"threads", "-l", p}, {"memory", p}, {"read", p, "0x10000", "32"}, {"read", "--json", p, "0x12f31c", "64"}} {
			done := make(chan string, 1)
			go func() {
				_, errOut, code := runCLI(args...)
				if strings.Contains(errOut, "internal error") || (code != 0 && code != 1 && args[0] != "read") {
					done <- fmt.Sprintf("exit %d: %s", code, errOut)
					return
				}
				done <- ""
			}()
			select {
			case msg := <-done:
				if msg != "" {
					t.Fatalf("mutation %d, %v: %s", iter, args, msg)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("mutation %d, %v: no answer in 10 s", iter, args)
			}
		}
	}
}
