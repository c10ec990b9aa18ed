// Package cabtest writes cabinets for tests: one folder holding every file, as
// makecab writes them, stored or MSZIP-compressed, with the layout of [MS-CAB]
// "Cabinet File Format". It is a test helper, not a general writer: the tests
// that need an independent truth also read cabinets made by gcab or makecab.
package cabtest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"

	"github.com/dumpmap/dumpmap/analysis/cab"
)

// A File is one file to put in the cabinet.
type File struct {
	Name string // stored as given (UTF-8, flagged so when not ASCII)
	Data []byte
}

// Options choose how the cabinet is written.
type Options struct {
	Compression cab.Compression // cab.None or cab.MSZIP
	// BlockSize is the uncompressed bytes per CFDATA block; 0 means cab.MaxBlock.
	BlockSize int
	// NoChecksum leaves every block's checksum 0 ("not computed").
	NoChecksum bool
}

// Build returns a cabinet holding files in one folder. The files' data is
// concatenated into the folder's stream and cut into blocks; each MSZIP block is
// "CK" and a deflate stream primed with the previous block, as the format
// requires.
func Build(files []File, opt Options) []byte {
	le := binary.LittleEndian
	bs := opt.BlockSize
	if bs <= 0 {
		bs = cab.MaxBlock
	}
	var stream []byte
	var entries []byte
	for _, f := range files {
		e := make([]byte, 16)
		le.PutUint32(e, uint32(len(f.Data)))
		le.PutUint32(e[4:], uint32(len(stream)))
		var attr uint16 = 0x20 // _A_ARCH
		for _, c := range []byte(f.Name) {
			if c >= 0x80 {
				attr |= 0x80 // _A_NAME_IS_UTF
				break
			}
		}
		le.PutUint16(e[14:], attr)
		entries = append(append(entries, e...), append([]byte(f.Name), 0)...)
		stream = append(stream, f.Data...)
	}
	var blocks []byte
	nBlocks := 0
	var dict []byte
	for off := 0; off < len(stream); off += bs {
		chunk := stream[off:min(off+bs, len(stream))]
		payload := chunk
		if opt.Compression == cab.MSZIP {
			var buf bytes.Buffer
			buf.WriteString("CK")
			fw, err := flate.NewWriterDict(&buf, flate.BestCompression, dict)
			if err != nil {
				panic(err)
			}
			fw.Write(chunk)
			fw.Close()
			payload = buf.Bytes()
		}
		dict = chunk
		hdr := make([]byte, 8)
		le.PutUint16(hdr[4:], uint16(len(payload)))
		le.PutUint16(hdr[6:], uint16(len(chunk)))
		if !opt.NoChecksum {
			le.PutUint32(hdr, cab.Checksum(hdr[4:8], cab.Checksum(payload, 0)))
		}
		blocks = append(append(blocks, hdr...), payload...)
		nBlocks++
	}
	const headerSize, folderSize = 36, 8
	filesOff := headerSize + folderSize
	dataOff := filesOff + len(entries)
	h := make([]byte, headerSize)
	copy(h, cab.Magic)
	le.PutUint32(h[8:], uint32(dataOff+len(blocks)))
	le.PutUint32(h[16:], uint32(filesOff))
	h[24], h[25] = 3, 1
	le.PutUint16(h[26:], 1)
	le.PutUint16(h[28:], uint16(len(files)))
	folder := make([]byte, folderSize)
	le.PutUint32(folder, uint32(dataOff))
	le.PutUint16(folder[4:], uint16(nBlocks))
	le.PutUint16(folder[6:], uint16(opt.Compression))
	return append(append(append(h, folder...), entries...), blocks...)
}
