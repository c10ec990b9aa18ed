#!/bin/sh
# Regenerates the CAB fixtures from the lld fixture PDB with gcab (Debian
# package gcab), an implementation independent of ours: MSZIP (several
# 32 KB blocks, so the previous-block dictionary matters) and uncompressed.
# cabextract (Debian package cabextract) checks each one.
set -eu
cd "$(dirname "$0")"
pdb=../lld/fixture-x64.pdb
gcab -c -z -n fixture-x64.pd_ "$pdb"
gcab -c -n fixture-x64-stored.pd_ "$pdb"
for f in fixture-x64.pd_ fixture-x64-stored.pd_; do
	cabextract -t "$f"
done
