package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/analysis/process"

	"github.com/dumpmap/dumpmap/minidump"
)

// corpusOOM lists the corpus dumps that are allocation failures. CATALOG.md
// describes none: access violations, breakpoints, a fast fail, a stack
// overflow, an invalid parameter, SyzyASan's bounds report, signals.
var corpusOOM = map[string]bool{}

// breakpadCrash runs Breakpad's minidump_stackwalk -m through the shared peers and
// returns its "Crash|reason|address" fields; ok is false when the peer is absent.
func breakpadCrash(t *testing.T, root, file string) (reason string, addr uint64, ok bool) {
	script := filepath.Join(filepath.Dir(root), "peers", "run-peer.sh")
	if _, err := os.Stat(script); err != nil {
		return "", 0, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, script, "breakpad-stackwalk-m", file)
	cmd.Stdout = &out
	if cmd.Run() != nil {
		return "", 0, false
	}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Split(line, "|")
		if len(f) >= 3 && f[0] == "Crash" {
			a, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 64)
			return f[1], a, err == nil
		}
	}
	return "", 0, false
}

// TestCorpus decodes every corpus dump's exception: none fails, none is a false
// out-of-memory, and Windows access violations and fast fails agree with
// Breakpad's minidump_stackwalk where it is installed.
func TestCorpus(t *testing.T) {
	root, dumps := corpusDumps(t)
	decoded, peerChecked := 0, 0
	for _, rel := range dumps {
		f, err := minidump.Open(filepath.Join(root, rel))
		if err != nil {
			continue // not a minidump, or too damaged to open (a reader test's concern)
		}
		c, _ := Of(process.New(f, process.Options{}))
		f.Close()
		if c == nil {
			continue // no Exception stream
		}
		decoded++
		if c.OOM != corpusOOM[rel] {
			t.Errorf("%s: OOM %v (%s)", rel, c.OOM, c.Verdict)
		}
		if c.Refused {
			t.Errorf("%s: allocation refused (%s)", rel, c.Verdict)
		}
		if len(c.Evidence) < 2 || c.Evidence[0].Kind != EvidenceCode || c.Evidence[len(c.Evidence)-1].Kind != EvidenceVerdict {
			t.Errorf("%s: evidence %v", rel, kinds(c))
		}
		if c.Summary() == "" {
			t.Errorf("%s: empty summary", rel)
		}
		if _, err := json.Marshal(c); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		if !strings.HasPrefix(c.Name, "EXCEPTION_ACCESS_VIOLATION") && c.FastFail == nil {
			continue
		}
		reason, addr, ok := breakpadCrash(t, root, filepath.Join(root, rel))
		if !ok {
			continue
		}
		peerChecked++
		switch {
		case c.FastFail != nil:
			if reason != c.FastFail.Name {
				t.Errorf("%s: fast fail %s, Breakpad %s", rel, c.FastFail.Name, reason)
			}
		case c.Access != nil:
			op := map[string]string{"read": "READ", "write": "WRITE", "execute (DEP)": "EXEC"}[c.Access.Op]
			if reason != "EXCEPTION_ACCESS_VIOLATION_"+op || addr != uint64(c.Access.Address) {
				t.Errorf("%s: %s of %s, Breakpad %s at %#x", rel, c.Access.Op, c.Access.Address, reason, addr)
			}
		}
	}
	// The fixture lab's dumps (a dumper process wrote them, so most have no
	// exception) are not OOM, but for the crash fixtures that died of one.
	fixtures, _ := filepath.Glob("../../testdata/fixtures/dumps/*.dmp")
	for _, p := range fixtures {
		f, err := minidump.Open(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if c, _ := Of(process.New(f, process.Options{})); c != nil {
			decoded++
			// The crash fixtures named oom-* died of an allocation failure; in the
			// small dumps of the C++ ones the thrown type cannot be read (Wine's
			// msvcr120 fills its throw tables at load time: see TestWineCrashFixtures),
			// so there the verdict is open, never a false alarm.
			wantOOM := strings.HasPrefix(filepath.Base(p), "oom-")
			open := c.CPP != nil && c.CPP.ThrownType == nil
			if (c.OOM != wantOOM && !(wantOOM && open)) || c.Refused {
				t.Errorf("%s: OOM %v, want %v: %s", p, c.OOM, wantOOM, c.Summary())
			}
		}
		f.Close()
	}
	if decoded < 40 {
		t.Errorf("only %d corpus dumps have an exception", decoded)
	}
	t.Logf("%d exceptions decoded, %d checked against Breakpad", decoded, peerChecked)
}

// TestCorpusNoFalseRequest runs the whole crash analysis (exception, stack walk,
// failed-request search) on every corpus dump with an exception: none of them
// is an allocation failure (CATALOG.md), so none may yield a failed request, and
// each must say what was looked for. The number checked is logged for the
// issue's note.
func TestCorpusNoFalseRequest(t *testing.T) {
	root, dumps := corpusDumps(t)
	checked, walked := 0, 0
	for _, rel := range dumps {
		f, err := minidump.Open(filepath.Join(root, rel))
		if err != nil {
			continue
		}
		p := process.New(f, process.Options{})
		a := Analyze(context.Background(), p)
		if a.Crash != nil {
			checked++
			if a.Thread != nil {
				walked++
			}
			if a.Request != nil && !corpusOOM[rel] {
				t.Errorf("%s: a failed request in a crash that is not an allocation failure: %s %d from %s", rel, a.Request.Path, a.Request.Size, a.Request.Function)
			}
			if a.Request == nil && len(a.Looked) == 0 {
				t.Errorf("%s: no request and no word on what was looked for", rel)
			}
		}
		p.Close()
		f.Close()
	}
	if checked < 40 {
		t.Errorf("only %d corpus dumps have an exception", checked)
	}
	t.Logf("%d corpus crashes analysed (%d stacks walked for a possible allocation failure): no false failed request", checked, walked)
}

// TestCorpusInvalidParameter: Breakpad's invalid-parameter record in
// rust-minidump's dump points to the strings its assertion stream holds;
// rust-minidump's own test asserts them (test_assertion in minidump.rs).
func TestCorpusInvalidParameter(t *testing.T) {
	f, err := minidump.Open(filepath.Join(sharedCorpus(t), "rust-minidump", "invalid-parameter.dmp"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	c, _ := Of(process.New(f, process.Options{}))
	want := Assertion{Expression: "format != nullptr", File: `minkernel\crts\ucrt\src\appcrt\stdio\output.cpp`, Line: 32}
	if c == nil || c.Assertion == nil || *c.Assertion != want {
		t.Fatalf("assertion %+v, want %+v", c.Assertion, want)
	}
	if c.Name != "STATUS_INVALID_PARAMETER" || c.OOM {
		t.Errorf("%s OOM %v", c.Name, c.OOM)
	}
}

// TestCorpusStackOverflow: Breakpad's stack_exhaustion.dmp is not OOM, and its
// parameters name the guard-page access.
func TestCorpusStackOverflow(t *testing.T) {
	f, err := minidump.Open(filepath.Join(sharedCorpus(t), "breakpad", "stack_exhaustion.dmp"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	c, _ := Of(process.New(f, process.Options{}))
	if c == nil || uint32(c.Code) != CodeStackOverflow || c.OOM || c.Access == nil {
		t.Fatalf("%+v", c)
	}
	// The thread's stack limit is the page the overflow touched: the access
	// address lies in the page below the captured stack.
	th, err := f.Threads()
	if err != nil {
		t.Skip(err)
	}
	for _, x := range th {
		if x.ID == c.ThreadID {
			lo := x.Stack.Start
			if a := uint64(c.Access.Address); a >= lo || lo-a > 0x2000 {
				t.Errorf("access %#x, captured stack starts at %#x", a, lo)
			}
		}
	}
}
