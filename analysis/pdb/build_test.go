package pdb

import (
	"encoding/binary"
)

// buildMSF writes an MSF 7.0 file holding streams (nil = no stream) with a
// single block-map block, the smallest layout New accepts. Tests damage the
// result to reach each error path.
func buildMSF(blockSize int, streams [][]byte) []byte {
	le := binary.LittleEndian
	blocks := [][]byte{nil, nil, nil} // superblock, two free block maps
	alloc := func(data []byte) []uint32 {
		var nums []uint32
		for off := 0; off < len(data); off += blockSize {
			b := make([]byte, blockSize)
			copy(b, data[off:])
			nums = append(nums, uint32(len(blocks)))
			blocks = append(blocks, b)
		}
		return nums
	}
	var dir []byte
	dir = le.AppendUint32(dir, uint32(len(streams)))
	for _, s := range streams {
		if s == nil {
			dir = le.AppendUint32(dir, nilStream)
		} else {
			dir = le.AppendUint32(dir, uint32(len(s)))
		}
	}
	for _, s := range streams {
		for _, n := range alloc(s) {
			dir = le.AppendUint32(dir, n)
		}
	}
	dirBlocks := alloc(dir)
	var bm []byte
	for _, n := range dirBlocks {
		bm = le.AppendUint32(bm, n)
	}
	bmBlock := alloc(bm)[0]
	sb := make([]byte, blockSize)
	copy(sb, msfMagic)
	le.PutUint32(sb[32:], uint32(blockSize))
	le.PutUint32(sb[36:], 1)
	le.PutUint32(sb[40:], uint32(len(blocks)))
	le.PutUint32(sb[44:], uint32(len(dir)))
	le.PutUint32(sb[52:], bmBlock)
	blocks[0] = sb
	blocks[1] = make([]byte, blockSize)
	blocks[2] = make([]byte, blockSize)
	var out []byte
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out
}

// infoStream returns a PDB info stream with the given age and GUID.
func infoStream(age uint32, guid [16]byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 20000404)
	b = le.AppendUint32(b, 0x5ab38077)
	b = le.AppendUint32(b, age)
	return append(b, guid[:]...)
}

// dbiStream returns a DBI stream whose optional debug header names
// sectionStream, with symRec as the symbol record stream.
func dbiStream(symRec, sectionStream uint16, machine uint16) []byte {
	le := binary.LittleEndian
	h := make([]byte, dbiHeaderSize)
	le.PutUint32(h[0:], 0xFFFFFFFF)
	le.PutUint32(h[4:], 19990903)
	le.PutUint32(h[8:], 1)
	le.PutUint16(h[12:], noStream)
	le.PutUint16(h[16:], noStream)
	le.PutUint16(h[20:], symRec)
	le.PutUint32(h[48:], 22) // 11 debug header slots
	le.PutUint16(h[58:], machine)
	dbg := make([]byte, 22)
	for i := 0; i < 11; i++ {
		le.PutUint16(dbg[2*i:], noStream)
	}
	le.PutUint16(dbg[2*dbiSectionHeaders:], sectionStream)
	return append(h, dbg...)
}

// sectionStreamBytes returns IMAGE_SECTION_HEADERs for (name, va) pairs.
func sectionStreamBytes(secs ...Section) []byte {
	le := binary.LittleEndian
	var b []byte
	for _, s := range secs {
		h := make([]byte, sectionHeaderSize)
		copy(h, s.Name)
		le.PutUint32(h[8:], s.VirtualSize)
		le.PutUint32(h[12:], s.VirtualAddress)
		le.PutUint32(h[36:], s.Characteristics)
		b = append(b, h...)
	}
	return b
}

// symRecord encodes one data or public record, padded to 4 bytes.
func symRecord(kind Kind, flagsOrType, off uint32, seg uint16, name string) []byte {
	le := binary.LittleEndian
	body := le.AppendUint32(nil, flagsOrType)
	body = le.AppendUint32(body, off)
	body = le.AppendUint16(body, seg)
	body = append(body, name...)
	body = append(body, 0)
	for (len(body)+4)%4 != 0 {
		body = append(body, 0xF1+byte(len(body)%3))
	}
	rec := le.AppendUint16(nil, uint16(len(body)+2))
	rec = le.AppendUint16(rec, uint16(kind))
	return append(rec, body...)
}

// synthPDB is a small valid PDB: two sections, a public, a global, a local.
func synthPDB() []byte {
	var syms []byte
	syms = append(syms, symRecord(KindPub32, uint32(PublicFunction), 0x10, 1, "_main")...)
	syms = append(syms, symRecord(0x1108, 0x1000, 0, 0, "S_UDT is skipped")...)
	syms = append(syms, symRecord(KindGData32, 0x74, 4, 2, "_crtheap")...)
	syms = append(syms, symRecord(KindPub32, 0, 4, 2, "__crtheap")...)
	syms = append(syms, symRecord(KindLData32, 0x74, 8, 2, "calls")...)
	syms = append(syms, symRecord(KindPub32, 0, 0, 0, "__absolute")...)
	return buildMSF(512, [][]byte{
		{},
		infoStream(3, [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}),
		{},
		dbiStream(4, 5, 0x14c),
		syms,
		sectionStreamBytes(Section{Name: ".text", VirtualAddress: 0x1000, VirtualSize: 0x100}, Section{Name: ".data", VirtualAddress: 0x3000, VirtualSize: 0x10}),
	})
}
