package report_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/dumpmap/dumpmap/minidump"
)

// Build the report of a dump and write it as Markdown (WriteHTML and WriteJSON
// give the other formats).
func ExampleBuild() {
	f, err := minidump.Open("../../testdata/fixtures/dumps/crtheap.dmp")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	p := process.New(f, process.Options{})
	defer p.Close()
	r, err := report.Build(p, report.Options{Name: "crtheap.dmp", NoMax: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Title)
	fmt.Println(len(r.Explanations), "explanations, the first:", r.Explanations[0].Verdict)
	var md strings.Builder
	if err := r.WriteMarkdown(&md); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.SplitN(md.String(), "\n", 2)[0])
	// Output:
	// crtheap.exe
	// 6 explanations, the first: succeed
	// # dumpmap report: crtheap.exe
}
