#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace lmz::cli_test {
namespace {

// Opens a pseudo-terminal; returns the master and sets `slave_name`.
int open_pty(std::string& slave_name) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    throw std::runtime_error("cannot open a pseudo-terminal");
  }
  slave_name = ptsname(master);
  return master;
}

[[noreturn]] void child_fail(const char* what) {
  // Only async-signal-safe calls between fork and exec.
  ssize_t ignored = write(STDERR_FILENO, what, std::strlen(what));
  (void)ignored;
  _exit(127);
}

}  // namespace

std::string lmz_path() {
  const char* env = std::getenv("LMZ_TEST_LMZ");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(LMZ_CLI_PATH);
}

struct LmzProcess::State {
  TempDir io;
  RunOptions options;
  int master = -1;
  std::thread reader;
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string terminal;  // guarded by mutex
  bool closed = false;   // guarded by mutex
  bool waited = false;
  RunResult result;
};

LmzProcess::LmzProcess(const std::vector<std::string>& args, const RunOptions& options)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  st.options = options;
  auto in_path = st.io / "stdin";
  auto out_path = st.io / "stdout";
  auto err_path = st.io / "stderr";
  if (options.stdin_data) write_file(in_path, *options.stdin_data);
  std::string slave_name;
  if (options.stdout_is_terminal || options.stdin_is_terminal || options.stderr_is_terminal) {
    st.master = open_pty(slave_name);
    struct winsize ws {};
    ws.ws_col = 80;
    ws.ws_row = 24;
    ioctl(st.master, TIOCSWINSZ, &ws);
  }

  std::vector<std::string> argv_storage;
  argv_storage.push_back(lmz_path());
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  std::map<std::string, std::string> env = options.env;
  env.emplace("LMZ_SOCKET", (st.io / "no-daemon.sock").string());
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (env.count(std::string(entry.substr(0, entry.find('=')))) == 0) {
      env_storage.emplace_back(entry);
    }
  }
  for (const auto& [k, v] : env) env_storage.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string cwd = options.cwd.string();
  std::string in_name = options.stdin_data ? in_path.string() : std::string("/dev/null");
  std::string out_name = out_path.string();
  std::string err_name = err_path.string();
  std::string stdout_path = options.stdout_path.string();

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) child_fail("chdir failed\n");
    int in = open(options.stdin_is_terminal ? slave_name.c_str() : in_name.c_str(), O_RDONLY);
    int out = options.stdout_is_terminal ? open(slave_name.c_str(), O_WRONLY)
              : !stdout_path.empty()     ? open(stdout_path.c_str(), O_WRONLY)
                                     : open(out_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = options.stderr_is_terminal
                  ? open(slave_name.c_str(), O_WRONLY)
                  : open(err_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) child_fail("cannot open the child's stdio\n");
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    child_fail("exec of lmz failed\n");
  }
  if (st.master >= 0) {
    // Drains the terminal (a full one would stop lmz) until lmz closed it.
    st.reader = std::thread([&st] {
      char buffer[4096];
      for (;;) {
        ssize_t n = read(st.master, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard lock(st.mutex);
        if (n <= 0) {
          st.closed = true;
          st.changed.notify_all();
          return;
        }
        st.terminal.append(buffer, static_cast<size_t>(n));
        st.changed.notify_all();
      }
    });
  }
}

LmzProcess::~LmzProcess() {
  if (!state_->waited && pid_ > 0) {
    kill(pid_, SIGKILL);
    try {
      wait();
    } catch (...) {
    }
  }
}

bool LmzProcess::wait_for_terminal(const std::string& text, size_t from, int timeout_s) {
  State& st = *state_;
  std::unique_lock lock(st.mutex);
  return st.changed.wait_for(lock, std::chrono::seconds(timeout_s),
                             [&] {
                               return (st.terminal.size() > from &&
                                       st.terminal.find(text, from) != std::string::npos) ||
                                      st.closed;
                             }) &&
         st.terminal.size() > from && st.terminal.find(text, from) != std::string::npos;
}

std::string LmzProcess::terminal() const {
  std::lock_guard lock(state_->mutex);
  return state_->terminal;
}

RunResult LmzProcess::wait() {
  State& st = *state_;
  if (st.waited) return st.result;
  int status = 0;
  struct rusage usage {};
  while (wait4(pid_, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw std::runtime_error("wait4 failed");
  }
  st.waited = true;
  if (st.reader.joinable()) st.reader.join();
  if (st.master >= 0) close(st.master);
  RunResult& result = st.result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.max_rss_kb = usage.ru_maxrss;
  if (!st.options.stdout_is_terminal && st.options.stdout_path.empty()) {
    result.out = read_file(st.io / "stdout");
  }
  result.err = st.options.stderr_is_terminal ? terminal() : read_file(st.io / "stderr");
  return result;
}

RunResult run_lmz(const std::vector<std::string>& args, const RunOptions& options) {
  LmzProcess process(args, options);
  return process.wait();
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/lmz-cli-test.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> TempDir::list() const {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(path_)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Blob read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

Blob read_to_end(int fd) {
  Blob data;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

Blob read_fifo(const std::filesystem::path& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error("cannot open " + path.string());
  return read_to_end(fd);
}

void write_file(const std::filesystem::path& path, const Blob& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

Blob random_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Blob data(size, '\0');
  for (auto& c : data) c = static_cast<char>(rng() & 0xff);
  return data;
}

Blob english_text(size_t size, uint64_t seed) {
  static const char* kWords[] = {
      "the",      "of",      "and",   "to",     "in",         "a",       "is",     "that",
      "for",      "it",      "as",    "was",    "with",       "be",      "by",     "on",
      "not",      "he",      "this",  "are",    "or",         "his",     "from",   "at",
      "which",    "but",     "have",  "an",     "had",        "they",    "you",    "were",
      "compress", "archive", "model", "window", "language",   "stream",  "block",  "decoder",
      "river",    "morning", "light", "city",   "government", "history", "people", "between"};
  std::mt19937_64 rng(seed);
  Blob text;
  bool capital = true;
  while (text.size() < size) {
    std::string word = kWords[rng() % std::size(kWords)];
    if (capital) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    capital = false;
    text += word;
    uint64_t r = rng() % 20;
    if (r == 0) {
      text += ".\n";
      capital = true;
    } else if (r < 3) {
      text += ". ";
      capital = true;
    } else if (r == 3) {
      text += ", ";
    } else {
      text += " ";
    }
  }
  text.resize(size);
  return text;
}

Blob log_text(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  static const char* kEvents[] = {"Accepted publickey for", "Failed password for",
                                  "Connection closed by", "session opened for user",
                                  "Received disconnect from"};
  Blob text;
  uint64_t second = 0;
  while (text.size() < size) {
    second += rng() % 5;
    char line[200];
    std::snprintf(
        line, sizeof line, "Dec %2u %02u:%02u:%02u host sshd[%u]: %s user%u from 10.0.%u.%u\n",
        static_cast<unsigned>(10 + second / 86400 % 20), static_cast<unsigned>(second / 3600 % 24),
        static_cast<unsigned>(second / 60 % 60), static_cast<unsigned>(second % 60),
        static_cast<unsigned>(1000 + rng() % 30000), kEvents[rng() % std::size(kEvents)],
        static_cast<unsigned>(rng() % 50), static_cast<unsigned>(rng() % 256),
        static_cast<unsigned>(rng() % 256));
    text += line;
  }
  text.resize(size);
  return text;
}

std::filesystem::path heldout_corpora_dir() {
  const char* env = std::getenv("LMZ_CORPORA_DIR");
  std::filesystem::path base = env != nullptr && *env != '\0' ? env : LMZ_CORPORA_DIR;
  std::error_code ec;
  auto dir = base / "heldout";
  return std::filesystem::is_directory(dir, ec) ? dir : std::filesystem::path();
}

std::string describe(const RunResult& result) {
  std::ostringstream s;
  s << "exit " << result.exit_code << ", " << result.out.size() << " bytes on stdout, stderr: \""
    << result.err << "\"";
  return s.str();
}

}  // namespace lmz::cli_test
