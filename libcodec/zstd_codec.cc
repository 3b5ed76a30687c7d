#include "libcodec/zstd_codec.h"

#include <fmt/format.h>
#include <zstd.h>

#include <memory>

#include "libcodec/errors.h"

namespace lmz::zstd {
namespace {

struct DctxFree {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};
struct CctxFree {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};

}  // namespace

int max_level() {
  return ZSTD_maxCLevel();
}

Bytes compress(ByteView raw, int level) {
  if (level < 1 || level > ZSTD_maxCLevel()) {
    throw UsageError(fmt::format("zstd level {} out of range (1 .. {})", level, ZSTD_maxCLevel()));
  }
  if (raw.size() > kZstdMaxRawSize) {
    throw UsageError(fmt::format("zstd block of {} bytes exceeds {}", raw.size(), kZstdMaxRawSize));
  }
  std::unique_ptr<ZSTD_CCtx, CctxFree> ctx(ZSTD_createCCtx());
  if (!ctx) throw std::bad_alloc();
  Bytes out(ZSTD_compressBound(raw.size()));
  // The content size goes into the frame header (checked on decompression).
  ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_checksumFlag, 0);
  size_t n = ZSTD_compress2(ctx.get(), out.data(), out.size(), raw.data(), raw.size());
  if (ZSTD_isError(n)) {
    throw Error(fmt::format("zstd compression failed: {}", ZSTD_getErrorName(n)));
  }
  out.resize(n);
  return out;
}

Bytes decompress(ByteView compressed, size_t expected_raw_size) {
  if (expected_raw_size > kZstdMaxRawSize) {
    throw CorruptInput(fmt::format("zstd block claims {} raw bytes, more than the limit {}",
                                   expected_raw_size, kZstdMaxRawSize));
  }
  unsigned long long declared = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) throw CorruptInput("zstd payload is not a zstd frame");
  if (declared != expected_raw_size) {
    throw CorruptInput(fmt::format(
        "zstd frame declares {} raw bytes, the block {}",
        declared == ZSTD_CONTENTSIZE_UNKNOWN ? std::string("unknown") : std::to_string(declared),
        expected_raw_size));
  }
  size_t frame = ZSTD_findFrameCompressedSize(compressed.data(), compressed.size());
  if (ZSTD_isError(frame) || frame != compressed.size()) {
    throw CorruptInput("zstd payload is not exactly one complete zstd frame");
  }
  std::unique_ptr<ZSTD_DCtx, DctxFree> ctx(ZSTD_createDCtx());
  if (!ctx) throw std::bad_alloc();
  Bytes out(expected_raw_size);
  size_t n =
      ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n)) {
    throw CorruptInput(fmt::format("zstd payload does not decode: {}", ZSTD_getErrorName(n)));
  }
  if (n != expected_raw_size) {
    throw CorruptInput(
        fmt::format("zstd payload decodes to {} bytes, expected {}", n, expected_raw_size));
  }
  return out;
}

}  // namespace lmz::zstd
