// Package dumpmap is the root of the dumpmap module: see packages minidump and analysis.
package dumpmap
