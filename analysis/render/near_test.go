package render

import (
	"reflect"
	"testing"
)

func TestNear(t *testing.T) {
	names := []string{"explain", "frag", "heaps", "info", "regions", "report", "stack", "summary"}
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"explian", []string{"explain"}}, // a transposition: two edits
		{"rep", []string{"report"}},      // a prefix
		{"stacks", []string{"stack"}},    // the name is a prefix of it
		{"hepas", []string{"heaps"}},     // two edits
		{"zzzzzz", nil},                  // nothing near
		{"regoins", []string{"regions"}}, // a transposition
	} {
		if got := Near(c.in, names); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Near(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
