// Shared helpers of the fuzz entries: the stand-in codecs the archive
// entries decode with, and the check fixer that lets mutated archives get
// past the checksums to the parsers behind them.
#pragma once

#include <cstdint>

#include "format/archive_reader.h"
#include "libcodec/types.h"

namespace lmz::fuzz {

// Resolves the stand-in model (order2) with the direct stage and with the
// context-mixing stage, single-threaded (an execution must be fast and
// deterministic); every other model or stage is refused with ModelMismatch.
const CodecResolver& order2_resolver();
WindowCodec& order2_codec(StageId stage);

// Largest block_size fix_archive_checks() leaves in a header. Keeps an
// execution fast: a neural block of a few coded bytes may claim up to
// block_size raw bytes, and decoding them all takes time proportional to it.
inline constexpr uint32_t kFuzzMaxBlockSize = 1024;

// Walks `archive` the way a writer lays it out (spec/FORMAT.md) and
// recomputes every check it can (header, frame, payload, a stored block's raw
// check, index, footer), so that a mutation reaches the parsing and decoding
// behind them instead of failing the first checksum. Caps each header's
// block_size at kFuzzMaxBlockSize. Stops at the first structure that does not
// fit; never reads outside `archive`.
void fix_archive_checks(Bytes& archive);

// A valid frequency table (every symbol at least 1, total kCdfTotal) whose
// frequencies follow 32 weight bytes, each covering 8 symbols; bytes above
// 200 stand for huge weights, so that a few symbols can take almost all of
// the total (the skewed tables that stress the coder).
Cdf table_from_weights(const uint8_t weights[32]);

// Little-endian reads that tolerate a short input (missing bytes read as 0).
uint32_t take_u32(const uint8_t*& data, size_t& size);
uint8_t take_u8(const uint8_t*& data, size_t& size);

}  // namespace lmz::fuzz
