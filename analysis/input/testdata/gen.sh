#!/bin/sh
# Regenerates wer.cab with gcab (Debian package gcab), a cabinet writer
# independent of this project: the fixture dump pristine.dmp packed the way
# Windows Error Reporting packs a report (the minidump beside a Report.wer and
# its metadata XML), in one MSZIP folder. cabextract (Debian package
# cabextract) checks it. The tests compare what Open unpacks with
# testdata/fixtures/dumps/pristine.dmp itself.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/../../../testdata/fixtures/dumps/pristine.dmp" "$tmp/WER4A1B.tmp.mdmp"
printf 'Version=1\r\nEventType=APPCRASH\r\nSig[0].Name=Application Name\r\nSig[0].Value=pristine.exe\r\n' > "$tmp/Report.wer"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<WERReportMetadata><ProblemSignatures><EventType>APPCRASH</EventType></ProblemSignatures></WERReportMetadata>\n' > "$tmp/WER4A1B.tmp.WERInternalMetadata.xml"
cd "$tmp"
gcab -c -z "$here/wer.cab" Report.wer WER4A1B.tmp.WERInternalMetadata.xml WER4A1B.tmp.mdmp
cabextract -t "$here/wer.cab"
