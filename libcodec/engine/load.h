// Entry point into the neural engine that needs no libtorch header, so that
// the rest of lmz can load model files without compiling against libtorch.
#pragma once

#include <filesystem>
#include <memory>

#include "libcodec/model_registry.h"

namespace lmz {

class Predictor;

// Whether this build contains the neural engine.
bool neural_engine_available();

// Whether the engine can run on a CUDA device here (false without the
// engine, or with a CPU-only libtorch, or with no usable GPU).
bool cuda_available();

// Loads a model file (spec/MODEL.md) and returns a predictor running on
// `device` (kAuto: CUDA when present, else CPU). Throws CorruptInput for a
// malformed file (naming the path), UsageError when the device is not
// available or this build has no engine.
std::unique_ptr<Predictor> load_neural_model(const std::filesystem::path& path, Device device);

}  // namespace lmz
