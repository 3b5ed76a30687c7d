// The progress line on standard error, and every other line lmz writes there.
//
// The line shows how much of the input has been coded (not merely read:
// the writer and the readers gather up to 16 MiB of blocks before coding
// them in one batch), the output so far, the rate and, when the total is
// known, the percentage and an ETA. A small thread redraws it four times a
// second, first after half a second (short jobs print nothing). It is drawn
// only where it cannot garble anything (progress_wanted): standard error is
// a terminal, and lmz's data does not go to standard output, whose reader
// (a pager, `head`, the terminal itself) may share that terminal.
//
// Standard error is one terminal for the whole process, so its lines go
// through one lock: print_stderr_line() erases a drawn progress line before
// it writes, and the line is drawn again at the next tick.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "cli/options.h"

namespace lmz::cli {

// Raw bytes the codecs have coded (encoded or decoded), counted as the work
// happens: per model step in this process, per finished request on lmzd.
// Thread-safe; only ever grows.
class WorkMeter {
 public:
  void add(uint64_t bytes) { coded_.fetch_add(bytes, std::memory_order_relaxed); }
  uint64_t coded() const { return coded_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> coded_{0};
};

// Writes "lmz: " + `line` + "\n" to standard error, first erasing the
// progress line if one is drawn. Control characters in `line` are written
// escaped (listing.h, escape_for_terminal).
void print_stderr_line(const std::string& line);

// Whether to draw a progress line: `use` is --progress/--no-progress,
// `data_to_stdout` whether this job writes its data to standard output.
// Never with -q (verbosity 0) or when `stderr_fd` is not a terminal; in
// auto mode not when the data goes to standard output (a terminal, a pager
// or a pipe whose reader writes to the terminal: the line would garble
// what they show). --progress draws it even then.
bool progress_wanted(ProgressUse use, int verbosity, bool data_to_stdout, int stderr_fd = 2);

// What the line shows at one moment.
struct ProgressSnapshot {
  std::string label;      // the file name
  bool decoding = false;  // decompression or -t: "done" counts output bytes
  uint64_t done = 0;      // raw bytes coded so far
  uint64_t total = 0;     // raw bytes in all, 0 when unknown
  uint64_t output = 0;    // compression: archive bytes written so far
  double seconds = 0;     // since the job started
  size_t width = 0;       // terminal columns, 0 when unknown
};

// The text of the line (no "\r", no erase sequence): e.g.
// "lmz: a.log: 45% 4.50 MiB of 10.0 MiB -> 1.20 MiB (26.7%), 1.25 MiB/s, ETA 0:04".
// The rate is done / seconds; the ETA is (total - done) / rate, shown when
// the total is known and something is done. Cut to `width` - 1 columns.
std::string progress_line(const ProgressSnapshot& s);

// The "done" figure of the line: raw bytes of the blocks the container
// code finished, plus what the codecs coded since (the windows of the batch
// in progress, counted by the WorkMeter), capped by what was read and by the
// total, and never less than shown before. Not thread-safe (Progress locks).
class DoneCounter {
 public:
  // Whole blocks came out: `raw` raw bytes in all so far; `meter` is the
  // meter's count now (their bytes are part of it).
  void blocks_done(uint64_t raw, uint64_t meter) {
    blocks_raw_ = raw;
    meter_at_blocks_ = meter;
  }
  // The figure to show. `read_limit`: raw bytes read (compression), or
  // UINT64_MAX; `total`: 0 when unknown.
  uint64_t done(uint64_t meter, uint64_t read_limit, uint64_t total);

 private:
  uint64_t blocks_raw_ = 0;
  uint64_t meter_at_blocks_ = 0;
  uint64_t shown_ = 0;
};

class Progress {
 public:
  // `total` is the raw size when known, else 0. `meter` counts the codecs'
  // work (may be null). Disabled: does nothing at all.
  Progress(bool enabled, std::string label, bool decoding, uint64_t total, const WorkMeter* meter);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // The container code finished whole blocks: `raw` raw bytes in all so far
  // (their bytes were counted by the meter while they were coded) and
  // `output` archive bytes written. Cheap; callable from any thread.
  void blocks_done(uint64_t raw, uint64_t output);
  // Raw bytes read from the input so far: an upper bound of what is done.
  void input_read(uint64_t raw) { read_.store(raw, std::memory_order_relaxed); }

  // Stops the drawing and erases the line (if one was drawn).
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  uint64_t meter_now() const { return meter_ != nullptr ? meter_->coded() : 0; }

  bool enabled_;
  std::string label_;
  bool decoding_;
  uint64_t total_;
  const WorkMeter* meter_;
  Clock::time_point start_;
  std::atomic<uint64_t> read_{0};
  std::mutex mutex_;  // guards the fields below
  DoneCounter done_;
  uint64_t output_ = 0;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// "1.5 MiB", "812 B": sizes for humans.
std::string human_size(uint64_t bytes);

// "0:07", "12:45", "3:02:10".
std::string human_duration(double seconds);

}  // namespace lmz::cli
