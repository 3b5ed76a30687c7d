#!/usr/bin/env bash
# Puts lmz beside xz -9, zstd -19 --long and zstd -3 on the same files in
# one run: bits per byte, compress and decompress MB/s (wall clock) and
# peak memory (max RSS). Every output is checked to decompress to its input.
#
# Usage: bench/compare.sh [FILE...]
#   FILEs default to the held-out corpora (../shared/corpora/heldout/*.xz or
#   $LMZ_CORPORA_DIR/heldout), decompressed to a temporary directory; .xz
#   files given as arguments are decompressed too.
# Environment:
#   LMZ             the lmz binary (default: build it in build/)
#   LMZ_BENCH_ARGS  extra options for `lmz` when compressing
#                   (default: --device cpu; e.g. "--device cpu --model order2")
#   LMZ_BENCH_LABEL the label of the results file (default: cpu)
# Prints a Markdown report and writes it to bench/results/DATE-LABEL-compare.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$root/scripts/install-deps.sh" >&2
if [[ -z "${LMZ:-}" ]]; then
  "$root/scripts/build.sh" --target lmz >&2
  LMZ=${LMZ_BUILD_DIR:-$root/build}/cli/lmz
fi
read -r -a lmz_args <<< "${LMZ_BENCH_ARGS:---device cpu}"
label=${LMZ_BENCH_LABEL:-cpu}

work=$(mktemp -d "${TMPDIR:-/tmp}/lmz-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"

inputs=("$@")
if [[ ${#inputs[@]} -eq 0 ]]; then
  corpora=${LMZ_CORPORA_DIR:-$root/../shared/corpora}
  shopt -s nullglob
  inputs=("$corpora"/heldout/*.xz)
  shopt -u nullglob
  if [[ ${#inputs[@]} -eq 0 ]]; then
    echo "compare.sh: no files given and no corpora in $corpora/heldout" >&2
    exit 1
  fi
fi
files=()
for f in "${inputs[@]}"; do
  name=$(basename "$f")
  if [[ "$name" == *.xz ]]; then
    name=${name%.xz}
    xz -dc "$f" > "$work/in/$name"
  else
    cp -- "$f" "$work/in/$name"
  fi
  files+=("$name")
done

# Tools: label, compress command, decompress command (stdin -> stdout).
tools=("lmz" "xz -9" "zstd -19 --long" "zstd -3")
compress_cmd() {
  case "$1" in
    "lmz") echo "$LMZ -c -q -f ${lmz_args[*]}" ;;
    "xz -9") echo "xz -9 -T1 -c" ;;
    "zstd -19 --long") echo "zstd -19 --long -T1 -c -q" ;;
    "zstd -3") echo "zstd -3 -T1 -c -q" ;;
  esac
}
decompress_cmd() {
  case "$1" in
    "lmz") echo "$LMZ -dc -q" ;;
    "xz -9") echo "xz -dc" ;;
    "zstd -19 --long") echo "zstd -dc --long=31 -q" ;;
    "zstd -3") echo "zstd -dc -q" ;;
  esac
}

now_ns() { date +%s%N; }

# run CMD IN OUT: runs CMD <IN >OUT once under /usr/bin/time, then again
# until at least one second has passed in total (at most 20 runs), and
# prints "SECONDS_PER_RUN PEAK_KIB".
run() {
  local cmd=$1 in=$2 out=$3
  local -a argv
  read -r -a argv <<< "$cmd"
  local start end peak runs=1
  start=$(now_ns)
  /usr/bin/time -f '%M' -o "$work/time" "${argv[@]}" < "$in" > "$out"
  end=$(now_ns)
  peak=$(tail -n 1 "$work/time")
  while (( end - start < 1000000000 && runs < 20 )); do
    "${argv[@]}" < "$in" > "$out"
    runs=$((runs + 1))
    end=$(now_ns)
  done
  awk -v ns=$((end - start)) -v runs="$runs" -v peak="$peak" \
    'BEGIN { printf "%.6f %d\n", ns / 1e9 / runs, peak }'
}

results="$work/results.tsv"  # file tool size packed ctime dtime cpeak dpeak ok
: > "$results"
for name in "${files[@]}"; do
  in="$work/in/$name"
  size=$(stat -c %s "$in")
  for tool in "${tools[@]}"; do
    echo "compare.sh: $name: $tool" >&2
    measured=$(run "$(compress_cmd "$tool")" "$in" "$work/packed")
    read -r ctime cpeak <<< "$measured"
    packed=$(stat -c %s "$work/packed")
    measured=$(run "$(decompress_cmd "$tool")" "$work/packed" "$work/unpacked")
    read -r dtime dpeak <<< "$measured"
    ok=yes
    cmp -s "$in" "$work/unpacked" || ok=NO
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$tool" "$size" "$packed" "$ctime" \
      "$dtime" "$cpeak" "$dpeak" "$ok" >> "$results"
  done
done

model_line=$(printf 'x' | "$LMZ" -c -q -f "${lmz_args[@]}" > "$work/probe.lmz" &&
  "$LMZ" -l "$work/probe.lmz" | sed -n 's/.*model \([^,]*\),.*/\1/p' | head -n 1)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

report=$(
  echo "# lmz vs xz and zstd ($label)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: ${cpu:-unknown CPU}, $(nproc) cores; $("$LMZ" --version)"
  echo "- lmz options: \`${lmz_args[*]}\`; model: ${model_line:-unknown}"
  echo "- xz $(xz --version | head -n 1 | awk '{print $NF}') with -T1, zstd $(zstd --version | sed -n 's/.*v\([0-9.]*\).*/\1/p') with -T1"
  echo "- speeds are MB/s (10^6 bytes of input per second of wall-clock time, averaged"
  echo "  over repeated runs of at least 1 s in total); peak memory is the max RSS in MiB"
  echo "- every output was decompressed and compared with its input"
  echo
  echo "## Bits per byte (lower is better)"
  echo
  awk -F'\t' -v ntools="${#tools[@]}" '
    { key = $1 SUBSEP $2; bpb[key] = 8 * $4 / ($3 ? $3 : 1);
      if (!($1 in seen)) { seen[$1] = 1; order[++nf] = $1; size[$1] = $3 }
      if (!($2 in tseen)) { tseen[$2] = 1; tools[++nt] = $2 }
      raw[$2] += $3; packed[$2] += $4 }
    END {
      printf "| file | size |"; for (t = 1; t <= nt; t++) printf " %s |", tools[t]; printf "\n"
      printf "|---|---:|"; for (t = 1; t <= nt; t++) printf "---:|"; printf "\n"
      for (f = 1; f <= nf; f++) {
        printf "| %s | %d |", order[f], size[order[f]]
        for (t = 1; t <= nt; t++) printf " %.3f |", bpb[order[f] SUBSEP tools[t]]
        printf "\n"
      }
      printf "| **all** | %d |", raw[tools[1]]
      for (t = 1; t <= nt; t++) printf " **%.3f** |", 8 * packed[tools[t]] / raw[tools[t]]
      printf "\n"
    }' "$results"
  echo
  echo "## Details"
  echo
  echo "| file | tool | size | compressed | bits/byte | compress MB/s | decompress MB/s | peak MiB (c/d) | round trip |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' '
    { printf "| %s | %s | %d | %d | %.3f | %.2f | %.2f | %.1f / %.1f | %s |\n", $1, $2, $3, $4,
        8 * $4 / ($3 ? $3 : 1), $3 / 1e6 / $5, $3 / 1e6 / $6, $7 / 1024, $8 / 1024, $9
      if (!($2 in seen)) { seen[$2] = 1; tools[++nt] = $2 }
      raw[$2] += $3; packed[$2] += $4; ct[$2] += $5; dt[$2] += $6
      if ($7 > cp[$2]) cp[$2] = $7; if ($8 > dp[$2]) dp[$2] = $8
      if ($9 != "yes") bad[$2] = 1 }
    END {
      for (t = 1; t <= nt; t++) {
        k = tools[t]
        printf "| **all** | %s | %d | %d | %.3f | %.2f | %.2f | %.1f / %.1f | %s |\n", k, raw[k],
          packed[k], 8 * packed[k] / raw[k], raw[k] / 1e6 / ct[k], raw[k] / 1e6 / dt[k],
          cp[k] / 1024, dp[k] / 1024, (k in bad) ? "NO" : "yes"
      }
    }' "$results"
)

echo "$report"
out="$root/bench/results/$(date -u +%F)-$label-compare.md"
mkdir -p "$(dirname "$out")"
printf '%s\n' "$report" > "$out"
echo "compare.sh: wrote $out" >&2
if grep -q $'\tNO$' "$results"; then
  echo "compare.sh: a round trip FAILED (see the table)" >&2
  exit 1
fi
