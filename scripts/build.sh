#!/usr/bin/env bash
# Configures (once) and builds lmz in $LMZ_BUILD_DIR (default: build/ in
# the repository) the way developers and CI do: warnings are errors
# (-DLMZ_WERROR=ON; plain `cmake` builds leave them warnings). Arguments are
# passed to `cmake --build`, e.g. `scripts/build.sh --target lmz`.
# $LMZ_BUILD_TYPE picks the build type (default RelWithDebInfo).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LMZ_BUILD_DIR:-$root/build}
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${LMZ_BUILD_TYPE:-RelWithDebInfo}" \
    -DLMZ_WERROR=ON
fi
cmake --build "$build" "$@"
