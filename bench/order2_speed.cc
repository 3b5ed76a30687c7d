// Prints the stand-in order-2 model's compression (bits per byte) and its
// encode/decode speed through the in-process window codec (direct stage).
//
//   order2_speed [--window BYTES] [--max BYTES] FILE...
//
// FILEs ending in .xz are read through `xz -dc`. Each file is cut into
// windows of --window bytes (default 16384); at most --max bytes (default
// 4 MiB) of each file are used. Last, it times the range coder alone on
// binary decisions (what the context-mixing stage codes: 8 per byte).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "libcodec/coding_stage.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/range_coder.h"
#include "libcodec/types.h"
#include "libcodec/window_codec.h"

namespace {

lmz::Bytes read_file(const std::string& path, size_t max) {
  lmz::Bytes data;
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".xz") == 0) {
    FILE* pipe = popen(("xz -dc '" + path + "'").c_str(), "r");
    if (pipe == nullptr) return data;
    data.resize(max);
    size_t got = 0;
    while (got < max) {
      const size_t n = std::fread(data.data() + got, 1, max - got, pipe);
      if (n == 0) break;
      got += n;
    }
    data.resize(got);
    pclose(pipe);
    return data;
  }
  FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) return data;
  data.resize(max);
  data.resize(std::fread(data.data(), 1, max, in));
  std::fclose(in);
  return data;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Processor time of all threads, in seconds (wall time is unreliable on a
// busy machine).
double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

// Codes `n` binary decisions with skewed, varying probabilities; prints
// million decisions per CPU second for encoding and decoding.
void time_binary_coder(size_t n) {
  std::vector<uint32_t> p1(4096);
  uint64_t x = 88172645463325252u;
  for (auto& p : p1) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p = 1 + static_cast<uint32_t>(x % 65535);
  }
  std::vector<uint8_t> bits(n);
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    bits[i] = (x % 65536) < p1[i % p1.size()];
  }
  lmz::Bytes out;
  double start = cpu_seconds();
  {
    lmz::RangeEncoder enc(out);
    for (size_t i = 0; i < n; ++i) enc.encode_bit(p1[i % p1.size()], bits[i]);
    enc.finish();
  }
  const double enc_s = cpu_seconds() - start;
  start = cpu_seconds();
  lmz::RangeDecoder dec(out);
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) wrong += dec.decode_bit(p1[i % p1.size()]) != bits[i];
  const double dec_s = cpu_seconds() - start;
  fmt::print("range coder, binary: {:.1f} M decisions/cpu-s encode, {:.1f} decode ({})\n",
             n / enc_s / 1e6, n / dec_s / 1e6,
             wrong == 0 && dec.finished_exactly() ? "round trip ok" : "ROUND TRIP FAILED");
}

}  // namespace

int main(int argc, char** argv) {
  size_t window = 16384;
  size_t max = 4 << 20;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--window" && i + 1 < argc) {
      window = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--max" && i + 1 < argc) {
      max = std::strtoull(argv[++i], nullptr, 10);
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty() || window == 0) {
    std::fprintf(stderr, "usage: order2_speed [--window BYTES] [--max BYTES] FILE...\n");
    return 2;
  }
  auto model = lmz::make_order2_model();
  auto codec = lmz::make_local_window_codec(*model, lmz::kDirectStage);
  fmt::print("{:<24} {:>9} {:>7} {:>9} {:>9} {:>12} {:>12}\n", "file", "bytes", "bits/B",
             "enc MB/s", "dec MB/s", "enc MB/cpu-s", "dec MB/cpu-s");
  int status = 0;
  for (const std::string& file : files) {
    const lmz::Bytes data = read_file(file, max);
    std::vector<lmz::ByteView> windows;
    for (size_t at = 0; at < data.size(); at += window) {
      windows.push_back(lmz::ByteView(data).subspan(at, std::min(window, data.size() - at)));
    }
    auto start = std::chrono::steady_clock::now();
    double cpu_start = cpu_seconds();
    const std::vector<lmz::Bytes> coded = codec->encode(windows);
    const double enc_s = seconds_since(start);
    const double enc_cpu = cpu_seconds() - cpu_start;
    size_t coded_size = 0;
    std::vector<lmz::EncodedWindowView> in;
    for (size_t i = 0; i < coded.size(); ++i) {
      coded_size += coded[i].size();
      in.push_back(lmz::EncodedWindowView{coded[i], windows[i].size()});
    }
    lmz::Bytes back(data.size());
    std::vector<lmz::MutableByteView> out;
    for (size_t at = 0; at < back.size(); at += window) {
      out.push_back(lmz::MutableByteView(back).subspan(at, std::min(window, back.size() - at)));
    }
    start = std::chrono::steady_clock::now();
    cpu_start = cpu_seconds();
    codec->decode(in, out);
    const double dec_s = seconds_since(start);
    const double dec_cpu = cpu_seconds() - cpu_start;
    if (back != data) {
      fmt::print(stderr, "{}: round trip FAILED\n", file);
      status = 1;
    }
    const std::string name = file.substr(file.find_last_of('/') + 1);
    const double mb = data.size() / 1e6;
    fmt::print("{:<24} {:>9} {:>7.3f} {:>9.2f} {:>9.2f} {:>12.2f} {:>12.2f}\n", name, data.size(),
               data.empty() ? 0.0 : 8.0 * coded_size / data.size(), mb / enc_s, mb / dec_s,
               mb / enc_cpu, mb / dec_cpu);
  }
  time_binary_coder(20000000);
  return status;
}
