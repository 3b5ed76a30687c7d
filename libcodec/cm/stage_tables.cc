#include "libcodec/cm/stage_tables.h"

namespace lmz::cm {
namespace {

// The logistic curve 4096 / (1 + exp(-(i - 16) / 2)) sampled every 128
// stretch units, i = 0..32, as tabulated by the PAQ family (within 1 of the
// exact value). These constants ARE the definition (spec/MIXING.md,
// "squash"); written out so that no floating-point code is involved.
constexpr int kSquashKnots[33] = {1,    2,    3,    6,    10,   16,   27,   45,   73,   120,  194,
                                  310,  488,  747,  1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785,
                                  3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094};

// Linear interpolation between the knots; d in [-2047, 2047].
int interpolate_squash(int d) {
  const int w = d & 127;        // position between knots (two's complement)
  const int i = (d >> 7) + 16;  // arithmetic shift: floor(d / 128) + 16
  return (kSquashKnots[i] * (128 - w) + kSquashKnots[i + 1] * w + 64) >> 7;
}

}  // namespace

void build_stage_tables(StageTables& t) {
  for (int d = -kStretchMax; d <= kStretchMax; ++d) {
    t.squash[d + kStretchMax] = static_cast<int16_t>(clamp_int(interpolate_squash(d), 1, kProbMax));
  }
  // stretch(p) = smallest d with squash(d) >= p; kStretchMax if none.
  int next = 0;
  for (int d = -kStretchMax; d <= kStretchMax; ++d) {
    const int v = squash(t, d);
    for (int p = next; p <= v; ++p) t.stretch[p] = static_cast<int16_t>(d);
    next = max_int(next, v + 1);
  }
  for (int p = next; p <= kProbMax; ++p) t.stretch[p] = static_cast<int16_t>(kStretchMax);
  for (int n = 0; n < 1024; ++n) t.rate[n] = (1 << 17) / (2 * n + 3);
}

const StageTables& stage_tables() {
  static const StageTables tables = [] {
    StageTables t{};
    build_stage_tables(t);
    return t;
  }();
  return tables;
}

}  // namespace lmz::cm
