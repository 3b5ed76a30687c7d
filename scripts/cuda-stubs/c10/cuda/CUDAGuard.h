#pragma once
// Stub for scripts/check-cuda-host-code.sh: only the declarations lmz uses,
// so that its CUDA-only host code compiles (syntax and types) on a machine
// without CUDA. Not the real API; nvcc builds on the GPU machine are the test.
#include <c10/cuda/CUDAStream.h>
namespace c10::cuda {
struct CUDAStreamGuard {
  explicit CUDAStreamGuard(CUDAStream);
  CUDAStreamGuard(const CUDAStreamGuard&) = delete;
  CUDAStreamGuard(CUDAStreamGuard&&) = delete;
  ~CUDAStreamGuard();
};
}  // namespace c10::cuda
