// Loads a model file into the libtorch engine (load.h).
#include "libcodec/engine/load.h"

#include <torch/cuda.h>

#include "libcodec/engine/lstm_predictor.h"
#include "libcodec/engine/model_file.h"
#include "libcodec/predictor.h"

namespace lmz {

bool neural_engine_available() {
  return true;
}

bool cuda_available() {
  return torch::cuda::is_available();
}

std::unique_ptr<Predictor> load_neural_model(const std::filesystem::path& path, Device device) {
  // The model is known by its file's stem, the name the registry finds it by.
  return make_lstm_predictor(read_model_file(path), path.stem().string(), device);
}

}  // namespace lmz
