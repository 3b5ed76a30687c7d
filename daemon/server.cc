#include "daemon/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>  // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "daemon/handlers.h"
#include "daemon/log.h"
#include "daemon/protocol.h"
#include "daemon/request.h"
#include "daemon/scheduler.h"
#include "daemon/worker_pool.h"
#include "libcodec/predictor.h"

namespace lmz::daemon {
namespace {

namespace asio = boost::asio;
using Stream = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;
using proto::ErrorCode;
using proto::FrameType;

// DATA payloads the daemon sends are at most this big (and the frame limit).
constexpr uint32_t kOutputChunk = 256u << 10;
// A frame's payload is read in chunks that grow with what arrived, from this.
constexpr size_t kPayloadChunk = 64u << 10;
// Output queued for a connection beyond what its handlers may queue, above
// which the daemon stops reading it: replies the I/O thread makes itself
// (WELCOME, STATUS, refusals, CREDIT) that the client leaves unread.
constexpr size_t kUnreadReplyAllowance = 1u << 20;
// After the grace period, aborted requests get this long to end before the
// daemon exits regardless.
constexpr auto kHardStopDelay = std::chrono::seconds(10);

class Connection;

// Connections whose peer has no credentials count as this one user.
constexpr uint32_t kUnknownUser = UINT32_MAX;

// The peer's process, user and group; pid 0 and kUnknownUser where the
// socket cannot tell.
ucred peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    cred = ucred{0, kUnknownUser, kUnknownUser};
  }
  return cred;
}

}  // namespace

struct Server::Impl {
  Impl(const DaemonConfig& c, ModelService& m, std::string d)
      : config(c),
        models(m),
        device(std::move(d)),
        acceptor(io),
        signals(io),
        grace_timer(io),
        hard_timer(io),
        pool(std::make_unique<WorkerPool>(c.workers)),
        connections_per_user_limit(connections_per_user(c)) {}

  void listen();
  void accept();
  // Why a new connection of user `uid` is refused, or empty when it is not.
  std::string connection_refusal(uint32_t uid) const;
  void begin_shutdown();
  void maybe_finish();
  proto::StatusMap status() const;

  DaemonConfig config;
  ModelService& models;
  std::string device;
  asio::io_context io;
  Stream::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer grace_timer;
  asio::steady_timer hard_timer;
  std::unique_ptr<WorkerPool> pool;
  std::string bound_path;  // socket file we created (unlinked at exit)

  std::set<std::shared_ptr<Connection>> connections;
  // Open connections per peer uid, at most connections_per_user_limit each,
  // so that no user can take every connection.
  std::map<uint32_t, uint32_t> connections_of_user;
  const uint32_t connections_per_user_limit;
  bool shutting_down = false;
  uint64_t next_connection = 1;
  uint64_t active_requests = 0;
  Clock::time_point started = Clock::now();

  // Counters for STATUS (I/O thread only).
  uint64_t connections_total = 0;
  uint64_t requests_total = 0;
  uint64_t requests_failed = 0;
  uint64_t frames_in = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server::Impl& server, Stream::socket socket, uint64_t number, const ucred& peer)
      : server_(server),
        socket_(std::move(socket)),
        idle_timer_(server.io),
        number_(number),
        peer_(peer) {}

  void start() {
    log_peer();
    std::weak_ptr<Connection> weak = weak_from_this();
    asio::io_context& io = server_.io;
    outbox_ = std::make_shared<Outbox>(
        [weak, &io](Bytes frame) {
          asio::post(io, [weak, frame = std::move(frame)]() mutable {
            if (auto self = weak.lock()) self->queue_frame(std::move(frame), true);
          });
        },
        server_.config.output_buffer);
    last_frame_ = Clock::now();
    arm_idle_timer(std::chrono::milliseconds(server_.config.idle_timeout_ms));
    read_header();
  }

  size_t active() const { return requests_.size(); }

  // Shutdown began: refuse new requests; close now if nothing is running.
  void drain() {
    if (requests_.empty()) fail(ErrorCode::kShuttingDown, "lmzd is shutting down");
  }

  void abort_all(ErrorCode code, const std::string& message) {
    for (auto& [id, request] : requests_) request->abort(code, message);
  }

  // Closes the socket at once; running handlers see their request aborted.
  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    idle_timer_.cancel(ignored);
    socket_.close(ignored);
    outbox_->close();
    abort_all(ErrorCode::kCancelled, "the client connection closed");
    for (auto& [frame, counted] : write_queue_) {
      if (counted) outbox_->written(frame.size());
    }
    write_queue_.clear();
    queued_bytes_ = 0;
    server_.connections.erase(shared_from_this());
    auto user = server_.connections_of_user.find(peer_.uid);
    if (user != server_.connections_of_user.end() && --user->second == 0) {
      server_.connections_of_user.erase(user);
    }
    server_.maybe_finish();
  }

 private:
  void log_peer() {
    if (peer_.uid != kUnknownUser) {
      log("connection {} from pid {} uid {} gid {}", number_, peer_.pid, peer_.uid, peer_.gid);
    } else {
      log("connection {} (peer credentials unavailable)", number_);
    }
  }

  void arm_idle_timer(Clock::duration after) {
    idle_timer_.expires_after(after);
    idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->on_idle_timer();
    });
  }

  // Closes a connection that sent nothing for idle_timeout_ms while no request
  // of it is computing (requests waiting for client input count as idle).
  void on_idle_timer() {
    if (closed_) return;
    auto limit = std::chrono::milliseconds(server_.config.idle_timeout_ms);
    auto silent = Clock::now() - last_frame_;
    if (silent < limit) {
      arm_idle_timer(limit - silent);
      return;
    }
    if (closing_) {  // the client does not even read our last frames
      close();
      return;
    }
    // Waiting for the client: no request, a request still expecting input,
    // or output piled up that the client does not read.
    bool waiting_for_client =
        requests_.empty() || read_paused_ || outbox_->queued() >= server_.config.output_buffer;
    for (auto& [id, request] : requests_) {
      if (!request->input_ended()) waiting_for_client = true;
    }
    if (!waiting_for_client) {
      arm_idle_timer(limit);
      return;
    }
    // Bytes the client sent that this loop has not read yet (a busy or
    // starved daemon): the client is not the idle one. Not while reading is
    // paused, where unread bytes are the client's own backlog.
    boost::system::error_code ec;
    if (!read_paused_ && socket_.available(ec) > 0 && !ec) {
      arm_idle_timer(limit);
      return;
    }
    log("connection {}: idle for {} ms, closing", number_, server_.config.idle_timeout_ms);
    fail(ErrorCode::kIdleTimeout,
         fmt::format("no frame for {} ms; closing the connection", server_.config.idle_timeout_ms));
  }

  void read_header() {
    asio::async_read(socket_, asio::buffer(header_buf_, proto::kHeaderSize),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       self->on_header(ec);
                     });
  }

  void on_header(const boost::system::error_code& ec) {
    if (closed_ || closing_) return;
    if (ec) {
      if (!requests_.empty()) {
        log("connection {}: client went away with {} request(s) running", number_,
            requests_.size());
      }
      close();
      return;
    }
    header_ = proto::decode_header(header_buf_);
    uint32_t limit = hello_done_ ? server_.config.max_frame : proto::kMaxHelloPayload;
    if (header_.length > limit) {
      fail(ErrorCode::kFrameTooLarge,
           fmt::format("frame of type 0x{:02x} announces {} payload bytes; the limit is {}",
                       static_cast<unsigned>(header_.type), header_.length, limit));
      return;
    }
    if (header_.flags != 0) {
      fail(ErrorCode::kProtocol, fmt::format("frame flags 0x{:04x} are not 0", header_.flags));
      return;
    }
    payload_.clear();
    read_payload();
  }

  // Reads the payload in growing chunks, so that a length the client does
  // not back with bytes costs no memory: the buffer is at most twice the
  // bytes received plus kPayloadChunk (spec/PROTOCOL.md, "Memory bounds").
  void read_payload() {
    size_t have = payload_.size();
    if (have == header_.length) {
      on_frame();
      if (!closed_ && !closing_) continue_reading();
      return;
    }
    size_t want = std::min<size_t>(header_.length - have, std::max(kPayloadChunk, have));
    payload_.resize(have + want);
    asio::async_read(socket_, asio::buffer(payload_.data() + have, want),
                     [self = shared_from_this()](const boost::system::error_code& e, size_t) {
                       if (self->closed_ || self->closing_) return;
                       if (e) {
                         self->close();
                         return;
                       }
                       self->read_payload();
                     });
  }

  // Reads the next frame, unless the client leaves our answers unread: then
  // the daemon stops reading it (TCP-like backpressure) until the queue
  // drains, so a client that sends requests without reading the replies
  // cannot make the daemon queue unbounded output.
  void continue_reading() {
    if (queued_bytes_ > pause_threshold()) {
      read_paused_ = true;
      return;
    }
    read_header();
  }

  // Output the handlers may queue (each running request adds at most one
  // chunk beyond output_buffer), plus the allowance for unread replies.
  size_t pause_threshold() const {
    const auto& c = server_.config;
    return size_t{c.output_buffer} + size_t{c.max_requests} * std::min(kOutputChunk, c.max_frame) +
           kUnreadReplyAllowance;
  }

  void on_frame() {
    last_frame_ = Clock::now();
    server_.frames_in += 1;
    server_.bytes_in += proto::kHeaderSize + payload_.size();
    try {
      dispatch();
    } catch (const proto::ProtocolError& e) {
      fail(ErrorCode::kProtocol, e.what());
    }
  }

  void dispatch() {
    const uint32_t id = header_.request_id;
    if (!hello_done_) {
      if (header_.type != FrameType::kHello || id != 0) {
        throw proto::ProtocolError("the first frame must be HELLO with request id 0");
      }
      proto::Hello hello = proto::decode_hello(payload_);
      if (hello.min_version > proto::kProtocolVersion ||
          hello.max_version < proto::kProtocolVersion) {
        fail(ErrorCode::kVersion,
             fmt::format("client speaks protocol versions {}..{}; lmzd speaks {}",
                         hello.min_version, hello.max_version, proto::kProtocolVersion));
        return;
      }
      hello_done_ = true;
      send(FrameType::kWelcome, 0, proto::encode_welcome(welcome()));
      return;
    }
    switch (header_.type) {
      case FrameType::kCompress:
      case FrameType::kDecompress:
      case FrameType::kDecodeWindows:
      case FrameType::kEncodeWindows:
      case FrameType::kStatus:
        start_request(id);
        return;
      case FrameType::kData:
      case FrameType::kEnd:
      case FrameType::kCancel: {
        auto request = find_request(id);
        if (!request) return;  // it already ended; frames in flight are dropped
        if (header_.type == FrameType::kCancel) {
          request->abort(ErrorCode::kCancelled, "cancelled by the client");
          return;
        }
        if (request->kind() != FrameType::kCompress && request->kind() != FrameType::kDecompress) {
          throw proto::ProtocolError(
              fmt::format("DATA/END for request {}, which is not a streaming request", id));
        }
        if (header_.type == FrameType::kEnd) {
          if (!payload_.empty())
            throw proto::ProtocolError("END from the client carries a payload");
          request->end_input();
          return;
        }
        if (!request->push_input(std::move(payload_))) {
          fail(ErrorCode::kLimit,
               fmt::format("request {} sent data beyond its credit or after END", id));
        }
        return;
      }
      default:
        throw proto::ProtocolError(
            fmt::format("unexpected frame type 0x{:02x}", static_cast<unsigned>(header_.type)));
    }
  }

  // The request `id` if it is active, nullptr if it already ended; throws
  // for an id this connection never started.
  std::shared_ptr<Request> find_request(uint32_t id) {
    if (id == 0 || id > last_id_) {
      throw proto::ProtocolError(fmt::format("frame for request {}, which was never started", id));
    }
    auto it = requests_.find(id);
    return it == requests_.end() ? nullptr : it->second;
  }

  void start_request(uint32_t id) {
    if (id == 0 || id <= last_id_) {
      throw proto::ProtocolError(
          fmt::format("request id {} is not above the previous one ({})", id, last_id_));
    }
    last_id_ = id;
    server_.requests_total += 1;
    const FrameType type = header_.type;
    if (server_.shutting_down) {
      server_.requests_failed += 1;
      send(FrameType::kError, id,
           proto::encode_error(ErrorCode::kShuttingDown, "lmzd is shutting down"));
      return;
    }
    if (type == FrameType::kStatus) {
      if (!payload_.empty()) throw proto::ProtocolError("STATUS carries a payload");
      send(FrameType::kResult, id, proto::encode_status(server_.status()));
      return;
    }
    if (requests_.size() >= server_.config.max_requests) {
      server_.requests_failed += 1;
      send(FrameType::kError, id,
           proto::encode_error(ErrorCode::kLimit,
                               fmt::format("a connection may run at most {} requests at once",
                                           server_.config.max_requests)));
      return;
    }
    proto::CompressParams params;
    if (type == FrameType::kCompress) params = proto::decode_compress(payload_);
    if (type == FrameType::kDecompress && !payload_.empty()) {
      throw proto::ProtocolError("DECOMPRESS carries a payload");
    }
    // A strong reference: the server's request count must come down even
    // when the connection closed meanwhile. (The cycle through requests_
    // ends when the request is erased and its handler task has ended.)
    auto on_finished = [self = shared_from_this()](uint32_t done_id) {
      asio::post(self->server_.io, [self, done_id] { self->request_finished(done_id); });
    };
    auto request = std::make_shared<Request>(id, type, outbox_, server_.config.request_credit,
                                             std::min(kOutputChunk, server_.config.max_frame),
                                             std::move(on_finished));
    requests_[id] = request;
    server_.active_requests += 1;
    ModelService& models = server_.models;
    WindowLimits limits{server_.config.max_batch_windows, server_.config.max_frame};
    switch (type) {
      case FrameType::kCompress:
        server_.pool->submit(
            peer_.uid, [request, params, &models] { handle_compress(*request, params, models); });
        break;
      case FrameType::kDecompress:
        server_.pool->submit(peer_.uid,
                             [request, &models] { handle_decompress(*request, models); });
        break;
      default: {
        auto payload = std::make_shared<Bytes>(std::move(payload_));
        bool decode = type == FrameType::kDecodeWindows;
        server_.pool->submit(peer_.uid, [request, payload, limits, decode, &models] {
          if (decode) {
            handle_decode_windows(*request, *payload, limits, models);
          } else {
            handle_encode_windows(*request, *payload, limits, models);
          }
        });
      }
    }
  }

  void request_finished(uint32_t id) {
    auto it = requests_.find(id);
    if (it == requests_.end()) return;
    if (it->second->failed()) server_.requests_failed += 1;
    requests_.erase(it);
    server_.active_requests -= 1;
    if (closing_ && !closed_ && requests_.empty() && !writing_) {
      close();
      return;
    }
    if (server_.shutting_down && requests_.empty() && !closed_) drain();
    server_.maybe_finish();
  }

  proto::Welcome welcome() const {
    proto::Welcome w;
    w.max_frame_payload = server_.config.max_frame;
    w.max_requests = server_.config.max_requests;
    w.request_credit = server_.config.request_credit;
    w.max_batch_windows = server_.config.max_batch_windows;
    w.idle_timeout_ms = server_.config.idle_timeout_ms;
    w.model_hash = server_.models.default_model.id().hash;
    w.model_name = server_.models.default_model.id().name;
    w.device = server_.device;
    return w;
  }

  // Frames made on the I/O thread (not counted by the outbox).
  void send(FrameType type, uint32_t id, ByteView payload) {
    queue_frame(proto::make_frame(type, id, payload), false);
  }

  // Sends ERROR with request id 0, stops reading, and closes once the
  // frames queued so far are written.
  void fail(ErrorCode code, const std::string& message) {
    if (closed_ || closing_) return;
    if (code != ErrorCode::kShuttingDown) {
      log("connection {}: {} error: {}", number_, proto::error_code_name(code), message);
    }
    send(FrameType::kError, 0, proto::encode_error(code, message));
    closing_ = true;
    abort_all(ErrorCode::kCancelled, "the connection is closing: " + message);
    boost::system::error_code ignored;
    socket_.shutdown(Stream::socket::shutdown_receive, ignored);
    last_frame_ = Clock::now();
    // A client that does not read even these last frames is closed after one
    // more idle period (on_idle_timer); the timer may be the caller, so arm
    // it again here.
    arm_idle_timer(std::chrono::milliseconds(server_.config.idle_timeout_ms));
  }

  void queue_frame(Bytes frame, bool counted) {
    if (closed_) {
      if (counted) outbox_->written(frame.size());
      return;
    }
    queued_bytes_ += frame.size();
    write_queue_.emplace_back(std::move(frame), counted);
    if (!writing_) write_next();
  }

  void write_next() {
    writing_ = true;
    asio::async_write(socket_, asio::buffer(write_queue_.front().first),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                        self->on_written(ec, n);
                      });
  }

  void on_written(const boost::system::error_code& ec, size_t n) {
    writing_ = false;
    if (closed_) return;
    auto [frame, counted] = std::move(write_queue_.front());
    write_queue_.pop_front();
    queued_bytes_ -= frame.size();
    if (counted) outbox_->written(frame.size());
    server_.bytes_out += n;
    if (ec) {
      close();
      return;
    }
    if (read_paused_ && !closing_ && queued_bytes_ <= pause_threshold()) {
      read_paused_ = false;
      read_header();
    }
    if (!write_queue_.empty()) {
      write_next();
    } else if (closing_ && requests_.empty()) {
      close();
    }
  }

  Server::Impl& server_;
  Stream::socket socket_;
  asio::steady_timer idle_timer_;
  const uint64_t number_;
  // Whose requests these are, for the per-user limits (connections, the
  // worker pool); connections without credentials share kUnknownUser.
  const ucred peer_;
  std::shared_ptr<Outbox> outbox_;
  uint8_t header_buf_[proto::kHeaderSize] = {};
  proto::FrameHeader header_;
  Bytes payload_;
  std::map<uint32_t, std::shared_ptr<Request>> requests_;
  uint32_t last_id_ = 0;
  bool hello_done_ = false;
  bool closing_ = false;  // an error was sent; close after the writes
  bool closed_ = false;
  std::deque<std::pair<Bytes, bool>> write_queue_;  // frame, counted by the outbox
  size_t queued_bytes_ = 0;                         // bytes in write_queue_
  bool writing_ = false;
  bool read_paused_ = false;  // the client does not read; continue_reading() stopped
  Clock::time_point last_frame_;
};

}  // namespace

void Server::Impl::listen() {
  int passed = sd_listen_fds(1);
  if (passed < 0) throw IoError(fmt::format("sd_listen_fds failed: {}", std::strerror(-passed)));
  if (passed > 1) {
    throw IoError(fmt::format("systemd passed {} sockets; lmzd listens on exactly one", passed));
  }
  if (passed == 1) {
    int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0) {
      throw IoError("the socket systemd passed is not a listening Unix stream socket");
    }
    acceptor.assign(Stream(), fd);
    log("listening on the socket passed by systemd (fd {})", fd);
    return;
  }
  const std::string& path = config.socket_path;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    throw IoError(fmt::format("socket path {} is too long", path));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw IoError(fmt::format("{} exists and is not a socket; not replacing it", path));
    }
    // A socket file: in use by a live daemon, or left over by a dead one.
    Stream::socket probe(io);
    boost::system::error_code ec;
    probe.connect(Stream::endpoint(path), ec);
    if (!ec) throw IoError(fmt::format("another daemon is already listening on {}", path));
    ::unlink(path.c_str());
  }
  boost::system::error_code ec;
  acceptor.open(Stream(), ec);
  if (!ec) acceptor.bind(Stream::endpoint(path), ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw IoError(fmt::format("cannot listen on {}: {}", path, ec.message()));
  ::chmod(path.c_str(), config.socket_mode);
  bound_path = path;
  log("listening on {}", path);
}

std::string Server::Impl::connection_refusal(uint32_t uid) const {
  if (connections.size() >= config.max_connections) {
    return fmt::format("lmzd serves at most {} connections", config.max_connections);
  }
  const auto user = connections_of_user.find(uid);
  if (user != connections_of_user.end() && user->second >= connections_per_user_limit) {
    return fmt::format("lmzd serves at most {} connections per user", connections_per_user_limit);
  }
  return {};
}

void Server::Impl::accept() {
  acceptor.async_accept([this](const boost::system::error_code& ec, Stream::socket socket) {
    if (shutting_down) return;
    if (ec) {
      if (ec != asio::error::operation_aborted) log("accept failed: {}", ec.message());
      if (ec == asio::error::operation_aborted) return;
    } else {
      const ucred peer = peer_credentials(socket.native_handle());
      const std::string refusal = connection_refusal(peer.uid);
      if (!refusal.empty()) {
        // Best effort: tell the client why before closing.
        Bytes frame = proto::make_frame(FrameType::kError, 0,
                                        proto::encode_error(ErrorCode::kLimit, refusal));
        ::send(socket.native_handle(), frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        log("refused a connection from uid {}: {}",
            peer.uid == kUnknownUser ? std::string("unknown") : std::to_string(peer.uid), refusal);
      } else {
        auto connection =
            std::make_shared<Connection>(*this, std::move(socket), next_connection++, peer);
        connections.insert(connection);
        ++connections_of_user[peer.uid];
        connections_total += 1;
        connection->start();
      }
    }
    accept();
  });
}

void Server::Impl::begin_shutdown() {
  if (shutting_down) {
    // A second signal: stop the running requests now.
    log("second stop signal: ending the running requests now");
    for (auto& c : connections) c->abort_all(ErrorCode::kShuttingDown, "lmzd is shutting down");
    return;
  }
  shutting_down = true;
  sd_notify(0, "STOPPING=1");
  log("stopping: no new connections; {} request(s) running get {} ms to finish", active_requests,
      config.shutdown_grace_ms);
  boost::system::error_code ignored;
  acceptor.close(ignored);
  if (!bound_path.empty()) ::unlink(bound_path.c_str());
  // drain() may close (and erase) the connection: iterate over a copy.
  auto all = connections;
  for (auto& c : all) c->drain();
  grace_timer.expires_after(std::chrono::milliseconds(config.shutdown_grace_ms));
  grace_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    if (active_requests > 0) log("grace period over: ending {} request(s)", active_requests);
    for (auto& c : connections) {
      c->abort_all(ErrorCode::kShuttingDown,
                   "lmzd is shutting down; the request was stopped after the grace period");
    }
    hard_timer.expires_after(kHardStopDelay);
    hard_timer.async_wait([this](const boost::system::error_code& e) {
      if (e) return;
      log("requests did not end {} s after the grace period; exiting anyway",
          std::chrono::duration_cast<std::chrono::seconds>(kHardStopDelay).count());
      auto open = connections;
      for (auto& c : open) c->close();
      io.stop();
    });
  });
  maybe_finish();
}

void Server::Impl::maybe_finish() {
  if (!shutting_down || !connections.empty() || active_requests > 0) return;
  boost::system::error_code ignored;
  grace_timer.cancel(ignored);
  hard_timer.cancel(ignored);
  signals.cancel(ignored);
  io.stop();
}

proto::StatusMap Server::Impl::status() const {
  SchedulerCounters s = models.scheduler.counters();
  auto uptime = std::chrono::duration<double>(Clock::now() - started).count();
  proto::StatusMap m;
  m["protocol_version"] = std::to_string(proto::kProtocolVersion);
  m["model"] = models.default_model.id().name;
  m["model_hash"] = proto::hash_hex(models.default_model.id().hash);
  m["device"] = device;
  m["uptime_s"] = fmt::format("{:.1f}", uptime);
  m["connections"] = std::to_string(connections.size());
  m["connections_total"] = std::to_string(connections_total);
  m["requests_active"] = std::to_string(active_requests);
  m["requests_total"] = std::to_string(requests_total);
  m["requests_failed"] = std::to_string(requests_failed);
  m["workers"] = std::to_string(config.workers);
  m["workers_busy"] = std::to_string(pool->busy());
  m["workers_per_user"] = std::to_string(pool->per_user_limit());
  m["connections_per_user"] = std::to_string(connections_per_user_limit);
  m["requests_waiting_for_worker"] = std::to_string(pool->queued());
  m["queue_windows"] = std::to_string(s.queued_windows);
  m["queue_jobs"] = std::to_string(s.queued_jobs);
  m["batches"] = std::to_string(s.batches);
  m["batched_jobs"] = std::to_string(s.jobs);
  m["windows_encoded"] = std::to_string(s.windows_encoded);
  m["windows_decoded"] = std::to_string(s.windows_decoded);
  m["raw_bytes_encoded"] = std::to_string(s.raw_bytes_encoded);
  m["raw_bytes_decoded"] = std::to_string(s.raw_bytes_decoded);
  m["model_busy_s"] = fmt::format("{:.3f}", s.busy_seconds);
  m["windows_per_batch"] =
      s.batches == 0
          ? "0"
          : fmt::format("{:.2f}", double(s.windows_encoded + s.windows_decoded) / s.batches);
  m["bytes_in"] = std::to_string(bytes_in);
  m["bytes_out"] = std::to_string(bytes_out);
  m["frames_in"] = std::to_string(frames_in);
  m["shutting_down"] = shutting_down ? "1" : "0";
  return m;
}

Server::Server(const DaemonConfig& config, ModelService& models, std::string device)
    : impl_(std::make_unique<Impl>(config, models, std::move(device))) {}

Server::~Server() = default;

void Server::run() {
  Impl& s = *impl_;
  s.listen();
  s.signals.add(SIGTERM);
  s.signals.add(SIGINT);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&s, &on_signal](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        log("received {}", signo == SIGTERM ? "SIGTERM" : "SIGINT");
        s.begin_shutdown();
        s.signals.async_wait(on_signal);
      };
  s.signals.async_wait(on_signal);
  s.accept();
  sd_notifyf(0, "READY=1\nSTATUS=serving model %s on %s", s.models.default_model.id().name.c_str(),
             s.device.c_str());
  log("ready: model {} ({}) on {}, {} workers", s.models.default_model.id().name,
      proto::hash_hex(s.models.default_model.id().hash), s.device, s.config.workers);
  s.io.run();
  // Every request has ended (or the hard stop closed their connections):
  // the handlers finish promptly; join them before the I/O objects go.
  s.pool.reset();
  if (!s.bound_path.empty()) ::unlink(s.bound_path.c_str());
  log("stopped");
}

}  // namespace lmz::daemon
