#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

RunResult run_lmz(const std::vector<std::string>& args, const RunOptions& options) {
  TempDir io;
  auto in_path = io / "stdin";
  auto out_path = io / "stdout";
  auto err_path = io / "stderr";
  if (options.stdin_data) write_file(in_path, *options.stdin_data);
  int master = -1;
  std::string slave_name;
  if (options.stdout_is_terminal || options.stdin_is_terminal) master = open_pty(slave_name);

  std::vector<std::string> argv_storage;
  argv_storage.push_back(LMZ_CLI_PATH);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  std::map<std::string, std::string> env = options.env;
  env.emplace("LMZ_SOCKET", (io / "no-daemon.sock").string());
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

  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) child_fail("chdir failed\n");
    int in = open(options.stdin_is_terminal ? slave_name.c_str() : in_name.c_str(), O_RDONLY);
    int out = options.stdout_is_terminal
                  ? open(slave_name.c_str(), O_WRONLY)
                  : open(out_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) child_fail("cannot open the child's stdio\n");
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    child_fail("exec of lmz failed\n");
  }
  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw std::runtime_error("wait4 failed");
  }
  if (master >= 0) close(master);
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.max_rss_kb = usage.ru_maxrss;
  if (!options.stdout_is_terminal) result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
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
