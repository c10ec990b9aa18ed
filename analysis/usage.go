package analysis

import "fmt"

// Usage says what a region is used for, in the terms of WinDbg's !address and VMMap.
type Usage uint8

// Usages. The order is the order of the summary tables.
const (
	UsageFree       Usage = iota // free and usable by a new reservation
	UsageUnusable                // free but unusable: below the next 64 KB boundary, or outside the allocatable range
	UsageImage                   // an executable image (loaded or unloaded module)
	UsageStack                   // a thread's stack reservation, guard page included
	UsageTEB                     // a thread environment block
	UsagePEB                     // the process environment block
	UsageHeap                    // a heap segment or a heap's large block
	UsageMappedFile              // a mapped view of a file or section
	UsagePrivate                 // other private memory (VirtualAlloc)
	UsageUnknown                 // not known: a gap in a partial map
	numUsages
)

var usageNames = [...]string{"Free", "Unusable", "Image", "Stack", "TEB", "PEB", "Heap", "MappedFile", "Private", "Unknown"}

func (u Usage) String() string {
	if u < numUsages {
		return usageNames[u]
	}
	return fmt.Sprintf("Usage(%d)", int(u))
}

// ParseUsage returns the Usage named s (case-insensitive), accepting VMMap's and
// WinDbg's spellings ("Mapped File", "<unknown>").
func ParseUsage(s string) (Usage, bool) {
	switch normalize(s) {
	case "free":
		return UsageFree, true
	case "unusable":
		return UsageUnusable, true
	case "image":
		return UsageImage, true
	case "stack":
		return UsageStack, true
	case "teb":
		return UsageTEB, true
	case "peb":
		return UsagePEB, true
	case "heap":
		return UsageHeap, true
	case "mappedfile", "mapped", "mapped file":
		return UsageMappedFile, true
	case "private", "privatedata", "private data":
		return UsagePrivate, true
	case "unknown", "<unknown>":
		return UsageUnknown, true
	}
	return 0, false
}

// IsFree reports whether u describes free address space (usable or not).
func (u Usage) IsFree() bool { return u == UsageFree || u == UsageUnusable }

func normalize(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == '_' || c == '-' {
			continue
		}
		b = append(b, c)
	}
	return string(b)
}
