// Compile check of the mixing stages' cores for the GPU (not run): a kernel
// in the shape the GPU-resident window codec uses, one block per window
// whose threads initialise the arena together, then one thread coding the
// window's bits. tests/cm/CMakeLists.txt compiles it with nvcc when one is
// installed, so a core change that device code cannot compile fails CI.
#include "libcodec/cm/stage_core.h"

using lmz::cm::StageTables;

__global__ void code_windows(uint16_t id, uint8_t* arenas, size_t arena_bytes, size_t window,
                             const StageTables* tables, const uint8_t* input,
                             const uint32_t* cdfs, uint32_t* checksum) {
  uint8_t* arena = arenas + blockIdx.x * arena_bytes;
  lmz::cm::stage_init_part(id, arena, window, threadIdx.x, blockDim.x);
  __syncthreads();
  if (threadIdx.x != 0) return;
  const uint8_t* history = input + blockIdx.x * window;
  for (size_t pos = 0; pos < window; ++pos) {
    lmz::cm::stage_set_prior(id, arena, cdfs + pos * 257);
    for (int k = 7; k >= 0; --k) {
      const int bit = (history[pos] >> k) & 1;
      checksum[blockIdx.x] += lmz::cm::stage_p16(id, arena, *tables, history);
      lmz::cm::stage_update(id, arena, *tables, history, bit);
    }
  }
}
