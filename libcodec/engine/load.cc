// The neural engine module's entry point (engine_api.h).
#include <torch/cuda.h>

#include "libcodec/engine/engine_api.h"
#include "libcodec/engine/lstm_predictor.h"
#include "libcodec/engine/model_file.h"
#include "libcodec/predictor.h"

namespace {

bool module_cuda_available() {
  return torch::cuda::is_available();
}

std::unique_ptr<lmz::Predictor> module_load(const std::filesystem::path& path, lmz::Device device) {
  // The model is known by its file's stem, the name the registry finds it by.
  return lmz::make_lstm_predictor(lmz::read_model_file(path), path.stem().string(), device);
}

const lmz::EngineApi kApi{lmz::kEngineApiVersion, &module_cuda_available, &module_load};

}  // namespace

extern "C" __attribute__((visibility("default"))) const lmz::EngineApi* lmz_engine_api() {
  return &kApi;
}
