// Round trips through the built `lmz`: files, pipes, several files, and
// the held-out corpora.
#define BOOST_TEST_MODULE cli_roundtrip_test
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <map>

#include "harness.h"

namespace lmz::cli_test {
namespace {

// Compresses `data` as a file with `extra` options, checks the source is
// kept and that -t accepts the archive, then decompresses it (under the
// source's name) and compares.
void file_round_trip(const Blob& data, const std::vector<std::string>& extra = {}) {
  TempDir dir;
  write_file(dir / "data", data);
  std::vector<std::string> args = extra;
  args.push_back("data");
  RunResult c = run_lmz(args, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(c.exit_code == 0, describe(c));
  BOOST_TEST(c.out.empty());
  BOOST_TEST(read_file(dir / "data") == data);  // kept by default
  BOOST_REQUIRE(std::filesystem::exists(dir / "data.lmz"));

  RunResult t = run_lmz({"-t", "data.lmz"}, in_dir(dir.path()));
  BOOST_TEST(t.exit_code == 0, describe(t));

  std::filesystem::rename(dir / "data", dir / "original");
  RunResult d = run_lmz({"-d", "data.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  Blob back = read_file(dir / "data");
  BOOST_TEST(back.size() == data.size());
  BOOST_TEST((back == data));
  BOOST_TEST(std::filesystem::exists(dir / "data.lmz"));
  // Nothing else (no temporary files) is left in the directory.
  BOOST_TEST(dir.list() == (std::vector<std::string>{"data", "data.lmz", "original"}));
}

Blob mixed_text_binary() {
  Blob data = english_text(100'000, 11);
  data += random_bytes(60'000, 12);
  data += log_text(80'000, 13);
  data += Blob(5000, '\0');
  data += english_text(50'000, 14);
  return data;
}

BOOST_AUTO_TEST_CASE(empty_file) {
  file_round_trip("");
}

BOOST_AUTO_TEST_CASE(one_byte) {
  file_round_trip("x");
  file_round_trip(Blob(1, '\0'));
}

BOOST_AUTO_TEST_CASE(random_one_mib) {
  file_round_trip(random_bytes(1 << 20, 1), {"--model", "order2"});
}

// The default model, on a small text.
BOOST_AUTO_TEST_CASE(text_default_model) {
  file_round_trip(english_text(20'000, 2));
}

BOOST_AUTO_TEST_CASE(text_order2_small_blocks) {
  file_round_trip(english_text(300'000, 3),
                  {"--model", "order2", "--block-size", "64K", "--window-size", "4K"});
}

BOOST_AUTO_TEST_CASE(mixed_text_and_binary) {
  file_round_trip(mixed_text_binary(), {"--model", "order2", "--block-size", "32K"});
}

BOOST_AUTO_TEST_CASE(no_neural_and_zstd_level) {
  file_round_trip(mixed_text_binary(), {"--no-neural", "--zstd-level", "3"});
}

BOOST_AUTO_TEST_CASE(stdin_to_stdout) {
  Blob data = log_text(200'000, 4);
  RunResult c = run_lmz({"--model", "order2"}, with_stdin(data));
  BOOST_REQUIRE_MESSAGE(c.exit_code == 0, describe(c));
  BOOST_TEST(c.out.size() < data.size());
  RunResult d = run_lmz({"-d"}, with_stdin(c.out));
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  BOOST_TEST((d.out == data));
  // "-" names standard input explicitly; -c writes to standard output.
  RunResult d2 = run_lmz({"-dc", "-"}, with_stdin(c.out));
  BOOST_REQUIRE_MESSAGE(d2.exit_code == 0, describe(d2));
  BOOST_TEST((d2.out == data));
}

BOOST_AUTO_TEST_CASE(file_to_stdout_and_output_option) {
  TempDir dir;
  Blob data = english_text(50'000, 5);
  write_file(dir / "in.txt", data);
  RunResult c = run_lmz({"--model", "order2", "-c", "in.txt"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(c.exit_code == 0, describe(c));
  BOOST_TEST(!std::filesystem::exists(dir / "in.txt.lmz"));
  write_file(dir / "archive", c.out);  // no .lmz suffix: needs -o or -c
  RunResult d = run_lmz({"-d", "-o", "out.txt", "archive"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  BOOST_TEST((read_file(dir / "out.txt") == data));
  RunResult c2 = run_lmz({"--model=order2", "-o", "sub.lmz", "in.txt"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(c2.exit_code == 0, describe(c2));
  RunResult d2 = run_lmz({"-dc", "sub.lmz"}, in_dir(dir.path()));
  BOOST_TEST((d2.out == data));
}

// Several files with -c make concatenated archives, which decode as the
// concatenation; without -c each file gets its own archive.
BOOST_AUTO_TEST_CASE(several_files) {
  TempDir dir;
  Blob a = english_text(30'000, 6), b = random_bytes(10'000, 7), c = log_text(40'000, 8);
  write_file(dir / "a", a);
  write_file(dir / "b", b);
  write_file(dir / "c", c);
  RunResult cat = run_lmz({"--model", "order2", "-c", "a", "b", "c"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(cat.exit_code == 0, describe(cat));
  RunResult d = run_lmz({"-d"}, with_stdin(cat.out));
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  BOOST_TEST((d.out == a + b + c));

  RunResult each = run_lmz({"--model", "order2", "a", "b", "c"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(each.exit_code == 0, describe(each));
  for (const char* name : {"a", "b", "c"}) std::filesystem::remove(dir / name);
  RunResult back = run_lmz({"-d", "a.lmz", "b.lmz", "c.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(back.exit_code == 0, describe(back));
  BOOST_TEST((read_file(dir / "a") == a));
  BOOST_TEST((read_file(dir / "b") == b));
  BOOST_TEST((read_file(dir / "c") == c));
}

// Every held-out corpus file, with the stand-in model (fast on a CPU). All
// files go through one lmz process per step, to keep the test quick.
BOOST_AUTO_TEST_CASE(heldout_corpora) {
  auto corpora = heldout_corpora_dir();
  if (corpora.empty()) {
    BOOST_TEST_MESSAGE("held-out corpora not found (set LMZ_CORPORA_DIR): skipped");
    return;
  }
  TempDir dir;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(corpora)) {
    if (entry.path().extension() != ".xz") continue;
    std::string name = entry.path().stem().string();
    std::string command =
        "xz -dc '" + entry.path().string() + "' > '" + (dir / name).string() + "'";
    BOOST_REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "failed: " << command);
    names.push_back(name);
  }
  BOOST_REQUIRE(!names.empty());
  std::vector<std::string> compress = {"--model", "order2", "-q", "--rm"};
  std::vector<std::string> archives;
  std::map<std::string, Blob> originals;
  for (const auto& name : names) {
    originals[name] = read_file(dir / name);
    compress.push_back(name);
    archives.push_back(name + ".lmz");
  }
  RunResult c = run_lmz(compress, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(c.exit_code == 0, describe(c));
  std::vector<std::string> test = {"-t"};
  test.insert(test.end(), archives.begin(), archives.end());
  RunResult t = run_lmz(test, in_dir(dir.path()));
  BOOST_TEST(t.exit_code == 0, describe(t));
  std::vector<std::string> decompress = {"-d"};
  decompress.insert(decompress.end(), archives.begin(), archives.end());
  RunResult d = run_lmz(decompress, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  for (const auto& name : names) {
    Blob back = read_file(dir / name);
    BOOST_TEST((back == originals[name]), name << ": round trip differs");
    auto archive_size = std::filesystem::file_size(dir / (name + ".lmz"));
    BOOST_TEST_MESSAGE(name << ": " << originals[name].size() << " -> " << archive_size
                            << " bytes");
    BOOST_TEST(archive_size < originals[name].size(), name << " did not shrink");
  }
}

// With a neural model, log-like blocks are coded with the stand-in, in a
// member of their own, unless --log-model same; both decode.
BOOST_AUTO_TEST_CASE(log_blocks_use_the_log_model) {
  // Needs a neural model: not in builds without the engine (the sanitizer
  // build).
  RunResult version = run_lmz({"--version"});
  if (version.out.find("neural engine: built in") == std::string::npos) return;
  const std::string models = std::string(LMZ_SOURCE_DIR) + "/models";
  const Blob data = english_text(40'000, 21) + log_text(150'000, 22) + english_text(40'000, 23);
  for (const std::string log_model : {"order2", "same"}) {
    BOOST_TEST_CONTEXT("--log-model " << log_model) {
      TempDir dir;
      write_file(dir / "data", data);
      RunResult c = run_lmz({"--models-dir", models, "--model", "tiny", "--log-model", log_model,
                             "--block-size", "64K", "data"},
                            in_dir(dir.path()));
      BOOST_REQUIRE_MESSAGE(c.exit_code == 0, describe(c));
      RunResult l = run_lmz({"-l", "data.lmz"}, in_dir(dir.path()));
      BOOST_REQUIRE_MESSAGE(l.exit_code == 0, describe(l));
      BOOST_TEST(l.out.find("model tiny") != std::string::npos, l.out);
      const bool has_order2_member = l.out.find("model order2") != std::string::npos;
      BOOST_TEST(has_order2_member == (log_model == "order2"), l.out);
      RunResult d = run_lmz({"--models-dir", models, "-dc", "data.lmz"}, in_dir(dir.path()));
      BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
      BOOST_TEST((d.out == data));
    }
  }
}

// Input that is all logs never needs the neural model, so lmz does not load
// it (nor libtorch, over 150 MB): compression and decompression take about
// the memory of the stand-in's, the archive is the one the stand-in makes
// (its only member is the log model's), and it decodes where the neural
// model is not installed.
BOOST_AUTO_TEST_CASE(log_only_input_never_loads_the_neural_model) {
  RunResult version = run_lmz({"--version"});
  if (version.out.find("neural engine: built in") == std::string::npos) return;
  const std::string models = std::string(LMZ_SOURCE_DIR) + "/models";
  const Blob data = log_text(150'000, 24);
  TempDir dir;
  write_file(dir / "data", data);
  auto compress = [&](const std::string& model, const std::string& out) {
    RunResult c =
        run_lmz({"--models-dir", models, "--model", model, "-c", "data"}, in_dir(dir.path()));
    BOOST_REQUIRE_MESSAGE(c.exit_code == 0, describe(c));
    write_file(dir / out, c.out);
    return c.max_rss_kb;
  };
  const long standin_rss = compress("order2", "standin.lmz");
  const long small_rss = compress("small", "small.lmz");
  BOOST_TEST(small_rss < standin_rss + 50'000, small_rss << " KiB vs " << standin_rss);
  BOOST_TEST((read_file(dir / "small.lmz") == read_file(dir / "standin.lmz")));

  RunResult d = run_lmz({"--models-dir", models, "-dc", "small.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  BOOST_TEST((d.out == data));
  BOOST_TEST(d.max_rss_kb < standin_rss + 50'000, d.max_rss_kb << " KiB vs " << standin_rss);
  TempDir empty;  // no model installed
  RunResult e =
      run_lmz({"--models-dir", empty.path().string(), "-dc", "small.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(e.exit_code == 0, describe(e));
  BOOST_TEST((e.out == data));
}

}  // namespace
}  // namespace lmz::cli_test
