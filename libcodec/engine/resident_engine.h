// The device-resident window loop: the whole per-byte loop of thousands of
// windows (model step, coding stage, range coder) runs on the model's
// device, and the host moves only the windows' input and output bytes.
//
// The engine owns a batch of `slots` window slots on the device: per slot
// the model state (h, c of every layer), the coding state
// (libcodec/resident/slot.h) and the job it codes. A driver thread advances
// the batch in iterations of kStepsPerIteration model steps; on CUDA an
// iteration is one CUDA graph replay (per step: the output distribution,
// the coding step, the model step), with no host work between bytes.
// Between iterations the driver starts waiting windows in free slots and
// hands finished windows back, so windows of different lengths, and of
// several callers at once, join and leave the running batch (continuous
// batching). Callers on any thread submit jobs and wait.
//
// Exactness: a slot's CDFs are its window's alone (every row of the model
// step is independent; slots start from a zeroed state and the start
// symbol), and the coding arithmetic is slot.h's, so the coded bytes are
// those of the CPU window codec. On the CPU the same driver runs the same
// steps as loops (tests check it against make_local_window_codec).
//
// Engine-internal: includes libtorch.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "libcodec/coding_stage.h"
#include "libcodec/engine/lstm_model.h"
#include "libcodec/resident/slot.h"
#include "libcodec/window_codec.h"

#ifdef LMZ_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>
#endif

namespace lmz::engine {

class ResidentEngine {
 public:
  // Model steps per iteration of the driver (per graph replay on CUDA).
  static constexpr int kStepsPerIteration = 64;
  // Slot counts are multiples of this (the int8 products want row counts
  // that are multiples of 8 and at least 32).
  static constexpr int64_t kSlotGranule = 64;

  // A batch of at least `slots` slots (rounded up to kSlotGranule) for
  // `model`, which must outlive the engine. The mixing stages' arenas of
  // the windows in flight take at most `arena_budget` bytes: fewer windows
  // run at once when they are long (but at least kSlotGranule).
  ResidentEngine(const LstmModel& model, size_t slots, uint64_t arena_budget);
  ~ResidentEngine();
  ResidentEngine(const ResidentEngine&) = delete;
  ResidentEngine& operator=(const ResidentEngine&) = delete;

  size_t slots() const { return static_cast<size_t>(capacity_); }

  // Runs `jobs` to completion and returns when each has written its
  // SlotResult (jobs[i].result; the pointers are the engine's device's
  // memory). Every job's raw_size must be >= 1. Thread-safe: concurrent
  // calls share the batch. Rethrows a failure of the device work itself.
  void run(std::vector<resident::SlotJob> jobs);

  // Model steps run so far, summed over iterations (for tests and status).
  uint64_t steps_run() const;

  // The device the engine's memory is on (where SlotJob pointers point).
  torch::Device device() const { return model_.device(); }

 private:
  struct Submission {
    std::vector<resident::SlotJob> jobs;
    size_t next = 0;      // the next job to place in a slot
    size_t finished = 0;  // jobs whose slot reported them finished
    bool done = false;
    std::exception_ptr error;
  };
  struct Owner {
    Submission* submission = nullptr;
    size_t job = 0;
  };

  void driver_loop();
  // One iteration: start waiting jobs in free slots, then run
  // kStepsPerIteration steps over the occupied rows.
  void run_iteration();
  // Starts waiting jobs in free slots (lowest slots first, one job of each
  // waiting submission in turn). Returns the number started.
  size_t place_jobs();
  // Records which slots finished in the last snapshot; completes
  // submissions whose jobs all finished.
  void harvest(const std::vector<uint32_t>& phases);
  // Rows the next steps run over: the smallest tier holding every
  // occupied slot.
  int64_t rows_for_occupied() const;
  // Makes every slot's arena hold `bytes` (only with no slot occupied).
  void grow_arenas(uint64_t bytes);
  // One model step (distribution, coding step, model step) of slots
  // [row0, row0 + rows), on the current stream.
  void step(int64_t row0, int64_t rows);
  // `count` steps of slots [0, rows): a captured graph's replay on CUDA
  // once the row count has run eagerly. (Running a batch as two halves on
  // two streams, so that one half's coding step overlaps the other's
  // matrix products, was measured slower on the H200: 100 MB direct decode
  // 6.3 MB/s against 12.5; bench/results/2026-12-04-gpu-resident.md.)
  void steps(int64_t rows, int count);
  static void* current_stream();
  void fail_all(std::exception_ptr error);
  void* stream_handle() const;

  const LstmModel& model_;
  const int64_t capacity_;
  // Device state.
  std::vector<torch::Tensor> h_, c_;  // per layer [capacity, H]
  torch::Tensor rows_;                // [capacity] int64 0..capacity-1
  torch::Tensor jobs_, states_;       // [capacity] SlotJob / SlotState, as bytes
  torch::Tensor cdf_;                 // [capacity, 257] int32
  torch::Tensor symbols_;             // [capacity] int64
  torch::Tensor tables_;              // cm::StageTables, as bytes
  torch::Tensor arenas_;              // [usable slots * arena_stride_] bytes
  uint64_t arena_stride_ = 0;         // bytes of stage arena per slot
  const uint64_t arena_budget_;
  int64_t usable_ = 0;                    // slots the arenas allow (<= capacity_)
  torch::Tensor join_slots_, join_jobs_;  // [capacity] uint32 / SlotJob, as bytes
  torch::Tensor host_join_slots_, host_join_jobs_, host_phases_;  // staging (pinned on CUDA)

  // Host bookkeeping (driver thread, under mu_ where shared).
  std::vector<Owner> owner_;   // per slot
  int64_t occupied_high_ = 0;  // 1 + the highest occupied slot
  size_t occupied_ = 0;
  uint64_t steps_run_ = 0;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // driver: new submissions or stop
  std::condition_variable done_cv_;  // callers: a submission finished
  std::deque<Submission*> waiting_;  // submissions with jobs not yet placed
  bool stop_ = false;
  std::exception_ptr broken_;  // set when the device work failed

#ifdef LMZ_CUDA_KERNELS
  std::optional<c10::cuda::CUDAStream> stream_;
#endif
  struct Graph;
  std::map<int64_t, std::unique_ptr<Graph>> graphs_;  // by row count
  std::map<int64_t, int> eager_iterations_;           // row count -> iterations run eagerly

  std::thread driver_;  // last member: starts after everything above exists
};

// Whether the resident loop runs coding stage `stage` (slot.h).
bool resident_supports_stage(StageId stage);

// A window codec (libcodec/window_codec.h) that codes every window through
// `engine`: the same coded bytes as make_local_window_codec for the same
// model and stage. `stage` must be supported.
std::unique_ptr<WindowCodec> make_resident_window_codec(std::shared_ptr<ResidentEngine> engine,
                                                        ModelId model, StageId stage);

}  // namespace lmz::engine
