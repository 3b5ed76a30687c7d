#include "cli/model_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "libcodec/errors.h"
#include "libcodec/hash.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"

namespace lmz::cli {
namespace {

constexpr std::string_view kModelFileSuffix = ".lmzm";
constexpr std::string_view kModelMagic = "LMZMODEL";
constexpr size_t kHashSize = 16;

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Reads exactly out.size() bytes or throws.
void read_exact(int fd, const std::filesystem::path& path, MutableByteView out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw IoError(fmt::format("cannot read model {}: {}", path.string(),
                                n == 0 ? "file shrank while reading" : std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
}

// Hashes the file as the loader does (spec/MODEL.md, "Model file"): XXH3-128
// of every byte before the trailing stored hash, which must equal it.
Hash128 hash_model_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw IoError(fmt::format("cannot open model {}: {}", path.string(), std::strerror(errno)));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw IoError(fmt::format("cannot stat model {}: {}", path.string(), std::strerror(errno)));
  }
  auto size = static_cast<uint64_t>(st.st_size);
  if (size < kModelMagic.size() + kHashSize) {
    throw CorruptInput(fmt::format("{} is not an lmz model file (too short)", path.string()));
  }
  Xxh3_128Stream hasher;
  Bytes buffer(1 << 20);
  uint64_t left = size - kHashSize;
  bool first = true;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
    read_exact(fd, path, MutableByteView(buffer.data(), n));
    if (first && std::memcmp(buffer.data(), kModelMagic.data(), kModelMagic.size()) != 0) {
      throw CorruptInput(
          fmt::format("{} is not an lmz model file (no LMZMODEL magic)", path.string()));
    }
    first = false;
    hasher.update(ByteView(buffer.data(), n));
    left -= n;
  }
  uint8_t tail[kHashSize];
  read_exact(fd, path, MutableByteView(tail, kHashSize));
  Hash128 stored{load_le64(tail), load_le64(tail + 8)};
  Hash128 computed = hasher.digest();
  if (!(stored == computed)) {
    throw CorruptInput(fmt::format("model {}: stored hash {} does not match its contents ({})",
                                   path.string(), stored.hex(), computed.hex()));
  }
  return stored;
}

}  // namespace

std::optional<ModelId> identify_model(std::string_view name_or_path,
                                      const std::filesystem::path& models_dir) {
  std::string name(name_or_path);
  if (name == kOrder2ModelName) return make_order2_model()->id();
  std::filesystem::path path(name);
  if (name.find('/') == std::string::npos && path.extension() != kModelFileSuffix) {
    path = models_dir / (name + std::string(kModelFileSuffix));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  return ModelId{path.stem().string(), hash_model_file(path)};
}

}  // namespace lmz::cli
