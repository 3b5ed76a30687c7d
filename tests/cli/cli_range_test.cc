// `lmz --range OFFSET:LENGTH` against slices of the original, at random
// offsets and lengths, across windows and blocks and past the end.
#define BOOST_TEST_MODULE cli_range_test
#include <boost/test/unit_test.hpp>

#include <random>

#include "harness.h"

namespace lmz::cli_test {
namespace {

// One archive shared by the cases: mixed data in small blocks and windows,
// so that ranges cross both.
struct Archive {
  Archive() {
    data = english_text(150'000, 21) + random_bytes(50'000, 22) + log_text(120'000, 23);
    write_file(dir / "data", data);
    RunResult c =
        run_lmz({"--model", "order2", "--block-size", "64K", "--window-size", "4K", "data"},
                in_dir(dir.path()));
    if (c.exit_code != 0) throw std::runtime_error("compression failed: " + describe(c));
    archive = "data.lmz";
  }
  Blob slice(uint64_t offset, uint64_t length) const {
    if (offset >= data.size()) return "";
    return data.substr(offset, length);
  }
  RunResult range(const std::string& spec, std::vector<std::string> extra = {}) const {
    extra.insert(extra.begin(), {"--range", spec});
    extra.push_back(archive);
    return run_lmz(extra, in_dir(dir.path()));
  }
  TempDir dir;
  Blob data;
  std::string archive;
};

const Archive& archive() {
  static const Archive a;
  return a;
}

void check(uint64_t offset, uint64_t length) {
  RunResult r = archive().range(std::to_string(offset) + ":" + std::to_string(length));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, offset << ":" << length << " " << describe(r));
  Blob expected = archive().slice(offset, length);
  BOOST_TEST(r.out.size() == expected.size(), offset << ":" << length);
  BOOST_TEST((r.out == expected), offset << ":" << length << " differs");
}

BOOST_AUTO_TEST_CASE(random_ranges) {
  std::mt19937_64 rng(42);
  uint64_t size = archive().data.size();
  for (int i = 0; i < 16; ++i) {
    uint64_t offset = rng() % size;
    uint64_t length = (i % 4 == 0) ? rng() % 200'000 : rng() % 10'000;
    check(offset, length);
  }
}

BOOST_AUTO_TEST_CASE(edges_of_windows_and_blocks) {
  // 4 KiB windows, 64 KiB blocks.
  check(0, 1);
  check(4095, 2);  // the last byte of window 0 and the first of window 1
  check(4096, 1);
  check(65535, 2);        // across the first block boundary
  check(65536, 8193);     // three windows from a block's start
  check(131071, 70'000);  // across two block boundaries
  check(60'000, 10'000);  // across a block boundary
  check(100, 300'000);    // nearly everything
  check(0, archive().data.size());
}

BOOST_AUTO_TEST_CASE(past_the_end_and_empty) {
  uint64_t size = archive().data.size();
  check(size - 10, 100);   // clamped to the end
  check(size + 1000, 10);  // nothing
  check(12345, 0);
  RunResult rest = archive().range(std::to_string(size - 5000) + ":");
  BOOST_TEST(rest.exit_code == 0, describe(rest));
  BOOST_TEST((rest.out == archive().slice(size - 5000, 5000)));
}

BOOST_AUTO_TEST_CASE(suffixes_and_output_file) {
  RunResult k = archive().range("64K:4K");
  BOOST_TEST(k.exit_code == 0, describe(k));
  BOOST_TEST((k.out == archive().slice(65536, 4096)));
  RunResult o = archive().range("1000:5000", {"-o", "slice"});
  BOOST_REQUIRE_MESSAGE(o.exit_code == 0, describe(o));
  BOOST_TEST(o.out.empty());
  BOOST_TEST((read_file(archive().dir / "slice") == archive().slice(1000, 5000)));
  std::filesystem::remove(archive().dir / "slice");
}

BOOST_AUTO_TEST_CASE(needs_a_seekable_archive) {
  // Standard input from a pipe cannot seek: a clear usage error. (The
  // harness gives stdin as a file, so use a missing file and a non-archive.)
  RunResult missing = run_lmz({"--range", "0:10", "nothing.lmz"}, in_dir(archive().dir.path()));
  BOOST_TEST(missing.exit_code == 4, describe(missing));
  write_file(archive().dir / "text.lmz", english_text(5000, 1));
  RunResult bad = archive().range("0:10");
  BOOST_TEST(bad.exit_code == 0);
  RunResult not_archive = run_lmz({"--range", "0:10", "text.lmz"}, in_dir(archive().dir.path()));
  BOOST_TEST(not_archive.exit_code == 2, describe(not_archive));
  BOOST_TEST(not_archive.out.empty());
  std::filesystem::remove(archive().dir / "text.lmz");
}

}  // namespace
}  // namespace lmz::cli_test
