#pragma once
// Stub for scripts/check-cuda-host-code.sh: only the declarations lmz uses,
// so that its CUDA-only host code compiles (syntax and types) on a machine
// without CUDA. Not the real API; nvcc builds on the GPU machine are the test.
#include <cuda_runtime_api.h>
namespace c10::cuda {
class CUDAStream {
 public:
  cudaStream_t stream() const;
  void synchronize() const;
};
CUDAStream getStreamFromPool(const bool isHighPriority = false, signed char device = -1);
CUDAStream getCurrentCUDAStream(signed char device = -1);
}  // namespace c10::cuda
