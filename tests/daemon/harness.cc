#include "tests/daemon/harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "libcodec/errors.h"

namespace lmz::test {
namespace {

sockaddr_un unix_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string s = path.string();
  if (s.size() >= sizeof(addr.sun_path)) throw std::runtime_error("socket path too long: " + s);
  std::memcpy(addr.sun_path, s.data(), s.size());
  return addr;
}

// Writes the decimal digits of `v` into `out` (async-signal-safe).
void format_uint(char* out, unsigned long v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lmzd-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

LmzdProcess::LmzdProcess(const TempDir& dir, std::vector<std::string> args, int listen_fd) {
  static int counter = 0;
  ++counter;
  log_path_ = dir.path() / ("lmzd-" + std::to_string(counter) + ".log");
  auto notify_path = dir.path() / ("notify-" + std::to_string(counter) + ".sock");
  int notify = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = unix_address(notify_path);
  if (notify < 0 || ::bind(notify, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("cannot bind the notify socket");
  }

  // Everything the child needs is prepared before fork().
  std::vector<std::string> argv_strings;
  argv_strings.push_back(LMZD_PATH);
  for (auto& a : args) argv_strings.push_back(a);
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.rfind("LISTEN_", 0) == 0 || v.rfind("NOTIFY_SOCKET=", 0) == 0) continue;
    env_strings.emplace_back(v);
  }
  env_strings.push_back("NOTIFY_SOCKET=" + notify_path.string());
  if (listen_fd >= 0) env_strings.push_back("LISTEN_FDS=1");
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  char listen_pid[64] = "LISTEN_PID=";
  if (listen_fd >= 0) envp.push_back(listen_pid);
  envp.push_back(nullptr);
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot create " + log_path_.string());

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(log_fd, STDERR_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    if (listen_fd >= 0) {
      if (listen_fd != 3) ::dup2(listen_fd, 3);
      ::fcntl(3, F_SETFD, 0);  // keep it across exec
      format_uint(listen_pid + std::strlen("LISTEN_PID="), static_cast<unsigned long>(::getpid()));
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);

  // Wait for READY=1, or for lmzd to die trying.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline) {
    pollfd p{notify, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[4096];
      ssize_t n = ::recv(notify, buf, sizeof(buf) - 1, 0);
      if (n > 0) {
        buf[n] = '\0';
        if (std::strstr(buf, "READY=1") != nullptr) ready = true;
      }
      continue;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      break;
    }
  }
  ::close(notify);
  if (!ready) {
    throw std::runtime_error("lmzd did not become ready; its log:\n" + log());
  }
}

LmzdProcess::~LmzdProcess() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void LmzdProcess::signal(int signo) {
  ::kill(pid_, signo);
}

std::optional<int> LmzdProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

std::string LmzdProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lmzd_args(const std::filesystem::path& socket,
                                   std::vector<std::string> extra) {
  std::vector<std::string> args = {"--socket", socket.string(), "--model",   "order2",
                                   "--device", "cpu",           "--workers", "24"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

RawConnection::RawConnection(const std::filesystem::path& socket) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = unix_address(socket);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw std::runtime_error("cannot connect to " + socket.string() + ": " + std::strerror(errno));
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void RawConnection::send_bytes(ByteView bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) throw IoError(std::string("send failed: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

void RawConnection::send_frame(proto::FrameType type, uint32_t id, ByteView payload) {
  send_bytes(proto::make_frame(type, id, payload));
}

proto::Welcome RawConnection::handshake() {
  send_frame(proto::FrameType::kHello, 0, proto::encode_hello(proto::Hello{}));
  auto f = read_frame();
  if (!f || f->header.type != proto::FrameType::kWelcome) throw std::runtime_error("no WELCOME");
  return proto::decode_welcome(f->payload);
}

bool RawConnection::read_exact(uint8_t* out, size_t n,
                               std::chrono::steady_clock::time_point deadline) {
  size_t done = 0;
  while (done < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t r = ::recv(fd_, out + done, n - done, 0);
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

std::optional<RawConnection::Frame> RawConnection::read_frame(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t header[proto::kHeaderSize];
  if (!read_exact(header, sizeof(header), deadline)) return std::nullopt;
  Frame f;
  f.header = proto::decode_header(header);
  if (f.header.length > (64u << 20)) throw std::runtime_error("absurd frame from lmzd");
  f.payload.resize(f.header.length);
  if (!read_exact(f.payload.data(), f.payload.size(), deadline)) return std::nullopt;
  return f;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r == 0) return true;
    if (r < 0) return errno == ECONNRESET;
  }
  return false;
}

Bytes make_input(size_t size, uint64_t seed) {
  static const char* const kWords[] = {"the",    "daemon", "window", "model", "archive", "block",
                                       "stream", "client", "socket", "batch", "error",   "frame",
                                       "byte",   "range",  "coder",  "lmz",   "of",      "and",
                                       "to",     "a",      "in",     "is",    "for",     "with"};
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + 1);
  std::string text;
  text.reserve(size + 64);
  while (text.size() < size) {
    switch (rng() % 4) {
      case 0:
        text += "2026-11-23 19:" + std::to_string(rng() % 60) + ":" + std::to_string(rng() % 60) +
                " host" + std::to_string(seed % 7) + " lmzd[" + std::to_string(rng() % 9999) +
                "]: ";
        break;
      default:
        break;
    }
    int words = 3 + static_cast<int>(rng() % 12);
    for (int i = 0; i < words; ++i) {
      text += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
      text += (rng() % 9 == 0) ? ", " : " ";
    }
    text += std::to_string(rng() % 100000);
    text += ".\n";
  }
  text.resize(size);
  return Bytes(text.begin(), text.end());
}

}  // namespace lmz::test
