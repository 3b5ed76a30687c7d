// Unit tests of the CLI's parts (lmz_cli): option parsing and levels, the
// progress line's text and figures, the decision to draw it (on real
// pseudo-terminals), the escaping of archive text, and the work meter.
#define BOOST_TEST_MODULE cli_units_test
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include "cli/backend.h"
#include "cli/levels.h"
#include "cli/listing.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "libcodec/errors.h"
#include "libcodec/window_codec.h"

namespace lmz::cli {
namespace {

Options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "lmz");
  return parse_options(args);
}

BOOST_AUTO_TEST_CASE(levels_and_threads_parse) {
  BOOST_TEST(*parse({"-19"}).level == 19);
  BOOST_TEST(*parse({"-9"}).level == 9);
  BOOST_TEST(*parse({"-3v"}).level == 3);
  BOOST_TEST(parse({"-3v"}).verbosity == 2);
  BOOST_TEST(*parse({"-v12"}).level == 12);
  BOOST_TEST(*parse({"--fast"}).level == 1);
  BOOST_TEST(*parse({"--best"}).level == 19);
  BOOST_TEST(!parse({"x"}).level.has_value());
  BOOST_TEST(parse({"-e"}).extreme);
  BOOST_TEST(parse({"-T2"}).threads == 2u);
  BOOST_TEST(parse({"-T", "0"}).threads == 0u);
  BOOST_TEST(parse({"--threads=7"}).threads == 7u);
  BOOST_TEST(parse({"--threads", "3"}).threads == 3u);
  BOOST_TEST((parse({"-dT2"}).mode == Mode::kDecompress));
  BOOST_TEST(parse({"-r"}).recursive);
  BOOST_TEST((parse({"--progress"}).progress == ProgressUse::kAlways));
  BOOST_TEST((parse({"--no-progress"}).progress == ProgressUse::kNever));
  BOOST_CHECK_THROW(parse({"-20"}), UsageError);
  BOOST_CHECK_THROW(parse({"-0"}), UsageError);
  BOOST_CHECK_THROW(parse({"-T"}), UsageError);
  BOOST_CHECK_THROW(parse({"-T", "-1"}), UsageError);
  BOOST_CHECK_THROW(parse({"--fast=3"}), UsageError);
  BOOST_CHECK_THROW(parse({"--threads"}), UsageError);
}

BOOST_AUTO_TEST_CASE(level_settings_and_overrides) {
  CodecSettings none = resolve_settings(parse({}));
  BOOST_TEST(none.model.empty());  // the default model rule
  BOOST_TEST(none.stage == default_stage());
  BOOST_TEST(none.writer.window_size == 16384u);
  BOOST_TEST(none.writer.parallel_codecs);
  CodecSettings one = resolve_settings(parse({"-1"}));
  BOOST_TEST(!one.writer.allow_neural);
  BOOST_TEST(one.writer.zstd_level == 3);
  CodecSettings five = resolve_settings(parse({"-5"}));
  BOOST_TEST(five.model == "order2");
  BOOST_TEST(five.writer.window_size == 262144u);
  BOOST_TEST(resolve_settings(parse({"-7"})).writer.block_size == 4194304u);
  CodecSettings eight = resolve_settings(parse({"-8"}));
  BOOST_TEST(eight.model == "small");
  BOOST_TEST(eight.stage == kDirectStage);
  BOOST_TEST(eight.log_stage == default_stage());  // logs keep the mixing stage
  CodecSettings best = resolve_settings(parse({"-19", "-e"}));
  BOOST_TEST(best.model == "large");
  BOOST_TEST(best.log_model == "same");
  CodecSettings over = resolve_settings(
      parse({"--model", "order2", "--window-size", "8K", "-19", "--zstd-level", "5", "-T1"}));
  BOOST_TEST(over.model == "order2");
  BOOST_TEST(over.writer.window_size == 8192u);
  BOOST_TEST(over.writer.zstd_level == 5);
  BOOST_TEST(!over.writer.parallel_codecs);  // -T: no codec beside another
  // A level's 1 MiB windows with smaller blocks are whole blocks.
  BOOST_TEST(resolve_settings(parse({"-6", "--block-size", "64K"})).writer.window_size == 65536u);
  for (int level = kMinLevel; level <= kMaxLevel; ++level) {
    const LevelPreset& p = level_preset(level);
    BOOST_TEST(p.level == level);
    if (level > kMinLevel) {
      // Each level changes something.
      const LevelPreset& q = level_preset(level - 1);
      BOOST_TEST((p.model != q.model || p.mixing_stage != q.mixing_stage ||
                  p.window_size != q.window_size || p.zstd_level != q.zstd_level));
    }
  }
  BOOST_TEST(level_table_text().find("-19") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(progress_line_text) {
  ProgressSnapshot s;
  s.label = "a.log";
  s.done = 4u << 20;
  s.total = 10u << 20;
  s.output = 1u << 20;
  s.seconds = 2.0;
  std::string line = progress_line(s);
  BOOST_TEST(
      line == "lmz: a.log: 40% 4.00 MiB of 10.0 MiB -> 1.00 MiB (25.0%), 2.00 MiB/s, ETA 0:03",
      line);
  // Unknown total (a pipe): no percentage, no ETA.
  s.total = 0;
  line = progress_line(s);
  BOOST_TEST(line.find('%') == line.find("(25.0%)") + 5, line);
  BOOST_TEST(line.find("ETA") == std::string::npos, line);
  // Past 4 GiB and for decoding.
  s.decoding = true;
  s.done = uint64_t{6} << 30;
  s.total = uint64_t{12} << 30;
  s.seconds = 3600;
  line = progress_line(s);
  BOOST_TEST(line.find("50% 6.00 GiB of 12.0 GiB decoded") != std::string::npos, line);
  BOOST_TEST(line.find("ETA 1:00:00") != std::string::npos, line);
  // Nothing done yet: no ETA, no division by zero.
  s.done = 0;
  line = progress_line(s);
  BOOST_TEST(line.find("0% 0 B of") != std::string::npos, line);
  BOOST_TEST(line.find("ETA") == std::string::npos, line);
  // Cut to the terminal, so that "\r" can erase it.
  s.width = 30;
  BOOST_TEST(progress_line(s).size() == 29u);
  // A name that would move the cursor is escaped.
  s.label = "x\x1b[2Jy";
  s.width = 0;
  BOOST_TEST(progress_line(s).find('\x1b') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(done_counts_blocks_and_the_batch_in_progress) {
  DoneCounter c;
  c.blocks_done(0, 100);  // meter at 100 when the job began
  BOOST_TEST(c.done(100, UINT64_MAX, 1000) == 0u);
  BOOST_TEST(c.done(400, UINT64_MAX, 1000) == 300u);  // a batch being coded
  BOOST_TEST(c.done(500, 350, 1000) == 350u);         // never more than was read
  c.blocks_done(200, 500);                            // blocks of that batch written
  BOOST_TEST(c.done(500, UINT64_MAX, 1000) == 350u);  // never backwards
  BOOST_TEST(c.done(900, UINT64_MAX, 1000) == 600u);
  BOOST_TEST(c.done(5000, UINT64_MAX, 1000) == 1000u);  // never past the total
}

BOOST_AUTO_TEST_CASE(drawn_only_on_a_terminal_and_not_over_data) {
  int master = -1;
  int slave = -1;
  BOOST_REQUIRE(openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  int pipe_fds[2];
  BOOST_REQUIRE(pipe(pipe_fds) == 0);
  BOOST_TEST(progress_wanted(ProgressUse::kAuto, 1, false, slave));
  BOOST_TEST(!progress_wanted(ProgressUse::kAuto, 1, true, slave));  // data to stdout
  BOOST_TEST(progress_wanted(ProgressUse::kAlways, 1, true, slave));
  BOOST_TEST(!progress_wanted(ProgressUse::kNever, 1, false, slave));
  BOOST_TEST(!progress_wanted(ProgressUse::kAuto, 0, false, slave));  // -q
  BOOST_TEST(!progress_wanted(ProgressUse::kAlways, 0, false, slave));
  BOOST_TEST(!progress_wanted(ProgressUse::kAuto, 1, false, pipe_fds[1]));  // not a terminal
  BOOST_TEST(!progress_wanted(ProgressUse::kAlways, 1, false, pipe_fds[1]));
  close(master);
  close(slave);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

BOOST_AUTO_TEST_CASE(terminal_and_json_escaping) {
  BOOST_TEST(escape_for_terminal("plain text, été") == "plain text, été");
  BOOST_TEST(escape_for_terminal("a\x1b[31mb") == "a\\x1b[31mb");
  BOOST_TEST(escape_for_terminal("\r\b\x7f") == "\\x0d\\x08\\x7f");
  BOOST_TEST(escape_for_terminal("\xc2\x9b"
                                 "1m") == "\\xc2\\x9b1m");  // C1 CSI
  BOOST_TEST(escape_for_terminal("\x9b"
                                 "1m") == "\\x9b1m");                    // a lone byte
  BOOST_TEST(escape_for_terminal("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  BOOST_TEST(escape_for_terminal("back\\slash") == "back\\\\slash");
  BOOST_TEST(json_string("a\x1b\"") == "\"a\\u001b\\\"\"");
  BOOST_TEST(json_string("\xff") == "\"\\ufffd\"");
  BOOST_TEST(json_string("é") == "\"é\"");
  BOOST_TEST(plural(1, "block", "blocks") == "1 block");
  BOOST_TEST(plural(0, "block", "blocks") == "0 blocks");
}

BOOST_AUTO_TEST_CASE(in_process_codecs_count_their_work) {
  WorkMeter meter;
  BackendOptions options;
  options.model = "order2";
  options.meter = &meter;
  options.threads = 1;
  auto backend = make_in_process_backend(options);
  WindowCodec& codec = backend->compress_codec();
  std::string a(5000, 'a');
  std::string b = "hello, world";
  std::vector<ByteView> windows = {ByteView(reinterpret_cast<const uint8_t*>(a.data()), a.size()),
                                   ByteView(reinterpret_cast<const uint8_t*>(b.data()), b.size())};
  std::vector<Bytes> coded = codec.encode(windows);
  BOOST_TEST(meter.coded() == a.size() + b.size());
  std::vector<EncodedWindowView> views;
  for (size_t i = 0; i < coded.size(); ++i) views.push_back({coded[i], windows[i].size()});
  Bytes out_a(a.size()), out_b(b.size());
  std::vector<MutableByteView> out = {out_a, out_b};
  codec.decode(views, out);
  BOOST_TEST(meter.coded() == 2 * (a.size() + b.size()));
}

}  // namespace
}  // namespace lmz::cli
