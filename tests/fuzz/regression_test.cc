// Replays every input in tests/fuzz/regressions/<entry>/ (inputs that once
// made a fuzz target fail: each must now pass) and the seed corpus
// tests/fuzz/seeds/<entry>/ through the fuzz entries, in the normal build.
#define BOOST_TEST_MODULE fuzz_regression
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_entries.h"

// Under ASan, refuse single allocations above 2 GiB as libFuzzer does
// (-malloc_limit_mb follows -rss_limit_mb=2048), so that an input the fuzzer
// reported as out-of-memory fails here too (ASan reports the allocation).
#if defined(__SANITIZE_ADDRESS__)
#define LMZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LMZ_ASAN 1
#endif
#endif
#ifdef LMZ_ASAN
extern "C" const char* __asan_default_options() {
  return "max_allocation_size_mb=2048";
}
#endif

namespace lmz::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(LMZ_SOURCE_DIR) / "tests" / "fuzz";
const char* const kEntries[] = {"stream_reader", "random_access", "range_decoder", "model_file",
                                "protocol",      "request",       "roundtrip"};

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Runs `entry` on every file of `dir`; returns how many there were.
size_t replay(const std::string& entry, const fs::path& dir) {
  const Entry run = entry_by_name(entry);
  BOOST_REQUIRE(run != nullptr);
  size_t n = 0;
  for (const fs::path& file : files_in(dir)) {
    BOOST_TEST_CONTEXT(file.string()) {
      const std::vector<uint8_t> data = slurp(file);
      BOOST_CHECK_NO_THROW(run(data.data(), data.size()));
    }
    ++n;
  }
  return n;
}

BOOST_AUTO_TEST_CASE(regressions_pass) {
  size_t total = 0;
  for (const char* entry : kEntries) total += replay(entry, kFuzzDir / "regressions" / entry);
  BOOST_TEST_MESSAGE(total << " regression inputs replayed");
}

BOOST_AUTO_TEST_CASE(seed_corpus_passes) {
  for (const char* entry : kEntries) {
    BOOST_TEST_CONTEXT(entry) {
      // An entry without seeds would be fuzzed blind: make-seeds.sh writes them.
      BOOST_TEST(replay(entry, kFuzzDir / "seeds" / entry) > 0u);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_entry_is_refused) {
  BOOST_TEST(entry_by_name("no-such-entry") == nullptr);
  for (const char* entry : kEntries) BOOST_TEST(entry_by_name(entry) != nullptr);
}

}  // namespace
}  // namespace lmz::fuzz
