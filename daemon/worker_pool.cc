#include "daemon/worker_pool.h"

#include <algorithm>

namespace lmz::daemon {

WorkerPool::WorkerPool(size_t threads, size_t per_user_limit)
    : per_user_limit_(per_user_limit != 0
                          ? per_user_limit
                          : std::max<size_t>(1, std::max<size_t>(1, threads) -
                                                    std::max<size_t>(1, threads) / 4)) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::submit(uint32_t user, std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    users_[user].waiting.push_back(std::move(task));
    ++queued_;
  }
  cv_.notify_one();
}

size_t WorkerPool::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

std::map<uint32_t, WorkerPool::User>::iterator WorkerPool::next_runnable() {
  auto runnable = [&](const auto& entry) {
    return !entry.second.waiting.empty() && entry.second.running < per_user_limit_;
  };
  auto after = users_.upper_bound(last_user_);
  auto it = std::find_if(after, users_.end(), runnable);
  if (it != users_.end()) return it;
  it = std::find_if(users_.begin(), after, runnable);
  return it != after ? it : users_.end();
}

void WorkerPool::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto user = users_.end();
    cv_.wait(lock, [&] {
      user = next_runnable();
      return user != users_.end() || (stopping_ && queued_ == 0);
    });
    if (user == users_.end()) return;  // stopping, nothing left to run
    const uint32_t id = user->first;
    auto task = std::move(user->second.waiting.front());
    user->second.waiting.pop_front();
    ++user->second.running;
    --queued_;
    ++busy_;
    last_user_ = id;
    lock.unlock();
    task();
    lock.lock();
    --busy_;
    auto it = users_.find(id);
    if (--it->second.running == 0 && it->second.waiting.empty()) users_.erase(it);
    // A slot of this user's opened: one of its waiting tasks may now run;
    // when stopping, idle threads must also see the queue run dry.
    if (stopping_) {
      cv_.notify_all();
    } else {
      cv_.notify_one();
    }
  }
}

}  // namespace lmz::daemon
