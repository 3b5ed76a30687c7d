// The integer LSTM of spec/MODEL.md on libtorch: the model's tensors on one
// device and the operations of a step, in the two code paths the engine's
// batches use (lstm_predictor.h, LstmCodePath). Engine-internal: this header
// includes libtorch, so only the engine's own sources include it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "libcodec/engine/int8_product.h"
#include "libcodec/engine/lstm_kernels.h"
#include "libcodec/engine/model_file.h"
#include "libcodec/predictor.h"

namespace lmz::engine {

inline constexpr int64_t kStartSymbol = 256;

// Throws UsageError unless every slot is below `windows`.
void check_slots(std::span<const uint32_t> slots, size_t windows);
// Throws UsageError unless `bytes` and `out` hold steps * slots entries.
void check_rounds(size_t slots, size_t steps, size_t bytes, size_t out);

class LstmModel {
 public:
  // The model of `f` on `dev`; `fused`: the fused path will run (on CUDA it
  // then uses int8 products where libtorch has them).
  LstmModel(const LstmModelFile& f, torch::Device dev, bool fused);

  torch::Device device() const { return dev_; }
  int64_t hidden() const { return hidden_; }
  int64_t layers() const { return layers_; }
  // Per layer a zero state [windows, H] of `dtype` on the model's device.
  std::vector<torch::Tensor> zero_state(int64_t windows, torch::ScalarType dtype) const;

  // ---- tensor-ops path ----

  // One step for the windows whose states are h (float32 holding integers),
  // c (int64), updated in place: sym [n] int64 in 0..256.
  void step(const torch::Tensor& sym, std::vector<torch::Tensor>& h,
            std::vector<torch::Tensor>& c) const;
  // Frequencies [n, 256] int32 (each >= 1, rows sum to 65536) from top h.
  torch::Tensor freqs(const torch::Tensor& htop) const;

  // ---- fused path ----

  // Rows a fused matrix product is given for `rows` windows: int8 products
  // on CUDA want more than 16 rows, in multiples of 8.
  int64_t padded_rows(int64_t rows) const {
    return int_mm_ ? std::max<int64_t>(32, (rows + 7) / 8 * 8) : rows;
  }
  // x [rows, K] int8 times layer m's matrix (m == layers: the output
  // layer) -> int32 [rows, 4H or 256], exact: on CUDA with at::_int_mm, on
  // the CPU with int8_product.h.
  torch::Tensor product(const torch::Tensor& x, size_t m) const;
  // The model's part of the fused steps' arguments.
  CellArgs cell_args(size_t layer) const;
  OutputArgs output_args() const;
  // Runs a fused step on the model's device (CUDA: on the current stream).
  void run(const CellArgs& a) const;
  void run(const OutputArgs& a) const;

 private:
  torch::Tensor rescale(const torch::Tensor& acc, const torch::Tensor& m,
                        const torch::Tensor& b) const;
  bool int_mm_works() const;

  torch::Device dev_;
  bool int_mm_ = false;                            // fused products as int8 x int8 -> int32 (CUDA)
  CpuStepIsa cpu_step_isa_ = best_cpu_step_isa();  // the fused steps on the CPU
  int64_t hidden_, layers_, shift_, clamp_;
  // Tensor-ops path: int64 parameters and tables.
  torch::Tensor input0_;
  std::vector<torch::Tensor> mult_, bias_;
  torch::Tensor mult_o_, bias_o_, gate_lut_, gate_offset_, exp_lut_, symbols_;
  // The weight matrices (layers, then output), each kept only in the forms
  // this model's products use (see the constructor): float32 transposed
  // (the tensor path, and fused products without an integer route), int8
  // for at::_int_mm (CUDA), laid out for this CPU's integer instructions.
  std::vector<torch::Tensor> w_, w8_;
  std::vector<Int8Weights> cpu_w8_;
  // Fused path: int32 rescale parameters (layers, then output), int32 tables.
  std::vector<torch::Tensor> mult32_, bias32_;
  torch::Tensor input0_32_, sig32_, tanh32_, exp32_;
};

// A batch of `windows` windows on each path (tensor_ops_batch.cc,
// fused_batch.cc), advanced past the start symbol. `model` must outlive it.
std::unique_ptr<PredictorBatch> make_tensor_ops_batch(const LstmModel& model, size_t windows);
std::unique_ptr<PredictorBatch> make_fused_batch(const LstmModel& model, size_t windows);

}  // namespace lmz::engine
