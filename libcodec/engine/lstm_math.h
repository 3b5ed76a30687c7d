// The per-element integer arithmetic of spec/MODEL.md ("Rescale", "One
// step" 2-7, "Distribution of the next byte" 2-4), written once for the CPU
// loops and the CUDA kernels: the functions are __host__ __device__ under
// nvcc, so the arithmetic the GPU runs is the arithmetic CPU CI tests.
// Right shifts of negative int64 values are arithmetic (C++20, and CUDA),
// i.e. floor division by a power of two, as the spec's floor_div.
#pragma once

#include <cstdint>

#include "libcodec/host_device.h"

namespace lmz::lstm_math {

inline constexpr int64_t kLutHalf = 2048;  // LUT index = clamped value + kLutHalf
inline constexpr int64_t kLutSize = 4096;
inline constexpr int64_t kFrequencyTotal = 65536;
inline constexpr int64_t kFrequencySpread = 65280;  // 65536 - 256: each symbol's 1 comes first

LMZ_HD int64_t clamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// MODEL.md "Rescale": floor_div(acc * M + 2^(S-1), 2^S) + B.
LMZ_HD int64_t rescale(int64_t acc, int64_t multiplier, int64_t bias, int shift) {
  return ((acc * multiplier + (int64_t{1} << (shift - 1))) >> shift) + bias;
}

// Step 2: a gate accumulator -> its index into SIG or TANH (0..4095).
LMZ_HD int64_t gate_index(int64_t acc, int64_t multiplier, int64_t bias, int shift) {
  return clamp(rescale(acc, multiplier, bias, shift), -kLutHalf, kLutHalf - 1) + kLutHalf;
}

struct CellState {
  int64_t c;  // c' (step 4)
  int64_t h;  // h' (step 6), -127..127
};

// Steps 4-6 from the four gate activations (step 3) and the previous c.
LMZ_HD CellState cell_update(int64_t i, int64_t f, int64_t g, int64_t o, int64_t c,
                             int64_t cell_clamp, const int32_t* tanh_lut) {
  const int64_t cn = clamp((f * c + i * g + (int64_t{1} << 14)) >> 15, -cell_clamp, cell_clamp);
  const int64_t t = tanh_lut[clamp((cn + 64) >> 7, -kLutHalf, kLutHalf - 1) + kLutHalf];
  return {cn, (o * t * 127 + (int64_t{1} << 29)) >> 30};
}

// Output step 2: a symbol's weight p[s] from the row maximum m and its l[s].
LMZ_HD int64_t output_weight(int64_t max_logit, int64_t logit, const int32_t* exp_lut) {
  const int64_t d = max_logit - logit;
  return exp_lut[d < kLutSize - 1 ? d : kLutSize - 1];
}

// Output step 4 before the remainder: freq[s] = 1 + floor(p[s] * 65280 / P).
LMZ_HD int64_t output_frequency(int64_t weight, int64_t weight_sum) {
  return 1 + weight * kFrequencySpread / weight_sum;
}

}  // namespace lmz::lstm_math
