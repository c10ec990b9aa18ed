package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoldenMap pins the text and JSON of the map commands (summary, frag, explain,
// regions) on the seed fixture and on real corpus dumps with a MemoryInfoList. The
// facts behind them are checked independently in package analysis: the map against
// the fixture targets' own VirtualQuery walks and the verdicts against their live
// allocation probes (analysis/fixtures_test.go), the map against the MemoryInfoList
// of every corpus dump, which in turn is compared with Breakpad and obj2yaml in
// package minidump.
func TestGoldenMap(t *testing.T) {
	corpus := corpusDirOrEmpty(t)
	seedDir, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "fixtures", "dumps"))
	// The seed process is a 2 GB process under Wine: see docs/fixtures.md.
	seedFlags := []string{"--below", "2G", "--unavailable", "0x7d000000-0x7d010000"}
	cases := []struct {
		name, path string
		runs       [][]string
	}{
		{"seed", filepath.Join(seedDir, "seed.dmp"), [][]string{
			append([]string{"summary"}, seedFlags...),
			append([]string{"frag"}, seedFlags...),
			append([]string{"explain", "--size", "50K"}, seedFlags...),
			append([]string{"explain", "--size", "64", "--via", "malloc"}, seedFlags...),
			append([]string{"explain", "--size", "1M", "--via", "heap"}, seedFlags...),
			append([]string{"explain", "--max"}, seedFlags...),
			append([]string{"regions", "--usage", "Stack,TEB,Image", "--allocations"}, seedFlags...),
		}},
		{"windows-x86", filepath.Join(corpus, "mozilla-pgo", "windows-x86.dmp"), [][]string{
			{"summary"}, {"frag"}, {"explain", "--size", "50K"}, {"explain", "--size", "1500M"},
			{"explain", "--size", "100M", "--via", "vector", "--element-size", "8"},
			{"regions", "--usage", "TEB,PEB,Heap"}, {"regions", "--address", "0x59ab1000"},
		}},
		{"stability-report", filepath.Join(corpus, "rust-minidump", "stability-report.dmp"), [][]string{
			{"summary"}, {"frag"}, {"explain", "--size", "1M", "--via", "malloc"}, {"explain", "--size", "50K", "--below", "2G"},
			{"regions", "--usage", "Stack,TEB,PEB,Heap,Unusable", "--min-size", "16K"},
		}},
		{"tiny-exe-with-cet-xsave", filepath.Join(corpus, "breakpad", "tiny-exe-with-cet-xsave.dmp"), [][]string{
			{"regions", "--usage", "Stack,TEB,PEB,Unusable", "--min-size", "16K"}, {"summary"},
		}},
		{"minidump2-partial", filepath.Join(corpus, "breakpad", "minidump2.dmp"), [][]string{
			{"regions"}, {"summary"}, {"explain", "--size", "50K"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := os.Stat(c.path); err != nil {
				t.Skip(err)
			}
			for _, r := range c.runs {
				for _, js := range []bool{false, true} {
					args := append([]string{r[0], c.path}, r[1:]...)
					if js {
						args = append(args, "--json")
					}
					out, errOut, code := runCLI(args...)
					got := normalize(strings.ReplaceAll(out, seedDir, "$FIXTURES"), corpus, "\x00no-tmp")
					if code != 0 {
						got += fmt.Sprintf("--- stderr (exit %d)\n%s", code, errOut)
					}
					ext := ".txt"
					if js {
						ext = ".json"
					}
					name := c.name + "." + safeName.ReplaceAllString(strings.Join(r, "_"), "_") + ext
					if len(name) > 120 {
						name = name[:100] + ext
					}
					checkGolden(t, filepath.Join("map", name), got)
				}
			}
		})
	}
}
