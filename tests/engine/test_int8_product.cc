// The CPU int8 products of the fused path (libcodec/engine/int8_product.h):
// every instruction set this CPU runs must give the portable loops' int32
// results exactly, on odd shapes (partial tiles, padding) and on the
// extreme values where a saturating instruction would go wrong.
#define BOOST_TEST_MODULE int8_product
#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "libcodec/engine/int8_product.h"

using namespace lmz;

namespace {

std::vector<int8_t> random_bytes(size_t n, std::mt19937& rng) {
  std::vector<int8_t> v(n);
  for (auto& b : v) b = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  return v;
}

std::vector<int32_t> product(const std::vector<int8_t>& w, int64_t rows, int64_t cols,
                             const std::vector<int8_t>& x, int64_t n, Int8Isa isa) {
  Int8Weights packed(w.data(), rows, cols, isa);
  std::vector<int32_t> out(static_cast<size_t>(n * rows), -1);
  packed.multiply(x.data(), n, out.data());
  return out;
}

std::vector<Int8Isa> supported_isas() {
  std::vector<Int8Isa> isas;
  for (Int8Isa isa : {Int8Isa::kPortable, Int8Isa::kAvx2, Int8Isa::kAvx512Vnni}) {
    if (int8_isa_supported(isa)) isas.push_back(isa);
  }
  BOOST_TEST_MESSAGE("instruction sets here: " << isas.size() << ", best "
                                               << int8_isa_name(best_int8_isa()));
  return isas;
}

}  // namespace

BOOST_AUTO_TEST_CASE(portable_product_is_the_plain_sum) {
  // 2 x 3 weights, 2 rows of x, values worked out by hand.
  const std::vector<int8_t> w = {1, -2, 3, -128, 127, 0};
  const std::vector<int8_t> x = {5, 6, -7, -128, -128, 127};
  const auto out = product(w, 2, 3, x, 2, Int8Isa::kPortable);
  const std::vector<int32_t> expected = {5 - 12 - 21, -640 + 762, -128 + 256 + 381, 16384 - 16256};
  BOOST_TEST(out == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_instruction_set_matches_the_portable_loops) {
  std::mt19937 rng(11);
  // Shapes: single elements, partial tiles and column groups, the shipped
  // models' (4H x H and 256 x H for H = 32, 384, 1024; 4H x 2H).
  const std::vector<std::array<int64_t, 3>> shapes = {
      {1, 1, 1},       {1, 3, 5},     {7, 17, 9},      {5, 33, 66},    {64, 128, 32},
      {33, 1536, 384}, {9, 256, 384}, {4, 4096, 2048}, {3, 256, 1024}, {70, 80, 20}};
  for (Int8Isa isa : supported_isas()) {
    for (const auto& [n, rows, cols] : shapes) {
      const auto w = random_bytes(static_cast<size_t>(rows * cols), rng);
      const auto x = random_bytes(static_cast<size_t>(n * cols), rng);
      const auto expected = product(w, rows, cols, x, n, Int8Isa::kPortable);
      BOOST_TEST_CONTEXT(int8_isa_name(isa) << " " << n << " x " << rows << " x " << cols) {
        BOOST_TEST(product(w, rows, cols, x, n, isa) == expected);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(extreme_values_do_not_saturate) {
  // All -128 times all -128 (and times 127): the largest sums a row can
  // have, where 16-bit intermediate sums would saturate.
  const int64_t n = 6, rows = 40, cols = 2048;
  for (Int8Isa isa : supported_isas()) {
    for (int8_t wv : {int8_t{-128}, int8_t{127}}) {
      const std::vector<int8_t> w(rows * cols, wv);
      const std::vector<int8_t> x(n * cols, -128);
      const auto out = product(w, rows, cols, x, n, isa);
      for (int32_t v : out) BOOST_TEST(v == cols * -128 * int32_t{wv});
    }
  }
}

BOOST_AUTO_TEST_CASE(an_empty_batch_writes_nothing) {
  const std::vector<int8_t> w(16 * 8, 1);
  for (Int8Isa isa : supported_isas()) {
    Int8Weights packed(w.data(), 16, 8, isa);
    int32_t sentinel = 7;
    packed.multiply(nullptr, 0, &sentinel);
    BOOST_TEST(sentinel == 7);
  }
}
