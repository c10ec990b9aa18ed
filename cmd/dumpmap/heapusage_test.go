package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHeapUsageAgrees: summary, regions --usage heap, frag and report show the same
// Heap bytes for every fixture dump: the region map finds the heaps once, as its
// last step, and every command reads that map. (A review found three views giving
// three answers for crtheap-full.dmp: no Heap, 4 MiB and 8 MiB.)
func TestHeapUsageAgrees(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "fixtures", "dumps")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	withHeaps := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".dmp") && !strings.HasSuffix(name, ".dmp.xz") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dump := unpackFixture(t, tmp, name)
			// The fixtures' folder holds crtheap.pdb and crtheap.exe: with it as the
			// symbol and image path the CRT heap is found too.
			sym := []string{"--symbol-path", dir, "--image-path", dir}
			type rows = []struct {
				Name string `json:"name"`
				Size uint64 `json:"size"`
			}
			usageRow := func(rows rows) uint64 {
				for _, r := range rows {
					if r.Name == "Heap" {
						return r.Size
					}
				}
				return 0
			}
			var summary struct {
				Usage rows `json:"usage"`
			}
			decode(t, &summary, append([]string{"summary", "--json", dump}, sym...))
			var regions struct {
				Regions []struct {
					Size  uint64 `json:"size"`
					Usage string `json:"usage"`
				} `json:"regions"`
			}
			decode(t, &regions, append([]string{"regions", "--json", "--usage", "heap", dump}, sym...))
			var listed uint64
			for _, r := range regions.Regions {
				if r.Usage != "Heap" {
					t.Errorf("regions --usage heap lists a %s region", r.Usage)
				}
				listed += r.Size
			}
			var frag struct {
				ByUsage rows `json:"by_usage"`
			}
			decode(t, &frag, append([]string{"frag", "--json", dump}, sym...))
			var rep struct {
				Summary struct {
					Usage rows `json:"usage"`
				} `json:"summary"`
				Fragmentation struct {
					ByUsage rows `json:"by_usage"`
				} `json:"fragmentation"`
			}
			decode(t, &rep, append([]string{"report", "--json", "--no-max", dump}, sym...))
			got := map[string]uint64{
				"summary": usageRow(summary.Usage), "regions": listed, "frag": usageRow(frag.ByUsage),
				"report summary": usageRow(rep.Summary.Usage), "report frag": usageRow(rep.Fragmentation.ByUsage),
			}
			for _, v := range got {
				if v != got["summary"] {
					t.Errorf("Heap bytes disagree: %v", got)
					break
				}
			}
			if got["summary"] > 0 {
				withHeaps++
			}
			t.Logf("Heap bytes: %d", got["summary"])
		})
	}
	if withHeaps == 0 && !t.Failed() {
		t.Error("no fixture has Heap usage: the agreement above proves nothing")
	}
}

// decode runs the CLI and decodes its one JSON object into v.
func decode(t *testing.T, v any, args []string) {
	t.Helper()
	out, errOut, code := runCLI(args...)
	if code != 0 {
		t.Fatalf("dumpmap %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("dumpmap %s: %v", strings.Join(args, " "), err)
	}
}
