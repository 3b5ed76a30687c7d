// The fused path (lstm_model.h): state h int8 and c int32 per window, per
// layer one matrix product and one fused cell step that updates the state in
// place, one fused step for the distribution (lstm_kernels.h). On CUDA: a
// stream per batch, CDFs through page-locked memory, and repeated row counts
// replayed as CUDA graphs (builds with LMZ_CUDA_GRAPHS).
#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#ifdef LMZ_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#ifdef LMZ_CUDA_GRAPHS
#include <map>
#include <memory>
#include <mutex>

#include "libcodec/engine/locked_graph.h"
#define LMZ_USE_CUDA_GRAPHS 1
#endif
#endif

#include "libcodec/engine/lstm_model.h"
#include "libcodec/errors.h"

namespace lmz::engine {
namespace {

// predict() hands the CDFs straight to out's memory.
static_assert(sizeof(Cdf) == 257 * sizeof(uint32_t));

#ifdef LMZ_CUDA_KERNELS
using StreamScope = std::optional<c10::cuda::CUDAStreamGuard>;
#else
struct StreamScope {};
#endif

// The fused path: state h int8, c int32, per layer [windows, H], updated in
// place by the cell step at the windows' rows.
class FusedBatch final : public PredictorBatch {
 public:
  FusedBatch(const LstmModel& model, size_t windows);
  ~FusedBatch() override;
  FusedBatch(const FusedBatch&) = delete;
  FusedBatch& operator=(const FusedBatch&) = delete;
  size_t size() const override { return size_; }
  void predict(std::span<const uint32_t> slots, std::span<Cdf> out) override;
  void observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) override;
  void predict_and_observe(std::span<const uint32_t> slots, size_t steps,
                           std::span<const uint8_t> bytes, std::span<Cdf> out) override;

 private:
  // The windows of one call on the device: `slots` [padded rows] (slots,
  // then the first slot again up to the row count the matrix product
  // wants), followed by the input symbols [steps * rows], step-major.
  struct Rows {
    int64_t rows = 0;
    torch::Tensor slots;  // [padded rows] int64
    torch::Tensor all;    // owns slots and symbols
    const int64_t* symbols = nullptr;
  };
  Rows rows_of(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) const;
  Rows start_rows(size_t windows) const;
  // One step (MODEL.md "One step") of r's windows on `symbols` [rows].
  void step(const Rows& r, const int64_t* symbols);
  // The output distribution of r's windows as CDFs into `cdf` [rows, 257]
  // (device memory on CUDA, host memory on the CPU).
  void distribution(const Rows& r, uint32_t* cdf) const;
  // `cdfs` [n, 257] on the device -> out (n CDFs in host memory).
  static void copy_cdfs(const torch::Tensor& cdfs, std::span<Cdf> out);
  StreamScope use_stream() const;
#ifdef LMZ_USE_CUDA_GRAPHS
  // A step's device work for a fixed number of windows, captured once as
  // CUDA graphs and replayed: one launch instead of a dozen libtorch calls,
  // whose host-side cost otherwise dominates a step. The graphs read their
  // slots and symbols from `rows` (device buffers at fixed addresses) and
  // the distribution graph writes `cdf`; the same kernels run, so the same
  // integers come out.
  struct Graphs {
    Rows rows;
    std::vector<uint32_t> uploaded;  // the slots now in rows.slots
    torch::Tensor cdf;               // [rows, 257] int32
    LockedGraph distribution;
    LockedGraph step;
  };
  // The graphs for `slots`' row count, with the slots uploaded; null when
  // the call should run eagerly (not on CUDA, a row count not yet seen
  // often enough, or capture failed once).
  Graphs* graphs_for(std::span<const uint32_t> slots);
  // Puts `bytes` into r's symbols (the first bytes.size() of them).
  static void upload_symbols(Rows& r, std::span<const uint8_t> bytes);
  // Teacher forcing for a fixed row count and number of rounds as one graph:
  // every round's distribution (into `cdfs`) and step, reading all rounds'
  // symbols from `rows`. One launch per call instead of four per round.
  struct ForcedGraph {
    Rows rows;
    std::vector<uint32_t> uploaded;  // the slots now in rows.slots
    torch::Tensor cdfs;              // [steps * rows, 257] int32
    LockedGraph graph;
  };
  // The graph for this call's row count and rounds with its slots and
  // symbols uploaded, or null (as graphs_for).
  ForcedGraph* forced_graph_for(std::span<const uint32_t> slots, size_t steps,
                                std::span<const uint8_t> bytes);
  // Puts `slots` into r.slots unless they are there already.
  void upload_slots(Rows& r, std::vector<uint32_t>& uploaded,
                    std::span<const uint32_t> slots) const;
  // Whether a call with `key` may capture: the same key `kCallsBeforeCapture`
  // times in a row before (counted in `last`, `repeats`).
  static bool ready_to_capture(std::pair<int64_t, size_t> key, std::pair<int64_t, size_t>& last,
                               int& repeats);
  static constexpr int kCallsBeforeCapture = 2;  // eager calls of a row count first
  static constexpr size_t kMaxGraphSets = 4;
  std::map<int64_t, std::unique_ptr<Graphs>> graphs_;
  std::map<std::pair<int64_t, size_t>, std::unique_ptr<ForcedGraph>> forced_;
  std::pair<int64_t, size_t> last_key_{-1, 0}, last_forced_key_{-1, 0};
  int repeats_ = 0, forced_repeats_ = 0;
  bool graphs_failed_ = false;
#endif

  const LstmModel& model_;
  size_t size_;
  std::vector<torch::Tensor> h_;  // per layer [n, H] int8
  std::vector<torch::Tensor> c_;  // per layer [n, H] int32
#ifdef LMZ_CUDA_KERNELS
  // On CUDA each batch has its own stream: batches of different threads
  // (window groups) then overlap on the device, and a call waits for its
  // own batch's work only.
  std::optional<c10::cuda::CUDAStream> stream_;
#endif
};

FusedBatch::FusedBatch(const LstmModel& model, size_t windows) : model_(model), size_(windows) {
#ifdef LMZ_CUDA_KERNELS
  if (model.device().is_cuda()) stream_.emplace(c10::cuda::getStreamFromPool());
#endif
  [[maybe_unused]] const StreamScope scope = use_stream();
  auto n = static_cast<int64_t>(windows);
  h_ = model.zero_state(n, torch::kInt8);
  c_ = model.zero_state(n, torch::kInt);
  if (n > 0) {
    const Rows r = start_rows(windows);
    step(r, r.symbols);
  }
}

FusedBatch::~FusedBatch() {
#ifdef LMZ_CUDA_KERNELS
  // The last observe() may still run on the device, using the state and the
  // graphs' memory that the members' destructors hand back.
  if (stream_) stream_->synchronize();
#endif
}

// The host side of Rows::all: the slots, the first slot again up to
// `padded`, then `bytes` as symbols.
std::vector<int64_t> rows_layout(std::span<const uint32_t> slots, int64_t padded,
                                 std::span<const uint8_t> bytes) {
  std::vector<int64_t> host(static_cast<size_t>(padded) + bytes.size(), slots[0]);
  std::copy(slots.begin(), slots.end(), host.begin());
  std::copy(bytes.begin(), bytes.end(), host.begin() + padded);
  return host;
}

FusedBatch::Rows FusedBatch::rows_of(std::span<const uint32_t> slots,
                                     std::span<const uint8_t> bytes) const {
  check_slots(slots, size_);
  Rows r;
  r.rows = static_cast<int64_t>(slots.size());
  const int64_t padded = model_.padded_rows(r.rows);
  r.all = torch::tensor(rows_layout(slots, padded, bytes), torch::kLong).to(model_.device());
  r.slots = r.all.narrow(0, 0, padded);
  r.symbols = r.all.data_ptr<int64_t>() + padded;
  return r;
}

FusedBatch::Rows FusedBatch::start_rows(size_t windows) const {
  std::vector<uint32_t> slots(windows);
  for (size_t k = 0; k < windows; ++k) slots[k] = static_cast<uint32_t>(k);
  // Symbols are bytes in rows_of; the start symbol 256 is not, so set it after.
  Rows r = rows_of(slots, std::vector<uint8_t>(windows, 0));
  r.all.narrow(0, r.slots.size(0), r.rows).fill_(kStartSymbol);
  return r;
}

void FusedBatch::step(const Rows& r, const int64_t* symbols) {
  const int64_t hd = model_.hidden();
  torch::Tensor x = h_[0].index_select(0, r.slots);
  for (int64_t l = 0; l < model_.layers(); ++l) {
    const auto lu = static_cast<size_t>(l);
    torch::Tensor acc = model_.product(x, lu);
    CellArgs a = model_.cell_args(lu);
    a.rows = r.rows;
    a.acc = acc.data_ptr<int32_t>();
    a.symbols = symbols;
    a.slots = r.slots.data_ptr<int64_t>();
    a.h = h_[lu].data_ptr<int8_t>();
    a.c = c_[lu].data_ptr<int32_t>();
    torch::Tensor next;
    if (l + 1 < model_.layers()) {
      next = torch::empty({r.slots.size(0), 2 * hd}, h_[lu].options());
      a.next_input = next.data_ptr<int8_t>();
      a.next_h = h_[lu + 1].data_ptr<int8_t>();
    }
    model_.run(a);
    x = next;
  }
}

void FusedBatch::distribution(const Rows& r, uint32_t* cdf) const {
  torch::Tensor acc = model_.product(h_.back().index_select(0, r.slots), h_.size());
  OutputArgs a = model_.output_args();
  a.rows = r.rows;
  a.acc = acc.data_ptr<int32_t>();
  a.cdf = cdf;
  model_.run(a);
}

StreamScope FusedBatch::use_stream() const {
#ifdef LMZ_CUDA_KERNELS
  if (stream_) return StreamScope(std::in_place, *stream_);
#endif
  return StreamScope();
}

void FusedBatch::copy_cdfs(const torch::Tensor& cdfs, std::span<Cdf> out) {
  // Through page-locked memory: a device-to-host copy into pageable memory
  // runs at a quarter of the speed (4 MiB: 0.39 ms against 0.09 ms on an
  // H200), and a decoding step copies 1 KiB per window.
  auto pinned = torch::empty(cdfs.sizes(), cdfs.options().device(torch::kCPU).pinned_memory(true));
  pinned.copy_(cdfs);
  std::memcpy(out.data(), pinned.data_ptr<int32_t>(), out.size() * sizeof(Cdf));
}

void FusedBatch::predict(std::span<const uint32_t> slots, std::span<Cdf> out) {
  if (out.size() != slots.size()) throw UsageError("predict: slots and out differ in size");
  if (slots.empty()) return;
  torch::NoGradGuard no_grad;
  [[maybe_unused]] const StreamScope scope = use_stream();
#ifdef LMZ_USE_CUDA_GRAPHS
  if (Graphs* g = graphs_for(slots)) {
    g->distribution->replay();
    return copy_cdfs(g->cdf, out);
  }
#endif
  const Rows r = rows_of(slots, {});
  if (model_.device().is_cpu()) return distribution(r, out.data()->data());
  auto cdfs =
      torch::empty({r.rows, 257}, torch::TensorOptions(torch::kInt).device(model_.device()));
  distribution(r, reinterpret_cast<uint32_t*>(cdfs.data_ptr<int32_t>()));
  copy_cdfs(cdfs, out);
}

void FusedBatch::observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) {
  if (bytes.size() != slots.size()) throw UsageError("observe: slots and bytes differ in size");
  if (slots.empty()) return;
  torch::NoGradGuard no_grad;
  [[maybe_unused]] const StreamScope scope = use_stream();
#ifdef LMZ_USE_CUDA_GRAPHS
  if (Graphs* g = graphs_for(slots)) {
    upload_symbols(g->rows, bytes);
    return g->step->replay();
  }
#endif
  const Rows r = rows_of(slots, bytes);
  step(r, r.symbols);
}

void FusedBatch::predict_and_observe(std::span<const uint32_t> slots, size_t steps,
                                     std::span<const uint8_t> bytes, std::span<Cdf> out) {
  const size_t n = slots.size();
  check_rounds(n, steps, bytes.size(), out.size());
  if (n == 0 || steps == 0) return;
  torch::NoGradGuard no_grad;
  [[maybe_unused]] const StreamScope scope = use_stream();
#ifdef LMZ_USE_CUDA_GRAPHS
  if (ForcedGraph* g = forced_graph_for(slots, steps, bytes)) {
    g->graph->replay();
    return copy_cdfs(g->cdfs, out);
  }
#endif
  const Rows r = rows_of(slots, bytes);
  const bool cpu = model_.device().is_cpu();
  torch::Tensor cdfs;
  uint32_t* base = out.data()->data();
  if (!cpu) {
    cdfs = torch::empty({static_cast<int64_t>(steps) * r.rows, 257},
                        torch::TensorOptions(torch::kInt).device(model_.device()));
    base = reinterpret_cast<uint32_t*>(cdfs.data_ptr<int32_t>());
  }
  for (size_t t = 0; t < steps; ++t) {
    distribution(r, base + t * n * 257);
    step(r, r.symbols + t * n);
  }
  // One transfer for all rounds.
  if (!cpu) copy_cdfs(cdfs, out);
}

#ifdef LMZ_USE_CUDA_GRAPHS
FusedBatch::Graphs* FusedBatch::graphs_for(std::span<const uint32_t> slots) {
  if (!stream_ || graphs_failed_) return nullptr;
  const auto rows = static_cast<int64_t>(slots.size());
  auto it = graphs_.find(rows);
  if (it == graphs_.end()) {
    // Capture only a row count that comes back call after call (capture
    // costs several eager steps), and only after eager calls of it on this
    // stream have created the library handles and workspaces that must not
    // be created during a capture.
    if (!ready_to_capture({rows, 0}, last_key_, repeats_)) return nullptr;
    check_slots(slots, size_);
    auto g = std::make_unique<Graphs>();
    g->rows = rows_of(slots, std::vector<uint8_t>(slots.size(), 0));
    g->uploaded.assign(slots.begin(), slots.end());
    g->cdf = torch::empty({rows, 257}, torch::TensorOptions(torch::kInt).device(model_.device()));
    try {
      const std::lock_guard lock(graph_registry_mutex());
      // Thread-local capture: other threads' batches keep running.
      g->distribution->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      distribution(g->rows, reinterpret_cast<uint32_t*>(g->cdf.data_ptr<int32_t>()));
      g->distribution->capture_end();
      g->step->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      step(g->rows, g->rows.symbols);
      g->step->capture_end();
    } catch (const std::exception&) {
      // Eager steps give the same integers, only slower.
      abort_capture();
      graphs_failed_ = true;
      return nullptr;
    }
    if (graphs_.size() >= kMaxGraphSets) {
      stream_->synchronize();  // a replay in flight still uses the graph's memory
      graphs_.erase(graphs_.begin());
    }
    it = graphs_.emplace(rows, std::move(g)).first;
  }
  Graphs& g = *it->second;
  upload_slots(g.rows, g.uploaded, slots);
  return &g;
}

bool FusedBatch::ready_to_capture(std::pair<int64_t, size_t> key, std::pair<int64_t, size_t>& last,
                                  int& repeats) {
  repeats = key == last ? repeats + 1 : 0;
  last = key;
  return repeats >= kCallsBeforeCapture;
}

void FusedBatch::upload_slots(Rows& r, std::vector<uint32_t>& uploaded,
                              std::span<const uint32_t> slots) const {
  if (std::equal(slots.begin(), slots.end(), uploaded.begin(), uploaded.end())) return;
  check_slots(slots, size_);
  r.slots.copy_(torch::tensor(rows_layout(slots, r.slots.size(0), {}), torch::kLong));
  uploaded.assign(slots.begin(), slots.end());
}

FusedBatch::ForcedGraph* FusedBatch::forced_graph_for(std::span<const uint32_t> slots, size_t steps,
                                                      std::span<const uint8_t> bytes) {
  if (!stream_ || graphs_failed_) return nullptr;
  const auto rows = static_cast<int64_t>(slots.size());
  const std::pair<int64_t, size_t> key{rows, steps};
  auto it = forced_.find(key);
  if (it == forced_.end()) {
    if (!ready_to_capture(key, last_forced_key_, forced_repeats_)) return nullptr;
    auto g = std::make_unique<ForcedGraph>();
    g->rows = rows_of(slots, bytes);  // this call's slots and symbols
    g->uploaded.assign(slots.begin(), slots.end());
    g->cdfs = torch::empty({static_cast<int64_t>(steps) * rows, 257},
                           torch::TensorOptions(torch::kInt).device(model_.device()));
    try {
      const std::lock_guard lock(graph_registry_mutex());
      auto* cdfs = reinterpret_cast<uint32_t*>(g->cdfs.data_ptr<int32_t>());
      g->graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      for (size_t t = 0; t < steps; ++t) {
        distribution(g->rows, cdfs + t * slots.size() * 257);
        step(g->rows, g->rows.symbols + t * slots.size());
      }
      g->graph->capture_end();
    } catch (const std::exception&) {
      abort_capture();
      graphs_failed_ = true;
      return nullptr;
    }
    if (forced_.size() >= kMaxGraphSets) {
      stream_->synchronize();  // a replay in flight still uses the graph's memory
      forced_.erase(forced_.begin());
    }
    return forced_.emplace(key, std::move(g)).first->second.get();
  }
  ForcedGraph& g = *it->second;
  upload_slots(g.rows, g.uploaded, slots);
  upload_symbols(g.rows, bytes);
  return &g;
}

void FusedBatch::upload_symbols(Rows& r, std::span<const uint8_t> bytes) {
  r.all.narrow(0, r.slots.size(0), static_cast<int64_t>(bytes.size()))
      .copy_(torch::tensor(std::vector<int64_t>(bytes.begin(), bytes.end()), torch::kLong));
}
#endif

}  // namespace

#ifdef LMZ_USE_CUDA_GRAPHS
std::mutex& graph_registry_mutex() {
  static std::mutex mutex;
  return mutex;
}

void abort_capture() {
  cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) == cudaSuccess &&
      status != cudaStreamCaptureStatusNone) {
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(stream, &partial);
    if (partial != nullptr) cudaGraphDestroy(partial);
  }
  cudaGetLastError();  // clears the failed capture's error
}
#endif

std::unique_ptr<PredictorBatch> make_fused_batch(const LstmModel& model, size_t windows) {
  torch::NoGradGuard no_grad;
  return std::make_unique<FusedBatch>(model, windows);
}

}  // namespace lmz::engine
