#!/bin/bash
# bench.sh -- times Breakpad's minidump_stackwalk against package stack's
# stackwalk over every corpus dump Breakpad can read, all threads, output to
# /dev/null, with hyperfine: one process per dump for both (as a crash server
# runs them), and stackwalk once over all dumps (batch triage).
# Usage: bench.sh [SHARED_DIR] (default: the shared folder above this checkout).
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
SHARED=${1:-}
if [ -z "$SHARED" ]; then
	d=$HERE
	while [ "$d" != / ] && [ ! -d "$d/shared/corpus" ]; do d=$(dirname "$d"); done
	SHARED=$d/shared
fi
PEERS_HOME="${PEERS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/minidump-peers}"
BP="$PEERS_HOME/node/node_modules/minidump/bin/linux-x64/minidump_stackwalk"
OUT=${TMPDIR:-/tmp}/stackwalk-bench
mkdir -p "$OUT"
(cd "$HERE/../../../.." && go build -o "$OUT/stackwalk" ./analysis/stack/internal/stackwalk)
# The dumps: every .dmp Breakpad walks without error.
: >"$OUT/list"
find "$SHARED/corpus" -name '*.dmp' | sort | while read -r f; do
	if "$BP" "$f" >/dev/null 2>&1; then echo "$f" >>"$OUT/list"; fi
done
echo "$(wc -l <"$OUT/list") dumps"
for f in $(cat "$OUT/list"); do cat "$f" >/dev/null; done
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-markdown "$OUT/bench.md" \
	-n "breakpad minidump_stackwalk, a process per dump" "while read -r f; do $BP \"\$f\" >/dev/null 2>&1; done <$OUT/list" \
	-n "stackwalk, a process per dump" "while read -r f; do $OUT/stackwalk \"\$f\" >/dev/null; done <$OUT/list" \
	-n "stackwalk, one process" "xargs $OUT/stackwalk <$OUT/list >/dev/null" \
	-n "stackwalk -crashed, one process" "xargs $OUT/stackwalk -crashed <$OUT/list >/dev/null 2>&1 || true"
cat "$OUT/bench.md"
