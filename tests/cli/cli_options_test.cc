// The CLI's behaviour around files and options: keep/--rm, overwrite
// protection, suffixes, terminals, listing (--json), exit codes.
#define BOOST_TEST_MODULE cli_options_test
#define BOOST_BIND_GLOBAL_PLACEHOLDERS  // quiets a deprecation note in property_tree
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "harness.h"

namespace lmz::cli_test {
namespace {

namespace pt = boost::property_tree;

pt::ptree parse_json(const std::string& text) {
  std::istringstream in(text);
  pt::ptree tree;
  pt::read_json(in, tree);  // throws on anything that is not valid JSON
  return tree;
}

RunResult compress_in(const TempDir& dir, const std::string& name, const Blob& data,
                      std::vector<std::string> extra = {}) {
  write_file(dir / name, data);
  extra.insert(extra.begin(), {"--model", "order2"});
  extra.push_back(name);
  return run_lmz(extra, in_dir(dir.path()));
}

BOOST_AUTO_TEST_CASE(help_and_version) {
  RunResult help = run_lmz({"--help"});
  BOOST_TEST(help.exit_code == 0);
  BOOST_TEST(help.out.find("Usage: lmz") != std::string::npos);
  BOOST_TEST(help.out.find("Exit status") != std::string::npos);
  BOOST_TEST(help.out.find("--range") != std::string::npos);
  RunResult version = run_lmz({"-V"});
  BOOST_TEST(version.exit_code == 0);
  BOOST_TEST(version.out.rfind("lmz ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_1) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--no-such-option"},
                                             {"-Y"},
                                             {"--range", "abc", "x.lmz"},
                                             {"--range", "10", "x.lmz"},
                                             {"--range", "1X:2", "x.lmz"},
                                             {"--zstd-level", "99"},
                                             {"--block-size", "0"},
                                             {"--device", "tpu"},
                                             {"--json", "x.lmz"},
                                             {"-o"},
                                             {"-o", "out", "a", "b"},
                                             {"-c", "-o", "out", "a"},
                                             {"--rm", "-c", "a"},
                                             {"--model", "no-such-model-anywhere", "-c"}}) {
    RunResult r = run_lmz(args, with_stdin(Blob("hello")));
    BOOST_TEST(r.exit_code == 1, args[0] << ": " << describe(r));
    BOOST_TEST(r.err.rfind("lmz: ", 0) == 0, args[0] << ": " << describe(r));
  }
}

BOOST_AUTO_TEST_CASE(missing_file_is_io_error_naming_it) {
  TempDir dir;
  RunResult r = run_lmz({"no-such-file"}, in_dir(dir.path()));
  BOOST_TEST(r.exit_code == 4, describe(r));
  BOOST_TEST(r.err.find("no-such-file") != std::string::npos);
  // An output directory that does not exist.
  write_file(dir / "x", "data");
  RunResult o = run_lmz({"-o", "missing-dir/x.lmz", "x"}, in_dir(dir.path()));
  BOOST_TEST(o.exit_code == 4, describe(o));
}

BOOST_AUTO_TEST_CASE(keep_is_default_and_rm_removes) {
  TempDir dir;
  RunResult k = compress_in(dir, "a.txt", english_text(5000, 1), {"-k"});
  BOOST_REQUIRE_MESSAGE(k.exit_code == 0, describe(k));
  BOOST_TEST(std::filesystem::exists(dir / "a.txt"));
  RunResult rm = compress_in(dir, "b.txt", english_text(5000, 2), {"--rm"});
  BOOST_REQUIRE_MESSAGE(rm.exit_code == 0, describe(rm));
  BOOST_TEST(!std::filesystem::exists(dir / "b.txt"));
  BOOST_TEST(std::filesystem::exists(dir / "b.txt.lmz"));
  RunResult d = run_lmz({"-d", "--rm", "b.txt.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  BOOST_TEST(!std::filesystem::exists(dir / "b.txt.lmz"));
  BOOST_TEST((read_file(dir / "b.txt") == english_text(5000, 2)));
}

BOOST_AUTO_TEST_CASE(refuses_to_overwrite_without_force) {
  TempDir dir;
  write_file(dir / "a.txt.lmz", "precious");
  RunResult r = compress_in(dir, "a.txt", english_text(5000, 3));
  BOOST_TEST(r.exit_code == 1, describe(r));
  BOOST_TEST(r.err.find("a.txt.lmz") != std::string::npos);
  BOOST_TEST(r.err.find("-f") != std::string::npos);
  BOOST_TEST(read_file(dir / "a.txt.lmz") == "precious");
  BOOST_TEST(dir.list() == (std::vector<std::string>{"a.txt", "a.txt.lmz"}));

  RunResult f = compress_in(dir, "a.txt", english_text(5000, 3), {"-f"});
  BOOST_REQUIRE_MESSAGE(f.exit_code == 0, describe(f));
  BOOST_TEST(read_file(dir / "a.txt.lmz") != "precious");

  // Decompressing over an existing file is refused the same way.
  write_file(dir / "a.txt", "other");
  RunResult d = run_lmz({"-d", "a.txt.lmz"}, in_dir(dir.path()));
  BOOST_TEST(d.exit_code == 1, describe(d));
  BOOST_TEST(read_file(dir / "a.txt") == "other");
  RunResult df = run_lmz({"-df", "a.txt.lmz"}, in_dir(dir.path()));
  BOOST_TEST(df.exit_code == 0, describe(df));
  BOOST_TEST((read_file(dir / "a.txt") == english_text(5000, 3)));
}

BOOST_AUTO_TEST_CASE(suffix_rules) {
  TempDir dir;
  RunResult c = compress_in(dir, "x.lmz", "some text");
  BOOST_TEST(c.exit_code == 1, describe(c));  // already .lmz
  BOOST_TEST(!std::filesystem::exists(dir / "x.lmz.lmz"));
  write_file(dir / "archive.bin", "not used");
  RunResult d = run_lmz({"-d", "archive.bin"}, in_dir(dir.path()));
  BOOST_TEST(d.exit_code == 1, describe(d));
  BOOST_TEST(d.err.find("-o") != std::string::npos);
  BOOST_TEST(d.err.find("archive.bin") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(terminals) {
  RunOptions tty_out = with_stdin("hi");
  tty_out.stdout_is_terminal = true;
  RunResult to_tty = run_lmz({"--model", "order2"}, tty_out);
  BOOST_TEST(to_tty.exit_code == 1, describe(to_tty));
  BOOST_TEST(to_tty.err.find("terminal") != std::string::npos);
  tty_out.stdin_data = "";  // -f: a small archive, written to the terminal
  RunResult forced = run_lmz({"--model", "order2", "-f"}, tty_out);
  BOOST_TEST(forced.exit_code == 0, describe(forced));
  RunOptions tty_in;
  tty_in.stdin_is_terminal = true;
  RunResult from_tty = run_lmz({"-d"}, tty_in);
  BOOST_TEST(from_tty.exit_code == 1, describe(from_tty));
  BOOST_TEST(from_tty.err.find("terminal") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(test_mode_writes_nothing) {
  TempDir dir;
  BOOST_REQUIRE(compress_in(dir, "t.txt", english_text(20'000, 4)).exit_code == 0);
  std::filesystem::remove(dir / "t.txt");
  RunResult t = run_lmz({"-t", "t.txt.lmz"}, in_dir(dir.path()));
  BOOST_TEST(t.exit_code == 0, describe(t));
  BOOST_TEST(t.out.empty());
  BOOST_TEST(dir.list() == std::vector<std::string>{"t.txt.lmz"});
  RunResult tv = run_lmz({"-tv", "t.txt.lmz"}, in_dir(dir.path()));
  BOOST_TEST(tv.exit_code == 0, describe(tv));
  BOOST_TEST(tv.err.find("OK") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(info_json_is_valid_and_consistent) {
  TempDir dir;
  Blob data = english_text(150'000, 5) + random_bytes(40'000, 6);
  RunResult c = compress_in(dir, "d", data, {"--block-size", "64K", "--window-size", "8K"});
  BOOST_REQUIRE_MESSAGE(c.exit_code == 0, describe(c));
  RunResult info = run_lmz({"info", "--json", "d.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(info.exit_code == 0, describe(info));
  pt::ptree tree;
  BOOST_REQUIRE_NO_THROW(tree = parse_json(info.out));
  BOOST_TEST(tree.get<std::string>("file") == "d.lmz");
  BOOST_TEST(tree.get<uint64_t>("raw_size") == data.size());
  BOOST_TEST(tree.get<uint64_t>("archive_size") == std::filesystem::file_size(dir / "d.lmz"));
  BOOST_TEST(tree.get<double>("bits_per_byte") > 0.0);
  BOOST_TEST(tree.get<double>("ratio") > 1.0);
  // 190,000 bytes in blocks of at most 64 KiB (the writer may also cut where
  // text turns into binary data).
  uint64_t blocks = tree.get<uint64_t>("blocks");
  BOOST_TEST(blocks >= 3u);
  const auto& members = tree.get_child("members");
  BOOST_REQUIRE(members.size() == 1u);
  const auto& member = members.front().second;
  BOOST_TEST(member.get<std::string>("model.name") == "order2");
  BOOST_TEST(member.get<std::string>("model.hash").size() == 32u);
  uint64_t raw_sum = 0;
  uint64_t next_offset = 0;
  for (const auto& [key, block] : member.get_child("blocks")) {
    BOOST_TEST(block.get<uint64_t>("raw_offset") == next_offset);
    next_offset += block.get<uint64_t>("raw_size");
    raw_sum += block.get<uint64_t>("raw_size");
    BOOST_TEST(block.get<uint64_t>("raw_size") <= 65536u);
    std::string codec = block.get<std::string>("codec");
    BOOST_TEST((codec == "neural" || codec == "zstd" || codec == "stored"));
  }
  BOOST_TEST(raw_sum == data.size());
  BOOST_TEST(member.get_child("blocks").size() == blocks);
  BOOST_TEST(tree.get<uint64_t>("codecs.neural") + tree.get<uint64_t>("codecs.zstd") +
                 tree.get<uint64_t>("codecs.stored") ==
             blocks);

  BOOST_TEST(tree.get<int>("schema") == 1);

  // -l gives the same in words; several files with --json give one object
  // per line, each of the same shape as for one file (doc/info-json.md).
  RunResult list = run_lmz({"-l", "d.lmz"}, in_dir(dir.path()));
  BOOST_TEST(list.exit_code == 0, describe(list));
  BOOST_TEST(list.out.find("order2") != std::string::npos);
  BOOST_REQUIRE(compress_in(dir, "e", "").exit_code == 0);
  RunResult both = run_lmz({"-l", "--json", "d.lmz", "e.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(both.exit_code == 0, describe(both));
  std::istringstream lines(both.out);
  std::vector<pt::ptree> objects;
  for (std::string line; std::getline(lines, line);) {
    BOOST_REQUIRE_NO_THROW(objects.push_back(parse_json(line)));
  }
  BOOST_REQUIRE(objects.size() == 2u);
  BOOST_TEST(objects[0].get<std::string>("file") == "d.lmz");
  BOOST_TEST(objects[0].get<uint64_t>("raw_size") == data.size());
  BOOST_TEST(objects[1].get<uint64_t>("raw_size") == 0u);
  BOOST_TEST(objects[1].get<int>("schema") == 1);
}

BOOST_AUTO_TEST_CASE(info_of_concatenated_archives) {
  TempDir dir;
  BOOST_REQUIRE(compress_in(dir, "a", english_text(10'000, 7)).exit_code == 0);
  BOOST_REQUIRE(compress_in(dir, "b", log_text(10'000, 8)).exit_code == 0);
  write_file(dir / "ab.lmz", read_file(dir / "a.lmz") + read_file(dir / "b.lmz"));
  RunResult info = run_lmz({"info", "--json", "ab.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(info.exit_code == 0, describe(info));
  pt::ptree tree = parse_json(info.out);
  BOOST_TEST(tree.get_child("members").size() == 2u);
  BOOST_TEST(tree.get<uint64_t>("raw_size") == 20'000u);
}

BOOST_AUTO_TEST_CASE(verbose_summary_and_quiet) {
  TempDir dir;
  RunResult v = compress_in(dir, "v.txt", english_text(10'000, 9), {"-v"});
  BOOST_TEST(v.exit_code == 0, describe(v));
  BOOST_TEST(v.err.find("v.txt") != std::string::npos);
  BOOST_TEST(v.err.find("bits/byte") != std::string::npos);
  RunResult q = compress_in(dir, "q.txt", english_text(10'000, 9), {"-q"});
  BOOST_TEST(q.exit_code == 0, describe(q));
  BOOST_TEST(q.err.empty());
}

// With several files lmz goes on after a failure and reports the first.
BOOST_AUTO_TEST_CASE(several_files_with_one_failure) {
  TempDir dir;
  write_file(dir / "good1", english_text(1000, 10));
  write_file(dir / "good2", english_text(1000, 11));
  RunResult r = run_lmz({"--model", "order2", "good1", "missing", "good2"}, in_dir(dir.path()));
  BOOST_TEST(r.exit_code == 4, describe(r));
  BOOST_TEST(std::filesystem::exists(dir / "good1.lmz"));
  BOOST_TEST(std::filesystem::exists(dir / "good2.lmz"));
  BOOST_TEST(r.err.find("lmz: missing: ") != std::string::npos);
}

}  // namespace
}  // namespace lmz::cli_test
