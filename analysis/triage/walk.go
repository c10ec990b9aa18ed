package triage

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Shard selects a deterministic part of the files: shard Index of Count (0 <=
// Index < Count). A file belongs to shard FNV-1a(key) mod Count, where key is its
// path relative to the PATH argument it was found under (a file given as an
// argument: its base name). So every machine that runs the same command with a
// different Index gets a disjoint part, their union is every file, and it does not
// matter where each machine mounts the collection. The zero Shard is all files.
type Shard struct{ Index, Count int }

// ParseShard parses "i/n".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("bad shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return Shard{i, n}, nil
}

func (s Shard) String() string {
	if s.Count <= 1 {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Has reports whether the file with the given shard key is in the shard.
func (s Shard) Has(key string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	io.WriteString(h, key)
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

// A task is one file on disk to triage, or a path that could not be walked (err).
type task struct {
	seq  int64
	path string
	err  error // set: the record is this error, nothing is read
}

// walker lists the files under the PATH arguments in a deterministic order: the
// arguments in the order given, each folder's entries sorted by name. It follows
// symbolic links, but walks each folder (device and inode) once, so a link to an
// ancestor cannot loop.
type walker struct {
	ctx     context.Context
	shard   Shard
	out     chan<- task
	seq     int64
	visited map[fileID]bool
	// slots bounds the tasks in flight: one is taken per task, and given back by
	// Run when the task's records are delivered.
	slots chan struct{}
	// emitHook, when set, is called after every file found (for progress).
	emitHook func()
	// exclude holds absolute paths of files to leave out; cwd makes paths absolute.
	exclude map[string]bool
	cwd     string
	// Counters for the summary.
	found, outside, loops int64
}

type fileID struct{ dev, ino uint64 }

func (w *walker) walk(paths []string) {
	for _, p := range paths {
		if w.ctx.Err() != nil {
			return
		}
		fi, err := os.Stat(p)
		if err != nil {
			w.emit(p, path.Base(filepath.ToSlash(p)), ioError(err))
			continue
		}
		if fi.IsDir() {
			w.dir(p, "", fi)
			continue
		}
		w.file(p, path.Base(filepath.ToSlash(filepath.Clean(p))), fi)
	}
}

// file handles a path that is not a folder.
func (w *walker) file(p, key string, fi fs.FileInfo) {
	if fi.Mode().IsRegular() {
		w.emit(p, key, nil)
		return
	}
	w.emit(p, key, &notRegularError{fi.Mode()})
}

func (w *walker) emit(p, key string, err error) {
	if len(w.exclude) > 0 {
		abs := p
		if !filepath.IsAbs(abs) {
			if w.cwd == "" {
				w.cwd, _ = os.Getwd()
			}
			abs = filepath.Join(w.cwd, abs)
		}
		if w.exclude[filepath.Clean(abs)] {
			return
		}
	}
	w.found++
	if !w.shard.Has(key) {
		w.outside++
		return
	}
	if w.emitHook != nil {
		w.emitHook()
	}
	if w.out == nil { // counting only
		return
	}
	if w.slots != nil {
		select {
		case w.slots <- struct{}{}:
		case <-w.ctx.Done():
			return
		}
	}
	t := task{seq: w.seq, path: p, err: err}
	w.seq++
	select {
	case w.out <- t:
	case <-w.ctx.Done():
	}
}

// dirEntry is what the walker keeps of a folder entry: 40 bytes and the name.
type dirEntry struct {
	name string
	typ  fs.FileMode
}

// maxDepth bounds the folder depth, the last guard against loops where folders
// have no identity to compare (off Unix).
const maxDepth = 256

func (w *walker) dir(p, key string, fi fs.FileInfo) {
	if strings.Count(key, "/") >= maxDepth {
		w.loops++
		return
	}
	if id, ok := idOf(fi); ok {
		if w.visited[id] {
			w.loops++
			return
		}
		w.visited[id] = true
	}
	entries, err := readDirSorted(p)
	if err != nil {
		// The folder is accounted for by a record with the error.
		w.emit(p, key, ioError(err))
		if len(entries) == 0 {
			return
		}
	}
	for _, e := range entries {
		if w.ctx.Err() != nil {
			return
		}
		cp := filepath.Join(p, e.name)
		ck := e.name
		if key != "" {
			ck = key + "/" + e.name
		}
		switch {
		case e.typ.IsDir():
			sub, err := os.Lstat(cp)
			if err != nil {
				w.emit(cp, ck, ioError(err))
				continue
			}
			w.dir(cp, ck, sub)
		case e.typ&fs.ModeSymlink != 0:
			target, err := os.Stat(cp)
			if err != nil {
				w.emit(cp, ck, fmt.Errorf("broken symbolic link: %w", ioError(err)))
				continue
			}
			if target.IsDir() {
				w.dir(cp, ck, target)
				continue
			}
			w.file(cp, ck, target)
		case e.typ.IsRegular():
			w.emit(cp, ck, nil)
		default:
			w.emit(cp, ck, &notRegularError{e.typ})
		}
	}
}

// readDirSorted lists a folder's entries sorted by name, reading the folder in
// batches so that only names and types are kept.
func readDirSorted(p string) ([]dirEntry, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []dirEntry
	for {
		batch, err := f.ReadDir(4096)
		for _, e := range batch {
			out = append(out, dirEntry{e.Name(), e.Type()})
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
			return out, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// ioError drops the path a *fs.PathError repeats: the record names the file.
func ioError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// excludeSet makes Options.Exclude a set of clean absolute paths.
func excludeSet(paths []string) map[string]bool {
	m := map[string]bool{}
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			m[abs] = true
		}
	}
	return m
}
