// The two steps of the device-resident window loop (resident_engine.h) that
// are not the model's: the per-slot coding step (libcodec/resident/slot.h)
// and the join step that starts new windows in free slots. Each has a CPU
// version (resident_kernels_cpu.cc, loops) and, in builds with
// LMZ_CUDA_KERNELS, a CUDA one (resident_kernels.cu, one thread per slot);
// both run slot.h's functions, so they compute the same integers. Pointers
// are host memory for the CPU versions and device memory for the CUDA ones.
// No libtorch here.
#pragma once

#include <cstdint>

#include "libcodec/resident/slot.h"

namespace lmz {

inline constexpr int kResidentMaxLayers = 8;

// One coding step for slots [0, rows).
struct SlotStepArgs {
  int64_t rows = 0;
  const resident::SlotJob* jobs = nullptr;  // [rows]
  resident::SlotState* states = nullptr;    // [rows]
  const uint32_t* cdf = nullptr;            // [rows, 257] the model's CDFs
  int64_t* symbols = nullptr;               // [rows] out: what the model observes next
  uint8_t* arenas = nullptr;                // slot k's stage arena at arenas + k * arena_stride
  uint64_t arena_stride = 0;
  const cm::StageTables* tables = nullptr;
};

// Starts `count` windows: slot slots[k] gets job jobs_in[k], phase
// kStarting, its model state rows zeroed in every layer and its stage arena
// fresh.
struct JoinArgs {
  int64_t count = 0;
  const uint32_t* slots = nullptr;             // [count]
  const resident::SlotJob* jobs_in = nullptr;  // [count]
  resident::SlotJob* jobs = nullptr;           // [slots] the batch's jobs
  resident::SlotState* states = nullptr;       // [slots]
  int64_t layers = 0;
  int64_t hidden = 0;
  int8_t* h[kResidentMaxLayers] = {};   // per layer [slots, hidden]
  int32_t* c[kResidentMaxLayers] = {};  // per layer [slots, hidden]
  uint8_t* arenas = nullptr;            // as in SlotStepArgs: initialised for each job's stage
  uint64_t arena_stride = 0;
};

void slot_step_cpu(const SlotStepArgs& args);
void join_slots_cpu(const JoinArgs& args);

// Enqueue on `stream` (a cudaStream_t). Throw std::runtime_error on a launch
// error; builds without the kernels throw on any call.
void slot_step_cuda(const SlotStepArgs& args, void* stream);
void join_slots_cuda(const JoinArgs& args, void* stream);

}  // namespace lmz
