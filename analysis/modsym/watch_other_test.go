//go:build !linux

package modsym_test

import "testing"

// watchOpens needs inotify; elsewhere the hostile-name test relies on the
// places it reports having tried.
func watchOpens(t *testing.T, root string, allowed ...string) func() []string {
	return func() []string { return nil }
}
