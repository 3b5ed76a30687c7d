// Cross-device exactness check and decode throughput of the neural engine.
//
//   engine_bench MODEL.lmzm TEXTFILE WINDOWS STEPS [devices...]
//
// Runs WINDOWS windows of STEPS bytes each (cut from TEXTFILE) through the
// stepwise API (predict, then observe the real byte) on each device and
// batch size, and prints one line per run: the XXH3-64 of every window's
// whole CDF sequence combined in window order, and bytes per second. Equal
// hashes across devices and batch sizes mean equal CDFs, which is what makes
// an archive written on one decodable on the other (the range coder is
// deterministic integer code given the CDFs). A device is "cpu" or "cuda",
// optionally with ":BATCH" (default: the model's preferred batch size).
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "libcodec/engine/engine_api.h"
#include "libcodec/predictor.h"

using namespace lmz;

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: engine_bench MODEL TEXT WINDOWS STEPS DEVICE[:BATCH]...\n");
    return 2;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::vector<uint8_t> text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t windows = std::stoul(argv[3]);
  const size_t steps = std::stoul(argv[4]);
  if (text.size() < steps) return 2;
  for (int a = 5; a < argc; ++a) {
    std::string spec = argv[a];
    std::string dev = spec.substr(0, spec.find(':'));
    auto model = lmz_engine_api()->load(argv[1], dev == "cuda" ? Device::kCuda : Device::kCpu);
    size_t batch_size = spec.find(':') == std::string::npos
                            ? model->preferred_batch_size()
                            : std::stoul(spec.substr(spec.find(':') + 1));
    std::vector<uint64_t> window_hash(windows);
    auto t0 = std::chrono::steady_clock::now();
    for (size_t w0 = 0; w0 < windows; w0 += batch_size) {
      size_t n = std::min(batch_size, windows - w0);
      auto batch = model->start_batch(n);
      std::vector<uint32_t> slots(n);
      for (size_t k = 0; k < n; ++k) slots[k] = static_cast<uint32_t>(k);
      std::vector<Cdf> cdfs(n);
      std::vector<XXH3_state_t*> st(n);
      for (auto& s : st) {
        s = XXH3_createState();
        XXH3_64bits_reset(s);
      }
      std::vector<uint8_t> bytes(n);
      for (size_t t = 0; t < steps; ++t) {
        batch->predict(slots, cdfs);
        for (size_t k = 0; k < n; ++k) {
          XXH3_64bits_update(st[k], cdfs[k].data(), sizeof(Cdf));
          // Window w starts at a different offset of the text.
          size_t w = w0 + k;
          bytes[k] = text[(w * 7919 + t) % text.size()];
        }
        batch->observe(slots, bytes);
      }
      for (size_t k = 0; k < n; ++k) {
        window_hash[w0 + k] = XXH3_64bits_digest(st[k]);
        XXH3_freeState(st[k]);
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t all = XXH3_64bits(window_hash.data(), window_hash.size() * 8);
    std::printf("%-22s device=%-4s batch=%-5zu windows=%zu steps=%zu cdfs=%016llx %.3f MB/s\n",
                model->id().name.c_str(), dev.c_str(), batch_size, windows, steps,
                static_cast<unsigned long long>(all), windows * steps / secs / 1e6);
    std::fflush(stdout);
  }
  return 0;
}
