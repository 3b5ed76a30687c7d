// Integration tests: the real built lmzd on a temporary socket, with the
// stand-in model (order2), driven through the client library and through raw
// frames.
#define BOOST_TEST_MODULE lmzd
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "daemon/client.h"
#include "daemon/protocol.h"
#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "libcodec/engine/load.h"
#include "libcodec/errors.h"
#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"
#include "tests/daemon/harness.h"

namespace lmz {
namespace {

using namespace std::chrono_literals;
using proto::ErrorCode;
using proto::FrameType;
using test::LmzdProcess;
using test::RawConnection;
using test::TempDir;

// Small blocks and windows: several blocks and many windows per input while
// the inputs stay small enough for the stand-in model to be quick.
WriterOptions small_options() {
  WriterOptions o;
  o.block_size = 32u << 10;
  o.window_size = 4u << 10;
  o.log_window_size = 8u << 10;  // differs from the writer's default: must travel
  return o;
}

DaemonCompressOptions daemon_options() {
  DaemonCompressOptions o;
  o.writer = small_options();
  return o;
}

// A running lmzd with its own temporary directory and socket.
struct Daemon {
  explicit Daemon(std::vector<std::string> extra = {})
      : socket(dir.path() / "lmzd.sock"),
        process(std::make_unique<LmzdProcess>(dir, test::lmzd_args(socket, std::move(extra)))) {}

  DaemonClient client() const {
    auto c = DaemonClient::connect(socket.string());
    if (!c) throw std::runtime_error("no daemon at " + socket.string());
    return std::move(*c);
  }

  TempDir dir;
  std::filesystem::path socket;
  std::unique_ptr<LmzdProcess> process;
};

// The in-process codec with the same model and stage the daemon uses.
struct Local {
  ModelRegistry registry{ModelOptions{}};
  WindowCodec& codec = registry.codec(registry.by_name_or_path("order2"), kDirectStage);
  CodecResolver resolver() {
    return [this](const Hash128& hash, const std::string& name, StageId stage) -> WindowCodec& {
      return registry.codec(registry.by_hash(hash, name), stage);
    };
  }
};

Bytes daemon_compress(DaemonClient& client, ByteView input,
                      const DaemonCompressOptions& options = daemon_options()) {
  MemorySource in(input);
  MemorySink out;
  DaemonTransfer t = client.compress(in, out, options);
  if (t.input_bytes != input.size() || t.output_bytes != out.data.size()) {
    throw std::runtime_error("compress transfer counts are wrong");
  }
  return std::move(out.data);
}

Bytes daemon_decompress(DaemonClient& client, ByteView archive) {
  MemorySource in(archive);
  MemorySink out;
  client.decompress(in, out);
  return std::move(out.data);
}

// The daemon's status once no request is active any more (a request's
// final frame can reach the client a moment before the daemon's books close).
std::map<std::string, std::string> settled_status(DaemonClient& c, const std::string& connections) {
  std::map<std::string, std::string> s;
  for (int tries = 0; tries < 100; ++tries) {
    s = c.status();
    if (s.at("requests_active") == "0" && s.at("connections") == connections) break;
    std::this_thread::sleep_for(50ms);
  }
  return s;
}

// A source that yields `chunks` chunks of 4 KiB, sleeping before each.
class SlowSource final : public ByteSource {
 public:
  SlowSource(Bytes data, std::chrono::milliseconds pause) : data_(std::move(data)), pause_(pause) {}
  size_t read(MutableByteView out) override {
    std::this_thread::sleep_for(pause_);
    size_t n = std::min<size_t>({out.size(), data_.size() - pos_, 4096});
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  Bytes data_;
  std::chrono::milliseconds pause_;
  size_t pos_ = 0;
};

// With a neural model and --device auto, lmzd reports where the model really
// runs, not the setting. (Builds without the engine cannot load the model.)
BOOST_AUTO_TEST_CASE(handshake_reports_the_device_auto_resolved_to) {
  if (!neural_engine_available()) return;
  const std::string tiny = std::string(LMZ_SOURCE_DIR) + "/models/tiny.lmzm";
  Daemon d({"--model", tiny, "--device", "auto"});
  DaemonClient c = d.client();
  BOOST_TEST(c.info().model.name == "tiny");
  BOOST_TEST(c.info().device == (cuda_available() ? "cuda" : "cpu"));
  BOOST_TEST(c.status().at("device") == c.info().device);
}

BOOST_AUTO_TEST_CASE(handshake_and_status) {
  Daemon d;
  DaemonClient c = d.client();
  BOOST_TEST(c.info().protocol_version == proto::kProtocolVersion);
  BOOST_TEST(c.info().model.name == "order2");
  Local local;
  BOOST_TEST((c.info().model.hash == local.codec.model().hash));
  BOOST_TEST(c.info().device == "cpu");
  BOOST_TEST(c.info().max_frame_payload >= (64u << 10));
  auto s = c.status();
  BOOST_TEST(s.at("model") == "order2");
  BOOST_TEST(s.at("model_hash") == proto::hash_hex(local.codec.model().hash));
  BOOST_TEST(s.at("device") == "cpu");
  BOOST_TEST(s.at("connections") == "1");
  BOOST_TEST(s.at("requests_active") == "0");
  for (const char* key : {"queue_windows", "batches", "windows_encoded", "windows_decoded",
                          "raw_bytes_encoded", "bytes_in", "bytes_out", "uptime_s"}) {
    BOOST_TEST_CONTEXT(key) {
      BOOST_TEST(s.count(key) == 1u);
    }
  }
  // Counters move with work.
  Bytes input = test::make_input(20000, 1);
  Bytes archive = daemon_compress(c, input);
  auto s2 = c.status();
  BOOST_TEST(std::stoull(s2.at("raw_bytes_encoded")) == input.size());
  // 20000 bytes in 4 KiB windows (prose) or 8 KiB windows (log-like).
  uint64_t windows = std::stoull(s2.at("windows_encoded"));
  BOOST_TEST((windows == 5u || windows == 3u));
  BOOST_TEST(std::stoull(s2.at("requests_total")) >= 3u);
}

BOOST_AUTO_TEST_CASE(no_daemon_gives_nullopt) {
  TempDir dir;
  BOOST_TEST(!DaemonClient::connect((dir.path() / "none.sock").string()).has_value());
}

BOOST_AUTO_TEST_CASE(sixteen_concurrent_clients_round_trip_identical_to_in_process) {
  Daemon d;
  Local local;
  constexpr int kClients = 16;
  std::vector<Bytes> inputs(kClients);
  for (int i = 0; i < kClients; ++i) {
    inputs[i] = test::make_input(40000 + 3000 * i, 100 + i);
    if (i % 5 == 0) {  // some binary: zstd or stored blocks
      std::mt19937 rng(i);
      for (int k = 0; k < 20000; ++k) inputs[i].push_back(static_cast<uint8_t>(rng()));
    }
  }
  std::vector<Bytes> archives(kClients);
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      try {
        DaemonClient c = d.client();
        archives[i] = daemon_compress(c, inputs[i]);
        if (daemon_decompress(c, archives[i]) != inputs[i]) failures[i] = "round trip differs";
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) {
    BOOST_TEST_CONTEXT("client " << i) {
      BOOST_TEST(failures[i] == "");
      BOOST_TEST((archives[i] == compress_buffer(inputs[i], local.codec, small_options())));
      BOOST_TEST((decompress_buffer(archives[i], local.resolver()) == inputs[i]));
    }
  }
  DaemonClient c = d.client();
  auto s = settled_status(c, "1");
  BOOST_TEST(std::stoull(s.at("batches")) <= std::stoull(s.at("batched_jobs")));
  BOOST_TEST(s.at("requests_active") == "0");
}

BOOST_AUTO_TEST_CASE(window_codec_and_random_access_through_the_daemon) {
  Daemon d;
  Local local;
  DaemonClient c = d.client();
  DaemonWindowCodec remote(c, c.info().model, kDirectStage);
  Bytes input = test::make_input(90000, 7);
  Bytes archive = compress_buffer(input, remote, small_options());
  BOOST_TEST((archive == compress_buffer(input, local.codec, small_options())));

  CodecResolver resolve = [&](const Hash128& hash, const std::string& name,
                              StageId stage) -> WindowCodec& {
    BOOST_TEST((hash == c.info().model.hash));
    BOOST_TEST(name == "order2");
    BOOST_TEST(stage == kDirectStage);
    return remote;
  };
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, resolve);
  Bytes part = reader.read(50000, 7000);
  BOOST_TEST((part == Bytes(input.begin() + 50000, input.begin() + 57000)));

  // A damaged archive is refused as corrupt, and the connection stays usable.
  Bytes damaged = archive;
  damaged[damaged.size() / 2] ^= 0x40;
  BOOST_CHECK_THROW(daemon_decompress(c, damaged), Error);
  BOOST_TEST(c.status().at("model") == "order2");
  // A truncated one too.
  Bytes truncated(archive.begin(), archive.begin() + archive.size() / 3);
  BOOST_CHECK_THROW(daemon_decompress(c, truncated), CorruptInput);
  // An unknown model hash is a model mismatch.
  DaemonCompressOptions other = daemon_options();
  other.model = Hash128{1, 2};
  BOOST_CHECK_THROW(daemon_compress(c, input, other), ModelMismatch);
  BOOST_TEST((daemon_decompress(c, archive) == input));
}

BOOST_AUTO_TEST_CASE(vanishing_client_does_not_disturb_others) {
  Daemon d;
  std::atomic<bool> stop{false};
  std::vector<std::string> failures(4);
  std::vector<int> rounds(4, 0);
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&, i] {
      try {
        DaemonClient c = d.client();
        while (!stop || rounds[i] == 0) {
          Bytes input = test::make_input(30000 + 1000 * rounds[i], 1000 * i + rounds[i]);
          if (daemon_decompress(c, daemon_compress(c, input)) != input) {
            failures[i] = "round trip differs";
            return;
          }
          ++rounds[i];
        }
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  }
  // Clients that vanish mid-stream: one in the middle of its input, one
  // while the daemon is sending output, one mid-frame.
  for (int k = 0; k < 3; ++k) {
    RawConnection raw(d.socket);
    raw.handshake();
    proto::CompressParams params;
    params.writer.block_size = 16u << 10;
    params.writer.window_size = 4u << 10;
    raw.send_frame(FrameType::kCompress, 1, proto::encode_compress(params));
    Bytes chunk = test::make_input(60000, 77 + k);
    raw.send_frame(FrameType::kData, 1, chunk);
    if (k == 1) {
      raw.send_frame(FrameType::kEnd, 1, {});
      raw.read_frame();  // some output is on its way
    }
    if (k == 2) {
      Bytes partial = proto::make_frame(FrameType::kData, 1, chunk);
      partial.resize(partial.size() / 2);
      raw.send_bytes(partial);
    }
  }  // closed here
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& t : workers) t.join();
  for (int i = 0; i < 4; ++i) {
    BOOST_TEST_CONTEXT("client " << i) {
      BOOST_TEST(failures[i] == "");
      BOOST_TEST(rounds[i] >= 1);
    }
  }
  // The daemon let go of everything the vanished clients held.
  DaemonClient c = d.client();
  auto s = settled_status(c, "1");
  BOOST_TEST(s.at("requests_active") == "0");
  BOOST_TEST(s.at("connections") == "1");
  Bytes input = test::make_input(10000, 5);
  BOOST_TEST((daemon_decompress(c, daemon_compress(c, input)) == input));
}

// Expects an ERROR frame with request id 0 and `code`, then the connection
// closed; returns the error's message.
std::string expect_connection_error(RawConnection& raw, ErrorCode code) {
  auto f = raw.read_frame(10s);
  BOOST_REQUIRE(f.has_value());
  BOOST_TEST(static_cast<int>(f->header.type) == static_cast<int>(FrameType::kError));
  BOOST_TEST(f->header.request_id == 0u);
  auto [got, message] = proto::decode_error(f->payload);
  BOOST_TEST_MESSAGE("lmzd said: " << message);
  BOOST_TEST(static_cast<int>(got) == static_cast<int>(code));
  BOOST_TEST(!message.empty());
  BOOST_TEST(raw.closed_by_peer());
  return message;
}

BOOST_AUTO_TEST_CASE(garbage_and_absurd_lengths_get_an_error_and_a_close) {
  Daemon d({"--max-frame", "262144", "--request-credit", "65536"});
  DaemonClient good = d.client();
  {  // Not our protocol at all; the length field reads as ~542 MB.
    RawConnection raw(d.socket);
    std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    raw.send_bytes(ByteView(reinterpret_cast<const uint8_t*>(http.data()), http.size()));
    expect_connection_error(raw, ErrorCode::kFrameTooLarge);
  }
  {  // A well-sized first frame that is not HELLO.
    RawConnection raw(d.socket);
    raw.send_frame(FrameType::kStatus, 1, {});
    expect_connection_error(raw, ErrorCode::kProtocol);
  }
  {  // HELLO with a bad magic.
    RawConnection raw(d.socket);
    Bytes hello = proto::encode_hello(proto::Hello{});
    hello[0] = 'X';
    raw.send_frame(FrameType::kHello, 0, hello);
    expect_connection_error(raw, ErrorCode::kProtocol);
  }
  {  // No common version.
    RawConnection raw(d.socket);
    raw.send_frame(FrameType::kHello, 0, proto::encode_hello(proto::Hello{7, 9}));
    expect_connection_error(raw, ErrorCode::kVersion);
  }
  {  // After the handshake: an absurd length.
    RawConnection raw(d.socket);
    raw.handshake();
    uint8_t header[proto::kHeaderSize];
    proto::encode_header({0xfffffff0u, FrameType::kData, 0, 1}, header);
    raw.send_bytes(ByteView(header, sizeof(header)));
    expect_connection_error(raw, ErrorCode::kFrameTooLarge);
  }
  {  // Just above the limit.
    RawConnection raw(d.socket);
    raw.handshake();
    uint8_t header[proto::kHeaderSize];
    proto::encode_header({262145, FrameType::kCompress, 0, 1}, header);
    raw.send_bytes(ByteView(header, sizeof(header)));
    expect_connection_error(raw, ErrorCode::kFrameTooLarge);
  }
  {  // An unknown frame type.
    RawConnection raw(d.socket);
    raw.handshake();
    raw.send_frame(static_cast<FrameType>(0x77), 1, {});
    expect_connection_error(raw, ErrorCode::kProtocol);
  }
  {  // Data for a request that was never started.
    RawConnection raw(d.socket);
    raw.handshake();
    raw.send_frame(FrameType::kData, 5, Bytes(10, 'x'));
    expect_connection_error(raw, ErrorCode::kProtocol);
  }
  {  // A malformed COMPRESS payload.
    RawConnection raw(d.socket);
    raw.handshake();
    raw.send_frame(FrameType::kCompress, 1, Bytes(5, 0));
    expect_connection_error(raw, ErrorCode::kProtocol);
  }
  {  // More input than the credit allows.
    RawConnection raw(d.socket);
    proto::Welcome w = raw.handshake();
    BOOST_TEST(w.request_credit == 65536u);
    raw.send_frame(FrameType::kCompress, 1, proto::encode_compress({}));
    raw.send_frame(FrameType::kData, 1, test::make_input(65537, 3));
    expect_connection_error(raw, ErrorCode::kLimit);
  }
  {  // Inconsistent DECODE_WINDOWS: a request-level error; the connection stays.
    RawConnection raw(d.socket);
    proto::Welcome w = raw.handshake();
    Bytes bad = proto::encode_decode_windows(w.model_hash, kDirectStage, {}, {});
    raw.send_frame(FrameType::kDecodeWindows, 1, bad);
    auto f = raw.read_frame();
    BOOST_REQUIRE(f.has_value());
    BOOST_TEST(f->header.request_id == 1u);
    BOOST_TEST(static_cast<int>(f->header.type) == static_cast<int>(FrameType::kError));
    BOOST_TEST(static_cast<int>(proto::decode_error(f->payload).first) ==
               static_cast<int>(ErrorCode::kBadRequest));
    raw.send_frame(FrameType::kStatus, 2, {});
    f = raw.read_frame();
    BOOST_REQUIRE(f.has_value());
    BOOST_TEST(static_cast<int>(f->header.type) == static_cast<int>(FrameType::kResult));
  }
  // The daemon kept serving throughout, this connection included.
  Bytes input = test::make_input(20000, 9);
  BOOST_TEST((daemon_decompress(good, daemon_compress(good, input)) == input));
  DaemonClient fresh = d.client();
  BOOST_TEST((daemon_decompress(fresh, daemon_compress(good, input)) == input));
}

// One connection carrying several requests at once (raw frames: the client
// library runs one at a time), the per-connection request limit, and CANCEL.
BOOST_AUTO_TEST_CASE(several_requests_on_one_connection_limit_and_cancel) {
  Daemon d({"--max-requests", "2"});
  Local local;
  RawConnection raw(d.socket);
  proto::Welcome w = raw.handshake();
  BOOST_TEST(w.max_requests == 2u);
  proto::CompressParams params;
  params.writer = small_options();
  Bytes a = test::make_input(50000, 21);
  Bytes b = test::make_input(30000, 22);
  raw.send_frame(FrameType::kCompress, 1, proto::encode_compress(params));
  raw.send_frame(FrameType::kCompress, 2, proto::encode_compress(params));
  raw.send_frame(FrameType::kCompress, 3, proto::encode_compress(params));  // over the limit
  // Interleave the two inputs in 10000-byte pieces.
  for (size_t off = 0; off < a.size(); off += 10000) {
    raw.send_frame(FrameType::kData, 1, ByteView(a).subspan(off, 10000));
    if (off < b.size()) raw.send_frame(FrameType::kData, 2, ByteView(b).subspan(off, 10000));
  }
  raw.send_frame(FrameType::kEnd, 2, {});
  raw.send_frame(FrameType::kEnd, 1, {});
  std::map<uint32_t, Bytes> output;
  std::map<uint32_t, FrameType> final_type;
  std::map<uint32_t, ErrorCode> error;
  while (final_type.size() < 3) {
    auto f = raw.read_frame();
    BOOST_REQUIRE(f.has_value());
    uint32_t id = f->header.request_id;
    BOOST_REQUIRE(id >= 1u);
    BOOST_REQUIRE(id <= 3u);
    switch (f->header.type) {
      case FrameType::kData:
        output[id].insert(output[id].end(), f->payload.begin(), f->payload.end());
        break;
      case FrameType::kCredit:
        break;
      case FrameType::kEnd:
        final_type[id] = FrameType::kEnd;
        BOOST_TEST(proto::decode_end(f->payload).output_bytes == output[id].size());
        break;
      case FrameType::kError:
        final_type[id] = FrameType::kError;
        error[id] = proto::decode_error(f->payload).first;
        break;
      default:
        BOOST_FAIL("unexpected frame type");
    }
  }
  BOOST_TEST(static_cast<int>(final_type[3]) == static_cast<int>(FrameType::kError));
  BOOST_TEST(static_cast<int>(error[3]) == static_cast<int>(ErrorCode::kLimit));
  BOOST_TEST(static_cast<int>(final_type[1]) == static_cast<int>(FrameType::kEnd));
  BOOST_TEST(static_cast<int>(final_type[2]) == static_cast<int>(FrameType::kEnd));
  BOOST_TEST((output[1] == compress_buffer(a, local.codec, small_options())));
  BOOST_TEST((output[2] == compress_buffer(b, local.codec, small_options())));

  // CANCEL: the request ends with ERROR cancelled; the connection goes on.
  raw.send_frame(FrameType::kDecompress, 7, {});
  raw.send_frame(FrameType::kData, 7, ByteView(output[1]).first(100));
  raw.send_frame(FrameType::kCancel, 7, {});
  std::optional<RawConnection::Frame> f;
  do {
    f = raw.read_frame();
    BOOST_REQUIRE(f.has_value());
  } while (f->header.type == FrameType::kCredit || f->header.type == FrameType::kData);
  BOOST_TEST(f->header.request_id == 7u);
  BOOST_TEST(static_cast<int>(f->header.type) == static_cast<int>(FrameType::kError));
  BOOST_TEST(static_cast<int>(proto::decode_error(f->payload).first) ==
             static_cast<int>(ErrorCode::kCancelled));
  // Frames for the ended request are ignored, not an error.
  raw.send_frame(FrameType::kData, 7, Bytes(10, 1));
  raw.send_frame(FrameType::kStatus, 8, {});
  f = raw.read_frame();
  BOOST_REQUIRE(f.has_value());
  BOOST_TEST(f->header.request_id == 8u);
  BOOST_TEST(static_cast<int>(f->header.type) == static_cast<int>(FrameType::kResult));
  // Request ids must increase.
  raw.send_frame(FrameType::kStatus, 8, {});
  expect_connection_error(raw, ErrorCode::kProtocol);
}

// A connection beyond a limit gets ERROR limit (id 0) and is closed; one
// that closes frees its place. All connections here are one user's.
void expect_limit_refusal(const Daemon& d, const std::string& message) {
  RawConnection refused(d.socket);
  BOOST_TEST(expect_connection_error(refused, ErrorCode::kLimit) == message);
}

// Connects and handshakes once the daemon has seen earlier connections
// close: until then a new connection is refused at once (an ERROR frame
// before anything is sent); an accepted one waits silently for HELLO.
void expect_accepted_soon(const Daemon& d) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (true) {
    RawConnection raw(d.socket);
    auto refusal = raw.read_frame(200ms);
    if (!refusal) {
      raw.handshake();
      return;
    }
    BOOST_REQUIRE(static_cast<int>(refusal->header.type) == static_cast<int>(FrameType::kError));
    BOOST_REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(20ms);
  }
}

BOOST_AUTO_TEST_CASE(connection_limits_refuse_with_a_reason_and_free_on_close) {
  {
    Daemon d({"--max-connections", "2"});
    auto first = std::make_unique<RawConnection>(d.socket);
    first->handshake();
    RawConnection second(d.socket);
    second.handshake();
    expect_limit_refusal(d, "lmzd serves at most 2 connections");
    first.reset();
    expect_accepted_soon(d);
  }
  {
    Daemon d({"--max-connections", "8", "--max-connections-per-user", "2"});
    DaemonClient first = d.client();
    auto second = std::make_unique<RawConnection>(d.socket);
    second->handshake();
    expect_limit_refusal(d, "lmzd serves at most 2 connections per user");
    expect_limit_refusal(d, "lmzd serves at most 2 connections per user");
    BOOST_TEST(first.status().at("connections_per_user") == "2");
    second.reset();
    expect_accepted_soon(d);
    BOOST_TEST(first.status().at("connections_total") == "3");
  }
}

BOOST_AUTO_TEST_CASE(idle_connections_are_closed) {
  Daemon d({"--idle-timeout-ms", "300"});
  RawConnection raw(d.socket);
  raw.handshake();
  auto start = std::chrono::steady_clock::now();
  expect_connection_error(raw, ErrorCode::kIdleTimeout);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
}

BOOST_AUTO_TEST_CASE(sigterm_during_work_answers_every_client_and_exits_zero) {
  Daemon d({"--shutdown-grace-ms", "2000"});
  constexpr int kQuick = 4;
  constexpr int kSlow = 4;
  std::vector<std::string> results(kQuick + kSlow);
  std::vector<Bytes> outputs(kQuick + kSlow);
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kQuick + kSlow; ++i) {
    threads.emplace_back([&, i] {
      try {
        DaemonClient c = d.client();
        Bytes input = test::make_input(i < kQuick ? 20000 : 400000, 300 + i);
        MemorySink out;
        started++;
        if (i < kQuick) {
          MemorySource in(input);
          c.compress(in, out, daemon_options());
        } else {
          SlowSource in(input, 50ms);  // ~5 s of input: outlives the grace period
          c.compress(in, out, daemon_options());
        }
        outputs[i] = std::move(out.data);
        results[i] = "ok";
      } catch (const std::exception& e) {
        results[i] = std::string("error: ") + e.what();
      }
    });
  }
  while (started < kQuick + kSlow) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  d.process->signal(SIGTERM);
  auto code = d.process->wait_exit(15s);
  auto took = std::chrono::steady_clock::now() - t0;
  for (auto& t : threads) t.join();
  BOOST_TEST_MESSAGE("lmzd log:\n" << d.process->log());
  BOOST_REQUIRE(code.has_value());
  BOOST_TEST(*code == 0);
  BOOST_TEST((took < 5s));
  for (int i = 0; i < kQuick + kSlow; ++i) {
    BOOST_TEST_CONTEXT("client " << i << ": " << results[i]) {
      if (i < kQuick) {
        BOOST_TEST(results[i] == "ok");
        if (results[i] == "ok") {
          Local local;
          BOOST_TEST((decompress_buffer(outputs[i], local.resolver()) ==
                      test::make_input(20000, 300 + i)));
        }
      } else {
        BOOST_TEST(results[i].find("shutting-down") != std::string::npos);
      }
    }
  }
  // The socket it created is gone.
  BOOST_TEST(!std::filesystem::exists(d.socket));
}

BOOST_AUTO_TEST_CASE(socket_activation_with_a_passed_fd) {
  TempDir dir;
  auto path = dir.path() / "activated.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  BOOST_REQUIRE(::listen(fd, 16) == 0);
  // --socket names a path lmzd must not use when systemd passes one.
  LmzdProcess process(dir, test::lmzd_args(dir.path() / "unused.sock"), fd);
  ::close(fd);
  BOOST_TEST(!std::filesystem::exists(dir.path() / "unused.sock"));
  auto c = DaemonClient::connect(path.string());
  BOOST_REQUIRE(c.has_value());
  Bytes input = test::make_input(30000, 11);
  BOOST_TEST((daemon_decompress(*c, daemon_compress(*c, input)) == input));
  BOOST_TEST(process.log().find("passed by systemd") != std::string::npos);
  process.signal(SIGTERM);
  auto code = process.wait_exit(10s);
  BOOST_REQUIRE(code.has_value());
  BOOST_TEST(*code == 0);
}

// systemd's own tool for socket activation, when installed: it listens, and
// on the first connection execs lmzd with the socket as fd 3.
BOOST_AUTO_TEST_CASE(socket_activation_with_systemd_socket_activate) {
  const char* tool = "/usr/bin/systemd-socket-activate";
  if (::access(tool, X_OK) != 0) {
    BOOST_TEST_MESSAGE("systemd-socket-activate is not installed; covered by the fd test");
    return;
  }
  TempDir dir;
  auto path = dir.path() / "sa.sock";
  auto log = dir.path() / "sa.log";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::execl(tool, tool, "-l", path.c_str(), LMZD_PATH, "--model", "order2", "--device", "cpu",
            "--socket", (dir.path() / "unused.sock").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 200 && !std::filesystem::exists(path); ++i) std::this_thread::sleep_for(20ms);
  auto c = DaemonClient::connect(path.string());  // starts lmzd
  BOOST_REQUIRE(c.has_value());
  Bytes input = test::make_input(20000, 12);
  BOOST_TEST((daemon_decompress(*c, daemon_compress(*c, input)) == input));
  ::kill(pid, SIGTERM);  // the tool exec'd lmzd in its own process
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  BOOST_TEST(text.str().find("passed by systemd") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(config_file_and_command_line) {
  TempDir dir;
  auto config = dir.path() / "lmzd.conf";
  auto socket = dir.path() / "from-config.sock";
  {
    std::ofstream out(config);
    out << "# test config\nsocket = " << socket.string() << "\nmodel=order2\ndevice=cpu\n"
        << "workers=3\nmax-requests=2\n";
  }
  LmzdProcess process(dir, {"--config", config.string(), "--max-requests", "5"});
  auto c = DaemonClient::connect(socket.string());
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->info().max_requests == 5u);  // the command line wins
  BOOST_TEST(c->status().at("workers") == "3");
  // A bad config is a usage error (exit 2) that names the line.
  {
    std::ofstream out(config);
    out << "workers = many\n";
  }
  TempDir dir2;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(LMZD_PATH, LMZD_PATH, "--config", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 2);
}

}  // namespace
}  // namespace lmz
