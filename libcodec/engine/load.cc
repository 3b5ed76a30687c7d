// Placeholder until the engine lands: the model work replaces this file.
#include <fmt/format.h>

#include "libcodec/engine/load.h"
#include "libcodec/errors.h"

namespace lmz {

bool neural_engine_available() { return false; }

std::unique_ptr<Predictor> load_neural_model(const std::filesystem::path& path, Device) {
  throw UsageError(fmt::format("cannot load model file {}: the neural engine is not built yet",
                               path.string()));
}

}  // namespace lmz
