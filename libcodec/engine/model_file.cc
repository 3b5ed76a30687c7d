#include "libcodec/engine/model_file.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include <xxhash.h>
#include "libcodec/errors.h"

namespace lmz {
namespace {

constexpr char kMagic[8] = {'L', 'M', 'Z', 'M', 'O', 'D', 'E', 'L'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kArchLstm = 1;
constexpr uint32_t kLutSize = 4096;
constexpr uint64_t kMaxFileSize = uint64_t{1} << 30;

// Bounds-checked little-endian reader over the file's bytes.
class Reader {
 public:
  Reader(ByteView bytes, size_t end, const std::string& origin)
      : bytes_(bytes), end_(end), origin_(origin) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw CorruptInput(fmt::format("model file {}: {} (at byte {})", origin_, what, pos_));
  }
  void need(uint64_t n) const {
    if (n > end_ - pos_) fail(fmt::format("truncated: {} more bytes needed", n));
  }
  uint32_t u32() {
    need(4);
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | bytes_[pos_ + static_cast<size_t>(i)];
    pos_ += 4;
    return v;
  }
  std::vector<int8_t> i8s(uint64_t n, const char* what) {
    need(n);
    std::vector<int8_t> out(n);
    std::memcpy(out.data(), bytes_.data() + pos_, n);
    pos_ += n;
    for (int8_t v : out) {
      if (v == -128) fail(fmt::format("{}: weight -128 outside -127..127", what));
    }
    return out;
  }
  std::vector<int32_t> i32s(uint64_t n) {
    need(n * 4);
    std::vector<int32_t> out(n);
    for (auto& v : out) v = static_cast<int32_t>(u32());
    return out;
  }
  void bytes(void* out, size_t n) {
    need(n);
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
  }
  size_t pos() const { return pos_; }

 private:
  ByteView bytes_;
  size_t end_;
  size_t pos_ = 0;
  const std::string& origin_;
};

IntMatrix read_matrix(Reader& r, uint32_t rows, uint32_t cols, const char* what) {
  IntMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.weights = r.i8s(uint64_t{rows} * cols, what);
  m.multiplier = r.i32s(rows);
  m.bias = r.i32s(rows);
  for (int32_t v : m.multiplier) {
    if (v < 0) r.fail(fmt::format("{}: negative rescale multiplier", what));
  }
  return m;
}

void check_lut(Reader& r, const std::vector<int32_t>& lut, int32_t lo, int32_t hi,
               const char* what) {
  for (int32_t v : lut) {
    if (v < lo || v > hi) r.fail(fmt::format("{} table value {} outside {}..{}", what, v, lo, hi));
  }
}

}  // namespace

LstmModelFile read_model_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot open model file {}", path.string()));
  in.seekg(0, std::ios::end);
  auto size = static_cast<int64_t>(in.tellg());
  if (size < 0) throw IoError(fmt::format("cannot read model file {}", path.string()));
  if (static_cast<uint64_t>(size) > kMaxFileSize) {
    throw CorruptInput(
        fmt::format("model file {}: {} bytes is larger than the 1 GiB limit", path.string(), size));
  }
  in.seekg(0);
  Bytes bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (!in) throw IoError(fmt::format("cannot read model file {}", path.string()));
  return parse_model_file(bytes, path.string());
}

LstmModelFile parse_model_file(ByteView bytes, const std::string& origin) {
  if (bytes.size() < sizeof(kMagic) + 16 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    throw CorruptInput(fmt::format("model file {}: not an lmz model (bad magic)", origin));
  }
  const size_t body = bytes.size() - 16;
  LstmModelFile f;
  XXH128_hash_t digest = XXH3_128bits(bytes.data(), body);
  f.hash = Hash128{digest.high64, digest.low64};
  Hash128 stored;
  auto le64 = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | bytes[at + static_cast<size_t>(i)];
    return v;
  };
  stored.high = le64(body);
  stored.low = le64(body + 8);
  if (!(stored == f.hash)) {
    throw CorruptInput(fmt::format(
        "model file {}: content hash {:016x}{:016x} does not match the stored {:016x}{:016x}",
        origin, f.hash.high, f.hash.low, stored.high, stored.low));
  }

  Reader r(bytes, body, origin);
  char magic[8];
  r.bytes(magic, 8);
  if (uint32_t v = r.u32(); v != kVersion) r.fail(fmt::format("unsupported version {}", v));
  if (uint32_t a = r.u32(); a != kArchLstm) r.fail(fmt::format("unknown architecture {}", a));
  uint32_t name_len = r.u32();
  if (name_len < 1 || name_len > 64) r.fail(fmt::format("name length {} outside 1..64", name_len));
  f.trained_name.resize(name_len);
  r.bytes(f.trained_name.data(), name_len);
  f.embed = r.u32();
  f.hidden = r.u32();
  f.layers = r.u32();
  f.shift = r.u32();
  uint32_t gate_lut = r.u32();
  uint32_t exp_lut = r.u32();
  f.cell_clamp = r.u32();
  if (f.embed < 1 || f.embed > 4096) r.fail(fmt::format("embed {} outside 1..4096", f.embed));
  if (f.hidden < 1 || f.hidden > 4096) r.fail(fmt::format("hidden {} outside 1..4096", f.hidden));
  if (f.layers < 1 || f.layers > 8) r.fail(fmt::format("layers {} outside 1..8", f.layers));
  if (f.shift < 1 || f.shift > 31) r.fail(fmt::format("shift {} outside 1..31", f.shift));
  if (gate_lut != kLutSize || exp_lut != kLutSize) r.fail("table sizes must be 4096");
  if (f.cell_clamp < 1 || f.cell_clamp > (uint32_t{1} << 24)) {
    r.fail(fmt::format("cell clamp {} outside 1..2^24", f.cell_clamp));
  }
  f.embedding = r.i8s(uint64_t{257} * f.embed, "embedding");
  for (uint32_t l = 0; l < f.layers; ++l) {
    uint32_t cols = (l == 0 ? f.embed : f.hidden) + f.hidden;
    f.lstm.push_back(read_matrix(r, 4 * f.hidden, cols, "lstm layer"));
  }
  f.output = read_matrix(r, 256, f.hidden, "output layer");
  f.sigmoid_lut = r.i32s(kLutSize);
  f.tanh_lut = r.i32s(kLutSize);
  f.exp_lut = r.i32s(kLutSize);
  check_lut(r, f.sigmoid_lut, 0, 32768, "sigmoid");
  check_lut(r, f.tanh_lut, -32768, 32768, "tanh");
  check_lut(r, f.exp_lut, 0, 65536, "exp");
  if (f.exp_lut[0] < 1) r.fail("exp table entry 0 must be at least 1");
  if (r.pos() != body) r.fail(fmt::format("{} unexpected bytes before the hash", body - r.pos()));
  return f;
}

}  // namespace lmz
