// Exact int8 matrix products on the CPU for the engine's fused path:
// out[r][n] = sum over k of x[r][k] * w[n][k], in int32, with the widest
// integer instructions the CPU has (AVX-512 VNNI, AVX2, or plain C++),
// chosen at run time. Integer sums do not depend on their order, so every
// instruction set gives the same result (tests/engine/test_int8_product.cc).
// No libtorch here.
#pragma once

#include <cstdint>
#include <vector>

namespace lmz {

enum class Int8Isa { kPortable, kAvx2, kAvx512Vnni };

// The fastest Int8Isa this CPU runs.
Int8Isa best_int8_isa();
// Whether this CPU runs `isa`.
bool int8_isa_supported(Int8Isa isa);
const char* int8_isa_name(Int8Isa isa);

// A weight matrix w [rows, cols] of int8 (row-major), laid out once for one
// instruction set. Exact while cols <= 65536 (int32 sums of products of at
// most 255 * 128); the model file allows far less.
class Int8Weights {
 public:
  // Throws UsageError when this CPU does not run `isa` or cols is too large.
  Int8Weights(const int8_t* w, int64_t rows, int64_t cols, Int8Isa isa);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  Int8Isa isa() const { return isa_; }

  // out [n, rows()] = x [n, cols()] times w transposed, exact; x and out
  // row-major and contiguous.
  void multiply(const int8_t* x, int64_t n, int32_t* out) const;

 private:
  Int8Isa isa_;
  int64_t rows_, cols_;
  int64_t blocks_ = 0;             // groups of output rows (16 for VNNI, 8 for AVX2)
  int64_t steps_ = 0;              // groups of columns (4 for VNNI, 2 for AVX2)
  std::vector<int8_t> plain_;      // portable: w as given
  std::vector<int8_t> packed8_;    // VNNI: [blocks][steps][16 rows][4 columns]
  std::vector<int32_t> offset_;    // VNNI: 128 * the sum of each row
  std::vector<int16_t> packed16_;  // AVX2: [blocks][steps][8 rows][2 columns]
};

}  // namespace lmz
