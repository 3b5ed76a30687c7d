#pragma once
// Stub for scripts/check-cuda-host-code.sh: only the declarations lmz uses,
// so that its CUDA-only host code compiles (syntax and types) on a machine
// without CUDA. Not the real API; nvcc builds on the GPU machine are the test.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
namespace at {
Tensor _int_mm(const Tensor&, const Tensor&);
}
namespace at::cuda {
using c10::cuda::getCurrentCUDAStream;
}
