// The mixing stages' cores by stage id (spec/MIXING.md), for code that runs
// any of them: a GPU kernel (one thread per window) and CmStage on the CPU.
// Plain switches over the ids, no function pointers, so device code can
// call them. Each stage's own header documents its contract (mix1_core.h:
// the call sequence and when the caller writes the history).
#pragma once

#include <cstddef>
#include <cstdint>

#include "libcodec/cm/mix1_core.h"
#include "libcodec/cm/stage_tables.h"
#include "libcodec/host_device.h"

namespace lmz::cm {

// Stage ids as archives record them (spec/FORMAT.md, "stage id").
inline constexpr uint16_t kStageMix1 = 1;

// True for the ids these cores implement.
LMZ_HD bool stage_core_known(uint16_t id) {
  return id == kStageMix1;
}

// Bytes of arena for a window of `window_size` bytes; 0 for an unknown id.
LMZ_HD size_t stage_arena_bytes(uint16_t id, size_t window_size) {
  switch (id) {
    case kStageMix1:
      return mix1_arena_bytes(window_size);
    default:
      return 0;
  }
}

LMZ_HD void stage_init_part(uint16_t id, uint8_t* arena, size_t window_size, uint32_t part,
                            uint32_t parts) {
  switch (id) {
    case kStageMix1:
      mix1_init_part(arena, window_size, part, parts);
      break;
    default:
      break;
  }
}

LMZ_HD void stage_set_prior(uint16_t id, uint8_t* arena, const uint32_t* cdf) {
  switch (id) {
    case kStageMix1:
      mix1_set_prior(arena, cdf);
      break;
    default:
      break;
  }
}

LMZ_HD uint32_t stage_p16(uint16_t id, uint8_t* arena, const StageTables& t,
                          const uint8_t* history) {
  switch (id) {
    case kStageMix1:
      return mix1_p16(arena, t, history);
    default:
      return 32768;
  }
}

LMZ_HD void stage_update(uint16_t id, uint8_t* arena, const StageTables& t, const uint8_t* history,
                         int bit) {
  switch (id) {
    case kStageMix1:
      mix1_update(arena, t, history, bit);
      break;
    default:
      break;
  }
}

}  // namespace lmz::cm
