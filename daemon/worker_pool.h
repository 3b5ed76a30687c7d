// A fixed set of threads that run request handlers, so the Asio I/O thread
// never blocks on the model.
//
// Tasks belong to a user (the peer's uid). A streaming request holds its
// thread while it waits for the client's input, so without a limit one
// local user could start enough requests that never send input to take
// every thread and stall everyone else. Each user may therefore run at most
// `per_user_limit` tasks at once; further tasks of that user wait in order
// while other users' tasks run. Waiting users are served round robin.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace lmz::daemon {

class WorkerPool {
 public:
  // `per_user_limit` 0 means threads - threads / 4 (at least 1): one user
  // can never hold the last quarter of the threads.
  explicit WorkerPool(size_t threads, size_t per_user_limit = 0);
  // Runs the queued tasks, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` for `user`; tasks must not throw (handlers catch their
  // own errors).
  void submit(uint32_t user, std::function<void()> task);

  size_t busy() const;    // tasks running now
  size_t queued() const;  // tasks waiting for a thread
  size_t per_user_limit() const { return per_user_limit_; }

 private:
  struct User {
    std::deque<std::function<void()>> waiting;
    size_t running = 0;
  };

  void loop();
  // The next user (round robin after last_user_) with a waiting task and
  // room to run it; users_.end() if none. Caller holds mutex_.
  std::map<uint32_t, User>::iterator next_runnable();

  const size_t per_user_limit_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint32_t, User> users_;  // users with waiting or running tasks
  uint32_t last_user_ = 0;
  size_t queued_ = 0;
  size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lmz::daemon
