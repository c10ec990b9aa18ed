package symstore

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/analysis/cab"
	"github.com/dumpmap/dumpmap/analysis/cab/cabtest"
	"github.com/dumpmap/dumpmap/analysis/internal/sharedtest"
	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// Identities of the test PDBs.
var (
	crashGUID = mustGUID("{3249D99D-0C40-4931-8610-F4E4FB0B6936}")
	cweGUID   = mustGUID("{F535C5FB-2AE8-4BB8-AA20-6C30BE566C5A}")
	x64GUID   = mustGUID("{65FE4835-2346-7225-4C4C-44205044422E}")
	x64Key    = "65FE4835234672254C4C44205044422E1"
)

const (
	x64Name = "fixture-x64.pdb"
	x64PDB  = "../testdata/lld/fixture-x64.pdb"
	x86PDB  = "../testdata/lld/fixture-x86.pdb"
	x64CAB  = "../testdata/cab/fixture-x64.pd_"
)

func mustGUID(s string) codeview.GUID {
	g, err := codeview.ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// put copies one of this package's own fixtures into a temporary store.
func put(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// files lists the regular files under dir, relative and slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// noNetwork fails the test if any HTTP request is made.
func noNetwork(t *testing.T) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request to %s", r.URL)
		return nil, errors.New("no network in this test")
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFindPDBCorpus(t *testing.T) {
	corpus := sharedtest.Dir(t)
	store := filepath.Join(corpus, "store")
	tests := []struct {
		name, path string
		pdb        string
		guid       codeview.GUID
		age        uint32
		wantFile   string // relative to corpus; "" = not found
		wantTried  string // substring of the tried list
	}{
		{"crash", "srv*" + store, `C:\projects\breakpad-tools\windows\Release\crash.pdb`, crashGUID, 1, "store/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb", ": found"},
		{"crash as folder", store, "crash.pdb", crashGUID, 1, "store/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb", ": found"},
		{"x64", "srv*" + store, "CrashWithException.pdb", cweGUID, 1, "store/CrashWithException.pdb/F535C5FB2AE84BB8AA206C30BE566C5A1/CrashWithException.pdb", ": found"},
		{"wrong age", store, "crash.pdb", crashGUID, 2, "", "3249D99D0C4049318610F4E4FB0B69362: no such folder"},
		{"wrong guid", store, "crash.pdb", cweGUID, 1, "", "no such folder"},
		{"not in store", store, "other.pdb", crashGUID, 1, "", "no such folder"},
		// The corpus CAB holds a Breakpad text file, not a PDB: found and
		// expanded, then refused by the identity check.
		{"store-cab", "srv*" + filepath.Join(corpus, "store-cab"), "crash.pdb", crashGUID, 1, "", "looks like a Breakpad symbol file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			s := New(p, Options{Cache: cache, Client: noNetwork(t)})
			got, tried, err := s.FindPDB(context.Background(), tt.pdb, tt.guid, tt.age)
			joined := strings.Join(tried, "\n")
			if !strings.Contains(joined, tt.wantTried) {
				t.Errorf("tried does not mention %q:\n%s", tt.wantTried, joined)
			}
			if tt.wantFile == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %q, %v; want ErrNotFound", got, err)
				}
				if f := files(t, cache); len(f) != 0 {
					t.Errorf("cache holds %q after a failed lookup", f)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, joined)
			}
			if got != filepath.Join(corpus, tt.wantFile) {
				t.Errorf("found %q, want %q", got, tt.wantFile)
			}
		})
	}
}

func TestFindPDBLayouts(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) // fills root
		path    func(root, cache string) string
		want    func(root, cache string) string
		wantErr bool
	}{
		{"one-tier", func(t *testing.T, root string) {
			put(t, x64PDB, filepath.Join(root, x64Name, x64Key, x64Name))
		}, func(root, cache string) string { return "srv*" + root }, func(root, cache string) string { return filepath.Join(root, x64Name, x64Key, x64Name) }, false},
		{"two-tier index2.txt", func(t *testing.T, root string) {
			put(t, x64PDB, filepath.Join(root, "fi", x64Name, x64Key, x64Name))
			os.WriteFile(filepath.Join(root, "index2.txt"), nil, 0o644)
		}, func(root, cache string) string { return "srv*" + root }, func(root, cache string) string { return filepath.Join(root, "fi", x64Name, x64Key, x64Name) }, false},
		{"two-tier needs index2.txt", func(t *testing.T, root string) {
			put(t, x64PDB, filepath.Join(root, "fi", x64Name, x64Key, x64Name))
		}, func(root, cache string) string { return "srv*" + root }, nil, true},
		{"upper-case name from the dump", func(t *testing.T, root string) {
			put(t, x64PDB, filepath.Join(root, "fixture-x64.pdb", x64Key, "fixture-x64.pdb"))
		}, func(root, cache string) string { return root }, func(root, cache string) string {
			return filepath.Join(root, "fixture-x64.pdb", x64Key, "fixture-x64.pdb")
		}, false},
		{"compressed name.pd_ expands into the cache", func(t *testing.T, root string) {
			put(t, x64CAB, filepath.Join(root, x64Name, x64Key, "fixture-x64.pd_"))
		}, func(root, cache string) string { return "srv*" + root }, func(root, cache string) string { return filepath.Join(root, x64Name, x64Key, x64Name) }, false},
		{"CAB under the plain name", func(t *testing.T, root string) {
			put(t, x64CAB, filepath.Join(root, x64Name, x64Key, x64Name))
		}, func(root, cache string) string { return "cache*" + cache + ";" + root }, func(root, cache string) string { return filepath.Join(cache, x64Name, x64Key, x64Name) }, false},
		{"file.ptr", func(t *testing.T, root string) {
			put(t, x64PDB, filepath.Join(root, "elsewhere", "real.pdb"))
			os.WriteFile(filepath.Join(root, "real.ptr"), nil, 0o644)
			os.MkdirAll(filepath.Join(root, "s", x64Name, x64Key), 0o755)
			os.WriteFile(filepath.Join(root, "s", x64Name, x64Key, "file.ptr"), []byte("PATH:"+filepath.Join(root, "elsewhere", "real.pdb")), 0o644)
		}, func(root, cache string) string { return "srv*" + filepath.Join(root, "s") }, func(root, cache string) string { return filepath.Join(root, "elsewhere", "real.pdb") }, false},
		{"flat folder", func(t *testing.T, root string) {
			put(t, x64PDB, filepath.Join(root, x64Name))
		}, func(root, cache string) string { return root }, func(root, cache string) string { return filepath.Join(root, x64Name) }, false},
		{"flat folder, wrong PDB", func(t *testing.T, root string) {
			put(t, x86PDB, filepath.Join(root, x64Name))
		}, func(root, cache string) string { return root }, nil, true},
		{"flat after store miss", func(t *testing.T, root string) {
			put(t, x86PDB, filepath.Join(root, "a", x64Name))
			put(t, x64PDB, filepath.Join(root, "b", x64Name))
		}, func(root, cache string) string { return filepath.Join(root, "a") + ";" + filepath.Join(root, "b") }, func(root, cache string) string { return filepath.Join(root, "b", x64Name) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, cache := t.TempDir(), t.TempDir()
			tt.setup(t, root)
			before := files(t, root)
			p, err := Parse(tt.path(root, cache))
			if err != nil {
				t.Fatal(err)
			}
			// A name in upper case must still find the lower-case store.
			name := x64Name
			if strings.HasPrefix(tt.name, "upper") {
				name = "FIXTURE-X64.PDB"
			}
			got, tried, err := New(p, Options{Cache: cache, Client: noNetwork(t)}).FindPDB(context.Background(), name, x64GUID, 1)
			// Local stores are read, never written: CABs expand into the cache.
			if after := files(t, root); !slices.Equal(before, after) {
				t.Errorf("store changed: %q -> %q", before, after)
			}
			if tt.wantErr {
				if err == nil {
					t.Fatalf("found %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, strings.Join(tried, "\n"))
			}
			want := tt.want(root, cache)
			if strings.Contains(tt.name, "expands into the cache") {
				want = filepath.Join(cache, x64Name, x64Key, x64Name)
			}
			if got != want {
				t.Errorf("found %q, want %q\n%s", got, want, strings.Join(tried, "\n"))
			}
		})
	}
}

// symServer is an httptest symbol server that serves files by request path
// and records every request.
type symServer struct {
	mu       sync.Mutex
	files    map[string][]byte // URL path -> body
	requests []string          // raw request URIs
	handler  func(w http.ResponseWriter, r *http.Request) bool
}

func newSymServer(t *testing.T) (*symServer, *httptest.Server) {
	s := &symServer{files: map[string][]byte{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.RequestURI)
		body, ok := s.files[r.URL.Path]
		h := s.handler
		s.mu.Unlock()
		if h != nil && h(w, r) {
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(ts.Close)
	return s, ts
}

func (s *symServer) reqs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func TestDownload(t *testing.T) {
	pdbBytes := mustRead(t, x64PDB)
	cabBytes := mustRead(t, x64CAB)
	keyPath := "/sym/" + x64Name + "/" + x64Key + "/"
	tests := []struct {
		name      string
		serve     map[string][]byte
		handler   func(w http.ResponseWriter, r *http.Request) bool
		opts      Options
		wantFound bool
		wantTried string
	}{
		{"plain", map[string][]byte{keyPath + x64Name: pdbBytes}, nil, Options{}, true, "downloaded to"},
		{"compressed", map[string][]byte{keyPath + "fixture-x64.pd_": cabBytes}, nil, Options{}, true, "downloaded to"},
		{"missing", nil, nil, Options{}, false, "not on server (404)"},
		{"wrong PDB served", map[string][]byte{keyPath + x64Name: mustRead(t, x86PDB)}, nil, Options{}, false, "GUID mismatch"},
		{"HTML error page", map[string][]byte{keyPath + x64Name: []byte("<html>oops</html>")}, nil, Options{}, false, "looks like HTML"},
		{"server error", nil, func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}, Options{}, false, "503"},
		{"over the size cap", map[string][]byte{keyPath + x64Name: pdbBytes}, nil, Options{MaxDownload: 1000}, false, "over the 1000-byte download limit"},
		{"over the cap without Content-Length", nil, func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, x64Name) {
				for i := 0; i < 10; i++ {
					w.Write(make([]byte, 500))
					w.(http.Flusher).Flush()
				}
				return true
			}
			return false
		}, Options{MaxDownload: 1000}, false, "over the 1000-byte download limit"},
		{"compressed over the cap", map[string][]byte{keyPath + "fixture-x64.pd_": cabBytes}, nil, Options{MaxDownload: 10000}, false, "over the 10000-byte limit"},
		{"timeout", nil, func(w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return true
		}, Options{Timeout: 200 * time.Millisecond}, false, "deadline exceeded"},
		{"file.ptr from a server is not followed", map[string][]byte{keyPath + "file.ptr": []byte("PATH:/etc/passwd")}, nil, Options{}, false, `server file.ptr "PATH:/etc/passwd" not followed`},
		{"redirect", map[string][]byte{"/elsewhere/blob": pdbBytes}, func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == keyPath+x64Name {
				http.Redirect(w, r, "/elsewhere/blob", http.StatusFound)
				return true
			}
			return false
		}, Options{}, true, "downloaded to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, ts := newSymServer(t)
			for k, v := range tt.serve {
				srv.files[k] = v
			}
			srv.handler = tt.handler
			cache := t.TempDir()
			p, err := Parse("srv*" + cache + "*" + ts.URL + "/sym")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, tried, err := New(p, tt.opts).FindPDB(context.Background(), x64Name, x64GUID, 1)
			joined := strings.Join(tried, "\n")
			if time.Since(start) > 4*time.Second {
				t.Errorf("lookup took %v", time.Since(start))
			}
			if !strings.Contains(joined, tt.wantTried) {
				t.Errorf("tried does not mention %q:\n%s", tt.wantTried, joined)
			}
			want := filepath.Join(cache, x64Name, x64Key, x64Name)
			if tt.wantFound {
				if err != nil || got != want {
					t.Fatalf("got %q, %v; want %q\n%s", got, err, want, joined)
				}
				if fs := files(t, cache); !slices.Equal(fs, []string{x64Name + "/" + x64Key + "/" + x64Name}) {
					t.Errorf("cache holds %q", fs)
				}
				// A second lookup is served from the cache, without a request.
				n := len(srv.reqs())
				if got2, _, err := New(p, tt.opts).FindPDB(context.Background(), x64Name, x64GUID, 1); err != nil || got2 != want || len(srv.reqs()) != n {
					t.Errorf("second lookup: %q, %v, %d new requests", got2, err, len(srv.reqs())-n)
				}
				return
			}
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
			if fs := files(t, cache); len(fs) != 0 {
				t.Errorf("failed download left files in the cache: %q", fs)
			}
			if ents, _ := os.ReadDir(cache); len(ents) != 0 {
				t.Errorf("failed download left folders in the cache: %v", ents)
			}
		})
	}
}

// TestDefaultCache: srv*URL downloads into Options.Cache, cache*DIR
// overrides it for the elements after it, and a server's own store wins.
func TestDefaultCache(t *testing.T) {
	srv, ts := newSymServer(t)
	srv.files["/"+x64Name+"/"+x64Key+"/"+x64Name] = mustRead(t, x64PDB)
	for _, tt := range []struct{ name, path, want string }{
		{"srv*URL", "srv*" + ts.URL, "OPT"},
		{"cache*DIR;srv*URL", "cache*CACHE;srv*" + ts.URL, "CACHE"},
		{"cache*DIR;srv*STORE*URL", "cache*CACHE;srv*STORE*" + ts.URL, "STORE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dirs := map[string]string{"OPT": t.TempDir(), "CACHE": t.TempDir(), "STORE": t.TempDir()}
			p, err := Parse(strings.NewReplacer("CACHE", dirs["CACHE"], "STORE", dirs["STORE"]).Replace(tt.path))
			if err != nil {
				t.Fatal(err)
			}
			got, tried, err := New(p, Options{Cache: dirs["OPT"]}).FindPDB(context.Background(), x64Name, x64GUID, 1)
			if err != nil {
				t.Fatalf("%v\n%s", err, strings.Join(tried, "\n"))
			}
			wantRoot := dirs[tt.want]
			if got != filepath.Join(wantRoot, x64Name, x64Key, x64Name) {
				t.Errorf("downloaded to %q, want under %q", got, wantRoot)
			}
		})
	}
}

// TestHostileNames proves that a PDB name from a dump cannot reach the file
// system or a URL outside its symbol-store key: each name is either refused
// before any access, or reduced to a safe base name, in which case every
// request and every written file is at that name's key.
func TestHostileNames(t *testing.T) {
	srv, ts := newSymServer(t)
	pdbBytes := mustRead(t, x64PDB)
	// Serve the real PDB under every path a buggy client could produce, so
	// a traversal would succeed if it were attempted.
	srv.handler = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, ".pdb") || strings.HasSuffix(r.URL.Path, "/passwd") {
			w.Write(pdbBytes)
		} else {
			http.NotFound(w, r)
		}
		return true
	}
	names := []struct {
		in, base string // base "" = refused
	}{
		{`..\..\x.pdb`, "x.pdb"},
		{`C:\a\b.pdb`, "b.pdb"},
		{"/etc/passwd", "passwd"},
		{"a/../../b.pdb", "b.pdb"},
		{"%2e%2e", ""},
		{"%2e%2e%2f%2e%2e%2fevil.pdb", ""},
		{"..%2f..%2fevil.pdb", ""},
		{"..", ""},
		{"C:evil.pdb", ""},
		{"evil.pdb\x00.txt", ""},
		{"evil\r\n.pdb", ""},
		{strings.Repeat("A", 300) + ".pdb", ""},
		{strings.Repeat("../", 2000) + "deep.pdb", "deep.pdb"},
		{"a?b=c.pdb", ""},
		{"x.pdb#frag", "x.pdb#frag"}, // '#' is escaped, so the server sees a path ending "%23frag"
	}
	for _, n := range names {
		t.Run(truncate(n.in), func(t *testing.T) {
			outer := t.TempDir()
			cache := filepath.Join(outer, "cache")
			store := filepath.Join(outer, "store")
			os.MkdirAll(store, 0o755)
			// Bait: a PDB with the right identity just outside the store.
			put(t, x64PDB, filepath.Join(outer, "x.pdb"))
			put(t, x64PDB, filepath.Join(outer, "b.pdb"))
			p, err := Parse("cache*" + cache + ";" + store + ";srv*" + cache + "*" + ts.URL + "/sym")
			if err != nil {
				t.Fatal(err)
			}
			before := len(srv.reqs())
			got, tried, err := New(p, Options{}).FindPDB(context.Background(), n.in, x64GUID, 1)
			reqs := srv.reqs()[before:]
			if n.base == "" {
				if err == nil || errors.Is(err, ErrNotFound) || len(tried) != 0 || len(reqs) != 0 {
					t.Fatalf("name not refused: %q, %v, tried %q, requests %q", got, err, tried, reqs)
				}
				if fs := files(t, outer); !slices.Equal(fs, []string{"b.pdb", "x.pdb"}) {
					t.Errorf("files after refusal: %q", fs)
				}
				return
			}
			// Reduced to its base name: every place tried is inside the store
			// or cache, every request is under /sym/<base>/<key>/.
			for _, line := range tried {
				loc := line[:strings.Index(line, ": ")]
				if strings.HasPrefix(loc, "http") {
					if !strings.HasPrefix(loc, ts.URL+"/sym/") || strings.Contains(loc, "..") {
						t.Errorf("tried URL %q", loc)
					}
					continue
				}
				if !within(store, loc) && !within(cache, loc) {
					t.Errorf("tried %q outside the store and cache", loc)
				}
			}
			for _, r := range reqs {
				if strings.Contains(r, "..") || strings.Contains(r, `\`) || !strings.HasPrefix(r, "/sym/") {
					t.Errorf("request %q", r)
				}
				parts := strings.Split(strings.TrimPrefix(r, "/sym/"), "/")
				if len(parts) != 3 {
					t.Errorf("request %q has %d segments under /sym/", r, len(parts))
				}
			}
			// The server answers the key path of any .pdb (and passwd) with
			// the real PDB, so the download lands: at the key, nowhere else.
			if n.base == "x.pdb#frag" {
				if !errors.Is(err, ErrNotFound) || !slices.Contains(reqs, "/sym/x.pdb%23frag/"+x64Key+"/x.pdb%23frag") {
					t.Errorf("err %v, requests %q", err, reqs)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, strings.Join(tried, "\n"))
			}
			want := filepath.Join(cache, n.base, x64Key, n.base)
			if got != want {
				t.Errorf("landed at %q, want %q", got, want)
			}
			fs := files(t, outer)
			wantFiles := []string{"b.pdb", "cache/" + n.base + "/" + x64Key + "/" + n.base, "x.pdb"}
			slices.Sort(wantFiles)
			if !slices.Equal(fs, wantFiles) {
				t.Errorf("files %q, want %q", fs, wantFiles)
			}
		})
	}
}

// TestHostileCABMember: a served cabinet whose member is named with a path
// is written only at the key, never at its member name.
func TestHostileCABMember(t *testing.T) {
	srv, ts := newSymServer(t)
	srv.files["/"+x64Name+"/"+x64Key+"/fixture-x64.pd_"] = cabtest.Build([]cabtest.File{{Name: `..\..\..\evil.pdb`, Data: mustRead(t, x64PDB)}}, cabtest.Options{Compression: cab.MSZIP})
	outer := t.TempDir()
	cache := filepath.Join(outer, "cache")
	p, _ := Parse("srv*" + cache + "*" + ts.URL)
	got, tried, err := New(p, Options{}).FindPDB(context.Background(), x64Name, x64GUID, 1)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(tried, "\n"))
	}
	if fs := files(t, outer); !slices.Equal(fs, []string{"cache/" + x64Name + "/" + x64Key + "/" + x64Name}) || got != filepath.Join(cache, x64Name, x64Key, x64Name) {
		t.Errorf("files %q, got %q", fs, got)
	}
}

// TestNoServerNoNetwork: without a server element, nothing is requested.
func TestNoServerNoNetwork(t *testing.T) {
	p, _ := Parse("cache*" + t.TempDir() + ";" + t.TempDir() + ";srv*" + t.TempDir())
	if p.HasServer() {
		t.Fatal("HasServer")
	}
	_, _, err := New(p, Options{Client: noNetwork(t)}).FindPDB(context.Background(), x64Name, x64GUID, 1)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, _ := Parse(t.TempDir())
	if _, _, err := New(p, Options{}).FindPDB(ctx, x64Name, x64GUID, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
