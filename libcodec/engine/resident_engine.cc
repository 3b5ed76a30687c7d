// ResidentEngine (resident_engine.h).
#include "libcodec/engine/resident_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "libcodec/cm/stage_tables.h"
#include "libcodec/engine/resident_kernels.h"
#include "libcodec/errors.h"

#ifdef LMZ_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#ifdef LMZ_CUDA_GRAPHS
#include "libcodec/engine/locked_graph.h"
#define LMZ_RESIDENT_GRAPHS 1
#endif
#endif

namespace lmz::engine {

using resident::SlotJob;
using resident::SlotState;

// An iteration's steps for one row count, captured once and replayed.
struct ResidentEngine::Graph {
#ifdef LMZ_RESIDENT_GRAPHS
  LockedGraph graph;
#endif
};

namespace {

// Iterations of a row count that run eagerly before it is captured: the
// first creates the libraries' handles and workspaces on this stream, which
// must not happen during a capture.
constexpr int kEagerIterationsBeforeCapture = 1;

constexpr int64_t kFineTier = 512;

torch::Tensor bytes_tensor(int64_t count, size_t item, const torch::Device& dev) {
  return torch::zeros({count * static_cast<int64_t>(item)},
                      torch::TensorOptions(torch::kUInt8).device(dev));
}

torch::Tensor host_staging(int64_t bytes, bool pinned) {
  return torch::empty({bytes}, torch::TensorOptions(torch::kUInt8).pinned_memory(pinned));
}

template <class T>
T* as(const torch::Tensor& t) {
  return reinterpret_cast<T*>(t.data_ptr<uint8_t>());
}

}  // namespace

ResidentEngine::ResidentEngine(const LstmModel& model, size_t slots, uint64_t arena_budget)
    : model_(model),
      capacity_(std::max<int64_t>(kSlotGranule, (static_cast<int64_t>(slots) + kSlotGranule - 1) /
                                                    kSlotGranule * kSlotGranule)),
      arena_budget_(arena_budget),
      usable_(capacity_) {
  if (model.layers() > kResidentMaxLayers) {
    throw UsageError(
        fmt::format("resident codec: {} layers (at most {})", model.layers(), kResidentMaxLayers));
  }
  const torch::Device dev = model.device();
  const bool cuda = dev.is_cuda();
#ifdef LMZ_CUDA_KERNELS
  if (cuda) stream_.emplace(c10::cuda::getStreamFromPool());
#else
  if (cuda) throw UsageError("resident codec: this build has no CUDA kernels");
#endif
  h_ = model.zero_state(capacity_, torch::kInt8);
  c_ = model.zero_state(capacity_, torch::kInt);
  rows_ = torch::arange(capacity_, torch::TensorOptions(torch::kLong).device(dev));
  jobs_ = bytes_tensor(capacity_, sizeof(SlotJob), dev);
  states_ = bytes_tensor(capacity_, sizeof(SlotState), dev);
  cdf_ = torch::zeros({capacity_, 257}, torch::TensorOptions(torch::kInt).device(dev));
  symbols_ = torch::zeros({capacity_}, torch::TensorOptions(torch::kLong).device(dev));
  const cm::StageTables& tables = cm::stage_tables();
  tables_ = torch::from_blob(const_cast<cm::StageTables*>(&tables),
                             {static_cast<int64_t>(sizeof(tables))}, torch::kUInt8)
                .to(dev, /*non_blocking=*/false, /*copy=*/true);
  arenas_ = torch::empty({1}, torch::TensorOptions(torch::kUInt8).device(dev));
  join_slots_ = bytes_tensor(capacity_, sizeof(uint32_t), dev);
  join_jobs_ = bytes_tensor(capacity_, sizeof(SlotJob), dev);
  host_join_slots_ = host_staging(capacity_ * static_cast<int64_t>(sizeof(uint32_t)), cuda);
  host_join_jobs_ = host_staging(capacity_ * static_cast<int64_t>(sizeof(SlotJob)), cuda);
  host_phases_ = host_staging(capacity_ * static_cast<int64_t>(sizeof(SlotState)), cuda);
  owner_.assign(static_cast<size_t>(capacity_), Owner{});
  driver_ = std::thread([this] { driver_loop(); });
}

ResidentEngine::~ResidentEngine() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  driver_.join();
#ifdef LMZ_CUDA_KERNELS
  if (stream_) stream_->synchronize();
#endif
}

uint64_t ResidentEngine::steps_run() const {
  std::lock_guard lock(mu_);
  return steps_run_;
}

void ResidentEngine::run(std::vector<SlotJob> jobs) {
  if (jobs.empty()) return;
  for (const SlotJob& j : jobs) {
    if (j.raw_size == 0 || j.result == nullptr) {
      throw UsageError("resident codec: a job needs raw_size >= 1 and a result");
    }
  }
  Submission s;
  s.jobs = std::move(jobs);
  std::unique_lock lock(mu_);
  if (broken_) std::rethrow_exception(broken_);
  waiting_.push_back(&s);
  work_cv_.notify_all();
  done_cv_.wait(lock, [&] { return s.done; });
  if (s.error) std::rethrow_exception(s.error);
}

void* ResidentEngine::current_stream() {
#ifdef LMZ_CUDA_KERNELS
  return at::cuda::getCurrentCUDAStream().stream();
#else
  return nullptr;
#endif
}

void* ResidentEngine::stream_handle() const {
#ifdef LMZ_CUDA_KERNELS
  if (stream_) return stream_->stream();
#endif
  return nullptr;
}

void ResidentEngine::driver_loop() {
#ifdef LMZ_CUDA_KERNELS
  std::optional<c10::cuda::CUDAStreamGuard> guard;
  if (stream_) guard.emplace(*stream_);
#endif
  torch::NoGradGuard no_grad;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || !waiting_.empty() || occupied_ > 0; });
      if (stop_ && occupied_ == 0) {
        // Nothing is running; anything still waiting is refused.
        for (Submission* s : waiting_) {
          s->error = std::make_exception_ptr(UsageError("resident codec: engine stopped"));
          s->done = true;
        }
        waiting_.clear();
        done_cv_.notify_all();
        return;
      }
    }
    try {
      run_iteration();
    } catch (...) {
      fail_all(std::current_exception());
    }
  }
}

void ResidentEngine::fail_all(std::exception_ptr error) {
  std::lock_guard lock(mu_);
  broken_ = error;
  for (Owner& o : owner_) {
    if (o.submission != nullptr && !o.submission->done) {
      o.submission->error = error;
      o.submission->done = true;
    }
    o = Owner{};
  }
  for (Submission* s : waiting_) {
    s->error = error;
    s->done = true;
  }
  waiting_.clear();
  occupied_ = 0;
  occupied_high_ = 0;
  done_cv_.notify_all();
}

void ResidentEngine::grow_arenas(uint64_t bytes) {
  bytes = (bytes + 63) / 64 * 64;
  // Graphs hold the old arenas' address, and work in flight may use them.
#ifdef LMZ_CUDA_KERNELS
  if (stream_) stream_->synchronize();
#endif
  graphs_.clear();
  eager_iterations_.clear();
  const auto per_budget = static_cast<int64_t>(arena_budget_ / bytes);
  usable_ = std::clamp<int64_t>(per_budget / kSlotGranule * kSlotGranule, kSlotGranule, capacity_);
  arenas_ = torch::Tensor();  // free the old arenas first
  arenas_ = torch::empty({usable_ * static_cast<int64_t>(bytes)},
                         torch::TensorOptions(torch::kUInt8).device(model_.device()));
  arena_stride_ = bytes;
}

size_t ResidentEngine::place_jobs() {
  std::vector<std::pair<uint32_t, SlotJob>> joins;
  {
    std::lock_guard lock(mu_);
    // Arenas grow only while no window runs, to what the waiting jobs need.
    if (occupied_ == 0 && !waiting_.empty()) {
      uint64_t need = 0;
      for (const Submission* s : waiting_) {
        for (size_t j = s->next; j < s->jobs.size(); ++j) {
          need = std::max(need, resident::slot_arena_bytes(s->jobs[j].stage, s->jobs[j].raw_size));
        }
      }
      if (need > arena_stride_) grow_arenas(need);
    }
    // One job of each waiting submission in turn, into the lowest free
    // slots. A job whose arena is larger than the slots' stops the placing
    // until the batch is empty and the arenas grow (jobs stay in order).
    const auto usable = static_cast<size_t>(usable_);
    size_t slot = 0;
    bool full = false;
    while (!waiting_.empty() && !full) {
      bool placed = false;
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        Submission* s = *it;
        const SlotJob& job = s->jobs[s->next];
        if (resident::slot_arena_bytes(job.stage, job.raw_size) > arena_stride_) {
          full = true;
          break;
        }
        while (slot < usable && owner_[slot].submission != nullptr) ++slot;
        if (slot == usable) {
          full = true;
          break;
        }
        owner_[slot] = Owner{s, s->next};
        joins.emplace_back(static_cast<uint32_t>(slot), job);
        ++s->next;
        ++occupied_;
        occupied_high_ = std::max<int64_t>(occupied_high_, static_cast<int64_t>(slot) + 1);
        placed = true;
        it = s->next == s->jobs.size() ? waiting_.erase(it) : std::next(it);
      }
      if (!placed) break;
    }
  }
  if (joins.empty()) return 0;
  const auto count = static_cast<int64_t>(joins.size());
  auto* slots = as<uint32_t>(host_join_slots_);
  auto* jobs = as<SlotJob>(host_join_jobs_);
  for (size_t k = 0; k < joins.size(); ++k) {
    slots[k] = joins[k].first;
    jobs[k] = joins[k].second;
  }
  JoinArgs a;
  a.count = count;
  a.jobs = as<SlotJob>(jobs_);
  a.states = as<SlotState>(states_);
  a.layers = model_.layers();
  a.hidden = model_.hidden();
  a.arenas = arenas_.data_ptr<uint8_t>();
  a.arena_stride = arena_stride_;
  for (int64_t l = 0; l < a.layers; ++l) {
    a.h[l] = h_[static_cast<size_t>(l)].data_ptr<int8_t>();
    a.c[l] = c_[static_cast<size_t>(l)].data_ptr<int32_t>();
  }
  if (model_.device().is_cpu()) {
    a.slots = slots;
    a.jobs_in = jobs;
    join_slots_cpu(a);
  } else {
    const int64_t slot_bytes = count * static_cast<int64_t>(sizeof(uint32_t));
    const int64_t job_bytes = count * static_cast<int64_t>(sizeof(SlotJob));
    join_slots_.narrow(0, 0, slot_bytes).copy_(host_join_slots_.narrow(0, 0, slot_bytes), true);
    join_jobs_.narrow(0, 0, job_bytes).copy_(host_join_jobs_.narrow(0, 0, job_bytes), true);
    a.slots = as<uint32_t>(join_slots_);
    a.jobs_in = as<SlotJob>(join_jobs_);
    join_slots_cuda(a, stream_handle());
  }
  return joins.size();
}

int64_t ResidentEngine::rows_for_occupied() const {
  // Tiers (each row count is one captured graph): powers of two up to
  // kFineTier, then multiples of kFineTier, so that a batch of n windows
  // runs at most ~1/8 more rows than it needs (6,104 windows: 6,144 rows).
  int64_t rows = kSlotGranule;
  while (rows < occupied_high_ && rows < kFineTier) rows *= 2;
  if (rows < occupied_high_) rows = (occupied_high_ + kFineTier - 1) / kFineTier * kFineTier;
  return std::min(rows, capacity_);
}

void ResidentEngine::step(int64_t row0, int64_t rows) {
  const int64_t hd = model_.hidden();
  const auto layers = static_cast<size_t>(model_.layers());
  auto* cdf = reinterpret_cast<uint32_t*>(cdf_.data_ptr<int32_t>()) + row0 * 257;
  int64_t* symbols = symbols_.data_ptr<int64_t>() + row0;
  // The distribution of every slot's next byte, from the top layer's h.
  {
    torch::Tensor acc = model_.product(h_.back().narrow(0, row0, rows), layers);
    OutputArgs a = model_.output_args();
    a.rows = rows;
    a.acc = acc.data_ptr<int32_t>();
    a.cdf = cdf;
    model_.run(a);
  }
  // Code each slot's byte; the symbols the model observes next.
  SlotStepArgs s;
  s.rows = rows;
  s.jobs = as<SlotJob>(jobs_) + row0;
  s.states = as<SlotState>(states_) + row0;
  s.cdf = cdf;
  s.symbols = symbols;
  s.arena_stride = arena_stride_;
  s.arenas = arenas_.data_ptr<uint8_t>() + static_cast<uint64_t>(row0) * arena_stride_;
  s.tables = as<cm::StageTables>(tables_);
  if (model_.device().is_cpu()) {
    slot_step_cpu(s);
  } else {
    slot_step_cuda(s, current_stream());
  }
  // The model step on those symbols (MODEL.md "One step"); the cell steps
  // address the slots' state rows through rows_ (row0 + k).
  torch::Tensor x = h_[0].narrow(0, row0, rows);
  for (size_t l = 0; l < layers; ++l) {
    torch::Tensor acc = model_.product(x, l);
    CellArgs a = model_.cell_args(l);
    a.rows = rows;
    a.acc = acc.data_ptr<int32_t>();
    a.symbols = symbols;
    a.slots = rows_.data_ptr<int64_t>() + row0;
    a.h = h_[l].data_ptr<int8_t>();
    a.c = c_[l].data_ptr<int32_t>();
    torch::Tensor next;
    if (l + 1 < layers) {
      next = torch::empty({rows, 2 * hd}, h_[l].options());
      a.next_input = next.data_ptr<int8_t>();
      a.next_h = h_[l + 1].data_ptr<int8_t>();
    }
    model_.run(a);
    x = next;
  }
}

void ResidentEngine::steps(int64_t rows, int count) {
#ifdef LMZ_RESIDENT_GRAPHS
  if (stream_) {
    int& eager = eager_iterations_[rows];
    auto it = graphs_.find(rows);
    if (it == graphs_.end() && eager >= kEagerIterationsBeforeCapture) {
      auto g = std::make_unique<Graph>();
      try {
        const std::lock_guard lock(graph_registry_mutex());
        g->graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
        for (int i = 0; i < count; ++i) step(0, rows);
        g->graph->capture_end();
        it = graphs_.emplace(rows, std::move(g)).first;
      } catch (const std::exception&) {
        abort_capture();
        eager = -1000000;  // this row count stays eager (same integers, slower)
      }
    }
    if (it != graphs_.end()) {
      it->second->graph->replay();
      return;
    }
    ++eager;
  }
#endif
  for (int i = 0; i < count; ++i) step(0, rows);
}

void ResidentEngine::run_iteration() {
  place_jobs();
  int64_t rows;
  {
    std::lock_guard lock(mu_);
    rows = rows_for_occupied();
  }
  steps(rows, kStepsPerIteration);
  // Which slots finished: the phases of rows 0..rows-1.
  const int64_t state_bytes = rows * static_cast<int64_t>(sizeof(SlotState));
  std::vector<uint32_t> phases(static_cast<size_t>(rows));
  const SlotState* states;
  if (model_.device().is_cpu()) {
    states = as<SlotState>(states_);
  } else {
    host_phases_.narrow(0, 0, state_bytes).copy_(states_.narrow(0, 0, state_bytes), true);
#ifdef LMZ_CUDA_KERNELS
    stream_->synchronize();
#endif
    states = as<SlotState>(host_phases_);
  }
  for (int64_t k = 0; k < rows; ++k) phases[static_cast<size_t>(k)] = states[k].phase;
  {
    std::lock_guard lock(mu_);
    steps_run_ += kStepsPerIteration;
  }
  harvest(phases);
}

void ResidentEngine::harvest(const std::vector<uint32_t>& phases) {
  std::lock_guard lock(mu_);
  bool any_done = false;
  for (size_t k = 0; k < phases.size(); ++k) {
    Owner& o = owner_[k];
    if (o.submission == nullptr) continue;
    if (phases[k] != resident::kDone && phases[k] != resident::kFailed) continue;
    Submission* s = o.submission;
    o = Owner{};
    --occupied_;
    if (++s->finished == s->jobs.size()) {
      s->done = true;
      any_done = true;
    }
  }
  while (occupied_high_ > 0 &&
         owner_[static_cast<size_t>(occupied_high_ - 1)].submission == nullptr) {
    --occupied_high_;
  }
  if (any_done) done_cv_.notify_all();
}

}  // namespace lmz::engine
