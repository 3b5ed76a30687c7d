// The device-resident window loop (libcodec/engine/resident_engine.h), run
// on the CPU: its coded bytes must equal the window codec's loop over the
// same model's batches (make_local_window_codec without the resident path)
// for every stage it runs, with windows of every length joining and leaving
// a batch smaller than the call, with concurrent callers, after an
// overflowing first try, and with corrupt windows in a large batch, which
// must fail alone. The CUDA build runs the same slot arithmetic
// (libcodec/resident/slot.h) in its kernels; bench/gpu cross-checks it.
#define BOOST_TEST_MODULE resident
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "libcodec/cm/cm_stage.h"
#include "libcodec/coding_stage.h"
#include "libcodec/engine/lstm_predictor.h"
#include "libcodec/engine/model_file.h"
#include "libcodec/errors.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace fs = std::filesystem;
using namespace lmz;

namespace {

const fs::path kTiny = fs::path(LMZ_SOURCE_DIR) / "models" / "tiny.lmzm";

std::unique_ptr<Predictor> tiny(ResidentUse resident) {
  return make_lstm_predictor(read_model_file(kTiny), "tiny", Device::kCpu, LstmCodePath::kFused,
                             resident);
}

// Windows of many lengths and kinds: text, one byte repeated, random bytes
// (which the text-trained model codes larger than their raw size, so the
// first try overflows), and every length from 1 to 9.
std::vector<Bytes> test_windows(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::string text =
      "Language modelling is compression: each byte costs -log2 p bits. 2026-12-04 12:00:01 "
      "sshd[4242]: Accepted publickey for root from 10.0.0.7 port 51234 ssh2\n";
  std::vector<Bytes> windows(count);
  for (size_t w = 0; w < count; ++w) {
    Bytes& b = windows[w];
    const size_t len = w < 9 ? w + 1 : 1 + rng() % 700;
    for (size_t i = 0; i < len; ++i) {
      switch (w % 4) {
        case 0:
        case 1:
          b.push_back(static_cast<uint8_t>(text[(i * (w % 7 + 1) + w) % text.size()]));
          break;
        case 2:
          b.push_back(static_cast<uint8_t>('a' + w % 26));
          break;
        default:
          b.push_back(static_cast<uint8_t>(128 + rng() % 128));
      }
    }
  }
  return windows;
}

std::vector<ByteView> views(const std::vector<Bytes>& v) {
  return std::vector<ByteView>(v.begin(), v.end());
}

struct Decoded {
  std::vector<Bytes> out;
  std::vector<MutableByteView> spans;
  std::vector<EncodedWindowView> coded;
};

Decoded prepare_decode(const std::vector<Bytes>& raw, const std::vector<Bytes>& coded) {
  Decoded d;
  d.out.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    d.out[i].assign(raw[i].size(), 0xAA);
    d.coded.push_back({coded[i], raw[i].size()});
  }
  for (Bytes& b : d.out) d.spans.push_back(b);
  return d;
}

// The resident codec against the batch loop for `stage`, both directions.
void check_same_codings(StageId stage, size_t count) {
  auto loop_model = tiny(ResidentUse::kNever);
  auto resident_model = tiny(ResidentUse::kAlways);
  auto loop = make_local_window_codec(*loop_model, stage, 2);
  auto resident = make_local_window_codec(*resident_model, stage, 2);
  const std::vector<Bytes> raw = test_windows(count, 7 + stage);
  const std::vector<Bytes> expected = loop->encode(views(raw));
  const std::vector<Bytes> got = resident->encode(views(raw));
  BOOST_REQUIRE_EQUAL(got.size(), expected.size());
  size_t larger = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    BOOST_REQUIRE_MESSAGE(got[i] == expected[i],
                          "window " << i << " (" << raw[i].size() << " bytes) codes differently");
    larger += expected[i].size() > raw[i].size() + raw[i].size() / 8 + 64;
  }
  BOOST_TEST_MESSAGE("stage " << stage << ": " << larger << " windows needed a second try");
  // With the direct stage the model's prior alone codes random high bytes:
  // larger than raw, so the overflow path ran.
  if (stage == kDirectStage) BOOST_CHECK_GT(larger, 0u);
  Decoded d = prepare_decode(raw, expected);
  resident->decode(d.coded, d.spans);
  for (size_t i = 0; i < raw.size(); ++i) BOOST_REQUIRE(d.out[i] == raw[i]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(direct_stage_codes_as_the_batch_loop) {
  // 700 windows through 256 slots: windows join as others finish.
  check_same_codings(kDirectStage, 700);
}

BOOST_AUTO_TEST_CASE(mixing_stage_codes_as_the_batch_loop) {
  check_same_codings(kMixStageV1, 400);
}

BOOST_AUTO_TEST_CASE(empty_windows_and_empty_calls) {
  auto model = tiny(ResidentUse::kAlways);
  auto codec = make_local_window_codec(*model, kDirectStage);
  BOOST_CHECK(codec->encode({}).empty());
  const std::vector<Bytes> raw{Bytes{}, Bytes{'x'}, Bytes{}};
  const std::vector<Bytes> coded = codec->encode(views(raw));
  BOOST_CHECK(coded[0].empty());
  BOOST_CHECK(coded[2].empty());
  Decoded d = prepare_decode(raw, coded);
  codec->decode(d.coded, d.spans);
  BOOST_CHECK(d.out[1] == raw[1]);
  // An empty window whose coding is not empty is corrupt.
  const Bytes junk{1};
  std::vector<EncodedWindowView> bad{{junk, 0}};
  std::vector<MutableByteView> none{MutableByteView{}};
  BOOST_CHECK_THROW(codec->decode(bad, none), CorruptInput);
}

BOOST_AUTO_TEST_CASE(concurrent_callers_share_the_batch) {
  auto loop_model = tiny(ResidentUse::kNever);
  auto resident_model = tiny(ResidentUse::kAlways);
  auto loop = make_local_window_codec(*loop_model, kDirectStage, 1);
  auto resident = make_local_window_codec(*resident_model, kDirectStage);
  constexpr size_t kCallers = 4;
  std::vector<std::vector<Bytes>> raw(kCallers), got(kCallers);
  for (size_t c = 0; c < kCallers; ++c) raw[c] = test_windows(150, 100 + static_cast<uint32_t>(c));
  std::vector<std::thread> threads;
  for (size_t c = 0; c < kCallers; ++c) {
    threads.emplace_back([&, c] { got[c] = resident->encode(views(raw[c])); });
  }
  for (auto& t : threads) t.join();
  for (size_t c = 0; c < kCallers; ++c) BOOST_CHECK(got[c] == loop->encode(views(raw[c])));
}

// What the batch loop says of window `index` of a call, coded as `coded`,
// decoded alone: its error (numbered as window `index`), or "" if it
// decodes (a damaged coding may be the valid coding of other bytes; the
// container's checksums catch those).
std::string loop_verdict(WindowCodec& loop, const Bytes& raw, const Bytes& coded, size_t index) {
  Bytes out(raw.size());
  const EncodedWindowView w{coded, raw.size()};
  const MutableByteView o(out);
  try {
    loop.decode(std::span(&w, 1), std::span(&o, 1));
  } catch (const CorruptInput& e) {
    const std::string m = e.what();
    BOOST_REQUIRE_EQUAL(m.rfind("window 0:", 0), 0u);
    return "window " + std::to_string(index) + m.substr(8);
  }
  return "";
}

void check_corrupt_windows_fail_alone(StageId stage) {
  auto loop_model = tiny(ResidentUse::kNever);
  auto model = tiny(ResidentUse::kAlways);
  auto loop = make_local_window_codec(*loop_model, stage, 1);
  auto codec = make_local_window_codec(*model, stage);
  const std::vector<Bytes> raw = test_windows(600, 3);
  std::vector<Bytes> coded = codec->encode(views(raw));
  // Flipped bytes, truncations and appended bytes in a batch larger than
  // the engine's slots; the batch must report what the loop reports for
  // the lowest damaged window that fails alone.
  std::vector<size_t> bad;
  for (size_t i = 100; i < raw.size(); i += 97) {
    if (coded[i].size() < 4) continue;
    bad.push_back(i);
    switch (bad.size() % 3) {
      case 0:
        coded[i][coded[i].size() / 2] ^= 0x5A;
        break;
      case 1:
        coded[i].resize(coded[i].size() / 2);
        break;
      default:
        coded[i].push_back(0x33);
    }
  }
  std::string expected;
  for (size_t i : bad) {
    expected = loop_verdict(*loop, raw[i], coded[i], i);
    if (!expected.empty()) break;
  }
  BOOST_REQUIRE(!expected.empty());  // an appended byte always fails
  Decoded d = prepare_decode(raw, coded);
  std::string message;
  try {
    codec->decode(d.coded, d.spans);
  } catch (const CorruptInput& e) {
    message = e.what();
  }
  BOOST_TEST_MESSAGE("stage " << stage << ": " << message);
  BOOST_CHECK_EQUAL(message, expected);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (std::find(bad.begin(), bad.end(), i) != bad.end()) continue;
    BOOST_REQUIRE_MESSAGE(d.out[i] == raw[i], "window " << i << " was harmed by its neighbours");
  }
}

BOOST_AUTO_TEST_CASE(corrupt_windows_fail_alone_in_a_large_batch) {
  check_corrupt_windows_fail_alone(kDirectStage);
  check_corrupt_windows_fail_alone(kMixStageV1);
}
