#include "libcodec/types.h"

#include <fmt/format.h>

namespace lmz {

std::string Hash128::hex() const {
  return fmt::format("{:016x}{:016x}", high, low);
}

}  // namespace lmz
