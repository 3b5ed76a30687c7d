#!/usr/bin/env bash
# Runs one fuzz target for as long as asked, starting from the committed
# seeds and from what earlier runs found (the work corpus), and prints the
# executions, the final coverage (libFuzzer's cov/ft) and the findings.
# Exits 1 when there is a finding (a crash, leak, timeout or OOM input,
# saved in the work directory; copy it to tests/fuzz/regressions/TARGET/
# once fixed).
#
# Usage: tests/fuzz/run-long.sh TARGET SECONDS
#   TARGET: stream_reader random_access range_decoder model_file protocol
#           request roundtrip
# Environment: LMZ_FUZZ_WORK (default /tmp/lmz-fuzz): work corpus, logs and
# findings go to $LMZ_FUZZ_WORK/TARGET/; LMZ_FUZZ_BUILD_DIR (build-fuzz/).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $# -ne 2 ]]; then
  echo "usage: $0 TARGET SECONDS" >&2
  exit 2
fi
target=$1
seconds=$2
case $target in
  stream_reader | random_access | range_decoder | protocol) max_len=4096 ;;
  request) max_len=512 ;;  # 256 operations are plenty; longer inputs only slow it
  roundtrip) max_len=1024 ;;
  model_file) max_len=131072 ;;  # a model file is at least 49 KiB of tables
  *)
    echo "run-long.sh: unknown target '$target'" >&2
    exit 2
    ;;
esac

build=$("$here/build-fuzzers.sh" | tail -n 1)
work=${LMZ_FUZZ_WORK:-/tmp/lmz-fuzz}/$target
mkdir -p "$work/corpus" "$work/findings"
log="$work/run-$(date +%Y%m%d-%H%M%S)-$$.log"

start=$(date +%s)
# Per run, so that runs of one target side by side (sharing the work
# corpus) each report only their own findings.
marker=$(mktemp "$work/.start.XXXXXX")
set +e
# The work corpus comes first: libFuzzer adds new inputs to the first
# directory only, so the committed seeds stay as they are.
"$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" \
  -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/findings/" "$work/corpus" "$here/seeds/$target" >"$log" 2>&1
status=$?
set -e
elapsed=$(($(date +%s) - start))

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
mapfile -t findings < <(find "$work/findings" -type f -newer "$marker" | sort)
rm -f "$marker"

echo "target:     $target"
echo "seconds:    $elapsed"
echo "executions: ${execs:-unknown}"
echo "coverage:   cov ${cov:-?} ft ${ft:-?}"
echo "log:        $log"
if [[ ${#findings[@]} -gt 0 || $status -ne 0 ]]; then
  echo "findings:   ${#findings[@]} (libFuzzer exit status $status)"
  for f in "${findings[@]}"; do echo "  $f"; done
  grep -E 'ERROR|what\(\)|SUMMARY' "$log" | head -n 5 || true
  exit 1
fi
echo "findings:   none"
