// Tests of the in-process window codec (libcodec/window_codec.h) and the
// stage factory (coding_stage.h).
#define BOOST_TEST_MODULE window_codec
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "libcodec/cm/cm_stage.h"
#include "libcodec/coding_stage.h"
#include "libcodec/errors.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"
#include "tests/codec/test_util.h"

namespace lmz {
namespace {

Bytes random_bytes(size_t n, std::mt19937_64& rng) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A tiny predictor with a large preferred batch, to drive the codec's
// multi-threaded step path cheaply: it favours the byte after the previous
// one (so it is adaptive and window-dependent) and is exact by construction.
class SuccessorPredictor : public Predictor {
 public:
  explicit SuccessorPredictor(size_t batch) : batch_(batch) { id_.name = "successor-test"; }
  const ModelId& id() const override { return id_; }
  size_t preferred_batch_size() const override { return batch_; }
  std::unique_ptr<PredictorBatch> start_batch(size_t windows) override {
    return std::make_unique<Batch>(windows);
  }

 private:
  class Batch : public PredictorBatch {
   public:
    explicit Batch(size_t n) : last_(n, 0) {}
    size_t size() const override { return last_.size(); }
    void predict(std::span<const uint32_t> slots, std::span<Cdf> out) override {
      for (size_t k = 0; k < slots.size(); ++k) {
        const uint8_t favourite = static_cast<uint8_t>(last_.at(slots[k]) + 1);
        Cdf& cdf = out[k];
        cdf[0] = 0;
        for (uint32_t s = 0; s < 256; ++s) {
          cdf[s + 1] = cdf[s] + (s == favourite ? kCdfTotal - 255 * 128 : 128);
        }
      }
    }
    void observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) override {
      for (size_t k = 0; k < slots.size(); ++k) last_.at(slots[k]) = bytes[k];
    }

   private:
    std::vector<uint8_t> last_;
  };
  size_t batch_;
  ModelId id_;
};

std::vector<ByteView> views(const std::vector<Bytes>& v) {
  return {v.begin(), v.end()};
}

// Decodes `coded` (windows of the given raw sizes); throws like decode().
std::vector<Bytes> decode_all(WindowCodec& codec, const std::vector<Bytes>& coded,
                              const std::vector<size_t>& sizes) {
  std::vector<Bytes> out(coded.size());
  std::vector<EncodedWindowView> in(coded.size());
  std::vector<MutableByteView> spans(coded.size());
  for (size_t i = 0; i < coded.size(); ++i) {
    in[i] = EncodedWindowView{coded[i], sizes[i]};
    out[i].resize(sizes[i]);
    spans[i] = out[i];
  }
  codec.decode(in, spans);
  return out;
}

std::vector<size_t> sizes_of(const std::vector<Bytes>& v) {
  std::vector<size_t> s;
  for (const auto& b : v) s.push_back(b.size());
  return s;
}

void check_round_trip(WindowCodec& codec, const std::vector<Bytes>& windows) {
  const std::vector<Bytes> coded = codec.encode(views(windows));
  BOOST_REQUIRE_EQUAL(coded.size(), windows.size());
  const std::vector<Bytes> back = decode_all(codec, coded, sizes_of(windows));
  for (size_t i = 0; i < windows.size(); ++i) BOOST_REQUIRE(back[i] == windows[i]);
}

// Random, text, single-byte and empty windows, more than one batch of them.
std::vector<Bytes> mixed_windows(std::mt19937_64& rng) {
  const Bytes text = test::sample_text("gnu-standards.txt", 60000);
  std::vector<Bytes> w;
  for (int b = 0; b < 256; b += 15) w.push_back(Bytes{static_cast<uint8_t>(b)});
  for (int i = 0; i < 10; ++i) w.push_back(Bytes{});
  for (int i = 0; i < 40; ++i) w.push_back(random_bytes(rng() % 3000, rng));
  for (int i = 0; i < 60; ++i) {
    const size_t len = 1 + rng() % 4000;
    const size_t at = rng() % (text.size() - len);
    w.emplace_back(text.begin() + at, text.begin() + at + len);
  }
  w.push_back(Bytes(5000, 0));
  w.push_back(Bytes(5000, 0xFF));
  std::shuffle(w.begin(), w.end(), rng);
  return w;
}

BOOST_AUTO_TEST_CASE(round_trips_with_the_order2_model) {
  auto model = make_order2_model();
  auto codec = make_local_window_codec(*model, kDirectStage);
  BOOST_CHECK(codec->model().hash == model->id().hash);
  BOOST_CHECK_EQUAL(codec->stage(), kDirectStage);
  std::mt19937_64 rng(1);
  check_round_trip(*codec, mixed_windows(rng));
  check_round_trip(*codec, {});
  check_round_trip(*codec, {Bytes{}});
  const std::vector<Bytes> coded = codec->encode(views({Bytes{}, Bytes{}}));
  BOOST_CHECK(coded[0].empty() && coded[1].empty());  // an empty window codes to nothing
}

// The context-mixing stage (libcodec/cm) through the window codec: round
// trips, and a window codes the same alone and among others.
BOOST_AUTO_TEST_CASE(round_trips_through_the_mixing_stage) {
  auto model = make_order2_model();
  auto codec = make_local_window_codec(*model, kMixStageV1);
  BOOST_CHECK_EQUAL(codec->stage(), kMixStageV1);
  std::mt19937_64 rng(6);
  std::vector<Bytes> w = mixed_windows(rng);
  w.resize(70);
  check_round_trip(*codec, w);
  const Bytes text = test::sample_text("log-OpenSSH.log", 4000);
  const Bytes alone = codec->encode(views({text}))[0];
  w.insert(w.begin() + 33, text);
  BOOST_CHECK(codec->encode(views(w))[33] == alone);
  auto direct = make_local_window_codec(*model, kDirectStage);
  BOOST_TEST_MESSAGE("4000 bytes of log: mixing stage " << alone.size() << " bytes, direct "
                                                        << direct->encode(views({text}))[0].size());
}

BOOST_AUTO_TEST_CASE(text_compresses) {
  auto model = make_order2_model();
  auto codec = make_local_window_codec(*model, kDirectStage);
  const Bytes text = test::sample_text("brown.txt", 16384);
  const std::vector<Bytes> coded = codec->encode(views({text}));
  BOOST_TEST_MESSAGE("16 KiB text window -> " << coded[0].size() << " bytes");
  BOOST_CHECK_LT(coded[0].size(), text.size() / 2);
}

// A predictor that prefers batches of fewer than 1024 windows (a CPU) gets
// at least one group per thread: 1000 windows with 2 or 4 threads run as 2
// or 4 groups. A predictor that prefers 1024 or more (a GPU) gets its
// windows in several groups that run at once. The coded bytes are the same
// as with one thread either way.
BOOST_AUTO_TEST_CASE(round_trips_on_the_threaded_paths) {
  std::mt19937_64 rng(2);
  std::vector<Bytes> w;
  for (int i = 0; i < 1500; ++i) {
    Bytes b(rng() % 700);
    uint8_t x = static_cast<uint8_t>(rng());
    for (auto& c : b) c = (rng() % 4 == 0) ? static_cast<uint8_t>(rng()) : ++x;
    w.push_back(std::move(b));
  }
  const std::vector<Bytes> one_batch(w.begin(), w.begin() + 1000);
  std::vector<Bytes> first_coding;
  for (size_t preferred : {size_t{1000}, size_t{4096}}) {
    SuccessorPredictor model(preferred);
    auto serial = make_local_window_codec(model, kDirectStage, 1);
    if (first_coding.empty()) first_coding = serial->encode(views(w));
    BOOST_REQUIRE(serial->encode(views(w)) == first_coding);
    for (size_t threads : {size_t{2}, size_t{4}}) {
      auto codec = make_local_window_codec(model, kDirectStage, threads);
      for (const std::vector<Bytes>* input : {&std::as_const(w), &one_batch}) {
        const std::vector<Bytes> coded = codec->encode(views(*input));
        BOOST_REQUIRE(coded == serial->encode(views(*input)));
        BOOST_REQUIRE(decode_all(*codec, coded, sizes_of(*input)) == *input);
      }
    }
  }
  // A corrupt window among them is reported from whichever thread saw it.
  SuccessorPredictor model(1000);
  auto codec = make_local_window_codec(model, kDirectStage, 4);
  std::vector<Bytes> coded = codec->encode(views(one_batch));
  coded[500].push_back(0x77);
  BOOST_CHECK_THROW(decode_all(*codec, coded, sizes_of(one_batch)), CorruptInput);
}

// Fewer groups than threads: each group splits its steps' stage work over
// the spare threads (the mixing stage, in chunks of at least 128 windows).
// 2100 short windows with a GPU-sized preference are 8 groups of 263; with
// 16 threads each group has 2. Same bytes as one thread.
BOOST_AUTO_TEST_CASE(groups_split_their_stage_work_over_spare_threads) {
  std::mt19937_64 rng(4);
  std::vector<Bytes> w;
  for (int i = 0; i < 2100; ++i) w.push_back(random_bytes(rng() % 40, rng));
  SuccessorPredictor model(4096);
  const StageId stage = default_stage();
  BOOST_REQUIRE(stage != kDirectStage);
  auto serial = make_local_window_codec(model, stage, 1);
  auto threaded = make_local_window_codec(model, stage, 16);
  const std::vector<Bytes> coded = threaded->encode(views(w));
  BOOST_REQUIRE(coded == serial->encode(views(w)));
  BOOST_REQUIRE(decode_all(*threaded, coded, sizes_of(w)) == w);
}

BOOST_AUTO_TEST_CASE(a_window_codes_the_same_alone_and_among_others) {
  auto model = make_order2_model();
  auto codec = make_local_window_codec(*model, kDirectStage);
  std::mt19937_64 rng(3);
  const Bytes text = test::sample_text("fortunes.txt", 6000);
  const Bytes alone = codec->encode(views({text}))[0];
  std::vector<Bytes> crowd = mixed_windows(rng);
  crowd.resize(200, Bytes(100, 'z'));
  for (size_t at : {size_t{0}, size_t{77}, size_t{200}}) {
    std::vector<Bytes> w = crowd;
    w.insert(w.begin() + static_cast<std::ptrdiff_t>(at), text);
    BOOST_REQUIRE(codec->encode(views(w))[at] == alone);
  }
  SuccessorPredictor big(1000);
  auto big_codec = make_local_window_codec(big, kDirectStage);
  const Bytes big_alone = big_codec->encode(views({text}))[0];
  std::vector<Bytes> many(999, Bytes(300, 'q'));
  many.push_back(text);
  BOOST_REQUIRE(big_codec->encode(views(many)).back() == big_alone);
}

// A damaged window either throws CorruptInput naming it or decodes to other
// bytes (a damaged coding can be the valid coding of different bytes); it
// never crashes or reads out of bounds (run under ASan). The container's
// block checksums catch the second case.
BOOST_AUTO_TEST_CASE(damaged_windows_throw_or_differ) {
  auto model = make_order2_model();
  auto codec = make_local_window_codec(*model, kDirectStage);
  std::mt19937_64 rng(4);
  // Real prose from the source tree, so that the count checked below is the
  // same whether or not the shared corpora are there.
  const Bytes text = test::source_text("spec/FORMAT.md", 3000);
  const std::vector<Bytes> windows{text, random_bytes(500, rng), Bytes{}, Bytes{'x'}};
  const std::vector<Bytes> coded = codec->encode(views(windows));
  int thrown = 0, differed = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<Bytes> bad = coded;
    const size_t w = trial % windows.size();
    if (trial % 3 == 0 && !bad[w].empty()) {
      bad[w].resize(rng() % bad[w].size());  // truncated
    } else if (!bad[w].empty()) {
      bad[w][rng() % bad[w].size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    } else {
      bad[w].push_back(static_cast<uint8_t>(1 + rng() % 255));  // bytes where none belong
    }
    try {
      const std::vector<Bytes> back = decode_all(*codec, bad, sizes_of(windows));
      BOOST_REQUIRE(back[w] != windows[w]);
      ++differed;
    } catch (const CorruptInput& e) {
      BOOST_REQUIRE(std::string(e.what()).find("window " + std::to_string(w)) != std::string::npos);
      ++thrown;
    }
  }
  BOOST_TEST_MESSAGE("damaged windows: " << thrown << " rejected, " << differed
                                         << " decoded to other bytes");
  BOOST_CHECK_GT(thrown, 150);
  // Wrong raw sizes are damage too.
  std::vector<size_t> sizes = sizes_of(windows);
  sizes[0] += 1;
  sizes[3] = 0;
  BOOST_CHECK_THROW(decode_all(*codec, coded, sizes), CorruptInput);
}

BOOST_AUTO_TEST_CASE(concurrent_calls_on_one_codec) {
  auto model = make_order2_model();
  auto codec = make_local_window_codec(*model, kDirectStage);
  std::mt19937_64 rng(5);
  std::vector<std::vector<Bytes>> inputs;
  std::vector<std::vector<Bytes>> expected;
  for (int i = 0; i < 4; ++i) {
    std::vector<Bytes> w = mixed_windows(rng);
    w.resize(40 + 10 * i);
    expected.push_back(codec->encode(views(w)));
    inputs.push_back(std::move(w));
  }
  std::vector<int> ok(inputs.size(), 0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < inputs.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 2; ++round) {
        const std::vector<Bytes> coded = codec->encode(views(inputs[i]));
        if (coded != expected[i]) return;
        if (decode_all(*codec, coded, sizes_of(inputs[i])) != inputs[i]) return;
      }
      ok[i] = 1;
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < inputs.size(); ++i) BOOST_CHECK_EQUAL(ok[i], 1);
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_usage_errors) {
  auto model = make_order2_model();
  try {
    make_coding_stage(4242);
    BOOST_FAIL("unknown stage id accepted");
  } catch (const UsageError& e) {
    BOOST_CHECK(std::string(e.what()).find("4242") != std::string::npos);
  }
  BOOST_CHECK_THROW(make_local_window_codec(*model, 4242), UsageError);
  BOOST_CHECK(make_coding_stage(kDirectStage) != nullptr);
  auto codec = make_local_window_codec(*model, kDirectStage);
  const std::vector<Bytes> coded = codec->encode(views({Bytes(10, 'a')}));
  Bytes small(5);
  std::vector<EncodedWindowView> in{EncodedWindowView{coded[0], 10}};
  std::vector<MutableByteView> out{MutableByteView(small)};
  BOOST_CHECK_THROW(codec->decode(in, out), UsageError);
}

}  // namespace
}  // namespace lmz
