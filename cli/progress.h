// A one-line progress display on standard error for long jobs: bytes in,
// bytes out, ratio and elapsed time, redrawn four times per second by a
// small thread (so the line stays alive while a batch of blocks is being
// coded). It stays silent for the first half second (short jobs print
// nothing) and when disabled (-q, or standard error is not a terminal).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace lmz::cli {

class Progress {
 public:
  // `total` is the input size when known, else 0.
  Progress(bool enabled, std::string label, uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Reports `in` bytes consumed and `out` bytes produced so far. Cheap: it
  // only stores the numbers; the drawing thread shows them.
  void update(uint64_t in, uint64_t out) {
    in_.store(in, std::memory_order_relaxed);
    out_.store(out, std::memory_order_relaxed);
  }

  // Stops the drawing and erases the line (if one was drawn).
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  void draw();

  bool enabled_;
  std::string label_;
  uint64_t total_;
  Clock::time_point start_;
  std::atomic<uint64_t> in_{0};
  std::atomic<uint64_t> out_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool drawn_ = false;  // touched only by the drawing thread until it is joined
  std::thread thread_;
};

// "1.5 MiB", "812 B": sizes for humans.
std::string human_size(uint64_t bytes);

}  // namespace lmz::cli
