package symstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout     = 2 * time.Minute
	DefaultMaxDownload = 2 << 30
)

// ErrNotFound is wrapped by the Find methods' errors when no element had
// the file.
var ErrNotFound = errors.New("not found on the symbol path")

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Cache is the downstream store for servers given without one (srv*URL)
	// and for CAB files expanded from read-only stores. "" means
	// DefaultCacheDir. It is only created when something must be written.
	Cache string
	// Client makes the HTTP requests; nil means a client with Timeout.
	Client *http.Client
	// Timeout bounds each download, headers and body (DefaultTimeout if 0).
	Timeout time.Duration
	// MaxDownload caps a downloaded or expanded file in bytes
	// (DefaultMaxDownload if 0).
	MaxDownload int64
}

// Store looks PDBs up along a symbol path.
type Store struct {
	path SymbolPath
	opts Options
}

// New returns a Store for p.
func New(p SymbolPath, opts Options) *Store {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxDownload <= 0 {
		opts.MaxDownload = DefaultMaxDownload
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.Timeout, CheckRedirect: checkRedirect}
	}
	return &Store{path: p, opts: opts}
}

// checkRedirect keeps redirects on http(s) and bounded.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %s scheme refused", req.URL.Scheme)
	}
	return nil
}

// DefaultCacheDir is the user's cache folder for symbols:
// $XDG_CACHE_HOME/dumpmap/symbols, ~/Library/Caches/dumpmap/symbols on macOS.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("symstore: no cache folder: %w", err)
	}
	return filepath.Join(d, "dumpmap", "symbols"), nil
}

// lookup is the state of one Find call.
type lookup struct {
	s    *Store
	ctx  context.Context
	name string // validated bare name: the first folder of the key path
	key  string // the key folder
	file string // validated file name inside the key folder
	what string // "PDB", "Breakpad symbol file", "image": for messages
	// check opens a candidate and verifies it is the wanted file.
	check   func(path string) error
	tried   []string
	visited map[string]bool
}

func (l *lookup) note(where, what string) {
	l.tried = append(l.tried, where+": "+what)
}

// FindPDB returns the path of the PDB with the given name, GUID and age,
// searching the symbol path in order. name may be the full path from a
// CodeView record: only its validated base name is used (see SafeName).
// tried lists every place looked at and what was there, for the error
// message a user needs when symbols are missing. A PDB found compressed is
// expanded into a store or the cache, and the returned path is the expanded
// file. Every file returned was opened and its GUID and age checked.
func (s *Store) FindPDB(ctx context.Context, name string, guid codeview.GUID, age uint32) (path string, tried []string, err error) {
	safe, err := SafeName(name)
	if err != nil {
		return "", nil, err
	}
	l := &lookup{s: s, ctx: ctx, name: safe, key: Key(guid, age), file: safe, what: "PDB",
		check: func(p string) error { return checkPDB(p, guid, age) }}
	return l.find()
}

// find searches the symbol path in order for l's key path.
func (l *lookup) find() (path string, tried []string, err error) {
	s, ctx := l.s, l.ctx
	l.visited = map[string]bool{}
	var caches []string
	for _, e := range s.path {
		if err := ctx.Err(); err != nil {
			return "", l.tried, err
		}
		switch e.Kind {
		case Cache:
			dir := e.Dir
			if dir == "" {
				if dir, err = l.defaultCache(); err != nil {
					l.note("cache*", err.Error())
					continue
				}
			}
			caches = append(caches, dir)
		case Folder:
			for _, c := range caches {
				if p, ok := l.searchStore(c, c); ok {
					return p, l.tried, nil
				}
			}
			if p, ok := l.searchStore(e.Dir, l.expandTarget(caches)); ok {
				return p, l.tried, nil
			}
			if p, ok := l.searchFlat(e.Dir); ok {
				return p, l.tried, nil
			}
		case Server:
			// The downstream store receives downloads: the element's first
			// store, else the first cache* folder, else the default cache.
			downstream := ""
			switch {
			case len(e.Stores) > 0:
				downstream = e.Stores[0]
			case len(caches) > 0:
				downstream = caches[0]
			case e.URL != "":
				d, err := l.defaultCache()
				if err != nil {
					l.note(e.URL, "not tried: "+err.Error())
					continue
				}
				downstream = d
			}
			// Only a server's downstream store is written to; CABs in
			// purely local stores expand into the cache, never in place.
			expand := l.expandTarget(caches)
			if e.URL != "" {
				expand = downstream
			}
			for _, st := range slices.Concat(caches, e.Stores, []string{downstream}) {
				if p, ok := l.searchStore(st, expand); ok {
					return p, l.tried, nil
				}
			}
			if e.URL != "" {
				if p, ok := l.download(e.URL, downstream); ok {
					return p, l.tried, nil
				}
				if err := ctx.Err(); err != nil {
					return "", l.tried, err
				}
			}
		}
	}
	return "", l.tried, fmt.Errorf("symstore: %s %s: %s %w (%d places tried)", l.name, l.key, l.what, ErrNotFound, len(l.tried))
}

func (l *lookup) defaultCache() (string, error) {
	if l.s.opts.Cache != "" {
		return l.s.opts.Cache, nil
	}
	return DefaultCacheDir()
}

// expandTarget is where a CAB found in a plain folder is expanded: the
// first cache* folder, else the Store's cache.
func (l *lookup) expandTarget(caches []string) string {
	if len(caches) > 0 {
		return caches[0]
	}
	d, err := l.defaultCache()
	if err != nil {
		return ""
	}
	return d
}

// nameVariants are the spellings of the name tried on case-sensitive file
// systems: stores written on Windows may differ in case.
func (l *lookup) nameVariants() []string {
	if lower := strings.ToLower(l.name); lower != l.name {
		return []string{l.name, lower}
	}
	return []string{l.name}
}

// fileVariants are the spellings of the file name inside a key folder.
func (l *lookup) fileVariants() []string {
	if lower := strings.ToLower(l.file); lower != l.file {
		return []string{l.file, lower}
	}
	return []string{l.file}
}

// keyDirs returns the key folders of root for both layouts: one-tier
// name/KEY and two-tier (index2.txt) na/name/KEY.
func (l *lookup) keyDirs(root string) []string {
	var dirs []string
	for _, n := range l.nameVariants() {
		dirs = append(dirs, filepath.Join(root, n, l.key))
	}
	if _, err := os.Stat(filepath.Join(root, "index2.txt")); err == nil {
		for _, n := range l.nameVariants() {
			prefix := n
			if len(prefix) > 2 {
				prefix = prefix[:2]
			}
			dirs = append(dirs, filepath.Join(root, strings.ToLower(prefix), n, l.key))
		}
	}
	return dirs
}

// searchStore looks for the PDB under root in symbol-store layout: the
// file, its CAB form and a file.ptr. A CAB is expanded into the store
// expandRoot at the same key.
func (l *lookup) searchStore(root, expandRoot string) (string, bool) {
	if root == "" || l.visited["store:"+root] {
		return "", false
	}
	l.visited["store:"+root] = true
	for _, dir := range l.keyDirs(root) {
		if !within(root, dir) {
			continue // cannot happen with a validated name; checked anyway
		}
		if _, err := os.Stat(dir); err != nil {
			l.note(dir, "no such folder")
			continue
		}
		for _, n := range l.fileVariants() {
			for _, file := range []string{filepath.Join(dir, n), filepath.Join(dir, compressedName(n))} {
				if p, ok := l.tryLocal(file, expandRoot); ok {
					return p, true
				}
			}
		}
		if p, ok := l.followPtr(filepath.Join(dir, "file.ptr"), expandRoot); ok {
			return p, true
		}
	}
	return "", false
}

// searchFlat looks for the bare name in a plain folder.
func (l *lookup) searchFlat(dir string) (string, bool) {
	if dir == "" || l.visited["flat:"+dir] {
		return "", false
	}
	l.visited["flat:"+dir] = true
	for _, n := range l.fileVariants() {
		p := filepath.Join(dir, n)
		if !within(dir, p) {
			continue
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			l.note(p, "not there")
			continue
		}
		if err := l.check(p); err != nil {
			l.note(p, err.Error())
			continue
		}
		l.note(p, "found")
		return p, true
	}
	return "", false
}

// tryLocal checks one candidate file of a local store: a PDB is checked in
// place, a CAB is expanded into expandRoot and the result checked.
func (l *lookup) tryLocal(file, expandRoot string) (string, bool) {
	if st, err := os.Stat(file); err != nil || !st.Mode().IsRegular() {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			l.note(file, err.Error())
		}
		return "", false
	}
	fh, err := os.Open(file)
	if err != nil {
		l.note(file, err.Error())
		return "", false
	}
	defer fh.Close()
	if isCAB(fh) {
		st, err := fh.Stat()
		if err != nil {
			l.note(file, err.Error())
			return "", false
		}
		p, err := l.installCAB(fh, st.Size(), expandRoot)
		if err != nil {
			l.note(file, "CAB: "+err.Error())
			return "", false
		}
		l.note(file, "found compressed, expanded to "+p)
		return p, true
	}
	if err := l.check(file); err != nil {
		l.note(file, err.Error())
		return "", false
	}
	l.note(file, "found")
	return file, true
}

// followPtr reads a local store's file.ptr ("PATH:location" or
// "MSG:text"). The store is the user's own configuration, so a PATH is
// followed, but what it points at must still pass the PDB check.
func (l *lookup) followPtr(ptr, expandRoot string) (string, bool) {
	b, err := readSmall(ptr, 4096)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			l.note(ptr, err.Error())
		}
		return "", false
	}
	s := strings.TrimSpace(string(b))
	switch {
	case strings.HasPrefix(s, "PATH:"):
		target := strings.TrimSpace(strings.TrimPrefix(s, "PATH:"))
		l.note(ptr, "points to "+target)
		return l.tryLocal(target, expandRoot)
	case strings.HasPrefix(s, "MSG:"):
		l.note(ptr, "message: "+strings.TrimPrefix(s, "MSG:"))
	default:
		l.note(ptr, "unreadable file.ptr")
	}
	return "", false
}

func readSmall(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, limit))
}

// within reports whether p is root or inside it, lexically: the last guard
// between a computed path and the file system.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// keyPath is the final location of the file in a store.
func (l *lookup) keyPath(root string) (string, error) {
	p := filepath.Join(root, l.name, l.key, l.file)
	if !within(root, p) {
		return "", fmt.Errorf("path %q escapes store %q", p, root)
	}
	return p, nil
}

// installCAB expands the PDB inside a cabinet into root at the key, through
// a temporary file renamed into place only after the PDB check passes.
func (l *lookup) installCAB(r io.ReaderAt, size int64, root string) (string, error) {
	if root == "" {
		return "", errors.New("no cache folder to expand into")
	}
	c, err := cab.NewReader(r, size)
	if err != nil {
		return "", err
	}
	if len(c.Files) == 0 {
		return "", errors.New("cabinet holds no file")
	}
	// Symbol-server cabinets hold one file. The name stored in the cabinet
	// is never used as a path: only as a hint which member to take.
	idx := 0
	for i, f := range c.Files {
		if strings.EqualFold(filepath.Base(strings.ReplaceAll(f.Name, `\`, "/")), l.file) {
			idx = i
			break
		}
	}
	final, err := l.keyPath(root)
	if err != nil {
		return "", err
	}
	return final, l.writeAtomically(final, func(w io.Writer) error {
		return c.Extract(idx, w, l.s.opts.MaxDownload)
	}, fmt.Sprintf("cabinet member %q", c.Files[idx].Name))
}

// writeAtomically creates final's folder, writes a temporary file there with
// fill, checks it is the wanted PDB and renames it to final. On any failure
// the temporary file is removed and final is untouched.
func (l *lookup) writeAtomically(final string, fill func(io.Writer) error, what string) error {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".dumpmap-*.tmp")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
			// Leave no empty key folders behind a failed attempt; Remove
			// only removes empty folders.
			os.Remove(dir)
			os.Remove(filepath.Dir(dir))
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := l.check(tmp.Name()); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return err
	}
	ok = true
	return nil
}
