// CUDA versions of the resident loop's coding and join steps
// (resident_kernels.h): one thread per slot for the coding step; one block
// per joining slot for the join step, whose threads zero the slot's model
// state. The arithmetic is slot.h's, the same functions the CPU loops call.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "libcodec/engine/cuda_check.h"
#include "libcodec/engine/resident_kernels.h"

namespace lmz {
namespace {

// Few threads per block spread the slots' serial work over every
// multiprocessor (6,144 slots: 96 blocks on the H200's 132).
constexpr int kStepThreads = 64;
constexpr int kJoinThreads = 256;

static_assert(sizeof(cm::StageTables) % 4 == 0);

__global__ void slot_step_kernel(SlotStepArgs a) {
  // The mixing stages' tables are read at every bit: a copy in shared
  // memory per block (20 KiB) instead of global memory.
  __shared__ cm::StageTables tables;
  const auto* from = reinterpret_cast<const uint32_t*>(a.tables);
  auto* to = reinterpret_cast<uint32_t*>(&tables);
  for (uint32_t i = threadIdx.x; i < sizeof(cm::StageTables) / 4; i += kStepThreads)
    to[i] = from[i];
  __syncthreads();
  const int64_t k = int64_t{blockIdx.x} * kStepThreads + threadIdx.x;
  if (k >= a.rows) return;
  resident::slot_step(a.jobs[k], a.states[k], a.cdf + k * 257, a.arenas + k * a.arena_stride,
                      tables, a.symbols + k);
}

__global__ void join_kernel(JoinArgs a) {
  const int64_t k = blockIdx.x;
  const uint32_t slot = a.slots[k];
  const resident::SlotJob& job = a.jobs_in[k];
  resident::slot_init_arena(job.stage, a.arenas + slot * a.arena_stride, job.raw_size, threadIdx.x,
                            kJoinThreads);
  if (threadIdx.x == 0) {
    a.jobs[slot] = job;
    resident::SlotState s;
    s.phase = resident::kStarting;
    a.states[slot] = s;
  }
  for (int64_t l = 0; l < a.layers; ++l) {
    int8_t* h = a.h[l] + int64_t{slot} * a.hidden;
    int32_t* c = a.c[l] + int64_t{slot} * a.hidden;
    for (int64_t j = threadIdx.x; j < a.hidden; j += kJoinThreads) {
      h[j] = 0;
      c[j] = 0;
    }
  }
}

}  // namespace

void slot_step_cuda(const SlotStepArgs& args, void* stream) {
  if (args.rows == 0) return;
  const auto blocks = static_cast<unsigned>((args.rows + kStepThreads - 1) / kStepThreads);
  slot_step_kernel<<<blocks, kStepThreads, 0, static_cast<cudaStream_t>(stream)>>>(args);
  check_launch("the resident coding step");
}

void join_slots_cuda(const JoinArgs& args, void* stream) {
  if (args.count == 0) return;
  join_kernel<<<static_cast<unsigned>(args.count), kJoinThreads, 0,
                static_cast<cudaStream_t>(stream)>>>(args);
  check_launch("the resident join step");
}

}  // namespace lmz
