// Adaptive bit counters and the hashed table that holds them
// (spec/MIXING.md, "Counters" and "Hashed context tables").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "libcodec/cm/tables.h"

namespace lmz::cm {

// A counter packed in 32 bits: probability of a 1 in 1/65536 units (bits
// 31..16), update count n (bits 15..8), hash check byte (bits 7..0).
// A fresh counter is p = 32768, n = 0.
inline constexpr uint32_t kFreshCounter = uint32_t{32768} << 16;

inline int counter_p16(uint32_t c) {
  return static_cast<int>(c >> 16);
}
inline int counter_n(uint32_t c) {
  return static_cast<int>((c >> 8) & 255);
}

// Moves p towards the bit by rate(n) and counts the update (up to `limit`,
// at most 255). Arithmetic shift: floor division, as C++20 defines it.
inline void counter_update(uint32_t& c, int bit, int limit, const Tables& t) {
  int p = counter_p16(c);
  int n = counter_n(c);
  const int target = bit ? 65535 : 0;
  p += static_cast<int>((static_cast<int64_t>(target - p) * t.rate(n)) >> 16);
  if (n < limit) ++n;
  c = (static_cast<uint32_t>(p) << 16) | (static_cast<uint32_t>(n) << 8) | (c & 255);
}

// The mixer input of a counter: 0 when it has never been updated (nothing
// known), otherwise stretch(p) in 1/256 logit units.
inline int counter_input(uint32_t c, const Tables& t) {
  return counter_n(c) == 0 ? 0 : t.stretch(counter_p16(c) >> 4);
}

// Finalises a 32-bit hash (a bijection; spec/MIXING.md, "mix32").
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

// A table of 2^bits counters addressed by a 32-bit hash: the top `bits` bits
// pick a slot pair {i, i ^ 1}, the low 8 bits are the check byte. A lookup
// takes the slot of the pair whose check matches; if neither does, it resets
// the slot with the smaller n (slot i on a tie) and claims it.
class CounterTable {
 public:
  explicit CounterTable(int bits) : bits_(bits), slots_(size_t{1} << bits, kFreshCounter) {}

  uint32_t& find(uint32_t hash) {
    const size_t i = hash >> (32 - bits_);
    const uint32_t check = hash & 255;
    uint32_t& a = slots_[i];
    if ((a & 255) == check) return a;
    uint32_t& b = slots_[i ^ 1];
    if ((b & 255) == check) return b;
    uint32_t& victim = counter_n(b) < counter_n(a) ? b : a;
    victim = kFreshCounter | check;
    return victim;
  }

  // Hints the CPU to fetch the slot pair of `hash` (no effect on results).
  void prefetch(uint32_t hash) const {
    __builtin_prefetch(&slots_[(hash >> (32 - bits_)) & ~size_t{1}]);
  }

  size_t memory_bytes() const { return slots_.size() * sizeof(uint32_t); }

 private:
  int bits_;
  std::vector<uint32_t> slots_;
};

}  // namespace lmz::cm
