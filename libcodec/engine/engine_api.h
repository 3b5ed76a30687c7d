// The boundary between lmz and its neural engine, which is a separate shared
// module (liblmz_engine.so) loaded on first use (engine_loader.cc). Loading
// libtorch costs about half a second of CPU time and 160 MiB at start-up;
// lmz pays it only when a model file is actually used, not for `lmz -l`,
// zstd-only work, the stand-in model or the daemon client.
//
// The module and the programs that load it come from the same build, so the
// C++ types crossing here (paths, unique_ptr, exceptions) are safe; the
// version guards against a module left over from another build.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "libcodec/model_registry.h"

namespace lmz {

class Predictor;

// Bump when EngineApi or anything it passes changes.
inline constexpr uint32_t kEngineApiVersion = 1;

struct EngineApi {
  uint32_t version;  // kEngineApiVersion of the module's build
  // Whether libtorch sees a usable CUDA device.
  bool (*cuda_available)();
  // load_neural_model (load.h) inside the module.
  std::unique_ptr<Predictor> (*load)(const std::filesystem::path& path, Device device);
};

}  // namespace lmz

// The module's only exported entry point.
extern "C" const lmz::EngineApi* lmz_engine_api();
