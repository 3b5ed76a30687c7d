#include "daemon/client.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "daemon/protocol.h"
#include "libcodec/errors.h"

namespace lmz {
namespace {

using proto::FrameType;

// DATA payloads the client sends are at most this big.
constexpr size_t kSendChunk = 256u << 10;
// Bound on the WELCOME payload (before we know the daemon's limits).
constexpr uint32_t kMaxWelcome = 64u << 10;
// How long to wait for the daemon's ERROR frame after it dropped the connection.
constexpr int kLastWordsMs = 1000;

uint8_t type_byte(FrameType t) {
  return static_cast<uint8_t>(t);
}

void close_fd(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace

struct DaemonClient::Frame {
  proto::FrameHeader header;
  Bytes payload;
};

std::string default_socket_path() {
  const char* env = std::getenv("LMZ_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  return "/run/lmz/lmzd.sock";
}

std::optional<DaemonClient> DaemonClient::connect(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    throw IoError(fmt::format("daemon socket path {} is too long", socket_path));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IoError(fmt::format("cannot create a socket: {}", std::strerror(errno)));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR) return std::nullopt;
    throw IoError(fmt::format("cannot connect to lmzd at {}: {}", socket_path, std::strerror(err)));
  }
  DaemonInfo provisional;
  provisional.max_frame_payload = kMaxWelcome;
  DaemonClient client(fd, provisional);
  client.send_frame(type_byte(FrameType::kHello), 0, proto::encode_hello(proto::Hello{}));
  Frame f = client.read_frame();
  if (f.header.type == FrameType::kError) {
    auto [code, message] = proto::decode_error(f.payload);
    proto::throw_daemon_error(code, message);
  }
  if (f.header.type != FrameType::kWelcome) {
    throw proto::ProtocolError(
        fmt::format("{} answered HELLO with frame type 0x{:02x}, not WELCOME: is it lmzd?",
                    socket_path, static_cast<unsigned>(f.header.type)));
  }
  proto::Welcome w = proto::decode_welcome(f.payload);
  if (w.version != proto::kProtocolVersion || w.max_frame_payload < 4096 ||
      w.max_frame_payload > proto::kMaxFramePayload || w.request_credit == 0 ||
      w.max_batch_windows == 0) {
    throw proto::ProtocolError(fmt::format("lmzd at {} sent an unusable WELCOME", socket_path));
  }
  DaemonInfo& info = client.info_;
  info.protocol_version = w.version;
  info.model = ModelId{w.model_name, w.model_hash};
  info.device = w.device;
  info.max_frame_payload = w.max_frame_payload;
  info.max_requests = w.max_requests;
  info.request_credit = w.request_credit;
  info.max_batch_windows = w.max_batch_windows;
  info.idle_timeout_ms = w.idle_timeout_ms;
  return std::optional<DaemonClient>(std::move(client));
}

DaemonClient::DaemonClient(int fd, DaemonInfo info) : fd_(fd), info_(std::move(info)) {}

DaemonClient::DaemonClient(DaemonClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      info_(std::move(other.info_)),
      next_id_(other.next_id_),
      mutex_(std::move(other.mutex_)) {}

DaemonClient& DaemonClient::operator=(DaemonClient&& other) noexcept {
  if (this != &other) {
    close_fd(fd_);
    fd_ = std::exchange(other.fd_, -1);
    info_ = std::move(other.info_);
    next_id_ = other.next_id_;
    mutex_ = std::move(other.mutex_);
  }
  return *this;
}

DaemonClient::~DaemonClient() {
  close_fd(fd_);
}

void DaemonClient::send_frame(uint8_t type, uint32_t id, ByteView payload) {
  uint8_t header[proto::kHeaderSize];
  proto::FrameHeader h;
  h.length = static_cast<uint32_t>(payload.size());
  h.type = static_cast<FrameType>(type);
  h.request_id = id;
  proto::encode_header(h, header);
  iovec parts[2] = {{header, sizeof(header)},
                    {const_cast<uint8_t*>(payload.data()), payload.size()}};
  size_t total = sizeof(header) + payload.size();
  size_t done = 0;
  while (done < total) {
    // Skip what was sent already.
    iovec iov[2];
    int count = 0;
    size_t skip = done;
    for (auto& p : parts) {
      if (skip >= p.iov_len) {
        skip -= p.iov_len;
        continue;
      }
      iov[count].iov_base = static_cast<uint8_t*>(p.iov_base) + skip;
      iov[count].iov_len = p.iov_len - skip;
      skip = 0;
      ++count;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      connection_lost(fmt::format("sending to lmzd failed: {}", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
}

bool DaemonClient::poll_readable(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

DaemonClient::Frame DaemonClient::read_frame() {
  auto read_exact = [this](uint8_t* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::recv(fd_, out + done, n - done, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        throw IoError(r == 0 ? std::string("lmzd closed the connection")
                             : fmt::format("reading from lmzd failed: {}", std::strerror(errno)));
      }
      done += static_cast<size_t>(r);
    }
  };
  uint8_t header[proto::kHeaderSize];
  read_exact(header, sizeof(header));
  Frame f;
  f.header = proto::decode_header(header);
  if (f.header.length > info_.max_frame_payload) {
    throw proto::ProtocolError(fmt::format("lmzd sent a frame of {} bytes; the limit is {}",
                                           f.header.length, info_.max_frame_payload));
  }
  // In chunks that grow with what arrived: a length the daemon does not back
  // with bytes costs no memory (spec/PROTOCOL.md, "Memory bounds").
  constexpr size_t kFirstChunk = 64u << 10;
  while (f.payload.size() < f.header.length) {
    size_t have = f.payload.size();
    size_t want = std::min<size_t>(f.header.length - have, std::max(kFirstChunk, have));
    f.payload.resize(have + want);
    read_exact(f.payload.data() + have, want);
  }
  return f;
}

void DaemonClient::connection_lost(const std::string& what) {
  // The daemon usually says why before it closes: look for its ERROR.
  try {
    while (poll_readable(kLastWordsMs)) {
      Frame f = read_frame();
      if (f.header.type == FrameType::kError) {
        auto [code, message] = proto::decode_error(f.payload);
        proto::throw_daemon_error(code, message);
      }
    }
  } catch (const IoError& e) {
    if (std::string(e.what()).rfind("lmzd:", 0) == 0) throw;
  }
  throw IoError(what);
}

DaemonTransfer DaemonClient::stream(uint8_t type, ByteView params, ByteSource& in, ByteSink& out) {
  std::lock_guard lock(*mutex_);
  const uint32_t id = ++next_id_;
  send_frame(type, id, params);
  uint64_t credit = info_.request_credit;
  const size_t chunk = std::min<size_t>(kSendChunk, info_.max_frame_payload);
  Bytes buffer(chunk);
  bool input_done = false;
  DaemonTransfer transfer;
  for (;;) {
    // Send while there is credit, reading the daemon's answers whenever some
    // are waiting, so its output never backs up behind our input.
    if (!input_done && credit > 0 && !poll_readable(0)) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(chunk, credit));
      size_t n = 0;
      try {
        n = in.read(MutableByteView(buffer.data(), want));
      } catch (...) {
        send_frame(type_byte(FrameType::kCancel), id, {});
        throw;
      }
      if (n == 0) {
        send_frame(type_byte(FrameType::kEnd), id, {});
        input_done = true;
      } else {
        send_frame(type_byte(FrameType::kData), id, ByteView(buffer.data(), n));
        credit -= n;
        transfer.input_bytes += n;
      }
      continue;
    }
    Frame f;
    try {
      f = read_frame();
    } catch (const proto::ProtocolError&) {
      throw;
    } catch (const IoError& e) {
      connection_lost(e.what());
    }
    const uint32_t fid = f.header.request_id;
    if (fid == 0 && f.header.type == FrameType::kError) {
      auto [code, message] = proto::decode_error(f.payload);
      proto::throw_daemon_error(code, message);
    }
    if (fid != id) continue;  // a late frame of an earlier, abandoned request
    switch (f.header.type) {
      case FrameType::kCredit: {
        proto::PayloadReader r(f.payload, "CREDIT");
        credit += r.u32();
        r.expect_end();
        break;
      }
      case FrameType::kData:
        try {
          out.write(f.payload);
        } catch (...) {
          send_frame(type_byte(FrameType::kCancel), id, {});
          throw;
        }
        transfer.output_bytes += f.payload.size();
        break;
      case FrameType::kEnd: {
        proto::EndSummary s = proto::decode_end(f.payload);
        if (!input_done || s.output_bytes != transfer.output_bytes) {
          throw proto::ProtocolError("lmzd ended the request early or with a wrong byte count");
        }
        return transfer;
      }
      case FrameType::kError: {
        auto [code, message] = proto::decode_error(f.payload);
        proto::throw_daemon_error(code, message);
      }
      default:
        throw proto::ProtocolError(fmt::format("unexpected frame type 0x{:02x} from lmzd",
                                               static_cast<unsigned>(f.header.type)));
    }
  }
}

DaemonTransfer DaemonClient::compress(ByteSource& in, ByteSink& out,
                                      const DaemonCompressOptions& options) {
  proto::CompressParams p;
  p.writer = options.writer;
  p.stage = options.stage;
  p.model = options.model;
  return stream(type_byte(FrameType::kCompress), proto::encode_compress(p), in, out);
}

DaemonTransfer DaemonClient::decompress(ByteSource& in, ByteSink& out) {
  return stream(type_byte(FrameType::kDecompress), {}, in, out);
}

Bytes DaemonClient::one_frame_request(uint8_t type, ByteView payload) {
  const uint32_t id = ++next_id_;
  send_frame(type, id, payload);
  for (;;) {
    Frame f;
    try {
      f = read_frame();
    } catch (const proto::ProtocolError&) {
      throw;
    } catch (const IoError& e) {
      connection_lost(e.what());
    }
    if (f.header.type == FrameType::kError &&
        (f.header.request_id == 0 || f.header.request_id == id)) {
      auto [code, message] = proto::decode_error(f.payload);
      proto::throw_daemon_error(code, message);
    }
    if (f.header.request_id != id) continue;
    if (f.header.type != FrameType::kResult) {
      throw proto::ProtocolError(fmt::format("unexpected frame type 0x{:02x} from lmzd",
                                             static_cast<unsigned>(f.header.type)));
    }
    return std::move(f.payload);
  }
}

void DaemonClient::decode_windows(const Hash128& model, StageId stage,
                                  std::span<const EncodedWindowView> windows,
                                  std::span<const MutableByteView> out) {
  if (out.size() != windows.size())
    throw UsageError("decode_windows: out and windows differ in size");
  std::lock_guard lock(*mutex_);
  const uint64_t limit = info_.max_frame_payload;
  size_t begin = 0;
  while (begin < windows.size()) {
    // The largest run of windows whose request and result both fit a frame.
    uint64_t request = 24;
    uint64_t raw = 0;
    size_t end = begin;
    while (end < windows.size() && end - begin < info_.max_batch_windows) {
      uint64_t req_next = request + 8 + windows[end].coded.size();
      uint64_t raw_next = raw + windows[end].raw_size;
      if (req_next > limit || raw_next > limit) break;
      request = req_next;
      raw = raw_next;
      ++end;
    }
    if (end == begin) {
      throw UsageError(
          fmt::format("window {} ({} coded, {} raw bytes) exceeds lmzd's frame limit of {}", begin,
                      windows[begin].coded.size(), windows[begin].raw_size, limit));
    }
    std::vector<ByteView> coded;
    std::vector<size_t> raw_sizes;
    for (size_t i = begin; i < end; ++i) {
      coded.push_back(windows[i].coded);
      raw_sizes.push_back(windows[i].raw_size);
      if (out[i].size() != windows[i].raw_size) {
        throw UsageError(fmt::format("decode_windows: out[{}] has {} bytes, the window {}", i,
                                     out[i].size(), windows[i].raw_size));
      }
    }
    Bytes result = one_frame_request(type_byte(FrameType::kDecodeWindows),
                                     proto::encode_decode_windows(model, stage, coded, raw_sizes));
    if (result.size() != raw) {
      throw proto::ProtocolError(
          fmt::format("lmzd decoded {} bytes where {} were asked for", result.size(), raw));
    }
    size_t at = 0;
    for (size_t i = begin; i < end; ++i) {
      std::memcpy(out[i].data(), result.data() + at, out[i].size());
      at += out[i].size();
    }
    begin = end;
  }
}

std::vector<Bytes> DaemonClient::encode_windows(const Hash128& model, StageId stage,
                                                std::span<const ByteView> windows) {
  std::lock_guard lock(*mutex_);
  const uint64_t limit = info_.max_frame_payload / 2;
  std::vector<Bytes> coded;
  coded.reserve(windows.size());
  size_t begin = 0;
  while (begin < windows.size()) {
    uint64_t raw = 0;
    size_t end = begin;
    while (end < windows.size() && end - begin < info_.max_batch_windows &&
           raw + windows[end].size() + 4 * (end - begin + 1) + 24 <= limit) {
      raw += windows[end].size();
      ++end;
    }
    if (end == begin) {
      throw UsageError(fmt::format("window {} ({} bytes) exceeds lmzd's limit of {} raw bytes",
                                   begin, windows[begin].size(), limit));
    }
    auto part = windows.subspan(begin, end - begin);
    Bytes result = one_frame_request(type_byte(FrameType::kEncodeWindows),
                                     proto::encode_encode_windows(model, stage, part));
    for (auto& c : proto::decode_encoded_windows(result, part.size()))
      coded.push_back(std::move(c));
    begin = end;
  }
  return coded;
}

std::map<std::string, std::string> DaemonClient::status() {
  std::lock_guard lock(*mutex_);
  return proto::decode_status(one_frame_request(type_byte(FrameType::kStatus), {}));
}

}  // namespace lmz
