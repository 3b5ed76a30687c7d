#include "libcodec/range_coder.h"

#include <fmt/format.h>

#include "libcodec/errors.h"

namespace lmz {

bool is_valid_cdf(const Cdf& cdf) {
  if (cdf[0] != 0 || cdf[256] != kCdfTotal) return false;
  for (size_t s = 0; s < 256; ++s) {
    if (cdf[s + 1] <= cdf[s]) return false;
  }
  return true;
}

void RangeEncoder::invalid_frequency(uint32_t cum, uint32_t freq) {
  throw UsageError(fmt::format(
      "range coder: invalid symbol interval [{}, {}+{}) (need freq >= 1 and cum + freq <= {})", cum,
      cum, freq, kCdfTotal));
}

}  // namespace lmz
