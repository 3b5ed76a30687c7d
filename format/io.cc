#include "format/io.h"

#include <fmt/format.h>

#include "libcodec/errors.h"

namespace lmz {

void MemoryRandomAccessSource::read_at(uint64_t offset, MutableByteView out) const {
  if (offset > data_.size() || out.size() > data_.size() - offset) {
    throw CorruptInput(fmt::format("truncated archive: expected {} bytes at offset {}, got {}",
                                   out.size(), offset,
                                   offset > data_.size() ? 0 : data_.size() - offset));
  }
  if (!out.empty()) std::memcpy(out.data(), data_.data() + offset, out.size());
}

}  // namespace lmz
