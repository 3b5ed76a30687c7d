// A fixed set of threads that run request handlers, so the Asio I/O thread
// never blocks on the model. Tasks beyond the thread count wait in order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lmz::daemon {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  // Runs the queued tasks, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; tasks must not throw (handlers catch their own errors).
  void submit(std::function<void()> task);

  size_t busy() const;    // tasks running now
  size_t queued() const;  // tasks waiting for a thread

 private:
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lmz::daemon
