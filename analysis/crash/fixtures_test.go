package crash

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dumpmap/dumpmap/analysis/process"
	"github.com/dumpmap/dumpmap/minidump/minidumptest"

	"github.com/dumpmap/dumpmap/minidump"
)

// fixtureTruth is what the crash fixtures (testdata/fixtures/src/crash.c and
// crashfx.c) record inside the crashing process, in its unhandled-exception
// filter, before the dump is written.
type fixtureTruth struct {
	ScenarioData struct {
		ThrownType    string `json:"thrown_type"`
		RequestedSize uint64 `json:"requested_size"`
		FaultAddress  string `json:"fault_address"`
	} `json:"scenario_data"`
	Crash struct {
		ThreadID  uint32 `json:"thread_id"`
		Exception struct {
			Code       string   `json:"code"`
			Address    string   `json:"address"`
			Parameters []string `json:"parameters"`
			Cxx        *struct {
				Magic          string   `json:"magic"`
				Object         string   `json:"object"`
				ThrowInfo      string   `json:"throw_info"`
				ImageBase      string   `json:"image_base"`
				CatchableTypes []string `json:"catchable_types"`
			} `json:"cxx"`
		} `json:"exception"`
	} `json:"crash"`
}

func hexval(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatalf("truth value %q: %v", s, err)
	}
	return v
}

// TestWineCrashFixtures decodes the Wine crash fixtures (real msvcr120
// std::bad_alloc, HeapAlloc STATUS_NO_MEMORY, Chromium's 0xE0000008, an access
// violation) and compares with their truth files.
func TestWineCrashFixtures(t *testing.T) {
	const dir = "../../testdata/fixtures/dumps"
	found := 0
	for _, name := range []string{"oom-cxx", "oom-vector", "oom-heap", "oom-chromium", "callstack",
		"oom-cxx-full", "oom-vector-full", "oom-heap-full", "oom-chromium-full", "callstack-full"} {
		raw, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			continue
		}
		found++
		t.Run(name, func(t *testing.T) {
			var tr fixtureTruth
			if err := json.Unmarshal(raw, &tr); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name+".dmp")
			if strings.HasSuffix(name, "-full") {
				path = minidumptest.UnpackXZ(t, path+".xz")
			}
			f, err := minidump.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// The images of the modules on the crash stacks, in symbol-store layout
			// (testdata/fixtures/images): the C++ throw tables of msvcr120.dll are in
			// its image, which the small dump did not capture.
			c, err := Of(process.New(f, process.Options{ImagePath: []string{"../../testdata/fixtures/images"}}))
			if c == nil {
				t.Fatal(err)
			}
			te := tr.Crash.Exception
			if uint64(c.Code) != hexval(t, te.Code) || c.ThreadID != tr.Crash.ThreadID || uint64(c.Address) != hexval(t, te.Address) {
				t.Errorf("code %s thread %d address %s; truth %s %d %s", c.Code, c.ThreadID, c.Address, te.Code, tr.Crash.ThreadID, te.Address)
			}
			if len(c.Parameters) != len(te.Parameters) {
				t.Errorf("%d parameters, truth %d", len(c.Parameters), len(te.Parameters))
			}
			for i := range min(len(c.Parameters), len(te.Parameters)) {
				if uint64(c.Parameters[i].Value) != hexval(t, te.Parameters[i]) {
					t.Errorf("parameter %d: %s, truth %s", i, c.Parameters[i].Value, te.Parameters[i])
				}
			}
			wantOOM := strings.HasPrefix(name, "oom-")
			open := c.CPP != nil && c.CPP.ThrownType == nil && !strings.HasSuffix(name, "-full")
			if c.OOM != wantOOM && !(wantOOM && open) {
				t.Errorf("OOM %v (%s)", c.OOM, c.Verdict)
			}
			if x := te.Cxx; x != nil {
				cpp := c.CPP
				if cpp != nil && cpp.ThrownType == nil && !strings.HasSuffix(name, "-full") {
					// Wine's msvcr120 fills its C++ throw tables (RVAs) when it loads:
					// its image file holds placeholders, which the decoder must not
					// take for tables. Only the full-memory dump holds the real ones.
					if !unknownAbout(c, "CatchableTypeArray", "no loaded module") {
						t.Errorf("unknown %+v", c.Unknown)
					}
					return
				}
				if cpp == nil || cpp.ThrownType == nil {
					t.Fatalf("no thrown type; unknown %+v", c.Unknown)
				}
				if uint64(*cpp.ThrowInfo) != hexval(t, x.ThrowInfo) || uint64(cpp.Object) != hexval(t, x.Object) || uint64(*cpp.ImageBase) != hexval(t, x.ImageBase) {
					t.Errorf("ThrowInfo %s object %s base %s; truth %s %s %s", cpp.ThrowInfo, cpp.Object, cpp.ImageBase, x.ThrowInfo, x.Object, x.ImageBase)
				}
				var got []string
				for _, ct := range cpp.CatchableTypes {
					got = append(got, ct.Type.Decorated)
				}
				if strings.Join(got, " ") != strings.Join(x.CatchableTypes, " ") {
					t.Errorf("catchable types %v, truth %v", got, x.CatchableTypes)
				}
				if cpp.ThrownType.Name != tr.ScenarioData.ThrownType {
					t.Errorf("thrown %q, truth %q", cpp.ThrownType.Name, tr.ScenarioData.ThrownType)
				}
				if cpp.Message != nil && cpp.Message.Text != "bad allocation" {
					t.Errorf("message %q", cpp.Message.Text)
				}
				t.Logf("%s", c.Summary())
			}
			switch uint32(c.Code) {
			case CodeChromiumOOM:
				if c.Size == nil || c.Size.Bytes != tr.ScenarioData.RequestedSize {
					t.Errorf("size %+v, truth %d", c.Size, tr.ScenarioData.RequestedSize)
				}
			case CodeNoMemory:
				if len(te.Parameters) == 0 && (c.Size != nil || !unknownAbout(c, "allocation size", "Wine")) {
					t.Errorf("size %+v unknown %+v", c.Size, c.Unknown)
				}
			case CodeAccessViolation:
				if tr.ScenarioData.FaultAddress != "" && (c.Access == nil || uint64(c.Access.Address) != hexval(t, tr.ScenarioData.FaultAddress)) {
					t.Errorf("access %+v, truth fault address %s", c.Access, tr.ScenarioData.FaultAddress)
				}
			}
		})
	}
	if found == 0 {
		t.Skip("no crash fixtures in testdata/fixtures/dumps yet")
	}
}
