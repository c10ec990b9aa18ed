package minidump_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// sharedDir finds the workspace's read-only "shared" folder (corpus, peers, docs) by
// walking up from the test's working directory; "" if there is none.
func sharedDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		for _, cand := range []string{filepath.Join(dir, "shared"), filepath.Join(dir, "..", "shared")} {
			if st, err := os.Stat(filepath.Join(cand, "corpus")); err == nil && st.IsDir() {
				return filepath.Clean(cand)
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// corpusDir returns ../shared/corpus or skips the test.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	s := sharedDir()
	if s == "" {
		tb.Skip("shared/corpus not found above the working directory")
	}
	return filepath.Join(s, "corpus")
}

// peersHome returns the directory the peers were installed into (PEERS_HOME, or
// ~/.cache/minidump-peers), or skips the test.
func peersHome(tb testing.TB) string {
	tb.Helper()
	home := os.Getenv("PEERS_HOME")
	if home == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				tb.Skip("no home directory")
			}
			cache = filepath.Join(h, ".cache")
		}
		home = filepath.Join(cache, "minidump-peers")
	}
	if st, err := os.Stat(home); err != nil || !st.IsDir() {
		tb.Skipf("peers not installed (%s missing)", home)
	}
	return home
}

// peerInput returns a generated input from the peers' inputs folder, or skips.
func peerInput(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(peersHome(tb), "inputs", name)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("%s not generated (run shared/peers/build-inputs.sh)", p)
	}
	return p
}

// isDumpName reports whether a corpus file is meant to be parsed as a minidump.
func isDumpName(rel string) bool {
	base := filepath.Base(rel)
	switch {
	case strings.HasSuffix(base, ".dmp"), strings.HasSuffix(base, ".mdmp"):
		return true
	case strings.HasPrefix(rel, "radare2-testbins/"), strings.HasPrefix(rel, "rizin-testbins/"):
		return true
	}
	return false
}

// corpusDumps lists the corpus files meant to be parsed as minidumps, relative paths.
func corpusDumps(tb testing.TB) (root string, rels []string) {
	tb.Helper()
	root = corpusDir(tb)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if isDumpName(rel) {
			rels = append(rels, rel)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(rels) == 0 {
		tb.Fatal("corpus has no dumps")
	}
	return root, rels
}

// parse opens an in-memory dump, failing the test on error.
func parse(tb testing.TB, data []byte) *minidump.File {
	tb.Helper()
	f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return f
}

// leaves flattens wrapped and joined errors into the errors at the bottom of the tree
// (the first error that wraps nothing further, or a typed error of this package).
func leaves(err error) []error {
	if err == nil {
		return nil
	}
	switch err.(type) {
	case *minidump.FormatError, *minidump.NotMinidumpError, *minidump.MissingMemoryError:
		return []error{err}
	}
	if errors.Is(err, minidump.ErrNoStream) {
		return []error{err}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	if u := errors.Unwrap(err); u != nil {
		return leaves(u)
	}
	return []error{err}
}

// checkErrKinds fails unless every part of err is one of the documented kinds: a
// *FormatError naming where it is, a *NotMinidumpError, a wrapped ErrNoStream, a
// *MissingMemoryError (memory reads only), or the "N more errors" summary an accessor
// appends when it drops errors past its limit.
func checkErrKinds(tb testing.TB, what string, err error, memory bool) {
	tb.Helper()
	if err := errKindsProblem(err, memory); err != nil {
		tb.Errorf("%s: %v", what, err)
	}
}

func errKindsProblem(err error, memory bool) error {
	for _, e := range leaves(err) {
		switch x := e.(type) {
		case *minidump.FormatError:
			if x.Where == "" {
				return fmt.Errorf("FormatError without a place: %v", x)
			}
			if strings.Contains(x.Error(), "\n") {
				return fmt.Errorf("FormatError spans lines: %q", x.Error())
			}
			continue
		case *minidump.NotMinidumpError:
			continue
		case *minidump.MissingMemoryError:
			if memory {
				continue
			}
		}
		if errors.Is(e, minidump.ErrNoStream) {
			continue
		}
		if strings.HasSuffix(e.Error(), "more errors like these") {
			continue
		}
		return fmt.Errorf("error of unexpected kind %T: %v (in %v)", e, e, err)
	}
	return nil
}

// countingReader counts the bytes read through it and remembers the furthest offset.
type countingReader struct {
	r     io.ReaderAt
	n     atomic.Int64
	calls atomic.Int64
	max   atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	c.calls.Add(1)
	for end := off + int64(n); ; {
		m := c.max.Load()
		if end <= m || c.max.CompareAndSwap(m, end) {
			break
		}
	}
	return n, err
}

func (c *countingReader) reset() { c.n.Store(0); c.calls.Store(0); c.max.Store(0) }

// An accessorResult is what one accessor returned.
type accessorResult struct {
	Name    string
	Streams []minidump.StreamType // the streams it decodes; present if any is
	Value   any
	Err     error
	N       int // entries decoded (lists)
	MinSize int // smallest on-disk size of one entry (lists), for allocation bounds
}

// Present reports whether the dump has a stream this accessor decodes.
func (r accessorResult) Present(f *minidump.File) bool {
	for _, t := range r.Streams {
		if f.HasStream(t) {
			return true
		}
	}
	return false
}

// An accessor is one stream accessor of *File, called through a uniform signature.
type accessor struct {
	Name    string
	Streams []minidump.StreamType
	MinSize int // on-disk size of one entry (lists)
	Call    func(f *minidump.File) (v any, n int, err error)
}

func list[T any](fn func(*minidump.File) ([]T, error)) func(*minidump.File) (any, int, error) {
	return func(f *minidump.File) (any, int, error) { v, err := fn(f); return v, len(v), err }
}

func one[T any](fn func(*minidump.File) (*T, error)) func(*minidump.File) (any, int, error) {
	return func(f *minidump.File) (any, int, error) { v, err := fn(f); return v, 0, err }
}

// accessors lists every stream accessor (Text is added per stream by callAll).
var accessors = []accessor{
	{"SystemInfo", []minidump.StreamType{minidump.StreamSystemInfo}, 0, one((*minidump.File).SystemInfo)},
	{"MiscInfo", []minidump.StreamType{minidump.StreamMiscInfo}, 0, one((*minidump.File).MiscInfo)},
	{"SystemMemoryInfo", []minidump.StreamType{minidump.StreamSystemMemoryInfo}, 0, one((*minidump.File).SystemMemoryInfo)},
	{"ProcessVMCounters", []minidump.StreamType{minidump.StreamProcessVMCounters}, 0, one((*minidump.File).ProcessVMCounters)},
	{"Modules", []minidump.StreamType{minidump.StreamModuleList}, 108, list((*minidump.File).Modules)},
	{"UnloadedModules", []minidump.StreamType{minidump.StreamUnloadedModuleList}, 24, list((*minidump.File).UnloadedModules)},
	{"Threads", []minidump.StreamType{minidump.StreamThreadList, minidump.StreamThreadExList}, 48, list((*minidump.File).Threads)},
	{"ThreadInfos", []minidump.StreamType{minidump.StreamThreadInfoList}, 64, list((*minidump.File).ThreadInfos)},
	{"ThreadNames", []minidump.StreamType{minidump.StreamThreadNames}, 12, list((*minidump.File).ThreadNames)},
	{"Exception", []minidump.StreamType{minidump.StreamException}, 0, one((*minidump.File).Exception)},
	{"MemoryList", []minidump.StreamType{minidump.StreamMemoryList}, 16, list((*minidump.File).MemoryList)},
	{"Memory64List", []minidump.StreamType{minidump.StreamMemory64List}, 16, list((*minidump.File).Memory64List)},
	{"MemoryInfo", []minidump.StreamType{minidump.StreamMemoryInfoList}, 48, list((*minidump.File).MemoryInfo)},
	{"Handles", []minidump.StreamType{minidump.StreamHandleData}, 32, list((*minidump.File).Handles)},
	{"Comments", []minidump.StreamType{minidump.StreamCommentA, minidump.StreamCommentW}, 0, list((*minidump.File).Comments)},
	{"BreakpadInfo", []minidump.StreamType{minidump.StreamBreakpadInfo}, 0, one((*minidump.File).BreakpadInfo)},
	{"CrashpadInfo", []minidump.StreamType{minidump.StreamCrashpadInfo}, 0, one((*minidump.File).CrashpadInfo)},
	{"Memory", []minidump.StreamType{minidump.StreamMemoryList, minidump.StreamMemory64List}, 16,
		func(f *minidump.File) (any, int, error) {
			m, err := f.Memory()
			if m == nil {
				return nil, 0, err
			}
			return m.Ranges(), len(m.Ranges()), err
		}},
}

// allAccessors returns accessors plus Text for every stream type in f's directory.
func allAccessors(f *minidump.File) []accessor {
	out := append([]accessor(nil), accessors...)
	seen := map[minidump.StreamType]bool{}
	for _, s := range f.Streams {
		if s.Type == minidump.StreamUnused || seen[s.Type] {
			continue
		}
		seen[s.Type] = true
		typ := s.Type
		out = append(out, accessor{"Text(" + typ.String() + ")", []minidump.StreamType{typ}, 0,
			func(f *minidump.File) (any, int, error) { v, err := f.Text(typ); return v, 0, err }})
	}
	return out
}

// callAll calls every stream accessor of f.
func callAll(f *minidump.File) []accessorResult {
	var out []accessorResult
	for _, a := range allAccessors(f) {
		v, n, err := a.Call(f)
		out = append(out, accessorResult{Name: a.Name, Streams: a.Streams, Value: v, Err: err, N: n, MinSize: a.MinSize})
	}
	return out
}
