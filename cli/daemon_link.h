// The CLI's connections to lmzd: reopened when lmzd has dropped them, and
// several at once so that the parts of one big window request reach lmzd's
// scheduler together (it batches the queued jobs of all connections into
// shared model calls, and one connection runs one request at a time).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/client.h"

namespace lmz::cli {

class DaemonLink {
 public:
  // Most connections one lmz opens to lmzd at once.
  static constexpr size_t kMaxConnections = 4;

  // Takes over `first`, a connection made to `path`. At most
  // `max_connections` (1 .. kMaxConnections; 0: kMaxConnections) are used
  // at once, each by a thread of its own (lmz -T N).
  DaemonLink(std::string path, DaemonClient first, size_t max_connections = 0);
  ~DaemonLink();
  DaemonLink(const DaemonLink&) = delete;
  DaemonLink& operator=(const DaemonLink&) = delete;

  const std::string& path() const { return path_; }
  // The handshake of the first connection: lmzd's model and limits.
  const DaemonInfo& info() const { return info_; }

  // Runs `request` on the first connection. lmzd closes a connection silent
  // for idle_timeout_ms, as happens while lmz reads a slow pipe or
  // zstd-compresses a long binary stretch, so a connection unused for half
  // that long is opened again first. Requests must be repeatable (window
  // requests have no side effects): after an IoError, `request` runs once
  // more on a new connection. Throws IoError when lmzd no longer answers.
  void run(const std::function<void(DaemonClient&)>& request);

  // Runs request(i, client) for every i < parts, spread over up to
  // kMaxConnections connections at once (fewer when lmzd refuses more).
  // Each part is repeatable, as for run(). Rethrows the failure of the
  // lowest-numbered part that failed, after all have ended.
  void run_parts(size_t parts, const std::function<void(size_t, DaemonClient&)>& request);

 private:
  class Connection;
  // Opens connections until `wanted` are open or lmzd refuses one; returns
  // how many are open (at least 1).
  size_t open_connections(size_t wanted);

  const std::string path_;
  const DaemonInfo info_;
  const size_t max_connections_;
  std::mutex mutex_;  // guards connections_ (not the connections themselves)
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace lmz::cli
