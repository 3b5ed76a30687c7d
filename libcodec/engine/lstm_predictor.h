// The integer LSTM predictor (spec/MODEL.md) on libtorch. Torch-free header.
#pragma once

#include <memory>
#include <string>

#include "libcodec/engine/model_file.h"
#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"

namespace lmz {

// A predictor for `file` on `device` (kAuto: CUDA when available), known
// under `name`. Throws UsageError if kCuda is asked for and not available.
// On the CPU the cell and the output distribution run as plain loops unless
// `tensor_ops_on_cpu` (the CUDA code path, run on the CPU for tests).
std::unique_ptr<Predictor> make_lstm_predictor(const LstmModelFile& file, std::string name,
                                               Device device, bool tensor_ops_on_cpu = false);

}  // namespace lmz
