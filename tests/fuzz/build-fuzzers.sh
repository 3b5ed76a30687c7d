#!/usr/bin/env bash
# Configures (once) and builds the libFuzzer targets of tests/fuzz with
# clang-14 (-DLMZ_FUZZ=ON: ASan, UBSan and coverage on the project's code,
# no libtorch) in $LMZ_FUZZ_BUILD_DIR (default build-fuzz/ in the repository).
# Prints the build directory on the last line. Used by run-long.sh and
# scripts/sanitize.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LMZ_FUZZ_BUILD_DIR:-$root/build-fuzz}
cxx=${LMZ_FUZZ_CXX:-clang++-14}
# One build at a time in $build: two fuzz runs started together would
# otherwise run two ninjas in one tree (and break each other's archives).
mkdir -p "$build"
exec 9>"$build/.build-fuzzers.lock"
flock 9
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLMZ_WERROR=ON \
    -DCMAKE_CXX_COMPILER="$cxx" -DLMZ_WITH_TORCH=OFF -DLMZ_FUZZ=ON >&2
fi
cmake --build "$build" --target fuzz_targets -- -j"${LMZ_JOBS:-2}" >&2
echo "$build"
