#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cli/listing.h"

namespace lmz::cli {
namespace {

// Standard error is one terminal for the whole process: this lock orders
// the progress line and every message (the only process-wide state of the
// CLI besides the signal handler's).
std::mutex g_stderr_mutex;
bool g_line_drawn = false;  // guarded by g_stderr_mutex

constexpr char kErase[] = "\r\x1b[K";

void write_all(int fd, const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) return;  // best effort: a failed message must not fail the job
    p += n;
    left -= static_cast<size_t>(n);
  }
}

size_t terminal_width(int fd) {
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

std::string rate_text(double bytes_per_second) {
  return human_size(static_cast<uint64_t>(std::llround(std::max(0.0, bytes_per_second)))) + "/s";
}

}  // namespace

std::string human_size(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.{}f} {}", value, value < 10 ? 2 : 1, units[unit]);
}

std::string human_duration(double seconds) {
  auto s = static_cast<uint64_t>(std::max(0.0, std::ceil(seconds)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

void print_stderr_line(const std::string& line) {
  std::string text = "lmz: " + escape_for_terminal(line) + "\n";
  std::lock_guard lock(g_stderr_mutex);
  if (g_line_drawn) {
    text.insert(0, kErase);
    g_line_drawn = false;
  }
  write_all(STDERR_FILENO, text);
}

bool progress_wanted(ProgressUse use, int verbosity, bool data_to_stdout, int stderr_fd) {
  if (use == ProgressUse::kNever || verbosity == 0 || !isatty(stderr_fd)) return false;
  if (use == ProgressUse::kAlways) return true;
  // Data on standard output goes to a pager, a pipe's reader or the
  // terminal itself, which may all share the terminal of standard error.
  return !data_to_stdout;
}

std::string progress_line(const ProgressSnapshot& s) {
  std::string line = fmt::format("lmz: {}: ", escape_for_terminal(s.label));
  const uint64_t done = s.total > 0 ? std::min(s.done, s.total) : s.done;
  if (s.total > 0) {
    double percent = 100.0 * static_cast<double>(done) / static_cast<double>(s.total);
    line +=
        fmt::format("{:.0f}% {} of {}", std::floor(percent), human_size(done), human_size(s.total));
  } else {
    line += human_size(done);
  }
  if (s.decoding) {
    line += " decoded";
  } else {
    line += " -> " + human_size(s.output);
    if (done > 0 && s.output > 0) {
      line += fmt::format(" ({:.1f}%)",
                          100.0 * static_cast<double>(s.output) / static_cast<double>(done));
    }
  }
  if (s.seconds > 0) {
    double rate = static_cast<double>(done) / s.seconds;
    line += ", " + rate_text(rate);
    if (s.total > 0 && done > 0 && rate > 0) {
      line += ", ETA " + human_duration(static_cast<double>(s.total - done) / rate);
    }
  }
  if (s.width > 1 && line.size() > s.width - 1) line.resize(s.width - 1);
  return line;
}

uint64_t DoneCounter::done(uint64_t meter, uint64_t read_limit, uint64_t total) {
  uint64_t in_flight = meter >= meter_at_blocks_ ? meter - meter_at_blocks_ : 0;
  uint64_t done = std::min(blocks_raw_ + in_flight, read_limit);
  if (total > 0) done = std::min(done, total);
  shown_ = std::max(shown_, done);
  return shown_;
}

Progress::Progress(bool enabled, std::string label, bool decoding, uint64_t total,
                   const WorkMeter* meter)
    : enabled_(enabled),
      label_(std::move(label)),
      decoding_(decoding),
      total_(total),
      meter_(meter),
      start_(Clock::now()) {
  if (!enabled_) return;
  done_.blocks_done(0, meter_now());
  thread_ = std::thread([this] { run(); });
}

Progress::~Progress() {
  clear();
}

void Progress::blocks_done(uint64_t raw, uint64_t output) {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  done_.blocks_done(raw, meter_now());
  output_ = output;
}

void Progress::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (stop_) break;
    double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    if (seconds < 0.5) continue;
    ProgressSnapshot s;
    s.label = label_;
    s.decoding = decoding_;
    s.done = done_.done(meter_now(), decoding_ ? UINT64_MAX : read_.load(std::memory_order_relaxed),
                        total_);
    s.total = total_;
    s.output = output_;
    s.seconds = seconds;
    s.width = terminal_width(STDERR_FILENO);
    std::string text = kErase + progress_line(s);
    std::lock_guard out(g_stderr_mutex);
    write_all(STDERR_FILENO, text);
    g_line_drawn = true;
  }
}

void Progress::clear() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard out(g_stderr_mutex);
  if (g_line_drawn) {
    write_all(STDERR_FILENO, kErase);
    g_line_drawn = false;
  }
}

}  // namespace lmz::cli
