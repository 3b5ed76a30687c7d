// The integer LSTM of spec/MODEL.md on libtorch tensors, one code path for
// CPU and CUDA. Every value that reaches the CDF is an integer computed with
// integer tensor operations; the only float operations are matrix products
// of int8-valued operands with inner dimension at most 1024 (exact in
// float32, MODEL.md "Exact matrix products"), converted back to int64.
#include "libcodec/engine/lstm_predictor.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <climits>

#include "libcodec/errors.h"

namespace lmz {
namespace {

constexpr int64_t kLutHalf = 2048;
constexpr int64_t kLutSize = 4096;
constexpr int64_t kMaxExactInner = 1024;
constexpr int64_t kStartSymbol = 256;

torch::Tensor floor_div(const torch::Tensor& t, int64_t d) {
  return torch::div(t, d, "floor");
}

torch::Tensor i64(const std::vector<int32_t>& v, const torch::Device& dev) {
  return torch::tensor(std::vector<int64_t>(v.begin(), v.end()), torch::kLong).to(dev);
}

// int8 matrix rows x cols -> float32 tensor [cols, rows] (transposed, for x @ W^T).
torch::Tensor weights_t(const IntMatrix& m, int64_t col0, int64_t ncols, const torch::Device& dev) {
  auto all =
      torch::from_blob(const_cast<int8_t*>(m.weights.data()),
                       {static_cast<int64_t>(m.rows), static_cast<int64_t>(m.cols)}, torch::kInt8);
  return all.narrow(1, col0, ncols).to(torch::kFloat).t().contiguous().to(dev);
}

class LstmPredictor;

class LstmBatch final : public PredictorBatch {
 public:
  LstmBatch(const LstmPredictor& model, size_t windows);
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

  const LstmPredictor& model_;
  size_t size_;
  std::vector<torch::Tensor> h_;  // per layer [n, H] float32 holding integers -127..127
  std::vector<torch::Tensor> c_;  // per layer [n, H] int64, Q15
};

class LstmPredictor final : public Predictor {
 public:
  LstmPredictor(const LstmModelFile& f, std::string name, torch::Device dev, bool tensor_ops)
      : dev_(dev),
        loops_(dev.is_cpu() && !tensor_ops),
        hidden_(f.hidden),
        layers_(f.layers),
        shift_(f.shift),
        clamp_(f.cell_clamp),
        sig_(f.sigmoid_lut),
        tanh_(f.tanh_lut),
        exp_(f.exp_lut) {
    for (const IntMatrix& m : f.lstm) {
      host_mult_.emplace_back(m.multiplier.begin(), m.multiplier.end());
      host_bias_.emplace_back(m.bias.begin(), m.bias.end());
    }
    host_mult_.emplace_back(f.output.multiplier.begin(), f.output.multiplier.end());
    host_bias_.emplace_back(f.output.bias.begin(), f.output.bias.end());
    id_.name = std::move(name);
    id_.hash = f.hash;
    // Layer 0's input term for each of the 257 input symbols, precomputed
    // exactly (float64 sums of at most 4096 products of int8 values).
    const IntMatrix& l0 = f.lstm[0];
    auto emb = torch::from_blob(const_cast<int8_t*>(f.embedding.data()),
                                {257, static_cast<int64_t>(f.embed)}, torch::kInt8)
                   .to(torch::kDouble);
    auto w0 = torch::from_blob(const_cast<int8_t*>(l0.weights.data()),
                               {static_cast<int64_t>(l0.rows), static_cast<int64_t>(l0.cols)},
                               torch::kInt8)
                  .narrow(1, 0, f.embed)
                  .to(torch::kDouble);
    input0_ = torch::matmul(emb, w0.t()).round().to(torch::kLong).to(dev_);
    for (uint32_t l = 0; l < f.layers; ++l) {
      const IntMatrix& m = f.lstm[l];
      int64_t in = l == 0 ? 0 : hidden_;  // layer 0's input part is in input0_
      int64_t col0 = l == 0 ? f.embed : 0;
      w_.push_back(weights_t(m, col0, in + hidden_, dev_));
      mult_.push_back(i64(m.multiplier, dev_));
      bias_.push_back(i64(m.bias, dev_));
    }
    wo_ = weights_t(f.output, 0, hidden_, dev_);
    mult_o_ = i64(f.output.multiplier, dev_);
    bias_o_ = i64(f.output.bias, dev_);
    std::vector<int32_t> lut(f.sigmoid_lut);
    lut.insert(lut.end(), f.tanh_lut.begin(), f.tanh_lut.end());
    gate_lut_ = i64(lut, dev_);
    exp_lut_ = i64(f.exp_lut, dev_);
    // Gate order i, f, g, o: g reads the tanh half of gate_lut_.
    gate_offset_ = torch::zeros({4 * hidden_}, torch::kLong);
    gate_offset_.narrow(0, 2 * hidden_, hidden_).fill_(kLutSize);
    gate_offset_ = (gate_offset_ + kLutHalf).to(dev_);
    symbols_ = torch::arange(256, torch::kLong).to(dev_);
    // Our matrix products are exact with TF32 inputs (spec/MODEL.md, "Exact
    // matrix products"), and TF32 tensor cores run them several times faster
    // than full float32. The switch is process-wide; nothing else in lmz
    // multiplies float matrices.
    if (dev_.is_cuda()) at::globalContext().setAllowTF32CuBLAS(true);
  }

  const ModelId& id() const override { return id_; }
  std::unique_ptr<PredictorBatch> start_batch(size_t windows) override {
    torch::NoGradGuard no_grad;
    return std::make_unique<LstmBatch>(*this, windows);
  }
  size_t preferred_batch_size() const override { return dev_.is_cuda() ? 4096 : 64; }

  // x [n, K] float32 integer-valued, wt [K, N] -> exact int64 x @ wt.
  torch::Tensor exact_mm(const torch::Tensor& x, const torch::Tensor& wt) const {
    const int64_t k = x.size(1);
    torch::Tensor acc;
    for (int64_t k0 = 0; k0 < k; k0 += kMaxExactInner) {
      int64_t len = std::min(kMaxExactInner, k - k0);
      auto part = torch::matmul(x.narrow(1, k0, len), wt.narrow(0, k0, len)).to(torch::kLong);
      acc = acc.defined() ? acc + part : part;
    }
    return acc;
  }

  torch::Tensor rescale(const torch::Tensor& acc, const torch::Tensor& m,
                        const torch::Tensor& b) const {
    return floor_div(acc * m + (int64_t{1} << (shift_ - 1)), int64_t{1} << shift_) + b;
  }

  // One step for the windows whose states are h, c (updated in place):
  // sym [n] int64 in 0..256.
  void step(const torch::Tensor& sym, std::vector<torch::Tensor>& h,
            std::vector<torch::Tensor>& c) const {
    torch::Tensor v;
    for (int64_t l = 0; l < layers_; ++l) {
      torch::Tensor acc = l == 0 ? input0_.index_select(0, sym) + exact_mm(h[0], w_[0])
                                 : exact_mm(torch::cat({v, h[l]}, 1), w_[l]);
      if (loops_) {
        cell_loops(l, acc.contiguous(), h[l], c[l]);
        v = h[l];
        continue;
      }
      auto z = rescale(acc, mult_[l], bias_[l]).clamp(-kLutHalf, kLutHalf - 1) + gate_offset_;
      auto act = gate_lut_.take(z);
      auto i = act.narrow(1, 0, hidden_);
      auto f = act.narrow(1, hidden_, hidden_);
      auto g = act.narrow(1, 2 * hidden_, hidden_);
      auto o = act.narrow(1, 3 * hidden_, hidden_);
      auto cn =
          floor_div(f * c[l] + i * g + (int64_t{1} << 14), int64_t{1} << 15).clamp(-clamp_, clamp_);
      auto ti = floor_div(cn + 64, 128).clamp(-kLutHalf, kLutHalf - 1) + (kLutHalf + kLutSize);
      auto t = gate_lut_.take(ti);
      auto hn = floor_div(o * t * 127 + (int64_t{1} << 29), int64_t{1} << 30).to(torch::kFloat);
      h[l] = hn;
      c[l] = cn;
      v = hn;
    }
  }

  int64_t rescale1(int64_t acc, int64_t m, int64_t b) const {
    // floor_div by 2^shift_: >> on int64 is arithmetic (C++20).
    return ((acc * m + (int64_t{1} << (shift_ - 1))) >> shift_) + b;
  }

  // The cell (MODEL.md steps 2-7) in plain loops: same integers as the
  // tensor code, without per-operation dispatch cost on the CPU.
  void cell_loops(int64_t l, const torch::Tensor& acc, torch::Tensor& h, torch::Tensor& c) const {
    const int64_t n = acc.size(0), hd = hidden_;
    auto hn = torch::empty({n, hd}, torch::kFloat);
    auto cn = torch::empty({n, hd}, torch::kLong);
    const int64_t* a = acc.data_ptr<int64_t>();
    auto cc = c.contiguous();
    const int64_t* cin = cc.data_ptr<int64_t>();
    float* ho = hn.data_ptr<float>();
    int64_t* co = cn.data_ptr<int64_t>();
    const int64_t* m = host_mult_[static_cast<size_t>(l)].data();
    const int64_t* b = host_bias_[static_cast<size_t>(l)].data();
    auto gate = [&](const std::vector<int32_t>& lut, int64_t row, int64_t r) {
      int64_t z = std::clamp(rescale1(a[row + r], m[r], b[r]), -kLutHalf, kLutHalf - 1);
      return int64_t{lut[static_cast<size_t>(z + kLutHalf)]};
    };
    for (int64_t k = 0; k < n; ++k) {
      const int64_t row = k * 4 * hd;
      for (int64_t j = 0; j < hd; ++j) {
        int64_t i = gate(sig_, row, j);
        int64_t f = gate(sig_, row, hd + j);
        int64_t g = gate(tanh_, row, 2 * hd + j);
        int64_t o = gate(sig_, row, 3 * hd + j);
        int64_t cv =
            std::clamp((f * cin[k * hd + j] + i * g + (int64_t{1} << 14)) >> 15, -clamp_, clamp_);
        int64_t ti = std::clamp((cv + 64) >> 7, -kLutHalf, kLutHalf - 1) + kLutHalf;
        int64_t t = tanh_[static_cast<size_t>(ti)];
        co[k * hd + j] = cv;
        ho[k * hd + j] = static_cast<float>((o * t * 127 + (int64_t{1} << 29)) >> 30);
      }
    }
    h = hn;
    c = cn;
  }

  torch::Tensor freqs_loops(const torch::Tensor& acc_t) const {
    const int64_t n = acc_t.size(0);
    auto acc = acc_t.contiguous();
    const int64_t* a = acc.data_ptr<int64_t>();
    auto out = torch::empty({n, 256}, torch::kInt);
    int32_t* fr = out.data_ptr<int32_t>();
    const int64_t* m = host_mult_.back().data();
    const int64_t* b = host_bias_.back().data();
    int64_t lg[256], p[256];
    for (int64_t k = 0; k < n; ++k) {
      int64_t mx = INT64_MIN;
      size_t first = 0;
      for (size_t s = 0; s < 256; ++s) {
        lg[s] = rescale1(a[k * 256 + static_cast<int64_t>(s)], m[s], b[s]);
        if (lg[s] > mx) {
          mx = lg[s];
          first = s;
        }
      }
      int64_t sum = 0;
      for (size_t s = 0; s < 256; ++s) {
        p[s] = exp_[static_cast<size_t>(std::min<int64_t>(mx - lg[s], kLutSize - 1))];
        sum += p[s];
      }
      int64_t total = 0;
      int32_t* row = fr + k * 256;
      for (size_t s = 0; s < 256; ++s) {
        row[s] = static_cast<int32_t>(1 + p[s] * 65280 / sum);
        total += row[s];
      }
      row[first] += static_cast<int32_t>(65536 - total);
    }
    return out;
  }

  // Frequencies [n, 256] int32 (each >= 1, rows sum to 65536) from top h.
  torch::Tensor freqs(const torch::Tensor& htop) const {
    if (loops_) return freqs_loops(exact_mm(htop, wo_));
    auto lg = rescale(exact_mm(htop, wo_), mult_o_, bias_o_);
    auto mx = std::get<0>(lg.max(1, true));
    auto p = exp_lut_.take((mx - lg).clamp_max(kLutSize - 1));
    auto sum = p.sum(1, true);
    auto fr = 1 + torch::div(p * 65280, sum, "floor");
    auto rest = 65536 - fr.sum(1, true);
    auto first_max =
        std::get<0>(torch::where(lg == mx, symbols_, torch::full_like(lg, 256)).min(1, true));
    fr.scatter_add_(1, first_max, rest);
    return fr.to(torch::kInt);
  }

  torch::Device device() const { return dev_; }
  int64_t hidden() const { return hidden_; }
  int64_t layers() const { return layers_; }

 private:
  ModelId id_;
  torch::Device dev_;
  bool loops_;  // CPU: elementwise work in plain loops (same integers)
  int64_t hidden_, layers_, shift_, clamp_;
  std::vector<int32_t> sig_, tanh_, exp_;
  std::vector<std::vector<int64_t>> host_mult_, host_bias_;  // per layer, then output
  torch::Tensor input0_;
  std::vector<torch::Tensor> w_, mult_, bias_;
  torch::Tensor wo_, mult_o_, bias_o_, gate_lut_, gate_offset_, exp_lut_, symbols_;
};

LstmBatch::LstmBatch(const LstmPredictor& model, size_t windows) : model_(model), size_(windows) {
  auto n = static_cast<int64_t>(windows);
  for (int64_t l = 0; l < model.layers(); ++l) {
    h_.push_back(torch::zeros({n, model.hidden()},
                              torch::TensorOptions(torch::kFloat).device(model.device())));
    c_.push_back(torch::zeros({n, model.hidden()},
                              torch::TensorOptions(torch::kLong).device(model.device())));
  }
  if (n > 0) {
    model_.step(
        torch::full({n}, kStartSymbol, torch::TensorOptions(torch::kLong).device(model.device())),
        h_, c_);
  }
}

torch::Tensor LstmBatch::slot_tensor(std::span<const uint32_t> slots) const {
  std::vector<int64_t> idx(slots.begin(), slots.end());
  for (int64_t s : idx) {
    if (s < 0 || static_cast<size_t>(s) >= size_) {
      throw UsageError(fmt::format("window slot {} outside a batch of {}", s, size_));
    }
  }
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

void LstmBatch::gather(const torch::Tensor& idx, std::vector<torch::Tensor>& h,
                       std::vector<torch::Tensor>& c) const {
  for (size_t l = 0; l < h_.size(); ++l) {
    h.push_back(h_[l].index_select(0, idx));
    c.push_back(c_[l].index_select(0, idx));
  }
}

void LstmBatch::scatter(const torch::Tensor& idx, const std::vector<torch::Tensor>& h,
                        const std::vector<torch::Tensor>& c) {
  for (size_t l = 0; l < h_.size(); ++l) {
    h_[l].index_copy_(0, idx, h[l]);
    c_[l].index_copy_(0, idx, c[l]);
  }
}

void LstmBatch::predict(std::span<const uint32_t> slots, std::span<Cdf> out) {
  if (out.size() != slots.size()) throw UsageError("predict: slots and out differ in size");
  if (slots.empty()) return;
  torch::NoGradGuard no_grad;
  auto idx = slot_tensor(slots);
  frequencies_to_cdfs(model_.freqs(h_.back().index_select(0, idx)).cpu().contiguous(), out);
}

void LstmBatch::observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) {
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

void LstmBatch::predict_and_observe(std::span<const uint32_t> slots, size_t steps,
                                    std::span<const uint8_t> bytes, std::span<Cdf> out) {
  const size_t n = slots.size();
  if (bytes.size() != steps * n || out.size() != steps * n) {
    throw UsageError("predict_and_observe: bytes and out must hold steps * slots entries");
  }
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

std::unique_ptr<Predictor> make_lstm_predictor(const LstmModelFile& file, std::string name,
                                               Device device, bool tensor_ops_on_cpu) {
  bool cuda = torch::cuda::is_available();
  if (device == Device::kCuda && !cuda) {
    throw UsageError(
        fmt::format("model {}: --device cuda asked for, but no CUDA device is available", name));
  }
  torch::Device dev = (device == Device::kCuda || (device == Device::kAuto && cuda))
                          ? torch::Device(torch::kCUDA)
                          : torch::Device(torch::kCPU);
  return std::make_unique<LstmPredictor>(file, std::move(name), dev, tensor_ops_on_cpu);
}

}  // namespace lmz
