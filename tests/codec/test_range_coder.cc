// Tests of the range coder (libcodec/range_coder.h): round trips, coded
// length against the ideal, minimal flush, and behaviour on garbage.
#define BOOST_TEST_MODULE range_coder
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "libcodec/hash.h"
#include "libcodec/range_coder.h"
#include "libcodec/types.h"

namespace lmz {
namespace {

// A table whose frequencies are drawn from `rng` (each at least 1).
Cdf random_cdf(std::mt19937_64& rng) {
  std::vector<uint64_t> weight(256);
  const int shape = static_cast<int>(rng() % 3);
  uint64_t sum = 0;
  for (auto& w : weight) {
    if (shape == 0) w = rng() % 1000;
    if (shape == 1) w = (rng() % 8 == 0) ? rng() % 100000 : 0;  // sparse, peaky
    if (shape == 2) w = uint64_t{1} << (rng() % 20);            // wide dynamic range
    sum += w;
  }
  if (sum == 0) weight[0] = sum = 1;
  Cdf cdf{};
  const uint64_t spare = kCdfTotal - 256;
  uint64_t acc = 0;
  uint32_t given = 0;
  for (size_t s = 0; s < 256; ++s) {
    acc += weight[s];
    const uint32_t upto = static_cast<uint32_t>(acc * spare / sum);
    cdf[s + 1] = static_cast<uint32_t>(s + 1) + upto;
    given = upto;
  }
  BOOST_REQUIRE_EQUAL(given, spare);
  BOOST_REQUIRE(is_valid_cdf(cdf));
  return cdf;
}

// A table from explicit frequencies (must sum to kCdfTotal).
Cdf cdf_from_freqs(const std::vector<uint32_t>& freq) {
  Cdf cdf{};
  for (size_t s = 0; s < 256; ++s) cdf[s + 1] = cdf[s] + freq[s];
  BOOST_REQUIRE(is_valid_cdf(cdf));
  return cdf;
}

// One symbol holds all the mass but 255.
Cdf dominant_cdf(uint8_t dominant) {
  std::vector<uint32_t> freq(256, 1);
  freq[dominant] = kCdfTotal - 255;
  return cdf_from_freqs(freq);
}

// Draws a symbol from `cdf`.
uint8_t draw(const Cdf& cdf, std::mt19937_64& rng) {
  const uint32_t x = static_cast<uint32_t>(rng() % kCdfTotal);
  uint8_t s = 0;
  while (cdf[s + 1] <= x) ++s;
  return s;
}

struct Message {
  std::vector<const Cdf*> tables;  // table of each symbol
  std::vector<uint8_t> symbols;
};

Bytes encode(const Message& m) {
  Bytes out;
  RangeEncoder enc(out);
  for (size_t i = 0; i < m.symbols.size(); ++i) enc.encode_symbol(*m.tables[i], m.symbols[i]);
  enc.finish();
  BOOST_CHECK_EQUAL(enc.bytes_written(), out.size());
  return out;
}

// Decodes m.symbols.size() symbols with m's tables; returns whether the
// stream was exactly consumed.
bool decode(ByteView in, const Message& m, std::vector<uint8_t>& symbols) {
  RangeDecoder dec(in);
  symbols.resize(m.symbols.size());
  for (size_t i = 0; i < m.symbols.size(); ++i) symbols[i] = dec.decode_symbol(*m.tables[i]);
  return dec.finished_exactly();
}

void check_round_trip(const Message& m) {
  const Bytes coded = encode(m);
  std::vector<uint8_t> got;
  BOOST_REQUIRE(decode(coded, m, got));
  BOOST_REQUIRE(got == m.symbols);
}

double ideal_bits(const Message& m) {
  double bits = 0;
  for (size_t i = 0; i < m.symbols.size(); ++i) {
    const Cdf& c = *m.tables[i];
    bits -= std::log2(double(c[m.symbols[i] + 1] - c[m.symbols[i]]) / kCdfTotal);
  }
  return bits;
}

BOOST_AUTO_TEST_CASE(empty_message_codes_to_nothing) {
  Message m;
  const Bytes coded = encode(m);
  BOOST_CHECK_EQUAL(coded.size(), 0u);
  std::vector<uint8_t> got;
  BOOST_CHECK(decode(coded, m, got));
  // Any nonempty input is not the coding of zero symbols.
  for (int b = 0; b < 256; ++b) {
    const Bytes one{static_cast<uint8_t>(b)};
    BOOST_CHECK(!decode(one, m, got));
  }
}

BOOST_AUTO_TEST_CASE(encoder_appends_after_existing_bytes) {
  std::mt19937_64 rng(7);
  const Cdf cdf = random_cdf(rng);
  Bytes out{1, 2, 0};
  RangeEncoder enc(out);
  for (int i = 0; i < 100; ++i) enc.encode_symbol(cdf, draw(cdf, rng));
  enc.finish();
  BOOST_REQUIRE_GE(out.size(), 3u);
  BOOST_CHECK_EQUAL(out[0], 1);
  BOOST_CHECK_EQUAL(out[1], 2);
  BOOST_CHECK_EQUAL(out[2], 0);  // not trimmed: not ours
  BOOST_CHECK_EQUAL(enc.bytes_written(), out.size() - 3);
}

BOOST_AUTO_TEST_CASE(random_distributions_round_trip) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<Cdf> tables(1 + rng() % 8);
    for (auto& t : tables) t = random_cdf(rng);
    Message m;
    const size_t n = (trial < 100) ? size_t(trial) : size_t(rng() % 5000);
    for (size_t i = 0; i < n; ++i) {
      m.tables.push_back(&tables[rng() % tables.size()]);
      m.symbols.push_back(draw(*m.tables.back(), rng));
    }
    check_round_trip(m);
  }
}

BOOST_AUTO_TEST_CASE(adversarial_distributions_round_trip) {
  // A frequency-1 symbol repeated thousands of times.
  const Cdf dom0 = dominant_cdf(0);
  const Cdf dom255 = dominant_cdf(255);
  const Cdf dom77 = dominant_cdf(77);
  for (uint8_t rare : {uint8_t{1}, uint8_t{128}, uint8_t{255}}) {
    Message m;
    for (int i = 0; i < 5000; ++i) {
      m.tables.push_back(&dom0);
      m.symbols.push_back(rare);
    }
    check_round_trip(m);
    const Bytes coded = encode(m);
    // 16 bits per symbol; the flush adds at most a few bytes.
    BOOST_CHECK_LE(coded.size(), 5000u * 2 + 9);
  }
  // One symbol holding almost all the mass, at the bottom, top and middle.
  for (const Cdf* t : {&dom0, &dom255, &dom77}) {
    Message m;
    const uint8_t sym = static_cast<uint8_t>(t == &dom0 ? 0 : t == &dom255 ? 255 : 77);
    for (int i = 0; i < 100000; ++i) {
      m.tables.push_back(t);
      m.symbols.push_back(sym);
    }
    check_round_trip(m);
  }
  // Alternating extremes: likely and frequency-1 symbols, and tables.
  {
    Message m;
    std::mt19937_64 rng(3);
    for (int i = 0; i < 20000; ++i) {
      const Cdf* t = (i % 3 == 0) ? &dom255 : &dom0;
      m.tables.push_back(t);
      const bool rare = (i % 2 == 0);
      m.symbols.push_back(
          static_cast<uint8_t>(rare ? (t == &dom0 ? 255 : 0) : (t == &dom0 ? 0 : 255)));
    }
    check_round_trip(m);
  }
  // Uniform.
  {
    std::vector<uint32_t> freq(256, 256);
    const Cdf uni = cdf_from_freqs(freq);
    Message m;
    std::mt19937_64 rng(4);
    for (int i = 0; i < 10000; ++i) {
      m.tables.push_back(&uni);
      m.symbols.push_back(static_cast<uint8_t>(rng()));
    }
    check_round_trip(m);
    BOOST_CHECK_LE(encode(m).size(), 10000u + 1);
  }
}

// Binary decisions with given p1 and bits.
Bytes encode_bits(const std::vector<uint32_t>& p1, const std::vector<int>& bits) {
  Bytes out;
  RangeEncoder enc(out);
  for (size_t i = 0; i < bits.size(); ++i) enc.encode_bit(p1[i], bits[i]);
  enc.finish();
  return out;
}

bool decode_bits(ByteView in, const std::vector<uint32_t>& p1, std::vector<int>& bits) {
  RangeDecoder dec(in);
  bits.resize(p1.size());
  for (size_t i = 0; i < p1.size(); ++i) bits[i] = dec.decode_bit(p1[i]);
  return dec.finished_exactly();
}

BOOST_AUTO_TEST_CASE(binary_extremes_round_trip) {
  std::mt19937_64 rng(5);
  for (uint32_t p : {1u, 2u, 32768u, 65534u, 65535u}) {
    for (int pattern = 0; pattern < 4; ++pattern) {
      std::vector<uint32_t> p1(20000, p);
      std::vector<int> bits(p1.size());
      for (size_t i = 0; i < bits.size(); ++i) {
        bits[i] = pattern == 0 ? 0 : pattern == 1 ? 1 : pattern == 2 ? int(i % 2) : int(rng() % 2);
      }
      const Bytes coded = encode_bits(p1, bits);
      std::vector<int> got;
      BOOST_REQUIRE(decode_bits(coded, p1, got));
      BOOST_REQUIRE(got == bits);
    }
  }
  // Mixed probabilities, bits drawn from them, and mixed with symbols.
  std::vector<uint32_t> p1(100000);
  std::vector<int> bits(p1.size());
  double ideal = 0;
  for (size_t i = 0; i < p1.size(); ++i) {
    p1[i] = 1 + static_cast<uint32_t>(rng() % 65535);
    bits[i] = (rng() % kCdfTotal) < p1[i];
    ideal -= std::log2(bits[i] ? p1[i] / 65536.0 : (65536.0 - p1[i]) / 65536.0);
  }
  const Bytes coded = encode_bits(p1, bits);
  std::vector<int> got;
  BOOST_REQUIRE(decode_bits(coded, p1, got));
  BOOST_REQUIRE(got == bits);
  BOOST_CHECK_LE(coded.size() * 8.0, ideal * 1.001 + 64);
}

BOOST_AUTO_TEST_CASE(bits_and_symbols_interleave) {
  std::mt19937_64 rng(6);
  const Cdf cdf = random_cdf(rng);
  std::vector<int> kinds, values;
  std::vector<uint32_t> probs;
  Bytes out;
  RangeEncoder enc(out);
  for (int i = 0; i < 50000; ++i) {
    kinds.push_back(rng() % 2);
    if (kinds.back()) {
      probs.push_back(1 + static_cast<uint32_t>(rng() % 65535));
      values.push_back(rng() % 2);
      enc.encode_bit(probs.back(), values.back());
    } else {
      probs.push_back(0);
      values.push_back(draw(cdf, rng));
      enc.encode_symbol(cdf, static_cast<uint8_t>(values.back()));
    }
  }
  enc.finish();
  RangeDecoder dec(out);
  for (size_t i = 0; i < kinds.size(); ++i) {
    const int v = kinds[i] ? dec.decode_bit(probs[i]) : dec.decode_symbol(cdf);
    BOOST_REQUIRE_EQUAL(v, values[i]);
  }
  BOOST_CHECK(dec.finished_exactly());
}

// The coded bytes are part of the archive format (spec/FORMAT.md, "Range
// coder"): a fixed mix of symbols, decisions, carries (runs of 0xFF from
// dominant symbols) and many windows' flushes is pinned by its hash, so a
// change to the coder's arithmetic cannot go unnoticed. The CPU coder and
// the device coder share range_coder_core.h; this pins both.
BOOST_AUTO_TEST_CASE(coding_is_pinned) {
  std::mt19937_64 rng(2026);
  std::vector<Cdf> tables(8);
  for (auto& t : tables) t = random_cdf(rng);
  tables.push_back(dominant_cdf(0xFF));
  tables.push_back(dominant_cdf(0));
  Bytes all;
  for (int window = 0; window < 300; ++window) {
    Bytes out;
    RangeEncoder enc(out);
    const int length = static_cast<int>(rng() % 400);
    for (int i = 0; i < length; ++i) {
      if (rng() % 3 == 0) {
        const uint32_t p1 =
            rng() % 2 ? 1 + static_cast<uint32_t>(rng() % 65535) : (rng() % 2 ? 1u : 65535u);
        enc.encode_bit(p1, static_cast<int>(rng() % 2));
      } else {
        const Cdf& cdf = tables[rng() % tables.size()];
        enc.encode_symbol(cdf, rng() % 5 == 0 ? static_cast<uint8_t>(rng()) : draw(cdf, rng));
      }
    }
    enc.finish();
    const uint32_t size = static_cast<uint32_t>(out.size());
    for (int k = 0; k < 4; ++k) all.push_back(static_cast<uint8_t>(size >> (8 * k)));
    all.insert(all.end(), out.begin(), out.end());
  }
  BOOST_TEST_MESSAGE("pinned coding: " << all.size() << " bytes, xxh3 " << std::hex
                                       << xxh3_64(all));
  BOOST_CHECK_EQUAL(all.size(), 42035u);
  BOOST_CHECK_EQUAL(xxh3_64(all), 15786269124497348613ull);
}

BOOST_AUTO_TEST_CASE(coded_length_within_a_tenth_of_a_percent_of_ideal) {
  std::mt19937_64 rng(8);
  // Random tables (several bits per symbol) and a skewed one (~0.06 bit).
  std::vector<Cdf> tables(16);
  for (auto& t : tables) t = random_cdf(rng);
  std::vector<uint32_t> freq(256, 1);
  freq[42] = kCdfTotal - 255 - 3000;
  freq[7] = 3001;
  const Cdf skewed = cdf_from_freqs(freq);
  for (int kind = 0; kind < 2; ++kind) {
    Message m;
    for (int i = 0; i < 1000000; ++i) {
      m.tables.push_back(kind == 0 ? &tables[rng() % tables.size()] : &skewed);
      m.symbols.push_back(draw(*m.tables.back(), rng));
    }
    const double ideal = ideal_bits(m);
    const Bytes coded = encode(m);
    const double bits = coded.size() * 8.0;
    BOOST_TEST_MESSAGE("kind " << kind << ": ideal " << ideal << " bits, coded " << bits
                               << " bits, overhead " << (bits / ideal - 1) * 100 << "%");
    BOOST_CHECK_LE(bits, ideal * 1.001);
    BOOST_CHECK_GE(bits, ideal - 64);  // cannot beat the ideal (but for luck in the last bits)
    std::vector<uint8_t> got;
    BOOST_REQUIRE(decode(coded, m, got));
    BOOST_REQUIRE(got == m.symbols);
  }
}

// The flush writes the fewest bytes: the output never exceeds the ideal
// length rounded up by more than one byte, every short output length
// occurs, and dropping the last byte never still decodes exactly.
BOOST_AUTO_TEST_CASE(every_flush_length_is_minimal) {
  std::mt19937_64 rng(9);
  std::vector<uint32_t> freq(256, 256);
  const Cdf uni = cdf_from_freqs(freq);
  std::vector<int> seen_length(16, 0);
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<Cdf> tables{random_cdf(rng), uni, dominant_cdf(static_cast<uint8_t>(rng()))};
    Message m;
    const size_t n = rng() % 12;
    for (size_t i = 0; i < n; ++i) {
      m.tables.push_back(&tables[rng() % tables.size()]);
      m.symbols.push_back(draw(*m.tables.back(), rng));
    }
    const Bytes coded = encode(m);
    const double ideal = ideal_bits(m);
    BOOST_REQUIRE_LE(coded.size(), std::ceil(ideal / 8) + 1);
    if (coded.size() < seen_length.size()) ++seen_length[coded.size()];
    if (!coded.empty()) BOOST_REQUIRE_NE(coded.back(), 0);
    std::vector<uint8_t> got;
    BOOST_REQUIRE(decode(coded, m, got));
    BOOST_REQUIRE(got == m.symbols);
    // Any prefix or any zero-extension is not accepted as this message.
    for (size_t cut = 0; cut < coded.size(); ++cut) {
      const bool ok = decode(ByteView(coded).first(cut), m, got);
      BOOST_REQUIRE(!(ok && got == m.symbols));
    }
    Bytes longer = coded;
    longer.push_back(0);
    BOOST_REQUIRE(!decode(longer, m, got));
  }
  for (size_t len = 0; len <= 8; ++len) BOOST_CHECK_GT(seen_length[len], 0);
}

// Decoding garbage terminates, stays in bounds (run under ASan), and when
// the garbage passes finished_exactly() it is the exact coding of what it
// decoded to: the coder is a bijection between messages and accepted inputs.
// Garbage can only be rejected when it holds more bytes than the message
// could need: a short input decoded into a message that carries more
// information than it is often a valid coding (of a different message).
// That is inherent to arithmetic coding; the container's checksums catch it.
BOOST_AUTO_TEST_CASE(garbage_never_crashes_and_accepted_garbage_is_canonical) {
  std::mt19937_64 rng(10);
  int accepted = 0;
  int oversized = 0;
  const int trials = 4000;
  for (int trial = 0; trial < trials; ++trial) {
    Bytes garbage(rng() % 40);
    for (auto& b : garbage) b = static_cast<uint8_t>(rng());
    if (trial % 4 == 0 && !garbage.empty()) garbage.back() |= 1;  // a plausible last byte
    std::vector<Cdf> tables{random_cdf(rng), dominant_cdf(static_cast<uint8_t>(rng()))};
    Message m;
    const size_t n = rng() % 24;
    for (size_t i = 0; i < n; ++i) {
      m.tables.push_back(&tables[rng() % tables.size()]);
      m.symbols.push_back(0);
    }
    // Each symbol or bit moves the decoder at most 2 bytes on, after the 8
    // it starts with: longer inputs always have bytes left over.
    const bool too_long = garbage.size() > 8 + 2 * n;
    oversized += too_long;
    std::vector<uint8_t> got;
    bool ok;
    if (trial % 2 == 0) {
      ok = decode(garbage, m, got);
      if (ok) {
        m.symbols = got;
        BOOST_REQUIRE(encode(m) == garbage);
      }
    } else {
      std::vector<uint32_t> p1(n);
      for (auto& p : p1) p = 1 + static_cast<uint32_t>(rng() % 65535);
      std::vector<int> bits;
      ok = decode_bits(garbage, p1, bits);
      if (ok) BOOST_REQUIRE(encode_bits(p1, bits) == garbage);
    }
    accepted += ok;
    if (too_long) BOOST_REQUIRE(!ok);
  }
  BOOST_TEST_MESSAGE("garbage accepted " << accepted << " of " << trials << " (" << oversized
                                         << " too long to be valid)");
  BOOST_CHECK_GT(oversized, trials / 10);
}

// Damage never goes unnoticed silently as the same message (the decoded
// message differs or the stream is rejected); damage that leaves bytes the
// message does not need is always rejected.
BOOST_AUTO_TEST_CASE(truncated_and_flipped_streams_are_detected) {
  std::mt19937_64 rng(11);
  int tried = 0, detected = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Cdf> tables{random_cdf(rng), random_cdf(rng)};
    Message m;
    const size_t n = 50 + rng() % 500;
    for (size_t i = 0; i < n; ++i) {
      m.tables.push_back(&tables[rng() % tables.size()]);
      m.symbols.push_back(draw(*m.tables.back(), rng));
    }
    const Bytes coded = encode(m);
    std::vector<uint8_t> got;
    for (size_t cut = 1; cut <= std::min<size_t>(coded.size(), 4); ++cut) {
      ++tried;
      const bool ok = decode(ByteView(coded).first(coded.size() - cut), m, got);
      BOOST_REQUIRE(!(ok && got == m.symbols));  // never silently the same
      detected += !ok;
    }
    for (int flip = 0; flip < 8; ++flip) {
      Bytes bad = coded;
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      ++tried;
      const bool ok = decode(bad, m, got);
      BOOST_REQUIRE(!(ok && got == m.symbols));
      detected += !ok;
    }
    // Bytes appended to a valid stream: never the same message, and always
    // rejected once past what the decoder can read (8 + 2 per symbol).
    for (int extra = 1; extra <= 3; ++extra) {
      Bytes longer = coded;
      for (int i = 0; i < extra; ++i) longer.push_back(static_cast<uint8_t>(1 + rng() % 255));
      const bool ok = decode(longer, m, got);
      BOOST_REQUIRE(!(ok && got == m.symbols));
    }
    Bytes too_long = coded;
    too_long.resize(8 + 2 * n + 1, 0x5a);
    BOOST_REQUIRE(!decode(too_long, m, got));
  }
  BOOST_TEST_MESSAGE("rejected " << detected << " of " << tried
                                 << " damaged streams (the rest decode to other messages)");
}

BOOST_AUTO_TEST_CASE(invalid_cdfs_never_index_out_of_bounds) {
  // Garbage tables through the decoder (as a buggy predictor might give):
  // it must stay in bounds and terminate, and report failure.
  std::mt19937_64 rng(12);
  int failed = 0;
  for (int trial = 0; trial < 500; ++trial) {
    Cdf cdf;
    for (auto& c : cdf) c = static_cast<uint32_t>(rng() % (2 * kCdfTotal));
    Bytes in(16);
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    RangeDecoder dec(in);
    for (int i = 0; i < 20; ++i) dec.decode_symbol(cdf);
    failed += dec.failed();
  }
  BOOST_CHECK_GT(failed, 400);
  Bytes out;
  RangeEncoder enc(out);
  BOOST_CHECK_THROW(enc.encode(10, 0), std::exception);
  BOOST_CHECK_THROW(enc.encode(kCdfTotal - 1, 2), std::exception);
}

}  // namespace
}  // namespace lmz
