// Package codeview decodes the CodeView debug-information record that ties a
// Windows module to its PDB: the RSDS (PDB 7.0) and NB10 (PDB 2.0) records
// found in a PE debug directory and in a minidump module's CvRecord.
//
// The record is the module's identity for symbol lookup: a symbol store keys
// a PDB by its file name, GUID (or NB10 timestamp) and age, so every package
// that finds or checks a PDB shares the GUID type defined here.
package codeview
