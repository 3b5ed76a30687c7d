// Tests of the context-mixing lookup tables (libcodec/cm/stage_tables.h):
// their content is part of the coded format, so it is pinned by a hash; and
// the properties spec/MIXING.md states for them and for stage 1's counters.
#define BOOST_TEST_MODULE cm_tables
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "libcodec/cm/mix1_core.h"
#include "libcodec/cm/stage_tables.h"
#include "libcodec/hash.h"

namespace lmz::cm {
namespace {

// Little-endian bytes of every entry, so the hash does not depend on the
// host's byte order.
template <typename Table>
uint64_t table_hash(const Table& table) {
  std::vector<uint8_t> bytes;
  for (const auto v : table) {
    const uint32_t u = static_cast<uint32_t>(v);
    for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<uint8_t>(u >> (8 * b)));
  }
  return xxh3_64(bytes);
}

BOOST_AUTO_TEST_CASE(tables_match_committed_hashes) {
  const StageTables& t = stage_tables();
  // Committed values: a change here changes every coded window of stage 1.
  BOOST_CHECK_EQUAL(table_hash(t.squash), 7594681745116725164ull);
  BOOST_CHECK_EQUAL(table_hash(t.stretch), 1676739906222220749ull);
  BOOST_CHECK_EQUAL(table_hash(t.rate), 8353887320658959757ull);
}

BOOST_AUTO_TEST_CASE(squash_is_monotonic_and_bounded) {
  const StageTables& t = stage_tables();
  int prev = 0;
  for (int d = -kStretchMax; d <= kStretchMax; ++d) {
    const int p = squash(t, d);
    BOOST_REQUIRE_GE(p, 1);
    BOOST_REQUIRE_LE(p, kProbMax);
    BOOST_REQUIRE_GE(p, prev);
    prev = p;
  }
  BOOST_CHECK_EQUAL(squash(t, 0), 2047);     // the centre knot
  BOOST_CHECK_EQUAL(squash(t, -128), 1546);  // knots are hit exactly
  BOOST_CHECK_EQUAL(squash(t, 1024), 4024);
  BOOST_CHECK_EQUAL(squash(t, 100000), squash(t, kStretchMax));
  BOOST_CHECK_EQUAL(squash(t, -100000), squash(t, -kStretchMax));
}

BOOST_AUTO_TEST_CASE(stretch_inverts_squash) {
  const StageTables& t = stage_tables();
  for (int p = 1; p <= kProbMax; ++p) {
    const int d = stretch(t, p);
    BOOST_REQUIRE_GE(d, -kStretchMax);
    BOOST_REQUIRE_LE(d, kStretchMax);
    if (p > 1) BOOST_REQUIRE_GE(d, stretch(t, p - 1));
    // The definition: the smallest d with squash(d) >= p.
    if (p <= squash(t, kStretchMax)) {
      BOOST_REQUIRE_GE(squash(t, d), p);
      if (d > -kStretchMax) BOOST_REQUIRE_LT(squash(t, d - 1), p);
    }
  }
  BOOST_CHECK_EQUAL(stretch(t, 2047), 0);
}

BOOST_AUTO_TEST_CASE(counters_stay_in_range_and_learn) {
  using namespace mix1;
  const StageTables& t = stage_tables();
  uint32_t c = kFreshCounter | 0x5A;
  BOOST_CHECK_EQUAL(counter_p16(c), 32768);
  BOOST_CHECK_EQUAL(counter_n(c), 0);
  BOOST_CHECK_EQUAL(counter_input(c, t), 0);  // unseen: no opinion
  for (int i = 0; i < 1000; ++i) counter_update(c, 1, 60, t);
  BOOST_CHECK_EQUAL(c & 255, 0x5Au);  // the check byte is kept
  BOOST_CHECK_EQUAL(counter_n(c), 60);
  BOOST_CHECK_GT(counter_p16(c), 65000);
  BOOST_CHECK_LE(counter_p16(c), 65535);
  for (int i = 0; i < 1000; ++i) counter_update(c, 0, 60, t);
  BOOST_CHECK_LT(counter_p16(c), 500);
  BOOST_CHECK_GE(counter_p16(c), 0);
  // First update moves two thirds of the way: rate(0) = 2^17 / 3 = 43690.
  BOOST_CHECK_EQUAL(t.rate[0], 43690);
  uint32_t d = kFreshCounter;
  counter_update(d, 1, 60, t);
  BOOST_CHECK_EQUAL(counter_p16(d), 32768 + ((32767 * 43690) >> 16));
  counter_update(d, 0, 60, t);  // rate(1) = 2^17 / 5 = 26214; floor division
  BOOST_CHECK_EQUAL(counter_p16(d), 54612 - ((54612 * 26214 + 65535) >> 16));
}

BOOST_AUTO_TEST_CASE(counter_table_detects_collisions) {
  using namespace mix1;
  const StageTables& t = stage_tables();
  std::vector<uint32_t> table(size_t{1} << 12, kFreshCounter);
  uint32_t* a = table_find(table.data(), 12, 0x12345601u);
  counter_update(*a, 1, 60, t);
  BOOST_CHECK_EQUAL(counter_n(*table_find(table.data(), 12, 0x12345601u)), 1);
  // Same slot pair, other check byte: a fresh counter in the other slot.
  uint32_t* b = table_find(table.data(), 12, 0x12345602u);
  BOOST_CHECK_EQUAL(b - table.data(), (a - table.data()) ^ 1);
  BOOST_CHECK_EQUAL(counter_n(*b), 0);
  counter_update(*b, 1, 60, t);
  // A third check byte evicts one of the two (the one with smaller n; on a
  // tie the first slot, which held check 0x01), the other survives.
  BOOST_CHECK_EQUAL(counter_n(*table_find(table.data(), 12, 0x12345603u)), 0);
  BOOST_CHECK_EQUAL(counter_n(*table_find(table.data(), 12, 0x12345602u)), 1);
  BOOST_CHECK_EQUAL(counter_n(*table_find(table.data(), 12, 0x12345601u)), 0);  // evicted
}

BOOST_AUTO_TEST_CASE(mix32_is_pinned) {
  BOOST_CHECK_EQUAL(mix32(0), 0u);
  BOOST_CHECK_EQUAL(mix32(1), 1753845952u);
}

}  // namespace
}  // namespace lmz::cm
