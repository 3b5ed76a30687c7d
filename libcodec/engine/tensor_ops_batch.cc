// The tensor-ops path (lstm_model.h): every operation of a step is a
// libtorch integer tensor operation, on either device. The reference the
// fused path is tested against (tests/engine), and the CUDA path of builds
// without the engine's CUDA kernels.
#include <vector>

#include "libcodec/engine/lstm_model.h"
#include "libcodec/errors.h"

namespace lmz::engine {
namespace {

// The tensor-ops path: state h float32 (integer values), c int64, per layer
// [windows, H]; a step gathers the rows of its windows, computes and
// scatters them back.
class TensorOpsBatch final : public PredictorBatch {
 public:
  TensorOpsBatch(const LstmModel& model, size_t windows);
  size_t size() const override { return size_; }
  void predict(std::span<const uint32_t> slots, std::span<Cdf> out) override;
  void observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) override;
  void predict_and_observe(std::span<const uint32_t> slots, size_t steps,
                           std::span<const uint8_t> bytes, std::span<Cdf> out) override;

 private:
  torch::Tensor slot_tensor(std::span<const uint32_t> slots) const;
  // Gathers the state of `idx`'s windows; scatter() writes it back.
  void gather(const torch::Tensor& idx, std::vector<torch::Tensor>& h,
              std::vector<torch::Tensor>& c) const;
  void scatter(const torch::Tensor& idx, const std::vector<torch::Tensor>& h,
               const std::vector<torch::Tensor>& c);

  const LstmModel& model_;
  size_t size_;
  std::vector<torch::Tensor> h_;  // per layer [n, H] float32 holding integers -127..127
  std::vector<torch::Tensor> c_;  // per layer [n, H] int64, Q15
};

TensorOpsBatch::TensorOpsBatch(const LstmModel& model, size_t windows)
    : model_(model), size_(windows) {
  auto n = static_cast<int64_t>(windows);
  h_ = model.zero_state(n, torch::kFloat);
  c_ = model.zero_state(n, torch::kLong);
  if (n > 0) {
    model_.step(
        torch::full({n}, kStartSymbol, torch::TensorOptions(torch::kLong).device(model.device())),
        h_, c_);
  }
}

torch::Tensor TensorOpsBatch::slot_tensor(std::span<const uint32_t> slots) const {
  check_slots(slots, size_);
  std::vector<int64_t> idx(slots.begin(), slots.end());
  return torch::tensor(idx, torch::kLong).to(model_.device());
}

// Frequencies [rows, 256] (int32, on the CPU) -> CDFs.
void frequencies_to_cdfs(const torch::Tensor& freqs, std::span<Cdf> out) {
  const int32_t* p = freqs.data_ptr<int32_t>();
  for (size_t k = 0; k < out.size(); ++k) {
    Cdf& cdf = out[k];
    cdf[0] = 0;
    for (size_t s = 0; s < 256; ++s) cdf[s + 1] = cdf[s] + static_cast<uint32_t>(p[k * 256 + s]);
  }
}

void TensorOpsBatch::gather(const torch::Tensor& idx, std::vector<torch::Tensor>& h,
                            std::vector<torch::Tensor>& c) const {
  for (size_t l = 0; l < h_.size(); ++l) {
    h.push_back(h_[l].index_select(0, idx));
    c.push_back(c_[l].index_select(0, idx));
  }
}

void TensorOpsBatch::scatter(const torch::Tensor& idx, const std::vector<torch::Tensor>& h,
                             const std::vector<torch::Tensor>& c) {
  for (size_t l = 0; l < h_.size(); ++l) {
    h_[l].index_copy_(0, idx, h[l]);
    c_[l].index_copy_(0, idx, c[l]);
  }
}

void TensorOpsBatch::predict(std::span<const uint32_t> slots, std::span<Cdf> out) {
  if (out.size() != slots.size()) throw UsageError("predict: slots and out differ in size");
  if (slots.empty()) return;
  torch::NoGradGuard no_grad;
  auto idx = slot_tensor(slots);
  frequencies_to_cdfs(model_.freqs(h_.back().index_select(0, idx)).cpu().contiguous(), out);
}

void TensorOpsBatch::observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) {
  if (bytes.size() != slots.size()) throw UsageError("observe: slots and bytes differ in size");
  if (slots.empty()) return;
  torch::NoGradGuard no_grad;
  auto idx = slot_tensor(slots);
  std::vector<int64_t> sym(bytes.begin(), bytes.end());
  auto sym_t = torch::tensor(sym, torch::kLong).to(model_.device());
  std::vector<torch::Tensor> h, c;
  gather(idx, h, c);
  model_.step(sym_t, h, c);
  scatter(idx, h, c);
}

void TensorOpsBatch::predict_and_observe(std::span<const uint32_t> slots, size_t steps,
                                         std::span<const uint8_t> bytes, std::span<Cdf> out) {
  const size_t n = slots.size();
  check_rounds(n, steps, bytes.size(), out.size());
  if (n == 0 || steps == 0) return;
  torch::NoGradGuard no_grad;
  auto idx = slot_tensor(slots);
  std::vector<int64_t> sym(bytes.begin(), bytes.end());
  auto sym_t = torch::tensor(sym, torch::kLong)
                   .view({static_cast<int64_t>(steps), static_cast<int64_t>(n)})
                   .to(model_.device());
  std::vector<torch::Tensor> h, c;
  gather(idx, h, c);
  std::vector<torch::Tensor> freqs;
  for (size_t t = 0; t < steps; ++t) {
    freqs.push_back(model_.freqs(h.back()));
    model_.step(sym_t[static_cast<int64_t>(t)], h, c);
  }
  scatter(idx, h, c);
  // One transfer for all rounds: [steps * n, 256].
  frequencies_to_cdfs(torch::cat(freqs, 0).cpu().contiguous(), out);
}

}  // namespace

std::unique_ptr<PredictorBatch> make_tensor_ops_batch(const LstmModel& model, size_t windows) {
  torch::NoGradGuard no_grad;
  return std::make_unique<TensorOpsBatch>(model, windows);
}

}  // namespace lmz::engine
