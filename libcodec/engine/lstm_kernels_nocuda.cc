// Builds without nvcc: the CUDA versions of the fused steps are absent, and
// the engine runs its libtorch tensor path on CUDA devices instead.
#include <stdexcept>

#include "libcodec/engine/lstm_kernels.h"

namespace lmz {

bool lstm_cuda_kernels_built() {
  return false;
}

void lstm_cell_cuda(const CellArgs&, void*) {
  throw std::logic_error("lstm_cell_cuda: this build has no CUDA kernels");
}

void lstm_output_cuda(const OutputArgs&, void*) {
  throw std::logic_error("lstm_output_cuda: this build has no CUDA kernels");
}

}  // namespace lmz
