// Entry point into the neural engine that needs no libtorch header, so that
// the rest of lmz can load model files without compiling against libtorch.
// In builds with the engine these load the engine module on first call
// (engine_api.h); unavailable.cc implements them for builds without it.
#pragma once

#include <filesystem>
#include <memory>

#include "libcodec/model_registry.h"

namespace lmz {

class Predictor;

// Whether this build contains the neural engine (loads nothing).
bool neural_engine_available();

// Whether the engine can run on a CUDA device here (false without the
// engine, if its module cannot be loaded, with a CPU-only libtorch, or with
// no usable GPU). Loads the engine module, except on machines with no CUDA
// driver device nodes, where the answer is known to be false.
bool cuda_available();

// Loads a model file (spec/MODEL.md) and returns a predictor running on
// `device` (kAuto: CUDA when present, else CPU). Throws CorruptInput for a
// malformed file (naming the path), UsageError when the device is not
// available, this build has no engine or its module cannot be loaded.
std::unique_ptr<Predictor> load_neural_model(const std::filesystem::path& path, Device device);

}  // namespace lmz
