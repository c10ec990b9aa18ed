package input_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/dumpmap/dumpmap/analysis/input"
)

// TestUnpackLimits checks the two limits at their edges: MemoryLimit bytes stay
// in memory and one more spills; MaxSize bytes unpack and one more fails.
func TestUnpackLimits(t *testing.T) {
	const mem, max = 100 << 10, 300 << 10
	data := bytes.Repeat([]byte("0123456789abcdef"), max/16+1)
	tests := []struct {
		n        int
		hint     int64
		inMemory bool
		tooLarge bool
	}{
		{0, 0, true, false},
		{1, 0, true, false},
		{mem, 0, true, false},
		{mem, mem, true, false},
		{mem + 1, 0, false, false},
		{mem + 1, mem + 1, false, false},
		{max, 0, false, false},
		{max + 1, 0, false, true},
	}
	for _, tt := range tests {
		for _, r := range []struct {
			name string
			r    func([]byte) io.Reader
		}{
			{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
			{"one byte at a time", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
			{"half reads", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
		} {
			if r.name == "one byte at a time" && tt.n > mem+1 {
				continue
			}
			tmp := t.TempDir()
			b, err := input.Unpack(context.Background(), r.r(data[:tt.n]), input.Limits{MaxSize: max, MemoryLimit: mem, SizeHint: tt.hint, Hash: true, TempDir: tmp})
			if tt.tooLarge {
				var e *input.Error
				if !errors.As(err, &e) || e.Kind != input.KindTooLarge || e.Limit != max {
					t.Errorf("%d bytes, %s: %v, want too large", tt.n, r.name, err)
				}
				emptyDir(t, tmp)
				continue
			}
			if err != nil {
				t.Fatalf("%d bytes, %s: %v", tt.n, r.name, err)
			}
			got := make([]byte, b.Size())
			b.ReaderAt().ReadAt(got, 0)
			want := sha256.Sum256(data[:tt.n])
			if b.Size() != int64(tt.n) || !bytes.Equal(got, data[:tt.n]) || b.InMemory() != tt.inMemory ||
				!bytes.Equal(b.SHA256(), want[:]) || (b.Bytes() != nil) != tt.inMemory {
				t.Errorf("%d bytes, %s: size %d, in memory %v, sum ok %v", tt.n, r.name, b.Size(), b.InMemory(), bytes.Equal(b.SHA256(), want[:]))
			}
			// The spill file is unlinked at once (not on Windows, where Close removes it).
			b.Close()
			b.Close()
			emptyDir(t, tmp)
		}
	}
}

// TestUnpackReadError: an error from the reader is returned, and nothing is
// left behind.
func TestUnpackReadError(t *testing.T) {
	tmp := t.TempDir()
	boom := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(make([]byte, 200<<10)), iotest.ErrReader(boom))
	if _, err := input.Unpack(context.Background(), r, input.Limits{MemoryLimit: 100 << 10, TempDir: tmp}); !errors.Is(err, boom) {
		t.Errorf("err %v", err)
	}
	emptyDir(t, tmp)
	// A temporary folder that does not exist: a KindIO error once the bytes
	// pass the memory limit.
	_, err := input.Unpack(context.Background(), bytes.NewReader(make([]byte, 200<<10)), input.Limits{MemoryLimit: 100 << 10, TempDir: tmp + "/missing"})
	var e *input.Error
	if !errors.As(err, &e) || e.Kind != input.KindIO {
		t.Errorf("missing temporary folder: %v", err)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		head string
		want input.Format
	}{
		{"MDMP\x93\xa7\x00\x00", input.Plain},
		{"", input.Plain},
		{"\x1f", input.Plain},
		{"\x1f\x8b\x08\x00", input.Gzip},
		{"\x28\xb5\x2f\xfd\x00", input.Zstd},
		{"\x50\x2a\x4d\x18\x04\x00\x00\x00", input.Zstd}, // skippable frame
		{"\x5f\x2a\x4d\x18", input.Zstd},
		{"\x60\x2a\x4d\x18", input.Plain},
		{"PK\x03\x04", input.Zip},
		{"PK\x05\x06", input.Zip},
		{"PK\x07\x08", input.Plain}, // a spanned archive's marker: not read
		{"MSCF\x00\x00\x00\x00", input.CAB},
		{"MSCF is not a cabinet", input.Plain},
		{"\xfd7zXZ\x00\x00\x04", input.XZ},
		{"\xfd7zXZ", input.Plain}, // cut short: not the six magic bytes
		{"\xfd7zXZ\x01", input.Plain},
	}
	for _, tt := range tests {
		if got := input.Detect([]byte(tt.head)); got != tt.want {
			t.Errorf("Detect(%q) = %v, want %v", tt.head, got, tt.want)
		}
	}
	for f, s := range map[input.Format]string{input.Plain: "plain", input.Gzip: "gzip", input.Zstd: "zstd", input.Zip: "zip", input.CAB: "cab", input.XZ: "xz"} {
		if f.String() != s {
			t.Errorf("%d.String() = %q", f, f.String())
		}
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"app.dmp", "app.dmp"},
		{`dumps\app.dmp`, "dumps/app.dmp"},
		{"", "(unnamed)"},
		{"evil\x1b[2J.dmp", `evil\x1b[2J.dmp`},
		{"a\nb", `a\x0ab`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"rtl\u202egnp.exe", `rtl\u202egnp.exe`},
		{"dümp.dmp", "dümp.dmp"},
		{strings.Repeat("x", 300), strings.Repeat("x", 200) + "..."},
	}
	for _, tt := range tests {
		if got := input.CleanName(tt.in); got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	many := &input.Error{Kind: input.KindNoDump, Name: "x.zip", Format: input.Zip, Count: 12,
		Members: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}
	if got := many.Error(); got != "x.zip: zip archive holds no minidump: 12 files: a, b, c, d, e, f, g, h, i, j and 2 more" {
		t.Errorf("%q", got)
	}
	for k := input.KindIO; k <= input.KindTooManyMembers; k++ {
		if strings.HasPrefix(k.String(), "Kind(") {
			t.Errorf("kind %d has no name", k)
		}
	}
}
