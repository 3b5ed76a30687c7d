// Memory bounds (issue 7 item 4): no declared length in an archive, a model
// file or a protocol frame makes a reader allocate more than the documented
// bound before the bytes that justify it have arrived (spec/FORMAT.md,
// spec/MODEL.md, spec/PROTOCOL.md, "Memory bounds"). Each case feeds a
// reader a small input that claims a large size and checks both a clean
// error and bounded memory:
//  - library readers and the client run in a forked child whose address
//    space is limited to its size plus kHeadroom (allocating the claim fails
//    with bad_alloc) and whose VmHWM growth must stay under kMaxGrowthKib;
//  - the lmz binary is run on lying files and its peak RSS (wait4) compared
//    with a run on a valid archive;
//  - a real lmzd gets lying frames and its VmHWM growth is measured.
#define BOOST_TEST_MODULE memory_bounds
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "daemon/client.h"
#include "daemon/protocol.h"
#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "format/layout.h"
#include "libcodec/engine/model_file.h"
#include "libcodec/errors.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"
#include "tests/daemon/harness.h"
#include "tests/reliability/bounded_child.h"

namespace lmz {
namespace {

namespace fs = std::filesystem;
using test::ChildOutcome;

// Address space a child may add: far below every claim (64 MiB and up).
constexpr size_t kHeadroom = 32u << 20;
// Peak RSS growth allowed for a lying input (the documented bounds for these
// inputs are a few hundred KiB).
constexpr long kMaxGrowthKib = 8 << 10;

int g_checks = 0;  // memory-bound checks that passed, printed at the end

template <typename E>
void expect_bounded(const std::string& what, const std::function<void()>& body) {
  ChildOutcome o = test::run_bounded(
      body, [](const std::exception& e) { return dynamic_cast<const E*>(&e) != nullptr; },
      kHeadroom);
  BOOST_TEST_MESSAGE(what << ": " << test::describe(o));
  BOOST_TEST(o.kind == ChildOutcome::kThrewExpected, what << ": " << test::describe(o));
  BOOST_TEST(o.hwm_growth_kib >= 0, what << ": VmHWM unavailable");
  BOOST_TEST(o.hwm_growth_kib < kMaxGrowthKib, what << ": " << test::describe(o));
  if (o.kind == ChildOutcome::kThrewExpected && o.hwm_growth_kib >= 0 &&
      o.hwm_growth_kib < kMaxGrowthKib) {
    ++g_checks;
  }
}

// ---- archives that lie ----

Bytes header_bytes() {
  format::Header h;
  h.block_size = format::kMaxBlockSize;
  return format::encode_header(h);
}

// A header and one frame header (valid checks) claiming `raw_size` raw and
// `payload_size` payload bytes; the payload itself is absent.
Bytes archive_claiming(format::Codec codec, uint32_t raw_size, uint32_t payload_size) {
  Bytes out = header_bytes();
  format::FrameHeader f;
  f.codec = codec;
  f.raw_size = raw_size;
  f.payload_size = payload_size;
  if (codec == format::Codec::kNeural) {
    f.window_size = format::kMaxBlockSize;
    f.windows.resize(1, format::WindowEntry{raw_size, payload_size, 0});
  }
  Bytes frame = format::encode_frame_header(f);
  out.insert(out.end(), frame.begin(), frame.end());
  return out;
}

// A neural frame whose window table claims 65,536 windows, cut after 12 bytes.
Bytes archive_claiming_windows() {
  Bytes out = archive_claiming(format::Codec::kNeural, format::kMaxBlockSize, 1000);
  size_t at = format::kHeaderFixedSize + format::kCheckSize + format::kFrameFixedSize;
  out[at] = 0;
  out[at + 1] = 0;
  out[at + 2] = 1;  // window count 65,536
  out[at + 3] = 0;
  out.resize(at + 12);
  return out;
}

// A lone footer claiming a member of `member_size` bytes with `blocks` blocks.
Bytes footer_claiming(uint64_t member_size, uint32_t blocks) {
  format::Footer f;
  f.member_size = member_size;
  f.raw_size = uint64_t{1} << 40;
  f.block_count = blocks;
  f.index_offset = member_size - format::index_size(blocks) - format::kFooterSize;
  return format::encode_footer(f);
}

// A byte source that hands out one byte per read (a slow pipe).
class TrickleSource final : public ByteSource {
 public:
  explicit TrickleSource(ByteView data) : data_(data) {}
  size_t read(MutableByteView out) override {
    if (pos_ == data_.size() || out.empty()) return 0;
    out[0] = data_[pos_++];
    return 1;
  }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

// The stand-in model, built once in the parent (its tables would otherwise
// count against a child's bound).
struct Order2 {
  std::unique_ptr<Predictor> model = make_order2_model();
  std::unique_ptr<WindowCodec> codec = make_local_window_codec(*model, kDirectStage);
  CodecResolver resolver() {
    return [this](const Hash128&, const std::string&, StageId) -> WindowCodec& { return *codec; };
  }
};

Order2& order2() {
  static Order2 o;
  return o;
}

void stream_decode(ByteSource& in) {
  MemorySink sink;
  decompress_stream(in, sink, order2().resolver());
}

void stream_decode(const Bytes& archive) {
  MemorySource in(archive);
  stream_decode(in);
}

void random_access_open(const Bytes& archive) {
  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, order2().resolver());
  reader.read(0, UINT64_MAX);
}

BOOST_AUTO_TEST_CASE(streaming_reader) {
  Order2& o = order2();
  Bytes stored =
      archive_claiming(format::Codec::kStored, format::kMaxBlockSize, format::kMaxBlockSize);
  BOOST_TEST_REQUIRE(stored.size() < 100u);
  expect_bounded<CorruptInput>("stream: 64 MiB stored block in an 80-byte archive",
                               [&] { stream_decode(stored); });
  expect_bounded<CorruptInput>("stream, one byte per read: 64 MiB stored block", [&] {
    TrickleSource in(stored);
    stream_decode(in);
  });
  Bytes zstd =
      archive_claiming(format::Codec::kZstd, format::kMaxBlockSize, format::kMaxBlockSize - 1);
  expect_bounded<CorruptInput>("stream: zstd block of 64 MiB, payload absent",
                               [&] { stream_decode(zstd); });
  Bytes neural =
      archive_claiming(format::Codec::kNeural, format::kMaxBlockSize, format::kMaxBlockSize - 1);
  expect_bounded<CorruptInput>("stream: neural block of 64 MiB, payload absent",
                               [&] { stream_decode(neural); });
  Bytes windows = archive_claiming_windows();
  expect_bounded<CorruptInput>("stream: window table of 65,536 windows, cut short",
                               [&] { stream_decode(windows); });
  // Beyond the limits: refused before anything is read.
  Bytes huge = archive_claiming(format::Codec::kStored, 0xFFFFFFFFu, 0xFFFFFFFFu);
  expect_bounded<CorruptInput>("stream: 4 GiB block", [&] { stream_decode(huge); });
  // A second member after a valid one, claiming a 64 MiB block.
  WriterOptions w;
  w.allow_neural = false;
  Bytes two = compress_buffer(Bytes(1000, 'a'), *o.codec, w);
  two.insert(two.end(), stored.begin(), stored.end());
  expect_bounded<CorruptInput>("stream: second member claiming a 64 MiB block",
                               [&] { stream_decode(two); });
}

BOOST_AUTO_TEST_CASE(random_access_reader) {
  order2();
  expect_bounded<CorruptInput>("random access: footer claiming a 1 TiB member",
                               [&] { random_access_open(footer_claiming(uint64_t{1} << 40, 0)); });
  uint64_t full = 44 + 8 + format::index_size(format::kMaxBlocksPerMember) + format::kFooterSize;
  expect_bounded<CorruptInput>(
      "random access: footer claiming 2^20 blocks (a 37 MB index) in 44 bytes",
      [&] { random_access_open(footer_claiming(full, format::kMaxBlocksPerMember)); });
  // A real archive whose footer claims an index of 2^20 blocks.
  Order2& o = order2();
  WriterOptions w;
  w.allow_neural = false;
  Bytes archive = compress_buffer(Bytes(5000, 'b'), *o.codec, w);
  Bytes tail = footer_claiming(full, format::kMaxBlocksPerMember);
  std::copy(tail.begin(), tail.end(), archive.end() - format::kFooterSize);
  expect_bounded<CorruptInput>("random access: archive whose footer claims 2^20 blocks",
                               [&] { random_access_open(archive); });
  // Stream reader on the same: reads the frames and refuses the index.
  expect_bounded<CorruptInput>("stream: archive whose footer claims 2^20 blocks",
                               [&] { stream_decode(archive); });
}

// ---- the lmz binary on lying files: peak RSS against a valid archive ----

struct Exec {
  int exit_code = -1;
  long maxrss_kib = 0;
};

Exec run_lmz(const std::vector<std::string>& args) {
  std::vector<std::string> all = {LMZ_CLI_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::setenv("LMZ_SOCKET", "/nonexistent/lmzd.sock", 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  Exec e;
  e.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  e.maxrss_kib = usage.ru_maxrss;
  return e;
}

void write_file(const fs::path& p, const Bytes& data) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

BOOST_AUTO_TEST_CASE(lmz_binary_on_lying_files) {
  test::TempDir dir;
  Order2& o = order2();
  WriterOptions w;
  w.allow_neural = false;
  Bytes text(20000, 'x');
  write_file(dir.path() / "good.lmz", compress_buffer(text, *o.codec, w));
  Exec base_d = run_lmz({"-d", "-c", (dir.path() / "good.lmz").string()});
  Exec base_l = run_lmz({"-l", (dir.path() / "good.lmz").string()});
  BOOST_TEST_REQUIRE(base_d.exit_code == 0);
  BOOST_TEST_REQUIRE(base_l.exit_code == 0);
  long base = std::max(base_d.maxrss_kib, base_l.maxrss_kib);
  BOOST_TEST_MESSAGE("lmz peak RSS on a valid archive: " << base << " KiB");

  struct Case {
    std::string name;
    Bytes data;
    std::vector<std::string> args;
  };
  uint64_t full = 44 + 8 + format::index_size(format::kMaxBlocksPerMember) + format::kFooterSize;
  std::vector<Case> cases = {
      {"stored-64M",
       archive_claiming(format::Codec::kStored, format::kMaxBlockSize, format::kMaxBlockSize),
       {"-d", "-c"}},
      {"zstd-64M",
       archive_claiming(format::Codec::kZstd, format::kMaxBlockSize, format::kMaxBlockSize - 1),
       {"-t"}},
      {"windows-65536", archive_claiming_windows(), {"-t"}},
      {"footer-1T", footer_claiming(uint64_t{1} << 40, 0), {"-l"}},
      {"footer-2^20-blocks", footer_claiming(full, format::kMaxBlocksPerMember), {"-l"}},
      {"range-footer-1T", footer_claiming(uint64_t{1} << 40, 0), {"--range", "0:100", "-c"}},
  };
  for (Case& c : cases) {
    fs::path p = dir.path() / (c.name + ".lmz");
    write_file(p, c.data);
    c.args.push_back(p.string());
    Exec e = run_lmz(c.args);
    BOOST_TEST_MESSAGE("lmz " << c.name << ": exit " << e.exit_code << ", peak RSS " << e.maxrss_kib
                              << " KiB");
    BOOST_TEST(e.exit_code == 2, c.name << ": exit " << e.exit_code);  // kExitCorrupt
    BOOST_TEST(e.maxrss_kib < base + kMaxGrowthKib, c.name << ": peak RSS " << e.maxrss_kib);
    if (e.exit_code == 2 && e.maxrss_kib < base + kMaxGrowthKib) ++g_checks;
  }
}

// ---- model files that lie ----

void put_u32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

BOOST_AUTO_TEST_CASE(model_file_loader) {
  test::TempDir dir;
  // Dimensions of the largest model (4096 x 4096, 8 layers: ~1 GiB of
  // weights) in a file of a few hundred bytes with a valid content hash.
  Bytes m = {'L', 'M', 'Z', 'M', 'O', 'D', 'E', 'L'};
  put_u32(m, 1);
  put_u32(m, 1);
  put_u32(m, 4);
  m.insert(m.end(), {'e', 'v', 'i', 'l'});
  for (uint32_t v : {4096u, 4096u, 8u, 8u, 4096u, 4096u, 1000u}) put_u32(m, v);
  m.resize(m.size() + 200, 1);
  XXH128_hash_t h = XXH3_128bits(m.data(), m.size());
  for (uint64_t part : {h.high64, h.low64}) {
    for (int i = 0; i < 8; ++i) m.push_back(static_cast<uint8_t>(part >> (8 * i)));
  }
  fs::path lying = dir.path() / "lying.lmzm";
  write_file(lying, m);
  expect_bounded<CorruptInput>("model file: 1 GiB of weights declared in 300 bytes",
                               [&] { read_model_file(lying); });
  // A file over the 1 GiB limit (sparse: costs no disk) is refused unread.
  fs::path big = dir.path() / "big.lmzm";
  {
    int fd = ::open(big.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::ftruncate(fd, (off_t{1} << 30) + 1) == 0);
    ::close(fd);
  }
  expect_bounded<CorruptInput>("model file: 1 GiB + 1 byte file", [&] { read_model_file(big); });
}

// ---- the client side of frames: a fake daemon that lies ----

// Serves one connection on `path`: answers HELLO with a WELCOME announcing
// `max_frame`, then answers the next frame with a RESULT header claiming
// `claim` bytes, sends 100 of them and closes. Runs in a forked process.
pid_t fake_daemon(const fs::path& path, uint32_t max_frame, uint32_t claim) {
  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener, 1) != 0) {
    throw std::runtime_error("fake daemon: cannot listen");
  }
  pid_t pid = ::fork();
  if (pid != 0) {
    ::close(listener);
    return pid;
  }
  int fd = ::accept(listener, nullptr, nullptr);
  auto read_frame = [fd] {
    uint8_t h[proto::kHeaderSize];
    size_t got = 0;
    while (got < sizeof(h)) {
      ssize_t n = ::read(fd, h + got, sizeof(h) - got);
      if (n <= 0) ::_exit(0);
      got += static_cast<size_t>(n);
    }
    Bytes skip(proto::decode_header(h).length);
    got = 0;
    while (got < skip.size()) {
      ssize_t n = ::read(fd, skip.data() + got, skip.size() - got);
      if (n <= 0) ::_exit(0);
      got += static_cast<size_t>(n);
    }
  };
  auto send = [fd](const Bytes& b) { return ::send(fd, b.data(), b.size(), MSG_NOSIGNAL); };
  read_frame();
  proto::Welcome w;
  w.max_frame_payload = max_frame;
  w.max_requests = 16;
  w.request_credit = 1 << 20;
  w.max_batch_windows = 4096;
  w.idle_timeout_ms = 60000;
  w.model_name = "fake";
  w.device = "cpu";
  send(proto::make_frame(proto::FrameType::kWelcome, 0, proto::encode_welcome(w)));
  read_frame();
  uint8_t h[proto::kHeaderSize];
  proto::FrameHeader fh;
  fh.length = claim;
  fh.type = proto::FrameType::kResult;
  fh.request_id = 1;
  proto::encode_header(fh, h);
  Bytes lie(h, h + sizeof(h));
  lie.resize(lie.size() + 100, 0);
  send(lie);
  ::close(fd);
  ::_exit(0);
}

BOOST_AUTO_TEST_CASE(client_side_of_frames) {
  test::TempDir dir;
  fs::path sock = dir.path() / "fake.sock";
  expect_bounded<IoError>("client: RESULT frame claiming 64 MiB, 100 bytes sent", [&] {
    pid_t pid = fake_daemon(sock, proto::kMaxFramePayload, proto::kMaxFramePayload);
    auto client = DaemonClient::connect(sock.string());
    if (!client) throw std::runtime_error("fake daemon not reached");
    try {
      client->status();
    } catch (...) {
      ::waitpid(pid, nullptr, 0);
      throw;
    }
  });
  fs::remove(sock);
  expect_bounded<IoError>("client: WELCOME announcing 4 GiB frames", [&] {
    pid_t pid = fake_daemon(sock, 0xFFFFFFFFu, 0xFFFFFFF0u);
    try {
      DaemonClient::connect(sock.string());
    } catch (...) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      throw;
    }
  });
}

// ---- lmzd: lying frames from clients ----

long daemon_growth(const test::LmzdProcess& d, long before_rss) {
  return test::vm_hwm_kib(d.pid()) - before_rss;
}

std::map<std::string, std::string> status_of(const fs::path& sock) {
  auto c = DaemonClient::connect(sock.string());
  if (!c) throw std::runtime_error("lmzd not reachable");
  return c->status();
}

BOOST_AUTO_TEST_CASE(daemon_half_sent_frames_claiming_64_MiB) {
  test::TempDir dir;
  fs::path sock = dir.path() / "d.sock";
  test::LmzdProcess d(dir, test::lmzd_args(sock, {"--max-frame", "67108864"}));
  status_of(sock);  // warm up
  BOOST_TEST_REQUIRE(test::reset_hwm(d.pid()));
  long before = test::vm_rss_kib(d.pid());
  // 16 clients each announce a 64 MiB payload and send 1000 bytes of it.
  std::vector<std::unique_ptr<test::RawConnection>> conns;
  for (int i = 0; i < 16; ++i) {
    auto c = std::make_unique<test::RawConnection>(sock);
    c->handshake();
    uint8_t h[proto::kHeaderSize];
    proto::FrameHeader fh;
    fh.length = 64u << 20;
    fh.type = proto::FrameType::kData;
    fh.request_id = 1;
    proto::encode_header(fh, h);
    Bytes bytes(h, h + sizeof(h));
    bytes.resize(bytes.size() + 1000, 7);
    c->send_bytes(bytes);
    conns.push_back(std::move(c));
  }
  // Before a pre-handshake client too: a 4 GiB claim is refused at once.
  test::RawConnection early(sock);
  uint8_t h[proto::kHeaderSize];
  proto::FrameHeader fh;
  fh.length = 0xFFFFFFFFu;
  proto::encode_header(fh, h);
  early.send_bytes(ByteView(h, sizeof(h)));
  BOOST_TEST(early.closed_by_peer());
  auto st = status_of(sock);
  BOOST_TEST(std::stoi(st["connections"]) >= 17);  // 16 holding + the status client
  long growth = daemon_growth(d, before);
  BOOST_TEST_MESSAGE("lmzd VmHWM growth with 16 x 64 MiB half-sent frames: " << growth << " KiB");
  BOOST_TEST(growth < 16 * 1024);
  if (growth < 16 * 1024) ++g_checks;
}

BOOST_AUTO_TEST_CASE(daemon_client_that_never_reads_its_replies) {
  test::TempDir dir;
  fs::path sock = dir.path() / "d.sock";
  test::LmzdProcess d(dir, test::lmzd_args(sock, {"--output-buffer", "65536"}));
  status_of(sock);
  BOOST_TEST_REQUIRE(test::reset_hwm(d.pid()));
  long before = test::vm_rss_kib(d.pid());
  test::RawConnection c(sock);
  c.handshake();
  ::fcntl(c.fd(), F_SETFL, ::fcntl(c.fd(), F_GETFL) | O_NONBLOCK);
  // STATUS requests (12 bytes, ~1 KB answer each) until the daemon stops
  // reading us for 300 ms, or 200,000 of them.
  Bytes batch;
  uint32_t id = 0;
  size_t sent_frames = 0;
  auto stalled_since = std::chrono::steady_clock::now();
  while (sent_frames < 200000) {
    if (batch.empty()) {
      for (int i = 0; i < 100; ++i) {
        Bytes f = proto::make_frame(proto::FrameType::kStatus, ++id, {});
        batch.insert(batch.end(), f.begin(), f.end());
      }
    }
    ssize_t n = ::send(c.fd(), batch.data(), batch.size(), MSG_NOSIGNAL);
    if (n > 0) {
      sent_frames += static_cast<size_t>(n) / proto::kHeaderSize;
      batch.erase(batch.begin(), batch.begin() + n);
      stalled_since = std::chrono::steady_clock::now();
      continue;
    }
    if (std::chrono::steady_clock::now() - stalled_since > std::chrono::milliseconds(300)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  long growth = daemon_growth(d, before);
  BOOST_TEST_MESSAGE("lmzd: a client sent "
                     << sent_frames << " STATUS requests without reading; VmHWM growth " << growth
                     << " KiB");
  BOOST_TEST(sent_frames < 200000u);  // the daemon stopped reading it
  BOOST_TEST(growth < 16 * 1024);
  // Others are still served.
  auto st = status_of(sock);
  BOOST_TEST(st["connections"] == "2");
  if (growth < 16 * 1024 && sent_frames < 200000u) ++g_checks;
}

BOOST_AUTO_TEST_CASE(daemon_credit_sent_one_byte_per_frame) {
  test::TempDir dir;
  fs::path sock = dir.path() / "d.sock";
  test::LmzdProcess d(dir, test::lmzd_args(sock, {"--workers", "1"}));
  status_of(sock);
  test::RawConnection c(sock);
  proto::Welcome w = c.handshake();
  proto::CompressParams params;
  // Request 1 takes the only worker and waits for input; request 2 waits for
  // a worker while its whole credit arrives as one-byte DATA frames.
  c.send_frame(proto::FrameType::kCompress, 1, proto::encode_compress(params));
  c.send_frame(proto::FrameType::kCompress, 2, proto::encode_compress(params));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST_REQUIRE(test::reset_hwm(d.pid()));
  long before = test::vm_rss_kib(d.pid());
  uint64_t frames_before = std::stoull(status_of(sock)["frames_in"]);
  Bytes one = proto::make_frame(proto::FrameType::kData, 2, Bytes{'z'});
  Bytes all;
  all.reserve(one.size() * w.request_credit);
  for (uint32_t i = 0; i < w.request_credit; ++i) all.insert(all.end(), one.begin(), one.end());
  c.send_bytes(all);
  // Wait until the daemon has read them all.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  uint64_t frames = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    frames = std::stoull(status_of(sock)["frames_in"]) - frames_before;
    if (frames >= w.request_credit) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST_REQUIRE(frames >= w.request_credit);
  long growth = daemon_growth(d, before);
  BOOST_TEST_MESSAGE("lmzd: " << w.request_credit
                              << " one-byte DATA frames queued for one request; VmHWM growth "
                              << growth << " KiB");
  BOOST_TEST(growth < 16 * 1024);
  if (growth < 16 * 1024) ++g_checks;
}

// Requests whose payloads lie: an archive claiming a 64 MiB block sent to
// DECOMPRESS, and DECODE_WINDOWS asking for 4,096 windows of 4 GiB each.
BOOST_AUTO_TEST_CASE(daemon_requests_with_lying_lengths) {
  test::TempDir dir;
  fs::path sock = dir.path() / "d.sock";
  test::LmzdProcess d(dir, test::lmzd_args(sock));
  status_of(sock);
  BOOST_TEST_REQUIRE(test::reset_hwm(d.pid()));
  long before = test::vm_rss_kib(d.pid());
  test::RawConnection c(sock);
  c.handshake();
  auto error_code_of = [&](uint32_t id) {
    for (;;) {
      auto f = c.read_frame();
      if (!f) return -1;
      if (f->header.request_id == id && f->header.type == proto::FrameType::kError) {
        return static_cast<int>(proto::decode_error(f->payload).first);
      }
    }
  };
  c.send_frame(proto::FrameType::kDecompress, 1, {});
  c.send_frame(
      proto::FrameType::kData, 1,
      archive_claiming(format::Codec::kStored, format::kMaxBlockSize, format::kMaxBlockSize));
  c.send_frame(proto::FrameType::kEnd, 1, {});
  int code = error_code_of(1);
  BOOST_TEST(code == static_cast<int>(proto::ErrorCode::kCorruptInput));

  proto::PayloadWriter p;
  p.hash(Hash128{});
  p.u16(kDirectStage);
  p.u16(0);
  p.u32(4096);
  for (int i = 0; i < 4096; ++i) p.u32(0xFFFFFFFFu);  // raw sizes
  for (int i = 0; i < 4096; ++i) p.u32(0);            // coded sizes
  c.send_frame(proto::FrameType::kDecodeWindows, 2, p.bytes());
  int code2 = error_code_of(2);
  BOOST_TEST((code2 == static_cast<int>(proto::ErrorCode::kUsage) ||
              code2 == static_cast<int>(proto::ErrorCode::kBadRequest)),
             "error code " << code2);
  long growth = daemon_growth(d, before);
  BOOST_TEST_MESSAGE(
      "lmzd: DECOMPRESS of an archive claiming 64 MiB and DECODE_WINDOWS asking "
      "for 4096 x 4 GiB: errors "
      << code << ", " << code2 << "; VmHWM growth " << growth << " KiB");
  BOOST_TEST(growth < 16 * 1024);
  if (growth < 16 * 1024 && code == static_cast<int>(proto::ErrorCode::kCorruptInput)) ++g_checks;
}

// Prints how many memory-bound checks passed (each one also asserts).
struct PrintCount {
  ~PrintCount() { std::printf("memory-bound checks passed: %d\n", g_checks); }
};
BOOST_TEST_GLOBAL_FIXTURE(PrintCount);

}  // namespace
}  // namespace lmz
