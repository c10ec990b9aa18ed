package symstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/dumpmap/dumpmap/analysis/symstore"
	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// Parse a symbol path as users write it in _NT_SYMBOL_PATH.
func ExampleParse() {
	p, err := symstore.Parse(`cache*/tmp/symcache;/opt/flat;srv*/mnt/store*https://symbols.example.com/ms`)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range p {
		fmt.Printf("%s dir=%q stores=%q url=%q\n", e.Kind, e.Dir, e.Stores, e.URL)
	}
	fmt.Println("network:", p.HasServer())
	// Output:
	// cache dir="/tmp/symcache" stores=[] url=""
	// folder dir="/opt/flat" stores=[] url=""
	// srv dir="" stores=["/mnt/store"] url="https://symbols.example.com/ms"
	// network: true
}

// Find the PDB of a module from its CodeView record. The record's path is
// the build machine's: only its base name is used.
func ExampleStore_FindPDB() {
	// A store holding the fixture PDB at its key.
	root, err := os.MkdirTemp("", "store")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	guid, _ := codeview.ParseGUID("{65FE4835-2346-7225-4C4C-44205044422E}")
	key := filepath.Join(root, "fixture-x64.pdb", symstore.Key(guid, 1))
	os.MkdirAll(key, 0o755)
	b, _ := os.ReadFile("../testdata/lld/fixture-x64.pdb")
	os.WriteFile(filepath.Join(key, "fixture-x64.pdb"), b, 0o644)

	p, _ := symstore.Parse("srv*" + root)
	s := symstore.New(p, symstore.Options{})
	path, tried, err := s.FindPDB(context.Background(), `D:\build\out\fixture-x64.pdb`, guid, 1)
	if err != nil {
		log.Fatalf("%v: tried %q", err, tried)
	}
	rel, _ := filepath.Rel(root, path)
	fmt.Println(filepath.ToSlash(rel))
	// Output: fixture-x64.pdb/65FE4835234672254C4C44205044422E1/fixture-x64.pdb
}
