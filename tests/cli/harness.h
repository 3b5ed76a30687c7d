// Runs the built `lmz` binary (LMZ_CLI_PATH) in a scratch directory and
// captures its exit status, standard output and standard error. Shared by
// the CLI integration tests. Its namespace is not lmz::test so that a test
// can link it together with the lmzd test harness (tests/daemon/harness.h).
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lmz::cli_test {

using Blob = std::string;  // file contents, any bytes

struct RunOptions {
  std::filesystem::path cwd;        // empty: the current directory
  std::optional<Blob> stdin_data;   // absent: /dev/null
  bool stdout_is_terminal = false;  // attach a pseudo-terminal as stdout
  bool stdin_is_terminal = false;   // attach a pseudo-terminal as stdin
  // Attach a pseudo-terminal as stderr (of 80 columns); RunResult::err is
  // then everything written to it, escape sequences included. With
  // stdout_is_terminal too, both are the same terminal.
  bool stderr_is_terminal = false;
  // Standard output opened from this path (a FIFO the test reads, say)
  // instead of a file of the harness; RunResult::out is then empty.
  std::filesystem::path stdout_path;
  // Environment variables to set, replacing inherited ones. Unless set
  // here, LMZ_SOCKET names a path where no daemon listens, so that the tests
  // never depend on an lmzd that happens to run on the machine.
  std::map<std::string, std::string> env;
};

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal
  Blob out;
  std::string err;
  long max_rss_kb = 0;  // the process's peak resident memory
};

inline RunOptions in_dir(const std::filesystem::path& cwd) {
  RunOptions options;
  options.cwd = cwd;
  return options;
}
inline RunOptions with_stdin(Blob data) {
  RunOptions options;
  options.stdin_data = std::move(data);
  return options;
}

// The lmz binary the tests run: $LMZ_TEST_LMZ when set (to run the tests
// against another build, e.g. an older one), else LMZ_CLI_PATH.
std::string lmz_path();

// Runs lmz with `args` (without argv[0]).
RunResult run_lmz(const std::vector<std::string>& args, const RunOptions& options = {});

// A running lmz, for tests that act while it runs (a FIFO it writes into,
// a terminal it draws on). The destructor kills it if still running.
class LmzProcess {
 public:
  LmzProcess(const std::vector<std::string>& args, const RunOptions& options = {});
  ~LmzProcess();
  LmzProcess(const LmzProcess&) = delete;
  LmzProcess& operator=(const LmzProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until what lmz wrote to its terminal (stderr_is_terminal)
  // contains `text` after the first `from` bytes; returns false when lmz
  // closed the terminal first or `timeout_s` passed (a generous bound: the
  // tests wait for events, not for time).
  bool wait_for_terminal(const std::string& text, size_t from = 0, int timeout_s = 300);
  // Everything written to the terminal so far.
  std::string terminal() const;
  // Waits for lmz to exit.
  RunResult wait();

 private:
  struct State;
  std::unique_ptr<State> state_;
  pid_t pid_ = -1;
};

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Names of the files in the directory, sorted.
  std::vector<std::string> list() const;

 private:
  std::filesystem::path path_;
};

Blob read_file(const std::filesystem::path& path);
// Reads `fd` to its end (EOF or an error) and closes it.
Blob read_to_end(int fd);
// Opens the FIFO `path` for reading (waiting for its writer) and reads it
// to the end.
Blob read_fifo(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const Blob& data);

// Deterministic test data.
Blob random_bytes(size_t size, uint64_t seed);
Blob english_text(size_t size, uint64_t seed);  // words, punctuation, lines
Blob log_text(size_t size, uint64_t seed);      // timestamped log lines

// The held-out corpora directory: $LMZ_CORPORA_DIR/heldout, else
// LMZ_CORPORA_DIR (compile definition)/heldout. Empty when it does not exist.
std::filesystem::path heldout_corpora_dir();

// A short description of a run for failure messages.
std::string describe(const RunResult& result);

}  // namespace lmz::cli_test
