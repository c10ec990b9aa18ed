package report_test

import (
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis"
	"github.com/dumpmap/dumpmap/analysis/report"
	"github.com/dumpmap/dumpmap/minidump"
)

// TestRequestsChosen checks which sizes and paths a report explains by default.
func TestRequestsChosen(t *testing.T) {
	std := []uint64{64 * K, 1 * M, 16 * M}
	for _, tc := range []struct {
		name     string
		code     minidump.ExceptionCode // 0: no exception
		params   []uint64
		opt      report.Options
		chosenBy string
		sizes    []uint64
		vias     string
		why      string
	}{
		{"no exception", 0, nil, report.Options{}, "standard", std, "virtualalloc,malloc", "The dump has no exception"},
		{"access violation", minidump.ExceptionAccessViolation, []uint64{1, 0x10}, report.Options{}, "standard", std, "virtualalloc,malloc", "is not an out-of-memory exception"},
		{"STATUS_NO_MEMORY", minidump.ExceptionNoMemory, []uint64{50 * K}, report.Options{}, "exception", []uint64{50 * K}, "virtualalloc,heap,malloc", "HEAP_GENERATE_EXCEPTIONS"},
		// A 32-bit writer may sign-extend the parameter.
		{"sign-extended", minidump.ExceptionNoMemory, []uint64{0xffffffff80000010}, report.Options{}, "exception", []uint64{0x80000010}, "virtualalloc,heap,malloc", "0x80000010"},
		{"Chromium OOM", minidump.ExceptionChromeOOM, []uint64{16 * M}, report.Options{}, "exception", []uint64{16 * M}, "virtualalloc,malloc", "TerminateBecauseOutOfMemory"},
		{"Chromium OOM, size unknown", minidump.ExceptionChromeOOM, []uint64{0}, report.Options{}, "standard", std, "virtualalloc,malloc", "gives 0 as the request size"},
		{"STATUS_NO_MEMORY without parameters", minidump.ExceptionNoMemory, nil, report.Options{}, "standard", std, "virtualalloc,heap,malloc", "has no parameters"},
		{"commit limit", minidump.ExceptionCommitmentLimit, []uint64{5}, report.Options{}, "standard", std, "virtualalloc,malloc", "carries no request size"},
		{"options win", minidump.ExceptionNoMemory, []uint64{50 * K}, report.Options{Sizes: []uint64{64, 64, 1 * M}, Vias: []analysis.Via{analysis.ViaReserve, analysis.ViaVector}},
			"options", []uint64{64, 1 * M}, "reserve,vector", "given on the command line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := seedBuilder(20, "app.exe", "kernel32.dll")
			if tc.code != 0 {
				b.Exception(4242, tc.code, 0x77a4f2a3, tc.params...)
			}
			r := build(t, openBytes(t, b.Bytes()), "x.dmp", tc.opt)
			q := r.Requests
			if q.ChosenBy != tc.chosenBy || !equal(q.Sizes, tc.sizes) || strings.Join(q.Vias, ",") != tc.vias || !strings.Contains(q.Why, tc.why) {
				t.Errorf("requests = %+v", q)
			}
			if len(r.Explanations) != len(tc.sizes)*len(q.Vias) {
				t.Errorf("%d explanations", len(r.Explanations))
			}
		})
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
