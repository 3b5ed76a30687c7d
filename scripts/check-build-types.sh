#!/usr/bin/env bash
# Builds lmz with every standard CMake build type (Release, Debug,
# RelWithDebInfo, MinSizeRel and none) with Debian's GCC and Clang, warnings
# as errors, in build-types/COMPILER-TYPE/. Slow (ten builds): run it before
# a release or after touching compiler flags, not in every CI run.
#   scripts/check-build-types.sh [TARGET...]   (default: all)
# $LMZ_WITH_TORCH=OFF skips the neural engine (much faster).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
targets=("$@")
failed=()
for cxx in g++ clang++; do
  for type in Release Debug RelWithDebInfo MinSizeRel None; do
    dir=$root/build-types/$cxx-$type
    echo "== $cxx $type"
    if ! { cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=$cxx -DCMAKE_C_COMPILER=${cxx/++/} \
             -DCMAKE_BUILD_TYPE=$type -DLMZ_WERROR=ON -DLMZ_WITH_TORCH=${LMZ_WITH_TORCH:-ON} >/dev/null &&
           cmake --build "$dir" -j"${LMZ_JOBS:-2}" ${targets[@]+--target "${targets[@]}"}; }; then
      failed+=("$cxx $type")
    fi
  done
done
if ((${#failed[@]})); then
  echo "check-build-types: failed: ${failed[*]}" >&2
  exit 1
fi
echo "check-build-types: 10 passed, 0 failed"
