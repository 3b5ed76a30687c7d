// The progress line on a real terminal (a pseudo-terminal as lmz's stderr):
// percentage, rate and ETA while compressing and decompressing, erased
// before anything else is written, and never drawn when the data goes to
// standard output. No timing assumptions: lmz is held still by a FIFO it
// writes into, which the test drains only once the line it waits for has
// been drawn.
#define BOOST_TEST_MODULE cli_progress_test
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

namespace lmz::cli_test {
namespace {

namespace fs = std::filesystem;

RunOptions terminal_in(const TempDir& dir) {
  RunOptions options = in_dir(dir.path());
  options.stderr_is_terminal = true;
  return options;
}

constexpr const char* kErase = "\r\x1b[K";

// The last erase comes before the summary line: nothing of the progress
// line is left on the terminal when lmz writes something else.
void check_erased_before(const std::string& terminal, const std::string& summary_start) {
  size_t summary = terminal.rfind(summary_start);
  BOOST_REQUIRE_MESSAGE(summary != std::string::npos, terminal);
  BOOST_TEST(summary >= 4u);
  BOOST_TEST(terminal.compare(summary - 4, 4, kErase) == 0, terminal.substr(summary - 40));
  // After the summary only its own line.
  BOOST_TEST(terminal.find('\r', summary) == terminal.size() - 2, terminal.substr(summary));
}

BOOST_AUTO_TEST_CASE(compression_and_decompression_show_rate_and_eta) {
  TempDir dir;
  // More than one 16 MiB batch, so that the writer has written whole blocks
  // into the FIFO, and is held by it, before it has seen half the input.
  const Blob data = english_text(24 << 20, 1);
  write_file(dir / "t", data);
  BOOST_REQUIRE(mkfifo((dir / "pipe").c_str(), 0600) == 0);
  {
    // Blocks of 64 KiB: some of them fit into the FIFO before it is full.
    LmzProcess lmz({"--local", "--no-neural", "--zstd-level", "1", "--block-size", "64K", "-v",
                    "-f", "-o", "pipe", "t"},
                   terminal_in(dir));
    // Open the FIFO for lmz (it waits for a reader) without draining it.
    int hold = open((dir / "pipe").c_str(), O_RDONLY | O_NONBLOCK);
    BOOST_REQUIRE(hold >= 0);
    BOOST_REQUIRE_MESSAGE(lmz.wait_for_terminal("ETA"), lmz.terminal());
    std::string line = lmz.terminal();
    BOOST_TEST(line.find("lmz: t: ") != std::string::npos, line);
    BOOST_TEST(line.find("% ") != std::string::npos, line);
    BOOST_TEST(line.find("of 24.0 MiB") != std::string::npos, line);
    BOOST_TEST(line.find("/s") != std::string::npos, line);
    BOOST_TEST(line.find("100%") == std::string::npos, line);  // not done: held by the FIFO
    int flags = fcntl(hold, F_GETFL);
    fcntl(hold, F_SETFL, flags & ~O_NONBLOCK);
    Blob archive = read_to_end(hold);
    RunResult r = lmz.wait();
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
    check_erased_before(r.err, "lmz: t: 25165824 bytes");
    write_file(dir / "t.lmz", archive);
  }
  {
    LmzProcess lmz({"--local", "-d", "-v", "-f", "-o", "pipe", "t.lmz"}, terminal_in(dir));
    int hold = open((dir / "pipe").c_str(), O_RDONLY | O_NONBLOCK);
    BOOST_REQUIRE(hold >= 0);
    BOOST_REQUIRE_MESSAGE(lmz.wait_for_terminal("ETA"), lmz.terminal());
    std::string line = lmz.terminal();
    BOOST_TEST(line.find("decoded") != std::string::npos, line);
    BOOST_TEST(line.find("of 24.0 MiB") != std::string::npos, line);
    close(hold);
    Blob back = read_fifo(dir / "pipe");
    RunResult r = lmz.wait();
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
    BOOST_TEST(back.size() + 0 <= data.size());
    check_erased_before(r.err, "lmz: t.lmz: ");
  }
}

// How many times the line was drawn on `terminal`.
size_t draws(const std::string& terminal) {
  size_t n = 0;
  for (size_t at = terminal.find("lmz: t: "); at != std::string::npos;
       at = terminal.find("lmz: t: ", at + 1)) {
    ++n;
  }
  return n;
}

BOOST_AUTO_TEST_CASE(never_drawn_over_data_on_standard_output) {
  TempDir dir;
  write_file(dir / "t", english_text(24 << 20, 2));
  BOOST_REQUIRE(mkfifo((dir / "quiet-out").c_str(), 0600) == 0);
  BOOST_REQUIRE(mkfifo((dir / "forced-out").c_str(), 0600) == 0);
  const std::vector<std::string> job = {"--local", "--no-neural", "--zstd-level", "1", "-c", "t"};
  // The data goes to standard output, a FIFO (as for `lmz -dc x.lmz | less`)
  // that the test holds. The same job with --progress, started after this
  // one, is the clock: once it drew its line three times, the first job
  // had as long to draw and must not have.
  RunOptions quiet_options = terminal_in(dir);
  quiet_options.stdout_path = dir / "quiet-out";
  LmzProcess quiet(job, quiet_options);
  int quiet_out = open((dir / "quiet-out").c_str(), O_RDONLY);
  BOOST_REQUIRE(quiet_out >= 0);
  char first[1];
  BOOST_REQUIRE(read(quiet_out, first, 1) == 1);  // it runs, past its start
  const std::vector<std::string> forced_job = {
      "--progress", "--local", "--no-neural", "--zstd-level", "1", "-c", "t"};
  RunOptions forced_options = terminal_in(dir);
  forced_options.stdout_path = dir / "forced-out";
  LmzProcess forced(forced_job, forced_options);
  int forced_out = open((dir / "forced-out").c_str(), O_RDONLY);
  BOOST_REQUIRE(forced_out >= 0);
  size_t from = 0;
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE_MESSAGE(forced.wait_for_terminal("lmz: t: ", from), forced.terminal());
    from = forced.terminal().rfind("lmz: t: ") + 1;
  }
  BOOST_TEST(draws(forced.terminal()) >= 3u);
  BOOST_TEST(draws(quiet.terminal()) == 0u, quiet.terminal());
  BOOST_TEST(quiet.terminal().find(kErase) == std::string::npos, quiet.terminal());
  close(quiet_out);
  close(forced_out);
  quiet.wait();
  forced.wait();
}

}  // namespace
}  // namespace lmz::cli_test
