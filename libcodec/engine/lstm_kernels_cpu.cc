// CPU versions of the fused steps (lstm_kernels.h): plain loops over
// lstm_math.h, one window row at a time, and the dispatch to the AVX-512
// versions (lstm_kernels_avx512.cc).
#include <fmt/format.h>

#include <algorithm>
#include <climits>

#include "libcodec/engine/lstm_kernels.h"
#include "libcodec/engine/lstm_kernels_cpu.h"
#include "libcodec/engine/lstm_math.h"
#include "libcodec/errors.h"

namespace lmz {
namespace {

using namespace lstm_math;

void cell_portable(const CellArgs& a) {
  const int64_t hd = a.hidden;
  for (int64_t k = 0; k < a.rows; ++k) {
    const int32_t* acc = a.acc + k * 4 * hd;
    const int32_t* in0 = a.input0 != nullptr ? a.input0 + a.symbols[k] * 4 * hd : nullptr;
    const int64_t slot = a.slots[k];
    int8_t* h = a.h + slot * hd;
    int32_t* c = a.c + slot * hd;
    auto index = [&](int64_t r) {
      const int64_t sum = int64_t{acc[r]} + (in0 != nullptr ? in0[r] : 0);
      return gate_index(sum, a.multiplier[r], a.bias[r], a.shift);
    };
    for (int64_t j = 0; j < hd; ++j) {
      const CellState s = cell_update(
          a.sigmoid_lut[index(j)], a.sigmoid_lut[index(hd + j)], a.tanh_lut[index(2 * hd + j)],
          a.sigmoid_lut[index(3 * hd + j)], c[j], a.cell_clamp, a.tanh_lut);
      c[j] = static_cast<int32_t>(s.c);
      h[j] = static_cast<int8_t>(s.h);
    }
    copy_next_input(a, k);
  }
}

void output_portable(const OutputArgs& a) {
  int64_t logit[256], freq[256];
  for (int64_t k = 0; k < a.rows; ++k) {
    const int32_t* acc = a.acc + k * 256;
    int64_t max_logit = INT64_MIN;
    int64_t first_max = 0;
    for (int64_t s = 0; s < 256; ++s) {
      logit[s] = rescale(acc[s], a.multiplier[s], a.bias[s], a.shift);
      if (logit[s] > max_logit) {
        max_logit = logit[s];
        first_max = s;
      }
    }
    int64_t weight_sum = 0;
    for (int64_t s = 0; s < 256; ++s) {
      freq[s] = output_weight(max_logit, logit[s], a.exp_lut);
      weight_sum += freq[s];
    }
    int64_t total = 0;
    for (int64_t s = 0; s < 256; ++s) {
      freq[s] = output_frequency(freq[s], weight_sum);
      total += freq[s];
    }
    freq[first_max] += kFrequencyTotal - total;
    write_cdf(freq, a.cdf + k * 257);
  }
}

void require(CpuStepIsa isa) {
  if (!cpu_step_isa_supported(isa)) {
    throw UsageError(fmt::format("this CPU does not run the {} steps",
                                 isa == CpuStepIsa::kAvx512 ? "AVX-512" : "portable"));
  }
}

}  // namespace

void copy_next_input(const CellArgs& a, int64_t k) {
  if (a.next_input == nullptr) return;
  const int64_t hd = a.hidden, slot = a.slots[k];
  int8_t* next = a.next_input + k * 2 * hd;
  const int8_t* h = a.h + slot * hd;
  std::copy(h, h + hd, next);
  const int8_t* next_h = a.next_h + slot * hd;
  std::copy(next_h, next_h + hd, next + hd);
}

void write_cdf(const int64_t* freq, uint32_t* cdf) {
  cdf[0] = 0;
  for (int64_t s = 0; s < 256; ++s) cdf[s + 1] = cdf[s] + static_cast<uint32_t>(freq[s]);
}

bool cpu_step_isa_supported(CpuStepIsa isa) {
  if (isa == CpuStepIsa::kPortable) return true;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return lstm_avx512_built() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

CpuStepIsa best_cpu_step_isa() {
  return cpu_step_isa_supported(CpuStepIsa::kAvx512) ? CpuStepIsa::kAvx512 : CpuStepIsa::kPortable;
}

void lstm_cell_cpu(const CellArgs& args, CpuStepIsa isa) {
  require(isa);
  if (isa == CpuStepIsa::kAvx512) return lstm_cell_avx512(args);
  cell_portable(args);
}

void lstm_output_cpu(const OutputArgs& args, CpuStepIsa isa) {
  require(isa);
  if (isa == CpuStepIsa::kAvx512) return lstm_output_avx512(args);
  output_portable(args);
}

}  // namespace lmz
