// The integer LSTM predictor (spec/MODEL.md) on libtorch. Torch-free header.
#pragma once

#include <memory>
#include <string>

#include "libcodec/engine/model_file.h"
#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"

namespace lmz {

// How the engine computes a step; both give the same integers.
enum class LstmCodePath {
  // int8/int32 state, per layer a matrix product and one fused cell step,
  // one fused step for the distribution (lstm_kernels.h): loops on the CPU,
  // CUDA kernels on the GPU in builds with them (else as kTensorOps).
  kFused,
  // Every step as libtorch tensor operations, on either device: the
  // reference the fused path is tested against.
  kTensorOps,
};

// Whether the predictor offers a resident codec (Predictor::make_resident_codec,
// libcodec/engine/resident_engine.h) for the stages the resident loop runs.
enum class ResidentUse {
  kOnCuda,  // on a CUDA device with the engine's kernels (the default)
  kAlways,  // also on the CPU, where it runs as loops (tests, comparisons)
  kNever,   // never: window codecs loop over the predictor's batches
};

// A predictor for `file` on `device` (kAuto: CUDA when available), known
// under `name`. Throws UsageError if kCuda is asked for and not available.
std::unique_ptr<Predictor> make_lstm_predictor(const LstmModelFile& file, std::string name,
                                               Device device,
                                               LstmCodePath path = LstmCodePath::kFused,
                                               ResidentUse resident = ResidentUse::kOnCuda);

}  // namespace lmz
