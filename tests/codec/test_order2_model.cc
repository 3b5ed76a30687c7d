// Tests of the stand-in predictor (libcodec/order2_model.h): valid CDFs,
// exactness (batch and slot independence), no state change in predict(),
// and that it actually models text.
#define BOOST_TEST_MODULE order2_model
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "libcodec/hash.h"
#include "libcodec/order2_model.h"
#include "libcodec/range_coder.h"
#include "tests/codec/test_util.h"

namespace lmz {
namespace {

Bytes random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// The CDFs the model gives a window of `data` coded alone, step by step.
std::vector<Cdf> cdfs_alone(Predictor& model, const Bytes& data) {
  auto batch = model.start_batch(1);
  const uint32_t slot = 0;
  std::vector<Cdf> cdfs(data.size() + 1);
  for (size_t t = 0; t <= data.size(); ++t) {
    batch->predict({&slot, 1}, {&cdfs[t], 1});
    if (t < data.size()) batch->observe({&slot, 1}, {&data[t], 1});
  }
  return cdfs;
}

BOOST_AUTO_TEST_CASE(identity_is_fixed_by_the_definition) {
  auto model = make_order2_model();
  BOOST_CHECK_EQUAL(model->id().name, "order2");
  constexpr std::string_view kDefinition = "lmz stand-in order2 v1";
  const Hash128 expected =
      xxh3_128(ByteView(reinterpret_cast<const uint8_t*>(kDefinition.data()), kDefinition.size()));
  BOOST_CHECK(model->id().hash == expected);
  BOOST_TEST_MESSAGE("order2 model hash " << model->id().hash.hex());
  BOOST_CHECK(make_order2_model()->id().hash == expected);
  BOOST_CHECK_GE(model->preferred_batch_size(), 1u);
}

// The input and the XXH3-128 of the CDFs that pin the model's definition.
Bytes pinned_input() {
  Bytes input = test::generated_text(30000, 7);
  const Bytes noise = random_bytes(5000, 7);
  input.insert(input.end(), noise.begin(), noise.end());
  return input;
}
constexpr const char* kPinnedCdfHash = "0110b2af578f41c22e18bd26a81721b6";

std::string cdf_hash(const std::vector<Cdf>& cdfs) {
  Bytes all;
  for (const Cdf& cdf : cdfs) {
    for (uint32_t v : cdf) {
      for (int i = 0; i < 4; ++i) all.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  return xxh3_128(all).hex();
}

// The CDFs are the model's definition: archives made with it must decode
// with every later build, on every machine. This pins them on a fixed input;
// if a change to order2_model.cc moves this hash, that change needs a new
// definition string (and so a new model hash), not a new expected value.
BOOST_AUTO_TEST_CASE(definition_is_pinned) {
  auto model = make_order2_model();
  const std::string hash = cdf_hash(cdfs_alone(*model, pinned_input()));
  BOOST_TEST_MESSAGE("CDF hash " << hash);
  BOOST_CHECK_EQUAL(hash, kPinnedCdfHash);
}

// Every pair of byte values (a, b) as two bytes, a then b, in order of a
// (a_major) or of b; every order-2 context occurs.
Bytes all_pairs(bool a_major) {
  Bytes out;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      out.push_back(static_cast<uint8_t>(a_major ? a : b));
      out.push_back(static_cast<uint8_t>(a_major ? b : a));
    }
  }
  return out;
}

// A model recycles the window states of ended batches (order2_model.cc):
// a recycled state must start exactly like a fresh one, whatever its last
// window did (every order-2 context seen, buckets recycled, counts halved).
// Each probe runs in every slot of a batch of recycled states, in step with
// a fresh state of a new model.
BOOST_AUTO_TEST_CASE(recycled_states_start_like_fresh_ones) {
  auto model = make_order2_model();
  Bytes cycle(40000);
  for (size_t i = 0; i < cycle.size(); ++i) cycle[i] = static_cast<uint8_t>(i % 2 ? 0 : 255);
  const std::vector<Bytes> before{
      random_bytes(70000, 3),         all_pairs(true), Bytes(40000, 'a'), cycle,
      test::generated_text(20000, 5), Bytes(1, 'x')};
  const size_t n = before.size();
  std::vector<uint32_t> slots(n);
  for (uint32_t k = 0; k < n; ++k) slots[k] = k;
  const uint32_t zero = 0;
  for (const Bytes& probe : {pinned_input(), all_pairs(false)}) {
    {
      // Each window runs its own data to its end.
      auto batch = model->start_batch(n);
      for (uint32_t k = 0; k < n; ++k) {
        for (uint8_t b : before[k]) batch->observe({&slots[k], 1}, {&b, 1});
      }
    }
    // The next batch gets those states back.
    auto recycled = model->start_batch(n);
    auto fresh = make_order2_model()->start_batch(1);
    std::vector<size_t> first_difference(n, probe.size() + 1);
    std::vector<Cdf> step(n);
    Cdf expected;
    for (size_t t = 0; t <= probe.size(); ++t) {
      recycled->predict(slots, step);
      fresh->predict({&zero, 1}, {&expected, 1});
      for (size_t k = 0; k < n; ++k) {
        if (step[k] != expected) first_difference[k] = std::min(first_difference[k], t);
      }
      if (t == probe.size()) break;
      recycled->observe(slots, std::vector<uint8_t>(n, probe[t]));
      fresh->observe({&zero, 1}, {&probe[t], 1});
    }
    for (size_t k = 0; k < n; ++k) BOOST_CHECK_EQUAL(first_difference[k], probe.size() + 1);
  }
}

BOOST_AUTO_TEST_CASE(cdfs_are_valid_at_every_step) {
  auto model = make_order2_model();
  const Bytes text = test::sample_text("brown.txt", 20000);
  // Random bytes, text, a single repeated byte (drives counts to their
  // limits and halving), and a two-byte cycle.
  Bytes repeated(40000, 'a');
  Bytes cycle(40000);
  for (size_t i = 0; i < cycle.size(); ++i) cycle[i] = static_cast<uint8_t>(i % 2 ? 0 : 255);
  for (const Bytes* data : std::vector<const Bytes*>{&text, &repeated, &cycle}) {
    for (const Cdf& cdf : cdfs_alone(*model, *data)) BOOST_REQUIRE(is_valid_cdf(cdf));
  }
  const Bytes random = random_bytes(70000, 3);  // enough new contexts to recycle buckets
  for (const Cdf& cdf : cdfs_alone(*model, random)) BOOST_REQUIRE(is_valid_cdf(cdf));
}

BOOST_AUTO_TEST_CASE(same_cdfs_alone_and_in_a_batch_in_any_slot_order) {
  auto model = make_order2_model();
  const Bytes probe = test::sample_text("fortunes.txt", 3000);
  const std::vector<Cdf> expected = cdfs_alone(*model, probe);

  // The probe sits in slot 37 of 101 windows, each with other contents and
  // lengths; each step asks for a different subset in a different order.
  const size_t windows = 101;
  const uint32_t probe_slot = 37;
  std::vector<Bytes> data(windows);
  for (size_t i = 0; i < windows; ++i) {
    data[i] = (i == probe_slot) ? probe : random_bytes(500 + 37 * i, i);
  }
  auto batch = model->start_batch(windows);
  std::mt19937_64 rng(5);
  std::vector<size_t> pos(windows, 0);
  std::vector<Cdf> cdfs(windows);
  for (;;) {
    std::vector<uint32_t> slots;
    for (uint32_t s = 0; s < windows; ++s) {
      if (pos[s] < data[s].size() && (s == probe_slot || rng() % 3 != 0)) slots.push_back(s);
    }
    if (slots.empty()) break;
    std::shuffle(slots.begin(), slots.end(), rng);
    batch->predict(slots, std::span<Cdf>(cdfs.data(), slots.size()));
    std::vector<uint8_t> bytes(slots.size());
    for (size_t k = 0; k < slots.size(); ++k) {
      if (slots[k] == probe_slot) BOOST_REQUIRE(cdfs[k] == expected[pos[probe_slot]]);
      bytes[k] = data[slots[k]][pos[slots[k]]++];
    }
    batch->observe(slots, bytes);
    if (pos[probe_slot] == probe.size()) break;
  }
  BOOST_CHECK_EQUAL(pos[probe_slot], probe.size());
}

BOOST_AUTO_TEST_CASE(predict_does_not_change_state) {
  auto model = make_order2_model();
  const Bytes text = test::sample_text("brown.txt", 2000);
  auto batch = model->start_batch(3);
  const std::vector<uint32_t> all{0, 1, 2};
  std::vector<Cdf> first(3), second(3), one(1);
  for (size_t t = 0; t < text.size(); ++t) {
    batch->predict(all, first);
    batch->predict(all, second);
    BOOST_REQUIRE(first == second);
    const uint32_t slot = static_cast<uint32_t>(t % 3);
    batch->predict({&slot, 1}, one);
    BOOST_REQUIRE(one[0] == first[slot]);
    const std::vector<uint8_t> bytes{text[t], text[(t * 7) % text.size()], 'x'};
    batch->observe(all, bytes);
  }
}

BOOST_AUTO_TEST_CASE(models_text_in_a_16k_window) {
  auto model = make_order2_model();
  Bytes text = test::read_heldout("brown.txt", 16384);
  const bool real = text.size() == 16384;
  if (!real) text = test::generated_text(16384, 2);
  const std::vector<Cdf> cdfs = cdfs_alone(*model, text);
  double bits = 0;
  for (size_t t = 0; t < text.size(); ++t) {
    bits -= std::log2(double(cdfs[t][text[t] + 1] - cdfs[t][text[t]]) / kCdfTotal);
  }
  const double bpb = bits / text.size();
  BOOST_TEST_MESSAGE((real ? "brown.txt" : "generated text")
                     << ": " << bpb << " bits/byte in a 16 KiB window");
  BOOST_CHECK_LT(bpb, 3.5);
  // Random bytes cost little more than 8 bits each (the container stores such
  // data raw or with zstd; this only guards against a broken blend).
  const Bytes random = random_bytes(16384, 9);
  const std::vector<Cdf> rc = cdfs_alone(*model, random);
  double rbits = 0;
  for (size_t t = 0; t < random.size(); ++t) {
    rbits -= std::log2(double(rc[t][random[t] + 1] - rc[t][random[t]]) / kCdfTotal);
  }
  BOOST_TEST_MESSAGE("random: " << rbits / random.size() << " bits/byte");
  BOOST_CHECK_LT(rbits / random.size(), 8.5);
}

}  // namespace
}  // namespace lmz
