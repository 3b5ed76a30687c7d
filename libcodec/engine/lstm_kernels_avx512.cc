// AVX-512 versions of the CPU fused steps (lstm_kernels.h): lstm_math.h's
// arithmetic on eight int64 lanes, for eight hidden units or eight symbols
// at a time. Each vector operation is the scalar one lane by lane: 64-bit
// products (vpmullq, or vpmuldq where both factors are int32 values),
// arithmetic right shifts (floor division), 64-bit min/max for the clamps
// and gathers for the table lookups, so the integers are the portable
// loops' (tests/engine/test_lstm_steps.cc compares them). The one change of
// method is the output's division, floor(p * 65280 / P), done in float64
// (frequency8 says why that is exact).
#include <climits>
#include <cstring>

#include "libcodec/engine/lstm_kernels_cpu.h"
#include "libcodec/engine/lstm_math.h"
#include "libcodec/errors.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// GCC 12 reports the intrinsics' deliberately undefined pass-through
// operands as maybe-uninitialized (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define LMZ_STEPS_X86 1
#endif

namespace lmz {

#ifdef LMZ_STEPS_X86
namespace {

using namespace lstm_math;

#define LMZ_AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512vl")))

// Eight int32 values sign-extended to int64 lanes; lanes outside `mask` are 0.
LMZ_AVX512_TARGET inline __m512i load8(const int32_t* p, __mmask8 mask) {
  return _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(mask, p));
}

LMZ_AVX512_TARGET inline __m512i splat(int64_t v) {
  return _mm512_set1_epi64(v);
}

LMZ_AVX512_TARGET inline __m512i clamp8(__m512i v, int64_t lo, int64_t hi) {
  return _mm512_min_epi64(_mm512_max_epi64(v, splat(lo)), splat(hi));
}

// lstm_math::rescale. acc * multiplier fits int64 (MODEL.md bounds) and
// vpmullq keeps its low 64 bits, i.e. all of it.
LMZ_AVX512_TARGET inline __m512i rescale8(__m512i acc, __m512i multiplier, __m512i bias,
                                          int shift) {
  const __m512i rounded =
      _mm512_add_epi64(_mm512_mullo_epi64(acc, multiplier), splat(int64_t{1} << (shift - 1)));
  return _mm512_add_epi64(_mm512_sra_epi64(rounded, _mm_cvtsi32_si128(shift)), bias);
}

// lut[index] for indices already in 0..4095, sign-extended to int64.
LMZ_AVX512_TARGET inline __m512i lookup8(const int32_t* lut, __m512i index) {
  return _mm512_cvtepi32_epi64(_mm512_i64gather_epi32(index, lut, 4));
}

// Steps 1 (the input0 term) to 3 for gate rows r..r+7: the gate values.
LMZ_AVX512_TARGET inline __m512i gate8(const CellArgs& a, const int32_t* acc, const int32_t* in0,
                                       int64_t r, __mmask8 mask, const int32_t* lut) {
  __m512i sum = load8(acc + r, mask);
  if (in0 != nullptr) sum = _mm512_add_epi64(sum, load8(in0 + r, mask));
  const __m512i z = rescale8(sum, load8(a.multiplier + r, mask), load8(a.bias + r, mask), a.shift);
  return lookup8(lut, _mm512_add_epi64(clamp8(z, -kLutHalf, kLutHalf - 1), splat(kLutHalf)));
}

// lstm_math::cell_update for hidden units j..j+7 of one row; f, i, g, o, c
// and t are int32 values, so vpmuldq's products are exact.
LMZ_AVX512_TARGET void cell8(const CellArgs& a, const int32_t* acc, const int32_t* in0, int64_t j,
                             __mmask8 mask, int8_t* h, int32_t* c) {
  const int64_t hd = a.hidden;
  const __m512i i = gate8(a, acc, in0, j, mask, a.sigmoid_lut);
  const __m512i f = gate8(a, acc, in0, hd + j, mask, a.sigmoid_lut);
  const __m512i g = gate8(a, acc, in0, 2 * hd + j, mask, a.tanh_lut);
  const __m512i o = gate8(a, acc, in0, 3 * hd + j, mask, a.sigmoid_lut);
  const __m512i sum =
      _mm512_add_epi64(_mm512_mul_epi32(f, load8(c + j, mask)), _mm512_mul_epi32(i, g));
  const __m512i cn = clamp8(_mm512_srai_epi64(_mm512_add_epi64(sum, splat(int64_t{1} << 14)), 15),
                            -a.cell_clamp, a.cell_clamp);
  const __m512i t_index =
      clamp8(_mm512_srai_epi64(_mm512_add_epi64(cn, splat(64)), 7), -kLutHalf, kLutHalf - 1);
  const __m512i t = lookup8(a.tanh_lut, _mm512_add_epi64(t_index, splat(kLutHalf)));
  const __m512i ot = _mm512_mul_epi32(o, t);
  const __m512i ot127 = _mm512_sub_epi64(_mm512_slli_epi64(ot, 7), ot);
  const __m512i hn = _mm512_srai_epi64(_mm512_add_epi64(ot127, splat(int64_t{1} << 29)), 30);
  // Truncating, as the portable loop's static_casts. (Narrowing masked
  // stores, vpmovqd to memory, are microcoded and slow on AMD's cores.)
  _mm256_mask_storeu_epi32(c + j, mask, _mm512_cvtepi64_epi32(cn));
  const __m128i h8 = _mm512_cvtepi64_epi8(hn);
  if (mask == 0xFF) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(h + j), h8);
  } else {
    alignas(16) int8_t lanes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), h8);
    std::memcpy(h + j, lanes, static_cast<size_t>(__builtin_popcount(mask)));
  }
}

LMZ_AVX512_TARGET void cell(const CellArgs& a) {
  const int64_t hd = a.hidden;
  for (int64_t k = 0; k < a.rows; ++k) {
    const int32_t* acc = a.acc + k * 4 * hd;
    const int32_t* in0 = a.input0 != nullptr ? a.input0 + a.symbols[k] * 4 * hd : nullptr;
    const int64_t slot = a.slots[k];
    for (int64_t j = 0; j < hd; j += 8) {
      const __mmask8 mask = hd - j >= 8 ? 0xFF : static_cast<__mmask8>((1u << (hd - j)) - 1);
      cell8(a, acc, in0, j, mask, a.h + slot * hd, a.c + slot * hd);
    }
    copy_next_input(a, k);
  }
}

// lstm_math::output_frequency for eight weights: 1 + floor(p * 65280 / P),
// truncating the float64 quotient. Exact: p <= P and p <= 65536, so
// a = p * 65280 < 2^32 and P <= 2^24 are exact in float64, and the quotient
// a / P <= 65280 is rounded by at most 65280 * 2^-53 < 2^-36. When a / P is
// not an integer it lies at least 1 / P >= 2^-24 below the next integer,
// so rounding cannot reach that integer and truncation gives the floor.
LMZ_AVX512_TARGET inline __m512i frequency8(__m512i weight, __m512d weight_sum) {
  const __m512d scaled = _mm512_cvtepi64_pd(_mm512_mul_epi32(weight, splat(kFrequencySpread)));
  return _mm512_add_epi64(_mm512_cvttpd_epi64(_mm512_div_pd(scaled, weight_sum)), splat(1));
}

LMZ_AVX512_TARGET void output(const OutputArgs& a) {
  alignas(64) int64_t logit[256], freq[256];
  for (int64_t k = 0; k < a.rows; ++k) {
    const int32_t* acc = a.acc + k * 256;
    __m512i max = splat(INT64_MIN);
    for (int64_t s = 0; s < 256; s += 8) {
      const __m512i l = rescale8(load8(acc + s, 0xFF), load8(a.multiplier + s, 0xFF),
                                 load8(a.bias + s, 0xFF), a.shift);
      _mm512_store_si512(logit + s, l);
      max = _mm512_max_epi64(max, l);
    }
    const int64_t max_logit = _mm512_reduce_max_epi64(max);
    const __m512i max8 = splat(max_logit);
    int64_t first_max = 0;
    for (int64_t s = 0; s < 256; s += 8) {
      const __mmask8 at_max = _mm512_cmpeq_epi64_mask(_mm512_load_si512(logit + s), max8);
      if (at_max != 0) {
        first_max = s + __builtin_ctz(at_max);
        break;
      }
    }
    __m512i sum = _mm512_setzero_si512();
    for (int64_t s = 0; s < 256; s += 8) {
      // MODEL.md: EXP[min(m - l, 4095)]; m - l >= 0.
      const __m512i d = _mm512_min_epi64(_mm512_sub_epi64(max8, _mm512_load_si512(logit + s)),
                                         splat(kLutSize - 1));
      const __m512i p = lookup8(a.exp_lut, d);
      _mm512_store_si512(freq + s, p);
      sum = _mm512_add_epi64(sum, p);
    }
    const __m512d weight_sum = _mm512_set1_pd(static_cast<double>(_mm512_reduce_add_epi64(sum)));
    __m512i total = _mm512_setzero_si512();
    for (int64_t s = 0; s < 256; s += 8) {
      const __m512i f = frequency8(_mm512_load_si512(freq + s), weight_sum);
      _mm512_store_si512(freq + s, f);
      total = _mm512_add_epi64(total, f);
    }
    freq[first_max] += kFrequencyTotal - _mm512_reduce_add_epi64(total);
    write_cdf(freq, a.cdf + k * 257);
  }
}

}  // namespace

bool lstm_avx512_built() {
  return true;
}
void lstm_cell_avx512(const CellArgs& args) {
  cell(args);
}
void lstm_output_avx512(const OutputArgs& args) {
  output(args);
}

#else

bool lstm_avx512_built() {
  return false;
}
void lstm_cell_avx512(const CellArgs&) {
  throw UsageError("this build has no AVX-512 steps");
}
void lstm_output_avx512(const OutputArgs&) {
  throw UsageError("this build has no AVX-512 steps");
}

#endif

}  // namespace lmz
