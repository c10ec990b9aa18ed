package minidumptest

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
)

// ProcessHeaps captures what the heap analysis reads to find a process's
// heaps: a thread whose TEB points at the PEB, and the PEB's ProcessHeap,
// NumberOfHeaps and ProcessHeaps array (the first heap is the process heap),
// at the offsets of docs/windows-memory.md for a 32-bit or 64-bit process.
// The heaps array is written right after the PEB fields, at peb+0x100.
func (b *Builder) ProcessHeaps(x64 bool, threadID uint32, teb, peb uint64, heaps ...uint64) *Builder {
	ptr, pebOff, heapOff, numOff, arrOff := 4, 0x30, 0x18, 0x88, 0x90
	if x64 {
		ptr, pebOff, heapOff, numOff, arrOff = 8, 0x60, 0x30, 0xe8, 0xf0
	}
	put := func(p []byte, v uint64) {
		if ptr == 8 {
			binary.LittleEndian.PutUint64(p, v)
		} else {
			binary.LittleEndian.PutUint32(p, uint32(v))
		}
	}
	tb := make([]byte, 0x100)
	put(tb[pebOff:], peb)
	pb := make([]byte, 0x100+ptr*len(heaps))
	if len(heaps) > 0 {
		put(pb[heapOff:], heaps[0])
	}
	binary.LittleEndian.PutUint32(pb[numOff:], uint32(len(heaps)))
	put(pb[arrOff:], peb+0x100)
	for i, h := range heaps {
		put(pb[0x100+i*ptr:], h)
	}
	return b.Memory(teb, tb).Memory(peb, pb).Thread(Thread{ID: threadID, TEB: teb})
}

// NTHeapHeader captures the start of an NT heap's header at handle: the
// segment signature 0xFFEEFFEE after the first heap entry (+0x8 on x86, +0x10
// on x64) and the heap's Flags (+0x40, +0x70; HEAP_GROWABLE is 0x2).
func (b *Builder) NTHeapHeader(x64 bool, handle uint64, flags uint32) *Builder {
	h := make([]byte, 0x100)
	sigOff, flagsOff := 0x8, 0x40
	if x64 {
		sigOff, flagsOff = 0x10, 0x70
	}
	binary.LittleEndian.PutUint32(h[sigOff:], 0xFFEEFFEE)
	binary.LittleEndian.PutUint32(h[flagsOff:], flags)
	return b.Memory(handle, h)
}

// MapImage lays a PE file out as the Windows loader maps it at base: the
// headers, each section's raw data at its RVA (the rest zero), and the base
// relocations applied for the distance from the file's ImageBase. Tests put
// the result in a dump's memory to stand for a captured module.
func MapImage(file []byte, base uint64) ([]byte, error) {
	f, err := pe.NewFile(bytes.NewReader(file))
	if err != nil {
		return nil, err
	}
	var imageBase uint64
	var sizeOfImage, sizeOfHeaders uint32
	var reloc pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		imageBase, sizeOfImage, sizeOfHeaders = uint64(oh.ImageBase), oh.SizeOfImage, oh.SizeOfHeaders
		if len(oh.DataDirectory) > pe.IMAGE_DIRECTORY_ENTRY_BASERELOC {
			reloc = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_BASERELOC]
		}
	case *pe.OptionalHeader64:
		imageBase, sizeOfImage, sizeOfHeaders = oh.ImageBase, oh.SizeOfImage, oh.SizeOfHeaders
		if len(oh.DataDirectory) > pe.IMAGE_DIRECTORY_ENTRY_BASERELOC {
			reloc = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_BASERELOC]
		}
	default:
		return nil, fmt.Errorf("no optional header")
	}
	if uint64(sizeOfHeaders) > uint64(len(file)) || sizeOfImage > 1<<30 {
		return nil, fmt.Errorf("implausible image: headers %#x, image %#x", sizeOfHeaders, sizeOfImage)
	}
	img := make([]byte, sizeOfImage)
	copy(img, file[:sizeOfHeaders])
	for _, s := range f.Sections {
		n := min(s.Size, max(s.VirtualSize, s.Size))
		if uint64(s.Offset)+uint64(n) > uint64(len(file)) || uint64(s.VirtualAddress)+uint64(n) > uint64(len(img)) {
			return nil, fmt.Errorf("section %s out of bounds", s.Name)
		}
		copy(img[s.VirtualAddress:], file[s.Offset:s.Offset+n])
	}
	delta := base - imageBase
	if delta == 0 || reloc.VirtualAddress == 0 {
		return img, nil
	}
	le := binary.LittleEndian
	end := uint64(reloc.VirtualAddress) + uint64(reloc.Size)
	if end > uint64(len(img)) {
		return nil, fmt.Errorf("relocations out of bounds")
	}
	for off := uint64(reloc.VirtualAddress); off+8 <= end; {
		page, size := uint64(le.Uint32(img[off:])), uint64(le.Uint32(img[off+4:]))
		if size < 8 || off+size > end {
			return nil, fmt.Errorf("bad relocation block at %#x", off)
		}
		for e := off + 8; e+2 <= off+size; e += 2 {
			v := le.Uint16(img[e:])
			at := page + uint64(v&0xFFF)
			switch v >> 12 {
			case 0: // IMAGE_REL_BASED_ABSOLUTE: padding
			case 3: // IMAGE_REL_BASED_HIGHLOW
				if at+4 > uint64(len(img)) {
					return nil, fmt.Errorf("relocation at %#x out of bounds", at)
				}
				le.PutUint32(img[at:], le.Uint32(img[at:])+uint32(delta))
			case 10: // IMAGE_REL_BASED_DIR64
				if at+8 > uint64(len(img)) {
					return nil, fmt.Errorf("relocation at %#x out of bounds", at)
				}
				le.PutUint64(img[at:], le.Uint64(img[at:])+delta)
			default:
				return nil, fmt.Errorf("relocation type %d not supported", v>>12)
			}
		}
		off += size
	}
	return img, nil
}
