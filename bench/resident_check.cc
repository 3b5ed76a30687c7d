// lmz-resident-check: the resident window codec on a device (CUDA on the
// GPU machine) against the CPU's batch loop, for one model: every window
// of FILE, cut as lmz cuts prose, must code to the same bytes on both, for
// the direct stage and the mixing stage; both decode each other's codings;
// and corrupt windows inside the device batch must fail alone (the lowest
// one reported, every other window decoded intact). Prints a line per check
// and PASS or FAIL last; exits 0 only on PASS. tests/engine/test_resident.cc
// checks the same on the CPU in CI.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "libcodec/cm/cm_stage.h"
#include "libcodec/coding_stage.h"
#include "libcodec/engine/lstm_predictor.h"
#include "libcodec/engine/model_file.h"
#include "libcodec/errors.h"
#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace {

using namespace lmz;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: lmz-resident-check MODEL.lmzm FILE [BYTES [WINDOW]]

Codes the first BYTES bytes of FILE (default 1 MiB) in windows of WINDOW
bytes (default 16384) with the resident codec on CUDA and with the batch
loop on the CPU, both stages, and checks that the codings are identical,
decode on each other, and that corrupt windows in the CUDA batch fail alone.
)";

bool check(bool ok, const std::string& what, int& failures) {
  fmt::print("{} {}\n", ok ? "ok  " : "FAIL", what);
  std::fflush(stdout);
  failures += ok ? 0 : 1;
  return ok;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Decoding {
  std::vector<Bytes> out;
  std::vector<MutableByteView> spans;
  std::vector<EncodedWindowView> coded;
};

Decoding decoding(const std::vector<ByteView>& raw, const std::vector<Bytes>& coded) {
  Decoding d;
  d.out.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    d.out[i].assign(raw[i].size(), 0);
    d.coded.push_back({coded[i], raw[i].size()});
  }
  for (Bytes& b : d.out) d.spans.push_back(b);
  return d;
}

bool same_bytes(const std::vector<ByteView>& raw, const std::vector<Bytes>& out) {
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!std::equal(raw[i].begin(), raw[i].end(), out[i].begin(), out[i].end())) return false;
  }
  return true;
}

// What `codec` says of window `index` of a call, coded as `coded`, decoded
// alone: its error message (numbered as window `index`), or "" when it
// decodes.
std::string cpu_verdict(WindowCodec& codec, ByteView raw, const Bytes& coded, size_t index) {
  Bytes out(raw.size());
  const EncodedWindowView w{coded, raw.size()};
  const MutableByteView o(out);
  try {
    codec.decode(std::span(&w, 1), std::span(&o, 1));
  } catch (const CorruptInput& e) {
    const std::string m = e.what();
    const std::string alone = "window 0:";
    return m.rfind(alone, 0) == 0 ? fmt::format("window {}:", index) + m.substr(alone.size()) : m;
  }
  return "";
}

void check_stage(Predictor& device, Predictor& cpu, StageId stage,
                 const std::vector<ByteView>& windows, int& failures) {
  const std::string name = stage == kDirectStage ? "direct" : "mix";
  auto resident = device.make_resident_codec(stage);
  if (!check(resident != nullptr, name + ": the device model has a resident codec", failures)) {
    return;
  }
  auto loop = make_local_window_codec(cpu, stage);
  auto t0 = Clock::now();
  const std::vector<Bytes> on_device = resident->encode(windows);
  const double device_s = seconds_since(t0);
  t0 = Clock::now();
  const std::vector<Bytes> on_cpu = loop->encode(windows);
  const double cpu_s = seconds_since(t0);
  size_t coded = 0;
  for (const Bytes& b : on_cpu) coded += b.size();
  check(on_device == on_cpu,
        fmt::format("{}: {} windows code identically on the device ({:.2f} s) and the CPU loop "
                    "({:.2f} s), {} coded bytes",
                    name, windows.size(), device_s, cpu_s, coded),
        failures);
  Decoding a = decoding(windows, on_cpu);
  resident->decode(a.coded, a.spans);
  check(same_bytes(windows, a.out), name + ": the device decodes the CPU's codings", failures);
  Decoding b = decoding(windows, on_device);
  loop->decode(b.coded, b.spans);
  check(same_bytes(windows, b.out), name + ": the CPU decodes the device's codings", failures);

  // Damage windows of the batch (a flipped byte, a truncation, a byte
  // appended). A damaged coding may still be the valid coding of other
  // bytes (the container's checksums catch those): the device batch must
  // report exactly what the CPU reports for the lowest damaged window that
  // fails alone, and decode every other window intact.
  std::vector<Bytes> damaged = on_device;
  const size_t n = damaged.size();
  const std::vector<size_t> bad{n / 3, n / 2, n - 1};
  damaged[bad[0]][damaged[bad[0]].size() / 2] ^= 0x5A;
  damaged[bad[1]].resize(damaged[bad[1]].size() / 2);
  damaged[bad[2]].push_back(0x33);
  std::string expected;
  for (size_t i : bad) {
    expected = cpu_verdict(*loop, windows[i], damaged[i], i);
    if (!expected.empty()) break;
  }
  Decoding c = decoding(windows, damaged);
  std::string message;
  try {
    resident->decode(c.coded, c.spans);
  } catch (const CorruptInput& e) {
    message = e.what();
  }
  check(message == expected,
        fmt::format("{}: damaged windows in the device batch: \"{}\" (the CPU: \"{}\")", name,
                    message, expected),
        failures);
  bool others_intact = true;
  for (size_t i = 0; i < n; ++i) {
    if (std::find(bad.begin(), bad.end(), i) != bad.end()) continue;
    others_intact &= std::equal(windows[i].begin(), windows[i].end(), c.out[i].begin());
  }
  check(others_intact, name + ": every other window of that batch decoded intact", failures);
}

int run(int argc, char** argv) {
  if (argc < 3 || std::string_view(argv[1]) == "--help") {
    std::fputs(kUsage, argc < 3 ? stderr : stdout);
    return argc < 3 ? 2 : 0;
  }
  const size_t bytes = argc > 3 ? std::stoull(argv[3]) : size_t{1} << 20;
  const size_t window = argc > 4 ? std::stoull(argv[4]) : 16384;
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot open {}", argv[2]));
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  data.resize(std::min(data.size(), bytes));
  std::vector<ByteView> windows;
  for (size_t at = 0; at < data.size(); at += window) {
    windows.push_back(ByteView(data).subspan(at, std::min(window, data.size() - at)));
  }
  const LstmModelFile file = read_model_file(argv[1]);
  auto device = make_lstm_predictor(file, "model", Device::kCuda);
  auto cpu =
      make_lstm_predictor(file, "model", Device::kCpu, LstmCodePath::kFused, ResidentUse::kNever);
  fmt::print("# {}: {} bytes in {} windows of {}\n", argv[2], data.size(), windows.size(), window);
  int failures = 0;
  check_stage(*device, *cpu, kDirectStage, windows, failures);
  check_stage(*device, *cpu, kMixStageV1, windows, failures);
  fmt::print("{}\n", failures == 0 ? "PASS" : "FAIL");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmz-resident-check: %s\n", e.what());
    return 2;
  }
}
