// lmz-codec-bench: compresses files into .lmz archives in memory with one
// model, stage and device, decompresses them with another device and batch
// size, and prints sizes, speeds and the archive's XXH3-64, one line per
// file. Used by bench/gpu/run_gpu.sh for the device cross-check (an archive
// made on CUDA with 4096 windows per batch must be byte-identical to one
// made on the CPU one window at a time, and each must decode on the other)
// and for throughput and size tables.
//
// It calls the same ArchiveWriter, decompress_stream and window codec as
// lmz; what it adds is the control a benchmark needs: the batch size of the
// model (lmz always uses the model's preferred one) and timing of encode and
// decode separately, without file I/O.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "format/io.h"
#include "libcodec/cm/cm_stage.h"
#include "libcodec/errors.h"
#include "libcodec/hash.h"
#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace {

using namespace lmz;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: lmz-codec-bench [OPTIONS] FILE...

Compresses each FILE in memory, decompresses it, checks the round trip and
prints: file, raw bytes, archive bytes, bits per byte, encode MB/s, decode
MB/s, XXH3-64 of the archive.

  --model NAME|PATH        model (default: the default-model rule)
  --models-dir DIR         where NAME.lmzm files are (default: lmz's)
  --stage direct|mix       coding stage (default mix)
  --encode-device D        cpu, cuda or auto (default auto)
  --decode-device D        cpu, cuda or auto (default: the encode device)
  --encode-batch N         windows per model batch when encoding
                           (default 0: the model's preferred size)
  --decode-batch N         the same for decoding
  --window-size N          bytes per window of prose (default lmz's)
  --log-window-size N      bytes per window of log-like text (default lmz's)
  --block-size N           bytes per block (default lmz's)
  --batch-bytes N          bytes gathered per encode call (default lmz's)
  --no-decode              only compress
  --threads N              CPU threads for the window codec (default all)
  --loop                   code windows with the window codec's loop over
                           model batches even where the model has a
                           resident codec (the whole loop on its device)
)";

// Forwards to a model but asks the window codec for batches of a fixed size,
// and offers the model's resident codec unless told not to.
class FixedBatchPredictor final : public Predictor {
 public:
  FixedBatchPredictor(Predictor& inner, size_t batch, bool resident)
      : inner_(inner), batch_(batch), resident_(resident) {}
  std::unique_ptr<WindowCodec> make_resident_codec(StageId stage) override {
    return resident_ ? inner_.make_resident_codec(stage) : nullptr;
  }
  const ModelId& id() const override { return inner_.id(); }
  std::unique_ptr<PredictorBatch> start_batch(size_t windows) override {
    return inner_.start_batch(windows);
  }
  size_t preferred_batch_size() const override {
    return batch_ != 0 ? batch_ : inner_.preferred_batch_size();
  }

 private:
  Predictor& inner_;
  size_t batch_;
  bool resident_;
};

struct Args {
  std::string model;
  std::string models_dir;
  StageId stage = kMixStageV1;
  Device encode_device = Device::kAuto;
  std::string decode_device;
  size_t encode_batch = 0;
  size_t decode_batch = 0;
  size_t threads = 0;
  bool decode = true;
  bool resident = true;
  WriterOptions writer;
  std::vector<std::string> files;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--model") {
      a.model = value();
    } else if (arg == "--models-dir") {
      a.models_dir = value();
    } else if (arg == "--stage") {
      std::string s = value();
      if (s != "direct" && s != "mix") throw UsageError("--stage: direct or mix");
      a.stage = s == "direct" ? kDirectStage : kMixStageV1;
    } else if (arg == "--encode-device") {
      a.encode_device = parse_device(value());
    } else if (arg == "--decode-device") {
      a.decode_device = value();
    } else if (arg == "--encode-batch") {
      a.encode_batch = std::stoul(value());
    } else if (arg == "--decode-batch") {
      a.decode_batch = std::stoul(value());
    } else if (arg == "--window-size") {
      a.writer.window_size = static_cast<uint32_t>(std::stoul(value()));
    } else if (arg == "--log-window-size") {
      a.writer.log_window_size = static_cast<uint32_t>(std::stoul(value()));
    } else if (arg == "--block-size") {
      a.writer.block_size = static_cast<uint32_t>(std::stoul(value()));
    } else if (arg == "--batch-bytes") {
      a.writer.batch_bytes = std::stoull(value());
    } else if (arg == "--threads") {
      a.threads = std::stoul(value());
    } else if (arg == "--loop") {
      a.resident = false;
    } else if (arg == "--no-decode") {
      a.decode = false;
    } else if (!arg.empty() && arg[0] == '-') {
      throw UsageError(fmt::format("unknown option {} (see --help)", arg));
    } else {
      a.files.emplace_back(arg);
    }
  }
  if (a.files.empty()) throw UsageError("no FILE given (see --help)");
  return a;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot open {}", path));
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double mb_per_s(size_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0.0;
}

int run(const Args& a) {
  ModelRegistry enc_registry(ModelOptions{a.models_dir, a.encode_device});
  Device decode_device = a.decode_device.empty() ? a.encode_device : parse_device(a.decode_device);
  ModelRegistry dec_registry(ModelOptions{a.models_dir, decode_device});
  Predictor& enc_model =
      a.model.empty() ? enc_registry.default_model() : enc_registry.by_name_or_path(a.model);
  FixedBatchPredictor enc_predictor(enc_model, a.encode_batch, a.resident);
  auto enc_codec = make_local_window_codec(enc_predictor, a.stage, a.threads);

  std::unique_ptr<FixedBatchPredictor> dec_predictor;
  std::unique_ptr<WindowCodec> dec_codec;
  CodecResolver resolve = [&](const Hash128& hash, const std::string& name,
                              StageId stage) -> WindowCodec& {
    if (!dec_codec) {
      dec_predictor = std::make_unique<FixedBatchPredictor>(dec_registry.by_hash(hash, name),
                                                            a.decode_batch, a.resident);
      dec_codec = make_local_window_codec(*dec_predictor, stage, a.threads);
    }
    return *dec_codec;
  };

  fmt::print("# model {} ({}), stage {}, encode batch {}, decode batch {}, {}\n",
             enc_model.id().name, enc_model.id().hash.hex(), a.stage,
             enc_predictor.preferred_batch_size(),
             a.decode_batch != 0 ? std::to_string(a.decode_batch) : "preferred",
             a.resident ? "resident codec where the model has one" : "batch loop");
  fmt::print("{:<28} {:>11} {:>10} {:>7} {:>9} {:>9} {:>16} {}\n", "file", "raw", "archive", "bpb",
             "enc MB/s", "dec MB/s", "archive xxh3", "round trip");
  int failures = 0;
  uint64_t total_raw = 0, total_archive = 0;
  for (const std::string& path : a.files) {
    Bytes raw = read_file(path);
    MemorySink archive;
    auto t0 = Clock::now();
    {
      ArchiveWriter writer(archive, *enc_codec, a.writer);
      writer.write(raw);
      writer.finish();
    }
    double enc_s = seconds_since(t0);
    double dec_s = 0;
    std::string verdict = "not decoded";
    if (a.decode) {
      MemorySource in(archive.data);
      MemorySink out;
      auto t1 = Clock::now();
      decompress_stream(in, out, resolve);
      dec_s = seconds_since(t1);
      verdict = out.data == raw ? "ok" : "MISMATCH";
      if (out.data != raw) ++failures;
    }
    total_raw += raw.size();
    total_archive += archive.data.size();
    std::string name = path.substr(path.find_last_of('/') + 1);
    fmt::print(
        "{:<28} {:>11} {:>10} {:>7.4f} {:>9.3f} {:>9.3f} {:>016x} {}\n", name, raw.size(),
        archive.data.size(),
        raw.empty()
            ? 0.0
            : 8.0 * static_cast<double>(archive.data.size()) / static_cast<double>(raw.size()),
        mb_per_s(raw.size(), enc_s), mb_per_s(raw.size(), dec_s), xxh3_64(archive.data), verdict);
    std::fflush(stdout);
  }
  fmt::print("{:<28} {:>11} {:>10}\n", "total", total_raw, total_archive);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmz-codec-bench: %s\n", e.what());
    return 2;
  }
}
