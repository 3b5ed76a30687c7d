// The content classifier (libcodec/classifier.h).
#define BOOST_TEST_MODULE classifier
#include <boost/test/unit_test.hpp>

#include <string>

#include "libcodec/classifier.h"
#include "tests/format/test_codec.h"

namespace lmz {
namespace {

Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

BOOST_AUTO_TEST_CASE(text_and_binary_chunks) {
  BOOST_TEST(looks_like_text(bytes_of("Hello, world.\n\tIndented line\r\n")));
  BOOST_TEST(looks_like_text(bytes_of("Grüße aus Köln — naïve café ☕ 日本語のテキスト\n")));
  BOOST_TEST(looks_like_text(bytes_of("\x1b[31mred\x1b[0m log line\n")));
  BOOST_TEST(!looks_like_text(Bytes(512, 0)));
  BOOST_TEST(!looks_like_text(test::random_bytes(512, 1)));
  // A UTF-8 sequence cut by the chunk's end is not held against it.
  Bytes cut = bytes_of("abcdefghij\xe2\x82");
  BOOST_TEST(looks_like_text(cut));
  // A few stray bytes are tolerated, many are not.
  Bytes text = bytes_of(std::string(200, 'a'));
  for (int i = 0; i < 10; ++i) text[i * 20] = 0x01;
  BOOST_TEST(looks_like_text(text));
  for (int i = 0; i < 40; ++i) text[i * 5] = 0x01;
  BOOST_TEST(!looks_like_text(text));
}

BOOST_AUTO_TEST_CASE(runs_cover_the_data_and_alternate) {
  Bytes data = test::text_from_dictionary(20000, 2);
  Bytes bin = test::random_bytes(30000, 3);
  data.insert(data.end(), bin.begin(), bin.end());
  Bytes more = test::text_from_dictionary(15000, 4);
  data.insert(data.end(), more.begin(), more.end());
  auto runs = split_into_runs(data);
  BOOST_TEST_REQUIRE(runs.size() == 3u);
  size_t pos = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    BOOST_TEST(runs[i].offset == pos);
    pos += runs[i].size;
    if (i > 0) BOOST_TEST(runs[i].text != runs[i - 1].text);
  }
  BOOST_TEST(pos == data.size());
  BOOST_TEST(runs[0].text);
  BOOST_TEST(!runs[1].text);
  BOOST_TEST(runs[2].text);
  // Boundaries within a chunk of the true ones.
  BOOST_TEST(runs[1].offset >= 20000u - 512u);
  BOOST_TEST(runs[1].offset <= 20000u);
  BOOST_TEST(split_into_runs({}).empty());
}

BOOST_AUTO_TEST_CASE(small_islands_join_their_surroundings) {
  // Tar-like: 512-byte binary headers between text members stay with the text.
  Bytes data;
  for (int i = 0; i < 10; ++i) {
    Bytes header(512, 0);
    header[0] = 'f';
    data.insert(data.end(), header.begin(), header.end());
    Bytes text = test::text_from_dictionary(5000, 10 + i);
    data.insert(data.end(), text.begin(), text.end());
  }
  auto runs = split_into_runs(data);
  BOOST_TEST_REQUIRE(runs.size() == 1u);
  BOOST_TEST(runs[0].text);
  // Short text inside binary stays binary (strings in an executable).
  Bytes exe = test::random_bytes(40000, 5);
  Bytes strings = test::text_from_dictionary(2000, 6);
  std::copy(strings.begin(), strings.end(), exe.begin() + 10000);
  runs = split_into_runs(exe);
  BOOST_TEST_REQUIRE(runs.size() == 1u);
  BOOST_TEST(!runs[0].text);
  // Binary with text-like chunks every other chunk stays binary.
  Bytes alternating;
  for (int i = 0; i < 40; ++i) {
    Bytes part = i % 2 ? test::random_bytes(1024, 100 + i) : test::text_from_dictionary(1024, i);
    alternating.insert(alternating.end(), part.begin(), part.end());
  }
  runs = split_into_runs(alternating);
  BOOST_TEST_REQUIRE(runs.size() == 1u);
  BOOST_TEST(!runs[0].text);
}

BOOST_AUTO_TEST_CASE(logs_and_prose) {
  std::string log;
  for (int i = 0; i < 50; ++i) {
    log += "2026-11-23 19:3" + std::to_string(i % 10) + ":00 INFO request " +
           std::to_string(i * 37) + " served in " + std::to_string(i % 7) + "ms\n";
  }
  BOOST_TEST((classify_text(bytes_of(log)) == TextKind::kLog));
  std::string syslog;
  for (int i = 0; i < 30; ++i) {
    syslog += "Nov 23 19:" + std::to_string(10 + i) + ":02 host sshd[" + std::to_string(100 + i) +
              "]: Accepted publickey for user\n";
  }
  BOOST_TEST((classify_text(bytes_of(syslog)) == TextKind::kLog));
  BOOST_TEST((classify_text(test::dictionary_text(5000, 7)) == TextKind::kProse));
  BOOST_TEST((classify_text(bytes_of("one line only, no newline")) == TextKind::kProse));
}

}  // namespace
}  // namespace lmz
