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
