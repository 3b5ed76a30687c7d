// Readers of .lmz archives (spec/FORMAT.md): a streaming decoder that needs
// no seek, a random-access reader that uses the footer and index, and a
// summary for `lmz -l`. Every block's raw checksum is verified before its
// bytes are released; any malformed byte throws CorruptInput naming the
// member, block and offset.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "format/io.h"
#include "libcodec/coding_stage.h"
#include "libcodec/types.h"

namespace lmz {

class WindowCodec;

// Gives the codec for the model an archive names. Throws ModelMismatch when
// that model is not available (ModelRegistry::by_hash does this).
using CodecResolver = std::function<WindowCodec&(const Hash128& model_hash,
                                                 const std::string& model_name, StageId stage)>;

struct ReadProgress {
  uint64_t archive_bytes = 0;  // consumed so far
  uint64_t raw_bytes = 0;      // released so far
};

// Raw bytes of whole blocks the streaming reader gathers before decoding
// their windows in one WindowCodec::decode call (a GPU model wants thousands
// of windows per batch). Memory is about twice this plus one block.
inline constexpr uint64_t kDefaultDecodeBatchBytes = uint64_t{16} << 20;

// Decodes one archive, or several concatenated, front to back. Raw bytes go
// to `out` block by block, in order, each only after its checksums matched.
// `batch_bytes` below one block's size decodes each block alone.
void decompress_stream(ByteSource& in, ByteSink& out, const CodecResolver& resolve,
                       const std::function<void(const ReadProgress&)>& progress = {},
                       uint64_t batch_bytes = kDefaultDecodeBatchBytes);

// One block, as described by the index.
struct BlockInfo {
  uint64_t raw_offset = 0;      // in the decompressed stream
  uint64_t archive_offset = 0;  // of the block frame in the archive file
  uint32_t raw_size = 0;
  uint32_t frame_size = 0;   // the whole frame on disk
  std::string codec;         // "neural", "zstd" or "stored"
  std::string content;       // what the classifier saw: "binary", "prose" or "log"
  uint32_t windows = 0;      // neural blocks only
  uint32_t window_size = 0;  // neural blocks only: nominal raw bytes per window
};

// One archive member (archives can be concatenated).
struct MemberInfo {
  uint64_t archive_offset = 0;
  uint64_t archive_size = 0;
  uint64_t raw_offset = 0;
  uint64_t raw_size = 0;
  uint32_t format_version = 0;
  std::string model_name;
  Hash128 model_hash;
  StageId stage = kDirectStage;
  std::vector<BlockInfo> blocks;
};

struct ArchiveInfo {
  uint64_t archive_size = 0;
  uint64_t raw_size = 0;
  std::vector<MemberInfo> members;
};

// Random access through the footer(s) and index(es). Reads only the footer,
// the index and the frames it needs; decodes only the windows that cover a
// requested range. One reader serves one thread at a time (read() resolves
// each member's codec on first use).
class RandomAccessReader {
 public:
  // Reads and checks every member's footer and index (walking back from the
  // end of `source`). Throws CorruptInput if they are malformed.
  RandomAccessReader(const RandomAccessSource& source, CodecResolver resolve);
  ~RandomAccessReader();

  const ArchiveInfo& info() const;
  uint64_t raw_size() const;

  // The raw bytes [offset, offset + length), clamped to the end of the data
  // (a range starting at or past the end gives no bytes).
  Bytes read(uint64_t offset, uint64_t length);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Decompresses a whole in-memory archive (convenience for tests and the daemon).
Bytes decompress_buffer(ByteView archive, const CodecResolver& resolve);

}  // namespace lmz
