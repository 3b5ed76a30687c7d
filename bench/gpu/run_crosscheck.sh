#!/bin/bash
# Device cross-check and throughput of the neural engine (run on the GPU
# machine from the repository root, with .carry/xxhash and .carry/held
# carried; also runs on a CPU-only machine with "cuda" runs left out):
#   bash bench/gpu/run_crosscheck.sh [cpu-only]
# Prints one line per run (engine_bench.cc): equal cdfs= hashes within a
# block mean bit-identical CDFs across device and batch size. Compare the
# same lines from a CPU-only machine (Debian libtorch 1.13) for the
# cross-version check.
set -u
OUT=${OUT:-/tmp/lmz-bench}
mkdir -p "$OUT"
B=/tmp/lmz-gpu-bench
if [ ! -x $B/engine_bench ]; then
  PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>/dev/null)
  X=""; [ -d .carry/xxhash ] && X="-DXXHASH_ROOT=$PWD/.carry/xxhash"
  cmake -S bench/gpu -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release ${PREFIX:+-DCMAKE_PREFIX_PATH=$PREFIX} $X > $OUT/build.log 2>&1 &&
  cmake --build $B -j16 >> $OUT/build.log 2>&1 || { tail -30 $OUT/build.log; exit 1; }
fi
export LD_LIBRARY_PATH=$PWD/.carry/xxhash/lib:${LD_LIBRARY_PATH:-}
T=.carry/held/brown.txt
E=$B/engine_bench
CU=1; [ "${1:-}" = cpu-only ] && CU=0
run() { echo "+ $*"; timeout 150 "$@"; }
nproc; nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null
for m in tiny small large; do
  echo "== $m: 16 windows x 256 steps, batch 1 vs 16, CPU vs CUDA"
  if [ $CU = 1 ]; then run $E models/$m.lmzm $T 16 256 cpu:16 cuda:1 cuda:16 cpu:1
  else run $E models/$m.lmzm $T 16 256 cpu:16 cpu:1; fi
done
for m in tiny small large; do
  echo "== $m: 4096 windows x 32 steps, batch 4096 vs 1000, CUDA vs CPU"
  if [ $CU = 1 ]; then run $E models/$m.lmzm $T 4096 32 cuda:4096 cuda:1000 cpu:4096
  else run $E models/$m.lmzm $T 4096 32 cpu:4096; fi
done
if [ $CU = 1 ]; then
  for m in small large; do
    echo "== $m: CUDA decode throughput"
    run $E models/$m.lmzm $T 4096 512 cuda:4096
    run $E models/$m.lmzm $T 1024 512 cuda:1024
  done
fi
