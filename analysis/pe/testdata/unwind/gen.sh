#!/bin/sh
# Regenerates the unwind test images; go test reads the committed outputs, so
# this runs only by hand (clang, lld-link and llvm-readobj from Debian's LLVM 14).
# The .llvm-readobj.txt files are LLVM's decoding of the same unwind data: the
# independent truth the decoders are tested against.
set -eu
cd "$(dirname "$0")"
clang --target=x86_64-pc-windows-msvc -c unwind-x64.s -o unwind-x64.obj
lld-link /dll /nodefaultlib /Brepro /machine:x64 /entry:_DllMainCRTStartup \
	/export:f_push /out:unwind-x64.dll unwind-x64.obj
llvm-readobj --unwind unwind-x64.dll >unwind-x64.dll.llvm-readobj.txt
llvm-objdump -d unwind-x64.dll >unwind-x64.dll.llvm-objdump.txt
clang --target=aarch64-pc-windows-msvc -c unwind-arm64.s -o unwind-arm64.obj
lld-link /dll /nodefaultlib /Brepro /machine:arm64 /entry:_DllMainCRTStartup \
	/export:a_fplr /out:unwind-arm64.dll unwind-arm64.obj
llvm-readobj --unwind unwind-arm64.dll >unwind-arm64.dll.llvm-readobj.txt
llvm-objdump -d unwind-arm64.dll >unwind-arm64.dll.llvm-objdump.txt
rm -f ./*.obj ./*.lib ./*.exp
# MSVC's unwind data, in the corpus image the tests read in place (SHARED is the
# shared folder beside the checkout).
if [ -z "${SHARED:-}" ]; then
	d=$(pwd)
	while [ "$d" != / ] && [ ! -d "$d/shared/corpus" ]; do d=$(dirname "$d"); done
	SHARED=$d/shared
fi
llvm-readobj --unwind "$SHARED/corpus/symbols/images/CrashWithException.exe" |
	sed 's#^File: .*#File: CrashWithException.exe#' >CrashWithException.exe.llvm-readobj.txt
