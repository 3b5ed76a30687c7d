// Unit tests of the daemon's parts that need no socket: the protocol codec,
// the scheduler (cross-request batching), the worker pool and the settings
// parser.
#define BOOST_TEST_MODULE daemon_units
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "daemon/config.h"
#include "daemon/protocol.h"
#include "daemon/scheduler.h"
#include "daemon/worker_pool.h"
#include "libcodec/errors.h"
#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"
#include "tests/daemon/harness.h"

namespace lmz {
namespace {

using proto::FrameType;

BOOST_AUTO_TEST_CASE(frame_header_round_trip) {
  uint8_t buf[proto::kHeaderSize];
  proto::FrameHeader h{0x01020304, FrameType::kData, 0, 0xa0b0c0d0};
  proto::encode_header(h, buf);
  BOOST_TEST(buf[0] == 0x04);  // little-endian length first
  BOOST_TEST(buf[4] == 0x20);  // type
  BOOST_TEST(buf[11] == 0xa0);
  auto d = proto::decode_header(buf);
  BOOST_TEST(d.length == h.length);
  BOOST_TEST(static_cast<int>(d.type) == static_cast<int>(h.type));
  BOOST_TEST(d.request_id == h.request_id);
}

BOOST_AUTO_TEST_CASE(payloads_round_trip) {
  proto::Welcome w;
  w.max_frame_payload = 123456;
  w.request_credit = 777;
  w.max_batch_windows = 9;
  w.model_hash = Hash128{5, 6};
  w.model_name = "order2";
  w.device = "cuda";
  auto w2 = proto::decode_welcome(proto::encode_welcome(w));
  BOOST_TEST(w2.max_frame_payload == 123456u);
  BOOST_TEST(w2.request_credit == 777u);
  BOOST_TEST((w2.model_hash == w.model_hash));
  BOOST_TEST(w2.model_name == "order2");
  BOOST_TEST(w2.device == "cuda");

  proto::CompressParams c;
  c.writer.block_size = 1 << 16;
  c.writer.window_size = 1 << 12;
  c.writer.log_window_size = 1 << 15;
  c.writer.zstd_level = -3;
  c.writer.allow_neural = false;
  c.writer.classifier.chunk_size = 100;
  c.writer.classifier.min_binary_run = 7;
  c.writer.classifier.min_text_run = 9;
  c.stage = 1;
  c.model = Hash128{1, 2};
  Bytes encoded = proto::encode_compress(c);
  BOOST_TEST(encoded.size() == 48u);
  auto c2 = proto::decode_compress(encoded);
  BOOST_TEST(c2.writer.block_size == c.writer.block_size);
  BOOST_TEST(c2.writer.window_size == c.writer.window_size);
  BOOST_TEST(c2.writer.log_window_size == c.writer.log_window_size);
  BOOST_TEST(c2.writer.zstd_level == -3);
  BOOST_TEST(!c2.writer.allow_neural);
  BOOST_TEST(c2.writer.classifier.chunk_size == 100u);
  BOOST_TEST(c2.writer.classifier.min_binary_run == 7u);
  BOOST_TEST(c2.writer.classifier.min_text_run == 9u);
  BOOST_TEST(c2.stage == 1);
  BOOST_TEST((c2.model == c.model));
  encoded[16] = 2;  // allow_neural must be 0 or 1
  BOOST_CHECK_THROW(proto::decode_compress(encoded), proto::ProtocolError);

  Bytes a = {1, 2, 3}, b = {}, cc = {9};
  std::vector<ByteView> coded = {a, b, cc};
  std::vector<size_t> raw = {10, 0, 3};
  Bytes payload = proto::encode_decode_windows(Hash128{3, 4}, 0, coded, raw);
  auto req = proto::decode_decode_windows(payload, 16);
  BOOST_TEST(req.raw_sizes == (std::vector<uint32_t>{10, 0, 3}));
  BOOST_TEST(req.coded_sizes == (std::vector<uint32_t>{3, 0, 1}));
  BOOST_TEST(req.data.size() == 4u);
  BOOST_CHECK_THROW(proto::decode_decode_windows(payload, 2), proto::ProtocolError);  // too many
  Bytes longer = payload;
  longer.push_back(0);
  BOOST_CHECK_THROW(proto::decode_decode_windows(longer, 16), proto::ProtocolError);

  proto::StatusMap s = {{"a", "1"}, {"model", "order2"}};
  BOOST_TEST((proto::decode_status(proto::encode_status(s)) == s));
  auto [code, msg] = proto::decode_error(proto::encode_error(proto::ErrorCode::kLimit, "too much"));
  BOOST_TEST(static_cast<int>(code) == static_cast<int>(proto::ErrorCode::kLimit));
  BOOST_TEST(msg == "too much");
}

BOOST_AUTO_TEST_CASE(truncated_and_absurd_payloads_are_refused) {
  Bytes w = proto::encode_welcome(proto::Welcome{});
  for (size_t n = 0; n < w.size(); ++n) {
    BOOST_CHECK_THROW(proto::decode_welcome(ByteView(w.data(), n)), proto::ProtocolError);
  }
  // A window count far beyond what the payload holds is refused before any allocation.
  proto::PayloadWriter p;
  p.hash(Hash128{});
  p.u16(0);
  p.u16(0);
  p.u32(0xffffffffu);
  BOOST_CHECK_THROW(proto::decode_decode_windows(p.bytes(), 0xffffffffu), proto::ProtocolError);
  // Coded sizes that claim more than is there.
  Bytes a = {1, 2, 3};
  std::vector<ByteView> coded = {a};
  std::vector<size_t> raw = {5};
  Bytes payload = proto::encode_decode_windows(Hash128{}, 0, coded, raw);
  payload.pop_back();
  BOOST_CHECK_THROW(proto::decode_decode_windows(payload, 4), proto::ProtocolError);
  Bytes hello = proto::encode_hello({});
  hello[1] = 'X';
  BOOST_CHECK_THROW(proto::decode_hello(hello), proto::ProtocolError);
  BOOST_CHECK_THROW(proto::throw_daemon_error(proto::ErrorCode::kCorruptInput, "x"), CorruptInput);
  BOOST_CHECK_THROW(proto::throw_daemon_error(proto::ErrorCode::kModelMismatch, "x"),
                    ModelMismatch);
}

// Counts the calls into the in-process codec and holds the first one back a
// little so that other jobs pile up behind it.
class CountingCodec final : public WindowCodec {
 public:
  explicit CountingCodec(WindowCodec& inner) : inner_(inner) {}
  const ModelId& model() const override { return inner_.model(); }
  StageId stage() const override { return inner_.stage(); }
  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    note(windows.size());
    return inner_.encode(windows);
  }
  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override {
    note(windows.size());
    inner_.decode(windows, out);
  }
  std::atomic<int> calls{0};
  std::atomic<size_t> largest{0};

 private:
  void note(size_t n) {
    if (calls++ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    size_t cur = largest.load();
    while (n > cur && !largest.compare_exchange_weak(cur, n)) {
    }
  }
  WindowCodec& inner_;
};

BOOST_AUTO_TEST_CASE(scheduler_packs_jobs_of_many_threads_and_keeps_bytes_exact) {
  ModelRegistry registry{ModelOptions{}};
  WindowCodec& local = registry.codec(registry.by_name_or_path("order2"), kDirectStage);
  CountingCodec counting(local);
  daemon::Scheduler scheduler(64);
  WindowCodec& scheduled = scheduler.codec(counting);
  BOOST_TEST(&scheduler.codec(counting) == &scheduled);  // one per local codec
  BOOST_TEST((scheduled.model().hash == local.model().hash));

  constexpr int kThreads = 8;
  std::vector<std::vector<Bytes>> windows(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int w = 0; w < 4; ++w) windows[t].push_back(test::make_input(1000 + 100 * w, t * 10 + w));
  }
  std::vector<std::vector<Bytes>> coded(kThreads);
  std::vector<std::vector<Bytes>> decoded(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<ByteView> views(windows[t].begin(), windows[t].end());
      coded[t] = scheduled.encode(views);
      std::vector<EncodedWindowView> in;
      for (size_t i = 0; i < coded[t].size(); ++i)
        in.push_back({coded[t][i], windows[t][i].size()});
      decoded[t].resize(windows[t].size());
      std::vector<MutableByteView> out;
      for (size_t i = 0; i < windows[t].size(); ++i) {
        decoded[t][i].resize(windows[t][i].size());
        out.push_back(decoded[t][i]);
      }
      scheduled.decode(in, out);
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    std::vector<ByteView> views(windows[t].begin(), windows[t].end());
    BOOST_TEST((coded[t] == local.encode(views)));
    BOOST_TEST((decoded[t] == windows[t]));
  }
  auto c = scheduler.counters();
  BOOST_TEST(c.jobs == 2u * kThreads);
  BOOST_TEST(c.windows_encoded == 4u * kThreads);
  BOOST_TEST(c.windows_decoded == 4u * kThreads);
  BOOST_TEST(c.queued_windows == 0u);
  // Jobs of different threads shared calls: fewer calls than jobs, and some
  // call carried more windows than one job has.
  BOOST_TEST(counting.calls.load() < 2 * kThreads);
  BOOST_TEST(counting.largest.load() > 4u);
  BOOST_TEST(counting.largest.load() <= 64u);
}

BOOST_AUTO_TEST_CASE(scheduler_reports_a_corrupt_window_only_to_its_job) {
  ModelRegistry registry{ModelOptions{}};
  WindowCodec& local = registry.codec(registry.by_name_or_path("order2"), kDirectStage);
  CountingCodec counting(local);  // holds the first call so the next two share one
  daemon::Scheduler scheduler(64);
  WindowCodec& scheduled = scheduler.codec(counting);
  Bytes raw = test::make_input(3000, 1);
  std::vector<ByteView> views = {raw};
  Bytes good = local.encode(views).at(0);
  Bytes bad = good;
  // Trailing bytes after a window's coding: the coder must end exactly
  // where the coded bytes do (range_coder.h), so this cannot decode.
  bad.insert(bad.end(), 16, 0x5a);
  {
    Bytes out(raw.size());
    std::vector<EncodedWindowView> in = {{ByteView(bad), raw.size()}};
    std::vector<MutableByteView> outs = {out};
    BOOST_REQUIRE_THROW(local.decode(in, outs), CorruptInput);
  }
  std::atomic<int> good_ok{0};
  std::atomic<int> bad_failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      Bytes out(raw.size());
      std::vector<EncodedWindowView> in = {
          {t % 3 == 0 ? ByteView(bad) : ByteView(good), raw.size()}};
      std::vector<MutableByteView> outs = {out};
      try {
        scheduled.decode(in, outs);
        if (out == raw && t % 3 != 0) good_ok++;
      } catch (const CorruptInput& e) {
        if (t % 3 == 0) bad_failed++;
        BOOST_TEST_MESSAGE("thread " << t << ": " << e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(good_ok.load() == 4);
  BOOST_TEST(bad_failed.load() == 2);
}

BOOST_AUTO_TEST_CASE(settings_parse_and_refuse_bad_values) {
  auto p = daemon::parse_args({"lmzd", "--socket", "/tmp/x.sock", "--model=order2", "--device",
                               "cpu", "--workers", "7", "--socket-mode", "0600"});
  BOOST_TEST(p.config.socket_path == "/tmp/x.sock");
  BOOST_TEST(p.config.model == "order2");
  BOOST_TEST(p.config.workers == 7u);
  BOOST_TEST(p.config.socket_mode == 0600u);
  BOOST_TEST(daemon::parse_args({"lmzd", "--help"}).help);
  BOOST_TEST(daemon::parse_args({"lmzd", "--version"}).version);
  BOOST_CHECK_THROW(daemon::parse_args({"lmzd", "--device", "tpu"}), UsageError);
  BOOST_CHECK_THROW(daemon::parse_args({"lmzd", "--workers", "0"}), UsageError);
  BOOST_CHECK_THROW(daemon::parse_args({"lmzd", "--workers", "12x"}), UsageError);
  BOOST_CHECK_THROW(daemon::parse_args({"lmzd", "--bogus", "1"}), UsageError);
  BOOST_CHECK_THROW(daemon::parse_args({"lmzd", "--socket"}), UsageError);
  BOOST_CHECK_THROW(daemon::parse_args({"lmzd", "--config", "/nonexistent/lmzd.conf"}), UsageError);
}

BOOST_AUTO_TEST_CASE(one_user_gets_three_quarters_of_the_connections_by_default) {
  auto limit = [](const std::vector<std::string>& args) {
    return daemon::connections_per_user(daemon::parse_args(args).config);
  };
  BOOST_TEST(limit({"lmzd"}) == 192u);  // of 256
  BOOST_TEST(limit({"lmzd", "--max-connections", "1"}) == 1u);
  BOOST_TEST(limit({"lmzd", "--max-connections", "3"}) == 3u);
  BOOST_TEST(limit({"lmzd", "--max-connections", "8"}) == 6u);
  BOOST_TEST(limit({"lmzd", "--max-connections", "8", "--max-connections-per-user", "2"}) == 2u);
  BOOST_TEST(limit({"lmzd", "--max-connections-per-user=0"}) == 192u);
  BOOST_CHECK_THROW(limit({"lmzd", "--max-connections-per-user", "-1"}), UsageError);
  BOOST_CHECK_THROW(limit({"lmzd", "--max-connections-per-user", "70000"}), UsageError);
}

}  // namespace
}  // namespace lmz

namespace lmz {

// One user whose requests block (a client that starts streams and never
// sends input) may hold at most the per-user limit of threads; another
// user's request still runs at once.
BOOST_AUTO_TEST_CASE(worker_pool_keeps_threads_for_other_users) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> hogs{0};
  std::atomic<int> most_hogs{0};
  {
    daemon::WorkerPool pool(4);
    BOOST_TEST(pool.per_user_limit() == 3u);
    for (int i = 0; i < 10; ++i) {
      pool.submit(1000, [&] {
        int now = ++hogs;
        int seen = most_hogs.load();
        while (now > seen && !most_hogs.compare_exchange_weak(seen, now)) {
        }
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return release; });
        --hogs;
      });
    }
    std::promise<void> ran;
    auto other = ran.get_future();
    pool.submit(2000, [&] { ran.set_value(); });
    BOOST_TEST((other.wait_for(std::chrono::seconds(20)) == std::future_status::ready));
    // The blocked user fills its 3 threads and no more; 7 tasks wait.
    for (int i = 0; i < 2000 && (pool.busy() != 3 || pool.queued() != 7); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    BOOST_TEST(pool.busy() == 3u);
    BOOST_TEST(pool.queued() == 7u);
    BOOST_TEST(most_hogs.load() == 3);
    {
      std::lock_guard lock(mu);
      release = true;
    }
    cv.notify_all();
  }  // the destructor runs the 7 waiting tasks before joining
  BOOST_TEST(hogs.load() == 0);
  BOOST_TEST(most_hogs.load() == 3);
}

}  // namespace lmz
