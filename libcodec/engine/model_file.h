// Reads a neural model file (.lmzm, spec/MODEL.md "Model file") into plain
// integer arrays. No libtorch here: the engine turns these into tensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "libcodec/types.h"

namespace lmz {

// One rescaled integer matrix: rows x cols int8 weights (row-major), and per
// output row the multiplier M and the bias B (spec/MODEL.md "Rescale").
struct IntMatrix {
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<int8_t> weights;
  std::vector<int32_t> multiplier;
  std::vector<int32_t> bias;
};

struct LstmModelFile {
  std::string trained_name;  // the name field inside the file
  Hash128 hash;              // XXH3-128 of the file minus its last 16 bytes
  uint32_t embed = 0, hidden = 0, layers = 0, shift = 0, cell_clamp = 0;
  std::vector<int8_t> embedding;                        // 257 x embed
  std::vector<IntMatrix> lstm;                          // per layer: 4*hidden x (input + hidden)
  IntMatrix output;                                     // 256 x hidden
  std::vector<int32_t> sigmoid_lut, tanh_lut, exp_lut;  // 4096 each
};

// Reads and validates `path`. Throws IoError if it cannot be read and
// CorruptInput (naming the path and what is wrong) if it is malformed.
LstmModelFile read_model_file(const std::filesystem::path& path);

// Validates a whole model file already in memory; `origin` names it in
// messages (read_model_file passes the path). Separate from the file I/O so
// that the parser can be fuzzed and tested without files (tests/fuzz/).
LstmModelFile parse_model_file(ByteView bytes, const std::string& origin);

}  // namespace lmz
