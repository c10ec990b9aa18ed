//go:build !unix

package triage

import "io/fs"

// idOf has no device and inode to give off Unix; the walk is then bounded by
// maxDepth alone.
func idOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }
