package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	cases := []struct{ want, got, diff string }{
		{"a\nb\n", "a\nb\n", ""},
		{"a\nb\n", "a\nc\n", "line 2:\n  want: b\n  got:  c\n"},
		{"a\n", "a\nextra\n", "line 2:\n  want: \n  got:  extra\n"},
	}
	for _, c := range cases {
		if d := Diff(c.want, c.got); d != c.diff {
			t.Errorf("Diff(%q, %q) = %q, want %q", c.want, c.got, d, c.diff)
		}
	}
	// At most ten lines are shown.
	if n := strings.Count(Diff(strings.Repeat("x\n", 30), strings.Repeat("y\n", 30)), "line "); n != 10 {
		t.Errorf("Diff showed %d lines, want 10", n)
	}
}

// TestCheck: an equal file passes, a different one fails (on a recording TB), and
// -update writes the file.
func TestCheck(t *testing.T) {
	p := filepath.Join(t.TempDir(), "g", "x.txt")
	old := *update
	defer func() { *update = old }()
	*update = true
	Check(t, p, []byte("one\n"))
	if b, err := os.ReadFile(p); err != nil || string(b) != "one\n" {
		t.Fatalf("update wrote %q, %v", b, err)
	}
	*update = false
	Check(t, p, []byte("one\n"))
	rec := &recorder{TB: t}
	Check(rec, p, []byte("two\n"))
	if !rec.failed || !strings.Contains(rec.msg, "want: one") || !strings.Contains(rec.msg, "got:  two") {
		t.Errorf("a difference was not reported: failed=%v %q", rec.failed, rec.msg)
	}
}

type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = strings.TrimSpace(strings.Join([]string{r.msg, sprintf(format, args...)}, "\n"))
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
