// Fuzz entry of the model-file parser (libcodec/engine/model_file.h,
// spec/MODEL.md "Model file").
#include "libcodec/engine/model_file.h"

#include <string>

#include "libcodec/errors.h"
#include "libcodec/hash.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace lmz::fuzz {

void model_file(const uint8_t* data, size_t size) {
  // First byte, bit 0: rewrite the trailing content hash so that mutations
  // reach the field checks behind it.
  const uint8_t flags = take_u8(data, size);
  Bytes file(data, data + size);
  if ((flags & 1) && file.size() >= 16) {
    const size_t body = file.size() - 16;
    const Hash128 h = xxh3_128(ByteView(file).first(body));
    for (int i = 0; i < 8; ++i) {
      file[body + static_cast<size_t>(i)] = static_cast<uint8_t>(h.high >> (8 * i));
      file[body + 8 + static_cast<size_t>(i)] = static_cast<uint8_t>(h.low >> (8 * i));
    }
  }
  LstmModelFile f;
  try {
    f = parse_model_file(file, "fuzz-input");
  } catch (const CorruptInput&) {
    return;
  }
  // What the engine relies on without checking again.
  require(f.embedding.size() == size_t{257} * f.embed, "model file: embedding size");
  require(f.lstm.size() == f.layers, "model file: layer count");
  for (uint32_t l = 0; l < f.layers; ++l) {
    const IntMatrix& m = f.lstm[l];
    require(m.rows == 4 * f.hidden && m.cols == (l == 0 ? f.embed : f.hidden) + f.hidden,
            "model file: layer shape");
    require(m.weights.size() == size_t{m.rows} * m.cols && m.multiplier.size() == m.rows &&
                m.bias.size() == m.rows,
            "model file: layer arrays");
  }
  require(f.output.rows == 256 && f.output.cols == f.hidden &&
              f.output.weights.size() == size_t{256} * f.hidden,
          "model file: output shape");
  require(f.sigmoid_lut.size() == 4096 && f.tanh_lut.size() == 4096 && f.exp_lut.size() == 4096,
          "model file: table sizes");
  require(f.hash == xxh3_128(ByteView(file).first(file.size() - 16)), "model file: hash");
}

}  // namespace lmz::fuzz
