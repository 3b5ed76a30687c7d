// Builds without nvcc: the CUDA versions of the resident loop's steps are
// absent (the resident codec then runs only on the CPU, in tests).
#include <stdexcept>

#include "libcodec/engine/resident_kernels.h"

namespace lmz {

void slot_step_cuda(const SlotStepArgs&, void*) {
  throw std::logic_error("slot_step_cuda: this build has no CUDA kernels");
}

void join_slots_cuda(const JoinArgs&, void*) {
  throw std::logic_error("join_slots_cuda: this build has no CUDA kernels");
}

}  // namespace lmz
