#!/bin/sh
# Regenerates the lld fixtures: go test reads the committed outputs, so this
# runs only by hand (needs clang and lld-link from Debian's clang/lld/llvm).
# /Brepro makes timestamps and the PDB GUID content hashes, so a rerun with
# the same LLVM in the same folder gives the same bytes. The PDBs record the
# build folder, so a rerun elsewhere changes their GUIDs: the tests and
# examples name the GUIDs and must then be updated with them.
set -eu
cd "$(dirname "$0")"
for arch in x86 x64; do
	case $arch in
	x86) target=i686-pc-windows-msvc machine=x86 ;;
	x64) target=x86_64-pc-windows-msvc machine=x64 ;;
	esac
	clang --target=$target -c -g -gcodeview -O1 -fno-stack-protector fixture.c -o fixture-$arch.obj
	lld-link /dll /noentry /nodefaultlib /debug /Brepro /machine:$machine /largeaddressaware \
		/pdbaltpath:fixture-$arch.pdb /pdb:fixture-$arch.pdb /out:fixture-$arch.dll /def:fixture.def fixture-$arch.obj
	rm -f fixture-$arch.obj fixture-$arch.lib fixture-$arch.exp
	llvm-readobj --file-headers --sections --coff-exports --coff-debug-directory fixture-$arch.dll >fixture-$arch.dll.llvm-readobj.txt
	llvm-objdump -p fixture-$arch.dll | sed 1,2d >fixture-$arch.dll.llvm-objdump.txt
	llvm-pdbutil dump -summary -publics -globals -section-headers fixture-$arch.pdb >fixture-$arch.pdb.llvm-pdbutil.txt
	# crt-$arch.dll: an old CRT's _get_heap_handle returning _crtheap.
	clang --target=$target -c -g -gcodeview -O1 -fno-stack-protector crt.c -o crt-$arch.obj
	lld-link /dll /noentry /nodefaultlib /debug /Brepro /machine:$machine /largeaddressaware \
		/pdbaltpath:crt-$arch.pdb /pdb:crt-$arch.pdb /out:crt-$arch.dll crt-$arch.obj
	rm -f crt-$arch.obj crt-$arch.lib crt-$arch.exp
	llvm-objdump -p -d crt-$arch.dll | sed 1,2d >crt-$arch.dll.llvm-objdump.txt
	llvm-pdbutil dump -summary -publics -globals -section-headers crt-$arch.pdb >crt-$arch.pdb.llvm-pdbutil.txt
done
# Main programs for the CRT heap tests: app-msvcr-* imports malloc from
# msvcr90.dll (whose stand-in is crt-*.dll), app-ucrt-x64 from the UCRT's API
# set, app-static-x64 links its "CRT" in (the global _crtheap, no malloc
# import). Import libraries come from .def files; only app-static keeps its PDB.
printf 'LIBRARY msvcr90.dll\nEXPORTS\n  malloc\n  _get_heap_handle\n' >msvcr90.def
printf 'LIBRARY api-ms-win-crt-heap-l1-1-0.dll\nEXPORTS\n  malloc\n' >ucrt.def
link() { # link OUT ARCH OBJ [LIB]
	lld-link /nodefaultlib /debug /Brepro /machine:$2 /subsystem:console /entry:mainCRTStartup \
		/pdbaltpath:$1.pdb /pdb:$1.pdb /out:$1.exe $3 ${4:-}
}
for arch in x86 x64; do
	case $arch in
	x86) target=i686-pc-windows-msvc machine=x86 m=i386 ;;
	x64) target=x86_64-pc-windows-msvc machine=x64 m=i386:x86-64 ;;
	esac
	llvm-dlltool -m $m -d msvcr90.def -l msvcr90-$arch.lib
	llvm-dlltool -m $m -d ucrt.def -l ucrt-$arch.lib
	# -fno-builtin: clang would drop a malloc whose result is only compared.
	clang --target=$target -c -g -gcodeview -O1 -fno-builtin -fno-stack-protector app.c -o app-$arch.obj
	clang --target=$target -c -g -gcodeview -O1 -fno-builtin -fno-stack-protector app_static.c -o app_static-$arch.obj
	link app-msvcr-$arch $machine app-$arch.obj msvcr90-$arch.lib
	if [ $arch = x64 ]; then
		link app-ucrt-$arch $machine app-$arch.obj ucrt-$arch.lib
		link app-static-$arch $machine app_static-$arch.obj
		llvm-pdbutil dump -summary -publics -globals -section-headers app-static-$arch.pdb >app-static-$arch.pdb.llvm-pdbutil.txt
	fi
	rm -f app-$arch.obj app_static-$arch.obj msvcr90-$arch.lib ucrt-$arch.lib
done
rm -f msvcr90.def ucrt.def app-msvcr-*.pdb app-ucrt-*.pdb app-*.lib app-*.exp
for f in app-*.exe; do llvm-objdump -p "$f" | sed 1,2d >"$f.llvm-objdump.txt"; done
