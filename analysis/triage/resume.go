package triage

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"os"
)

// A KeySet holds the keys of the records an earlier run wrote, as 64-bit hashes:
// 16 bytes a record whatever the path lengths (the chance that two of a million
// keys collide, and a file is wrongly skipped, is below one in ten million).
type KeySet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

// NewKeySet returns an empty set.
func NewKeySet() *KeySet { return &KeySet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}} }

func (s *KeySet) sum(k Key) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(k.File)
	h.WriteByte(0)
	h.WriteString(k.Member)
	return h.Sum64()
}

// Add adds k.
func (s *KeySet) Add(k Key) { s.m[s.sum(k)] = struct{}{} }

// Has reports whether k was added.
func (s *KeySet) Has(k Key) bool {
	_, ok := s.m[s.sum(k)]
	return ok
}

// Len returns the number of keys.
func (s *KeySet) Len() int { return len(s.m) }

// Resume prepares the NDJSON output file of an earlier run to be continued: it
// reads the records in it into a KeySet (for Options.Skip) and into g (so that the
// new groups cover them too), then cuts the file after its last record line,
// dropping the earlier run's groups and summary and a line cut short by an
// interruption, and leaves f positioned at the end for the new records. A file
// that is empty or holds no record is fine: the run starts from scratch.
func Resume(f *os.File, g *Grouper) (*KeySet, int64, error) {
	keys := NewKeySet()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var off, end, n int64
	foreign := false // a line after the last record that triage did not write
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			off += int64(len(line))
			if rec, ok := parseRecord(line); ok {
				keys.Add(rec.Key())
				g.Add(rec)
				n++
				end, foreign = off, false
			} else if !bytes.Contains(line, []byte(`"kind":"group"`)) && !bytes.Contains(line, []byte(`"kind":"summary"`)) {
				foreign = true
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
	}
	if foreign {
		// Cutting the file would destroy what someone else wrote.
		return nil, 0, fmt.Errorf("%s is not the NDJSON output of a triage run (it has lines triage does not write after its last record): not resuming from it", f.Name())
	}
	if err := f.Truncate(end); err != nil {
		return nil, 0, err
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		return nil, 0, err
	}
	return keys, n, nil
}

func parseRecord(line []byte) (*Record, bool) {
	if !bytes.Contains(line, []byte(`"kind":"record"`)) {
		return nil, false
	}
	var rec Record
	if err := json.Unmarshal(line, &rec); err != nil || rec.Kind != "record" {
		return nil, false
	}
	return &rec, true
}
