#!/usr/bin/env bash
# bench/levels.sh: ratio against compress and decompress speed for every lmz
# level (-1 .. -19) beside zstd, xz, bzip3, brotli and zpaq at several of
# their levels, on the held-out split, drawn as PNG charts with gnuplot.
#
#   bench/levels.sh [LABEL]          LABEL: cpu (default) or gpu
#
# Environment:
#   LMZ               the lmz binary (default build/cli/lmz)
#   LMZ_BENCH_ARGS    extra lmz options (default: --local --device cpu; for a
#                     GPU run: --local --device cuda)
#   LMZ_LEVELS        which lmz levels (default: 1 .. 19; empty: none)
#   LMZ_APPEND=1      add to the existing TSV instead of starting it anew
#                     (e.g. levels measured in several runs)
#   LMZ_OTHERS=0      measure only lmz (default 1: the other tools too)
#   LMZ_SAMPLE_BYTES  take only the first N bytes of each held-out file
#                     (default: the whole files); the chart says so
#   LMZ_CORPORA_DIR   corpora (default ../shared/corpora), heldout/*.xz
#
# Writes bench/results/levels-LABEL.tsv (tool, setting, input bytes, output
# bytes, compress seconds, decompress seconds, round trip) and
# bench/results/levels-LABEL-compress.png / -decompress.png. Every output is
# decompressed and compared with its input. Sizes are exact; speeds are
# wall-clock on whatever else the machine runs (say so when it was loaded).
# Needs gnuplot (gnuplot-nox), zstd, xz-utils, bzip3, brotli, zpaq.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
label=${1:-cpu}
lmz=${LMZ:-$root/build/cli/lmz}
if [[ $label == gpu ]]; then default_args="--local --device cuda"; else default_args="--local --device cpu"; fi
read -r -a lmz_args <<<"${LMZ_BENCH_ARGS:-$default_args}"
levels=${LMZ_LEVELS-$(seq 1 19)}
corpora=${LMZ_CORPORA_DIR:-$root/../shared/corpora}
sample=${LMZ_SAMPLE_BYTES:-0}
results=$root/bench/results
work=$(mktemp -d "${TMPDIR:-/tmp}/lmz-levels.XXXXXX")
trap 'rm -rf "$work"' EXIT

for tool in gnuplot zstd xz bzip3 brotli zpaq; do
  command -v $tool >/dev/null || { echo "levels.sh: $tool is missing (apt-get install gnuplot-nox zstd xz-utils bzip3 brotli zpaq)" >&2; exit 1; }
done
# The inputs: the held-out files, each compressed on its own (as a user
# compresses files); sizes and times are summed over them.
mkdir "$work/in"
for f in "$corpora"/heldout/*.xz; do
  name=$(basename "$f" .xz)
  if ((sample > 0)); then (xz -dc "$f" || true) | head -c "$sample" > "$work/in/$name"; else xz -dc "$f" > "$work/in/$name"; fi
done
files=("$work"/in/*)
size=$(cat "${files[@]}" | wc -c)
echo "levels.sh: ${#files[@]} held-out files, $size bytes"

now() { date +%s.%N; }
tsv=$results/levels-$label.tsv
if [[ ${LMZ_APPEND:-0} != 1 ]]; then
  printf 'tool\tsetting\tinput\toutput\tcompress_s\tdecompress_s\tround_trip\n' > "$tsv"
fi
# run TOOL SETTING COMPRESS-COMMAND DECOMPRESS-COMMAND (commands read stdin,
# write stdout), once per file.
run() {
  local tool=$1 setting=$2 c=$3 d=$4
  local out=0 ct=0 dt=0 ok=yes t0 t1 t2 f
  for f in "${files[@]}"; do
    t0=$(now)
    bash -c "$c" < "$f" > "$work/out" || { echo "levels.sh: $tool $setting failed on $f" >&2; return; }
    t1=$(now)
    bash -c "$d" < "$work/out" > "$work/back"
    t2=$(now)
    cmp -s "$f" "$work/back" || ok=NO
    out=$((out + $(stat -c %s "$work/out")))
    ct=$(echo "$ct + $t1 - $t0" | bc)
    dt=$(echo "$dt + $t2 - $t1" | bc)
  done
  printf '%s\t%s\t%s\t%s\t%.3f\t%.3f\t%s\n' "$tool" "$setting" "$size" "$out" "$ct" "$dt" "$ok" |
    tee -a "$tsv"
}

for l in $levels; do
  run lmz "-$l" "'$lmz' ${lmz_args[*]} -$l -c" "'$lmz' ${lmz_args[*]} -dc"
done
if [[ ${LMZ_OTHERS:-1} == 1 ]]; then
for l in 1 3 9 19; do run zstd "-$l" "zstd -q -T1 -$l -c" "zstd -q -dc"; done
run zstd "-19 --long" "zstd -q -T1 -19 --long=27 -c" "zstd -q -d --long=27 -c"
for l in 0 3 6 9 9e; do run xz "-$l" "xz -T1 -${l/e/ -e} -c" "xz -dc"; done
run bzip3 "default" "bzip3 -c" "bzip3 -dc"
for q in 1 5 9 11; do run brotli "-q $q" "brotli -c -q $q" "brotli -dc"; done
for m in 1 2 3 4 5; do
  run zpaq "-m$m" "cd '$work' && cat > zin && rm -f z.zpaq && zpaq a z.zpaq zin -m$m -t1 >/dev/null && cat z.zpaq" \
    "cd '$work' && cat > z2.zpaq && rm -rf zx && mkdir zx && cd zx && zpaq x ../z2.zpaq -t1 >/dev/null && cat zin"
done
fi

# Charts: bits per byte against MB/s (log scale), one series per tool.
what="held-out split, ${#files[@]} files, $size bytes"
((sample > 0)) && what="held-out split, first $sample bytes of each of ${#files[@]} files ($size bytes)"
for phase in compress decompress; do
  col=5; [[ $phase == decompress ]] && col=6
  gnuplot <<GNUPLOT
set terminal pngcairo size 1100,700 noenhanced font ",10"
set output "$results/levels-$label-$phase.png"
set title "Ratio against $phase speed ($label; $what)"
set xlabel "$phase speed, MB/s (10^6 input bytes per second, log scale)"
set ylabel "bits per byte (lower is better)"
set logscale x
set grid
set key outside right
set datafile separator "\t"
plot for [t in "lmz zstd xz bzip3 brotli zpaq"] "$tsv" skip 1 \
       using (strcol(1) eq t ? \$3 / \$$col / 1e6 : 1/0):(strcol(1) eq t ? 8 * \$4 / \$3 : 1/0) \
       with linespoints pt 7 title t, \
     "$tsv" skip 1 using (strcol(1) eq "lmz" ? \$3 / \$$col / 1e6 : 1/0):(8 * \$4 / \$3):2 \
       with labels offset 1.2,0.6 font ",8" notitle
GNUPLOT
done
echo "levels.sh: wrote $tsv and $results/levels-$label-{compress,decompress}.png"
