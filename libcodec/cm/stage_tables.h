// The fixed lookup tables of the mixing stages (spec/MIXING.md, "Tables")
// and the integer helpers every stage's core uses. StageTables is plain
// data: a GPU copies it to device memory once and passes it to every core
// function, as the CPU passes stage_tables(). The entries are built by
// integer code only, so every machine gets the same ones; tests/cm pins
// their hashes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libcodec/host_device.h"

namespace lmz::cm {

// Probabilities are 12-bit (1/4096 units) and logits ("stretch domain") are
// in 1/256 natural-log units, clamped to [-2047, 2047].
inline constexpr int kProbBits = 12;
inline constexpr int kProbMax = (1 << kProbBits) - 1;  // 4095
inline constexpr int kStretchMax = 2047;

struct StageTables {
  // squash[d + 2047] = 4096 * logistic(d / 256) for d in [-2047, 2047],
  // clamped to [1, 4095].
  int16_t squash[2 * kStretchMax + 1];
  // stretch[p] = the smallest d with squash(d) >= p, p in [0, 4095].
  int16_t stretch[kProbMax + 1];
  // rate[n] = floor(2^17 / (2n + 3)): 1/(n + 1.5) in 1/65536 units.
  int32_t rate[1024];
};

// The shared, immutable tables (built on first use; thread-safe).
const StageTables& stage_tables();

// Builds the tables into `t` (what stage_tables() holds).
void build_stage_tables(StageTables& t);

LMZ_HD int clamp_int(int v, int lo, int hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}
LMZ_HD int min_int(int a, int b) {
  return a < b ? a : b;
}
LMZ_HD int max_int(int a, int b) {
  return a > b ? a : b;
}

// squash(d) for any d (clamped to +-2047 first).
LMZ_HD int squash(const StageTables& t, int d) {
  return t.squash[clamp_int(d, -kStretchMax, kStretchMax) + kStretchMax];
}

// stretch(p), p in [0, 4095].
LMZ_HD int stretch(const StageTables& t, int p) {
  return t.stretch[p];
}

// Finalises a 32-bit hash (a bijection; spec/MIXING.md, "Hashing").
LMZ_HD uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

inline constexpr uint32_t kGolden = 0x9E3779B9u;

// Adds value v to hash h (spec/MIXING.md, "Hashing").
LMZ_HD uint32_t combine(uint32_t h, uint32_t v) {
  return mix32(h + kGolden * (v + 1));
}

// The smallest b with 2^b >= n (0 for n <= 1).
LMZ_HD int ceil_log2(size_t n) {
  int b = 0;
  while ((size_t{1} << b) < n) ++b;
  return b;
}

// Rounds n up to a multiple of 16 (the arenas' alignment).
LMZ_HD size_t align16(size_t n) {
  return (n + 15) & ~size_t{15};
}

// Hints the CPU to fetch the cache line at p (no effect on results, and
// none on the GPU).
LMZ_HD void prefetch(const void* p) {
#if !defined(__CUDA_ARCH__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

}  // namespace lmz::cm
