// Stand-in for the neural engine in builds without libtorch (LMZ_WITH_TORCH=OFF).
#include <fmt/format.h>

#include "libcodec/engine/load.h"
#include "libcodec/errors.h"

namespace lmz {

bool neural_engine_available() {
  return false;
}

bool cuda_available() {
  return false;
}

std::unique_ptr<Predictor> load_neural_model(const std::filesystem::path& path, Device) {
  throw UsageError(
      fmt::format("cannot load model file {}: this lmz was built without the neural engine "
                  "(LMZ_WITH_TORCH=OFF)",
                  path.string()));
}

}  // namespace lmz
