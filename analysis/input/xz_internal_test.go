package input

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sample returns n bytes that compress somewhat: text with random words.
func sample(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"minidump ", "heap ", "0x7ffe0000 ", "commit ", "reserve ", "\x00\x00\x00\x00", "thread ", "\n"}
	var b bytes.Buffer
	for b.Len() < n {
		if rng.IntN(4) == 0 {
			b.WriteByte(byte(rng.Uint32()))
		} else {
			b.WriteString(words[rng.IntN(len(words))])
		}
	}
	return b.Bytes()[:n]
}

func xzCommand(tb testing.TB, data []byte, args ...string) []byte {
	tb.Helper()
	xz, err := exec.LookPath("xz")
	if err != nil {
		tb.Skip("no xz command: install xz-utils")
	}
	cmd := exec.Command(xz, append([]string{"-c", "-q"}, args...)...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("xz %v: %v", args, err)
	}
	return out
}

// robotBlock is a "block" line of `xz --robot --list -vv` (xz(1), "Robot
// mode"): the xz command's own reading of a file's structure.
type robotBlock struct {
	off, headerSize, total, uncompressed, compressed, dict int64
	flags                                                  string
}

func xzRobot(tb testing.TB, data []byte) (blocks []robotBlock, streams int, padding int64) {
	tb.Helper()
	xz, _ := exec.LookPath("xz")
	path := filepath.Join(tb.TempDir(), "f.xz")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(xz, "--robot", "--list", "-vv", path).Output()
	if err != nil {
		tb.Fatalf("xz --list: %v", err)
	}
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			tb.Fatalf("xz --list: %q", s)
		}
		return n
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		switch f[0] {
		case "stream":
			streams++
		case "file":
			padding = num(f[7])
		case "block":
			// stream, block, block in file, compressed offset, uncompressed offset,
			// total size, uncompressed size, ratio, check, check value, header
			// size, flags, compressed size, memory, filter chain.
			b := robotBlock{off: num(f[4]), total: num(f[6]), uncompressed: num(f[7]), headerSize: num(f[11]), flags: f[12], compressed: num(f[13])}
			_, dict, ok := strings.Cut(f[15], "dict=")
			if !ok {
				tb.Fatalf("filter chain %q", f[15])
			}
			dict, _, _ = strings.Cut(dict, ",")
			unit := int64(1)
			for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
				if s, ok := strings.CutSuffix(dict, suffix); ok {
					dict, unit = s, u
				}
			}
			b.dict = num(dict) * unit
			blocks = append(blocks, b)
		}
	}
	return blocks, streams, padding
}

// TestWalkXZ: the structure walkXZ reads is the one the xz command lists, block
// for block: offsets, header and data sizes, sizes in the header, dictionary.
func TestWalkXZ(t *testing.T) {
	data := sample(300 << 10)
	multi := slices.Concat(xzCommand(t, data[:1000], "-9"), make([]byte, 4), xzCommand(t, data[1000:], "-T2", "--block-size=50000", "--check=sha256"),
		make([]byte, 12), xzCommand(t, nil), xzCommand(t, data[:70000], "--block-size=30000", "--lzma2=dict=12KiB", "--check=crc32"))
	tests := []struct {
		name string
		file []byte
	}{
		{"-9", xzCommand(t, data, "-9")},
		{"-0 no check", xzCommand(t, data, "-0", "--check=none")},
		{"multi-threaded", xzCommand(t, data, "-T2", "--block-size=64KiB")},
		{"small blocks", xzCommand(t, data, "-6", "--block-size=4000")},
		{"empty", xzCommand(t, nil)},
		{"streams and padding", multi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []robotBlock
			x, err := walkXZ(bytes.NewReader(tt.file), int64(len(tt.file)), 1<<30, func(b xzBlock) {
				flags := []byte("--")
				if b.flags&0x40 != 0 {
					flags[0] = 'c'
				}
				if b.flags&0x80 != 0 {
					flags[1] = 'u'
				}
				got = append(got, robotBlock{off: b.off, headerSize: b.headerSize, total: (b.unpadded + 3) &^ 3,
					uncompressed: b.uncompressed, compressed: b.dataSize(), dict: b.dict, flags: string(flags)})
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b robotBlock) int { return int(a.off - b.off) })
			want, streams, padding := xzRobot(t, tt.file)
			if !slices.Equal(got, want) {
				t.Errorf("blocks\n%+v\nxz lists\n%+v", got, want)
			}
			var total int64
			for _, b := range want {
				total += b.uncompressed
			}
			if len(x.streams) != streams || x.padding != padding || x.blocks != len(want) || x.uncompressed != total {
				t.Errorf("%d streams, %d bytes of padding, %d blocks, %d bytes; xz lists %d, %d, %d, %d",
					len(x.streams), x.padding, x.blocks, x.uncompressed, streams, padding, len(want), total)
			}
		})
	}
}

// An xzSpec describes an xz stream for xzBuild to write, valid unless a field
// says otherwise.
type xzSpec struct {
	check  byte // the Check ID
	blocks []xzSpecBlock
	// Damage, applied after the CRCs are computed unless noted.
	flags       []byte // the stream flags, in header and footer, with CRCs
	footerFlags []byte // the footer's only, with its CRC
	records     int64  // added to the index's record count, with its CRC
	index       []byte // the index up to its padding, instead of the records
	backward    int    // added to Backward Size, with the footer CRC
}

type xzSpecBlock struct {
	// data is what the block unpacks to; payload its LZMA2 data (nil: data in
	// stored chunks).
	data, payload []byte
	filters       []byte // the filter flags; nil: LZMA2 with a 64 MiB dictionary
	flags         byte   // added to the block flags (filter count, sizes)
	csize, usize  int64  // sizes written in the header (with flags 0x40, 0x80); -1: the right ones
	padding       []byte // the header padding; nil: zeros
	uncompressed  int64  // the index record's; -1: len(data)
	unpadded      int64  // added to the record's
	badCheck      bool
	blockPad      byte // the Block Padding's bytes
}

// lzma2Stored is data in stored LZMA2 chunks: 0x01 (dictionary reset) or 0x02,
// a 16-bit big-endian size-1, the bytes; then the end marker.
func lzma2Stored(data []byte) []byte {
	var b []byte
	for i := 0; i < len(data); i += 1 << 16 {
		c := data[i:min(len(data), i+1<<16)]
		ctl := byte(0x02)
		if i == 0 {
			ctl = 0x01
		}
		b = append(b, ctl, byte((len(c)-1)>>8), byte(len(c)-1))
		b = append(b, c...)
	}
	return append(b, 0)
}

func xzVarintBytes(v uint64) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// xzBuild writes the stream spec describes, by the xz file format.
func xzBuild(s xzSpec) []byte {
	flags := []byte{0, s.check}
	if s.flags != nil {
		flags = s.flags
	}
	out := slices.Concat([]byte(xzMagic), flags, le32(crc32.ChecksumIEEE(flags)))
	var index []byte
	for _, b := range s.blocks {
		payload := b.payload
		if payload == nil {
			payload = lzma2Stored(b.data)
		}
		filters := b.filters
		if filters == nil {
			filters = []byte{0x21, 1, 24} // 64 MiB
		}
		h := []byte{0, b.flags}
		if b.flags&0x40 != 0 {
			h = append(h, xzVarintBytes(uint64(cond(b.csize >= 0, b.csize, int64(len(payload)))))...)
		}
		if b.flags&0x80 != 0 {
			h = append(h, xzVarintBytes(uint64(cond(b.usize >= 0, b.usize, int64(len(b.data)))))...)
		}
		h = append(h, filters...)
		h = append(h, b.padding...)
		for len(h)%4 != 0 {
			h = append(h, 0)
		}
		h[0] = byte(len(h) / 4) // (size+4)/4 - 1
		h = append(h, le32(crc32.ChecksumIEEE(h))...)
		var check []byte
		switch s.check {
		case 1:
			check = le32(crc32.ChecksumIEEE(b.data))
		case 4:
			check = binary.LittleEndian.AppendUint64(nil, crc64.Checksum(b.data, crc64Table()))
		}
		if b.badCheck {
			check[0] ^= 1
		}
		unpadded := int64(len(h)+len(payload)+len(check)) + b.unpadded
		block := slices.Concat(h, payload)
		for len(block)%4 != 0 {
			block = append(block, b.blockPad)
		}
		out = append(out, append(block, check...)...)
		unc := cond(b.uncompressed >= 0, b.uncompressed, int64(len(b.data)))
		index = append(index, xzVarintBytes(uint64(unpadded))...)
		index = append(index, xzVarintBytes(uint64(unc))...)
	}
	index = slices.Concat([]byte{0}, xzVarintBytes(uint64(int64(len(s.blocks))+s.records)), index)
	if s.index != nil {
		index = bytes.Clone(s.index)
	}
	for len(index)%4 != 0 {
		index = append(index, 0)
	}
	index = append(index, le32(crc32.ChecksumIEEE(index))...)
	out = append(out, index...)
	if s.footerFlags != nil {
		flags = s.footerFlags
	}
	foot := slices.Concat(le32(uint32(len(index)/4-1+s.backward)), flags)
	return slices.Concat(out, le32(crc32.ChecksumIEEE(foot)), foot, []byte(xzFooterMagic))
}

func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// TestXZBuild: the files xzBuild writes are valid xz files, as the xz command
// reads them, with the bytes they were built of.
func TestXZBuild(t *testing.T) {
	data := sample(200 << 10)
	for _, check := range []byte{0, 1, 4} {
		f := xzBuild(xzSpec{check: check, blocks: []xzSpecBlock{
			{data: data[:5], csize: -1, usize: -1, uncompressed: -1, flags: 0xc0},
			{data: data[5:], uncompressed: -1},
			{data: nil, uncompressed: -1},
		}})
		if got := xzCommand(t, f, "-d"); !bytes.Equal(got, data) {
			t.Errorf("check %d: xz -d gives %d bytes, want %d", check, len(got), len(data))
		}
		b, err := Decompress(context.Background(), XZ, bytes.NewReader(f), int64(len(f)), Limits{})
		if err != nil || !bytes.Equal(b.Bytes(), data) {
			t.Errorf("check %d: %v", check, err)
		}
	}
}

// TestXZDamage: every field of an xz file that can be wrong is refused with
// the error that says which, before anything is allocated for decoding.
func TestXZDamage(t *testing.T) {
	data := sample(1000)
	ok := func() xzSpecBlock { return xzSpecBlock{data: data, uncompressed: -1, csize: -1, usize: -1} }
	one := func(mod func(*xzSpecBlock)) []byte {
		b := ok()
		mod(&b)
		return xzBuild(xzSpec{check: 4, blocks: []xzSpecBlock{b}})
	}
	good := xzBuild(xzSpec{check: 4, blocks: []xzSpecBlock{ok()}})
	flip := func(f []byte, off int) []byte {
		f = bytes.Clone(f)
		f[off] ^= 0x40
		return f
	}
	// A real LZMA chunk, from the xz command (LZMA2 at 4 KiB, lc=0 lp=0).
	var lz []byte
	if _, err := exec.LookPath("xz"); err == nil {
		f := xzCommand(t, data, "--lzma2=preset=1,dict=4KiB,lc=0,lp=0", "--check=none")
		x, err := walkXZ(bytes.NewReader(f), int64(len(f)), 1<<30, func(b xzBlock) {
			lz = f[b.off+b.headerSize : b.off+b.headerSize+b.dataSize()]
		})
		if err != nil || x.blocks != 1 || lz[0] != 0xe0 {
			t.Fatalf("xz: %v, %x", err, lz[:1])
		}
	}
	withChunk := func(mod func(p []byte) []byte) []byte {
		if lz == nil {
			return nil
		}
		return one(func(b *xzSpecBlock) { b.payload = mod(bytes.Clone(lz)) })
	}
	many := slices.Concat([]byte{0}, xzVarintBytes(maxXZBlocks+1), bytes.Repeat([]byte{5, 0}, maxXZBlocks+1))
	streams := bytes.Repeat(xzBuild(xzSpec{}), maxXZStreams+1)

	tests := []struct {
		name string
		file []byte
		kind Kind
		msg  string
	}{
		{"dictionary code 41", one(func(b *xzSpecBlock) { b.filters = []byte{0x21, 1, 41} }), KindUnsupported, "LZMA2 dictionary size code 0x29 is not defined"},
		{"dictionary reserved bits", one(func(b *xzSpecBlock) { b.filters = []byte{0x21, 1, 0x40 | 20} }), KindUnsupported, "size code 0x54 is not defined"},
		{"dictionary 4 GiB", one(func(b *xzSpecBlock) { b.filters = []byte{0x21, 1, 40} }), KindUnsupported, "needs a 4294967295 B LZMA2 dictionary"},
		{"dictionary 96 MiB", one(func(b *xzSpecBlock) { b.filters = []byte{0x21, 1, 29} }), KindUnsupported, "needs a 96 MiB LZMA2 dictionary, more than the 64 MiB"},
		{"delta then LZMA2", one(func(b *xzSpecBlock) { b.filters, b.flags = []byte{0x03, 1, 3, 0x21, 1, 20}, 1 }), KindUnsupported, "the delta filter"},
		{"LZMA2 twice", one(func(b *xzSpecBlock) { b.filters, b.flags = []byte{0x21, 1, 20, 0x21, 1, 20}, 1 }), KindBadContainer, "LZMA2 is not the last filter"},
		{"custom filter", one(func(b *xzSpecBlock) { b.filters = []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x3f, 0} }), KindUnsupported, "the 0x7e000000000000 filter"},
		{"filter ID of ten bytes", one(func(b *xzSpecBlock) { b.filters = bytes.Repeat([]byte{0x81}, 10) }), KindBadContainer, "bad filter ID"},
		{"filter ID with a zero byte", one(func(b *xzSpecBlock) { b.filters = []byte{0xa1, 0, 1, 20} }), KindBadContainer, "bad filter ID"},
		{"properties past the header", one(func(b *xzSpecBlock) { b.filters = []byte{0x21, 100, 20} }), KindBadContainer, "bad filter properties size"},
		{"LZMA2 properties of 2 bytes", one(func(b *xzSpecBlock) { b.filters = []byte{0x21, 2, 20, 0} }), KindBadContainer, "LZMA2 filter properties are 2 bytes"},
		{"reserved block flags", one(func(b *xzSpecBlock) { b.flags = 0x04 }), KindUnsupported, "block flags 0x04 set reserved bits"},
		{"header padding", one(func(b *xzSpecBlock) { b.padding = []byte{0, 1} }), KindBadContainer, "non-zero block header padding"},
		{"compressed size wrong", one(func(b *xzSpecBlock) { b.flags, b.csize = 0x40, 5 }), KindBadContainer, "header's compressed size is 5 bytes, the index's 1004"},
		{"uncompressed size wrong", one(func(b *xzSpecBlock) { b.flags, b.usize = 0x80, 999 }), KindBadContainer, "header's uncompressed size is 999 bytes, the index's 1000"},
		{"index unpadded size wrong", one(func(b *xzSpecBlock) { b.unpadded = 4 }), KindBadContainer, "index record 0 gives a block of 1028 bytes, in a stream that has room for 1024"},
		{"index uncompressed size too small", one(func(b *xzSpecBlock) { b.uncompressed = 999 }), KindBadContainer, "unpack to more than the 999 bytes the index records"},
		{"index uncompressed size too large", one(func(b *xzSpecBlock) { b.uncompressed = 1001 }), KindBadContainer, "the block unpacks to 1000 bytes, the index records 1001"},
		{"index says 4 GiB", one(func(b *xzSpecBlock) { b.uncompressed = 4 << 30 }), KindTooLarge, "passes the 4 MiB limit"},
		{"index says 2^63-1", one(func(b *xzSpecBlock) { b.uncompressed = 1<<63 - 1 }), KindTooLarge, "passes the 4 MiB limit"},
		{"CRC64 wrong", one(func(b *xzSpecBlock) { b.badCheck = true }), KindBadContainer, "CRC64 mismatch: the block at 0xc unpacks to other bytes"},
		{"block padding", one(func(b *xzSpecBlock) { b.blockPad, b.data = 1, data[:999] }), KindBadContainer, "non-zero block padding"},
		{"record count one more", xzBuild(xzSpec{check: 4, blocks: []xzSpecBlock{ok()}, records: 1}), KindBadContainer, "damaged xz file: "},
		{"record count 2^40", xzBuild(xzSpec{check: 4, blocks: []xzSpecBlock{ok()}, records: 1 << 40}), KindBadContainer, "the index says it has 1099511627777 records, more than its 16 bytes hold"},
		{"more than 2^20 blocks", xzBuild(xzSpec{index: many}), KindUnsupported, "more than 1048576 blocks"},
		{"backward size past the start", xzBuild(xzSpec{check: 4, blocks: []xzSpecBlock{ok()}, backward: 1 << 20}), KindBadContainer, "reaches before the start of the file"},
		{"backward size off by one", xzBuild(xzSpec{check: 4, blocks: []xzSpecBlock{ok()}, backward: 1}), KindBadContainer, "damaged xz file: "},
		{"footer CRC", flip(good, len(good)-8), KindBadContainer, "stream footer CRC32 mismatch"},
		{"header CRC", flip(good, 9), KindBadContainer, "stream header CRC32 mismatch"},
		{"block header CRC", flip(good, 14), KindBadContainer, "block header CRC32 mismatch"},
		{"index CRC", flip(good, len(good)-14), KindBadContainer, "index CRC32 mismatch"},
		{"footer magic", flip(good, len(good)-1), KindBadContainer, "no stream footer"},
		{"flags differ", xzBuild(xzSpec{check: 4, blocks: []xzSpecBlock{ok()}, footerFlags: []byte{0, 1}}), KindBadContainer, "stream header flags 00 04 differ from the footer's 00 01"},
		{"reserved check", xzBuild(xzSpec{flags: []byte{0, 2}}), KindUnsupported, "check type 0x2 is not one of"},
		{"reserved stream flags", xzBuild(xzSpec{flags: []byte{1, 0}}), KindUnsupported, "stream flags 01 00 set reserved bits"},
		{"padding before the stream", slices.Concat(make([]byte, 4), good), KindBadContainer, "starts with zero bytes"},
		{"padding of two bytes", slices.Concat(good, make([]byte, 2)), KindBadContainer, "not a multiple of four"},
		{"padding of six bytes", slices.Concat(good, make([]byte, 6)), KindBadContainer, "not a multiple of four"},
		{"too many streams", streams, KindUnsupported, "more than 4096 concatenated streams"},
		{"stored chunk without a reset", one(func(b *xzSpecBlock) {
			b.payload = append([]byte{2, 0, 3, 'a', 'b', 'c', 'd'}, 0)
			b.data = []byte("abcd")
		}), KindBadContainer, "does not reset the dictionary"},
		{"chunk control 0x03", one(func(b *xzSpecBlock) { b.payload = []byte{3, 0, 0, 0} }), KindBadContainer, "LZMA2 chunk control byte 0x03 is not defined"},
		{"chunk past the block", one(func(b *xzSpecBlock) { b.payload = []byte{1, 0, 9, 'a', 0} }), KindBadContainer, "LZMA2 chunk runs past the end of the block's data"},
		{"no end marker", one(func(b *xzSpecBlock) { b.payload = []byte{1, 0, 0, 'a', 1, 0, 0, 'b'}; b.data = []byte("ab") }), KindBadContainer, "runs past the end of the block's data"},
		{"end marker early", one(func(b *xzSpecBlock) { b.payload = []byte{1, 0, 0, 'a', 0, 0, 0, 0}; b.data = []byte("a") }), KindBadContainer, "LZMA2 end marker 3 bytes before the end"},
		{"empty block", one(func(b *xzSpecBlock) { b.payload = []byte{0}; b.data = nil }), KindNotMinidump, ""},
		{"LZMA chunk lc=8 lp=4", withChunk(func(p []byte) []byte { p[5] = (0*5+4)*9 + 8; return p }), KindBadContainer, "LZMA2 chunk properties lc=8 lp=4 pb=0: LZMA2 allows lc+lp <= 4"},
		{"LZMA chunk pb=5", withChunk(func(p []byte) []byte { p[5] = 5 * 45; return p }), KindBadContainer, "pb=5"},
		{"LZMA chunk without properties", withChunk(func(p []byte) []byte { p[0] = 0x80 | p[0]&0x1f; return p }), KindBadContainer, "does not reset the dictionary"},
		{"LZMA chunk 4 bytes longer", withChunk(func(p []byte) []byte {
			n := int(binary.BigEndian.Uint16(p[3:5])) + 4
			binary.BigEndian.PutUint16(p[3:5], uint16(n))
			return slices.Concat(p[:6+n-3], []byte{1, 2, 3, 4}, p[6+n-3:])
		}), KindBadContainer, "LZMA2 chunk decodes from"},
		{"LZMA chunk 1 byte shorter", withChunk(func(p []byte) []byte {
			n := int(binary.BigEndian.Uint16(p[3:5])) - 1
			binary.BigEndian.PutUint16(p[3:5], uint16(n))
			return p
		}), KindBadContainer, "damaged xz file: "},
		{"LZMA chunk garbled", withChunk(func(p []byte) []byte { p[20] ^= 0xff; p[40] ^= 0xff; return p }), KindBadContainer, "damaged xz file: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file == nil {
				t.Skip("no xz command")
			}
			b, err := Decompress(context.Background(), XZ, bytes.NewReader(tt.file), int64(len(tt.file)), Limits{MaxSize: 4 << 20})
			if tt.kind == KindNotMinidump {
				// Not an xz error: the block is valid.
				if err != nil {
					t.Fatal(err)
				}
				b.Close()
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Format != XZ || !strings.Contains(e.Message(), tt.msg) {
				t.Fatalf("%v; want a %v error containing %q", err, tt.kind, tt.msg)
			}
			var xe *XZError
			if tt.kind != KindTooLarge && !errors.As(err, &xe) {
				t.Errorf("%v: no *XZError", err)
			}
		})
	}
	if t.Failed() {
		return
	}
	// A mutation of good anywhere is refused or gives the same bytes.
	for i := range good {
		for _, bit := range []byte{1, 0x80} {
			f := bytes.Clone(good)
			f[i] ^= bit
			b, err := Decompress(context.Background(), XZ, bytes.NewReader(f), int64(len(f)), Limits{MaxSize: 4 << 20})
			var e *Error
			switch {
			case err == nil:
				if !bytes.Equal(b.Bytes(), data) {
					t.Errorf("byte %d ^ %#x: other bytes", i, bit)
				}
				b.Close()
			case !errors.As(err, &e):
				t.Errorf("byte %d ^ %#x: %v (%T)", i, bit, err, err)
			}
		}
	}
}
