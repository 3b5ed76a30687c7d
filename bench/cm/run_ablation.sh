#!/bin/bash
# Runs the context-mixing ablation over the held-out corpora and writes the
# raw results (one TSV per configuration and window size) plus xz -9e and
# zstd -19 --long sizes of the whole files, then prints the markdown table.
#
#   bench/cm/run_ablation.sh BUILD_DIR OUT_DIR [MODEL] [WINDOWS] [CONFIGS]
#
# MODEL defaults to order2 (the stand-in); pass a model name or path to run
# with the neural model. WINDOWS and CONFIGS are space-separated lists.
set -euo pipefail
build=${1:?build dir}
out=${2:?output dir}
model=${3:-order2}
windows=${4:-"16384 65536 262144 1048576"}
configs=${5:-"prior cm match full"}
here=$(cd "$(dirname "$0")" && pwd)
corpora=${LMZ_CORPORA_DIR:-$here/../../../shared/corpora}
tool=$build/tests/cm/lmz_cm_ablation

mkdir -p "$out/data"
files=()
for f in "$corpora"/heldout/*.xz; do
  raw=$out/data/$(basename "$f" .xz)
  [ -s "$raw" ] || xz -dc "$f" > "$raw"
  files+=("$raw")
done

if [ ! -s "$out/baselines.tsv" ]; then
  for raw in "${files[@]}"; do
    printf '%s\t%s\t%s\t%s\n' "$(basename "$raw")" "$(stat -c %s "$raw")" \
      "$(xz -9e -c "$raw" | wc -c)" "$(zstd -19 --long=27 -c -q "$raw" | wc -c)"
  done > "$out/baselines.tsv"
fi

for w in $windows; do
  for c in $configs; do
    res=$out/$c-$w.tsv
    if [ ! -s "$res" ]; then
      "$tool" --model "$model" --window "$w" --config "$c" "${files[@]}" > "$res.tmp"
      mv "$res.tmp" "$res"
    fi
  done
done
python3 "$here/ablation_table.py" "$out" "$model"
