// Writes the seed corpus of the fuzz targets (tests/fuzz/seeds/<entry>/):
// small real archives, coded windows, model files and protocol frames, each
// prefixed with the option bytes its entry reads first (see the entries).
// Usage: fuzz_make_seeds SOURCE_DIR OUT_DIR   (make-seeds.sh runs it)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "daemon/protocol.h"
#include "format/archive_writer.h"
#include "format/io.h"
#include "libcodec/cm/cm_stage.h"
#include "libcodec/hash.h"
#include "libcodec/range_coder.h"
#include "libcodec/window_codec.h"
#include "tests/fuzz/fuzz_support.h"

namespace lmz::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path g_out;
size_t g_total = 0;

void put(const std::string& entry, const std::string& name, const Bytes& data) {
  fs::create_directories(g_out / entry);
  std::ofstream(g_out / entry / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  g_total += data.size();
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes le32(uint32_t v) {
  return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 24)};
}

Bytes read_file(const fs::path& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  Bytes b(std::istreambuf_iterator<char>(in), {});
  if (b.size() > limit) b.resize(limit);
  return b;
}

// Log-like text: the line structure the writer gives longer windows.
Bytes log_text(size_t size) {
  std::mt19937 rng(7);
  std::string s;
  const char* what[] = {"accepted publickey", "session opened", "connection closed",
                        "invalid user admin"};
  while (s.size() < size) {
    s += "Dec  2 01:" + std::to_string(10 + rng() % 50) + ":" + std::to_string(10 + rng() % 50) +
         " host sshd[" + std::to_string(1000 + rng() % 9000) + "]: " + what[rng() % 4] +
         " from 10.0." + std::to_string(rng() % 256) + "." + std::to_string(rng() % 256) + "\n";
  }
  return Bytes(s.begin(), s.begin() + static_cast<ptrdiff_t>(size));
}

// Text from an order-2 Markov chain over four letters, each pair of letters
// followed by one of two letters at random: one bit per letter, all of it in
// the two previous letters, which the stand-in model learns within a small
// window while zstd's order-0 entropy coder sees two bits per letter and its
// matches stay short. So the writer picks the neural codec for it (the path
// the readers' window decoding needs seeds for).
Bytes markov_text(size_t size, uint32_t seed) {
  const char alphabet[] = "acgt";
  std::mt19937 rng(seed);
  uint8_t follows[16][2];
  for (auto& f : follows) {
    f[0] = static_cast<uint8_t>(rng() % 4);
    f[1] = static_cast<uint8_t>((f[0] + 1 + rng() % 3) % 4);
  }
  Bytes out;
  size_t c2 = 0, c1 = 1;
  while (out.size() < size) {
    const size_t next = follows[c2 * 4 + c1][rng() % 2];
    out.push_back(static_cast<uint8_t>(alphabet[next]));
    c2 = c1;
    c1 = next;
  }
  return out;
}

Bytes random_bytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(size);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

WriterOptions small_options(uint32_t block, uint32_t window) {
  WriterOptions o;
  o.block_size = block;
  o.window_size = window;
  o.log_window_size = window * 2;
  o.zstd_level = 1;
  o.classifier.chunk_size = 64;
  o.classifier.min_binary_run = 128;
  o.classifier.min_text_run = 128;
  return o;
}

Bytes archive(const Bytes& raw, StageId stage, uint32_t block, uint32_t window) {
  MemorySink sink;
  ArchiveWriter writer(sink, order2_codec(stage), small_options(block, window));
  writer.write(raw);
  writer.finish();
  const WriterStats& st = writer.stats();
  std::printf("archive of %zu bytes: %llu blocks, %llu neural, %llu zstd, %llu stored\n",
              raw.size(), static_cast<unsigned long long>(st.blocks),
              static_cast<unsigned long long>(st.neural_blocks),
              static_cast<unsigned long long>(st.zstd_blocks),
              static_cast<unsigned long long>(st.stored_blocks));
  return std::move(sink.data);
}

// Small archives (a few hundred raw bytes, several blocks and windows):
// an execution decodes every byte, so small seeds keep the fuzzers fast.
void archive_seeds(const Bytes& prose, const Bytes& log) {
  const Bytes mixed =
      cat({markov_text(400, 5), random_bytes(200, 1), Bytes(log.begin(), log.begin() + 300)});
  struct Sample {
    const char* name;
    Bytes bytes;
  };
  const Sample samples[] = {
      {"markov-direct", archive(markov_text(900, 11), kDirectStage, 512, 256)},
      {"markov-mixing", archive(markov_text(900, 12), kMixStageV1, 512, 200)},
      {"prose-mixing", archive(Bytes(prose.begin(), prose.begin() + 700), kMixStageV1, 512, 256)},
      {"log-mixing", archive(Bytes(log.begin(), log.begin() + 700), kMixStageV1, 256, 128)},
      {"mixed-direct", archive(mixed, kDirectStage, 256, 128)},
      {"empty", archive({}, kDirectStage, 1024, 256)},
      {"two-members", cat({archive(markov_text(500, 6), kDirectStage, 256, 128),
                           archive(Bytes(log.begin(), log.begin() + 400), kMixStageV1, 256, 128)})},
  };
  for (const Sample& s : samples) {
    put("stream_reader", std::string(s.name) + "-fix", cat({{1}, s.bytes}));
    put("stream_reader", std::string(s.name) + "-fix-per-block", cat({{3}, s.bytes}));
    // Ranges: one inside the first block, one across blocks.
    const Bytes ranges = cat({le32(30), le32(100), le32(200), le32(500)});
    put("random_access", std::string(s.name) + "-fix", cat({{1}, ranges, s.bytes}));
    put("random_access", std::string(s.name) + "-fix-compare", cat({{5}, ranges, s.bytes}));
  }
  put("stream_reader", "markov-direct-as-is", cat({{0}, samples[0].bytes}));
  put("random_access", "markov-direct-as-is",
      cat({{0}, le32(0), le32(9999), le32(5), le32(1), samples[0].bytes}));
}

void range_decoder_seeds(const Bytes& prose, const Bytes& log) {
  // The coder alone: a valid coding of random steps with a skewed table.
  std::mt19937 rng(3);
  uint8_t weights[32];
  for (auto& w : weights) w = static_cast<uint8_t>(rng() % 3 == 0 ? 200 + rng() % 56 : rng() % 50);
  const Cdf cdf = table_from_weights(weights);
  const uint8_t steps = 60;  // x4 = 240 steps
  const uint32_t bits_mask = 0x0f0f00ffu, p_seed = 12345u | 1;
  Bytes coded;
  {
    RangeEncoder enc(coded);
    for (size_t i = 0; i < steps * 4u; ++i) {
      if ((bits_mask >> (i % 32)) & 1) {
        const auto p1 =
            1 + static_cast<uint32_t>((uint64_t{p_seed} * (i + 1) * 2654435761u) % 65535);
        enc.encode_bit(p1, static_cast<int>(rng() % 2));
      } else {
        // Symbols drawn from the table's heavy part most of the time.
        uint8_t s = static_cast<uint8_t>(rng());
        enc.encode_symbol(cdf, s);
      }
    }
    enc.finish();
  }
  put("range_decoder", "coder-valid",
      cat({{0}, Bytes(weights, weights + 32), {steps}, le32(bits_mask), le32(p_seed), coded}));
  put("range_decoder", "coder-bad-table", cat({{2}, random_bytes(300, 4)}));
  // Windows of the stand-in codec, both stages.
  for (StageId stage : {kDirectStage, kMixStageV1}) {
    for (const Bytes* text : {&prose, &log}) {
      const Bytes raw(text->begin(), text->begin() + 300);
      const ByteView view(raw);
      const Bytes win = order2_codec(stage).encode(std::span(&view, 1))[0];
      const uint8_t mode = stage == kDirectStage ? 1 : 3;
      put("range_decoder",
          std::string("window-") + (stage == kDirectStage ? "direct-" : "mixing-") +
              (text == &prose ? "prose" : "log"),
          cat({{mode, static_cast<uint8_t>(raw.size() / 2), static_cast<uint8_t>(raw.size() % 2)},
               win}));
    }
  }
}

// The smallest valid model file (E = H = L = 1), spec/MODEL.md.
Bytes minimal_model() {
  Bytes m = {'L', 'M', 'Z', 'M', 'O', 'D', 'E', 'L'};
  auto u32 = [&](uint32_t v) {
    const Bytes b = le32(v);
    m.insert(m.end(), b.begin(), b.end());
  };
  u32(1);  // version
  u32(1);  // LSTM
  u32(4);
  m.insert(m.end(), {'f', 'u', 'z', 'z'});
  for (uint32_t v : {1u, 1u, 1u, 12u, 4096u, 4096u, 1000u}) u32(v);  // E H L S tables C
  m.insert(m.end(), 257, 1);                                         // embedding
  m.insert(m.end(), 4 * 2, 2);                                       // W_0
  for (int i = 0; i < 8; ++i) u32(100);                              // M_0, B_0
  m.insert(m.end(), 256, 3);                                         // Wo
  for (int i = 0; i < 512; ++i) u32(7);                              // Mo, Bo
  for (int t = 0; t < 3; ++t) {
    for (uint32_t i = 0; i < 4096; ++i) u32(t == 2 ? 1 + i : i * 8);  // SIG, TANH, EXP
  }
  const Hash128 h = xxh3_128(m);
  for (int i = 0; i < 8; ++i) m.push_back(static_cast<uint8_t>(h.high >> (8 * i)));
  for (int i = 0; i < 8; ++i) m.push_back(static_cast<uint8_t>(h.low >> (8 * i)));
  return m;
}

void model_file_seeds(const fs::path& source) {
  const Bytes tiny = read_file(source / "models" / "tiny.lmzm", size_t{1} << 20);
  put("model_file", "tiny", cat({{0}, tiny}));
  put("model_file", "minimal", cat({{0}, minimal_model()}));
  put("model_file", "minimal-fix-hash", cat({{1}, minimal_model()}));
}

void protocol_seeds(const Bytes& prose) {
  using namespace proto;
  auto frame = [](FrameType type, const Bytes& payload, uint16_t flags = 0) {
    Bytes f = make_frame(type, 1, payload);
    f[6] = static_cast<uint8_t>(flags);
    f[7] = static_cast<uint8_t>(flags >> 8);
    return f;
  };
  Welcome w;
  w.max_frame_payload = 4 << 20;
  w.max_requests = 16;
  w.request_credit = 1 << 20;
  w.max_batch_windows = 4096;
  w.idle_timeout_ms = 60000;
  w.model_hash = order2_codec(kDirectStage).model().hash;
  w.model_name = "order2";
  w.device = "cpu";
  CompressParams c;
  c.writer = small_options(2048, 512);
  c.stage = kMixStageV1;
  const Bytes a(prose.begin(), prose.begin() + 40), b(prose.begin() + 40, prose.begin() + 100);
  const ByteView views[] = {a, b};
  const size_t raw_sizes[] = {300, 500};
  put("protocol", "handshake",
      cat({frame(FrameType::kHello, encode_hello({})),
           frame(FrameType::kWelcome, encode_welcome(w))}));
  put("protocol", "compress-request",
      cat({frame(FrameType::kCompress, encode_compress(c)), frame(FrameType::kData, a),
           frame(FrameType::kEnd, {}), frame(FrameType::kCredit, le32(4096)),
           frame(FrameType::kEnd, encode_end({1234, 567}))}));
  put("protocol", "windows",
      cat({frame(FrameType::kDecodeWindows,
                 encode_decode_windows(w.model_hash, 0, views, raw_sizes)),
           frame(FrameType::kEncodeWindows, encode_encode_windows(w.model_hash, 1, views)),
           frame(FrameType::kResult, encode_encoded_windows({a, b}), 3)}));
  put("protocol", "status-error",
      cat({frame(FrameType::kResult, encode_status({{"model", "order2"}, {"windows", "12"}})),
           frame(FrameType::kError, encode_error(ErrorCode::kCorruptInput, "block 3: bad"))}));
}

void request_seeds() {
  // op, size pairs (request_entry.cc): pushes, reads, writes, end, finish.
  put("request", "normal", {16, 8, 0, 20, 1, 3, 3, 30, 3, 200, 4, 10, 2, 0, 3, 5, 3, 255, 6, 1});
  put("request", "abort", {4, 2, 0, 7, 1, 9, 3, 3, 5, 0, 3, 4, 4, 4, 0, 3, 6, 0});
  put("request", "close", {1, 1, 0, 1, 3, 1, 7, 0, 4, 9, 3, 9, 6, 1});
}

void roundtrip_seeds(const Bytes& prose, const Bytes& log) {
  const Bytes ranges = cat({le32(10), le32(100), le32(150), le32(300)});
  const Bytes p(prose.begin(), prose.begin() + 600), l(log.begin(), log.begin() + 600);
  put("roundtrip", "prose-direct", cat({{1, 3}, ranges, p}));
  put("roundtrip", "markov-direct", cat({{2, 5}, ranges, markov_text(600, 12)}));
  put("roundtrip", "prose-mixing", cat({{64 + 2, 4}, ranges, p}));
  put("roundtrip", "log-mixing-per-block", cat({{64 + 32 + 128 + 1, 2}, ranges, l}));
  put("roundtrip", "binary-zstd",
      cat({{16 + 2, 200}, ranges, random_bytes(300, 9), Bytes(300, 0)}));
  put("roundtrip", "empty", {0, 0});
}

}  // namespace
}  // namespace lmz::fuzz

int main(int argc, char** argv) {
  using namespace lmz::fuzz;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SOURCE_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path source = argv[1];
  g_out = argv[2];
  const lmz::Bytes prose = read_file(source / "spec" / "FORMAT.md", 6000);
  const lmz::Bytes log = log_text(6000);
  if (prose.size() < 6000) {
    std::fprintf(stderr, "fuzz_make_seeds: %s/spec/FORMAT.md is missing or short\n", argv[1]);
    return 1;
  }
  archive_seeds(prose, log);
  range_decoder_seeds(prose, log);
  model_file_seeds(source);
  protocol_seeds(prose);
  request_seeds();
  roundtrip_seeds(prose, log);
  std::printf("fuzz_make_seeds: %zu bytes of seeds in %s\n", g_total, argv[2]);
  return 0;
}
