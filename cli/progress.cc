#include "cli/progress.h"

#include <unistd.h>

#include <fmt/format.h>

namespace lmz::cli {

std::string human_size(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 3) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.{}f} {}", value, value < 10 ? 2 : 1, units[unit]);
}

Progress::Progress(bool enabled, std::string label, uint64_t total)
    : enabled_(enabled), label_(std::move(label)), total_(total), start_(Clock::now()) {
  if (enabled_) thread_ = std::thread([this] { run(); });
}

Progress::~Progress() {
  clear();
}

void Progress::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (stop_) break;
    if (Clock::now() - start_ >= std::chrono::milliseconds(500)) draw();
  }
  if (drawn_) {
    static const char kErase[] = "\r\x1b[K";
    if (::write(STDERR_FILENO, kErase, sizeof(kErase) - 1) < 0) {
      // The terminal went away: nothing to erase.
    }
  }
}

void Progress::draw() {
  uint64_t in = in_.load(std::memory_order_relaxed);
  uint64_t out = out_.load(std::memory_order_relaxed);
  double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string done =
      total_ > 0
          ? fmt::format("{:3.0f}% ", 100.0 * static_cast<double>(in) / static_cast<double>(total_))
          : std::string();
  std::string ratio =
      in > 0 && out > 0
          ? fmt::format(" ({:.2f}%)", 100.0 * static_cast<double>(out) / static_cast<double>(in))
          : std::string();
  std::string line = fmt::format("\rlmz: {}: {}{} -> {}{}, {:.1f} s\x1b[K", label_, done,
                                 human_size(in), human_size(out), ratio, seconds);
  // Best effort: a failed write to the terminal must not fail the job.
  if (::write(STDERR_FILENO, line.data(), line.size()) < 0) {
    stop_ = true;
    return;
  }
  drawn_ = true;
}

void Progress::clear() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

}  // namespace lmz::cli
