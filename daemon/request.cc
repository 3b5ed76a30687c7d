#include "daemon/request.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace lmz::daemon {

using proto::ErrorCode;
using proto::FrameType;

namespace {
// DATA payloads below this size are appended to the previous queued chunk.
constexpr size_t kCoalesceBelow = 4096;
}  // namespace

void Outbox::send(Bytes frame) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    queued_ += frame.size();
  }
  post_(std::move(frame));
}

bool Outbox::send_flow(Bytes frame, const std::function<bool()>& stop) {
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return closed_ || queued_ < limit_ || stop(); });
    if (closed_ || stop()) return false;
    queued_ += frame.size();
  }
  post_(std::move(frame));
  return true;
}

void Outbox::written(size_t bytes) {
  {
    std::lock_guard lock(mutex_);
    queued_ -= std::min(queued_, bytes);
  }
  cv_.notify_all();
}

void Outbox::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  cv_.notify_all();
}

void Outbox::wake() {
  { std::lock_guard lock(mutex_); }
  cv_.notify_all();
}

bool Outbox::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

size_t Outbox::queued() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

Request::Request(uint32_t id, FrameType kind, std::shared_ptr<Outbox> outbox, uint32_t credit,
                 uint32_t max_chunk, std::function<void(uint32_t)> on_finished)
    : id_(id),
      kind_(kind),
      outbox_(std::move(outbox)),
      max_chunk_(max_chunk),
      on_finished_(std::move(on_finished)),
      credit_left_(credit) {}

bool Request::push_input(Bytes chunk) {
  {
    std::lock_guard lock(mutex_);
    if (ended_ || chunk.size() > credit_left_) return false;
    credit_left_ -= chunk.size();
    if (abort_) return true;  // the handler no longer reads; drop
    if (chunk.size() < kCoalesceBelow && !chunks_.empty() &&
        chunks_.back().size() < kCoalesceBelow) {
      // Tiny DATA frames join the last chunk: a queued chunk costs about 50
      // bytes of bookkeeping, so a client sending its credit one byte a
      // frame would otherwise make the daemon hold ~50x the credit.
      chunks_.back().insert(chunks_.back().end(), chunk.begin(), chunk.end());
    } else if (!chunk.empty()) {
      chunks_.push_back(std::move(chunk));
    }
  }
  cv_.notify_all();
  return true;
}

void Request::end_input() {
  {
    std::lock_guard lock(mutex_);
    ended_ = true;
  }
  cv_.notify_all();
}

bool Request::input_ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

void Request::abort(ErrorCode code, std::string message) {
  {
    std::lock_guard lock(mutex_);
    if (abort_ || finished_) return;
    abort_ = std::make_pair(code, std::move(message));
    chunks_.clear();
  }
  cv_.notify_all();
  outbox_->wake();
}

std::optional<std::pair<ErrorCode, std::string>> Request::abort_reason() const {
  std::lock_guard lock(mutex_);
  return abort_;
}

void Request::throw_if_aborted_locked() const {
  if (abort_) throw IoError(fmt::format("request {} stopped: {}", id_, abort_->second));
}

size_t Request::read(MutableByteView out) {
  if (out.empty()) return 0;
  size_t n = 0;
  size_t granted = 0;
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return abort_ || !chunks_.empty() || ended_; });
    throw_if_aborted_locked();
    if (chunks_.empty()) return 0;  // ended
    const Bytes& front = chunks_.front();
    n = std::min(out.size(), front.size() - front_offset_);
    std::memcpy(out.data(), front.data() + front_offset_, n);
    front_offset_ += n;
    if (front_offset_ == front.size()) {
      granted = front.size();
      credit_left_ += granted;
      chunks_.pop_front();
      front_offset_ = 0;
    }
  }
  input_total_ += n;
  if (granted > 0) {
    proto::PayloadWriter p;
    p.u32(static_cast<uint32_t>(granted));
    outbox_->send(proto::make_frame(FrameType::kCredit, id_, p.bytes()));
  }
  return n;
}

void Request::write(ByteView bytes) {
  auto stopped = [this] {
    std::lock_guard lock(mutex_);
    return abort_.has_value();
  };
  while (!bytes.empty()) {
    size_t n = std::min<size_t>(bytes.size(), max_chunk_);
    if (!outbox_->send_flow(proto::make_frame(FrameType::kData, id_, bytes.first(n)), stopped)) {
      std::lock_guard lock(mutex_);
      throw_if_aborted_locked();
      throw IoError(fmt::format("request {}: the client connection closed", id_));
    }
    output_total_ += n;
    bytes = bytes.subspan(n);
  }
}

void Request::finish(FrameType type, ByteView payload) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
  }
  outbox_->send(proto::make_frame(type, id_, payload));
  on_finished_(id_);
}

bool Request::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

void Request::finish_error(ErrorCode code, const std::string& message) {
  {
    std::lock_guard lock(mutex_);
    if (!finished_) failed_ = true;
  }
  finish(FrameType::kError, proto::encode_error(code, message));
}

}  // namespace lmz::daemon
