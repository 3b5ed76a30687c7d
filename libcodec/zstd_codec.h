// The zstd fallback for blocks that are not text (and for text blocks the
// neural codec does not shrink). One zstd frame per block, with its content
// size recorded; decompression trusts no declared size: the caller says how
// many bytes the block must decode to (bounded by kZstdMaxRawSize) and
// anything else is refused.
#pragma once

#include <cstddef>

#include "libcodec/types.h"

namespace lmz::zstd {

// The largest block this codec compresses or decompresses (the container's
// block size limit, spec/FORMAT.md).
inline constexpr size_t kZstdMaxRawSize = size_t{64} << 20;

// Compresses `raw` into one zstd frame at `level` (1 .. ZSTD_maxCLevel()).
// Throws UsageError for a level out of range or a block over the limit.
Bytes compress(ByteView raw, int level);

// Decompresses exactly one zstd frame that must decode to exactly
// `expected_raw_size` bytes (at most kZstdMaxRawSize). Throws CorruptInput
// naming what is wrong otherwise (bad frame, trailing bytes, wrong size).
// Allocates only the expected_raw_size output buffer.
Bytes decompress(ByteView compressed, size_t expected_raw_size);

// Highest level accepted by compress().
int max_level();

}  // namespace lmz::zstd
