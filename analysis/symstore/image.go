package symstore

import (
	"context"
	"fmt"

	"github.com/dumpmap/dumpmap/analysis/pe"
)

// ImageKey is the symbol-store key folder of an executable image: its
// TimeDateStamp as 8 hex digits followed by its SizeOfImage in hex without
// leading zeros (msvcr90.dll/4A5BDB3B9B000/msvcr90.dll), as Microsoft's
// symbol server keys binaries.
func ImageKey(timeDateStamp, sizeOfImage uint32) string {
	return fmt.Sprintf("%08X%X", timeDateStamp, sizeOfImage)
}

// FindImage returns the path of the executable image with the given file
// name, TimeDateStamp and SizeOfImage (from the dump's module list) along
// the symbol path, in the store layout name/KEY/name (see ImageKey): in
// plain folders (layout, then flat), stores and caches, and on HTTP
// servers, plain or as a "name.dl_"/"name.ex_" cabinet. Every file returned
// was opened as a PE image whose TimeDateStamp and SizeOfImage match. The
// rules of FindPDB apply: name is reduced to its validated base name, and
// only configured servers are contacted.
func (s *Store) FindImage(ctx context.Context, name string, timeDateStamp, sizeOfImage uint32) (path string, tried []string, err error) {
	safe, err := SafeName(name)
	if err != nil {
		return "", nil, err
	}
	l := &lookup{s: s, ctx: ctx, name: safe, key: ImageKey(timeDateStamp, sizeOfImage), file: safe, what: "image",
		check: func(p string) error { return checkImage(p, timeDateStamp, sizeOfImage) }}
	return l.find()
}

// checkImage opens path as a PE image and compares its identity.
func checkImage(path string, timeDateStamp, sizeOfImage uint32) error {
	f, err := pe.Open(path)
	if err != nil {
		return fmt.Errorf("not a usable image%s: %v", describe(path), unwrapPath(err))
	}
	defer f.Close()
	if f.TimeDateStamp != timeDateStamp || f.SizeOfImage != sizeOfImage {
		return fmt.Errorf("a different build: file has TimeDateStamp %08X SizeOfImage %X, module wants %08X %X",
			f.TimeDateStamp, f.SizeOfImage, timeDateStamp, sizeOfImage)
	}
	return nil
}
