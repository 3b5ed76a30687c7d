// `lmz` as a client of `lmzd`: the built lmz against the built lmzd on a
// temporary socket, both with the stand-in model. The archive made through
// the daemon must be byte for byte the one made in-process; decompression,
// -t, -l and --range through the daemon must give the in-process results;
// --daemon, --local and the default choice must contact the daemon exactly
// when they promise to (checked with lmzd's STATUS counters).
#define BOOST_TEST_MODULE cli_daemon_test
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "daemon/client.h"
#include "format/archive_writer.h"
#include "harness.h"
#include "libcodec/hash.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"
#include "tests/daemon/harness.h"

namespace lmz::cli_test {
namespace {

// One lmzd for the whole test binary: the stand-in model on the CPU.
struct Daemon {
  Daemon() : socket(dir.path() / "lmzd.sock"), process(dir, test::lmzd_args(socket)) {}
  lmz::test::TempDir dir;
  std::filesystem::path socket;
  test::LmzdProcess process;
};

const Daemon& daemon() {
  static const Daemon d;
  return d;
}

std::string socket_path() {
  return daemon().socket.string();
}

// lmzd's STATUS counters, read on a fresh connection of their own.
std::map<std::string, uint64_t> counters() {
  std::optional<DaemonClient> client = DaemonClient::connect(socket_path());
  if (!client) throw std::runtime_error("lmzd does not answer at " + socket_path());
  std::map<std::string, uint64_t> out;
  for (const auto& [key, value] : client->status()) {
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
      out[key] = std::stoull(value);
    }
  }
  return out;
}

uint64_t delta(const std::map<std::string, uint64_t>& before,
               const std::map<std::string, uint64_t>& after, const std::string& key) {
  return after.at(key) - before.at(key);
}

// Runs lmz in `dir` with $LMZ_MODEL cleared (so that only --model chooses)
// and $LMZ_SOCKET set to `lmz_socket`.
RunResult lmz_in(const TempDir& dir, const std::vector<std::string>& args,
                 const std::string& lmz_socket = socket_path()) {
  RunOptions options = in_dir(dir.path());
  options.env["LMZ_MODEL"] = "";
  options.env["LMZ_SOCKET"] = lmz_socket;
  return run_lmz(args, options);
}

// The test inputs: prose, a log, binary, nothing, and mixed data cut into
// many blocks and windows (each with the options that go with it).
struct Input {
  std::string name;
  Blob data;
  std::vector<std::string> options;
};

std::vector<Input> inputs() {
  const std::vector<std::string> small_blocks = {"--block-size",      "64K", "--window-size", "4K",
                                                 "--log-window-size", "16K"};
  return {
      {"prose", english_text(150'000, 1), {}},
      {"log", log_text(200'000, 2), {}},
      {"binary", random_bytes(70'000, 3), {}},
      {"empty", "", {}},
      {"mixed", english_text(120'000, 4) + random_bytes(40'000, 5) + log_text(150'000, 6),
       small_blocks},
  };
}

// Compresses `input` to standard output with `mode` ("--daemon" or "--local").
Blob compress(const TempDir& dir, const Input& input, const std::string& mode) {
  write_file(dir / input.name, input.data);
  std::vector<std::string> args = {mode, "--model", "order2", "-c"};
  args.insert(args.end(), input.options.begin(), input.options.end());
  args.push_back(input.name);
  RunResult r = lmz_in(dir, args);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, input.name << " " << mode << ": " << describe(r));
  return r.out;
}

BOOST_AUTO_TEST_CASE(archives_are_identical_and_decode_through_the_daemon) {
  TempDir dir;
  for (const Input& input : inputs()) {
    auto before = counters();
    Blob remote = compress(dir, input, "--daemon");
    auto after = counters();
    Blob local = compress(dir, input, "--local");
    BOOST_TEST(remote.size() == local.size(), input.name);
    BOOST_TEST((remote == local), input.name << ": the daemon's archive differs");
    // Text goes to the model, which runs in the daemon.
    if (input.name == "prose" || input.name == "log" || input.name == "mixed") {
      BOOST_TEST(delta(before, after, "windows_encoded") > 1u, input.name);
    }

    write_file(dir / (input.name + ".lmz"), local);
    before = counters();
    RunResult d = lmz_in(dir, {"--daemon", "-dc", input.name + ".lmz"});
    after = counters();
    BOOST_REQUIRE_MESSAGE(d.exit_code == 0, input.name << ": " << describe(d));
    BOOST_TEST((d.out == input.data), input.name << ": decompressed through the daemon differs");
    if (input.name == "prose" || input.name == "log" || input.name == "mixed") {
      BOOST_TEST(delta(before, after, "windows_decoded") > 0u, input.name);
    }

    RunResult t = lmz_in(dir, {"--daemon", "-t", input.name + ".lmz"});
    BOOST_TEST(t.exit_code == 0, input.name << " -t: " << describe(t));

    RunResult list_remote = lmz_in(dir, {"--daemon", "-l", input.name + ".lmz"});
    RunResult list_local = lmz_in(dir, {"--local", "-l", input.name + ".lmz"});
    BOOST_TEST(list_remote.exit_code == 0, describe(list_remote));
    BOOST_TEST(list_remote.out == list_local.out, input.name);
  }
}

BOOST_AUTO_TEST_CASE(decompress_to_a_file_through_the_daemon) {
  TempDir dir;
  Blob data = log_text(90'000, 7);
  write_file(dir / "f", data);
  RunResult c = lmz_in(dir, {"--daemon", "--model", "order2", "--rm", "f"});
  BOOST_REQUIRE_MESSAGE(c.exit_code == 0, describe(c));
  BOOST_TEST(dir.list() == std::vector<std::string>{"f.lmz"});
  RunResult d = lmz_in(dir, {"--daemon", "-d", "f.lmz"});
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  BOOST_TEST((read_file(dir / "f") == data));
}

BOOST_AUTO_TEST_CASE(ranges_through_the_daemon_decode_only_what_they_need) {
  TempDir dir;
  Input mixed = inputs().back();
  BOOST_REQUIRE(mixed.name == "mixed");
  write_file(dir / "m.lmz", compress(dir, mixed, "--local"));
  const uint64_t size = mixed.data.size();
  const std::vector<std::pair<uint64_t, uint64_t>> ranges = {
      {0, 100}, {4000, 300}, {65'000, 2'000}, {130'000, 50'000}, {size - 10, 100}, {size, 5}};
  for (auto [offset, length] : ranges) {
    std::string spec = std::to_string(offset) + ":" + std::to_string(length);
    auto before = counters();
    RunResult remote = lmz_in(dir, {"--daemon", "--range", spec, "m.lmz"});
    auto after = counters();
    RunResult local = lmz_in(dir, {"--local", "--range", spec, "m.lmz"});
    BOOST_REQUIRE_MESSAGE(remote.exit_code == 0, spec << ": " << describe(remote));
    BOOST_REQUIRE_MESSAGE(local.exit_code == 0, spec << ": " << describe(local));
    Blob expected = offset < size ? mixed.data.substr(offset, length) : Blob();
    BOOST_TEST((remote.out == expected), spec);
    BOOST_TEST((local.out == expected), spec);
    // A short range decodes a window or two of the 4 KiB prose windows or
    // 16 KiB log windows, not the data.
    BOOST_TEST(delta(before, after, "raw_bytes_decoded") <= 40'000u, spec);
  }
  // A range that starts in prose decodes at least the window that holds it.
  auto before = counters();
  RunResult r = lmz_in(dir, {"--daemon", "--range", "5000:10", "m.lmz"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  BOOST_TEST(delta(before, counters(), "windows_decoded") >= 1u);
}

BOOST_AUTO_TEST_CASE(daemon_required_but_absent) {
  TempDir dir;
  write_file(dir / "f", english_text(5000, 8));
  const std::string missing = (dir / "nobody.sock").string();
  // Through $LMZ_SOCKET ...
  RunResult r = lmz_in(dir, {"--daemon", "--model", "order2", "f"}, missing);
  BOOST_TEST(r.exit_code == 4, describe(r));
  BOOST_TEST(r.err.find(missing) != std::string::npos, describe(r));
  BOOST_TEST(r.err.find("--local") != std::string::npos, describe(r));
  BOOST_TEST(dir.list() == std::vector<std::string>{"f"});
  // ... and through --socket, which wins over $LMZ_SOCKET.
  RunResult s = lmz_in(dir, {"--daemon", "--socket", missing, "-c", "f"});
  BOOST_TEST(s.exit_code == 4, describe(s));
  BOOST_TEST(s.err.find(missing) != std::string::npos, describe(s));
  BOOST_TEST(s.out.empty());
  // A path that is not a socket at all.
  RunResult t = lmz_in(dir, {"--daemon", "-t", "f"}, (dir / "f").string());
  BOOST_TEST(t.exit_code == 4, describe(t));
  // Decompression and ranges say the same.
  write_file(dir / "g.lmz", compress(dir, {"g", english_text(3000, 9), {}}, "--local"));
  RunResult d = lmz_in(dir, {"--daemon", "-dc", "g.lmz"}, missing);
  BOOST_TEST(d.exit_code == 4, describe(d));
  BOOST_TEST(d.err.find(missing) != std::string::npos, describe(d));
  RunResult g = lmz_in(dir, {"--daemon", "--range", "0:10", "g.lmz"}, missing);
  BOOST_TEST(g.exit_code == 4, describe(g));
}

BOOST_AUTO_TEST_CASE(daemon_and_local_exclude_each_other) {
  TempDir dir;
  RunResult r = lmz_in(dir, {"--daemon", "--local", "-c", "f"});
  BOOST_TEST(r.exit_code == 1, describe(r));
  BOOST_TEST(r.err.find("exclude") != std::string::npos, describe(r));
  RunResult no_path = lmz_in(dir, {"--socket"});
  BOOST_TEST(no_path.exit_code == 1, describe(no_path));
  RunResult help = lmz_in(dir, {"--help"});
  for (const char* flag : {"--daemon", "--local", "--socket", "LMZ_SOCKET"}) {
    BOOST_TEST(help.out.find(flag) != std::string::npos, flag);
  }
}

BOOST_AUTO_TEST_CASE(local_never_contacts_the_daemon) {
  TempDir dir;
  Input prose{"p", english_text(60'000, 10), {}};
  auto before = counters();
  Blob archive = compress(dir, prose, "--local");
  write_file(dir / "p.lmz", archive);
  RunResult d = lmz_in(dir, {"--local", "-v", "-dc", "p.lmz"});
  RunResult g = lmz_in(dir, {"--local", "--range", "100:100", "p.lmz"});
  auto after = counters();
  BOOST_TEST(d.exit_code == 0, describe(d));
  BOOST_TEST(g.exit_code == 0, describe(g));
  BOOST_TEST(d.err.find("lmzd") == std::string::npos, describe(d));
  // The only connection since `before` is the one that read `after`.
  BOOST_TEST(delta(before, after, "connections_total") == 1u);
  BOOST_TEST(delta(before, after, "windows_encoded") == 0u);
  BOOST_TEST(delta(before, after, "windows_decoded") == 0u);
}

BOOST_AUTO_TEST_CASE(default_uses_a_live_daemon_and_falls_back_without_one) {
  TempDir dir;
  Blob data = english_text(80'000, 11);
  write_file(dir / "f", data);
  Blob local = compress(dir, {"f", data, {}}, "--local");

  // $LMZ_SOCKET names the live daemon: lmz uses it, with its model (no
  // --model and no $LMZ_MODEL), which here is order2.
  auto before = counters();
  RunResult live = lmz_in(dir, {"-v", "-c", "f"});
  auto after = counters();
  BOOST_REQUIRE_MESSAGE(live.exit_code == 0, describe(live));
  BOOST_TEST((live.out == local));
  BOOST_TEST(live.err.find("using lmzd at " + socket_path()) != std::string::npos, describe(live));
  BOOST_TEST(delta(before, after, "connections_total") == 2u);
  BOOST_TEST(delta(before, after, "windows_encoded") > 1u);

  // A dead path: lmz works in-process, with the in-process default model
  // (spec/MODEL.md; not necessarily the daemon's), and says so at -v.
  const std::string dead = (dir / "dead.sock").string();
  RunResult in_process = lmz_in(dir, {"--local", "-c", "f"}, dead);
  BOOST_REQUIRE_MESSAGE(in_process.exit_code == 0, describe(in_process));
  before = counters();
  RunResult fallback = lmz_in(dir, {"-v", "-c", "f"}, dead);
  after = counters();
  BOOST_REQUIRE_MESSAGE(fallback.exit_code == 0, describe(fallback));
  BOOST_TEST((fallback.out == in_process.out));
  BOOST_TEST(fallback.err.find("no lmzd at " + dead) != std::string::npos, describe(fallback));
  BOOST_TEST(delta(before, after, "connections_total") == 1u);

  // Without -v the fallback is silent; decompression falls back the same way.
  write_file(dir / "f.lmz", local);
  RunResult quiet = lmz_in(dir, {"-dc", "f.lmz"}, dead);
  BOOST_TEST(quiet.exit_code == 0, describe(quiet));
  BOOST_TEST(quiet.err.empty(), describe(quiet));
  BOOST_TEST((quiet.out == data));
  // With the live daemon the default decodes through it.
  before = counters();
  RunResult remote = lmz_in(dir, {"-dc", "f.lmz"});
  after = counters();
  BOOST_TEST((remote.out == data), describe(remote));
  BOOST_TEST(delta(before, after, "windows_decoded") > 0u);
}

// Codes with order2 but records another model: an archive whose model no
// lmz and no lmzd has.
class ForeignModelCodec final : public WindowCodec {
 public:
  explicit ForeignModelCodec(WindowCodec& inner)
      : inner_(inner), id_{"test-foreign-model", Hash128{0x1122334455667788ull, 0x99}} {}
  const ModelId& model() const override { return id_; }
  StageId stage() const override { return inner_.stage(); }
  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    return inner_.encode(windows);
  }
  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override {
    inner_.decode(windows, out);
  }

 private:
  WindowCodec& inner_;
  ModelId id_;
};

BOOST_AUTO_TEST_CASE(models_the_daemon_does_not_have) {
  TempDir dir;
  // An archive naming a model nobody has.
  auto order2 = make_order2_model();
  auto inner = make_local_window_codec(*order2, default_stage(), 1);
  ForeignModelCodec foreign(*inner);
  Blob text = english_text(40'000, 12);
  Bytes archive = compress_buffer(Bytes(text.begin(), text.end()), foreign, WriterOptions{});
  write_file(dir / "x.lmz", Blob(archive.begin(), archive.end()));
  RunResult info = lmz_in(dir, {"--local", "-l", "x.lmz"});
  BOOST_REQUIRE_MESSAGE(info.out.find("test-foreign-model") != std::string::npos, info.out);

  // --daemon: a model mismatch that names the daemon and the archive's model.
  RunResult required = lmz_in(dir, {"--daemon", "-dc", "x.lmz"});
  BOOST_TEST(required.exit_code == 3, describe(required));
  BOOST_TEST(required.err.find("test-foreign-model") != std::string::npos, describe(required));
  BOOST_TEST(required.err.find(socket_path()) != std::string::npos, describe(required));
  BOOST_TEST(required.out.empty());
  // Default: decoded in-process instead (-v says so), which fails here as
  // --local does, since the model is not installed here either.
  RunResult fallback = lmz_in(dir, {"-v", "-dc", "x.lmz"});
  RunResult local = lmz_in(dir, {"--local", "-dc", "x.lmz"});
  BOOST_TEST(fallback.exit_code == local.exit_code, describe(fallback)
                                                        << " vs " << describe(local));
  BOOST_TEST(local.exit_code == 3, describe(local));
  BOOST_TEST(fallback.err.find("decoding in this process") != std::string::npos,
             describe(fallback));

  // A model file lmzd does not have, asked for with --model: the client
  // knows it by its hash without loading it. (Its weights are nonsense, so
  // loading it in-process fails; what matters is who tries.)
  Blob fake = "LMZMODEL" + Blob(64, 'x');
  Hash128 h = xxh3_128(ByteView(reinterpret_cast<const uint8_t*>(fake.data()), fake.size()));
  for (uint64_t word : {h.high, h.low}) {
    for (int i = 0; i < 8; ++i) fake.push_back(static_cast<char>((word >> (8 * i)) & 0xff));
  }
  write_file(dir / "fake.lmzm", fake);
  write_file(dir / "t", text);
  RunResult c = lmz_in(dir, {"--daemon", "--model", "./fake.lmzm", "-c", "t"});
  BOOST_TEST(c.exit_code == 3, describe(c));
  BOOST_TEST(c.err.find(h.hex()) != std::string::npos, describe(c));
  BOOST_TEST(c.err.find("'fake'") != std::string::npos, describe(c));
  RunResult c_auto = lmz_in(dir, {"-v", "--model", "./fake.lmzm", "-c", "t"});
  RunResult c_local = lmz_in(dir, {"--local", "--model", "./fake.lmzm", "-c", "t"});
  BOOST_TEST(c_auto.exit_code == c_local.exit_code, describe(c_auto)
                                                        << " vs " << describe(c_local));
  BOOST_TEST(c_local.exit_code != 0);
  BOOST_TEST(c_auto.err.find("compressing in this process") != std::string::npos, describe(c_auto));
  // A name that is installed nowhere.
  RunResult none = lmz_in(dir, {"--daemon", "--model", "no-such-model", "-c", "t"});
  BOOST_TEST(none.exit_code == 1, describe(none));
  BOOST_TEST(none.err.find("no-such-model") != std::string::npos, describe(none));
}

// Writes `data` into the FIFO `path` once lmz opens it for reading; gives up
// when `done` (lmz ended without opening it) or after 60 s.
void feed_fifo(const std::filesystem::path& path, const Blob& data, const std::atomic<bool>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int fd = -1;
  while (fd < 0 && !done && std::chrono::steady_clock::now() < deadline) {
    fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // ENXIO: no reader yet
    if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (fd < 0) return;
  ::fcntl(fd, F_SETFL, 0);  // blocking writes from here on
  size_t at = 0;
  while (at < data.size()) {
    ssize_t n = ::write(fd, data.data() + at, data.size() - at);
    if (n <= 0) break;
    at += static_cast<size_t>(n);
  }
  ::close(fd);
}

// Runs `lmz args a fifo` against an lmzd that is killed after lmz coded `a`
// through it and before the FIFO delivers the second input.
RunResult run_while_daemon_dies(const TempDir& dir, std::vector<std::string> args,
                                const Blob& second) {
  lmz::test::TempDir ddir;
  auto sock = ddir.path() / "doomed.sock";
  test::LmzdProcess doomed(ddir, test::lmzd_args(sock));
  std::filesystem::remove(dir / "fifo");
  BOOST_REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  args.push_back("a");
  args.push_back("fifo");
  std::atomic<bool> done{false};
  RunResult result;
  std::thread lmz([&] {
    result = lmz_in(dir, args, sock.string());
    done = true;
  });
  // Wait until lmz has coded `a` on the daemon (more than the one-window
  // probe), then kill the daemon.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done && std::chrono::steady_clock::now() < deadline) {
    std::optional<DaemonClient> client = DaemonClient::connect(sock.string());
    if (client && std::stoull(client->status().at("windows_encoded")) > 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  doomed.signal(SIGKILL);
  // wait_exit gives nullopt for a death by signal; it reaps the process.
  BOOST_TEST(!doomed.wait_exit(std::chrono::seconds(10)).has_value());
  feed_fifo(dir / "fifo", second, done);
  lmz.join();
  return result;
}

BOOST_AUTO_TEST_CASE(a_daemon_that_dies_mid_run) {
  TempDir dir;
  Blob first = english_text(40'000, 16);
  Blob second = log_text(40'000, 17);
  write_file(dir / "a", first);
  write_file(dir / "b", second);
  RunResult expected = lmz_in(dir, {"--local", "--model", "order2", "-c", "a", "b"});
  BOOST_REQUIRE_MESSAGE(expected.exit_code == 0, describe(expected));

  // By default lmz goes on in-process, with a warning, and writes the same
  // archive.
  RunResult r = run_while_daemon_dies(dir, {"--model", "order2", "-c"}, second);
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST((r.out == expected.out), describe(r));
  BOOST_TEST(r.err.find("stopped answering") != std::string::npos, describe(r));

  // With --daemon it fails (I/O error) instead.
  RunResult q = run_while_daemon_dies(dir, {"--daemon", "--model", "order2", "-c"}, second);
  BOOST_TEST(q.exit_code == 4, describe(q));
  BOOST_TEST(q.err.find("lmzd") != std::string::npos, describe(q));
}

BOOST_AUTO_TEST_CASE(large_calls_go_over_several_connections) {
  // With lmzd's smallest frames, one writer call holds many frames' worth of
  // windows; lmz sends them over several connections at once (so that
  // lmzd's scheduler can batch them) and the archive stays the same.
  lmz::test::TempDir ddir;
  auto sock = ddir.path() / "small-frames.sock";
  test::LmzdProcess small_frames(ddir, test::lmzd_args(sock, {"--max-frame", "65536"}));
  auto status = [&] {
    std::optional<DaemonClient> client = DaemonClient::connect(sock.string());
    BOOST_REQUIRE(client);
    return std::stoull(client->status().at("connections_total"));
  };
  TempDir dir;
  Blob data = english_text(400'000, 15);
  write_file(dir / "f", data);
  const std::vector<std::string> options = {"--model", "order2", "--window-size", "4K", "-c", "f"};
  std::vector<std::string> remote_args = {"--daemon"};
  remote_args.insert(remote_args.end(), options.begin(), options.end());
  std::vector<std::string> local_args = {"--local"};
  local_args.insert(local_args.end(), options.begin(), options.end());
  uint64_t before = status();
  RunResult remote = lmz_in(dir, remote_args, sock.string());
  uint64_t after = status();
  RunResult local = lmz_in(dir, local_args);
  BOOST_REQUIRE_MESSAGE(remote.exit_code == 0, describe(remote));
  BOOST_REQUIRE_MESSAGE(local.exit_code == 0, describe(local));
  BOOST_TEST((remote.out == local.out));
  // lmz's connections, plus the one that read `after`.
  BOOST_TEST(after - before >= 3u);
  BOOST_TEST(after - before <= 1u + 4u);

  write_file(dir / "f.lmz", local.out);
  before = status();
  RunResult d = lmz_in(dir, {"--daemon", "-dc", "f.lmz"}, sock.string());
  after = status();
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  BOOST_TEST((d.out == data));
  BOOST_TEST(after - before >= 3u);
}

BOOST_AUTO_TEST_CASE(a_connection_the_daemon_dropped_is_reopened) {
  // lmzd closes a connection that stays silent for --idle-timeout-ms, as
  // happens while lmz waits on a slow pipe. lmz must open a new one rather
  // than fail. Its own lmzd with a short timeout; the second input is a FIFO
  // whose writer shows up only after several timeouts.
  lmz::test::TempDir ddir;
  auto sock = ddir.path() / "short.sock";
  // 1 s, not less: on a loaded CI machine a fresh connection can take a few
  // hundred ms to send its first request, which a shorter timeout would cut.
  test::LmzdProcess short_timeout(ddir, test::lmzd_args(sock, {"--idle-timeout-ms", "1000"}));
  TempDir dir;
  Blob first = english_text(30'000, 13);
  Blob second = log_text(30'000, 14);
  write_file(dir / "a", first);
  BOOST_REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    std::ofstream(dir / "fifo", std::ios::binary) << second;
  });
  RunResult r = lmz_in(dir, {"--daemon", "--model", "order2", "-c", "a", "fifo"}, sock.string());
  writer.join();
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  write_file(dir / "both.lmz", r.out);
  RunResult d = lmz_in(dir, {"--local", "-dc", "both.lmz"});
  BOOST_REQUIRE_MESSAGE(d.exit_code == 0, describe(d));
  BOOST_TEST((d.out == first + second));
  BOOST_TEST(short_timeout.log().find("idle") != std::string::npos, short_timeout.log());
}

}  // namespace
}  // namespace lmz::cli_test
