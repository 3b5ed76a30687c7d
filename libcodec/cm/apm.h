// The adaptive probability map (spec/MIXING.md, "APMs").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "libcodec/cm/tables.h"

namespace lmz::cm {

// Adaptive probability map (SSE): refines a probability given a small
// context by interpolating between 33 learned points along the stretch axis.
class Apm {
 public:
  Apm(size_t contexts, int rate);

  // Returns the refined 12-bit probability of a 1 for input probability
  // p (12-bit) in context `ctx`; remembers the slot for update().
  int refine(int p, size_t ctx, const Tables& t) {
    const int s = t.stretch(p) + 2048;  // 1..4095
    const int lo = s >> 7;
    const int w = s & 127;
    const size_t base = ctx * 33 + static_cast<size_t>(lo);
    index_ = base + static_cast<size_t>(w >> 6);  // the nearer point learns
    return (table_[base] * (128 - w) + table_[base + 1] * w) >> 11;
  }

  // Moves the remembered point towards the bit: t += ((bit ? 65535 : 0) - t) >> rate.
  void update(int bit) {
    const int target = bit ? 65535 : 0;
    table_[index_] = static_cast<uint16_t>(table_[index_] + ((target - table_[index_]) >> rate_));
  }

  size_t memory_bytes() const { return table_.size() * sizeof(uint16_t); }

 private:
  int rate_;
  std::vector<uint16_t> table_;
  size_t index_ = 0;
};

}  // namespace lmz::cm
