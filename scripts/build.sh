#!/usr/bin/env bash
# Configures (once) and builds lmz in $LMZ_BUILD_DIR (default: build/ in
# the repository). Arguments are passed to `cmake --build`, e.g.
# `scripts/build.sh --target lmz`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LMZ_BUILD_DIR:-$root/build}
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" "$@"
