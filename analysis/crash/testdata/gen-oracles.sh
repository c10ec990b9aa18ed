#!/bin/sh
# Regenerates the demangler oracles from other tools' output:
#   msvc-names.tsv:    name <TAB> llvm-undname's spelling of ??_R0<name>@8, or "error"
#   itanium-names.tsv: name <TAB> c++filt's spelling of _ZTS<name>, or "error"
# Needs llvm-undname (package llvm) and c++filt (binutils).
set -eu
cd "$(dirname "$0")"
while IFS= read -r n; do
	out=$(printf '??_R0%s@8\n' "${n#.}" | llvm-undname 2>&1 | sed -n 2p)
	case "$out" in
	*"\`RTTI Type Descriptor'") out=${out%"\`RTTI Type Descriptor'"}; out=${out%" "} ;;
	*) out=error ;;
	esac
	printf '%s\t%s\n' "$n" "$out"
done < msvc-names.txt > msvc-names.tsv
while IFS= read -r n; do
	out=$(c++filt "_ZTS$n")
	case "$out" in
	"typeinfo name for "*) out=${out#"typeinfo name for "} ;;
	*) out=error ;;
	esac
	printf '%s\t%s\n' "$n" "$out"
done < itanium-names.txt > itanium-names.tsv
