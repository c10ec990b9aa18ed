package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTriageKeepsExistingOutput: -o never overwrites a file the user has, unless
// --force says so.
func TestTriageKeepsExistingOutput(t *testing.T) {
	dir := t.TempDir()
	dump := writeDump(t, "a.dmp", syntheticX64().Bytes())
	out := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(out, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI("triage", "-o", out, dump)
	if code != 1 || !strings.Contains(errOut, "exists (use --force") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep\n" {
		t.Fatalf("output overwritten: %q", b)
	}
	if _, errOut, code := runCLI("triage", "--force", "-o", out, dump); code != 0 {
		t.Fatalf("--force: exit %d, %s", code, errOut)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "1 record from 1 file") {
		t.Fatalf("--force did not write the table: %q", b)
	}
}
