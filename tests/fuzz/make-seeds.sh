#!/usr/bin/env bash
# Regenerates the committed seed corpus tests/fuzz/seeds/ (small real archives,
# coded windows, model files and protocol frames; see make_seeds.cc). Builds
# fuzz_make_seeds in $LMZ_BUILD_DIR (default build/) first.
# Usage: tests/fuzz/make-seeds.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LMZ_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" --target fuzz_make_seeds
rm -rf "$root/tests/fuzz/seeds"
"$build/tests/fuzz/fuzz_make_seeds" "$root" "$root/tests/fuzz/seeds"
du -sh "$root/tests/fuzz/seeds"
