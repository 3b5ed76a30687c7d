// The integer LSTM of spec/MODEL.md as a Predictor: the model's tensors
// (lstm_model.h) and batches of one of the two code paths, which give the
// same integers (lstm_predictor.h, LstmCodePath).
#include "libcodec/engine/lstm_predictor.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "libcodec/engine/lstm_kernels.h"
#include "libcodec/engine/lstm_model.h"
#include "libcodec/errors.h"

namespace lmz {
namespace {

class LstmPredictor final : public Predictor {
 public:
  LstmPredictor(const LstmModelFile& f, std::string name, torch::Device dev, bool fused)
      : model_(f, dev, fused), fused_(fused) {
    id_.name = std::move(name);
    id_.hash = f.hash;
  }

  const ModelId& id() const override { return id_; }
  std::unique_ptr<PredictorBatch> start_batch(size_t windows) override {
    if (fused_) return engine::make_fused_batch(model_, windows);
    return engine::make_tensor_ops_batch(model_, windows);
  }
  size_t preferred_batch_size() const override { return model_.device().is_cuda() ? 4096 : 64; }

 private:
  engine::LstmModel model_;
  bool fused_;
  ModelId id_;
};

}  // namespace

std::unique_ptr<Predictor> make_lstm_predictor(const LstmModelFile& file, std::string name,
                                               Device device, LstmCodePath path) {
  bool cuda = torch::cuda::is_available();
  if (device == Device::kCuda && !cuda) {
    throw UsageError(
        fmt::format("model {}: --device cuda asked for, but no CUDA device is available", name));
  }
  torch::Device dev = (device == Device::kCuda || (device == Device::kAuto && cuda))
                          ? torch::Device(torch::kCUDA)
                          : torch::Device(torch::kCPU);
  // A CUDA build without the engine's kernels runs the tensor path on CUDA.
  const bool fused = path == LstmCodePath::kFused && (dev.is_cpu() || lstm_cuda_kernels_built());
  return std::make_unique<LstmPredictor>(file, std::move(name), dev, fused);
}

}  // namespace lmz
