// Int8Weights (int8_product.h). Each instruction set has its own weight
// layout, so that the inner loop loads one register of weights for many
// output rows and multiplies it by one column group of x broadcast:
//
// - AVX-512 VNNI: vpdpbusd multiplies unsigned by signed bytes and adds
//   groups of 4 products into int32 lanes without saturating. x is made
//   unsigned as x + 128 and the surplus, 128 times each weight row's sum, is
//   subtracted at the end: all integer, all exact.
// - AVX2: vpmaddwd on int16 (sign-extended bytes) adds pairs of products into
//   int32 lanes, exact. (vpmaddubsw, the byte form, saturates at 16 bits.)
// - Portable: plain loops, the reference the tests compare the others with.
#include "libcodec/engine/int8_product.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "libcodec/errors.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LMZ_INT8_X86 1
#endif

namespace lmz {
namespace {

constexpr int64_t kVnniLanes = 16, kVnniGroup = 4;
constexpr int64_t kAvx2Lanes = 8, kAvx2Group = 2;
constexpr int64_t kMaxCols = 65536;

// w [rows, cols] as [blocks][steps][lanes rows][group columns] of T,
// zero-padded to whole blocks and column groups.
template <typename T>
std::vector<T> pack_blocks(const int8_t* w, int64_t rows, int64_t cols, int64_t lanes,
                           int64_t group, int64_t& blocks, int64_t& steps) {
  blocks = (rows + lanes - 1) / lanes;
  steps = (cols + group - 1) / group;
  std::vector<T> packed(static_cast<size_t>(blocks * steps * lanes * group), 0);
  for (int64_t o = 0; o < rows; ++o) {
    for (int64_t k = 0; k < cols; ++k) {
      const int64_t b = o / lanes, j = o % lanes, st = k / group, q = k % group;
      packed[static_cast<size_t>(((b * steps + st) * lanes + j) * group + q)] = w[o * cols + k];
    }
  }
  return packed;
}

void multiply_portable(const int8_t* w, int64_t rows, int64_t cols, const int8_t* x, int64_t n,
                       int32_t* out) {
  for (int64_t r = 0; r < n; ++r) {
    const int8_t* xr = x + r * cols;
    for (int64_t o = 0; o < rows; ++o) {
      const int8_t* wo = w + o * cols;
      int32_t sum = 0;
      for (int64_t k = 0; k < cols; ++k) sum += int32_t{xr[k]} * int32_t{wo[k]};
      out[r * rows + o] = sum;
    }
  }
}

#ifdef LMZ_INT8_X86
#define LMZ_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define LMZ_AVX2_TARGET __attribute__((target("avx2")))
// The tiles' loops over rows and blocks must be unrolled, so that their
// accumulators live in registers; -O2 does not unroll them by itself.
#define LMZ_UNROLL _Pragma("GCC unroll 8")

// Calls tile<R, B>(r, b) over n rows of x and `blocks` blocks of output
// rows: tiles of kRows x kBlocks where they fit, narrower ones at the edges
// (B = 1 for the last blocks, R = 1 for the last rows).
template <int kRows, int kBlocks, typename Tile>
void for_each_tile(int64_t n, int64_t blocks, const Tile& tile) {
  auto row_of_tiles = [&]<int R>(int64_t r) {
    int64_t b = 0;
    for (; b + kBlocks <= blocks; b += kBlocks) tile.template operator()<R, kBlocks>(r, b);
    for (; b < blocks; ++b) tile.template operator()<R, 1>(r, b);
  };
  int64_t r = 0;
  for (; r + kRows <= n; r += kRows) row_of_tiles.template operator()<kRows>(r);
  for (; r < n; ++r) row_of_tiles.template operator()<1>(r);
}

// R rows of x times B blocks of 16 output rows, starting at row r0 and block b0.
template <int R, int B>
LMZ_VNNI_TARGET void vnni_tile(const uint8_t* xu, int64_t steps, const int8_t* packed,
                               const int32_t* offset, int64_t rows, int64_t r0, int64_t b0,
                               int32_t* out) {
  __m512i acc[R][B];
  LMZ_UNROLL
  for (int r = 0; r < R; ++r) {
    LMZ_UNROLL
    for (int b = 0; b < B; ++b) acc[r][b] = _mm512_setzero_si512();
  }
  const int8_t* wb = packed + b0 * steps * 64;
  const uint8_t* xr = xu + r0 * steps * 4;
  for (int64_t s = 0; s < steps; ++s) {
    __m512i wv[B];
    LMZ_UNROLL
    for (int b = 0; b < B; ++b) wv[b] = _mm512_loadu_si512(wb + (b * steps + s) * 64);
    LMZ_UNROLL
    for (int r = 0; r < R; ++r) {
      int32_t group;
      std::memcpy(&group, xr + (r * steps + s) * 4, 4);
      const __m512i xv = _mm512_set1_epi32(group);
      LMZ_UNROLL
      for (int b = 0; b < B; ++b) acc[r][b] = _mm512_dpbusd_epi32(acc[r][b], xv, wv[b]);
    }
  }
  LMZ_UNROLL
  for (int b = 0; b < B; ++b) {
    const int64_t o0 = (b0 + b) * kVnniLanes;
    const int64_t width = std::min(kVnniLanes, rows - o0);
    const __m512i off = _mm512_loadu_si512(offset + o0);
    LMZ_UNROLL
    for (int r = 0; r < R; ++r) {
      alignas(64) int32_t lane[kVnniLanes];
      _mm512_store_si512(lane, _mm512_sub_epi32(acc[r][b], off));
      std::memcpy(out + (r0 + r) * rows + o0, lane, static_cast<size_t>(width) * 4);
    }
  }
}

void multiply_vnni(const int8_t* packed, const int32_t* offset, int64_t rows, int64_t cols,
                   int64_t blocks, int64_t steps, const int8_t* x, int64_t n, int32_t* out) {
  // x + 128 as unsigned bytes, each row padded to whole column groups with
  // 128 (x = 0; the padded weights are 0 as well).
  std::vector<uint8_t> xu(static_cast<size_t>(n * steps * kVnniGroup), 128);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      xu[static_cast<size_t>(r * steps * kVnniGroup + k)] =
          static_cast<uint8_t>(static_cast<uint8_t>(x[r * cols + k]) ^ 0x80);
    }
  }
  for_each_tile<4, 4>(n, blocks, [&]<int R, int B>(int64_t r, int64_t b) {
    vnni_tile<R, B>(xu.data(), steps, packed, offset, rows, r, b, out);
  });
}

// R rows of x times B blocks of 8 output rows.
template <int R, int B>
LMZ_AVX2_TARGET void avx2_tile(const int16_t* xw, int64_t steps, const int16_t* packed,
                               int64_t rows, int64_t r0, int64_t b0, int32_t* out) {
  __m256i acc[R][B];
  LMZ_UNROLL
  for (int r = 0; r < R; ++r) {
    LMZ_UNROLL
    for (int b = 0; b < B; ++b) acc[r][b] = _mm256_setzero_si256();
  }
  const int16_t* wb = packed + b0 * steps * 16;
  const int16_t* xr = xw + r0 * steps * 2;
  for (int64_t s = 0; s < steps; ++s) {
    __m256i wv[B];
    LMZ_UNROLL
    for (int b = 0; b < B; ++b) {
      wv[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + (b * steps + s) * 16));
    }
    LMZ_UNROLL
    for (int r = 0; r < R; ++r) {
      int32_t pair;
      std::memcpy(&pair, xr + (r * steps + s) * 2, 4);
      const __m256i xv = _mm256_set1_epi32(pair);
      LMZ_UNROLL
      for (int b = 0; b < B; ++b) {
        acc[r][b] = _mm256_add_epi32(acc[r][b], _mm256_madd_epi16(xv, wv[b]));
      }
    }
  }
  LMZ_UNROLL
  for (int b = 0; b < B; ++b) {
    const int64_t o0 = (b0 + b) * kAvx2Lanes;
    const int64_t width = std::min(kAvx2Lanes, rows - o0);
    LMZ_UNROLL
    for (int r = 0; r < R; ++r) {
      alignas(32) int32_t lane[kAvx2Lanes];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lane), acc[r][b]);
      std::memcpy(out + (r0 + r) * rows + o0, lane, static_cast<size_t>(width) * 4);
    }
  }
}

void multiply_avx2(const int16_t* packed, int64_t rows, int64_t cols, int64_t blocks, int64_t steps,
                   const int8_t* x, int64_t n, int32_t* out) {
  std::vector<int16_t> xw(static_cast<size_t>(n * steps * kAvx2Group), 0);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      xw[static_cast<size_t>(r * steps * kAvx2Group + k)] = x[r * cols + k];
    }
  }
  for_each_tile<2, 4>(n, blocks, [&]<int R, int B>(int64_t r, int64_t b) {
    avx2_tile<R, B>(xw.data(), steps, packed, rows, r, b, out);
  });
}
#endif

}  // namespace

bool int8_isa_supported(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::kPortable:
      return true;
#ifdef LMZ_INT8_X86
    case Int8Isa::kAvx2:
      return __builtin_cpu_supports("avx2");
    case Int8Isa::kAvx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vnni");
#endif
    default:
      return false;
  }
}

Int8Isa best_int8_isa() {
  for (Int8Isa isa : {Int8Isa::kAvx512Vnni, Int8Isa::kAvx2}) {
    if (int8_isa_supported(isa)) return isa;
  }
  return Int8Isa::kPortable;
}

const char* int8_isa_name(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::kAvx512Vnni:
      return "avx512-vnni";
    case Int8Isa::kAvx2:
      return "avx2";
    default:
      return "portable";
  }
}

Int8Weights::Int8Weights(const int8_t* w, int64_t rows, int64_t cols, Int8Isa isa)
    : isa_(isa), rows_(rows), cols_(cols) {
  if (!int8_isa_supported(isa)) {
    throw UsageError(fmt::format("this CPU does not run {} instructions", int8_isa_name(isa)));
  }
  if (rows < 0 || cols < 0 || cols > kMaxCols) {
    throw UsageError(fmt::format("int8 product of {} x {} weights is not supported", rows, cols));
  }
  switch (isa) {
    case Int8Isa::kAvx512Vnni:
      packed8_ = pack_blocks<int8_t>(w, rows, cols, kVnniLanes, kVnniGroup, blocks_, steps_);
      offset_.assign(static_cast<size_t>(blocks_ * kVnniLanes), 0);
      for (int64_t o = 0; o < rows; ++o) {
        for (int64_t k = 0; k < cols; ++k) offset_[static_cast<size_t>(o)] += 128 * w[o * cols + k];
      }
      break;
    case Int8Isa::kAvx2:
      packed16_ = pack_blocks<int16_t>(w, rows, cols, kAvx2Lanes, kAvx2Group, blocks_, steps_);
      break;
    case Int8Isa::kPortable:
      plain_.assign(w, w + rows * cols);
      break;
  }
}

void Int8Weights::multiply(const int8_t* x, int64_t n, int32_t* out) const {
  if (n <= 0 || rows_ == 0) return;
#ifdef LMZ_INT8_X86
  if (isa_ == Int8Isa::kAvx512Vnni) {
    return multiply_vnni(packed8_.data(), offset_.data(), rows_, cols_, blocks_, steps_, x, n, out);
  }
  if (isa_ == Int8Isa::kAvx2) {
    return multiply_avx2(packed16_.data(), rows_, cols_, blocks_, steps_, x, n, out);
  }
#endif
  multiply_portable(plain_.data(), rows_, cols_, x, n, out);
}

}  // namespace lmz
