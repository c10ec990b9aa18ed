package pdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// msfMagic starts every PDB 7.0 file.
const msfMagic = "Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00"

// oldMagic starts PDB 2.0 files, whose "small MSF" container is not read.
const oldMagic = "Microsoft C/C++ program database 2.00\r\n"

// nilStream marks a stream slot with no stream in the directory.
const nilStream = 0xFFFFFFFF

// msf is the multi-stream file container: fixed-size blocks, and a directory
// that lists the blocks of each stream.
type msf struct {
	r         io.ReaderAt
	size      int64
	blockSize uint32
	numBlocks uint32
	streams   []msfStream
}

type msfStream struct {
	size   uint32
	blocks []uint32
}

// openMSF reads the superblock and the stream directory.
func openMSF(r io.ReaderAt, size int64) (*msf, error) {
	var sb [56]byte
	if size < int64(len(sb)) {
		if size >= int64(len(oldMagic)) {
			if _, err := r.ReadAt(sb[:len(oldMagic)], 0); err == nil && string(sb[:len(oldMagic)]) == oldMagic {
				return nil, formatErr(0, "PDB 2.0 (small MSF) is not supported")
			}
		}
		return nil, formatErr(0, "file of %d bytes is too small for an MSF superblock", size)
	}
	if _, err := r.ReadAt(sb[:], 0); err != nil {
		return nil, fmt.Errorf("pdb: reading superblock: %w", err)
	}
	if string(sb[:len(msfMagic)]) != msfMagic {
		if bytes.HasPrefix(sb[:], []byte(oldMagic)) {
			return nil, formatErr(0, "PDB 2.0 (small MSF) is not supported")
		}
		return nil, formatErr(0, "not a PDB: bad MSF 7.00 magic")
	}
	m := &msf{r: r, size: size}
	le := binary.LittleEndian
	m.blockSize = le.Uint32(sb[32:])
	// sb[36:40] is the free block map block, not needed to read.
	m.numBlocks = le.Uint32(sb[40:])
	dirBytes := le.Uint32(sb[44:])
	blockMapAddr := le.Uint32(sb[52:])
	switch m.blockSize {
	case 512, 1024, 2048, 4096:
	default:
		return nil, formatErr(32, "bad block size %d", m.blockSize)
	}
	if uint64(m.numBlocks)*uint64(m.blockSize) > uint64(size) {
		// Trust the smaller of the two: blocks past the end cannot be read.
		m.numBlocks = uint32(uint64(size) / uint64(m.blockSize))
	}
	if uint64(dirBytes) > uint64(m.numBlocks)*uint64(m.blockSize) {
		return nil, formatErr(44, "stream directory of %d bytes exceeds the file", dirBytes)
	}
	dirBlocks := ceilDiv(dirBytes, m.blockSize)
	if dirBlocks > m.blockSize/4 {
		return nil, formatErr(44, "stream directory of %d bytes needs more than one block-map block", dirBytes)
	}
	if err := m.checkBlock(blockMapAddr, 52); err != nil {
		return nil, err
	}
	mapBuf := make([]byte, dirBlocks*4)
	if _, err := r.ReadAt(mapBuf, int64(blockMapAddr)*int64(m.blockSize)); err != nil {
		return nil, fmt.Errorf("pdb: reading block map: %w", err)
	}
	dirBlockList := make([]uint32, dirBlocks)
	for i := range dirBlockList {
		dirBlockList[i] = le.Uint32(mapBuf[4*i:])
		if err := m.checkBlock(dirBlockList[i], int64(blockMapAddr)*int64(m.blockSize)+int64(4*i)); err != nil {
			return nil, err
		}
	}
	dir, err := m.readBlocks(msfStream{size: dirBytes, blocks: dirBlockList}, -1)
	if err != nil {
		return nil, err
	}
	if err := m.parseDirectory(dir); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *msf) parseDirectory(dir []byte) error {
	le := binary.LittleEndian
	if len(dir) < 4 {
		return &FormatError{Off: -1, Stream: -1, Msg: "stream directory is empty"}
	}
	n := le.Uint32(dir)
	if uint64(n) > uint64(len(dir)-4)/4 {
		return &FormatError{Off: -1, Stream: -1, Msg: fmt.Sprintf("stream directory claims %d streams in %d bytes", n, len(dir))}
	}
	sizes := dir[4 : 4+4*n]
	pos := 4 + 4*int(n)
	m.streams = make([]msfStream, n)
	for i := range m.streams {
		sz := le.Uint32(sizes[4*i:])
		if sz == nilStream {
			continue
		}
		nb := ceilDiv(sz, m.blockSize)
		if uint64(nb) > uint64(len(dir)-pos)/4 {
			return &FormatError{Off: -1, Stream: i, Msg: fmt.Sprintf("size %d needs %d blocks, past the end of the stream directory", sz, nb)}
		}
		blocks := make([]uint32, nb)
		for j := range blocks {
			blocks[j] = le.Uint32(dir[pos:])
			pos += 4
		}
		m.streams[i] = msfStream{size: sz, blocks: blocks}
	}
	return nil
}

func ceilDiv(a, b uint32) uint32 {
	return uint32((uint64(a) + uint64(b) - 1) / uint64(b))
}

// checkBlock reports a block number that lies outside the container; off is
// where the number was read, for the error.
func (m *msf) checkBlock(b uint32, off int64) error {
	if b >= m.numBlocks || (int64(b)+1)*int64(m.blockSize) > m.size {
		return formatErr(off, "block number %d out of range (%d blocks of %d bytes)", b, m.numBlocks, m.blockSize)
	}
	return nil
}

// streamSize returns the size of stream i, or false if there is no stream i.
func (m *msf) streamSize(i int) (uint32, bool) {
	if i < 0 || i >= len(m.streams) || m.streams[i].blocks == nil && m.streams[i].size == 0 {
		return 0, false
	}
	return m.streams[i].size, true
}

// readStream reads all of stream i.
func (m *msf) readStream(i int) ([]byte, error) {
	if i < 0 || i >= len(m.streams) {
		return nil, &FormatError{Off: -1, Stream: i, Msg: fmt.Sprintf("no such stream (the directory has %d)", len(m.streams))}
	}
	return m.readBlocks(m.streams[i], i)
}

// readBlocks gathers a stream's blocks, reading runs of consecutive blocks in
// one ReadAt. The size was bounded by the directory, which the file bounds.
func (m *msf) readBlocks(s msfStream, stream int) ([]byte, error) {
	if uint64(s.size) > uint64(len(s.blocks))*uint64(m.blockSize) {
		return nil, &FormatError{Off: -1, Stream: stream, Msg: "stream size exceeds its blocks"}
	}
	buf := make([]byte, s.size)
	bs := int(m.blockSize)
	for i := 0; i < len(s.blocks) && i*bs < len(buf); {
		if err := m.checkBlock(s.blocks[i], -1); err != nil {
			err.(*FormatError).Stream = stream
			return nil, err
		}
		j := i + 1
		for j < len(s.blocks) && j*bs < len(buf) && s.blocks[j] == s.blocks[j-1]+1 {
			if err := m.checkBlock(s.blocks[j], -1); err != nil {
				err.(*FormatError).Stream = stream
				return nil, err
			}
			j++
		}
		end := min(j*bs, len(buf))
		off := int64(s.blocks[i]) * int64(bs)
		if _, err := m.r.ReadAt(buf[i*bs:end], off); err != nil {
			return nil, &FormatError{Off: off, Stream: stream, Msg: "read: " + err.Error()}
		}
		i = j
	}
	return buf, nil
}
