#!/bin/sh
# Regenerates the llvm-pdbutil (LLVM 14, Debian package llvm) oracles the
# procedure, line and FPO tests compare with. The symbol dump keeps only the
# module headers and the procedure and thunk records (with their two detail
# lines) to stay small; lines and FPO dumps are kept whole. All gzipped.
set -e
cd "$(dirname "$0")"
repo=../../../..
shared=${SHARED:-$repo/../../shared/corpus/symbols}
dump() { # name pdb
	llvm-pdbutil dump -symbols "$2" |
		grep -E '^ *Mod [0-9]+ \||\| S_(G|L)PROC32(_ID)? |\| S_THUNK32 ' -A2 | grep -v '^--$' | gzip -9n > "$1.symbols.txt.gz"
	llvm-pdbutil dump -l "$2" | gzip -9n > "$1.lines.txt.gz"
	llvm-pdbutil dump -fpo "$2" | gzip -9n > "$1.fpo.txt.gz"
}
dump crash "$shared/store/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb"
dump CrashWithException "$shared/store/CrashWithException.pdb/F535C5FB2AE84BB8AA206C30BE566C5A1/CrashWithException.pdb"
dump crtheap "$repo/testdata/fixtures/dumps/crtheap.pdb"
dump fixture-x86 "$repo/analysis/testdata/lld/fixture-x86.pdb"
