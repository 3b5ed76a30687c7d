#!/usr/bin/env bash
# The sanitizer pass (issue 7), run by scripts/test.sh after the normal suite.
# One clang-14 build without libtorch (-DLMZ_WITH_TORCH=OFF -DLMZ_FUZZ=ON:
# ASan, UBSan and libFuzzer's coverage on the project's own code) in
# build-fuzz/ (or $LMZ_FUZZ_BUILD_DIR) serves both halves, so CI pays for one
# extra build, not two:
#  1. every test that needs no libtorch runs under ASan+UBSan: container
#     format, range coder and window codec, context mixing, the CLI with the
#     stand-in predictor, the daemon and its protocol, the fuzz regressions;
#  2. each libFuzzer target runs for $LMZ_FUZZ_SECONDS seconds (default 20)
#     from the committed seeds.
# Fails on any test failure, sanitizer report or fuzzer finding; a finding
# is left in the work directory it prints (copy it to
# tests/fuzz/regressions/TARGET/ with the fix).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${LMZ_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${LMZ_FUZZ_SECONDS:-20}
jobs=${LMZ_JOBS:-2}
targets=(stream_reader random_access range_decoder model_file protocol request roundtrip)
start=$(date +%s)

echo "== sanitize: clang ASan+UBSan build (no libtorch) in $build"
LMZ_FUZZ_BUILD_DIR=$build LMZ_JOBS=$jobs "$root/tests/fuzz/build-fuzzers.sh" >/dev/null
cmake --build "$build" -- -j"$jobs"

# Any report fails the test that produced it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Left to the normal suite: memory_bounds_test checks peak RSS against tight
# bounds, which ASan's redzones and quarantine inflate; crash_safety_test
# counts how many runs it kills within a time budget, which ASan's slower
# start-up makes too few; cli_roundtrip_test takes ten minutes under ASan on
# two cores (the other CLI tests cover the same code paths under it).
exclude=${LMZ_SANITIZE_EXCLUDE:-^(memory_bounds_test|crash_safety_test|cli_roundtrip_test)\$}
echo "== sanitize: tests under ASan+UBSan (all but: $exclude)"
(cd "$build" && ctest --output-on-failure -j"$jobs" -E "$exclude")
tests_done=$(date +%s)

echo "== sanitize: fuzz targets, ${seconds}s each"
work=$(mktemp -d "${TMPDIR:-/tmp}/lmz-sanitize.XXXXXX")
failed=()
for t in "${targets[@]}"; do
  if ! LMZ_FUZZ_WORK=$work LMZ_FUZZ_BUILD_DIR=$build \
    "$root/tests/fuzz/run-long.sh" "$t" "$seconds"; then
    failed+=("$t")
  fi
done
end=$(date +%s)
echo "== sanitize: build and tests $((tests_done - start))s, fuzzing $((end - tests_done))s"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "sanitize: findings in ${failed[*]} (inputs under $work)" >&2
  exit 1
fi
rm -rf "$work"
echo "sanitize: OK"
