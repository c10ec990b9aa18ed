package input

import "bytes"

// A Format is a packing Open can unwrap.
type Format uint8

// Formats, recognised by Detect.
const (
	Plain Format = iota // not a container: a minidump, or something else
	Gzip
	Zstd
	Zip
	CAB
	XZ
)

// String returns the name triage records use: "gzip", "zstd", "zip", "cab",
// "xz".
func (f Format) String() string {
	switch f {
	case Plain:
		return "plain"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Zip:
		return "zip"
	case CAB:
		return "cab"
	case XZ:
		return "xz"
	}
	return "unknown"
}

// noun names a container in messages: "gzip file", "zip archive".
func (f Format) noun() string {
	switch f {
	case Gzip:
		return "gzip file"
	case Zstd:
		return "zstd file"
	case Zip:
		return "zip archive"
	case CAB:
		return "cabinet"
	case XZ:
		return "xz file"
	}
	return "file"
}

// article is the noun with "a" or "an" before it: "a zip archive", "an xz file".
func (f Format) article() string {
	if f == XZ {
		return "an " + f.noun()
	}
	return "a " + f.noun()
}

// HeadSize is how many leading bytes Detect needs.
const HeadSize = 8

// Detect recognises a container from its first bytes (HeadSize of them, or all
// there are). The signatures: gzip RFC 1952 section 2.3.1; zstd RFC 8878
// sections 3.1.1 (frame) and 3.1.2 (skippable frame, magic 0x184D2A5?); zip
// APPNOTE.TXT 4.3.7 (local file header) and 4.3.16 (end of central directory,
// an empty archive); cabinet [MS-CAB] 2.1 ("MSCF"); xz, The .xz File Format
// (https://tukaani.org/xz/xz-file-format.txt) section 2.1.1.1, Header Magic
// Bytes fd 37 7a 58 5a 00.
func Detect(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return Zip
	case bytes.HasPrefix(head, []byte("\x1f\x8b")):
		return Gzip
	case bytes.HasPrefix(head, []byte("\x28\xb5\x2f\xfd")):
		return Zstd
	case bytes.HasPrefix(head, []byte(xzMagic)):
		return XZ
	case bytes.HasPrefix(head, []byte("MSCF\x00\x00\x00\x00")):
		// The four bytes after the signature are reserved and zero: checking them
		// keeps a text file that starts "MSCF" a text file.
		return CAB
	}
	if len(head) >= 4 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18 && head[0]&0xf0 == 0x50 {
		return Zstd
	}
	return Plain
}
