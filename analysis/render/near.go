package render

import "strings"

// Near returns the names a mistyped name was probably meant as: those it is a
// prefix of or that are a prefix of it, and those within two edits of it
// (Levenshtein distance), in the order given. The CLI suggests them for an
// unknown command.
func Near(name string, names []string) []string {
	var near []string
	for _, n := range names {
		if strings.HasPrefix(n, name) || strings.HasPrefix(name, n) || editDistance(name, n) <= 2 {
			near = append(near, n)
		}
	}
	return near
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
