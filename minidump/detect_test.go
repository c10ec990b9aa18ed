package minidump_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

func elfHeader(class, data byte, typ uint16) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = class, data, 1
	if data == 2 {
		b[16], b[17] = byte(typ>>8), byte(typ)
	} else {
		b[16], b[17] = byte(typ), byte(typ>>8)
	}
	return b
}

func gzipped(t *testing.T) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte("MDMP inside"))
	w.Close()
	return buf.Bytes()
}

func zipped(t *testing.T) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("crash.dmp")
	f.Write([]byte("MDMP\x93\xa7"))
	w.Close()
	return buf.Bytes()
}

// TestNotAMinidump checks the exact one-line message for each kind of file that is not
// a minidump.
func TestNotAMinidump(t *testing.T) {
	binary := []byte{0x00, 0x01, 0xfe, 0xff, 0x10, 0x80, 0x42, 0x07, 0x99, 0x99}
	for i := 0; len(binary) < 5000; i++ {
		binary = append(binary, byte(i*131+7))
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "an empty file"},
		{"random", binary, "an unknown binary file (no MDMP signature; starts with 00 01 fe ff 10 80 42 07)"},
		{"one-byte", []byte{0x4d}, "a text file (starts with \"M\")"},
		{"PAGEDUMP", append([]byte("PAGEDUMP\x0f\x00\x00\x00"), make([]byte, 4084)...), "a 32-bit Windows kernel dump (PAGEDUMP)"},
		{"PAGEDU64", append([]byte("PAGEDU64\x0f\x00\x00\x00"), make([]byte, 8180)...), "a 64-bit Windows kernel dump (PAGEDU64)"},
		{"USERDU64", append([]byte("USERDU64"), make([]byte, 100)...), "a legacy Windows user-mode dump (USERDU64)"},
		{"elf-core", elfHeader(2, 1, 4), "an ELF core file"},
		{"elf-core-be32", elfHeader(1, 2, 4), "an ELF core file"},
		{"elf-exec", elfHeader(2, 1, 2), "an ELF executable"},
		{"elf-so", elfHeader(2, 1, 3), "an ELF shared object"},
		{"elf-short", []byte("\x7fELF\x02\x01"), "an ELF file"},
		{"microdump", []byte("01-23 12:34:56.789  1234  1234 I DEBUG   : -----BEGIN BREAKPAD MICRODUMP-----\n" +
			"01-23 12:34:56.789  1234  1234 I DEBUG   : O A arm64 01 :\n"), "a Breakpad text microdump (Android logcat)"},
		{"zip", zipped(t), "a zip archive"},
		{"gzip", gzipped(t), "a gzip-compressed file"},
		{"xz", []byte("\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46"), "an xz-compressed file"},
		{"zstd", []byte("\x28\xb5\x2f\xfd\x04\x00"), "a zstd-compressed file"},
		{"bzip2", []byte("BZh91AY&SY"), "a bzip2-compressed file"},
		{"cab", []byte("MSCF\x00\x00\x00\x00"), "a Microsoft CAB archive"},
		{"pe", append([]byte("MZ\x90\x00"), make([]byte, 60)...), "a Windows executable or DLL (MZ header)"},
		{"pdb", []byte("Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00"), "a PDB symbol file"},
		{"macho", []byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), "a Mach-O file (a macOS core or binary)"},
		{"big-endian", []byte("PMDM\x00\x00\xa7\x93"), "a byte-swapped minidump (big-endian writer)"},
		{"text", []byte("Operating system: Windows NT\n  5.1.2600 Service Pack 2\n"), `a text file (starts with "Operating system: Windows NT")`},
		{"blank-first-lines", []byte("\n\n                        Summary                 \n===\n"), `a text file (starts with "Summary")`},
		{"bom", []byte("\ufeff# RUN: yaml2obj %s\n"), `a text file (starts with "# RUN: yaml2obj %s")`},
		{"long-text", []byte(strings.Repeat("x", 100)), `a text file (starts with "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := minidump.New(bytes.NewReader(tc.data), int64(len(tc.data)))
			var nm *minidump.NotMinidumpError
			if f != nil || !errors.As(err, &nm) {
				t.Fatalf("New = %v, %v; want a *NotMinidumpError", f, err)
			}
			if want := "not a minidump: looks like " + tc.want; err.Error() != want {
				t.Errorf("message\n got %q\nwant %q", err.Error(), want)
			}
			if nm.LooksLike != tc.want || strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("LooksLike = %q", nm.LooksLike)
			}
			// The same through Open.
			p := filepath.Join(t.TempDir(), "file")
			os.WriteFile(p, tc.data, 0o644)
			if _, err := minidump.Open(p); err == nil || err.Error() != "not a minidump: looks like "+tc.want {
				t.Errorf("Open: %v", err)
			}
		})
	}
}

func TestNotAMinidumpFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := minidump.Open(dir); err == nil || err.Error() != "not a minidump: looks like a directory" {
		t.Errorf("Open(dir) = %v", err)
	}
	if _, err := minidump.Open(filepath.Join(dir, "missing.dmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v", err)
	}
	// The test binary itself is a real ELF executable.
	if exe, err := os.Executable(); err == nil {
		if data, err := os.ReadFile(exe); err == nil && bytes.HasPrefix(data, []byte("\x7fELF")) {
			_, err := minidump.New(bytes.NewReader(data), int64(len(data)))
			if err == nil || !strings.HasPrefix(err.Error(), "not a minidump: looks like an ELF ") {
				t.Errorf("test binary: %v", err)
			}
		}
	}
	if _, err := minidump.New(bytes.NewReader(nil), -1); err == nil {
		t.Error("negative size accepted")
	}
}

// A file that starts with the signature but is shorter than the header is a damaged
// minidump, not "not a minidump".
func TestShortMinidump(t *testing.T) {
	for _, n := range []int{4, 5, 31} {
		data := append([]byte("MDMP\x93\xa7\x00\x00"), make([]byte, 32)...)[:n]
		_, err := minidump.New(bytes.NewReader(data), int64(n))
		var fe *minidump.FormatError
		if !errors.As(err, &fe) || fe.Where != "header" || fe.Off != 0 ||
			!strings.Contains(err.Error(), "shorter than the 32-byte header") {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}
