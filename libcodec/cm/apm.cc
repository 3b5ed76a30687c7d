#include "libcodec/cm/apm.h"

namespace lmz::cm {

Apm::Apm(size_t contexts, int rate) : rate_(rate), table_(contexts * 33) {
  const Tables& t = Tables::get();
  for (size_t c = 0; c < contexts; ++c) {
    for (int j = 0; j < 33; ++j) {
      table_[c * 33 + static_cast<size_t>(j)] =
          static_cast<uint16_t>(t.squash((j - 16) * 128) * 16);
    }
  }
}

}  // namespace lmz::cm
