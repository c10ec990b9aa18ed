#!/bin/sh
# Regenerates the fixture: builds prog.c, runs it (its output is the truth
# recorded inside the process), writes Breakpad symbols with dump_syms and
# source positions of each return address with addr2line (binutils).
# Needs gcc, binutils and Breakpad's dump_syms (the peers install builds it:
# DUMP_SYMS=~/.cache/minidump-peers/node/node_modules/minidump/bin/linux-x64/dump_syms).
set -e
cd "$(dirname "$0")"
: "${DUMP_SYMS:=$HOME/.cache/minidump-peers/node/node_modules/minidump/bin/linux-x64/dump_syms}"
gcc -g -O2 -fomit-frame-pointer -fasynchronous-unwind-tables -o /tmp/cfi-x64-prog prog.c
/tmp/cfi-x64-prog > run.txt
"$DUMP_SYMS" /tmp/cfi-x64-prog > prog.sym
# addr2line truth: for every level's return address - 1 (the call), the
# function and file:line, relative to the load base.
base=$(awk '/^base/{print $2}' run.txt)
: > addr2line.txt
awk '/^level/{print $3}' run.txt | while read ra; do
	rva=$(printf '%x' $((0x$ra - 0x$base - 1)))
	printf '%s ' "$rva" >> addr2line.txt
	addr2line -f -e /tmp/cfi-x64-prog "0x$rva" | tr '\n' ' ' >> addr2line.txt
	echo >> addr2line.txt
done
nm /tmp/cfi-x64-prog | awk '$2 ~ /[Tt]/ {print $1, $3}' | sort > nm.txt
