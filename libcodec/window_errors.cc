// The argument check and the errors every window codec shares
// (window_codec.h). A file of its own because the engine module, which
// links none of lmz_codec, compiles it too (its resident codec reports the
// same errors).
#include <fmt/format.h>

#include "libcodec/window_codec.h"

namespace lmz {

void check_decode_buffers(std::span<const EncodedWindowView> windows,
                          std::span<const MutableByteView> out) {
  if (out.size() != windows.size()) {
    throw UsageError(
        fmt::format("window decode: {} windows but {} output buffers", windows.size(), out.size()));
  }
  for (size_t i = 0; i < windows.size(); ++i) {
    if (out[i].size() != windows[i].raw_size) {
      throw UsageError(fmt::format("window {}: output buffer holds {} bytes, window has {}", i,
                                   out[i].size(), windows[i].raw_size));
    }
  }
}

CorruptInput invalid_coding_error(size_t index, size_t at, size_t raw_size) {
  return CorruptInput(
      fmt::format("window {}: coded bytes are not a valid coding (detected at raw byte {} of {})",
                  index, at, raw_size));
}

CorruptInput inexact_end_error(size_t index, const EncodedWindowView& window) {
  return CorruptInput(
      fmt::format("window {}: its {} coded bytes do not end exactly where its {} raw bytes do "
                  "(truncated or damaged coded data)",
                  index, window.coded.size(), window.raw_size));
}

}  // namespace lmz
