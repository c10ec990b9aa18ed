package symstore

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dumpmap/dumpmap/minidump/codeview"
)

// maxNameLen bounds a PDB name: Windows file names stop at 255.
const maxNameLen = 255

// SafeName reduces a PDB name from a CodeView record to the bare file name a
// symbol store is keyed by, and rejects what could escape a folder or change
// meaning in a URL: empty names, "." and "..", drive letters and other
// colons, NUL and control characters, Windows-reserved characters, '%' (a
// server or proxy may decode it), a trailing dot or space (Windows drops
// them), invalid UTF-8 and names over 255 bytes.
//
// "C:\a\b.pdb" and "a/../../b.pdb" become "b.pdb": the directory part of a
// build path is never used.
func SafeName(name string) (string, error) {
	base := name
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("symstore: unsafe PDB name %q: %s", truncate(name), why)
	}
	switch {
	case base == "":
		return bad("empty file name")
	case len(base) > maxNameLen:
		return bad(fmt.Sprintf("longer than %d bytes", maxNameLen))
	case !utf8.ValidString(base):
		return bad("invalid UTF-8")
	case strings.Trim(base, ". ") == "":
		return bad("only dots and spaces")
	case strings.HasSuffix(base, ".") || strings.HasSuffix(base, " "):
		return bad("trailing dot or space")
	}
	for _, r := range base {
		switch {
		case r < 0x20 || r == 0x7f:
			return bad("control character")
		case strings.ContainsRune(`<>:"|?*%`, r):
			return bad(fmt.Sprintf("character %q", r))
		}
	}
	return base, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Key is the symbol-store key folder of a PDB: the GUID as 32 hex digits
// followed by the age in hex without leading zeros.
func Key(guid codeview.GUID, age uint32) string {
	return fmt.Sprintf("%s%X", guid.Hex(), age)
}

// compressedName is the name a store gives a CAB-compressed file: the last
// character replaced by '_'.
func compressedName(name string) string {
	return name[:len(name)-1] + "_"
}
