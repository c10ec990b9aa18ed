package minidump_test

import (
	"bytes"
	"testing"

	"github.com/dumpmap/dumpmap/minidump"
)

// TestParseCodeViewBpEL checks the ELF build-id record Breakpad and Crashpad write for
// Linux modules: the signature is MD_CVINFOELF_SIGNATURE, 0x4270454c, bytes "LEpB".
func TestParseCodeViewBpEL(t *testing.T) {
	id := []byte{0x10, 0xfa, 0xa6, 0xbb, 0xaa, 0xb8, 0x3d, 0xb3}
	rec := append([]byte("LEpB"), id...)
	cv, err := minidump.ParseCodeView(rec)
	if err != nil {
		t.Fatal(err)
	}
	if cv.Signature != "BpEL" || !bytes.Equal(cv.BuildID, id) {
		t.Errorf("ParseCodeView = %+v, want BpEL with build id % x", cv, id)
	}
}
