#include "tests/reliability/hostile_load.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "daemon/client.h"
#include "daemon/protocol.h"
#include "format/io.h"
#include "tests/daemon/harness.h"
#include "tests/reliability/bounded_child.h"

namespace lmz::test {
namespace {

using Clock = std::chrono::steady_clock;
using proto::FrameType;
using std::chrono::milliseconds;

enum Kind {
  kGarbage,
  kOversizeHello,
  kOversizeFrame,
  kHalfFrame,
  kHalfHeader,
  kVanish,
  kNeverReads,
  kStatusFlood,
  kCorruptArchive,
  kKinds
};

const char* const kKindNames[kKinds] = {
    "garbage bytes",
    "oversize length before HELLO",
    "oversize length after HELLO",
    "half-sent frame, then silence",
    "half-sent header, then silence",
    "open and vanish",
    "compress 1 MiB, never read the result",
    "STATUS flood, never read",
    "corrupt archive to decompress",
};

Bytes random_bytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

Bytes header_only(FrameType type, uint32_t id, uint32_t length) {
  uint8_t h[proto::kHeaderSize];
  proto::FrameHeader fh;
  fh.type = type;
  fh.request_id = id;
  fh.length = length;
  proto::encode_header(fh, h);
  return Bytes(h, h + sizeof(h));
}

// Sends, ignoring a daemon that already closed (that is its right here).
void send_quietly(RawConnection& c, ByteView bytes) {
  try {
    c.send_bytes(bytes);
  } catch (const std::exception&) {
  }
}

// True when the daemon hangs up on `fd` within `timeout`, without reading
// anything from it (a client that never reads).
bool hung_up(int fd, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLRDHUP, 0};
    if (::poll(&p, 1, 50) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return true;
  }
  return false;
}

// Reads frames until an ERROR with `code` arrives (true) or the deadline.
bool error_arrives(RawConnection& c, proto::ErrorCode code, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto f = c.read_frame(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
    if (!f) return false;
    if (f->header.type == FrameType::kError) return proto::decode_error(f->payload).first == code;
  }
  return false;
}

// One misbehaving connection; returns false (with `why`) when the daemon did
// not react as it must.
bool misbehave(Kind kind, const std::filesystem::path& sock, const proto::Welcome& limits,
               uint32_t idle_ms, std::mt19937_64& rng, std::string& why) {
  const milliseconds settle(idle_ms * 3 + 5000);  // idle timeout, twice, and slack
  RawConnection c(sock);
  switch (kind) {
    case kGarbage:
      send_quietly(c, random_bytes(rng, 64));
      why = "the daemon kept a connection that sent garbage";
      return c.closed_by_peer(settle);
    case kOversizeHello:
      send_quietly(c, header_only(FrameType::kHello, 0, 0xFFFFFFFFu));
      why = "no frame-too-large for a 4 GiB HELLO";
      return error_arrives(c, proto::ErrorCode::kFrameTooLarge, settle) && c.closed_by_peer(settle);
    case kOversizeFrame:
      c.handshake();
      send_quietly(c, header_only(FrameType::kData, 1, limits.max_frame_payload + 1));
      why = "no frame-too-large for an oversize DATA";
      return error_arrives(c, proto::ErrorCode::kFrameTooLarge, settle) && c.closed_by_peer(settle);
    case kHalfFrame: {
      c.handshake();
      c.send_frame(FrameType::kCompress, 1, proto::encode_compress(proto::CompressParams{}));
      Bytes half = header_only(FrameType::kData, 1, 100000);
      Bytes part = random_bytes(rng, 1000);
      half.insert(half.end(), part.begin(), part.end());
      send_quietly(c, half);
      why = "a half-sent frame was never timed out";
      return c.closed_by_peer(settle);
    }
    case kHalfHeader:
      send_quietly(c, ByteView(header_only(FrameType::kHello, 0, 8)).first(5));
      why = "a half-sent header was never timed out";
      return c.closed_by_peer(settle);
    case kVanish:
      switch (rng() % 3) {
        case 0:
          break;  // connect, close
        case 1: {
          c.handshake();
          c.send_frame(FrameType::kCompress, 1, proto::encode_compress(proto::CompressParams{}));
          c.send_frame(FrameType::kData, 1, make_input(10000, rng()));
          break;
        }
        default:
          c.handshake();
          c.send_frame(FrameType::kDecompress, 1, {});
          c.send_frame(FrameType::kData, 1, random_bytes(rng, 5000));
          break;
      }
      return true;  // the end-of-run checks catch what it may have leaked
    case kNeverReads: {
      c.handshake();
      proto::CompressParams p;
      p.writer.allow_neural = false;  // random bytes: stored, output = input
      p.writer.zstd_level = 1;        // cheap to refuse: the point is the unread output
      c.send_frame(FrameType::kCompress, 1, proto::encode_compress(p));
      Bytes input = random_bytes(rng, limits.request_credit);
      for (size_t at = 0; at < input.size(); at += 256u << 10) {
        size_t n = std::min<size_t>(256u << 10, input.size() - at);
        send_quietly(c, proto::make_frame(FrameType::kData, 1, ByteView(input).subspan(at, n)));
      }
      send_quietly(c, proto::make_frame(FrameType::kEnd, 1, {}));
      why = "the daemon kept a client that never reads";
      return hung_up(c.fd(), settle);
    }
    case kStatusFlood: {
      c.handshake();
      ::fcntl(c.fd(), F_SETFL, ::fcntl(c.fd(), F_GETFL) | O_NONBLOCK);
      Bytes batch;
      for (uint32_t id = 1; id <= 1000; ++id) {
        Bytes f = proto::make_frame(FrameType::kStatus, id, {});
        batch.insert(batch.end(), f.begin(), f.end());
      }
      // Send until the daemon stops reading us for 100 ms (or 1 s passes).
      size_t at = 0;
      auto start = Clock::now();
      auto last = start;
      while (Clock::now() - start < milliseconds(1000) && Clock::now() - last < milliseconds(100)) {
        ssize_t n = ::send(c.fd(), batch.data() + at, batch.size() - at, MSG_NOSIGNAL);
        if (n > 0) {
          at = (at + static_cast<size_t>(n)) % batch.size();
          last = Clock::now();
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          break;
        } else {
          std::this_thread::sleep_for(milliseconds(2));
        }
      }
      why = "the daemon kept a client that floods STATUS without reading";
      return hung_up(c.fd(), settle);
    }
    case kCorruptArchive: {
      c.handshake();
      c.send_frame(FrameType::kDecompress, 1, {});
      Bytes archive = {0x89, 'L', 'M', 'Z', 1, 0};
      Bytes rest = random_bytes(rng, 2000);
      archive.insert(archive.end(), rest.begin(), rest.end());
      c.send_frame(FrameType::kData, 1, archive);
      c.send_frame(FrameType::kEnd, 1, {});
      why = "no corrupt-input error for a damaged archive";
      return error_arrives(c, proto::ErrorCode::kCorruptInput, settle);
    }
    case kKinds:
      break;
  }
  return true;
}

// One well-behaved round trip: compress, decompress, compare.
bool round_trip(const std::filesystem::path& sock, uint64_t seed, size_t size, std::string& why) {
  try {
    auto client = DaemonClient::connect(sock.string());
    if (!client) {
      why = "lmzd is not reachable";
      return false;
    }
    Bytes input = make_input(size, seed);
    MemorySource in(input);
    MemorySink archive;
    client->compress(in, archive, DaemonCompressOptions{});
    MemorySource ain(archive.data);
    MemorySink raw;
    client->decompress(ain, raw);
    if (raw.data != input) {
      why = "a round trip gave different bytes";
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

}  // namespace

double HostileReport::baseline_throughput() const {
  return baseline_seconds > 0 ? static_cast<double>(baseline_bytes) / 1e6 / baseline_seconds : 0;
}
double HostileReport::attack_throughput() const {
  return attack_seconds > 0 ? static_cast<double>(attack_bytes) / 1e6 / attack_seconds : 0;
}

HostileReport run_hostile_load(const HostileConfig& cfg) {
  HostileReport r;
  TempDir dir;
  auto sock = dir.path() / "lmzd.sock";
  std::vector<std::string> extra = {"--idle-timeout-ms", std::to_string(cfg.idle_timeout_ms)};
  extra.insert(extra.end(), cfg.lmzd_args.begin(), cfg.lmzd_args.end());
  LmzdProcess daemon(dir, lmzd_args(sock, extra));
  const pid_t pid = daemon.pid();
  r.rss_start_kib = vm_rss_kib(pid);
  r.fds_before = open_fds(pid);
  proto::Welcome limits;
  {
    RawConnection c(sock);
    limits = c.handshake();
  }

  // 0: baseline, 1: attack, 2: stop.
  std::atomic<int> phase{0};
  std::atomic<uint64_t> trips[2] = {0, 0};
  std::atomic<uint64_t> failures{0};
  std::mutex mutex;
  std::atomic<bool> stop_monitor{false};
  std::thread monitor([&] {
    while (!stop_monitor) {
      long hwm = vm_hwm_kib(pid);
      long fds = open_fds(pid);
      {
        std::lock_guard lock(mutex);
        r.hwm_kib = std::max(r.hwm_kib, hwm);
        r.fds_peak = std::max(r.fds_peak, fds);
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  });

  std::vector<std::thread> good;
  for (int g = 0; g < cfg.good_clients; ++g) {
    good.emplace_back([&, g] {
      for (uint64_t n = 0;; ++n) {
        int ph = phase.load();
        if (ph == 2) return;
        std::string why;
        bool ok =
            round_trip(sock, static_cast<uint64_t>(g) * 1000003 + n, cfg.good_input_bytes, why);
        int after = phase.load();
        if (!ok) {
          failures += 1;
          std::lock_guard lock(mutex);
          if (r.first_failure.empty()) r.first_failure = why;
        } else if (after == ph) {  // count it only if it ran inside one phase
          trips[ph] += 1;
        }
      }
    });
  }

  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(cfg.baseline_seconds));
  r.hwm_baseline_kib = vm_hwm_kib(pid);
  phase = 1;
  auto t1 = Clock::now();
  r.baseline_seconds = std::chrono::duration<double>(t1 - t0).count();

  std::atomic<int> next{0};
  std::vector<std::thread> hostile;
  for (int h = 0; h < cfg.hostile_threads; ++h) {
    hostile.emplace_back([&, h] {
      std::mt19937_64 rng(static_cast<uint64_t>(h) + 17);
      for (;;) {
        int n = next++;
        if (n >= cfg.hostile_connections) return;
        Kind kind = static_cast<Kind>(n % kKinds);
        std::string why;
        bool ok = false;
        try {
          ok = misbehave(kind, sock, limits, cfg.idle_timeout_ms, rng, why);
        } catch (const std::exception& e) {
          why = std::string("hostile client failed: ") + e.what();
        }
        std::lock_guard lock(mutex);
        r.hostile_by_kind[kKindNames[kind]] += 1;
        r.hostile_done += 1;
        if (!ok) {
          r.hostile_unexpected += 1;
          if (r.first_unexpected.empty())
            r.first_unexpected = std::string(kKindNames[kind]) + ": " + why;
        }
      }
    });
  }
  for (auto& t : hostile) t.join();
  phase = 2;
  auto t2 = Clock::now();
  r.attack_seconds = std::chrono::duration<double>(t2 - t1).count();
  for (auto& t : good) t.join();
  r.baseline_round_trips = trips[0];
  r.attack_round_trips = trips[1];
  r.baseline_bytes = r.baseline_round_trips * cfg.good_input_bytes;
  r.attack_bytes = r.attack_round_trips * cfg.good_input_bytes;
  r.good_failures = failures;

  // Afterwards: every connection gone, descriptors back, still serving.
  auto deadline = Clock::now() + std::chrono::seconds(15);
  std::map<std::string, std::string> status;
  while (Clock::now() < deadline) {
    try {
      auto c = DaemonClient::connect(sock.string());
      if (c) status = c->status();
    } catch (const std::exception&) {
    }
    if (status["connections"] == "1") break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  if (!status.empty()) {
    r.connections_after = std::stol(status["connections"]);
    r.connections_total = status["connections_total"];
  }
  r.fds_after = open_fds(pid);
  std::string why;
  r.alive_after = round_trip(sock, 424242, cfg.good_input_bytes, why) && !status.empty();
  stop_monitor = true;
  monitor.join();
  daemon.signal(SIGTERM);
  r.exited_zero_on_sigterm = daemon.wait_exit(std::chrono::seconds(30)) == 0;
  return r;
}

std::string format_report(const HostileConfig& cfg, const HostileReport& r) {
  std::string s;
  s += fmt::format(
      "lmzd under hostile clients: {} misbehaving connections ({} at a time), {} "
      "well-behaved clients ({} KiB round trips), idle timeout {} ms\n\n",
      cfg.hostile_connections, cfg.hostile_threads, cfg.good_clients, cfg.good_input_bytes >> 10,
      cfg.idle_timeout_ms);
  s += "| misbehaving connection | count |\n|---|---|\n";
  for (const auto& [kind, n] : r.hostile_by_kind) s += fmt::format("| {} | {} |\n", kind, n);
  s += fmt::format("| **all** (unexpected outcomes: {}) | {} |\n\n", r.hostile_unexpected,
                   r.hostile_done);
  s += "| well-behaved clients | seconds | round trips | MB/s (raw, compress + decompress) |\n";
  s += "|---|---|---|---|\n";
  s += fmt::format("| alone | {:.1f} | {} | {:.3f} |\n", r.baseline_seconds, r.baseline_round_trips,
                   r.baseline_throughput());
  s += fmt::format("| under attack | {:.1f} | {} | {:.3f} |\n", r.attack_seconds,
                   r.attack_round_trips, r.attack_throughput());
  double ratio = r.baseline_throughput() > 0 ? r.attack_throughput() / r.baseline_throughput() : 0;
  s += fmt::format("| ratio under attack / alone | | | {:.2f} |\n\n", ratio);
  s += fmt::format(
      "well-behaved failures: {}{}\n"
      "lmzd: RSS at start {} KiB, peak (VmHWM) {} KiB with well-behaved clients alone, {} KiB "
      "over the whole run; descriptors before {}, peak {}, after {}\n"
      "after the attack: connections open {} (the asker), connections accepted {}, still serving: "
      "{}, SIGTERM exit 0: {}\n",
      r.good_failures, r.first_failure.empty() ? "" : " (first: " + r.first_failure + ")",
      r.rss_start_kib, r.hwm_baseline_kib, r.hwm_kib, r.fds_before, r.fds_peak, r.fds_after,
      r.connections_after, r.connections_total, r.alive_after ? "yes" : "NO",
      r.exited_zero_on_sigterm ? "yes" : "NO");
  if (!r.first_unexpected.empty()) s += "first unexpected outcome: " + r.first_unexpected + "\n";
  return s;
}

}  // namespace lmz::test
