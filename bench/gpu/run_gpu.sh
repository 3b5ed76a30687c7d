#!/bin/bash
# GPU runs of lmz, one step per argument, on the lent GPU machine (Ubuntu,
# PyTorch's libtorch with CUDA). Run from the repository root with the
# carried folders .carry/xxhash (xxhash.h + libxxhash.a + .pc), .carry/systemd
# (sd-daemon headers + .pc) and .carry/held (the held-out corpus, .xz):
#
#   bash bench/gpu/run_gpu.sh build crosscheck          # one device command
#   bash bench/gpu/run_gpu.sh build speed heldout       # another
#   bash bench/gpu/run_gpu.sh build daemon
#
# Steps:
#   build       configure and build lmz, lmzd, lmzd_bench and lmz-codec-bench
#               in build-gpu/ (Release, libtorch from the Python install)
#   crosscheck  each model (LMZ_CROSSCHECK_MODELS="NAME:BYTES ..." picks),
#               both stages: an archive made on CUDA with 4096
#               windows per batch vs one made on the CPU one window at a
#               time (must be byte-identical), each decoded on the other
#   speed16     16 MiB of held-out prose with `large`, direct stage: compress
#               and decompress MB/s on CUDA (1,024 windows)
#   speed       a 100 MB input (the held-out split repeated) with `large`:
#               compress and decompress MB/s on CUDA, direct and mix stages
#   heldout     every held-out file with `large` on CUDA, both stages, with
#               lmz's default writer settings (sizes for the tables)
#   daemon      bench/daemon/run.sh with `large` on CUDA
#   resident    lmz-resident-check for tiny (16 MiB, 1,024 windows), small
#               and large: the resident codec on CUDA against the CPU's
#               batch loop, both stages, corrupt windows in the CUDA batch
#   speed100    100 MB of distinct prose and docs (the training split, so
#               only for speed; .carry/train) with `large`, both stages,
#               resident codec, lmz-codec-bench (codec only)
#   ncu         Nsight Compute on 12 consecutive kernels of a resident mix-stage
#               encode of 96 MB with `large` (about 6,000 windows): each
#               kernel's duration, throughput and stall reasons, in ncu.txt
#   cli100      the same 100 MB through the real `lmz` CLI (model load
#               included), compress and decompress, default settings, beside
#               zstd -19 --long -T16, zstd -3 -T16 and xz -9 -T16
# Output goes to $OUT (default /tmp/lmz-gpu-out): one file per step.
set -u
OUT=${OUT:-/tmp/lmz-gpu-out}
# The GPU machine has no zstd: a static zstd binary travels in .carry/bin.
[ -d .carry/bin ] && export PATH=$PWD/.carry/bin:$PATH
mkdir -p "$OUT"
root=$PWD
B=$root/build-gpu
BENCH=$B/bench/lmz-codec-bench
held=/tmp/lmz-held

unpack_held() {
  [ -d $held ] && return
  mkdir -p $held
  for f in .carry/held/*.xz; do xz -dc "$f" > $held/$(basename "$f" .xz); done
}

step_build() {
  local prefix
  prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  # lmzd links the machine's libsystemd.so.0 (it has no -dev package).
  ln -sfn /usr/lib/x86_64-linux-gnu/libsystemd.so.0 "$root/.carry/systemd/lib/libsystemd.so"
  export LIBRARY_PATH=$root/.carry/systemd/lib
  export PKG_CONFIG_PATH=$root/.carry/xxhash/lib/pkgconfig:$root/.carry/systemd/lib/pkgconfig
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda)'
    nvcc --version | tail -2
    cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLMZ_BUILD_TESTS=OFF \
      -DLMZ_WERROR=OFF -DCMAKE_PREFIX_PATH="$prefix" -DLMZ_CUDA_KERNELS=ON \
      -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" \
      -DCMAKE_CXX_FLAGS=-DFMT_HEADER_ONLY ${LMZ_GPU_CMAKE_ARGS:-} &&
      cmake --build "$B" -j16 --target lmz lmzd lmzd_bench lmz-codec-bench lmz-resident-check
  } > "$OUT/build.log" 2>&1
  local rc=$?
  tail -5 "$OUT/build.log"
  return $rc
}

step_crosscheck() {
  unpack_held
  local log=$OUT/crosscheck.txt
  : > "$log"
  for spec in ${LMZ_CROSSCHECK_MODELS:-tiny:262144 small:131072 large:24576}; do
    local m=${spec%%:*} n=${spec##*:}
    head -c "$n" $held/brown.txt > /tmp/prose-$m
    head -c "$n" $held/log-OpenSSH.log > /tmp/log-$m
    for stage in direct mix; do
      for dir in "cuda 4096 cpu 1" "cpu 1 cuda 4096"; do
        set -- $dir
        echo "+ $m $stage: encode $1 batch $2, decode $3 batch $4" >> "$log"
        timeout 280 "$BENCH" --model "$m" --models-dir models --stage $stage \
          --encode-device $1 --encode-batch $2 --decode-device $3 --decode-batch $4 \
          --window-size 2048 --log-window-size 8192 --block-size 65536 \
          /tmp/prose-$m /tmp/log-$m >> "$log" 2>&1 || echo "FAILED rc=$?" >> "$log"
      done
    done
  done
  # Within one model and stage, the two directions must print the same
  # archive hashes, and every round trip must be ok.
  python3 - "$log" <<'PY' | tee -a "$log"
import sys, re, collections
runs = collections.defaultdict(list)
key = None
bad = 0
for line in open(sys.argv[1]):
    if line.startswith("+ "):
        key = line.split(":")[0][2:]
    elif re.match(r"^(prose|log)-", line):
        f = line.split()
        runs[key].append((f[0], f[6], f[7]))
        bad += f[7] != "ok"
for k, rows in runs.items():
    half = len(rows) // 2
    same = rows[:half] == rows[half:] if half else False
    bad += not same
    print(f"{k}: {'identical archives both ways' if same else 'ARCHIVES DIFFER'}, "
          f"{sum(r[2] == 'ok' for r in rows)}/{len(rows)} round trips ok")
print("crosscheck:", "PASS" if bad == 0 and runs else "FAIL")
PY
}

# held_prose FILE BYTES: the held-out prose and docs repeated to BYTES bytes.
held_prose() {
  unpack_held
  [ -f "$1" ] && return
  while [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
    cat $held/*.txt $held/*.rst $held/*.pod $held/*.dict >> "$1"
  done
  truncate -s "$2" "$1"
}

step_speed() {
  local big=/tmp/lmz-100mb
  held_prose $big 100000000
  local log=$OUT/speed.txt
  for stage in ${LMZ_SPEED_STAGES:-direct mix}; do
    echo "+ large $stage on cuda, 100 MB, 64 MiB per encode call" >> "$log"
    timeout 290 "$BENCH" --model large --models-dir models --stage $stage --encode-device cuda \
      --batch-bytes 67108864 $big >> "$log" 2>&1 || echo "FAILED rc=$?" >> "$log"
  done
}

step_speed16() {
  local input=/tmp/lmz-16mib
  held_prose $input 16777216
  echo "+ large direct on cuda, 16 MiB, 64 MiB per encode call" >> "$OUT/speed16.txt"
  timeout 200 "$BENCH" --model large --models-dir models --stage direct --encode-device cuda \
    --batch-bytes 67108864 $input >> "$OUT/speed16.txt" 2>&1 || echo "FAILED rc=$?" >> "$OUT/speed16.txt"
  tail -3 "$OUT/speed16.txt"
}

step_heldout() {
  unpack_held
  local log=$OUT/heldout.txt
  for stage in mix direct; do
    echo "+ large $stage on cuda, default writer settings" >> "$log"
    timeout 280 "$BENCH" --model large --models-dir models --stage $stage --encode-device cuda \
      $held/* >> "$log" 2>&1 || echo "FAILED rc=$?" >> "$log"
  done
}

step_daemon() {
  mkdir -p /tmp/lmz-corpora && ln -sfn "$root/.carry/held" /tmp/lmz-corpora/heldout
  LMZ_BENCH_MODEL=$root/models/large.lmzm LMZ_BENCH_DEVICE=cuda LMZ_CORPORA_DIR=/tmp/lmz-corpora \
    LMZ_BENCH_BYTES=${LMZ_BENCH_BYTES:-4000000} \
    sh bench/daemon/run.sh "$B" "$OUT/daemon-gpu.md" > "$OUT/daemon.log" 2>&1
  tail -8 "$OUT/daemon-gpu.md"
}

# train_prose FILE BYTES: the first BYTES of the training split's prose and
# docs (every non-log file once, in name order): distinct text, but text the
# models were trained on, so these runs are for speed only.
train_prose() {
  [ -f "$1" ] && return
  for f in .carry/train/*.xz; do
    case $f in *log-*) continue ;; esac
    xz -dc "$f"
  done | head -c "$2" > "$1"
}

step_resident() {
  unpack_held
  local log=$OUT/resident-check.txt
  : > "$log"
  cat $held/*.txt $held/*.dict | head -c 16777216 > /tmp/rc-tiny
  cat $held/brown.txt $held/log-OpenSSH.log | head -c 2097152 > /tmp/rc-small
  head -c 262144 $held/brown.txt > /tmp/rc-large
  for spec in ${LMZ_RESIDENT_MODELS:-tiny:16777216 small:2097152 large:262144}; do
    local m=${spec%%:*} n=${spec##*:}
    echo "+ $m" >> "$log"
    timeout 280 "$B/bench/lmz-resident-check" models/$m.lmzm /tmp/rc-$m $n 16384 >> "$log" 2>&1 ||
      echo "FAILED rc=$?" >> "$log"
  done
  grep -c '^PASS' "$log" | sed 's/^/resident checks passed: /'
  grep -E '^(FAIL|FAILED)' "$log" | head
}

step_speed100() {
  local big=/tmp/lmz-train-100mb
  train_prose $big 100000000
  local log=$OUT/speed100.txt
  for stage in ${LMZ_SPEED_STAGES:-direct mix}; do
    echo "+ large $stage on cuda, 100 MB of the training split, resident codec" >> "$log"
    timeout 290 "$BENCH" --model large --models-dir models --stage $stage --encode-device cuda \
      $big >> "$log" 2>&1 || echo "FAILED rc=$?" >> "$log"
  done
  tail -n 12 "$log"
}

step_ncu() {
  local big=/tmp/lmz-train-100mb
  train_prose $big 100000000
  head -c 96000000 $big > /tmp/lmz-96mb
  timeout 200 ncu --clock-control none --launch-skip 3000 --launch-count 12 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
    --section Occupancy --section LaunchStats \
    "$BENCH" --model large --models-dir models --stage mix --encode-device cuda --no-decode \
    /tmp/lmz-96mb > "$OUT/ncu.txt" 2>&1 || echo "ncu FAILED rc=$?" >> "$OUT/ncu.txt"
  grep -E "^  [a-z_].*\(|Duration|Compute \(SM\) Throughput|Memory Throughput|Achieved Occupancy" \
    "$OUT/ncu.txt" | head -60
}

# timed LABEL COMMAND...: one line "LABEL wall_s max_rss_kB" into $OUT/cli100.txt
timed() {
  local label=$1
  shift
  /usr/bin/time -f "$label %e s %M kB" "$@" 2>> "$OUT/cli100.txt" >/dev/null
}

step_cli100() {
  local big=/tmp/lmz-train-100mb
  train_prose $big 100000000
  local lmz=$B/cli/lmz log=$OUT/cli100.txt
  nvidia-smi --query-gpu=name --format=csv,noheader >> "$log"
  (nvidia-smi dmon -s u -d 1 > $OUT/cli100-gpu-util.txt 2>&1 &)
  rm -f /tmp/x.lmz /tmp/x.out
  timed "lmz-compress" "$lmz" --local --models-dir models -q -o /tmp/x.lmz $big
  timed "lmz-decompress" "$lmz" --local --models-dir models -q -d -o /tmp/x.out /tmp/x.lmz
  cmp $big /tmp/x.out && echo "lmz round trip ok" >> "$log"
  ls -l /tmp/x.lmz | awk '{print "lmz archive bytes", $5}' >> "$log"
  "$lmz" -l /tmp/x.lmz >> "$log" 2>&1
  head -c 1000000 $big > /tmp/x1mb
  "$lmz" --local --models-dir models --model large -q -c /tmp/x1mb | python3 -c 'import sys,xxhash;print("gpu archive xxh3 of 1 MB", xxhash.xxh3_64(sys.stdin.buffer.read()).hexdigest())' >> "$log"
  "$lmz" --local --models-dir models --model large --device cpu -q -c /tmp/x1mb | python3 -c 'import sys,xxhash;print("cpu archive xxh3 of 1 MB", xxhash.xxh3_64(sys.stdin.buffer.read()).hexdigest())' >> "$log"
  pkill -f "nvidia-smi dmon" || true
  if [ -z "${LMZ_SKIP_OTHERS:-}" ]; then
    timed "zstd-19-long-T16-compress" zstd -19 --long -T16 -q -f -o /tmp/x.zst $big
    timed "zstd-19-long-T16-decompress" zstd -d --long -q -f -o /tmp/x.zout /tmp/x.zst
    ls -l /tmp/x.zst | awk '{print "zstd -19 --long bytes", $5}' >> "$log"
    timed "zstd-3-T16-compress" zstd -3 -T16 -q -f -o /tmp/x3.zst $big
    timed "zstd-3-T16-decompress" zstd -d -q -f -o /tmp/x3.zout /tmp/x3.zst
    ls -l /tmp/x3.zst | awk '{print "zstd -3 bytes", $5}' >> "$log"
    timed "xz-9-T16-compress" xz -9 -T16 -k -f $big
    timed "xz-9-T16-decompress" xz -d -k -c $big.xz
    ls -l $big.xz | awk '{print "xz -9 bytes", $5}' >> "$log"
  fi
  cat "$log"
}

for step in "$@"; do
  echo "== $step $(date -u +%H:%M:%S)"
  "step_$step" || { echo "step $step failed"; exit 1; }
done
echo "== done $(date -u +%H:%M:%S)"
