// Exactness of the neural engine against the trainer's integer forward:
// the committed reference vectors (models/tiny.ref.txt, made by
// train/intref.py) must be reproduced bit for bit, alone and inside a large
// padded batch; malformed model files must be refused.
#define BOOST_TEST_MODULE engine
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "libcodec/coding_stage.h"
#include "libcodec/engine/load.h"
#include "libcodec/engine/lstm_predictor.h"
#include "libcodec/engine/model_file.h"
#include "libcodec/errors.h"
#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace fs = std::filesystem;
using namespace lmz;

namespace {

const fs::path kModels = fs::path(LMZ_SOURCE_DIR) / "models";

struct RefCase {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> step_hash;  // one per position 0..len
  std::map<size_t, Cdf> full;       // some positions' full CDFs
};

struct Refs {
  std::string model_hash;
  std::vector<RefCase> cases;
};

Refs read_refs(const fs::path& path) {
  std::ifstream in(path);
  BOOST_REQUIRE(in);
  Refs refs;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind;
    ls >> kind;
    if (kind == "model") {
      std::string name;
      ls >> name >> refs.model_hash;
    } else if (kind == "case") {
      size_t index = 0, len = 0;
      std::string hex;
      ls >> index >> len >> hex;
      RefCase c;
      for (size_t i = 0; i < len; ++i) {
        c.bytes.push_back(static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
      }
      refs.cases.push_back(c);
    } else if (kind == "h") {
      size_t ci = 0, pos = 0;
      std::string h;
      ls >> ci >> pos >> h;
      BOOST_REQUIRE_EQUAL(refs.cases.at(ci).step_hash.size(), pos);
      refs.cases.at(ci).step_hash.push_back(std::stoull(h, nullptr, 16));
    } else if (kind == "cdf") {
      size_t ci = 0, pos = 0;
      ls >> ci >> pos;
      Cdf cdf{};
      for (auto& v : cdf) ls >> v;
      refs.cases.at(ci).full[pos] = cdf;
    }
  }
  BOOST_REQUIRE_EQUAL(refs.cases.size(), 4u);
  return refs;
}

uint64_t cdf_hash(const Cdf& cdf) {
  uint8_t raw[257 * 4];
  for (size_t i = 0; i < 257; ++i) {
    for (size_t b = 0; b < 4; ++b) raw[4 * i + b] = static_cast<uint8_t>(cdf[i] >> (8 * b));
  }
  return XXH3_64bits(raw, sizeof raw);
}

void check_valid(const Cdf& cdf) {
  BOOST_REQUIRE_EQUAL(cdf[0], 0u);
  BOOST_REQUIRE_EQUAL(cdf[256], kCdfTotal);
  for (size_t s = 0; s < 256; ++s) BOOST_REQUIRE_GE(cdf[s + 1], cdf[s] + 1);
}

std::unique_ptr<Predictor> tiny() {
  return load_neural_model(kModels / "tiny.lmzm", Device::kCpu);
}

}  // namespace

static void check_reference_vectors(Predictor& model_ref) {
  Refs refs = read_refs(kModels / "tiny.ref.txt");
  Predictor* model = &model_ref;
  BOOST_TEST(model->id().hash.hex() == refs.model_hash);
  BOOST_TEST(model->id().name == "tiny");
  for (const RefCase& c : refs.cases) {
    auto batch = model->start_batch(1);
    const uint32_t slot = 0;
    for (size_t pos = 0; pos <= c.bytes.size(); ++pos) {
      Cdf cdf{};
      batch->predict({&slot, 1}, {&cdf, 1});
      check_valid(cdf);
      BOOST_REQUIRE_EQUAL(cdf_hash(cdf), c.step_hash[pos]);
      if (auto it = c.full.find(pos); it != c.full.end()) BOOST_REQUIRE(cdf == it->second);
      Cdf again{};
      batch->predict({&slot, 1}, {&again, 1});  // predict changes nothing
      BOOST_REQUIRE(again == cdf);
      if (pos < c.bytes.size()) batch->observe({&slot, 1}, {&c.bytes[pos], 1});
    }
  }
}

BOOST_AUTO_TEST_CASE(reproduces_reference_vectors_alone) {
  // The fused path (what load_neural_model gives)...
  check_reference_vectors(*tiny());
  // ...and the tensor path, here on CPU tensors.
  auto tensor_path = make_lstm_predictor(read_model_file(kModels / "tiny.lmzm"), "tiny",
                                         Device::kCpu, LstmCodePath::kTensorOps);
  check_reference_vectors(*tensor_path);
}

BOOST_AUTO_TEST_CASE(same_cdfs_inside_a_padded_batch_of_hundreds) {
  Refs refs = read_refs(kModels / "tiny.ref.txt");
  auto model = tiny();
  const size_t n = 300;
  auto batch = model->start_batch(n);
  std::mt19937 rng(7);
  // Window 137 codes case 3; the others random bytes; at each step a random
  // subset of the others takes part, in shuffled order.
  const RefCase& c = refs.cases[3];
  const uint32_t target = 137;
  for (size_t pos = 0; pos <= c.bytes.size(); ++pos) {
    std::vector<uint32_t> slots{target};
    for (uint32_t s = 0; s < n; ++s) {
      if (s != target && rng() % 3 != 0) slots.push_back(s);
    }
    std::shuffle(slots.begin(), slots.end(), rng);
    std::vector<Cdf> out(slots.size());
    batch->predict(slots, out);
    size_t at = static_cast<size_t>(std::find(slots.begin(), slots.end(), target) - slots.begin());
    check_valid(out[at]);
    BOOST_REQUIRE_EQUAL(cdf_hash(out[at]), c.step_hash[pos]);
    if (pos == c.bytes.size()) break;
    std::vector<uint8_t> bytes(slots.size());
    for (size_t k = 0; k < slots.size(); ++k) {
      bytes[k] = slots[k] == target ? c.bytes[pos] : static_cast<uint8_t>(rng());
    }
    batch->observe(slots, bytes);
  }
}

BOOST_AUTO_TEST_CASE(found_by_name_and_hash_in_the_models_directory) {
  ModelRegistry registry(ModelOptions{kModels, Device::kCpu});
  Predictor& by_name = registry.by_name_or_path("tiny");
  Predictor& by_hash = registry.by_hash(by_name.id().hash, "tiny");
  BOOST_TEST(&by_name == &by_hash);
}

BOOST_AUTO_TEST_CASE(refuses_malformed_model_files) {
  std::ifstream in(kModels / "tiny.lmzm", std::ios::binary);
  std::vector<char> good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_REQUIRE_GT(good.size(), 1000u);
  fs::path dir = fs::temp_directory_path() / ("lmz_engine_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::vector<char>& bytes) {
    fs::path p = dir / "bad.lmzm";
    std::ofstream(p, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  };
  auto expect_corrupt = [&](const std::vector<char>& bytes) {
    fs::path p = write(bytes);
    try {
      load_neural_model(p, Device::kCpu);
      BOOST_ERROR("malformed model accepted");
    } catch (const CorruptInput& e) {
      BOOST_TEST(std::string(e.what()).find(p.string()) != std::string::npos);
    }
  };
  for (size_t at : {size_t{0}, size_t{20}, size_t{5000}, good.size() - 1}) {
    auto bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    expect_corrupt(bad);
  }
  for (size_t len : {size_t{0}, size_t{10}, size_t{100}, good.size() - 17}) {
    expect_corrupt(
        std::vector<char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)));
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(window_codec_round_trip_with_the_tiny_model) {
  auto model = tiny();
  auto codec = make_local_window_codec(*model, kDirectStage);
  std::string text = "lmz codes every window on its own; the neural model gives each byte's CDF.\n";
  std::vector<Bytes> raw;
  for (size_t w = 0; w < 5; ++w) {
    Bytes b;
    for (size_t i = 0; i < 100 + 37 * w; ++i)
      b.push_back(static_cast<uint8_t>(text[(i * (w + 1)) % text.size()]));
    raw.push_back(b);
  }
  raw.push_back(Bytes{});
  std::vector<ByteView> views(raw.begin(), raw.end());
  auto coded = codec->encode(views);
  BOOST_REQUIRE_EQUAL(coded.size(), raw.size());
  std::vector<EncodedWindowView> enc;
  for (size_t w = 0; w < raw.size(); ++w) enc.push_back({coded[w], raw[w].size()});
  std::vector<Bytes> out(raw.size());
  std::vector<MutableByteView> outs;
  for (size_t w = 0; w < raw.size(); ++w) {
    out[w].resize(raw[w].size());
    outs.push_back(out[w]);
  }
  codec->decode(enc, outs);
  for (size_t w = 0; w < raw.size(); ++w) BOOST_TEST(out[w] == raw[w]);
}

// Teacher forcing (what encoding uses) must give exactly the CDFs of
// stepwise predict/observe (what decoding uses), on both code paths, for
// random bytes and real text, with rounds of several lengths and windows
// joining at different states.
static void check_teacher_forced_equals_stepwise(Predictor& model) {
  std::mt19937 rng(11);
  const std::string text =
      "The quick brown fox jumps over the lazy dog. 2026-12-02T01:23:45Z INFO lmzd: served "
      "request 42 in 3.1 ms\nThe exactness contract: the same integers on every machine.\n";
  const size_t n = 37, len = 300;
  std::vector<Bytes> data(n);
  for (size_t w = 0; w < n; ++w) {
    for (size_t i = 0; i < len; ++i) {
      data[w].push_back(w % 2 == 0 ? static_cast<uint8_t>(rng())
                                   : static_cast<uint8_t>(text[(i + 7 * w) % text.size()]));
    }
  }
  std::vector<uint32_t> slots(n);
  for (uint32_t s = 0; s < n; ++s) slots[s] = s;
  std::shuffle(slots.begin(), slots.end(), rng);

  auto stepwise = model.start_batch(n);
  std::vector<std::vector<Cdf>> expected(n);  // by slot, one CDF per position
  for (size_t pos = 0; pos < len; ++pos) {
    std::vector<Cdf> out(n);
    std::vector<uint8_t> bytes(n);
    stepwise->predict(slots, out);
    for (size_t k = 0; k < n; ++k) {
      expected[slots[k]].push_back(out[k]);
      bytes[k] = data[slots[k]][pos];
    }
    stepwise->observe(slots, bytes);
  }

  auto forced = model.start_batch(n);
  size_t pos = 0;
  for (size_t rounds : {1, 5, 64, 17, 2, 100, 111}) {
    BOOST_REQUIRE_LE(pos + rounds, len);
    std::vector<Cdf> out(rounds * n);
    std::vector<uint8_t> bytes(rounds * n);
    for (size_t r = 0; r < rounds; ++r) {
      for (size_t k = 0; k < n; ++k) bytes[r * n + k] = data[slots[k]][pos + r];
    }
    forced->predict_and_observe(slots, rounds, bytes, out);
    for (size_t r = 0; r < rounds; ++r) {
      for (size_t k = 0; k < n; ++k) {
        check_valid(out[r * n + k]);
        BOOST_REQUIRE(out[r * n + k] == expected[slots[k]][pos + r]);
      }
    }
    pos += rounds;
  }
  BOOST_REQUIRE_EQUAL(pos, len);
}

BOOST_AUTO_TEST_CASE(teacher_forced_equals_stepwise) {
  check_teacher_forced_equals_stepwise(*tiny());
  auto tensor_path = make_lstm_predictor(read_model_file(kModels / "tiny.lmzm"), "tiny",
                                         Device::kCpu, LstmCodePath::kTensorOps);
  check_teacher_forced_equals_stepwise(*tensor_path);
}

// A random model of three layers with odd sizes (the shipped small models
// have one layer): its tables are tiny's, everything else random, scaled so
// that the gates span the tables' range.
static LstmModelFile random_three_layer_model() {
  LstmModelFile f = read_model_file(kModels / "tiny.lmzm");
  std::mt19937 rng(5);
  auto i8 = [&] { return static_cast<int8_t>(static_cast<int>(rng() % 255) - 127); };
  auto matrix = [&](uint32_t rows, uint32_t cols) {
    IntMatrix m;
    m.rows = rows;
    m.cols = cols;
    for (size_t i = 0; i < size_t{rows} * cols; ++i) m.weights.push_back(i8());
    for (uint32_t r = 0; r < rows; ++r) {
      m.multiplier.push_back(static_cast<int32_t>(rng() % (1u << 16)));
      m.bias.push_back(static_cast<int32_t>(rng() % 1001) - 500);
    }
    return m;
  };
  f.embed = 12;
  f.hidden = 20;
  f.layers = 3;
  f.shift = 20;
  f.embedding.clear();
  for (size_t i = 0; i < 257u * f.embed; ++i) f.embedding.push_back(i8());
  f.lstm.clear();
  for (uint32_t l = 0; l < f.layers; ++l) {
    f.lstm.push_back(matrix(4 * f.hidden, (l == 0 ? f.embed : f.hidden) + f.hidden));
  }
  f.output = matrix(256, f.hidden);
  return f;
}

// The fused path (the default on both devices) against the tensor path, on
// a model of several layers: the same CDFs stepwise, inside shuffled partial
// batches, and teacher-forced.
BOOST_AUTO_TEST_CASE(fused_equals_tensor_ops_on_a_three_layer_model) {
  const LstmModelFile file = random_three_layer_model();
  auto fused = make_lstm_predictor(file, "random3", Device::kCpu, LstmCodePath::kFused);
  auto tensor = make_lstm_predictor(file, "random3", Device::kCpu, LstmCodePath::kTensorOps);
  const size_t n = 70, len = 120;
  auto a = fused->start_batch(n);
  auto b = tensor->start_batch(n);
  std::mt19937 rng(9);
  size_t distinct = 0;
  Cdf previous{};
  for (size_t pos = 0; pos < len; ++pos) {
    std::vector<uint32_t> slots;
    for (uint32_t s = 0; s < n; ++s) {
      if (rng() % 4 != 0) slots.push_back(s);
    }
    std::shuffle(slots.begin(), slots.end(), rng);
    std::vector<Cdf> out_a(slots.size()), out_b(slots.size());
    a->predict(slots, out_a);
    b->predict(slots, out_b);
    for (size_t k = 0; k < slots.size(); ++k) {
      check_valid(out_a[k]);
      BOOST_REQUIRE(out_a[k] == out_b[k]);
      if (out_a[k] != previous) ++distinct;
      previous = out_a[k];
    }
    std::vector<uint8_t> bytes(slots.size());
    for (auto& v : bytes) v = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : 'a' + rng() % 8);
    a->observe(slots, bytes);
    b->observe(slots, bytes);
  }
  // The model is not degenerate: its distributions change with the input.
  BOOST_TEST(distinct > len * n / 2);
  check_teacher_forced_equals_stepwise(*fused);
  check_teacher_forced_equals_stepwise(*tensor);
}

// The default-model rule of spec/MODEL.md: large only on CUDA, else small,
// else the stand-in; $LMZ_MODEL overrides. (tiny's file plays both models.)
BOOST_AUTO_TEST_CASE(default_model_rule) {
  fs::path dir = fs::temp_directory_path() / ("lmz_default_rule_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ::unsetenv("LMZ_MODEL");
  {
    ModelRegistry empty(ModelOptions{dir, Device::kCpu});
    BOOST_TEST(empty.default_model().id().name == "order2");
  }
  fs::copy_file(kModels / "tiny.lmzm", dir / "large.lmzm");
  {
    ModelRegistry only_large_on_cpu(ModelOptions{dir, Device::kCpu});
    BOOST_TEST(only_large_on_cpu.default_model().id().name == "order2");
  }
  fs::copy_file(kModels / "tiny.lmzm", dir / "small.lmzm");
  {
    ModelRegistry cpu(ModelOptions{dir, Device::kCpu});
    BOOST_TEST(cpu.default_model().id().name == "small");
    ModelRegistry automatic(ModelOptions{dir, Device::kAuto});
    BOOST_TEST(automatic.default_model().id().name == (cuda_available() ? "large" : "small"));
  }
  ::setenv("LMZ_MODEL", "order2", 1);
  {
    ModelRegistry overridden(ModelOptions{dir, Device::kCpu});
    BOOST_TEST(overridden.default_model().id().name == "order2");
  }
  ::unsetenv("LMZ_MODEL");
  fs::remove_all(dir);
}
