// The parts of a connection that request handler threads touch, kept free of
// Asio: the Outbox (frames from handlers to the connection's I/O, with a
// bound on queued bytes) and the Request (one active request: its input
// chunks with credit accounting, its output, its end).
//
// Threads: the I/O thread pushes input and aborts; one handler thread reads
// input and writes output. Everything here is safe for that pairing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "daemon/protocol.h"
#include "format/io.h"

namespace lmz::daemon {

// Frames on their way from handler threads to one connection's socket.
class Outbox {
 public:
  // `post` hands a whole frame to the I/O thread without blocking; the I/O
  // thread calls written() once it is on the wire (or dropped).
  // `limit`: queued bytes above which send_flow() waits.
  Outbox(std::function<void(Bytes)> post, size_t limit) : post_(std::move(post)), limit_(limit) {}

  // Queues a frame at once (control and final frames: they are small).
  void send(Bytes frame);

  // Queues a frame once fewer than `limit` bytes are queued (backpressure on a
  // client that does not read). Returns false, without queuing, if the
  // connection closed or `stop()` became true while waiting.
  bool send_flow(Bytes frame, const std::function<bool()>& stop);

  void written(size_t bytes);  // I/O thread
  void close();                // I/O thread: the socket is gone; wakes waiters
  void wake();                 // re-check stop conditions of waiters
  bool closed() const;
  size_t queued() const;

 private:
  std::function<void(Bytes)> post_;
  const size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  size_t queued_ = 0;
  bool closed_ = false;
};

// One active request on a connection.
class Request final : public ByteSource, public ByteSink {
 public:
  // `credit`: input bytes the client may send before the first CREDIT.
  // `max_chunk`: largest DATA payload this side sends.
  // `on_finished(id)` runs once, after the final frame was queued.
  Request(uint32_t id, proto::FrameType kind, std::shared_ptr<Outbox> outbox, uint32_t credit,
          uint32_t max_chunk, std::function<void(uint32_t)> on_finished);

  uint32_t id() const { return id_; }
  proto::FrameType kind() const { return kind_; }

  // I/O thread. Returns false when the chunk exceeds the credit granted
  // (a protocol violation) or the input already ended.
  bool push_input(Bytes chunk);
  void end_input();
  bool input_ended() const;

  // Any thread: the request must stop; the handler's next read or write
  // throws and the request ends with ERROR `code`.
  void abort(proto::ErrorCode code, std::string message);
  std::optional<std::pair<proto::ErrorCode, std::string>> abort_reason() const;

  // Handler thread: the request's input (ByteSource). Blocks for input;
  // grants the client credit for what it consumed. Throws IoError once aborted.
  size_t read(MutableByteView out) override;
  // Handler thread: the request's output (ByteSink), as DATA frames.
  void write(ByteView bytes) override;

  uint64_t input_bytes() const { return input_total_; }
  uint64_t output_bytes() const { return output_total_; }

  // Handler thread: the final frame (END with `payload`, RESULT, or ERROR).
  void finish(proto::FrameType type, ByteView payload);
  void finish_error(proto::ErrorCode code, const std::string& message);
  // Whether the request ended with ERROR (valid once it finished).
  bool failed() const;

 private:
  void throw_if_aborted_locked() const;

  const uint32_t id_;
  const proto::FrameType kind_;
  std::shared_ptr<Outbox> outbox_;
  const uint32_t max_chunk_;
  std::function<void(uint32_t)> on_finished_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Bytes> chunks_;
  size_t front_offset_ = 0;  // consumed bytes of chunks_.front()
  uint64_t credit_left_;     // bytes the client may still send
  bool ended_ = false;
  std::optional<std::pair<proto::ErrorCode, std::string>> abort_;
  bool finished_ = false;
  bool failed_ = false;
  uint64_t input_total_ = 0;   // handler thread only
  uint64_t output_total_ = 0;  // handler thread only
};

}  // namespace lmz::daemon
