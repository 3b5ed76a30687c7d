// LstmModel (lstm_model.h). Every value that reaches a CDF is an integer;
// the only float operations are matrix products of int8-valued operands with
// inner dimension at most 1024 (exact in float32, MODEL.md "Exact matrix
// products"), on the tensor path; the fused path uses int8 x int8 -> int32
// products (on CUDA at::_int_mm, on the CPU int8_product.h).
#include "libcodec/engine/lstm_model.h"

#include <fmt/format.h>

#include <algorithm>

#ifdef LMZ_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>
#endif

#include "libcodec/engine/lstm_math.h"
#include "libcodec/errors.h"

namespace lmz::engine {
namespace {

using lstm_math::kLutHalf;
using lstm_math::kLutSize;
constexpr int64_t kMaxExactInner = 1024;

torch::Tensor floor_div(const torch::Tensor& t, int64_t d) {
  return torch::div(t, d, "floor");
}

torch::Tensor i64(const std::vector<int32_t>& v, const torch::Device& dev) {
  return torch::tensor(std::vector<int64_t>(v.begin(), v.end()), torch::kLong).to(dev);
}

torch::Tensor i32(const std::vector<int32_t>& v, const torch::Device& dev) {
  return torch::tensor(v, torch::kInt).to(dev);
}

// int8 matrix rows x cols, columns col0 .. col0+ncols-1, as int8 [rows, ncols].
torch::Tensor weights_i8(const IntMatrix& m, int64_t col0, int64_t ncols) {
  auto all =
      torch::from_blob(const_cast<int8_t*>(m.weights.data()),
                       {static_cast<int64_t>(m.rows), static_cast<int64_t>(m.cols)}, torch::kInt8);
  return all.narrow(1, col0, ncols).contiguous();
}

// x [n, K] float32 integer-valued, wt [K, N] -> exact int64 x @ wt.
torch::Tensor exact_mm(const torch::Tensor& x, const torch::Tensor& wt) {
  const int64_t k = x.size(1);
  torch::Tensor acc;
  for (int64_t k0 = 0; k0 < k; k0 += kMaxExactInner) {
    int64_t len = std::min(kMaxExactInner, k - k0);
    auto part = torch::matmul(x.narrow(1, k0, len), wt.narrow(0, k0, len)).to(torch::kLong);
    acc = acc.defined() ? acc + part : part;
  }
  return acc;
}

// The stream libtorch enqueues this thread's work on, so that the fused
// steps are ordered with the tensor operations around them.
void* current_stream() {
#ifdef LMZ_CUDA_KERNELS
  return at::cuda::getCurrentCUDAStream().stream();
#else
  return nullptr;
#endif
}

}  // namespace

void check_slots(std::span<const uint32_t> slots, size_t windows) {
  for (uint32_t s : slots) {
    if (s >= windows) {
      throw UsageError(fmt::format("window slot {} outside a batch of {}", s, windows));
    }
  }
}

void check_rounds(size_t slots, size_t steps, size_t bytes, size_t out) {
  if (bytes != steps * slots || out != steps * slots) {
    throw UsageError("predict_and_observe: bytes and out must hold steps * slots entries");
  }
}

LstmModel::LstmModel(const LstmModelFile& f, torch::Device dev, bool fused)
    : dev_(dev), hidden_(f.hidden), layers_(f.layers), shift_(f.shift), clamp_(f.cell_clamp) {
  // Layer 0's input term for each of the 257 input symbols, precomputed
  // exactly (float64 sums of at most 4096 products of int8 values).
  const IntMatrix& l0 = f.lstm[0];
  auto emb = torch::from_blob(const_cast<int8_t*>(f.embedding.data()),
                              {257, static_cast<int64_t>(f.embed)}, torch::kInt8)
                 .to(torch::kDouble);
  auto w0 = weights_i8(l0, 0, f.embed).to(torch::kDouble);
  input0_ = torch::matmul(emb, w0.t()).round().to(torch::kLong).to(dev_);
  // Which products this model runs (product(), step(), freqs()): int8 on
  // CUDA where libtorch has it, int8 with this CPU's instructions, else the
  // exact float32 route, which the tensor path always takes. Only the
  // matrices those need are kept.
  const Int8Isa isa = best_int8_isa();
  // On a CPU without AVX2 the float product (OpenBLAS) beats plain loops.
  const bool cpu_int8 = fused && dev_.is_cpu() && isa != Int8Isa::kPortable;
  int_mm_ = fused && dev_.is_cuda() && hidden_ % 8 == 0 && int_mm_works();
  const bool float_products = !cpu_int8 && !int_mm_;
  auto add_matrix = [&](const IntMatrix& m, int64_t col0, int64_t cols) {
    const torch::Tensor w = weights_i8(m, col0, cols);
    if (float_products) w_.push_back(w.to(torch::kFloat).t().contiguous().to(dev_));
    if (int_mm_) w8_.push_back(w.to(dev_));
    if (cpu_int8) cpu_w8_.emplace_back(w.data_ptr<int8_t>(), w.size(0), w.size(1), isa);
  };
  for (uint32_t l = 0; l < f.layers; ++l) {
    const IntMatrix& m = f.lstm[l];
    int64_t in = l == 0 ? 0 : hidden_;  // layer 0's input part is in input0_
    add_matrix(m, l == 0 ? f.embed : 0, in + hidden_);
    mult_.push_back(i64(m.multiplier, dev_));
    bias_.push_back(i64(m.bias, dev_));
    mult32_.push_back(i32(m.multiplier, dev_));
    bias32_.push_back(i32(m.bias, dev_));
  }
  add_matrix(f.output, 0, hidden_);  // the output layer's, after the layers'
  mult_o_ = i64(f.output.multiplier, dev_);
  bias_o_ = i64(f.output.bias, dev_);
  mult32_.push_back(i32(f.output.multiplier, dev_));
  bias32_.push_back(i32(f.output.bias, dev_));
  // |input0| <= 4096 * 127 * 128 < 2^31.
  input0_32_ = input0_.to(torch::kInt);
  sig32_ = i32(f.sigmoid_lut, dev_);
  tanh32_ = i32(f.tanh_lut, dev_);
  exp32_ = i32(f.exp_lut, dev_);
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

std::vector<torch::Tensor> LstmModel::zero_state(int64_t windows, torch::ScalarType dtype) const {
  std::vector<torch::Tensor> state;
  for (int64_t l = 0; l < layers_; ++l) {
    state.push_back(torch::zeros({windows, hidden_}, torch::TensorOptions(dtype).device(dev_)));
  }
  return state;
}

torch::Tensor LstmModel::rescale(const torch::Tensor& acc, const torch::Tensor& m,
                                 const torch::Tensor& b) const {
  return floor_div(acc * m + (int64_t{1} << (shift_ - 1)), int64_t{1} << shift_) + b;
}

void LstmModel::step(const torch::Tensor& sym, std::vector<torch::Tensor>& h,
                     std::vector<torch::Tensor>& c) const {
  torch::Tensor v;
  for (int64_t l = 0; l < layers_; ++l) {
    torch::Tensor acc = l == 0 ? input0_.index_select(0, sym) + exact_mm(h[0], w_[0])
                               : exact_mm(torch::cat({v, h[l]}, 1), w_[l]);
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

torch::Tensor LstmModel::freqs(const torch::Tensor& htop) const {
  auto lg = rescale(exact_mm(htop, w_.back()), mult_o_, bias_o_);
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

torch::Tensor LstmModel::product(const torch::Tensor& x, size_t m) const {
#ifdef LMZ_CUDA_KERNELS
  if (int_mm_) return at::_int_mm(x, w8_[m].t());
#endif
  if (!cpu_w8_.empty()) {
    const Int8Weights& w = cpu_w8_[m];
    const torch::Tensor xc = x.contiguous();
    torch::Tensor out = torch::empty({xc.size(0), w.rows()}, torch::kInt);
    w.multiply(xc.data_ptr<int8_t>(), xc.size(0), out.data_ptr<int32_t>());
    return out;
  }
  return exact_mm(x.to(torch::kFloat), w_[m]).to(torch::kInt);
}

CellArgs LstmModel::cell_args(size_t layer) const {
  CellArgs a;
  a.hidden = hidden_;
  a.input0 = layer == 0 ? input0_32_.data_ptr<int32_t>() : nullptr;
  a.multiplier = mult32_[layer].data_ptr<int32_t>();
  a.bias = bias32_[layer].data_ptr<int32_t>();
  a.sigmoid_lut = sig32_.data_ptr<int32_t>();
  a.tanh_lut = tanh32_.data_ptr<int32_t>();
  a.shift = static_cast<int32_t>(shift_);
  a.cell_clamp = static_cast<int32_t>(clamp_);
  return a;
}

OutputArgs LstmModel::output_args() const {
  OutputArgs a;
  a.multiplier = mult32_.back().data_ptr<int32_t>();
  a.bias = bias32_.back().data_ptr<int32_t>();
  a.exp_lut = exp32_.data_ptr<int32_t>();
  a.shift = static_cast<int32_t>(shift_);
  return a;
}

void LstmModel::run(const CellArgs& a) const {
  if (dev_.is_cpu()) return lstm_cell_cpu(a, cpu_step_isa_);
  lstm_cell_cuda(a, current_stream());
}

void LstmModel::run(const OutputArgs& a) const {
  if (dev_.is_cpu()) return lstm_output_cpu(a, cpu_step_isa_);
  lstm_output_cuda(a, current_stream());
}

// Whether libtorch has the int8 product here (it needs CUDA and a recent
// libtorch); otherwise the exact float32 product serves.
bool LstmModel::int_mm_works() const {
#ifdef LMZ_CUDA_KERNELS
  try {
    auto x = torch::ones({32, 8}, torch::TensorOptions(torch::kInt8).device(dev_));
    auto w = torch::ones({8, 8}, x.options());  // laid out as the w8_ matrices
    return at::_int_mm(x, w.t()).sum().item<int64_t>() == 32 * 8 * 8;
  } catch (const c10::Error&) {
    return false;
  }
#else
  return false;
#endif
}

}  // namespace lmz::engine
