package input

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzXZ decodes arbitrary LZMA2 data, with arbitrary dictionary size, block
// flags, check and index record, in a container whose CRCs are right, so that
// the fuzzer reaches the chunk checks and the decoder rather than a CRC
// mismatch. It may fail, but only with an *Error; what it unpacks is what the
// index records, within the limit. The seeds are the LZMA2 data of the xz
// command's files in testdata/xz.
func FuzzXZ(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/xz/*.xz")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		// The refused seeds give no blocks.
		walkXZ(bytes.NewReader(b), int64(len(b)), 1<<30, func(blk xzBlock) {
			data := b[blk.off+blk.headerSize : blk.off+blk.headerSize+blk.dataSize()]
			code := byte(0)
			for xzDictSize(code) < blk.dict {
				code++
			}
			f.Add(byte(0), code, blk.flags, data, uint32(blk.uncompressed))
		})
	}
	f.Add(byte(1), byte(0), byte(0xc0), lzma2Stored([]byte("MDMP and more")), uint32(13))
	f.Add(byte(0), byte(40), byte(0), []byte{0}, uint32(0))
	f.Fuzz(func(t *testing.T, check, dict, flags byte, payload []byte, uncompressed uint32) {
		const limit = 1 << 20
		file := xzBuild(xzSpec{check: []byte{0, 1, 4}[check%3], blocks: []xzSpecBlock{{
			payload: payload, filters: []byte{0x21, 1, dict}, flags: flags & 0xc0, csize: -1, usize: int64(uncompressed),
			uncompressed: int64(uncompressed),
		}}})
		b, err := Decompress(context.Background(), XZ, bytes.NewReader(file), int64(len(file)), Limits{MaxSize: limit, MemoryLimit: limit})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message() == "" {
				t.Fatalf("%v (%T): not an *Error", err, err)
			}
			return
		}
		defer b.Close()
		if b.Size() != int64(uncompressed) || b.Size() > limit {
			t.Fatalf("unpacked %d bytes, the index records %d", b.Size(), uncompressed)
		}
	})
}
