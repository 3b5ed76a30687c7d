// Internals of the CPU fused steps (lstm_kernels.h), shared by the portable
// loops and dispatch (lstm_kernels_cpu.cc) and the AVX-512 versions
// (lstm_kernels_avx512.cc).
#pragma once

#include <cstdint>

#include "libcodec/engine/lstm_kernels.h"

namespace lmz {

// True when this build has the AVX-512 code (x86-64 with GCC or Clang).
bool lstm_avx512_built();
// Call only where cpu_step_isa_supported(CpuStepIsa::kAvx512); builds
// without the code define them to throw.
void lstm_cell_avx512(const CellArgs& args);
void lstm_output_avx512(const OutputArgs& args);

// The cell's last part for row k, after its h is updated: the next layer's
// matrix input (CellArgs::next_input), when asked for.
void copy_next_input(const CellArgs& args, int64_t k);
// MODEL.md "Distribution" step 5: cdf[257] from freq[256].
void write_cdf(const int64_t* freq, uint32_t* cdf);

}  // namespace lmz
