package minidump

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// sniffLen is how much of a non-minidump is read to say what it looks like.
const sniffLen = 4096

// sniffFile describes a file that does not start with the minidump signature.
func sniffFile(r io.ReaderAt, size int64) string {
	n := min(size, sniffLen)
	buf := make([]byte, n)
	got, _ := r.ReadAt(buf, 0)
	return sniff(buf[:got], size)
}

// sniff says what a file that is not a minidump looks like, from its first bytes.
func sniff(b []byte, size int64) string {
	has := func(p string) bool { return bytes.HasPrefix(b, []byte(p)) }
	switch {
	case size == 0:
		return "an empty file"
	case has("PAGEDU64"):
		return "a 64-bit Windows kernel dump (PAGEDU64)"
	case has("PAGEDUMP"):
		return "a 32-bit Windows kernel dump (PAGEDUMP)"
	case has("USERDU64"), has("USERDUMP"):
		return "a legacy Windows user-mode dump (" + string(b[:8]) + ")"
	case has("\x7fELF"):
		return elfKind(b)
	case has("MZ"):
		return "a Windows executable or DLL (MZ header)"
	case has("Microsoft C/C++ MSF 7.00"):
		return "a PDB symbol file"
	case has("MSCF"):
		return "a Microsoft CAB archive"
	case has("PK\x03\x04"), has("PK\x05\x06"):
		return "a zip archive"
	case has("\x1f\x8b"):
		return "a gzip-compressed file"
	case has("\xfd7zXZ\x00"):
		return "an xz-compressed file"
	case has("\x28\xb5\x2f\xfd"):
		return "a zstd-compressed file"
	case has("BZh"):
		return "a bzip2-compressed file"
	case has("\xcf\xfa\xed\xfe"), has("\xce\xfa\xed\xfe"):
		return "a Mach-O file (a macOS core or binary)"
	case has("PMDM"):
		return "a byte-swapped minidump (big-endian writer)"
	case bytes.Contains(b, []byte("BEGIN BREAKPAD MICRODUMP")):
		return "a Breakpad text microdump (Android logcat)"
	}
	if isText(b) {
		// The first line with something on it: a leading blank line would say nothing.
		var first string
		for _, line := range strings.Split(strings.TrimPrefix(string(b), "\ufeff"), "\n") {
			if first = strings.TrimSpace(line); first != "" {
				break
			}
		}
		if len(first) > 40 {
			first = first[:40] + "..."
		}
		return fmt.Sprintf("a text file (starts with %q)", first)
	}
	k := min(len(b), 8)
	return fmt.Sprintf("an unknown binary file (no MDMP signature; starts with % x)", b[:k])
}

func elfKind(b []byte) string {
	if len(b) < 18 {
		return "an ELF file"
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if b[5] == 2 {
		bo = binary.BigEndian
	}
	switch bo.Uint16(b[16:]) {
	case 4:
		return "an ELF core file"
	case 2:
		return "an ELF executable"
	case 3:
		return "an ELF shared object"
	}
	return "an ELF file"
}

// isText reports whether b looks like UTF-8 text with no control bytes but whitespace.
func isText(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(trimPartialRune(b)) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}

// trimPartialRune drops a UTF-8 sequence cut off by the sniff buffer's end.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}
