package triage

import (
	"fmt"
	"sort"
	"time"
)

// GroupBy is what records are grouped by.
type GroupBy string

// Groupings.
const (
	ByFrames    GroupBy = "frames"    // the crash signature from the stack's frames (the default)
	BySignature GroupBy = "signature" // the exception and where it happened: module+offset
	ByModule    GroupBy = "module"    // the module the exception happened in
	ByVerdict   GroupBy = "verdict"   // the fragmentation verdict
	ByVersion   GroupBy = "version"   // the product module and its version
)

// ParseGroupBy parses a --group-by value.
func ParseGroupBy(s string) (GroupBy, error) {
	switch g := GroupBy(s); g {
	case ByFrames, BySignature, ByModule, ByVerdict, ByVersion:
		return g, nil
	case "module+offset":
		return BySignature, nil
	}
	return "", fmt.Errorf("bad grouping %q: want frames, signature (module+offset), module, verdict or version", s)
}

// Group keys of records that have no value to group by. Records of files that
// could not be analysed are grouped by their error kind, as "error: KIND", under
// every grouping.
const (
	KeyNoException = "(no exception)"
	KeyNoModule    = "(not in a module)"
	KeyUnknown     = "(unknown)"
)

// GroupKey returns the key rec is grouped under.
func (g GroupBy) GroupKey(rec *Record) string {
	if rec.Error != "" {
		return "error: " + string(rec.ErrorKind)
	}
	switch g {
	case ByModule:
		switch {
		case rec.ExceptionName == "" && rec.Signature == "":
			return KeyNoException
		case rec.FaultModule == "":
			return KeyNoModule
		}
		return rec.FaultModule
	case ByVerdict:
		return string(rec.Verdict)
	case ByFrames:
		if rec.FrameSignature != "" {
			return rec.FrameSignature
		}
		// No stack: the exception and where it happened.
		if rec.Signature == "" {
			return KeyNoException
		}
		return rec.Signature
	case ByVersion:
		switch {
		case rec.Product == "":
			return KeyUnknown
		case rec.ProductVersion == "":
			return rec.Product + " " + KeyUnknown
		}
		return rec.Product + " " + rec.ProductVersion
	}
	if rec.Signature == "" {
		return KeyNoException
	}
	return rec.Signature
}

// A Group is the records that share a key. It is also the JSON object of an
// NDJSON "group" line.
type Group struct {
	Kind  string  `json:"kind"` // "group"
	By    GroupBy `json:"by"`
	Key   string  `json:"key"`
	Count int64   `json:"count"`
	OOM   int64   `json:"oom"` // records that look like out-of-memory
	// FirstSeen and LastSeen are the earliest and latest dump time of the records
	// (absent when no record has one).
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// Example is one record of the group: the first by file and member name, so that
	// it does not depend on the order the records completed in.
	Example       string `json:"example"`
	ExampleMember string `json:"example_member,omitempty"`
}

// A Grouper folds records into groups. Its memory grows with the number of groups,
// not of records.
type Grouper struct {
	by     GroupBy
	groups map[string]*Group
}

// NewGrouper returns a Grouper for the given grouping ("" is BySignature).
func NewGrouper(by GroupBy) *Grouper {
	if by == "" {
		by = BySignature
	}
	return &Grouper{by: by, groups: map[string]*Group{}}
}

// By returns the grouping.
func (g *Grouper) By() GroupBy { return g.by }

// Add counts rec in its group.
func (g *Grouper) Add(rec *Record) {
	key := g.by.GroupKey(rec)
	gr := g.groups[key]
	if gr == nil {
		gr = &Group{Kind: "group", By: g.by, Key: key, Example: rec.File, ExampleMember: rec.Member}
		g.groups[key] = gr
	} else if rec.File < gr.Example || rec.File == gr.Example && rec.Member < gr.ExampleMember {
		gr.Example, gr.ExampleMember = rec.File, rec.Member
	}
	gr.Count++
	if rec.OOM {
		gr.OOM++
	}
	if t := rec.Time; !t.IsZero() {
		if gr.FirstSeen.IsZero() || t.Before(gr.FirstSeen) {
			gr.FirstSeen = t
		}
		if t.After(gr.LastSeen) {
			gr.LastSeen = t
		}
	}
}

// Groups returns the groups, most frequent first, then by key.
func (g *Grouper) Groups() []Group {
	out := make([]Group, 0, len(g.groups))
	for _, gr := range g.groups {
		out = append(out, *gr)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}
