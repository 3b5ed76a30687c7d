// The CPU fused steps (libcodec/engine/lstm_kernels.h): every instruction
// set this CPU runs must give the portable loops' integers exactly: h, c
// and the next layer's input of the cell, and the CDFs of the output, on
// odd widths (partial vectors), shuffled slots, every rescale shift, the
// extremes of the accumulators and of the tables' ranges, and ties.
#define BOOST_TEST_MODULE lstm_steps
#include <boost/test/unit_test.hpp>
#include <climits>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "libcodec/engine/lstm_kernels.h"

using namespace lmz;

namespace {

constexpr int32_t kAccLimit = (1 << 26) - 1;  // |acc| and |input0| (MODEL.md: sum < 2^27)

const char* name(CpuStepIsa isa) {
  return isa == CpuStepIsa::kAvx512 ? "avx512" : "portable";
}

std::vector<CpuStepIsa> fast_isas() {
  std::vector<CpuStepIsa> isas;
  if (cpu_step_isa_supported(CpuStepIsa::kAvx512)) isas.push_back(CpuStepIsa::kAvx512);
  BOOST_TEST_MESSAGE("step instruction sets besides portable here: " << isas.size() << ", best "
                                                                     << name(best_cpu_step_isa()));
  return isas;
}

int32_t uniform(std::mt19937& rng, int64_t lo, int64_t hi) {
  return static_cast<int32_t>(std::uniform_int_distribution<int64_t>(lo, hi)(rng));
}

std::vector<int32_t> uniform_vector(std::mt19937& rng, size_t n, int64_t lo, int64_t hi) {
  std::vector<int32_t> v(n);
  for (auto& x : v) x = uniform(rng, lo, hi);
  return v;
}

// The exporter's tables (MODEL.md "Tables"), or random ones within the
// loader's ranges when `random` is set.
struct Tables {
  std::vector<int32_t> sig, tanh, exp;
};

Tables make_tables(std::mt19937& rng, bool random) {
  Tables t;
  if (random) {
    t.sig = uniform_vector(rng, 4096, 0, 32768);
    t.tanh = uniform_vector(rng, 4096, -32768, 32768);
    t.exp = uniform_vector(rng, 4096, 0, 65536);
    t.exp[0] = uniform(rng, 1, 65536);
    return t;
  }
  for (int j = 0; j < 4096; ++j) {
    const double x = (j - 2048) / 256.0;
    t.sig.push_back(static_cast<int32_t>(std::floor(32768 / (1 + std::exp(-x)) + 0.5)));
    t.tanh.push_back(static_cast<int32_t>(std::floor(32768 * std::tanh(x) + 0.5)));
    t.exp.push_back(static_cast<int32_t>(std::floor(65536 * std::exp(-j / 256.0) + 0.5)));
  }
  return t;
}

// One cell call's inputs, and the state arrays it updates.
struct CellCase {
  int64_t hidden = 0, rows = 0, windows = 0;
  bool layer0 = false, next = false;
  int32_t shift = 24, cell_clamp = 1 << 21;
  Tables tables;
  std::vector<int32_t> acc, input0, multiplier, bias, c;
  std::vector<int64_t> symbols, slots;
  std::vector<int8_t> h, next_h;
};

CellCase make_cell_case(std::mt19937& rng, int64_t hidden, int64_t rows, bool layer0, bool next) {
  CellCase k;
  k.hidden = hidden;
  k.rows = rows;
  k.windows = rows + 3;
  k.layer0 = layer0;
  k.next = next;
  k.shift = uniform(rng, 1, 31);
  const int32_t clamps[] = {1, 100, 1 << 21, 1 << 24, uniform(rng, 1, 1 << 24)};
  k.cell_clamp = clamps[rng() % 5];
  k.tables = make_tables(rng, rng() % 2 == 0);
  const size_t gates = static_cast<size_t>(4 * hidden);
  // Accumulators at and near the extremes as well as in between.
  k.acc = uniform_vector(rng, static_cast<size_t>(rows) * gates, -kAccLimit, kAccLimit);
  for (size_t r = 0; r < k.acc.size(); r += 7) k.acc[r] = r % 2 ? kAccLimit : -kAccLimit;
  if (layer0) {
    k.input0 = uniform_vector(rng, 257 * gates, -kAccLimit, kAccLimit);
    for (int64_t r = 0; r < rows; ++r) k.symbols.push_back(uniform(rng, 0, 256));
  }
  k.multiplier = uniform_vector(rng, gates, 0, INT32_MAX);
  k.multiplier[0] = INT32_MAX;
  k.bias = uniform_vector(rng, gates, INT32_MIN, INT32_MAX);
  // Small shifts with large multipliers clamp nearly everything; keep some
  // rows where the gates land inside the tables.
  for (size_t r = 1; r < gates; r += 3) {
    k.multiplier[r] = uniform(rng, 0, int64_t{1} << (k.shift > 8 ? k.shift - 8 : 0));
    k.bias[r] = uniform(rng, -3000, 3000);
  }
  k.c = uniform_vector(rng, static_cast<size_t>(k.windows * hidden), -k.cell_clamp, k.cell_clamp);
  std::vector<int8_t> h(static_cast<size_t>(k.windows * hidden));
  for (auto& v : h) v = static_cast<int8_t>(uniform(rng, -127, 127));
  k.h = h;
  for (auto& v : h) v = static_cast<int8_t>(uniform(rng, -127, 127));
  k.next_h = h;
  std::vector<int64_t> slots(static_cast<size_t>(k.windows));
  std::iota(slots.begin(), slots.end(), 0);
  std::shuffle(slots.begin(), slots.end(), rng);
  k.slots.assign(slots.begin(), slots.begin() + rows);
  return k;
}

struct CellResult {
  std::vector<int8_t> h, next_input;
  std::vector<int32_t> c;
  bool operator==(const CellResult&) const = default;
};

CellResult run_cell(CellCase k, CpuStepIsa isa) {
  CellArgs a;
  a.rows = k.rows;
  a.hidden = k.hidden;
  a.acc = k.acc.data();
  a.input0 = k.layer0 ? k.input0.data() : nullptr;
  a.symbols = k.layer0 ? k.symbols.data() : nullptr;
  a.slots = k.slots.data();
  a.multiplier = k.multiplier.data();
  a.bias = k.bias.data();
  a.sigmoid_lut = k.tables.sig.data();
  a.tanh_lut = k.tables.tanh.data();
  a.shift = k.shift;
  a.cell_clamp = k.cell_clamp;
  a.h = k.h.data();
  a.c = k.c.data();
  std::vector<int8_t> next_input(static_cast<size_t>(k.rows * 2 * k.hidden), 99);
  if (k.next) {
    a.next_input = next_input.data();
    a.next_h = k.next_h.data();
  }
  lstm_cell_cpu(a, isa);
  return {k.h, next_input, k.c};
}

// One output call's inputs.
struct OutputCase {
  int64_t rows = 0;
  int32_t shift = 24;
  std::vector<int32_t> acc, multiplier, bias, exp;
};

std::vector<uint32_t> run_output(const OutputCase& k, CpuStepIsa isa) {
  OutputArgs a;
  a.rows = k.rows;
  a.acc = k.acc.data();
  a.multiplier = k.multiplier.data();
  a.bias = k.bias.data();
  a.exp_lut = k.exp.data();
  a.shift = k.shift;
  std::vector<uint32_t> cdf(static_cast<size_t>(k.rows * 257), 0xDEADBEEF);
  a.cdf = cdf.data();
  lstm_output_cpu(a, isa);
  return cdf;
}

OutputCase make_output_case(std::mt19937& rng, int64_t rows, bool random_tables) {
  OutputCase k;
  k.rows = rows;
  k.shift = uniform(rng, 1, 31);
  k.acc = uniform_vector(rng, static_cast<size_t>(rows * 256), -2 * kAccLimit, 2 * kAccLimit);
  // Multipliers that keep the logits within the EXP table's reach.
  k.multiplier = uniform_vector(rng, 256, 0, int64_t{1} << (k.shift > 12 ? k.shift - 12 : 0));
  k.bias = uniform_vector(rng, 256, -4000, 4000);
  k.exp = make_tables(rng, random_tables).exp;
  return k;
}

void check_cdfs(const std::vector<uint32_t>& cdf, int64_t rows) {
  for (int64_t k = 0; k < rows; ++k) {
    const uint32_t* row = cdf.data() + k * 257;
    BOOST_TEST(row[0] == 0u);
    BOOST_TEST(row[256] == 65536u);
    for (int s = 0; s < 256; ++s) BOOST_TEST_REQUIRE(row[s + 1] > row[s]);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(portable_is_always_supported) {
  BOOST_TEST(cpu_step_isa_supported(CpuStepIsa::kPortable));
  if (!cpu_step_isa_supported(CpuStepIsa::kAvx512)) {
    BOOST_TEST((best_cpu_step_isa() == CpuStepIsa::kPortable));
  }
}

BOOST_AUTO_TEST_CASE(cells_match_the_portable_loops) {
  std::mt19937 rng(5);
  const auto isas = fast_isas();
  for (int64_t hidden : {1, 5, 8, 9, 32, 63, 384}) {
    for (int64_t rows : {1, 3, 17}) {
      for (int variant = 0; variant < 4; ++variant) {
        const CellCase k = make_cell_case(rng, hidden, rows, variant & 1, variant & 2);
        const CellResult expected = run_cell(k, CpuStepIsa::kPortable);
        for (CpuStepIsa isa : isas) {
          BOOST_TEST_CONTEXT(name(isa) << " H=" << hidden << " rows=" << rows
                                       << " layer0=" << k.layer0 << " next=" << k.next
                                       << " shift=" << k.shift << " clamp=" << k.cell_clamp) {
            const CellResult got = run_cell(k, isa);
            BOOST_TEST(got.h == expected.h);
            BOOST_TEST(got.c == expected.c);
            BOOST_TEST(got.next_input == expected.next_input);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_cell_changes_only_its_rows_slots) {
  std::mt19937 rng(6);
  const CellCase k = make_cell_case(rng, 9, 2, true, false);
  for (CpuStepIsa isa : {CpuStepIsa::kPortable, best_cpu_step_isa()}) {
    const CellResult got = run_cell(k, isa);
    for (int64_t w = 0; w < k.windows; ++w) {
      if (w == k.slots[0] || w == k.slots[1]) continue;
      for (int64_t j = 0; j < k.hidden; ++j) {
        const auto i = static_cast<size_t>(w * k.hidden + j);
        BOOST_TEST(got.h[i] == k.h[i]);
        BOOST_TEST(got.c[i] == k.c[i]);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(outputs_match_the_portable_loops) {
  std::mt19937 rng(7);
  const auto isas = fast_isas();
  for (int64_t rows : {1, 4, 33}) {
    for (bool random_tables : {false, true}) {
      const OutputCase k = make_output_case(rng, rows, random_tables);
      const auto expected = run_output(k, CpuStepIsa::kPortable);
      check_cdfs(expected, rows);
      for (CpuStepIsa isa : isas) {
        BOOST_TEST_CONTEXT(name(isa) << " rows=" << rows << " shift=" << k.shift) {
          BOOST_TEST(run_output(k, isa) == expected);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(outputs_match_at_the_extremes) {
  std::mt19937 rng(8);
  const auto isas = fast_isas();
  std::vector<OutputCase> cases;
  // Every logit equal: the remainder goes to symbol 0.
  OutputCase tie;
  tie.rows = 2;
  tie.acc.assign(2 * 256, 12345);
  tie.multiplier.assign(256, 0);
  tie.bias.assign(256, -7);
  tie.exp = make_tables(rng, false).exp;
  cases.push_back(tie);
  // The largest weight sum (every weight 65536: P = 2^24) and the smallest
  // (only the maximum's weight, 1); the maximum on the last symbol, tied
  // with one before it.
  for (int32_t rest : {65536, 0}) {
    OutputCase k = tie;
    k.exp.assign(4096, rest);
    k.exp[0] = rest == 0 ? 1 : 65536;
    k.bias[255] = 5000;
    k.bias[200] = 5000;
    cases.push_back(k);
  }
  // Ties inside one vector of eight symbols (3 and 5) and across vectors
  // (5 and 250) with a remainder R > 0 to place: it goes to the first.
  OutputCase ties = tie;
  ties.bias = uniform_vector(rng, 256, -900, 900);
  ties.bias[3] = ties.bias[5] = ties.bias[250] = 1000;
  cases.push_back(ties);
  ties.bias[3] = 0;
  cases.push_back(ties);
  // Accumulators and multipliers at their limits, shift 31 and 1.
  for (int32_t shift : {31, 1}) {
    OutputCase k;
    k.rows = 3;
    k.shift = shift;
    k.acc = uniform_vector(rng, 3 * 256, -2 * kAccLimit, 2 * kAccLimit);
    for (size_t s = 0; s < k.acc.size(); s += 5) k.acc[s] = s % 2 ? 2 * kAccLimit : -2 * kAccLimit;
    k.multiplier = uniform_vector(rng, 256, 0, INT32_MAX);
    k.bias = uniform_vector(rng, 256, INT32_MIN, INT32_MAX);
    k.exp = make_tables(rng, true).exp;
    cases.push_back(k);
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto expected = run_output(cases[i], CpuStepIsa::kPortable);
    check_cdfs(expected, cases[i].rows);
    if (i == 3 || i == 4) {  // the ties: symbol 3, then 5, got the remainder
      const uint32_t* cdf = expected.data();
      const int first = i == 3 ? 3 : 5, other = 250;
      BOOST_TEST(cdf[first + 1] - cdf[first] > cdf[other + 1] - cdf[other]);
    }
    for (CpuStepIsa isa : isas) {
      BOOST_TEST_CONTEXT(name(isa) << " case " << i) {
        BOOST_TEST(run_output(cases[i], isa) == expected);
      }
    }
  }
}
