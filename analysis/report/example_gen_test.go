package report_test

import (
	"os"
	"testing"
)

// TestWriteSeedDump writes the synthetic seed dump for looking at by hand:
// SEED_DUMP=/tmp/seed.dmp go test ./analysis/report -run TestWriteSeedDump
func TestWriteSeedDump(t *testing.T) {
	p := os.Getenv("SEED_DUMP")
	if p == "" {
		t.Skip("SEED_DUMP not set")
	}
	if err := os.WriteFile(p, seedDump(), 0o644); err != nil {
		t.Fatal(err)
	}
}
