#!/usr/bin/env bash
# README command two (and .ci/run): installs the packages (if missing),
# configures build/ (or $LMZ_BUILD_DIR), builds everything and runs the
# whole test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LMZ_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j2
# The engine's CUDA-only host code, compiled against stub CUDA headers.
"$root/scripts/check-cuda-host-code.sh"
# ASan/UBSan build of the tests that need no libtorch, and a short run of
# every fuzz target (scripts/sanitize.sh).
"$root/scripts/sanitize.sh"
