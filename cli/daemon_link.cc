#include "cli/daemon_link.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "libcodec/errors.h"

namespace lmz::cli {

class DaemonLink::Connection {
 public:
  Connection(const std::string& path, DaemonClient client)
      : path_(path), client_(std::move(client)) {}

  void run(const std::function<void(DaemonClient&)>& request) {
    std::lock_guard lock(mutex_);
    const uint32_t timeout_ms = client_->info().idle_timeout_ms;
    auto idle = std::chrono::steady_clock::now() - last_used_;
    if (timeout_ms > 0 && idle > std::chrono::milliseconds(timeout_ms / 2)) reconnect();
    try {
      request(*client_);
    } catch (const IoError&) {
      reconnect();
      request(*client_);
    }
    last_used_ = std::chrono::steady_clock::now();
  }

 private:
  void reconnect() {
    std::optional<DaemonClient> fresh = DaemonClient::connect(path_);
    if (!fresh) {
      throw IoError(
          fmt::format("lmzd at {} went away (nothing answers on its socket any more)", path_));
    }
    client_ = std::move(fresh);
  }

  const std::string path_;
  std::mutex mutex_;
  std::optional<DaemonClient> client_;
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

DaemonLink::DaemonLink(std::string path, DaemonClient first, size_t max_connections)
    : path_(std::move(path)),
      info_(first.info()),
      max_connections_(max_connections == 0 ? kMaxConnections
                                            : std::min(max_connections, kMaxConnections)) {
  connections_.push_back(std::make_unique<Connection>(path_, std::move(first)));
}

DaemonLink::~DaemonLink() = default;

void DaemonLink::run(const std::function<void(DaemonClient&)>& request) {
  Connection* first = nullptr;
  {
    std::lock_guard lock(mutex_);
    first = connections_.front().get();
  }
  first->run(request);
}

size_t DaemonLink::open_connections(size_t wanted) {
  std::lock_guard lock(mutex_);
  while (connections_.size() < wanted) {
    try {
      std::optional<DaemonClient> client = DaemonClient::connect(path_);
      if (!client) break;
      connections_.push_back(std::make_unique<Connection>(path_, std::move(*client)));
    } catch (const Error&) {
      break;  // e.g. lmzd's connection limit: do with the ones we have
    }
  }
  return connections_.size();
}

void DaemonLink::run_parts(size_t parts,
                           const std::function<void(size_t, DaemonClient&)>& request) {
  if (parts == 0) return;
  const size_t lanes = std::min(open_connections(std::min(parts, max_connections_)), parts);
  std::vector<Connection*> connections;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < lanes; ++i) connections.push_back(connections_[i].get());
  }
  std::vector<std::exception_ptr> failures(parts);
  // Lane j runs parts j, j + lanes, ... in order on connection j.
  auto lane = [&](size_t j) {
    for (size_t i = j; i < parts; i += lanes) {
      try {
        connections[j]->run([&](DaemonClient& client) { request(i, client); });
      } catch (...) {
        failures[i] = std::current_exception();
        return;  // the caller fails anyway; spare lmzd the rest
      }
    }
  };
  std::vector<std::thread> threads;
  size_t started = 1;
  try {
    for (; started < lanes; ++started) threads.emplace_back(lane, started);
  } catch (const std::system_error&) {
    // No more threads: this one runs the lanes left over, after its own.
  }
  lane(0);
  for (size_t j = started; j < lanes; ++j) lane(j);
  for (auto& t : threads) t.join();
  for (auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

}  // namespace lmz::cli
