// Fuzz entries of the container readers and of the compress/decompress
// round trip. The readers must refuse bad archives with lmz::Error; where an
// archive is accepted, the two readers must agree on its bytes.
#include <algorithm>
#include <optional>

#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "libcodec/cm/cm_stage.h"
#include "libcodec/errors.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace lmz::fuzz {
namespace {

// Flags in the first input byte of the reader entries.
constexpr uint8_t kFixChecks = 1;   // recompute the checks first (fuzz_support.h)
constexpr uint8_t kSmallBatch = 2;  // streaming: decode block by block
// Random access: also decode with the streaming reader and compare. Chosen by
// the input, not always done: the streaming decode costs more than the
// random-access reads it checks.
constexpr uint8_t kCompare = 4;

// The archive an input describes: the bytes after the flags (and ranges),
// checks fixed when the flags ask for it.
Bytes archive_of(const uint8_t* data, size_t size, uint8_t flags) {
  Bytes archive(data, data + size);
  if (flags & kFixChecks) fix_archive_checks(archive);
  return archive;
}

// The whole archive through the streaming reader, or nothing if it refused.
std::optional<Bytes> stream_decode(ByteView archive, uint64_t batch_bytes) {
  MemorySource source(archive);
  MemorySink sink;
  try {
    decompress_stream(source, sink, order2_resolver(), {}, batch_bytes);
  } catch (const Error&) {
    return std::nullopt;
  }
  return std::move(sink.data);
}

Bytes slice(const Bytes& data, uint64_t offset, uint64_t length) {
  if (offset >= data.size()) return {};
  const uint64_t end = offset + std::min<uint64_t>(length, data.size() - offset);
  return Bytes(data.begin() + static_cast<ptrdiff_t>(offset),
               data.begin() + static_cast<ptrdiff_t>(end));
}

}  // namespace

void stream_reader(const uint8_t* data, size_t size) {
  const uint8_t flags = take_u8(data, size);
  const Bytes archive = archive_of(data, size, flags);
  const uint64_t batch = (flags & kSmallBatch) ? 1 : kDefaultDecodeBatchBytes;
  std::optional<Bytes> raw = stream_decode(archive, batch);
  if (!raw) return;
  // Batching never changes what is accepted nor the bytes.
  std::optional<Bytes> other = stream_decode(archive, batch == 1 ? kDefaultDecodeBatchBytes : 1);
  require(other.has_value(), "stream: accepted with one batch size, refused with the other");
  require(*other == *raw, "stream: batch size changed the decoded bytes");
}

void random_access(const uint8_t* data, size_t size) {
  const uint8_t flags = take_u8(data, size);
  uint64_t offsets[2], lengths[2];
  for (int i = 0; i < 2; ++i) {
    offsets[i] = take_u32(data, size);
    lengths[i] = take_u32(data, size) % 65536;
  }
  const Bytes archive = archive_of(data, size, flags);
  // Only what the streaming reader accepts is known to be valid; then random
  // access must accept it too and return the same bytes.
  const std::optional<Bytes> whole =
      (flags & kCompare) ? stream_decode(archive, kDefaultDecodeBatchBytes) : std::nullopt;

  MemoryRandomAccessSource source(archive);
  std::optional<RandomAccessReader> reader;
  try {
    reader.emplace(source, order2_resolver());
  } catch (const Error&) {
    require(!whole, "random access: refused an archive the streaming reader accepted");
    return;
  }
  const uint64_t raw_size = reader->raw_size();
  uint64_t sum = 0;
  for (const MemberInfo& m : reader->info().members) {
    for (const BlockInfo& b : m.blocks) sum += b.raw_size;
  }
  require(sum == raw_size, "random access: block sizes do not add up to the raw size");
  if (whole) require(whole->size() == raw_size, "random access: raw size differs from the stream");
  for (int i = 0; i < 2; ++i) {
    const uint64_t off = raw_size == 0 ? offsets[i] : offsets[i] % (raw_size + 1);
    try {
      Bytes got = reader->read(off, lengths[i]);
      require(got.size() == (off >= raw_size ? 0 : std::min(lengths[i], raw_size - off)),
              "random access: read returned the wrong length");
      if (whole) require(got == slice(*whole, off, lengths[i]), "random access: wrong bytes");
    } catch (const Error&) {
      require(!whole, "random access: read refused a range of a valid archive");
    }
  }
}

void roundtrip(const uint8_t* data, size_t size) {
  // Options from the first bytes: small blocks and windows so that a few
  // hundred bytes of input make several of each. (Windows of at least 64
  // bytes: each window costs a predictor state reset and a fresh coding
  // stage, which would dominate an execution for tinier windows.)
  const uint8_t o = take_u8(data, size);
  const uint8_t w = take_u8(data, size);
  WriterOptions options;
  options.block_size = 64u << (o & 7);          // 64 .. 8192
  options.window_size = 64u + (w & 0x3f) * 32;  // 64 .. 2080
  options.log_window_size = (o & 8) ? 0 : options.window_size * 2;
  options.zstd_level = 1 + (w >> 6);
  options.allow_neural = (o & 16) == 0;
  options.batch_bytes = (o & 32) ? 1 : uint64_t{1} << 20;
  options.classifier.chunk_size = 64;
  options.classifier.min_binary_run = 128;
  options.classifier.min_text_run = 128;
  const StageId stage = (o & 64) ? kMixStageV1 : kDirectStage;
  uint64_t offsets[2], lengths[2];
  for (int i = 0; i < 2; ++i) {
    offsets[i] = take_u32(data, size);
    lengths[i] = take_u32(data, size) % 8192;
  }
  const ByteView input(data, size);

  const Bytes archive = compress_buffer(input, order2_codec(stage), options);
  std::optional<Bytes> back = stream_decode(archive, (o & 128) ? 1 : kDefaultDecodeBatchBytes);
  require(back.has_value(), "roundtrip: the streaming reader refused a fresh archive");
  require(std::equal(back->begin(), back->end(), input.begin(), input.end()),
          "roundtrip: decompressed bytes differ from the input");

  MemoryRandomAccessSource source(archive);
  RandomAccessReader reader(source, order2_resolver());
  require(reader.raw_size() == size, "roundtrip: random-access raw size differs");
  const Bytes original(input.begin(), input.end());
  for (int i = 0; i < 2; ++i) {
    const uint64_t off = offsets[i] % (size + 1);
    require(reader.read(off, lengths[i]) == slice(original, off, lengths[i]),
            "roundtrip: random-access read differs from the input");
  }
}

}  // namespace lmz::fuzz
