package triage_test

import (
	"context"
	"fmt"
	"log"

	"github.com/dumpmap/dumpmap/analysis/triage"
)

// Triage a folder of dumps: one record per file (or archive member), delivered in
// a stable order, and the run's totals.
func ExampleRun() {
	var records []*triage.Record
	st, err := triage.Run(context.Background(), []string{"../../testdata/fixtures/dumps/crtheap.dmp", "../../testdata/fixtures/dumps/MANIFEST.md"},
		triage.Options{Ordered: true}, func(r *triage.Record) error {
			records = append(records, r)
			return nil
		})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range records {
		if r.ErrorKind != "" {
			fmt.Printf("%s: %s\n", r.File[len(r.File)-11:], r.ErrorKind)
			continue
		}
		fmt.Printf("%s: %s %s, verdict %s\n", r.File[len(r.File)-11:], r.Product, r.Arch, r.Verdict)
	}
	fmt.Printf("%d records, %d dumps, %d errors\n", st.Records, st.Dumps, st.Errors)
	// Output:
	// crtheap.dmp: crtheap.exe amd64, verdict ok
	// MANIFEST.md: not-minidump
	// 2 records, 1 dumps, 1 errors
}
