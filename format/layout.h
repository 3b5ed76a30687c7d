// The on-disk structures of a .lmz member (spec/FORMAT.md): constants,
// limits, and the encoders and checking parsers of the header, block frame
// header, window table, end marker, index and footer. Nothing here does I/O:
// the writer and the readers move the bytes; this file says what they mean.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "libcodec/coding_stage.h"
#include "libcodec/types.h"

namespace lmz::format {

inline constexpr uint16_t kFormatVersion = 1;

inline constexpr std::array<uint8_t, 4> kHeaderMagic = {0x89, 'L', 'M', 'Z'};
inline constexpr std::array<uint8_t, 4> kIndexMagic = {0x89, 'L', 'M', 'I'};
inline constexpr std::array<uint8_t, 4> kFooterMagic = {0x89, 'L', 'M', 'F'};

// Limits (spec/FORMAT.md, "Limits").
inline constexpr uint32_t kMaxBlockSize = 64u << 20;
inline constexpr uint32_t kMaxWindowsPerBlock = 65536;
inline constexpr uint32_t kMaxBlocksPerMember = 1u << 20;
inline constexpr size_t kMaxModelNameLength = 255;

// Sizes of the fixed parts.
inline constexpr size_t kHeaderFixedSize = 36;  // before the model name
inline constexpr size_t kCheckSize = 8;         // every XXH3-64 check field
inline constexpr size_t kFrameFixedSize = 28;   // before the window table
inline constexpr size_t kWindowTableFixedSize = 8;
inline constexpr size_t kWindowEntrySize = 12;
inline constexpr size_t kEndMarkerSize = 8;
inline constexpr size_t kIndexFixedSize = 16;
inline constexpr size_t kIndexEntrySize = 36;
inline constexpr size_t kFooterSize = 44;

enum class Codec : uint8_t { kStored = 1, kZstd = 2, kNeural = 3 };
inline constexpr uint8_t kEndOfBlocksTag = 0;

// What the classifier saw in a block (informational).
enum class Content : uint8_t { kBinary = 0, kProse = 1, kLog = 2 };

const char* codec_name(Codec codec);        // "stored", "zstd", "neural"
const char* content_name(Content content);  // "binary", "prose", "log"

struct Header {
  StageId stage = kDirectStage;
  Hash128 model_hash;
  uint32_t block_size = 0;
  std::string model_name;

  size_t size() const { return kHeaderFixedSize + model_name.size() + kCheckSize; }
};

// Serializes a header (with its check). Throws UsageError when a field is
// out of bounds.
Bytes encode_header(const Header& header);

// Checks the first kHeaderFixedSize bytes of a header at archive offset `at`
// (magic, version, name length) and returns the whole header's size.
size_t parse_header_prefix(ByteView fixed, uint64_t at);

// Parses and checks a whole header (size from parse_header_prefix).
Header parse_header(ByteView bytes, uint64_t at);

struct WindowEntry {
  uint32_t raw_len = 0;
  uint32_t coded_len = 0;
  uint32_t raw_check = 0;  // XXH3-32 of the window's raw bytes
};

struct FrameHeader {
  Codec codec = Codec::kStored;
  Content content = Content::kBinary;
  uint32_t raw_size = 0;
  uint32_t payload_size = 0;
  uint64_t raw_check = 0;
  uint64_t payload_check = 0;
  // Neural blocks only.
  uint32_t window_size = 0;
  std::vector<WindowEntry> windows;

  // Bytes from the start of the frame to the payload.
  size_t header_size() const { return frame_header_size(codec, windows.size()); }
  uint64_t frame_size() const { return header_size() + uint64_t{payload_size}; }

  static size_t frame_header_size(Codec codec, size_t window_count) {
    size_t table =
        codec == Codec::kNeural ? kWindowTableFixedSize + kWindowEntrySize * window_count : 0;
    return kFrameFixedSize + table + kCheckSize;
  }
};

uint32_t xxh3_32(ByteView bytes);

// Serializes a frame header, window table and frame check.
Bytes encode_frame_header(const FrameHeader& frame);

// Parses the first kFrameFixedSize bytes of a block frame (codec tag not 0)
// at archive offset `at`, checking the tag, the reserved bytes and the size
// bounds against the member's `block_size`. `where` names the block in
// messages ("block 3 at archive offset 123"). The window table is not read.
FrameHeader parse_frame_fixed(ByteView fixed, uint32_t block_size, const std::string& where);

// Checks a neural block's window count (the 4 bytes after the fixed part)
// and returns it.
uint32_t parse_window_count(ByteView four, const FrameHeader& frame, const std::string& where);

// Given all bytes of the frame header (fixed part, window table, check),
// verifies the frame check and fills and checks the window table.
void parse_frame_rest(ByteView header_bytes, FrameHeader& frame, uint32_t block_size,
                      const std::string& where);

Bytes encode_end_marker(uint32_t block_count);
// Checks an end marker and returns its block count.
uint32_t parse_end_marker(ByteView bytes, uint64_t at);

struct IndexEntry {
  uint64_t raw_offset = 0;
  uint64_t frame_offset = 0;  // from the member's first byte
  uint32_t raw_size = 0;
  uint32_t frame_size = 0;
  Codec codec = Codec::kStored;
  Content content = Content::kBinary;
  uint32_t window_count = 0;
  uint32_t window_size = 0;

  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};

// The index entry that describes `frame`, a frame at `frame_offset`.
IndexEntry index_entry_for(const FrameHeader& frame, uint64_t raw_offset, uint64_t frame_offset);

inline uint64_t index_size(uint64_t block_count) {
  return kIndexFixedSize + kIndexEntrySize * block_count + kCheckSize;
}

Bytes encode_index(const std::vector<IndexEntry>& entries, uint64_t raw_size);

// Parses and checks an index of `block_count` blocks at archive offset `at`
// of a member whose header is `header_size` bytes, whose block frames end
// where the end marker starts (`frames_end`, from the member start), and
// whose raw size is `raw_size` (all from the footer). Checks the index
// check, each entry's bounds and the contiguity of frames and raw offsets.
std::vector<IndexEntry> parse_index(ByteView bytes, uint32_t block_count, uint64_t raw_size,
                                    uint64_t header_size, uint64_t frames_end, uint32_t block_size,
                                    uint64_t at);

struct Footer {
  uint64_t member_size = 0;
  uint64_t raw_size = 0;
  uint64_t index_offset = 0;
  uint32_t block_count = 0;
};

Bytes encode_footer(const Footer& footer);

// Parses and checks a footer at archive offset `at` (magic, version, check,
// and that the sizes it declares are consistent with each other).
Footer parse_footer(ByteView bytes, uint64_t at);

// Little-endian helpers.
inline void put_u16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
inline void put_u32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_u64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline uint16_t get_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
inline uint64_t get_u64(const uint8_t* p) {
  return uint64_t{get_u32(p)} | (uint64_t{get_u32(p + 4)} << 32);
}

}  // namespace lmz::format
