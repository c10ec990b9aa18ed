package triage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dumpmap/dumpmap/minidump"
)

// mixedFolder lays out synthetic dumps, their compressed copies, malformed files and
// (when the corpus is there) two corpus dumps, and returns what each record must say.
func mixedFolder(t *testing.T) (string, map[string]want) {
	dir := t.TempDir()
	av := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 0x60000000)
	av2 := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 0x60100000)
	oom := synth(0, minidump.ExceptionNoMemory, 0x50, 0x60200000)
	frag := synth(256*K, minidump.ExceptionCPlusPlus, 0x77, 0x60300000)
	tight := synth(4*M, 0, 0, 0x60400000)
	const sigAV = "EXCEPTION_ACCESS_VIOLATION app.exe+0x1234"
	ws := map[string]want{}
	add := func(name string, data []byte, w want) {
		write(t, dir, name, data)
		ws[name] = w
	}
	add("plain/av.dmp", av, want{sig: sigAV, verdict: VerdictOK, sum: sum(av), product: "app.exe 1.2.3.4"})
	add("plain/av2.mdmp", av2, want{sig: sigAV, verdict: VerdictOK, sum: sum(av2)})
	add("plain/oom.dmp", oom, want{sig: "STATUS_NO_MEMORY app.exe+0x50", verdict: VerdictExhausted, oom: []string{"exception-code", "no-64k-block"}})
	add("plain/frag", frag, want{verdict: VerdictFragmented, oom: []string{"no-1m-block"}})
	add("plain/tight.dmp", tight, want{sig: "", verdict: VerdictTight, capture: "no-exception"})
	add("bad/notes.txt", []byte("crash notes\nsecond line\n"), want{err: ErrNotMinidump, errText: "looks like a text file"})
	add("bad/empty.dmp", nil, want{err: ErrNotMinidump, errText: "an empty file"})
	add("bad/cut.dmp", av[:20], want{err: ErrDamaged})
	add("bad/damaged.zip", []byte("PK\x03\x04 this is not really a zip archive"), want{err: ErrBadContainer, container: "zip"})
	add("bad/damaged.gz", append([]byte("\x1f\x8b\x08\x00"), bytes.Repeat([]byte{0xff}, 40)...), want{err: ErrBadContainer, container: "gzip"})
	add("bad/empty.zip", zipOf(t, member{name: "folder"}), want{err: ErrEmpty, container: "zip"})
	// Compressed copies: detected by content, whatever the name.
	add("packed/av.dmp.gz", gz(t, av), want{sig: sigAV, container: "gzip", sum: sum(av)})
	add("packed/av.zst", zst(t, av), want{sig: sigAV, container: "zstd", sum: sum(av)})
	add("packed/renamed.dmp", gz(t, oom), want{verdict: VerdictExhausted, oom: []string{"exception-code", "no-64k-block"}, container: "gzip"})
	write(t, dir, "packed/bundle.zip", zipOf(t,
		member{name: "crashes"},
		member{name: "crashes/av.dmp", data: av},
		member{name: "crashes/oom.dmp.gz", data: gz(t, oom)},
		member{name: "readme.txt", data: []byte("sent by a customer")},
		member{name: "inner.zip", data: zipOf(t, member{name: "frag.dmp", data: frag}, member{name: "deep.zip", data: zipOf(t, member{name: "x.dmp", data: av})})},
	))
	ws["packed/bundle.zip!crashes/av.dmp"] = want{sig: sigAV, container: "zip", sum: sum(av)}
	ws["packed/bundle.zip!crashes/oom.dmp.gz"] = want{verdict: VerdictExhausted, oom: []string{"exception-code", "no-64k-block"}, container: "zip+gzip", sum: sum(oom)}
	ws["packed/bundle.zip!readme.txt"] = want{err: ErrNotMinidump, container: "zip"}
	ws["packed/bundle.zip!inner.zip!frag.dmp"] = want{verdict: VerdictFragmented, oom: []string{"no-1m-block"}, container: "zip+zip"}
	ws["packed/bundle.zip!inner.zip!deep.zip"] = want{err: ErrNotMinidump, container: "zip+zip", errText: "looks like a zip archive (containers are opened 2 levels deep)"}
	write(t, dir, "packed/bundle.tar.gz.zip.gz", gz(t, zipOf(t, member{name: "a.dmp", data: av2})))
	ws["packed/bundle.tar.gz.zip.gz!a.dmp"] = want{sig: sigAV, container: "gzip+zip", sum: sum(av2)}

	if c := sharedCorpus(); c != "" {
		for _, name := range []string{"breakpad/minidump2.dmp", "rust-minidump/test.dmp", "breakpad/microdump-x86.dmp"} {
			data, err := os.ReadFile(filepath.Join(c, name))
			if err != nil {
				t.Fatal(err)
			}
			ws["corpus/"+name] = want{sum: sum(data)}
			write(t, dir, "corpus/"+name, data)
		}
		w := ws["corpus/breakpad/microdump-x86.dmp"]
		w.err, w.errText = ErrNotMinidump, "Breakpad text microdump"
		ws["corpus/breakpad/microdump-x86.dmp"] = w
		for _, n := range []string{"corpus/breakpad/minidump2.dmp", "corpus/rust-minidump/test.dmp"} {
			w := ws[n]
			w.sig = "EXCEPTION_ACCESS_VIOLATION test_app.exe+0x429e"
			ws[n] = w
		}
	}
	// The fixture lab's dumps of real processes (Wine), linked rather than copied.
	if fx, err := filepath.Abs(filepath.Join("..", "..", "testdata", "fixtures", "dumps")); err == nil {
		if _, err := os.Stat(filepath.Join(fx, "pristine.dmp")); err == nil {
			os.MkdirAll(filepath.Join(dir, "fixtures"), 0o755)
			for name, w := range map[string]want{
				"pristine.dmp":      {verdict: VerdictOK, product: "pristine.exe ", capture: "no-exception"},
				"pristine-raw.dmp":  {verdict: VerdictUnknown, capture: "no-memory-info"},
				"swiss.dmp":         {verdict: VerdictOK, product: "swiss.exe "},
				"heaps-full.dmp.xz": {verdict: VerdictOK, product: "heaps.exe ", capture: "no-exception", container: "xz"},
				"MANIFEST.md":       {err: ErrNotMinidump, errText: "looks like a text file"},
			} {
				if err := os.Symlink(filepath.Join(fx, name), filepath.Join(dir, "fixtures", name)); err != nil {
					t.Fatal(err)
				}
				ws["fixtures/"+name] = w
			}
		}
	}
	return dir, ws
}

// want is what a record must say; empty fields are not checked.
type want struct {
	sig       string // "" with verdict set and err empty: no exception expected when capture says so
	verdict   Verdict
	oom       []string
	sum       string
	product   string // "name version"
	container string
	capture   string // one ID that must be in Capture
	err       Kind   // ErrorKind
	errText   string // part of Error
}

func check(t *testing.T, key string, r *Record, w want) {
	t.Helper()
	if w.err != "" {
		if r.ErrorKind != w.err || !strings.Contains(r.Error, w.errText) {
			t.Errorf("%s: error %q (%s), want kind %s containing %q", key, r.Error, r.ErrorKind, w.err, w.errText)
		}
	} else if r.Error != "" {
		t.Errorf("%s: unexpected error %q", key, r.Error)
	}
	if w.sig != "" && r.Signature != w.sig {
		t.Errorf("%s: signature %q, want %q", key, r.Signature, w.sig)
	}
	if w.verdict != "" && r.Verdict != w.verdict {
		t.Errorf("%s: verdict %q, want %q", key, r.Verdict, w.verdict)
	}
	if w.verdict != "" && strings.Join(r.OOMReasons, ",") != strings.Join(w.oom, ",") {
		t.Errorf("%s: OOM reasons %q, want %q", key, r.OOMReasons, w.oom)
	}
	if r.OOM != (len(r.OOMReasons) > 0) {
		t.Errorf("%s: OOM %v with reasons %q", key, r.OOM, r.OOMReasons)
	}
	if w.sum != "" && r.SHA256 != w.sum {
		t.Errorf("%s: sha256 %s, want %s", key, r.SHA256, w.sum)
	}
	if w.product != "" && r.Product+" "+r.ProductVersion != w.product {
		t.Errorf("%s: product %q %q, want %q", key, r.Product, r.ProductVersion, w.product)
	}
	if r.Container != w.container {
		t.Errorf("%s: container %q, want %q", key, r.Container, w.container)
	}
	if w.capture != "" && !strings.Contains(","+strings.Join(r.Capture, ",")+",", ","+w.capture+",") {
		t.Errorf("%s: capture %q lacks %q", key, r.Capture, w.capture)
	}
}

func TestMixedFolder(t *testing.T) {
	dir, ws := mixedFolder(t)
	got, _, st := collect(t, dir, []string{dir}, Options{Jobs: 3})
	for k, w := range ws {
		r := got[k]
		if r == nil {
			t.Errorf("no record for %s", k)
			continue
		}
		check(t, k, r, w)
	}
	for k := range got {
		if _, ok := ws[k]; !ok {
			t.Errorf("unexpected record %s", k)
		}
	}
	if st.Records != int64(len(ws)) || st.Dumps+st.Errors != st.Records {
		t.Errorf("stats %+v for %d records", st, len(ws))
	}
	// av.dmp: the figures behind the verdict.
	r := got["plain/av.dmp"]
	if r.LargestUsableFree == nil || *r.LargestUsableFree != 256*M || !*r.Fits64K || !*r.Fits1M || r.MapSource != "memory-info-list" {
		t.Errorf("av.dmp: largest %v fits %v %v map %q", r.LargestUsableFree, r.Fits64K, r.Fits1M, r.MapSource)
	}
	if r.OS == "" || r.Arch != "x86" || r.ExceptionCode == nil || *r.ExceptionCode != 0xc0000005 || r.FaultModule != "app.exe" ||
		r.FaultOffset == nil || *r.FaultOffset != 0x1234 || r.Time.Unix() != 0x60000000 || r.Size != int64(len(synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 0x60000000))) {
		t.Errorf("av.dmp: %+v", r)
	}

	// Groups by signature: most frequent first, first and last seen, an example.
	g := NewGrouper(BySignature)
	for _, r := range got {
		g.Add(r)
	}
	groups := g.Groups()
	for i := 1; i < len(groups); i++ {
		if groups[i].Count > groups[i-1].Count {
			t.Fatalf("groups not most frequent first: %+v", groups)
		}
	}
	byKey := map[string]Group{}
	for _, gr := range groups {
		byKey[gr.Key] = gr
	}
	av := byKey["EXCEPTION_ACCESS_VIOLATION app.exe+0x1234"]
	// av.dmp, av2.mdmp, av.dmp.gz, av.zst, bundle.zip!crashes/av.dmp, bundle.tar.gz.zip.gz!a.dmp
	if av.Count != 6 || av.FirstSeen.Unix() != 0x60000000 || av.LastSeen.Unix() != 0x60100000 || !strings.HasSuffix(av.Example, "packed/av.dmp.gz") {
		t.Errorf("AV group %+v", av)
	}
	if oom := byKey["STATUS_NO_MEMORY app.exe+0x50"]; oom.Count != 3 || oom.OOM != 3 {
		t.Errorf("OOM group %+v", oom)
	}
	if e := byKey["error: "+string(ErrNotMinidump)]; e.Count < 4 {
		t.Errorf("not-minidump group %+v", e)
	}
	if nx := byKey[KeyNoException]; nx.Count != int64(1+4*fixtures(ws)) { // tight.dmp and the four fixture dumps
		t.Errorf("no-exception group %+v", nx)
	}

	// The other groupings.
	for by, key := range map[GroupBy]string{ByModule: "app.exe", ByVerdict: string(VerdictExhausted), ByVersion: "app.exe 1.2.3.4"} {
		g := NewGrouper(by)
		for _, r := range got {
			g.Add(r)
		}
		found := false
		for _, gr := range g.Groups() {
			found = found || gr.Key == key
		}
		if !found {
			t.Errorf("group-by %s: no group %q in %+v", by, key, g.Groups())
		}
	}
}

func TestOrderedIsDeterministic(t *testing.T) {
	dir, _ := mixedFolder(t)
	var runs [2][]string
	for i := range runs {
		_, all, _ := collect(t, dir, []string{dir}, Options{Jobs: 4, Ordered: true})
		for _, r := range all {
			runs[i] = append(runs[i], r.Where())
		}
	}
	if !reflect.DeepEqual(runs[0], runs[1]) {
		t.Fatalf("two ordered runs differ:\n%q\n%q", runs[0], runs[1])
	}
	// Walk order: folders by name, archive members in archive order.
	want := []string{"bad/cut.dmp", "bad/damaged.gz", "bad/damaged.zip", "bad/empty.dmp", "bad/empty.zip", "bad/notes.txt"}
	var got []string
	for _, w := range runs[0] {
		if strings.Contains(w, "/bad/") {
			got = append(got, w[strings.Index(w, "bad/"):])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

// bombs returns a gzip and a zstd stream of 1 GiB of zeros, made cheaply by
// repeating one compressed MiB (both formats allow concatenated streams), and a
// zip whose member is 6 MiB of zeros.
func bombs(t *testing.T) (gzBomb, zstBomb, zipBomb []byte) {
	zeros := make([]byte, 1*M)
	g, z := gz(t, zeros), zst(t, zeros)
	gzBomb = bytes.Repeat(g, 1024)
	zstBomb = bytes.Repeat(z, 1024)
	zipBomb = zipOf(t, member{name: "big.dmp", data: make([]byte, 6*M)}, member{name: "ok.dmp", data: synth(256*M, 0, 0, 1)})
	return
}

func TestZipBomb(t *testing.T) {
	dir := t.TempDir()
	gzBomb, zstBomb, zipBomb := bombs(t)
	// The zip header says 6 MiB: refused before decompressing.
	write(t, dir, "bomb.zip", zipBomb)
	// gzip and zstd say nothing of their size: stopped by the cap while unpacking.
	write(t, dir, "bomb.gz", gzBomb)
	write(t, dir, "bomb.zst", zstBomb)
	// A bomb of bombs: a zip of gzip bombs.
	write(t, dir, "nested.zip", zipOf(t, member{name: "a.gz", data: gzBomb}, member{name: "b.zst", data: zstBomb}))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, _, _ := collect(t, dir, []string{dir}, Options{MaxUnpacked: 4 * M, MemoryLimit: 1 * M})
	runtime.ReadMemStats(&after)
	for _, k := range []string{"bomb.zip!big.dmp", "bomb.gz", "bomb.zst", "nested.zip!a.gz", "nested.zip!b.zst"} {
		r := got[k]
		if r == nil || r.ErrorKind != ErrTooLarge || !strings.Contains(r.Error, "4 MiB") {
			t.Errorf("%s: %+v, want a too-large error", k, r)
		}
	}
	if r := got["bomb.zip!ok.dmp"]; r == nil || r.Error != "" {
		t.Errorf("the member after the bomb: %+v", r)
	}
	// Five bombs of 1 GiB (or 6 MiB) each cost a few MiB each: the cap and the spill.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 100*M {
		t.Errorf("the bombs cost %d MiB of allocations", alloc/M)
	}
	// No spill file is left behind.
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "dumpmap-triage-*"))
	if len(left) > 0 {
		t.Errorf("spill files left: %q", left)
	}
}

// TestSpill: members larger than the memory limit are spilled to a temporary
// file and analysed from it, with the same result.
func TestSpill(t *testing.T) {
	dir := t.TempDir()
	av := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 7)
	big := append(append([]byte{}, av...), make([]byte, 3*M)...) // padding after the streams
	write(t, dir, "big.dmp.gz", gz(t, big))
	write(t, dir, "big.zip", zipOf(t, member{name: "big.dmp", data: big}))
	write(t, dir, "big.dmp", big)
	got, _, _ := collect(t, dir, []string{dir}, Options{MemoryLimit: 1 * M})
	for _, k := range []string{"big.dmp.gz", "big.zip!big.dmp", "big.dmp"} {
		if r := got[k]; r == nil || r.Error != "" || r.SHA256 != sum(big) || r.Signature == "" || r.Size != int64(len(big)) {
			t.Errorf("%s: %+v", k, r)
		}
	}
}

// TestTruncatedWhileRead: a file cut short between the moment its size is taken and
// the moment it is read, in memory and in place.
func TestTruncatedWhileRead(t *testing.T) {
	dir := t.TempDir()
	av := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 7)
	write(t, dir, "small.dmp", av)
	write(t, dir, "large.dmp", append(append([]byte{}, av...), make([]byte, 2*M)...))
	write(t, dir, "gone.dmp", av)
	testHookOpened = func(p string) {
		switch filepath.Base(p) {
		case "small.dmp", "large.dmp":
			os.Truncate(p, 300)
		case "gone.dmp":
			os.Truncate(p, 0)
		}
	}
	defer func() { testHookOpened = nil }()
	got, _, st := collect(t, dir, []string{dir}, Options{MemoryLimit: 1 * M})
	if st.Records != 3 {
		t.Fatalf("%d records, want 3", st.Records)
	}
	for k, r := range got {
		t.Logf("%s: size %d error %q capture %q", k, r.Size, r.Error, r.Capture)
		if r.Size > 300 {
			t.Errorf("%s: size %d after truncation to 300", k, r.Size)
		}
	}
	if r := got["small.dmp"]; r.Error == "" && !strings.Contains(strings.Join(r.Capture, ","), "changed-while-read") {
		t.Errorf("small.dmp: the change is not reported: %+v", r)
	}
}

// TestTimeout: a step that takes too long gives a time-out record; the run goes on.
func TestTimeout(t *testing.T) {
	dir := t.TempDir()
	av := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 7)
	write(t, dir, "a-slow.dmp", av)
	write(t, dir, "b-fast.dmp", av)
	release := make(chan struct{})
	testHookOpened = func(p string) {
		if filepath.Base(p) == "a-slow.dmp" {
			<-release // stuck, as on a hung network file system
		}
	}
	defer func() { testHookOpened = nil }()
	defer close(release)
	start := time.Now()
	got, _, _ := collect(t, dir, []string{dir}, Options{Jobs: 1, Timeout: 200 * time.Millisecond})
	if r := got["a-slow.dmp"]; r == nil || r.ErrorKind != ErrTimeout || !strings.Contains(r.Error, "timed out after 200ms") {
		t.Errorf("slow: %+v", r)
	}
	if r := got["b-fast.dmp"]; r == nil || r.Error != "" {
		t.Errorf("fast: %+v", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the run took %s", d)
	}
}

func TestSpecialFilesAndLinks(t *testing.T) {
	dir := t.TempDir()
	av := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 7)
	write(t, dir, "d/a.dmp", av)
	if err := os.Symlink("..", filepath.Join(dir, "d", "up")); err != nil { // a loop
		t.Skip("no symbolic links:", err)
	}
	os.Symlink("a.dmp", filepath.Join(dir, "d", "link.dmp"))
	os.Symlink("missing.dmp", filepath.Join(dir, "d", "broken.dmp"))
	if err := mkfifo(filepath.Join(dir, "d", "pipe")); err != nil {
		t.Log("no named pipe:", err)
	}
	got, _, st := collect(t, dir, []string{dir, filepath.Join(dir, "missing-arg")}, Options{})
	if r := got["d/a.dmp"]; r == nil || r.Error != "" {
		t.Errorf("a.dmp: %+v", r)
	}
	if r := got["d/link.dmp"]; r == nil || r.SHA256 != sum(av) {
		t.Errorf("link.dmp: %+v", r)
	}
	if r := got["d/broken.dmp"]; r == nil || r.ErrorKind != ErrIO || !strings.Contains(r.Error, "broken symbolic link") {
		t.Errorf("broken.dmp: %+v", r)
	}
	if r := got["d/pipe"]; r != nil && (r.ErrorKind != ErrNotRegular || !strings.Contains(r.Error, "named pipe")) {
		t.Errorf("pipe: %+v", r)
	}
	if r := got["missing-arg"]; r == nil || r.ErrorKind != ErrIO {
		t.Errorf("missing argument: %+v", r)
	}
	if st.Loops != 1 {
		t.Errorf("loops %d, want 1", st.Loops)
	}
	for k := range got {
		if strings.Contains(k, "up/") {
			t.Errorf("walked through the loop: %s", k)
		}
	}
}

func TestShard(t *testing.T) {
	dir, ws := mixedFolder(t)
	const n = 3
	seen := map[string]int{}
	for i := range n {
		got, _, st := collect(t, dir, []string{dir}, Options{Shard: Shard{i, n}})
		if st.Files+st.OtherShards == 0 || st.OtherShards == 0 {
			t.Errorf("shard %d: %+v", i, st)
		}
		for k := range got {
			seen[k]++
		}
	}
	for k := range ws {
		if seen[k] != 1 {
			t.Errorf("%s is in %d shards", k, seen[k])
		}
	}
	if len(seen) != len(ws) {
		t.Errorf("%d records over the shards, want %d", len(seen), len(ws))
	}
	// The shard of a file does not depend on where the collection is mounted.
	other := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Rename(dir, other); err != nil {
		t.Fatal(err)
	}
	a, _, _ := collect(t, other, []string{other}, Options{Shard: Shard{1, n}})
	for k := range a {
		if _, ok := ws[k]; !ok {
			t.Errorf("unexpected %s", k)
		}
	}
	for _, bad := range []string{"3/3", "-1/2", "1", "a/b", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestInterruptAndResume(t *testing.T) {
	dir, ws := mixedFolder(t)
	out := filepath.Join(t.TempDir(), "out.ndjson")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	// A run interrupted after five records, killed while writing the sixth.
	ctx, cancel := context.WithCancel(context.Background())
	w := NewNDJSONWriter(f, NewGrouper(""))
	n := 0
	st, err := Run(ctx, []string{dir}, Options{Jobs: 2}, func(r *Record) error {
		n++
		if n == 5 {
			cancel()
		}
		return w.Record(r)
	})
	if err == nil || !st.Interrupted {
		t.Fatalf("interrupted run: err %v, stats %+v", err, st)
	}
	f.WriteString(`{"kind":"record","file":"half a li`)
	f.Close()

	// Resume: the earlier records are kept, the cut line dropped, the rest added.
	f, err = os.OpenFile(out, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGrouper("")
	keys, resumed, err := Resume(f, g)
	if err != nil || resumed != st.Records || keys.Len() != int(st.Records) {
		t.Fatalf("Resume: %d records (%d keys), err %v; the run wrote %d", resumed, keys.Len(), err, st.Records)
	}
	w = NewNDJSONWriter(f, g)
	st2, err := Run(context.Background(), []string{dir}, Options{Skip: keys.Has}, w.Record)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSummary(st2, BySignature, Shard{})
	s.Resumed = resumed
	if err := w.Finish(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st2.Skipped != resumed {
		t.Errorf("skipped %d, resumed %d", st2.Skipped, resumed)
	}
	recs, groups, sums := readNDJSON(t, out)
	if len(recs) != len(ws) {
		t.Errorf("%d records after resuming, want %d", len(recs), len(ws))
	}
	total := int64(0)
	for _, g := range groups {
		total += g.Count
	}
	if total != int64(len(ws)) || len(sums) != 1 {
		t.Errorf("groups count %d records, want %d; %d summaries", total, len(ws), len(sums))
	}

	// Resuming a finished run does nothing but rewrite the groups and summary.
	f, _ = os.OpenFile(out, os.O_RDWR, 0)
	g = NewGrouper("")
	keys, resumed, err = Resume(f, g)
	if err != nil || resumed != int64(len(ws)) {
		t.Fatalf("second resume: %d, %v", resumed, err)
	}
	w = NewNDJSONWriter(f, g)
	st3, _ := Run(context.Background(), []string{dir}, Options{Skip: keys.Has}, w.Record)
	w.Finish(NewSummary(st3, BySignature, Shard{}))
	f.Close()
	if st3.Records != 0 {
		t.Errorf("a finished run resumed gave %d new records", st3.Records)
	}
	recs, _, sums = readNDJSON(t, out)
	if len(recs) != len(ws) || len(sums) != 1 {
		t.Errorf("%d records, %d summaries", len(recs), len(sums))
	}

	// A file triage did not write is not cut.
	foreign := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(foreign, []byte("my notes\n"), 0o644)
	f, _ = os.OpenFile(foreign, os.O_RDWR, 0)
	defer f.Close()
	if _, _, err := Resume(f, NewGrouper("")); err == nil {
		t.Error("Resume accepted a file of notes")
	}
	if b, _ := os.ReadFile(foreign); string(b) != "my notes\n" {
		t.Errorf("the notes were changed: %q", b)
	}
}

func readNDJSON(t *testing.T, path string) (recs []*Record, groups []Group, sums []Summary) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		switch {
		case strings.Contains(line, `"kind":"record"`):
			r, ok := parseRecord([]byte(line))
			if !ok {
				t.Fatalf("line %d: %s", i+1, line)
			}
			recs = append(recs, r)
		case strings.Contains(line, `"kind":"group"`):
			var g Group
			if err := jsonUnmarshal(line, &g); err != nil {
				t.Fatal(err)
			}
			groups = append(groups, g)
		case strings.Contains(line, `"kind":"summary"`):
			var s Summary
			if err := jsonUnmarshal(line, &s); err != nil {
				t.Fatal(err)
			}
			sums = append(sums, s)
		default:
			t.Fatalf("line %d: %q", i+1, line)
		}
	}
	return
}

func TestAnalyzeSurvivesHostileInput(t *testing.T) {
	av := synth(256*M, minidump.ExceptionAccessViolation, 0x1234, 7)
	for cut := 0; cut < len(av); cut += 7 {
		var r Record
		Analyze(bytes.NewReader(av[:cut]), int64(cut), &r)
		if r.ErrorKind == ErrInternal {
			t.Fatalf("cut at %d: %s", cut, r.Error)
		}
	}
	flip := append([]byte{}, av...)
	for i := 32; i < len(flip); i += 13 {
		flip[i] ^= 0xa5
		var r Record
		Analyze(bytes.NewReader(flip), int64(len(flip)), &r)
		if r.ErrorKind == ErrInternal {
			t.Fatalf("flip at %d: %s", i, r.Error)
		}
	}
}

func TestProgress(t *testing.T) {
	dir, ws := mixedFolder(t)
	var last Progress
	calls := 0
	_, err := Run(context.Background(), []string{dir}, Options{Progress: func(p Progress) {
		if p.FilesDone < last.FilesDone || p.Records < last.Records {
			t.Errorf("progress went back: %+v after %+v", p, last)
		}
		last = p
		calls++
	}}, func(*Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || !last.WalkDone || last.FilesDone != last.FilesFound || last.Records != int64(len(ws)) {
		t.Errorf("last progress %+v after %d calls; %d records expected", last, calls, len(ws))
	}

	var b bytes.Buffer
	bar := NewBar(&b)
	bar.Update(Progress{FilesDone: 50, FilesFound: 200, Elapsed: 2 * time.Second})
	bar.Update(Progress{FilesDone: 100, FilesFound: 200, WalkDone: true, Elapsed: 4 * time.Second})
	bar.Done()
	want := "\r\x1b[Ktriage 50/200+ files [######..................] 25 files/s, 0:02 elapsed, ETA ?" +
		"\r\x1b[Ktriage 100/200 files [############............] 25 files/s, 0:04 elapsed, ETA 0:04\r\x1b[K"
	if b.String() != want {
		t.Errorf("bar:\n%q\nwant\n%q", b.String(), want)
	}
}

// TestSinkError: a sink that fails (a full disk) stops the run with its error.
func TestSinkError(t *testing.T) {
	dir, _ := mixedFolder(t)
	boom := errors.New("disk full")
	n := 0
	st, err := Run(context.Background(), []string{dir}, Options{Jobs: 2, Ordered: true}, func(*Record) error {
		n++
		return boom
	})
	if !errors.Is(err, boom) || n != 1 || st.Interrupted {
		t.Errorf("err %v after %d records, stats %+v", err, n, st)
	}
}

// fixtures returns 1 when mixedFolder linked the fixture dumps, else 0.
func fixtures(ws map[string]want) int {
	if _, ok := ws["fixtures/pristine.dmp"]; ok {
		return 1
	}
	return 0
}
