#include "daemon/protocol.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace lmz::proto {
namespace {

void put_le(uint8_t* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le(const uint8_t* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{in[i]} << (8 * i);
  return v;
}

// Shared part of the two window requests: model, stage, count, raw sizes.
void read_windows_head(PayloadReader& r, WindowsRequest& req, uint32_t max_windows,
                       const char* what) {
  req.model = r.hash();
  req.stage = r.u16();
  r.u16();  // reserved
  uint32_t count = r.u32();
  if (count == 0 || count > max_windows) {
    throw ProtocolError(
        fmt::format("{} carries {} windows; the limit is 1 to {}", what, count, max_windows));
  }
  // Each window needs at least 4 bytes of size fields: reject counts the
  // payload cannot hold before reserving anything.
  if (r.remaining() / 4 < count) {
    throw ProtocolError(fmt::format("{} is too short for {} windows", what, count));
  }
  req.raw_sizes.resize(count);
  for (auto& s : req.raw_sizes) s = r.u32();
}

}  // namespace

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kProtocol:
      return "protocol";
    case ErrorCode::kFrameTooLarge:
      return "frame-too-large";
    case ErrorCode::kVersion:
      return "version";
    case ErrorCode::kBadRequest:
      return "bad-request";
    case ErrorCode::kCorruptInput:
      return "corrupt-input";
    case ErrorCode::kModelMismatch:
      return "model-mismatch";
    case ErrorCode::kLimit:
      return "limit";
    case ErrorCode::kShuttingDown:
      return "shutting-down";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kIdleTimeout:
      return "idle-timeout";
    case ErrorCode::kUsage:
      return "usage";
  }
  return "unknown";
}

void throw_daemon_error(ErrorCode code, const std::string& message) {
  std::string text = fmt::format("lmzd: {} ({})", message, error_code_name(code));
  switch (code) {
    case ErrorCode::kCorruptInput:
      throw CorruptInput(text);
    case ErrorCode::kModelMismatch:
      throw ModelMismatch(text);
    case ErrorCode::kBadRequest:
    case ErrorCode::kUsage:
      throw UsageError(text);
    default:
      throw IoError(text);
  }
}

void encode_header(const FrameHeader& header, uint8_t out[kHeaderSize]) {
  put_le(out, header.length, 4);
  put_le(out + 4, static_cast<uint16_t>(header.type), 2);
  put_le(out + 6, header.flags, 2);
  put_le(out + 8, header.request_id, 4);
}

FrameHeader decode_header(const uint8_t in[kHeaderSize]) {
  FrameHeader h;
  h.length = static_cast<uint32_t>(get_le(in, 4));
  h.type = static_cast<FrameType>(get_le(in + 4, 2));
  h.flags = static_cast<uint16_t>(get_le(in + 6, 2));
  h.request_id = static_cast<uint32_t>(get_le(in + 8, 4));
  return h;
}

Bytes make_frame(FrameType type, uint32_t request_id, ByteView payload) {
  Bytes frame(kHeaderSize + payload.size());
  FrameHeader h;
  h.length = static_cast<uint32_t>(payload.size());
  h.type = type;
  h.request_id = request_id;
  encode_header(h, frame.data());
  if (!payload.empty()) std::memcpy(frame.data() + kHeaderSize, payload.data(), payload.size());
  return frame;
}

void PayloadWriter::u16(uint16_t v) {
  uint8_t b[2];
  put_le(b, v, 2);
  bytes_.insert(bytes_.end(), b, b + 2);
}
void PayloadWriter::u32(uint32_t v) {
  uint8_t b[4];
  put_le(b, v, 4);
  bytes_.insert(bytes_.end(), b, b + 4);
}
void PayloadWriter::u64(uint64_t v) {
  uint8_t b[8];
  put_le(b, v, 8);
  bytes_.insert(bytes_.end(), b, b + 8);
}
void PayloadWriter::hash(const Hash128& h) {
  u64(h.high);
  u64(h.low);
}
void PayloadWriter::str(const std::string& s) {
  if (s.size() > 0xffff) throw UsageError(fmt::format("string of {} bytes is too long", s.size()));
  u16(static_cast<uint16_t>(s.size()));
  bytes_.insert(bytes_.end(), s.begin(), s.end());
}

ByteView PayloadReader::raw(size_t n) {
  if (remaining() < n) {
    throw ProtocolError(
        fmt::format("{} payload is truncated: needs {} more bytes at offset {}, has {}", what_, n,
                    pos_, remaining()));
  }
  ByteView v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}
uint8_t PayloadReader::u8() {
  return raw(1)[0];
}
uint16_t PayloadReader::u16() {
  return static_cast<uint16_t>(get_le(raw(2).data(), 2));
}
uint32_t PayloadReader::u32() {
  return static_cast<uint32_t>(get_le(raw(4).data(), 4));
}
uint64_t PayloadReader::u64() {
  return get_le(raw(8).data(), 8);
}
Hash128 PayloadReader::hash() {
  Hash128 h;
  h.high = u64();
  h.low = u64();
  return h;
}
std::string PayloadReader::str() {
  uint16_t n = u16();
  ByteView v = raw(n);
  return std::string(v.begin(), v.end());
}
void PayloadReader::expect_end() const {
  if (remaining() != 0) {
    throw ProtocolError(
        fmt::format("{} payload has {} unexpected trailing bytes", what_, remaining()));
  }
}

Bytes encode_hello(const Hello& hello) {
  PayloadWriter w;
  w.raw(ByteView(reinterpret_cast<const uint8_t*>(kHelloMagic), 4));
  w.u16(hello.min_version);
  w.u16(hello.max_version);
  return std::move(w.bytes());
}

Hello decode_hello(ByteView payload) {
  PayloadReader r(payload, "HELLO");
  ByteView magic = r.raw(4);
  if (std::memcmp(magic.data(), kHelloMagic, 4) != 0) {
    throw ProtocolError("HELLO does not start with the magic 'LMZD': not an lmz client");
  }
  Hello h;
  h.min_version = r.u16();
  h.max_version = r.u16();
  r.expect_end();
  return h;
}

Bytes encode_welcome(const Welcome& w) {
  PayloadWriter p;
  p.u16(w.version);
  p.u16(0);
  p.u32(w.max_frame_payload);
  p.u32(w.max_requests);
  p.u32(w.request_credit);
  p.u32(w.max_batch_windows);
  p.u32(w.idle_timeout_ms);
  p.hash(w.model_hash);
  p.str(w.model_name);
  p.str(w.device);
  return std::move(p.bytes());
}

Welcome decode_welcome(ByteView payload) {
  PayloadReader r(payload, "WELCOME");
  Welcome w;
  w.version = r.u16();
  r.u16();
  w.max_frame_payload = r.u32();
  w.max_requests = r.u32();
  w.request_credit = r.u32();
  w.max_batch_windows = r.u32();
  w.idle_timeout_ms = r.u32();
  w.model_hash = r.hash();
  w.model_name = r.str();
  w.device = r.str();
  r.expect_end();
  return w;
}

Bytes encode_compress(const CompressParams& c) {
  auto u32_of = [](size_t v) { return static_cast<uint32_t>(std::min<size_t>(v, UINT32_MAX)); };
  PayloadWriter p;
  p.u32(c.writer.block_size);
  p.u32(c.writer.window_size);
  p.u32(c.writer.log_window_size);
  p.u32(static_cast<uint32_t>(c.writer.zstd_level));
  p.u8(c.writer.allow_neural ? 1 : 0);
  p.u8(0);
  p.u16(c.stage);
  p.u32(u32_of(c.writer.classifier.chunk_size));
  p.u32(u32_of(c.writer.classifier.min_binary_run));
  p.u32(u32_of(c.writer.classifier.min_text_run));
  p.hash(c.model);
  return std::move(p.bytes());
}

CompressParams decode_compress(ByteView payload) {
  PayloadReader r(payload, "COMPRESS");
  CompressParams c;
  c.writer.block_size = r.u32();
  c.writer.window_size = r.u32();
  c.writer.log_window_size = r.u32();
  c.writer.zstd_level = static_cast<int32_t>(r.u32());
  uint8_t allow = r.u8();
  if (allow > 1) throw ProtocolError("COMPRESS allow_neural is neither 0 nor 1");
  c.writer.allow_neural = allow == 1;
  r.u8();
  c.stage = r.u16();
  c.writer.classifier.chunk_size = r.u32();
  c.writer.classifier.min_binary_run = r.u32();
  c.writer.classifier.min_text_run = r.u32();
  c.model = r.hash();
  r.expect_end();
  return c;
}

Bytes encode_end(const EndSummary& s) {
  PayloadWriter p;
  p.u64(s.input_bytes);
  p.u64(s.output_bytes);
  return std::move(p.bytes());
}

EndSummary decode_end(ByteView payload) {
  PayloadReader r(payload, "END");
  EndSummary s;
  s.input_bytes = r.u64();
  s.output_bytes = r.u64();
  r.expect_end();
  return s;
}

Bytes encode_decode_windows(const Hash128& model, StageId stage, std::span<const ByteView> coded,
                            std::span<const size_t> raw_sizes) {
  PayloadWriter p;
  p.hash(model);
  p.u16(stage);
  p.u16(0);
  p.u32(static_cast<uint32_t>(coded.size()));
  for (size_t s : raw_sizes) p.u32(static_cast<uint32_t>(s));
  for (const auto& c : coded) p.u32(static_cast<uint32_t>(c.size()));
  for (const auto& c : coded) p.raw(c);
  return std::move(p.bytes());
}

Bytes encode_encode_windows(const Hash128& model, StageId stage, std::span<const ByteView> raw) {
  PayloadWriter p;
  p.hash(model);
  p.u16(stage);
  p.u16(0);
  p.u32(static_cast<uint32_t>(raw.size()));
  for (const auto& w : raw) p.u32(static_cast<uint32_t>(w.size()));
  for (const auto& w : raw) p.raw(w);
  return std::move(p.bytes());
}

WindowsRequest decode_decode_windows(ByteView payload, uint32_t max_windows) {
  PayloadReader r(payload, "DECODE_WINDOWS");
  WindowsRequest req;
  read_windows_head(r, req, max_windows, "DECODE_WINDOWS");
  req.coded_sizes.resize(req.raw_sizes.size());
  uint64_t total = 0;
  for (auto& s : req.coded_sizes) {
    s = r.u32();
    total += s;
  }
  if (total != r.remaining()) {
    throw ProtocolError(fmt::format("DECODE_WINDOWS coded sizes add up to {} bytes but {} follow",
                                    total, r.remaining()));
  }
  req.data = r.raw(r.remaining());
  return req;
}

WindowsRequest decode_encode_windows(ByteView payload, uint32_t max_windows) {
  PayloadReader r(payload, "ENCODE_WINDOWS");
  WindowsRequest req;
  read_windows_head(r, req, max_windows, "ENCODE_WINDOWS");
  uint64_t total = 0;
  for (auto s : req.raw_sizes) total += s;
  if (total != r.remaining()) {
    throw ProtocolError(fmt::format("ENCODE_WINDOWS raw sizes add up to {} bytes but {} follow",
                                    total, r.remaining()));
  }
  req.data = r.raw(r.remaining());
  return req;
}

Bytes encode_encoded_windows(const std::vector<Bytes>& coded) {
  PayloadWriter p;
  p.u32(static_cast<uint32_t>(coded.size()));
  for (const auto& c : coded) p.u32(static_cast<uint32_t>(c.size()));
  for (const auto& c : coded) p.raw(c);
  return std::move(p.bytes());
}

std::vector<Bytes> decode_encoded_windows(ByteView payload, size_t expected_count) {
  PayloadReader r(payload, "RESULT of ENCODE_WINDOWS");
  uint32_t count = r.u32();
  if (count != expected_count) {
    throw ProtocolError(fmt::format("RESULT of ENCODE_WINDOWS has {} windows, {} were sent", count,
                                    expected_count));
  }
  // Each window needs 4 bytes of size: refuse a count the payload cannot
  // hold before allocating for it (found by tests/fuzz, protocol target).
  if (count > r.remaining() / 4) {
    throw ProtocolError(fmt::format("RESULT of ENCODE_WINDOWS is too short for {} windows", count));
  }
  std::vector<uint32_t> sizes(count);
  for (auto& s : sizes) s = r.u32();
  std::vector<Bytes> out(count);
  for (size_t i = 0; i < count; ++i) {
    ByteView v = r.raw(sizes[i]);
    out[i].assign(v.begin(), v.end());
  }
  r.expect_end();
  return out;
}

Bytes encode_status(const StatusMap& status) {
  PayloadWriter p;
  p.u32(static_cast<uint32_t>(status.size()));
  for (const auto& [k, v] : status) {
    p.str(k);
    p.str(v);
  }
  return std::move(p.bytes());
}

StatusMap decode_status(ByteView payload) {
  PayloadReader r(payload, "RESULT of STATUS");
  uint32_t count = r.u32();
  if (count > r.remaining() / 4) throw ProtocolError("RESULT of STATUS has an impossible count");
  StatusMap m;
  for (uint32_t i = 0; i < count; ++i) {
    std::string k = r.str();
    m[k] = r.str();
  }
  r.expect_end();
  return m;
}

Bytes encode_error(ErrorCode code, const std::string& message) {
  PayloadWriter p;
  p.u16(static_cast<uint16_t>(code));
  p.str(message.size() > 4000 ? message.substr(0, 4000) : message);
  return std::move(p.bytes());
}

std::pair<ErrorCode, std::string> decode_error(ByteView payload) {
  PayloadReader r(payload, "ERROR");
  auto code = static_cast<ErrorCode>(r.u16());
  std::string message = r.str();
  r.expect_end();
  return {code, message};
}

std::string hash_hex(const Hash128& hash) {
  return fmt::format("{:016x}{:016x}", hash.high, hash.low);
}

}  // namespace lmz::proto
