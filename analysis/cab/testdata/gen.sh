#!/bin/sh
# Regenerates multi.cab from the files under multi/ with gcab (Debian package
# gcab), a writer independent of this package: one MSZIP folder holding four
# files (one in a subfolder, one empty), laid out like a Windows Error Reporting
# cabinet. cabextract (Debian package cabextract) checks it. The files under
# multi/ are the truth the tests compare against.
set -eu
cd "$(dirname "$0")/multi"
gcab -c -z ../multi.cab Report.wer sub/WERInternalMetadata.xml memory.bin empty.txt
cabextract -t ../multi.cab
