// Ablation tool for the context-mixing stage (spec/MIXING.md).
//
//   lmz_cm_ablation [--window N] [--config NAME] [--model NAME|PATH] FILE...
//
// Cuts each file into independent windows of N bytes, codes every window
// with the real range coder through the chosen stage configuration, decodes
// it again and checks the round trip, and prints bits per byte per file and
// the stage's own CPU cost (thread CPU ns per byte of the encoder, predictor
// time excluded).
//
// Configurations:
//   prior   the predictor's CDF coded directly (stage 0: "neural alone")
//   cm      context models only (orders, word, column), no prior, no match
//   match   the match model only
//   nomatch everything but the match model
//   noprior everything but the prior
//   full    stage 1 (kMixStageV1): everything
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "libcodec/cm/cm_stage.h"
#include "libcodec/coding_stage.h"
#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"
#include "libcodec/range_coder.h"

namespace {

using namespace lmz;
// Thread CPU time in ns: unlike wall time, not inflated when other processes
// share the cores.
double cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Options {
  size_t window = 16384;
  std::string config = "full";
  std::string model = "order2";
  std::vector<std::string> files;
};

std::unique_ptr<CodingStage> make_stage(const std::string& config, size_t size) {
  if (config == "prior") return make_coding_stage(kDirectStage);
  if (config == "full") return make_cm_stage(kMixStageV1, size);
  cm::Mix1Config c;
  if (config == "cm") {
    c.prior = false;
    c.match = false;
  } else if (config == "match") {
    c = cm::Mix1Config{false, false, false, false, true, false};
  } else if (config == "nomatch") {
    c.match = false;
  } else if (config == "noprior") {
    c.prior = false;
  } else {
    throw std::invalid_argument("unknown --config " + config);
  }
  return make_cm_stage(c, size);
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

constexpr size_t kSample = 16;

struct Result {
  size_t coded = 0;
  double stage_ns = 0;
};

// Codes all windows of `data` in lockstep (one predictor batch), then
// decodes them and compares.
Result run_file(Predictor& model, const Options& opt, const Bytes& data) {
  std::vector<ByteView> windows;
  for (size_t off = 0; off < data.size(); off += opt.window) {
    windows.emplace_back(data.data() + off, std::min(opt.window, data.size() - off));
  }
  const size_t n = windows.size();
  std::vector<Bytes> coded(n);
  Result result;
  std::vector<Cdf> cdfs(n);
  std::vector<uint32_t> slots;
  std::vector<uint8_t> bytes;
  {
    auto batch = model.start_batch(n);
    std::vector<std::unique_ptr<CodingStage>> stages;
    std::vector<std::unique_ptr<RangeEncoder>> encoders;
    for (size_t w = 0; w < n; ++w) {
      stages.push_back(make_stage(opt.config, windows[w].size()));
      encoders.push_back(std::make_unique<RangeEncoder>(coded[w]));
    }
    for (size_t t = 0; t < opt.window; ++t) {
      slots.clear();
      bytes.clear();
      for (size_t w = 0; w < n; ++w) {
        if (t < windows[w].size()) {
          slots.push_back(static_cast<uint32_t>(w));
          bytes.push_back(windows[w][t]);
        }
      }
      if (slots.empty()) break;
      batch->predict(slots, std::span<Cdf>(cdfs.data(), slots.size()));
      // Every kSample-th step is timed (reading the CPU clock is a system
      // call; timing every byte of a lone window would inflate the cost).
      const bool timed = t % kSample == 0;
      const double t0 = timed ? cpu_ns() : 0;
      for (size_t k = 0; k < slots.size(); ++k) {
        stages[slots[k]]->encode(cdfs[k], bytes[k], *encoders[slots[k]]);
      }
      if (timed) result.stage_ns += (cpu_ns() - t0) * kSample;
      batch->observe(slots, bytes);
    }
    for (auto& e : encoders) e->finish();
  }
  {
    auto batch = model.start_batch(n);
    std::vector<std::unique_ptr<CodingStage>> stages;
    std::vector<std::unique_ptr<RangeDecoder>> decoders;
    for (size_t w = 0; w < n; ++w) {
      stages.push_back(make_stage(opt.config, windows[w].size()));
      decoders.push_back(std::make_unique<RangeDecoder>(coded[w]));
    }
    for (size_t t = 0; t < opt.window; ++t) {
      slots.clear();
      for (size_t w = 0; w < n; ++w) {
        if (t < windows[w].size()) slots.push_back(static_cast<uint32_t>(w));
      }
      if (slots.empty()) break;
      batch->predict(slots, std::span<Cdf>(cdfs.data(), slots.size()));
      bytes.resize(slots.size());
      for (size_t k = 0; k < slots.size(); ++k) {
        bytes[k] = stages[slots[k]]->decode(cdfs[k], *decoders[slots[k]]);
        if (bytes[k] != windows[slots[k]][t]) {
          throw std::runtime_error("round trip failed: window " + std::to_string(slots[k]) +
                                   " byte " + std::to_string(t));
        }
      }
      batch->observe(slots, bytes);
    }
    for (size_t w = 0; w < n; ++w) {
      if (!decoders[w]->finished_exactly()) {
        throw std::runtime_error("window " + std::to_string(w) + " did not end exactly");
      }
    }
  }
  for (const Bytes& c : coded) result.coded += c.size();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if ((a == "--window" || a == "--config" || a == "--model") && i + 1 < argc) {
        const std::string v = argv[++i];
        if (a == "--window") opt.window = std::stoul(v);
        if (a == "--config") opt.config = v;
        if (a == "--model") opt.model = v;
      } else if (a.starts_with("--")) {
        std::fprintf(stderr,
                     "usage: %s [--window N] [--config prior|cm|match|nomatch|noprior|full] "
                     "[--model NAME|PATH] FILE...\n",
                     argv[0]);
        return 2;
      } else {
        opt.files.push_back(a);
      }
    }
    ModelRegistry registry(ModelOptions{});
    Predictor& model = registry.by_name_or_path(opt.model);
    size_t total_raw = 0;
    size_t total_coded = 0;
    double total_ns = 0;
    std::printf("# window %zu config %s model %s\n", opt.window, opt.config.c_str(),
                opt.model.c_str());
    for (const std::string& path : opt.files) {
      const Bytes data = read_file(path);
      const Result r = run_file(model, opt, data);
      std::printf("%s\t%zu\t%zu\t%.4f\t%.0f\n", path.c_str(), data.size(), r.coded,
                  data.empty()
                      ? 0.0
                      : 8.0 * static_cast<double>(r.coded) / static_cast<double>(data.size()),
                  data.empty() ? 0.0 : r.stage_ns / static_cast<double>(data.size()));
      total_raw += data.size();
      total_coded += r.coded;
      total_ns += r.stage_ns;
    }
    std::printf("TOTAL\t%zu\t%zu\t%.4f\t%.0f\n", total_raw, total_coded,
                total_raw == 0
                    ? 0.0
                    : 8.0 * static_cast<double>(total_coded) / static_cast<double>(total_raw),
                total_raw == 0 ? 0.0 : total_ns / static_cast<double>(total_raw));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmz_cm_ablation: %s\n", e.what());
    return 1;
  }
  return 0;
}
