#include "daemon/scheduler.h"

#include <chrono>
#include <exception>

namespace lmz::daemon {

struct Scheduler::Job {
  WindowCodec* target = nullptr;
  bool decode = false;
  // encode
  std::span<const ByteView> raw;
  std::vector<Bytes> coded;
  // decode
  std::span<const EncodedWindowView> in;
  std::span<const MutableByteView> out;

  size_t windows() const { return decode ? in.size() : raw.size(); }
  std::exception_ptr error;
  bool done = false;
};

// The WindowCodec the request handlers see: forwards every call to the
// scheduler, which runs it on `local_` together with other requests' windows.
class ScheduledWindowCodec final : public WindowCodec {
 public:
  ScheduledWindowCodec(Scheduler& scheduler, WindowCodec& local)
      : scheduler_(scheduler), local_(local) {}

  const ModelId& model() const override { return local_.model(); }
  StageId stage() const override { return local_.stage(); }

  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    if (windows.empty()) return {};
    Scheduler::Job job;
    job.target = &local_;
    job.raw = windows;
    scheduler_.run_job(job);
    return std::move(job.coded);
  }

  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override {
    if (windows.empty()) return;
    Scheduler::Job job;
    job.target = &local_;
    job.decode = true;
    job.in = windows;
    job.out = out;
    scheduler_.run_job(job);
  }

 private:
  Scheduler& scheduler_;
  WindowCodec& local_;
};

Scheduler::Scheduler(size_t batch_windows)
    : batch_windows_(batch_windows == 0 ? 1 : batch_windows), thread_([this] { loop(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

WindowCodec& Scheduler::codec(WindowCodec& local) {
  std::lock_guard lock(mutex_);
  auto& slot = codecs_[&local];
  if (!slot) slot = std::make_unique<ScheduledWindowCodec>(*this, local);
  return *slot;
}

SchedulerCounters Scheduler::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void Scheduler::run_job(Job& job) {
  std::unique_lock lock(mutex_);
  queue_.push_back(&job);
  counters_.queued_jobs += 1;
  counters_.queued_windows += job.windows();
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return job.done; });
  if (job.error) std::rethrow_exception(job.error);
}

void Scheduler::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and nothing left
    // Take the oldest job and every other queued job of the same codec and
    // kind while the batch has room, in queue order (no job waits behind
    // more than one batch of its own kind).
    std::vector<Job*> batch;
    size_t windows = 0;
    Job* first = queue_.front();
    for (auto it = queue_.begin(); it != queue_.end();) {
      Job* job = *it;
      bool same = job->target == first->target && job->decode == first->decode;
      if (same && (batch.empty() || windows + job->windows() <= batch_windows_)) {
        batch.push_back(job);
        windows += job->windows();
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    counters_.queued_jobs -= batch.size();
    counters_.queued_windows -= windows;
    lock.unlock();
    auto start = std::chrono::steady_clock::now();
    execute(batch);
    std::chrono::duration<double> busy = std::chrono::steady_clock::now() - start;
    lock.lock();
    counters_.busy_seconds += busy.count();
    counters_.batches += 1;
    counters_.jobs += batch.size();
    for (Job* job : batch) {
      uint64_t bytes = 0;
      if (job->decode) {
        for (const auto& w : job->in) bytes += w.raw_size;
        counters_.windows_decoded += job->in.size();
        counters_.raw_bytes_decoded += bytes;
      } else {
        for (const auto& w : job->raw) bytes += w.size();
        counters_.windows_encoded += job->raw.size();
        counters_.raw_bytes_encoded += bytes;
      }
      job->done = true;
    }
    done_cv_.notify_all();
  }
}

// Runs `batch` in one call. If that call fails, each job is run alone so that
// the error (a corrupt window names its index in the call) reaches only the
// request it belongs to, with that request's own window index.
void Scheduler::execute(std::vector<Job*>& batch) {
  WindowCodec& codec = *batch.front()->target;
  auto run_one = [&codec](Job& job) {
    try {
      if (job.decode) {
        codec.decode(job.in, job.out);
      } else {
        job.coded = codec.encode(job.raw);
      }
    } catch (...) {
      job.error = std::current_exception();
    }
  };
  if (batch.size() == 1) {
    run_one(*batch.front());
    return;
  }
  try {
    if (batch.front()->decode) {
      std::vector<EncodedWindowView> in;
      std::vector<MutableByteView> out;
      for (Job* job : batch) {
        in.insert(in.end(), job->in.begin(), job->in.end());
        out.insert(out.end(), job->out.begin(), job->out.end());
      }
      codec.decode(in, out);
    } else {
      std::vector<ByteView> raw;
      for (Job* job : batch) raw.insert(raw.end(), job->raw.begin(), job->raw.end());
      std::vector<Bytes> coded = codec.encode(raw);
      size_t next = 0;
      for (Job* job : batch) {
        job->coded.assign(std::make_move_iterator(coded.begin() + next),
                          std::make_move_iterator(coded.begin() + next + job->raw.size()));
        next += job->raw.size();
      }
    }
  } catch (...) {
    for (Job* job : batch) run_one(*job);
  }
}

}  // namespace lmz::daemon
