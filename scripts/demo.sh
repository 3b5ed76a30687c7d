#!/usr/bin/env bash
# README command one: installs the packages (if missing), builds lmz, and
# compresses and decompresses a sample text through `lmz` (in-process),
# printing the sizes and the round-trip check.
#
# The sample is a held-out corpus file (../shared/corpora/heldout, or
# $LMZ_CORPORA_DIR/heldout) when present, else the project's own documents.
# Usage: scripts/demo.sh [FILE]   (FILE: any file to use as the sample)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LMZ_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" --target lmz
lmz="$build/cli/lmz"

work=$(mktemp -d "${TMPDIR:-/tmp}/lmz-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

corpora=${LMZ_CORPORA_DIR:-$root/../shared/corpora}
if [[ $# -ge 1 ]]; then
  cp -- "$1" "$work/sample"
  origin=$1
elif [[ -f "$corpora/heldout/gnu-standards.txt.xz" ]]; then
  xz -dc "$corpora/heldout/gnu-standards.txt.xz" > "$work/sample"
  origin="$corpora/heldout/gnu-standards.txt.xz (decompressed)"
else
  cat "$root/README.md" "$root"/spec/*.md "$root"/cli/*.cc > "$work/sample"
  origin="the project's README, specs and CLI sources"
fi

cd "$work"
echo "== lmz demo: $("$lmz" --version)"
echo "sample: $origin"
"$lmz" -v sample
mv sample sample.orig
"$lmz" -d -v sample.lmz
"$lmz" -l sample.lmz

raw=$(stat -c %s sample.orig)
packed=$(stat -c %s sample.lmz)
xz_size=$(xz -9 -c sample.orig | wc -c)
awk -v raw="$raw" -v packed="$packed" -v xz="$xz_size" '
  BEGIN {
    printf "original:   %d bytes\n", raw
    printf "lmz:        %d bytes (%.3f bits per byte, %.2f%% of the original)\n", packed,
           raw ? 8 * packed / raw : 0, raw ? 100 * packed / raw : 0
    printf "xz -9:      %d bytes (%.3f bits per byte), for comparison\n", xz, raw ? 8 * xz / raw : 0
  }'
if cmp -s sample.orig sample; then
  echo "round trip: OK (decompressed output is identical to the original)"
else
  echo "round trip: FAILED (decompressed output differs)" >&2
  exit 1
fi
