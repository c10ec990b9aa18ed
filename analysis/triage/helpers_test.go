package triage

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
	"github.com/klauspost/compress/zstd"
)

const (
	K = 1 << 10
	M = 1 << 20
)

func reserve(base, size uint64) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, AllocationBase: base, AllocationProtect: minidump.PageReadWrite,
		RegionSize: size, State: minidump.MemReserve, Type: minidump.MemPrivate}
}

func free(base, size uint64) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, RegionSize: size, State: minidump.MemFree, Protect: minidump.PageNoAccess}
}

func image(base, size uint64) minidump.MemoryInfo {
	return minidump.MemoryInfo{BaseAddress: base, AllocationBase: base, AllocationProtect: minidump.PageExecuteWriteCopy,
		RegionSize: size, State: minidump.MemCommit, Protect: minidump.PageExecuteRead, Type: minidump.MemImage}
}

// synth builds a 32-bit Windows dump of app.exe 1.2.3.4 whose user address space
// (0x10000-0x7ffeffff) has one free block of freeSize bytes at 0x40000000 (none
// when freeSize is 0), and the given exception (none when code is 0) at
// app.exe+off. stamp is the header's time.
func synth(freeSize uint64, code minidump.ExceptionCode, off uint64, stamp uint32) []byte {
	const top = 0x7fff0000
	regions := []minidump.MemoryInfo{free(0, 0x10000), image(0x400000, 0x10000)}
	if freeSize == 0 {
		regions = append(regions, reserve(0x410000, top-0x410000))
	} else {
		regions = append(regions, reserve(0x410000, 0x40000000-0x410000), free(0x40000000, freeSize),
			reserve(0x40000000+freeSize, top-0x40000000-freeSize))
	}
	regions = append(regions, reserve(0x10000, 0x3f0000))
	sort.Slice(regions, func(i, j int) bool { return regions[i].BaseAddress < regions[j].BaseAddress })
	b := minidumptest.New().
		SystemInfo(minidumptest.Windows7x86()).
		Module(minidumptest.Module{Base: 0x400000, Size: 0x10000, Name: `C:\Program Files\App\app.exe`, Version: [4]uint16{1, 2, 3, 4}}).
		Module(minidumptest.Module{Base: 0x77000000, Size: 0x100000, Name: `C:\Windows\System32\ntdll.dll`}).
		Region(regions...)
	b.TimeDateStamp = stamp
	if code != 0 {
		b.Exception(1, code, 0x400000+off)
	}
	return b.Bytes()
}

func gz(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, data []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

type member struct {
	name string
	data []byte
}

func zipOf(t testing.TB, ms ...member) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, m := range ms {
		if m.data == nil { // a folder entry
			if _, err := w.Create(m.name + "/"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := w.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(m.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func write(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// collect runs triage and returns the records by "file!member" (relative to dir).
func collect(t testing.TB, dir string, paths []string, opt Options) (map[string]*Record, []*Record, Stats) {
	t.Helper()
	var mu sync.Mutex
	byKey := map[string]*Record{}
	var all []*Record
	st, err := Run(context.Background(), paths, opt, func(r *Record) error {
		mu.Lock()
		defer mu.Unlock()
		rel, err := filepath.Rel(dir, r.File)
		if err != nil {
			rel = r.File
		}
		k := filepath.ToSlash(rel)
		if r.Member != "" {
			k += "!" + r.Member
		}
		if _, dup := byKey[k]; dup {
			t.Errorf("two records for %s", k)
		}
		byKey[k] = r
		all = append(all, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return byKey, all, st
}

// sharedCorpus returns ../shared/corpus above the working directory, or "".
func sharedCorpus() string {
	if d := os.Getenv("DUMPMAP_CORPUS"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "corpus")
		if _, err := os.Stat(filepath.Join(p, "CATALOG.md")); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
