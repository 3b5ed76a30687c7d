// CPU versions of the resident loop's coding and join steps
// (resident_kernels.h): loops over slot.h's functions.
#include <cstring>

#include "libcodec/engine/resident_kernels.h"

namespace lmz {

void slot_step_cpu(const SlotStepArgs& a) {
  for (int64_t k = 0; k < a.rows; ++k) {
    resident::slot_step(a.jobs[k], a.states[k], a.cdf + k * 257, a.arenas + k * a.arena_stride,
                        *a.tables, a.symbols + k);
  }
}

void join_slots_cpu(const JoinArgs& a) {
  for (int64_t k = 0; k < a.count; ++k) {
    const uint32_t slot = a.slots[k];
    const resident::SlotJob& job = a.jobs_in[k];
    a.jobs[slot] = job;
    resident::slot_init_arena(job.stage, a.arenas + slot * a.arena_stride, job.raw_size, 0, 1);
    a.states[slot] = resident::SlotState{};
    a.states[slot].phase = resident::kStarting;
    for (int64_t l = 0; l < a.layers; ++l) {
      std::memset(a.h[l] + slot * a.hidden, 0, static_cast<size_t>(a.hidden));
      std::memset(a.c[l] + slot * a.hidden, 0, static_cast<size_t>(a.hidden) * sizeof(int32_t));
    }
  }
}

}  // namespace lmz
