// The in-process window codec: windows are coded in groups of the
// predictor's preferred batch size, one PredictorBatch per group, all
// windows of a group advanced one byte per step in lockstep.
//
// Parallelism: groups run on separate threads (each owns its batch, which
// the Predictor contract allows). When there are fewer groups than threads
// (a GPU-sized batch), each group instead spreads the per-window stage work
// of every step over a small pool of helper threads. Neither choice changes
// a single coded byte: each window only ever touches its own stage, coder
// and predictor slot.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "libcodec/errors.h"
#include "libcodec/predictor.h"
#include "libcodec/range_coder.h"
#include "libcodec/window_codec.h"

namespace lmz {

namespace {

// A step's stage work is handed out in chunks of at least this many windows
// (fewer and the hand-off costs more than it saves), to at most
// kMaxStepThreads threads (the per-step barrier gets slower with each). The
// direct stage's work per window is one range-coder step (~50-100 ns), so it
// is split only for large groups: on an H200 one group of 1,024 windows
// decoded at 3.4 MB/s on one thread and 2.4-2.9 on 2-32 threads.
constexpr size_t kMinStepChunk = 128;
constexpr size_t kMinDirectStepChunk = 1024;
constexpr size_t kMaxStepThreads = 16;

// A predictor that prefers batches of at least kOverlapBatch windows (a GPU)
// gets its windows in up to kOverlappedGroups groups of at least
// kMinOverlappedGroup windows that run at once: while one group's step runs
// on the device, the others code on the CPU, where one big group leaves the
// device idle during its coding. 16 MiB of prose (1,024 windows) on an H200
// decoded at 2.5 MB/s as one group, 5.0 as 2, 5.7 as 4, 6.3 as 8 (same
// archive; bench/results/2026-12-02-gpu-fused.md).
constexpr size_t kOverlapBatch = 1024;
constexpr size_t kOverlappedGroups = 8;
constexpr size_t kMinOverlappedGroup = 128;

// Encoding asks the predictor for up to kMaxRoundsPerCall rounds at once,
// holding at most kTeacherForcedCdfs CDFs (64 MiB) per group.
constexpr size_t kTeacherForcedCdfs = size_t{1} << 16;
constexpr size_t kMaxRoundsPerCall = 64;
// A codec keeps the CDF buffers of finished encode groups for later groups
// (one per thread), except those above kKeptCdfs CDFs (1 MiB): under
// AddressSanitizer a fresh buffer per group (a new mapping, page faults,
// unmapping) cost about a tenth of the fuzz round trip's time, and a GPU
// group's 64 MiB is not worth holding between calls.
constexpr size_t kKeptCdfs = size_t{1} << 10;

// Room for `size` CDFs, left uninitialized: the predictor writes every CDF
// a call uses, so zeroing them first (up to 64 MiB a group) is wasted work.
struct CdfBuffer {
  std::unique_ptr<Cdf[]> data;
  size_t size = 0;
};

// Runs fn(begin, end) over [0, n) split into one chunk per thread, the
// calling thread included. Helper threads live as long as the pool.
class StepPool {
 public:
  using Fn = std::function<void(size_t, size_t)>;

  // Up to `threads` threads, the caller's included; helpers start on the
  // first step that needs them.
  explicit StepPool(size_t threads, size_t min_chunk)
      : max_threads_(std::max<size_t>(1, threads)), min_chunk_(std::max<size_t>(1, min_chunk)) {}

  ~StepPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    start_cv_.notify_all();
    for (auto& t : helpers_) t.join();
  }

  StepPool(const StepPool&) = delete;
  StepPool& operator=(const StepPool&) = delete;

  void run(size_t n, const Fn& fn) {
    size_t parts = std::min(max_threads_, n / min_chunk_);
    if (parts > 1 && !started_) start_helpers();
    parts = std::min(parts, helpers_.size() + 1);
    if (parts <= 1) {
      fn(0, n);
      return;
    }
    {
      std::lock_guard lock(mu_);
      n_ = n;
      parts_ = parts;
      fn_ = &fn;
      pending_ = helpers_.size();
      error_ = nullptr;
      ++generation_;
    }
    start_cv_.notify_all();
    std::exception_ptr mine;
    try {
      run_chunk(0, fn);
    } catch (...) {
      mine = std::current_exception();
    }
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Starts the helper threads; if the system refuses some, works with fewer.
  void start_helpers() {
    started_ = true;
    try {
      for (size_t i = 1; i < max_threads_; ++i)
        helpers_.emplace_back([this, i] { helper_loop(i); });
    } catch (const std::system_error&) {
    }
  }

  // Helpers beyond parts_ have nothing to do this step.
  void run_chunk(size_t index, const Fn& fn) {
    if (index < parts_) fn(n_ * index / parts_, n_ * (index + 1) / parts_);
  }

  void helper_loop(size_t index) {
    uint64_t seen = 0;
    for (;;) {
      const Fn* fn;
      {
        std::unique_lock lock(mu_);
        start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        fn = fn_;
      }
      std::exception_ptr error;
      try {
        run_chunk(index, *fn);
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard lock(mu_);
        if (error && !error_) error_ = error;
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }

  const size_t max_threads_;
  const size_t min_chunk_;
  bool started_ = false;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;
  size_t pending_ = 0;
  bool stop_ = false;
  size_t n_ = 0;
  size_t parts_ = 1;
  const Fn* fn_ = nullptr;
  std::exception_ptr error_;
  std::vector<std::thread> helpers_;
};

// Runs group(g, pool) for every g in [0, groups), spreading groups over
// `threads` threads; when there are fewer groups than threads, each group
// gets the spare threads as its step pool (chunks of at least `min_chunk`
// windows). The first exception is rethrown after every thread stopped.
void for_each_group(size_t groups, size_t threads, size_t min_chunk,
                    const std::function<void(size_t, StepPool&)>& group) {
  if (groups == 0) return;
  const size_t hw = std::max<size_t>(1, threads);
  const size_t runners = std::min(groups, hw);
  const size_t per_group =
      std::clamp<size_t>(hw / std::max<size_t>(1, runners), 1, kMaxStepThreads);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::exception_ptr error;
  auto runner = [&] {
    try {
      StepPool pool(per_group, min_chunk);
      for (;;) {
        const size_t g = next.fetch_add(1);
        if (g >= groups || stop.load()) return;
        group(g, pool);
      }
    } catch (...) {
      stop = true;
      std::lock_guard lock(mu);
      if (!error) error = std::current_exception();
    }
  };
  if (runners <= 1) {
    runner();
  } else {
    std::vector<std::thread> pool;
    for (size_t i = 0; i < runners; ++i) pool.emplace_back(runner);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
}

// The windows [first, first + count) of a call, with their slot order: slots
// sorted by decreasing size, so the windows still active at step t are a
// prefix of `order`.
struct Group {
  size_t first = 0;
  std::vector<uint32_t> order;
  std::vector<size_t> sizes;  // by slot

  // How many windows have more than t bytes (a prefix of order).
  size_t active_at(size_t t, size_t previous) const {
    while (previous > 0 && sizes[order[previous - 1]] <= t) --previous;
    return previous;
  }
  size_t max_size() const { return order.empty() ? 0 : sizes[order[0]]; }
};

Group make_group(size_t first, std::vector<size_t> sizes) {
  Group g;
  g.first = first;
  g.sizes = std::move(sizes);
  // Filled by push_back, not resize(): GCC 12 at -O3 sees a null pointer in
  // the value-initialisation resize() inlines (-Wnull-dereference).
  g.order.reserve(g.sizes.size());
  for (size_t i = 0; i < g.sizes.size(); ++i) g.order.push_back(static_cast<uint32_t>(i));
  std::stable_sort(g.order.begin(), g.order.end(),
                   [&](uint32_t a, uint32_t b) { return g.sizes[a] > g.sizes[b]; });
  return g;
}

class LocalWindowCodec : public WindowCodec {
 public:
  LocalWindowCodec(Predictor& predictor, StageId stage, size_t threads)
      : predictor_(predictor),
        stage_(stage),
        threads_(threads != 0 ? threads
                              : std::max<size_t>(1, std::thread::hardware_concurrency())) {
    make_coding_stage(stage, 1);  // refuse an unknown stage id now, not mid-call
  }

  const ModelId& model() const override { return predictor_.id(); }
  StageId stage() const override { return stage_; }

  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    std::vector<Bytes> result(windows.size());
    const size_t batch = group_size(windows.size());
    const size_t groups = (windows.size() + batch - 1) / batch;
    for_each_group(groups, threads_, min_step_chunk(), [&](size_t g, StepPool& pool) {
      const size_t first = g * batch;
      const size_t count = std::min(batch, windows.size() - first);
      std::vector<size_t> sizes(count);
      for (size_t k = 0; k < count; ++k) sizes[k] = windows[first + k].size();
      encode_group(make_group(first, std::move(sizes)), windows, result, pool);
    });
    return result;
  }

  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override {
    check_decode_buffers(windows, out);
    const size_t batch = group_size(windows.size());
    const size_t groups = (windows.size() + batch - 1) / batch;
    for_each_group(groups, threads_, min_step_chunk(), [&](size_t g, StepPool& pool) {
      const size_t first = g * batch;
      const size_t count = std::min(batch, windows.size() - first);
      std::vector<size_t> sizes(count);
      for (size_t k = 0; k < count; ++k) sizes[k] = windows[first + k].raw_size;
      decode_group(make_group(first, std::move(sizes)), windows, out, pool);
    });
  }

 private:
  // Windows per group (one PredictorBatch each) for a call of `windows`.
  size_t group_size(size_t windows) const {
    const size_t preferred = std::max<size_t>(1, predictor_.preferred_batch_size());
    if (preferred < kOverlapBatch) {
      // A CPU predictor: at least one group per thread where the windows
      // allow. One group would leave the other threads only its per-step
      // stage work, which a neural step on the CPU cannot use: 1 MiB of
      // prose with `small` on 2 cores decoded at 0.05 MB/s as one group of
      // 64 windows, 0.15 MB/s as two of 32.
      const size_t threads = std::max<size_t>(1, threads_);
      return std::clamp<size_t>((windows + threads - 1) / threads, 1, preferred);
    }
    const size_t even = (windows + kOverlappedGroups - 1) / kOverlappedGroups;
    return std::clamp(even, kMinOverlappedGroup, preferred);
  }

  size_t min_step_chunk() const {
    return stage_ == kDirectStage ? kMinDirectStepChunk : kMinStepChunk;
  }

  void encode_group(const Group& g, std::span<const ByteView> windows, std::vector<Bytes>& result,
                    StepPool& pool) {
    const size_t count = g.sizes.size();
    auto batch = predictor_.start_batch(count);
    std::vector<std::unique_ptr<CodingStage>> stages(count);
    std::vector<std::unique_ptr<RangeEncoder>> encoders(count);
    for (size_t k = 0; k < count; ++k) {
      stages[k] = make_coding_stage(stage_, g.sizes[k]);
      encoders[k] = std::make_unique<RangeEncoder>(result[g.first + k]);
    }
    // The bytes are known, so the predictor runs several rounds per call
    // (teacher forcing); a round's active windows stay the same within a
    // call, so a call ends where the shortest active window does.
    const size_t rounds_cap =
        std::clamp<size_t>(kTeacherForcedCdfs / std::max<size_t>(1, count), 1, kMaxRoundsPerCall);
    CdfBuffer cdfs = take_cdfs(std::min(rounds_cap, g.max_size()) * count);
    std::vector<uint8_t> bytes;
    size_t active = count;
    for (size_t t = 0; t < g.max_size();) {
      active = g.active_at(t, active);
      const std::span<const uint32_t> slots(g.order.data(), active);
      const size_t rounds = std::min(rounds_cap, g.sizes[slots[active - 1]] - t);
      bytes.resize(rounds * active);
      const std::span<Cdf> step_cdfs(cdfs.data.get(), rounds * active);
      for (size_t r = 0; r < rounds; ++r) {
        for (size_t k = 0; k < active; ++k) {
          bytes[r * active + k] = windows[g.first + slots[k]][t + r];
        }
      }
      batch->predict_and_observe(slots, rounds, bytes, step_cdfs);
      pool.run(active, [&](size_t begin, size_t end) {
        for (size_t k = begin; k < end; ++k) {
          const uint32_t slot = slots[k];
          for (size_t r = 0; r < rounds; ++r) {
            stages[slot]->encode(step_cdfs[r * active + k], bytes[r * active + k], *encoders[slot]);
          }
        }
      });
      t += rounds;
    }
    for (auto& e : encoders) e->finish();
    keep_cdfs(std::move(cdfs));
  }

  // A kept buffer if one is free and large enough, else a new one.
  CdfBuffer take_cdfs(size_t size) {
    CdfBuffer b;
    {
      std::lock_guard lock(cdfs_mu_);
      if (!kept_cdfs_.empty()) {
        b = std::move(kept_cdfs_.back());
        kept_cdfs_.pop_back();
      }
    }
    if (b.size < size) b = CdfBuffer{std::make_unique_for_overwrite<Cdf[]>(size), size};
    return b;
  }

  void keep_cdfs(CdfBuffer b) {
    if (b.size > kKeptCdfs) return;
    std::lock_guard lock(cdfs_mu_);
    if (kept_cdfs_.size() < threads_) kept_cdfs_.push_back(std::move(b));
  }

  void decode_group(const Group& g, std::span<const EncodedWindowView> windows,
                    std::span<const MutableByteView> out, StepPool& pool) {
    const size_t count = g.sizes.size();
    auto batch = predictor_.start_batch(count);
    std::vector<std::unique_ptr<CodingStage>> stages(count);
    std::vector<std::unique_ptr<RangeDecoder>> decoders(count);
    for (size_t k = 0; k < count; ++k) {
      stages[k] = make_coding_stage(stage_, g.sizes[k]);
      decoders[k] = std::make_unique<RangeDecoder>(windows[g.first + k].coded);
      if (g.sizes[k] == 0) check_end(g.first + k, windows[g.first + k], *decoders[k]);
    }
    std::vector<Cdf> cdfs(count);
    std::vector<uint8_t> bytes(count);
    size_t active = count;
    for (size_t t = 0; t < g.max_size(); ++t) {
      active = g.active_at(t, active);
      const std::span<const uint32_t> slots(g.order.data(), active);
      batch->predict(slots, std::span<Cdf>(cdfs.data(), active));
      pool.run(active, [&](size_t begin, size_t end) {
        for (size_t k = begin; k < end; ++k) {
          const uint32_t slot = slots[k];
          const size_t index = g.first + slot;
          RangeDecoder& decoder = *decoders[slot];
          bytes[k] = stages[slot]->decode(cdfs[k], decoder);
          out[index][t] = bytes[k];
          if (decoder.failed()) throw invalid_coding_error(index, t, g.sizes[slot]);
          if (t + 1 == g.sizes[slot]) check_end(index, windows[index], decoder);
        }
      });
      batch->observe(slots, std::span<const uint8_t>(bytes.data(), active));
    }
  }

  // After a window's last byte: its coded bytes must be exactly what the
  // encoder writes for the bytes decoded (range_coder.h). A window that
  // passes may still hold other bytes than were written (a damaged coding
  // can be the valid coding of different bytes); the container's block
  // checksums catch that.
  static void check_end(size_t index, const EncodedWindowView& window,
                        const RangeDecoder& decoder) {
    if (!decoder.finished_exactly()) throw inexact_end_error(index, window);
  }

  Predictor& predictor_;
  StageId stage_;
  size_t threads_;
  std::mutex cdfs_mu_;
  std::vector<CdfBuffer> kept_cdfs_;  // at most threads_, each <= kKeptCdfs CDFs
};

}  // namespace

std::unique_ptr<WindowCodec> make_local_window_codec(Predictor& predictor, StageId stage,
                                                     size_t threads) {
  if (std::unique_ptr<WindowCodec> resident = predictor.make_resident_codec(stage)) return resident;
  return std::make_unique<LocalWindowCodec>(predictor, stage, threads);
}

}  // namespace lmz
