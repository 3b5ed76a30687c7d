// The scheduler: the one thread that runs the model for every client of the
// daemon. Request handlers code windows through ScheduledWindowCodec
// (a WindowCodec, so the daemon runs the same ArchiveWriter and
// decompress_stream code as the CLI's in-process mode and writes the same
// bytes); its encode()/decode() queue the windows and block until the
// scheduler thread has run them. The scheduler takes every pending job for
// the same codec and kind (up to the batch target in windows, jobs of several
// requests together) and runs them in one call to the in-process codec, so
// the windows of all sessions share model batches.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "libcodec/window_codec.h"

namespace lmz::daemon {

struct SchedulerCounters {
  uint64_t queued_windows = 0;  // waiting for the model now
  uint64_t queued_jobs = 0;
  uint64_t batches = 0;  // calls into the in-process codec
  uint64_t jobs = 0;     // encode()/decode() calls served
  uint64_t windows_encoded = 0;
  uint64_t windows_decoded = 0;
  uint64_t raw_bytes_encoded = 0;
  uint64_t raw_bytes_decoded = 0;
  double busy_seconds = 0;  // time spent inside the in-process codec
};

class Scheduler {
 public:
  // `batch_windows`: how many windows the scheduler tries to put into one
  // call (at least one whole job always goes in).
  explicit Scheduler(size_t batch_windows);
  // Runs the jobs still queued, then stops the thread.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // The scheduled codec in front of `local` (an in-process codec that must
  // outlive the scheduler). Created once per `local`; thread-safe.
  WindowCodec& codec(WindowCodec& local);

  SchedulerCounters counters() const;

 private:
  friend class ScheduledWindowCodec;
  struct Job;

  // Queues `job` and waits until the scheduler thread has run it; rethrows
  // the job's error.
  void run_job(Job& job);
  void loop();
  void execute(std::vector<Job*>& batch);

  const size_t batch_windows_;
  mutable std::mutex mutex_;
  std::condition_variable work_cv_;  // scheduler waits for jobs
  std::condition_variable done_cv_;  // submitters wait for their job
  std::deque<Job*> queue_;
  bool stopping_ = false;
  SchedulerCounters counters_;
  std::map<WindowCodec*, std::unique_ptr<WindowCodec>> codecs_;
  std::thread thread_;
};

}  // namespace lmz::daemon
