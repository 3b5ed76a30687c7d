// Helpers for the lmzd integration tests: start the real built lmzd on a
// temporary socket and wait for its READY=1 (through a NOTIFY_SOCKET, as
// systemd does), talk raw frames to it, and make test inputs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "daemon/protocol.h"
#include "libcodec/types.h"

namespace lmz::test {

// A temporary directory removed with its contents at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class LmzdProcess {
 public:
  // Starts lmzd with `args` (after the binary), its stderr into dir/lmzd.log,
  // and waits for READY=1. With `listen_fd` >= 0 the fd is passed as fd 3
  // with LISTEN_FDS=1 and LISTEN_PID set, the way systemd activates a socket.
  LmzdProcess(const TempDir& dir, std::vector<std::string> args, int listen_fd = -1);
  // Kills lmzd (SIGKILL) if it still runs.
  ~LmzdProcess();

  pid_t pid() const { return pid_; }
  // Sends `signo`.
  void signal(int signo);
  // Waits up to `timeout` for lmzd to exit; returns its exit status
  // (WEXITSTATUS), or nullopt on timeout or death by a signal.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string log() const;

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::filesystem::path log_path_;
};

// Standard lmzd arguments for tests: the stand-in model on `socket`.
std::vector<std::string> lmzd_args(const std::filesystem::path& socket,
                                   std::vector<std::string> extra = {});

// A raw protocol connection, for sending what a correct client never would.
class RawConnection {
 public:
  explicit RawConnection(const std::filesystem::path& socket);
  ~RawConnection();
  void send_bytes(ByteView bytes);
  void send_frame(proto::FrameType type, uint32_t id, ByteView payload);
  // Sends HELLO and reads WELCOME.
  proto::Welcome handshake();
  struct Frame {
    proto::FrameHeader header;
    Bytes payload;
  };
  // Reads one frame, or nullopt at end of stream / timeout.
  std::optional<Frame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // True if the peer closed (reads EOF) within `timeout`, skipping frames.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int fd() const { return fd_; }

 private:
  bool read_exact(uint8_t* out, size_t n, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
};

// Deterministic text-like input of `size` bytes (words, numbers, log-ish
// lines) that differs with `seed`.
Bytes make_input(size_t size, uint64_t seed);

}  // namespace lmz::test
