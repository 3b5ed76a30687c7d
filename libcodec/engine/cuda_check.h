// The launch check every CUDA kernel wrapper of the engine makes (CUDA
// sources only).
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace lmz {

// Throws std::runtime_error naming `what` if the last launch failed.
inline void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA launch of ") + what +
                             " failed: " + cudaGetErrorString(e));
  }
}

}  // namespace lmz
