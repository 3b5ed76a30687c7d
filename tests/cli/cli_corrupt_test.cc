// Bad archives through the CLI: a non-zero exit with the documented code,
// a message naming the file, and nothing left under the output name (nor a
// temporary file).
#define BOOST_TEST_MODULE cli_corrupt_test
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>

#include "format/archive_writer.h"
#include "harness.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace lmz::cli_test {
namespace {

// A model no lmz has installed (its hash is made up) that predicts the
// output of a hash chain almost perfectly: each window's next byte is a
// function of the window's earlier bytes. On such text the neural codec
// beats zstd by far, so the archive really has neural blocks that need it.
uint64_t chain_step(uint64_t h, uint8_t byte) {
  return (h ^ byte) * 6364136223846793005ull + 1442695040888963407ull;
}
uint8_t chain_byte(uint64_t h) {
  static const char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyz .";  // no newline: prose, 16 KiB windows
  return static_cast<uint8_t>(kAlphabet[(h >> 33) % (sizeof(kAlphabet) - 1)]);
}

class OracleBatch final : public PredictorBatch {
 public:
  explicit OracleBatch(size_t windows) : state_(windows, 0) {}
  size_t size() const override { return state_.size(); }
  void predict(std::span<const uint32_t> slots, std::span<Cdf> out) override {
    for (size_t k = 0; k < slots.size(); ++k) {
      uint8_t expected = chain_byte(state_[slots[k]]);
      uint32_t total = 0;
      for (int sym = 0; sym < 256; ++sym) {
        out[k][sym] = total;
        total += sym == expected ? kCdfTotal - 255 : 1;
      }
      out[k][256] = total;
    }
  }
  void observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) override {
    for (size_t k = 0; k < slots.size(); ++k) {
      state_[slots[k]] = chain_step(state_[slots[k]], bytes[k]);
    }
  }

 private:
  std::vector<uint64_t> state_;
};

class UninstalledModel final : public Predictor {
 public:
  UninstalledModel() {
    id_.name = "test-uninstalled-model";
    id_.hash = Hash128{0x0123456789abcdefull, 0x0fedcba987654321ull};
  }
  const ModelId& id() const override { return id_; }
  std::unique_ptr<PredictorBatch> start_batch(size_t windows) override {
    return std::make_unique<OracleBatch>(windows);
  }
  size_t preferred_batch_size() const override { return 4; }

 private:
  ModelId id_;
};

// Text the oracle predicts: `windows` windows of `window_size` bytes.
Blob chain_text(size_t windows, size_t window_size) {
  Blob text;
  for (size_t w = 0; w < windows; ++w) {
    uint64_t h = 0;
    for (size_t i = 0; i < window_size; ++i) {
      uint8_t byte = chain_byte(h);
      text.push_back(static_cast<char>(byte));
      h = chain_step(h, byte);
    }
  }
  return text;
}

struct Fixture {
  Fixture() {
    data = english_text(120'000, 31) + log_text(80'000, 32);
    write_file(dir / "f", data);
    RunResult c = run_lmz({"--model", "order2", "--block-size", "64K", "f"}, in_dir(dir.path()));
    if (c.exit_code != 0) throw std::runtime_error("compression failed: " + describe(c));
    archive = read_file(dir / "f.lmz");
    std::filesystem::remove(dir / "f");
    std::filesystem::remove(dir / "f.lmz");  // each case writes the archives it needs
  }
  // Writes each of `bad` as fK.lmz and runs `lmz args f0.lmz f1.lmz ...`
  // (one process: lmz goes on after each failure). Checks the exit status
  // (that of the first file), that every file is named in an error message,
  // and that only the archives are left in the directory.
  void expect_failures(const std::vector<Blob>& bad, const std::vector<std::string>& args,
                       std::vector<int> codes, const std::string& what) {
    std::vector<std::string> full = args;
    std::vector<std::string> names;
    for (size_t k = 0; k < bad.size(); ++k) {
      names.push_back("f" + std::to_string(k) + ".lmz");
      write_file(dir / names.back(), bad[k]);
      full.push_back(names.back());
    }
    RunResult r = run_lmz(full, in_dir(dir.path()));
    BOOST_TEST((std::find(codes.begin(), codes.end(), r.exit_code) != codes.end()),
               what << ": " << describe(r));
    for (const auto& name : names) {
      BOOST_TEST(r.err.find("lmz: " + name + ": ") != std::string::npos,
                 what << ": no error for " << name << ": " << describe(r));
    }
    std::vector<std::string> expected = names;
    std::sort(expected.begin(), expected.end());
    BOOST_TEST(dir.list() == expected, what << ": files left behind");
    for (const auto& name : names) std::filesystem::remove(dir / name);
  }
  Blob flip(size_t pos, int bit) const {
    Blob bad = archive;
    bad[pos] = static_cast<char>(bad[pos] ^ (1 << bit));
    return bad;
  }
  TempDir dir;
  Blob data;
  Blob archive;
};

BOOST_FIXTURE_TEST_SUITE(corrupt, Fixture)

BOOST_AUTO_TEST_CASE(flipped_bits_in_block_data) {
  std::mt19937_64 rng(7);
  // Positions inside the block frames (away from the header and the index,
  // whose damage may also read as a model mismatch).
  std::vector<Blob> bad;
  for (int i = 0; i < 16; ++i) {
    bad.push_back(flip(200 + rng() % (archive.size() - 600), static_cast<int>(rng() % 8)));
  }
  expect_failures(bad, {"-d"}, {2}, "decompress");
  expect_failures(bad, {"-t"}, {2}, "test");
}

BOOST_AUTO_TEST_CASE(flipped_bits_anywhere_never_succeed) {
  std::mt19937_64 rng(8);
  std::vector<Blob> bad;
  for (int i = 0; i < 24; ++i) {
    bad.push_back(flip(rng() % archive.size(), static_cast<int>(rng() % 8)));
  }
  expect_failures(bad, {"-d"}, {2, 3}, "anywhere");
  // To standard output: what is written before the error is a verified
  // prefix of the data, never wrong bytes.
  for (int i = 0; i < 4; ++i) {
    size_t pos = archive.size() / 8 + rng() % (archive.size() * 3 / 4);
    write_file(dir / "f.lmz", flip(pos, static_cast<int>(rng() % 8)));
    RunResult r = run_lmz({"-dc", "f.lmz"}, in_dir(dir.path()));
    BOOST_TEST((r.exit_code == 2 || r.exit_code == 3), "flip at " << pos << ": " << describe(r));
    BOOST_TEST(r.out.size() < data.size(), "flip at " << pos);
    BOOST_TEST((data.compare(0, r.out.size(), r.out) == 0), "flip at " << pos);
    std::filesystem::remove(dir / "f.lmz");
  }
}

BOOST_AUTO_TEST_CASE(truncated) {
  std::vector<Blob> bad;
  for (size_t keep : {size_t{0}, size_t{3}, size_t{40}, archive.size() / 3, archive.size() / 2,
                      archive.size() - 44, archive.size() - 1}) {
    bad.push_back(archive.substr(0, keep));
  }
  expect_failures(bad, {"-d"}, {2}, "truncated");
  expect_failures(bad, {"-l"}, {2}, "list truncated");
}

BOOST_AUTO_TEST_CASE(not_an_archive) {
  expect_failures({english_text(3000, 1), archive + "trailing garbage"}, {"-d"}, {2},
                  "not an archive");
  expect_failures({english_text(3000, 1)}, {"--range", "0:10"}, {2}, "range of text");
}

BOOST_AUTO_TEST_CASE(range_of_corrupt_archive) {
  Blob bad = archive;
  bad[archive.size() / 2] = static_cast<char>(bad[archive.size() / 2] ^ 0x10);
  write_file(dir / "f.lmz", bad);
  RunResult r = run_lmz({"--range", "0:200000", "-o", "out", "f.lmz"}, in_dir(dir.path()));
  BOOST_TEST(r.exit_code == 2, describe(r));
  BOOST_TEST(dir.list() == std::vector<std::string>{"f.lmz"});
}

BOOST_AUTO_TEST_CASE(model_not_installed) {
  UninstalledModel model;
  auto codec = make_local_window_codec(model, kDirectStage);
  Blob text = chain_text(8, 16 << 10);
  WriterOptions options;
  options.block_size = 64 << 10;
  options.window_size = 16 << 10;
  Bytes archived = compress_buffer(Bytes(text.begin(), text.end()), *codec, options);
  write_file(dir / "f.lmz", Blob(archived.begin(), archived.end()));
  // Listing needs no model: the archive does have neural blocks.
  RunResult info = run_lmz({"info", "--json", "f.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(info.exit_code == 0, describe(info));
  BOOST_REQUIRE_MESSAGE(info.out.find("\"neural\": 2") != std::string::npos, info.out);

  TempDir models;  // empty: nothing installed
  RunResult d =
      run_lmz({"-d", "--models-dir", models.path().string(), "f.lmz"}, in_dir(dir.path()));
  BOOST_TEST(d.exit_code == 3, describe(d));
  BOOST_TEST(dir.list() == std::vector<std::string>{"f.lmz"});
  RunResult r =
      run_lmz({"-t", "--models-dir", models.path().string(), "f.lmz"}, in_dir(dir.path()));
  BOOST_TEST(r.exit_code == 3, describe(r));
  BOOST_TEST(r.err.find("0123456789abcdef0fedcba987654321") != std::string::npos, describe(r));
  BOOST_TEST(r.err.find("test-uninstalled-model") != std::string::npos, describe(r));
  // The range reader needs the model too.
  RunResult range = run_lmz({"--range", "0:100", "--models-dir", models.path().string(), "f.lmz"},
                            in_dir(dir.path()));
  BOOST_TEST(range.exit_code == 3, describe(range));
  BOOST_TEST(range.out.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace lmz::cli_test
