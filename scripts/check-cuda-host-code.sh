#!/usr/bin/env bash
# Compiles the engine's CUDA-only host code (the LMZ_CUDA_KERNELS and
# LMZ_CUDA_GRAPHS branches of libcodec/engine) against stub CUDA headers
# (scripts/cuda-stubs), syntax and types only, so that CI, which has no
# CUDA, catches a typo there before a GPU session does. The kernels
# themselves (lstm_kernels.cu) need nvcc: bench/gpu/run_gpu.sh build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
torch_api=/usr/include/torch/csrc/api/include
if [[ ! -d $torch_api ]]; then
  echo "check-cuda-host-code: no libtorch headers ($torch_api); skipped" >&2
  exit 0
fi
for f in lstm_model fused_batch resident_engine resident_codec lstm_predictor; do
  g++ -std=c++20 -fsyntax-only -Wall -Wextra -Wshadow -Wold-style-cast -Werror \
    -I"$root/scripts/cuda-stubs" -I"$root" -isystem "$torch_api" \
    -DLMZ_CUDA_KERNELS -DLMZ_CUDA_GRAPHS "$root/libcodec/engine/$f.cc"
done
echo "check-cuda-host-code: ok"
