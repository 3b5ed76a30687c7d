// What a zstd user types (issue 19): levels, threads, option forms, the
// small things of -l and -v, escaping of what an archive says, tiny inputs.
// Each case runs the real lmz.
#define BOOST_TEST_MODULE cli_usability_test
#define BOOST_BIND_GLOBAL_PLACEHOLDERS
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <sstream>

#include "format/archive_writer.h"
#include "harness.h"
#include "libcodec/window_codec.h"

namespace lmz::cli_test {
namespace {

namespace pt = boost::property_tree;
namespace fs = std::filesystem;

pt::ptree parse_json(const std::string& text) {
  std::istringstream in(text);
  pt::ptree tree;
  pt::read_json(in, tree);
  return tree;
}

bool engine_built() {
  return run_lmz({"--version"}).out.find("neural engine: built in") != std::string::npos;
}

const std::string& models_dir() {
  static const std::string dir = std::string(LMZ_SOURCE_DIR) + "/models";
  return dir;
}

// info --json of `archive` in `dir`.
pt::ptree info_of(const TempDir& dir, const std::string& archive) {
  RunResult r = run_lmz({"info", "--json", archive}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  return parse_json(r.out);
}

BOOST_AUTO_TEST_CASE(levels_pick_settings) {
  TempDir dir;
  write_file(dir / "t", english_text(100'000, 1));
  // -19 and friends parse (they used to be "unknown option '-1'").
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"-4"}, {"-6"}, {"-7"}, {"--fast"}, {"-1v"}}) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--local", "-f", "t"});
    RunResult r = run_lmz(full, in_dir(dir.path()));
    BOOST_TEST(r.exit_code == 0, args[0] << ": " << describe(r));
  }
  // -5: order2 with 256 KiB prose windows; -4: 64 KiB.
  BOOST_REQUIRE(run_lmz({"-5", "--local", "-f", "t"}, in_dir(dir.path())).exit_code == 0);
  pt::ptree six = info_of(dir, "t.lmz");
  const auto& member = six.get_child("members").front().second;
  BOOST_TEST(member.get<std::string>("model.name") == "order2");
  BOOST_TEST(member.get<int>("stage") == 1);
  BOOST_TEST(member.get_child("blocks").front().second.get<uint32_t>("window_size") == 262144u);
  BOOST_REQUIRE(run_lmz({"-4", "--local", "-f", "t"}, in_dir(dir.path())).exit_code == 0);
  BOOST_TEST(info_of(dir, "t.lmz")
                 .get_child("members")
                 .front()
                 .second.get_child("blocks")
                 .front()
                 .second.get<uint32_t>("window_size") == 65536u);
  // Explicit options win over the level, in either order.
  BOOST_REQUIRE(
      run_lmz({"--window-size", "8K", "-5", "--local", "-f", "t"}, in_dir(dir.path())).exit_code ==
      0);
  BOOST_TEST(info_of(dir, "t.lmz")
                 .get_child("members")
                 .front()
                 .second.get_child("blocks")
                 .front()
                 .second.get<uint32_t>("window_size") == 8192u);
  // -1: zstd only.
  BOOST_REQUIRE(run_lmz({"-1", "--local", "-f", "t"}, in_dir(dir.path())).exit_code == 0);
  BOOST_TEST(info_of(dir, "t.lmz").get<uint64_t>("codecs.neural") == 0u);
  // Levels out of range are named.
  for (const char* bad : {"-20", "-0", "-123"}) {
    RunResult r = run_lmz({bad, "t"}, in_dir(dir.path()));
    BOOST_TEST(r.exit_code == 1, bad << ": " << describe(r));
    BOOST_TEST(r.err.find("levels are -1 to -19") != std::string::npos, r.err);
  }
}

BOOST_AUTO_TEST_CASE(neural_levels_name_their_model) {
  if (!engine_built()) return;
  TempDir dir;
  write_file(dir / "tiny.txt", "hello world\n");  // stored: the model is named, never run
  for (const auto& [level, model] : std::vector<std::pair<std::string, std::string>>{
           {"-10", "small"}, {"-19", "large"}, {"--best", "large"}}) {
    RunResult r = run_lmz({level, "--models-dir", models_dir(), "--local", "-f", "-v", "tiny.txt"},
                          in_dir(dir.path()));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, level << ": " << describe(r));
    BOOST_TEST(r.err.find("model " + model) != std::string::npos, r.err);  // -v names it
    BOOST_TEST(info_of(dir, "tiny.txt.lmz")
                   .get_child("members")
                   .front()
                   .second.get<std::string>("model.name") == model);
  }
}

// The most threads lmz had alive at once besides its main thread, counted
// by the preloaded shim (thread_count_shim.cc).
int most_threads(const TempDir& dir, std::vector<std::string> args) {
  RunOptions options = in_dir(dir.path());
  options.env["LD_PRELOAD"] = LMZ_THREAD_SHIM;
  options.env["LMZ_THREAD_LOG"] = (dir / "threads").string();
  // A sanitized lmz accepts a preloaded library only when told to.
  const char* asan = std::getenv("ASAN_OPTIONS");
  options.env["ASAN_OPTIONS"] =
      std::string(asan != nullptr ? asan : "") + ":verify_asan_link_order=0";
  RunResult r = run_lmz(args, options);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  return std::stoi(read_file(dir / "threads"));
}

BOOST_AUTO_TEST_CASE(threads_bound_every_thread_lmz_starts) {
  TempDir dir;
  // 64 windows of 4 KiB in 2 blocks: work for many threads.
  write_file(dir / "t", english_text(256 << 10, 2) + log_text(100'000, 3));
  const std::vector<std::string> base = {"--local",      "-f",   "--model",       "order2",
                                         "--block-size", "128K", "--window-size", "4K",
                                         "-c",           "t"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), base.begin(), base.end());
    return extra;
  };
  BOOST_TEST(most_threads(dir, with({"-T1"})) == 0);  // all on the main thread
  BOOST_TEST(most_threads(dir, with({"--threads=3"})) <= 3);
  BOOST_TEST(most_threads(dir, with({"-T", "2"})) <= 2);
  BOOST_TEST(most_threads(dir, with({"-T", "4"})) > 0);  // it does use threads
  // Decompression too.
  RunResult c = run_lmz(with({}), in_dir(dir.path()));
  BOOST_REQUIRE(c.exit_code == 0);
  write_file(dir / "t.lmz", c.out);
  BOOST_TEST(most_threads(dir, {"-T1", "-t", "t.lmz"}) == 0);
  // And with the neural engine and libtorch loaded.
  if (engine_built()) {
    write_file(dir / "p", english_text(40'000, 4));
    BOOST_TEST(most_threads(dir, {"-T1", "--local", "--models-dir", models_dir(), "--model", "tiny",
                                  "--window-size", "4K", "-c", "p"}) == 0);
    BOOST_TEST(most_threads(dir, {"-T2", "--local", "--models-dir", models_dir(), "--model", "tiny",
                                  "--window-size", "4K", "-c", "p"}) <= 2);
  }
  RunResult bad = run_lmz({"-T", "many", "t"}, in_dir(dir.path()));
  BOOST_TEST(bad.exit_code == 1, describe(bad));
  BOOST_TEST(bad.err.find("-T") != std::string::npos, bad.err);
}

BOOST_AUTO_TEST_CASE(option_forms_and_messages) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--threads=x"}, "--threads must be an integer"},
           {{"--no-such=3"}, "unknown option '--no-such'"},
           {{"--no-such"}, "unknown option '--no-such'"},
           {{"--quiet=1"}, "--quiet takes no value"},
           {{"--block-size", "128M"}, "between 1 and 64M"},
           {{"--block-size=0"}, "between 1 and 64M"},
       }) {
    RunResult r = run_lmz(c.args, with_stdin("x"));
    BOOST_TEST(r.exit_code == 1, c.args[0] << ": " << describe(r));
    BOOST_TEST(r.err.find(c.message) != std::string::npos, c.args[0] << ": " << r.err);
  }
  // --block-size at its real limit works.
  RunResult max = run_lmz({"--block-size", "64M", "--model", "order2", "-c"}, with_stdin("x"));
  BOOST_TEST(max.exit_code == 0, describe(max));
}

BOOST_AUTO_TEST_CASE(info_command_and_a_file_named_info) {
  TempDir dir;
  write_file(dir / "info", english_text(2000, 5));
  RunResult alone = run_lmz({"info"}, in_dir(dir.path()));
  BOOST_TEST(alone.exit_code == 1, describe(alone));
  BOOST_TEST(alone.err.find("./info") != std::string::npos, alone.err);
  RunResult c = run_lmz({"--model", "order2", "--", "info"}, in_dir(dir.path()));
  BOOST_TEST(c.exit_code == 0, describe(c));
  BOOST_TEST(fs::exists(dir / "info.lmz"));
  RunResult l = run_lmz({"info", "info.lmz"}, in_dir(dir.path()));
  BOOST_TEST(l.exit_code == 0, describe(l));
}

BOOST_AUTO_TEST_CASE(list_verbosity_plurals_and_no_daemon_probe) {
  TempDir dir;
  write_file(dir / "one", english_text(3000, 6));
  BOOST_REQUIRE(run_lmz({"--model", "order2", "one"}, in_dir(dir.path())).exit_code == 0);
  RunResult l = run_lmz({"-l", "one.lmz"}, in_dir(dir.path()));
  RunResult v = run_lmz({"-l", "-v", "one.lmz"}, in_dir(dir.path()));
  RunResult vv = run_lmz({"-l", "-vv", "one.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE(l.exit_code == 0 && v.exit_code == 0 && vv.exit_code == 0);
  BOOST_TEST(v.out.size() > l.out.size(), v.out);
  BOOST_TEST(vv.out.size() > v.out.size(), vv.out);
  BOOST_TEST(vv.out.find("block 0:") != std::string::npos, vv.out);
  BOOST_TEST(v.out.find("block 0:") == std::string::npos, v.out);
  for (const std::string& text : {l.out, v.out, vv.out}) {
    BOOST_TEST(text.find("1 blocks") == std::string::npos, text);
    BOOST_TEST(text.find("1 windows") == std::string::npos, text);
  }
  BOOST_TEST(v.out.find("1 block ") != std::string::npos, v.out);
  // -l reads the file only: lmzd is never asked (at -vv a probe says so).
  BOOST_TEST(vv.err.find("lmzd") == std::string::npos, vv.err);
  RunResult summary = run_lmz({"--model", "order2", "-f", "-v", "one"}, in_dir(dir.path()));
  BOOST_TEST(summary.err.find("1 block ") != std::string::npos, summary.err);
  BOOST_TEST(summary.err.find("1 blocks") == std::string::npos, summary.err);
  BOOST_TEST(summary.err.find("model order2") != std::string::npos, summary.err);
}

BOOST_AUTO_TEST_CASE(truncation_message_is_readable) {
  TempDir dir;
  write_file(dir / "t", random_bytes(20'000, 7));
  BOOST_REQUIRE(run_lmz({"--model", "order2", "t"}, in_dir(dir.path())).exit_code == 0);
  Blob archive = read_file(dir / "t.lmz");
  RunResult r = run_lmz({"-dc"}, with_stdin(archive.substr(0, archive.size() / 2)));
  BOOST_TEST(r.exit_code == 2, describe(r));
  BOOST_TEST(r.err.find("the payload of block 0") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("bytes short") != std::string::npos, r.err);
}

// A codec whose windows code to one byte each and whose model name holds
// terminal escape sequences: its archives have neural blocks that name a
// model nobody has.
class HostileNameCodec final : public WindowCodec {
 public:
  const ModelId& model() const override { return id_; }
  StageId stage() const override { return 0; }
  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    return std::vector<Bytes>(windows.size(), Bytes{0});
  }
  void decode(std::span<const EncodedWindowView>, std::span<const MutableByteView>) override {}

 private:
  ModelId id_{
      "evil\x1b]0;owned\x07\x1b[2J\x9b"
      "31m",
      Hash128{1, 2}};
};

BOOST_AUTO_TEST_CASE(names_from_an_archive_are_escaped) {
  TempDir dir;
  HostileNameCodec codec;
  WriterOptions options;
  // Text zstd cannot shrink much, which the one-byte windows beat.
  Blob text = english_text(3000, 9);
  Bytes archive = compress_buffer(
      ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()), codec, options);
  write_file(dir / "evil.lmz", Blob(archive.begin(), archive.end()));
  RunResult l = run_lmz({"-l", "-vv", "evil.lmz"}, in_dir(dir.path()));
  BOOST_REQUIRE_MESSAGE(l.exit_code == 0, describe(l));
  BOOST_TEST(l.out.find('\x1b') == std::string::npos);
  BOOST_TEST(l.out.find('\x07') == std::string::npos);
  BOOST_TEST(l.out.find("evil\\x1b]0;owned\\x07") != std::string::npos, l.out);
  BOOST_TEST(l.out.find("\\x9b31m") != std::string::npos, l.out);
  // The error that names the missing model, too.
  RunResult d = run_lmz({"-dc", "evil.lmz"}, in_dir(dir.path()));
  BOOST_TEST(d.exit_code == 3, describe(d));
  BOOST_TEST(d.err.find('\x1b') == std::string::npos);
  BOOST_TEST(d.err.find("evil\\x1b") != std::string::npos, d.err);
  // JSON keeps it exact, as \u escapes.
  RunResult j = run_lmz({"-l", "--json", "evil.lmz"}, in_dir(dir.path()));
  BOOST_TEST(j.out.find('\x1b') == std::string::npos);
  BOOST_TEST(j.out.find("\\u001b") != std::string::npos, j.out);
}

BOOST_AUTO_TEST_CASE(tiny_inputs_never_load_the_engine) {
  if (!engine_built()) return;
  TempDir dir;
  write_file(dir / "twelve.txt", "hello world\n");
  auto rss = [&](const std::string& model) {
    RunResult r =
        run_lmz({"--models-dir", models_dir(), "--model", model, "--local", "-f", "twelve.txt"},
                in_dir(dir.path()));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
    return r.max_rss_kb;
  };
  const long standin = rss("order2");
  const Blob standin_archive = read_file(dir / "twelve.txt.lmz");
  const long small = rss("small");
  // libtorch and the model would add over 150 MB.
  BOOST_TEST(small < standin + 50'000, small << " KiB vs " << standin);
  RunResult d =
      run_lmz({"-dc", "--models-dir", models_dir(), "twelve.txt.lmz"}, in_dir(dir.path()));
  BOOST_TEST(d.out == "hello world\n");
  BOOST_TEST(d.max_rss_kb < standin + 50'000);
}

}  // namespace
}  // namespace lmz::cli_test
