#include "tests/reliability/bounded_child.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>
#include <string>

namespace lmz::test {
namespace {

long status_field_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') {
      return std::stol(line.substr(n + 1));
    }
  }
  return -1;
}

// Writes all of `text` to `fd` (the child's report pipe).
void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

long vm_hwm_kib(pid_t pid) {
  return status_field_kib(pid, "VmHWM");
}
long vm_rss_kib(pid_t pid) {
  return status_field_kib(pid, "VmRSS");
}

bool reset_hwm(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

long open_fds(pid_t pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  long n = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

ChildOutcome run_bounded(const std::function<void()>& body,
                         const std::function<bool(const std::exception&)>& is_expected,
                         size_t headroom_bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    long vm_kib = status_field_kib(::getpid(), "VmSize");
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(vm_kib) * 1024 + headroom_bytes;
    ::setrlimit(RLIMIT_AS, &limit);
    bool have_hwm = reset_hwm(::getpid());
    long before = vm_rss_kib(::getpid());
    int kind = ChildOutcome::kReturned;
    std::string message;
    try {
      body();
    } catch (const std::bad_alloc& e) {
      kind = ChildOutcome::kBadAlloc;
      message = e.what();
    } catch (const std::exception& e) {
      kind = is_expected(e) ? ChildOutcome::kThrewExpected : ChildOutcome::kOtherException;
      message = e.what();
    }
    long growth = have_hwm ? vm_hwm_kib(::getpid()) - before : -1;
    write_all(fds[1], std::to_string(kind) + "\n" + std::to_string(growth) + "\n" + message);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ChildOutcome out;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || report.empty()) {
    out.kind = ChildOutcome::kCrashed;
    out.message = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                      : "exited without a report";
    return out;
  }
  std::istringstream in(report);
  int kind = 0;
  in >> kind >> out.hwm_growth_kib;
  in.get();
  std::getline(in, out.message, '\0');
  out.kind = static_cast<ChildOutcome::Kind>(kind);
  return out;
}

std::string describe(const ChildOutcome& o) {
  static const char* const kNames[] = {"threw the expected error", "returned without an error",
                                       "ran out of memory (std::bad_alloc)",
                                       "threw an unexpected exception", "crashed"};
  return std::string(kNames[o.kind]) + " (" + o.message + "), VmHWM grew by " +
         std::to_string(o.hwm_growth_kib) + " KiB";
}

}  // namespace lmz::test
