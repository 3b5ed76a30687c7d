// lmzd's server: the listening socket (its own, or the one systemd passes),
// one Asio I/O thread that reads and writes frames for every connection, the
// worker pool that runs request handlers, and the shutdown sequence.
// Boost.Asio stays inside server.cc.
#pragma once

#include <memory>
#include <string>

#include "daemon/config.h"

namespace lmz::daemon {

struct ModelService;

class Server {
 public:
  // `device`: the device name the handshake and status report.
  Server(const DaemonConfig& config, ModelService& models, std::string device);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens (on the socket passed by systemd if there is one, else on
  // config.socket_path), tells systemd READY=1, and serves until SIGTERM or
  // SIGINT. Then stops accepting, lets in-flight requests finish for up to
  // shutdown_grace_ms, ends the rest with ERROR shutting-down, and returns.
  // Throws IoError when it cannot listen.
  void run();

  struct Impl;  // in server.cc; public so that its connections can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lmz::daemon
