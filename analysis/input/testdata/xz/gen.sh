#!/bin/sh
# Regenerates the xz seeds with the xz command (Debian package xz-utils), an
# encoder independent of this project: a small synthetic minidump
# (tinydump.go) packed the ways xz packs files, and two ways this package
# refuses. SHA256SUMS records "sha256 size name" of the bytes given to xz, the
# truth the tests compare what Open unpacks with; xz -t checks every file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$here"
go run tinydump.go > "$tmp/tiny.dmp"
xz -9 -c < "$tmp/tiny.dmp" > tiny-9.dmp.xz
xz -1 --check=crc32 -c < "$tmp/tiny.dmp" > tiny-1.dmp.xz
# Two streams, each followed by stream padding (xz-file-format 2.2).
head -c 300 "$tmp/tiny.dmp" | xz -9 -c > tiny-multi.dmp.xz
printf '\0\0\0\0' >> tiny-multi.dmp.xz
tail -c +301 "$tmp/tiny.dmp" | xz -0 --check=sha256 -c >> tiny-multi.dmp.xz
printf '\0\0\0\0\0\0\0\0' >> tiny-multi.dmp.xz
# Blocks with their sizes in the headers, no check.
xz -T2 --block-size=256 --check=none -c < "$tmp/tiny.dmp" > tiny-blocks.dmp.xz
# Refused: a dictionary over 64 MiB; a filter other than LZMA2.
xz --lzma2=dict=128MiB -c < "$tmp/tiny.dmp" > tiny-dict128.dmp.xz
xz --x86 --lzma2=preset=6 -c < "$tmp/tiny.dmp" > tiny-x86.dmp.xz
xz -t ./*.xz
sum=$(sha256sum < "$tmp/tiny.dmp" | cut -d' ' -f1)
size=$(wc -c < "$tmp/tiny.dmp" | tr -d ' ')
: > SHA256SUMS
for f in tiny-9.dmp.xz tiny-1.dmp.xz tiny-multi.dmp.xz tiny-blocks.dmp.xz; do
	echo "$sum  $size  $f" >> SHA256SUMS
done
