package minidump_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"
)

// TestCPUVendorOtherCPUInfo checks that an amd64 SystemInfo whose CPU union holds
// OtherCpuInfo (processor feature bits, as dbghelp on x64 writes it) yields no vendor,
// not the feature bits read as text.
func TestCPUVendorOtherCPUInfo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vendor []byte
		want   string
	}{
		{"cpuid", []byte("GenuineIntel"), "GenuineIntel"},
		{"features", []byte{0x4c, 0x7f, 0x42, 0x10, 0x01, 0, 0, 0, 0, 0, 0, 0}, ""},
		{"zero", make([]byte, 12), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			si := make([]byte, 56)
			le := binary.LittleEndian
			le.PutUint16(si[0:], uint16(minidump.ArchAMD64))
			le.PutUint32(si[20:], uint32(minidump.PlatformWindows))
			copy(si[32:44], tc.vendor)
			data := minidumptest.New().Stream(minidump.StreamSystemInfo, si).Bytes()
			f, err := minidump.New(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.SystemInfo()
			if err != nil {
				t.Fatal(err)
			}
			if got.CPUVendor != tc.want {
				t.Errorf("CPUVendor = %q, want %q", got.CPUVendor, tc.want)
			}
		})
	}
}
