// Fixed-point lookup tables of the context-mixing stage (spec/MIXING.md,
// "Tables"). Built once by integer code only, so every machine gets the same
// entries; tests/cm checks their hash against a committed constant.
#pragma once

#include <array>
#include <cstdint>

namespace lmz::cm {

// Probabilities are 12-bit (1/4096 units) and logits ("stretch domain") are
// in 1/256 natural-log units, clamped to [-2047, 2047].
inline constexpr int kProbBits = 12;
inline constexpr int kProbMax = (1 << kProbBits) - 1;  // 4095
inline constexpr int kStretchMax = 2047;

class Tables {
 public:
  // The shared, immutable instance (built on first use; thread-safe).
  static const Tables& get();

  // 4096 * logistic(d / 256) for d in [-2047, 2047], clamped to [1, 4095];
  // d outside the range is clamped first.
  int squash(int d) const {
    if (d > kStretchMax) d = kStretchMax;
    if (d < -kStretchMax) d = -kStretchMax;
    return squash_[static_cast<uint32_t>(d + kStretchMax)];
  }

  // The inverse of squash: the smallest d whose squash(d) >= p, p in [0, 4095].
  int stretch(int p) const { return stretch_[static_cast<uint32_t>(p)]; }

  // Counter learning rate for a counter that has seen n updates:
  // floor(2^17 / (2n + 3)), i.e. 1/(n + 1.5) in 1/65536 units. n < 1024.
  int rate(int n) const { return rate_[static_cast<uint32_t>(n)]; }

  const std::array<int16_t, 2 * kStretchMax + 1>& squash_table() const { return squash_; }
  const std::array<int16_t, kProbMax + 1>& stretch_table() const { return stretch_; }
  const std::array<int32_t, 1024>& rate_table() const { return rate_; }

 private:
  Tables();

  std::array<int16_t, 2 * kStretchMax + 1> squash_{};
  std::array<int16_t, kProbMax + 1> stretch_{};
  std::array<int32_t, 1024> rate_{};
};

}  // namespace lmz::cm
