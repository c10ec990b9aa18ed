package symstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
)

// maxDebugIDLen bounds a Breakpad debug identifier: a GUID and an age (33
// hex digits) or an ELF build id folded into the same shape; Mach-O and
// long build ids stay well under 64.
const maxDebugIDLen = 64

// BreakpadFileName is the file name of a module's Breakpad symbol file in
// Breakpad's layout: the debug file name with a ".pdb" extension replaced
// by ".sym", any other name with ".sym" appended (crash.pdb -> crash.sym,
// libxul.so -> libxul.so.sym), as Breakpad's SimpleSymbolSupplier names it.
func BreakpadFileName(debugFile string) string {
	if len(debugFile) > 4 && strings.EqualFold(debugFile[len(debugFile)-4:], ".pdb") {
		return debugFile[:len(debugFile)-4] + ".sym"
	}
	return debugFile + ".sym"
}

// ValidDebugID reports whether id can key a Breakpad symbol file: 1 to 64
// hex digits (the id comes from a dump and must not reach a path or URL
// otherwise).
func ValidDebugID(id string) bool {
	if id == "" || len(id) > maxDebugIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// FindBreakpad returns the path of the Breakpad symbol file of a module,
// keyed by its debug file name (crash.pdb, libxul.so) and debug id (for a
// Windows module the PDB GUID and age, Key(guid, age); for ELF and Mach-O
// the id Breakpad derives from the build id or UUID), in Breakpad's layout
// name/ID/file.sym (see BreakpadFileName) along the symbol path: in plain
// folders (layout, then flat), stores and caches, and on the HTTP servers
// the path names (Mozilla's, Chromium's and Electron's servers use this
// layout). A compressed "file.sy_" cabinet is expanded as for PDBs. Every
// file returned starts with a MODULE record whose id equals debugID.
// The rules of FindPDB apply: only the validated base name and the hex id
// reach a path or URL, and only configured servers are contacted.
func (s *Store) FindBreakpad(ctx context.Context, debugFile, debugID string) (path string, tried []string, err error) {
	safe, err := SafeName(debugFile)
	if err != nil {
		return "", nil, err
	}
	if !ValidDebugID(debugID) {
		return "", nil, fmt.Errorf("symstore: unsafe debug id %q: want 1 to %d hex digits", truncate(debugID), maxDebugIDLen)
	}
	id := strings.ToUpper(debugID)
	file, err := SafeName(BreakpadFileName(safe))
	if err != nil {
		return "", nil, err
	}
	l := &lookup{s: s, ctx: ctx, name: safe, key: id, file: file, what: "Breakpad symbol file",
		check: func(p string) error { return checkBreakpad(p, id) }}
	return l.find()
}

// maxModuleLine bounds the MODULE record read to check a symbol file.
const maxModuleLine = 4096

// checkBreakpad reads the first record of a candidate and compares its
// debug id: "MODULE os arch id name".
func checkBreakpad(path, id string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	line, err := bufio.NewReaderSize(fh, maxModuleLine).ReadSlice('\n')
	if err != nil && len(line) == 0 {
		return fmt.Errorf("not a Breakpad symbol file%s: %v", describe(path), err)
	}
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "MODULE" {
		return fmt.Errorf("not a Breakpad symbol file%s", describeNonSym(path))
	}
	if !strings.EqualFold(f[3], id) {
		return fmt.Errorf("debug id mismatch: file has %s, module wants %s", truncate(f[3]), id)
	}
	return nil
}

// describeNonSym says what a file that is not a symbol file is, except
// that a MODULE line that did not parse is just malformed.
func describeNonSym(path string) string {
	d := describe(path)
	if strings.Contains(d, "Breakpad") {
		return " (malformed MODULE record)"
	}
	return d
}
