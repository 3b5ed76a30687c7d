// The integer LSTM of spec/MODEL.md as a Predictor: the model's tensors
// (lstm_model.h) and batches of one of the two code paths, which give the
// same integers (lstm_predictor.h, LstmCodePath).
#include "libcodec/engine/lstm_predictor.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <mutex>

#include "libcodec/engine/lstm_kernels.h"
#include "libcodec/engine/lstm_model.h"
#include "libcodec/engine/resident_engine.h"
#include "libcodec/errors.h"

namespace lmz {
namespace {

// Windows in flight in a resident engine on CUDA: about 6,000 fill the
// H200's int8 matrix units for `large` (a 100 MB input is 6,104 windows of
// 16 KiB); every slot costs its model state and its stage's tables.
constexpr size_t kCudaResidentSlots = 8192;
constexpr size_t kCpuResidentSlots = 256;
// Device memory for the windows' stage arenas: 8,192 windows of 16 KiB
// take 5.6 GiB with stage 1 (spec/MIXING.md, "Memory"); longer windows run
// fewer at once.
constexpr uint64_t kCudaArenaBudget = uint64_t{24} << 30;
constexpr uint64_t kCpuArenaBudget = uint64_t{1} << 30;

class LstmPredictor final : public Predictor {
 public:
  LstmPredictor(const LstmModelFile& f, std::string name, torch::Device dev, bool fused,
                ResidentUse resident)
      : model_(f, dev, fused), fused_(fused), resident_(resident) {
    id_.name = std::move(name);
    id_.hash = f.hash;
  }

  const ModelId& id() const override { return id_; }
  std::unique_ptr<PredictorBatch> start_batch(size_t windows) override {
    if (fused_) return engine::make_fused_batch(model_, windows);
    return engine::make_tensor_ops_batch(model_, windows);
  }
  size_t preferred_batch_size() const override { return model_.device().is_cuda() ? 4096 : 64; }

  std::unique_ptr<WindowCodec> make_resident_codec(StageId stage) override {
    if (!fused_ || !engine::resident_supports_stage(stage)) return nullptr;
    const bool cuda = model_.device().is_cuda();
    if (resident_ == ResidentUse::kNever || (resident_ == ResidentUse::kOnCuda && !cuda)) {
      return nullptr;
    }
    std::lock_guard lock(mu_);
    if (!engine_) {
      engine_ = std::make_shared<engine::ResidentEngine>(
          model_, cuda ? kCudaResidentSlots : kCpuResidentSlots,
          cuda ? kCudaArenaBudget : kCpuArenaBudget);
    }
    return engine::make_resident_window_codec(engine_, id_, stage);
  }

 private:
  engine::LstmModel model_;
  bool fused_;
  ResidentUse resident_;
  ModelId id_;
  std::mutex mu_;
  std::shared_ptr<engine::ResidentEngine> engine_;  // created on first use
};

}  // namespace

std::unique_ptr<Predictor> make_lstm_predictor(const LstmModelFile& file, std::string name,
                                               Device device, LstmCodePath path,
                                               ResidentUse resident) {
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
  // The resident loop on CUDA needs the engine's kernels.
  if (dev.is_cuda() && !lstm_cuda_kernels_built()) resident = ResidentUse::kNever;
  return std::make_unique<LstmPredictor>(file, std::move(name), dev, fused, resident);
}

}  // namespace lmz
