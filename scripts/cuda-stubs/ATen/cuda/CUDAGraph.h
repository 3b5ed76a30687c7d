#pragma once
// Stub for scripts/check-cuda-host-code.sh: only the declarations lmz uses,
// so that its CUDA-only host code compiles (syntax and types) on a machine
// without CUDA. Not the real API; nvcc builds on the GPU machine are the test.
#include <c10/cuda/CUDAStream.h>
#include <utility>
namespace at::cuda {
using MempoolId_t = std::pair<unsigned long long, unsigned long long>;
struct CUDAGraph {
  CUDAGraph();
  ~CUDAGraph();
  void capture_begin(MempoolId_t pool = {0, 0},
                     cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal);
  void capture_end();
  void replay();
};
}  // namespace at::cuda
