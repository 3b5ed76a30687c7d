#include "format/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "libcodec/errors.h"
#include "libcodec/hash.h"

namespace lmz::format {
namespace {

bool has_magic(const uint8_t* p, const std::array<uint8_t, 4>& magic) {
  return std::equal(magic.begin(), magic.end(), p);
}

void put_magic(Bytes& out, const std::array<uint8_t, 4>& magic) {
  out.insert(out.end(), magic.begin(), magic.end());
}

void put_check(Bytes& out) {
  put_u64(out, xxh3_64(out));
}

// True when the last kCheckSize bytes of `bytes` are the XXH3-64 of the rest.
bool check_ok(ByteView bytes) {
  size_t body = bytes.size() - kCheckSize;
  return get_u64(bytes.data() + body) == xxh3_64(bytes.first(body));
}

bool known_codec(uint8_t tag) {
  return tag >= 1 && tag <= 3;
}
bool known_content(uint8_t tag) {
  return tag <= 2;
}

// The bounds every frame and index entry obey (spec/FORMAT.md, "Limits").
void check_block_sizes(Codec codec, uint32_t raw_size, uint32_t payload_size, uint32_t block_size,
                       const std::string& where) {
  if (raw_size == 0 || raw_size > block_size) {
    throw CorruptInput(fmt::format("{}: raw size {} out of range (1 .. block size {})", where,
                                   raw_size, block_size));
  }
  if (codec == Codec::kStored ? payload_size != raw_size : payload_size >= raw_size) {
    throw CorruptInput(fmt::format("{}: {} payload of {} bytes for {} raw bytes is impossible",
                                   where, codec_name(codec), payload_size, raw_size));
  }
}

void check_window_shape(uint32_t window_count, uint32_t window_size, uint32_t raw_size,
                        uint32_t block_size, const std::string& where) {
  if (window_count == 0 || window_count > kMaxWindowsPerBlock || window_count > raw_size) {
    throw CorruptInput(fmt::format("{}: window count {} out of range (1 .. {})", where,
                                   window_count, std::min(kMaxWindowsPerBlock, raw_size)));
  }
  if (window_size == 0 || window_size > block_size) {
    throw CorruptInput(fmt::format("{}: window size {} out of range (1 .. block size {})", where,
                                   window_size, block_size));
  }
}

}  // namespace

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::kStored:
      return "stored";
    case Codec::kZstd:
      return "zstd";
    case Codec::kNeural:
      return "neural";
  }
  return "unknown";
}

const char* content_name(Content content) {
  switch (content) {
    case Content::kBinary:
      return "binary";
    case Content::kProse:
      return "prose";
    case Content::kLog:
      return "log";
  }
  return "unknown";
}

uint32_t xxh3_32(ByteView bytes) {
  return static_cast<uint32_t>(xxh3_64(bytes));
}

Bytes encode_header(const Header& header) {
  if (header.model_name.size() > kMaxModelNameLength) {
    throw UsageError(fmt::format("model name '{}' is longer than {} bytes", header.model_name,
                                 kMaxModelNameLength));
  }
  if (header.block_size == 0 || header.block_size > kMaxBlockSize) {
    throw UsageError(
        fmt::format("block size {} out of range (1 .. {})", header.block_size, kMaxBlockSize));
  }
  Bytes out;
  out.reserve(header.size());
  put_magic(out, kHeaderMagic);
  put_u16(out, kFormatVersion);
  put_u16(out, header.stage);
  put_u64(out, header.model_hash.high);
  put_u64(out, header.model_hash.low);
  put_u32(out, header.block_size);
  put_u32(out, 0);  // flags
  put_u16(out, static_cast<uint16_t>(header.model_name.size()));
  put_u16(out, 0);  // reserved
  out.insert(out.end(), header.model_name.begin(), header.model_name.end());
  put_check(out);
  return out;
}

size_t parse_header_prefix(ByteView fixed, uint64_t at) {
  const uint8_t* p = fixed.data();
  if (!has_magic(p, kHeaderMagic)) {
    throw CorruptInput(fmt::format("not an lmz archive (bad magic at offset {})", at));
  }
  uint16_t version = get_u16(p + 4);
  if (version != kFormatVersion) {
    throw CorruptInput(
        fmt::format("unsupported format version {} (this lmz reads version {}) at offset {}",
                    version, kFormatVersion, at));
  }
  uint16_t name_length = get_u16(p + 32);
  if (name_length > kMaxModelNameLength) {
    throw CorruptInput(fmt::format("header at offset {}: model name length {} exceeds {}", at,
                                   name_length, kMaxModelNameLength));
  }
  return kHeaderFixedSize + name_length + kCheckSize;
}

Header parse_header(ByteView bytes, uint64_t at) {
  size_t size = parse_header_prefix(bytes, at);
  if (bytes.size() != size) throw std::logic_error("parse_header: wrong size");
  if (!check_ok(bytes)) {
    throw CorruptInput(fmt::format("header at offset {}: header checksum mismatch", at));
  }
  const uint8_t* p = bytes.data();
  Header h;
  h.stage = get_u16(p + 6);
  h.model_hash.high = get_u64(p + 8);
  h.model_hash.low = get_u64(p + 16);
  h.block_size = get_u32(p + 24);
  uint32_t flags = get_u32(p + 28);
  uint16_t reserved = get_u16(p + 34);
  if (flags != 0 || reserved != 0) {
    throw CorruptInput(
        fmt::format("header at offset {}: unknown flags {:#x}/{:#x}", at, flags, reserved));
  }
  if (h.block_size == 0 || h.block_size > kMaxBlockSize) {
    throw CorruptInput(fmt::format("header at offset {}: block size {} out of range (1 .. {})", at,
                                   h.block_size, kMaxBlockSize));
  }
  h.model_name.assign(reinterpret_cast<const char*>(p + kHeaderFixedSize),
                      size - kHeaderFixedSize - kCheckSize);
  return h;
}

Bytes encode_frame_header(const FrameHeader& frame) {
  Bytes out;
  out.reserve(frame.header_size());
  out.push_back(static_cast<uint8_t>(frame.codec));
  out.push_back(static_cast<uint8_t>(frame.content));
  put_u16(out, 0);
  put_u32(out, frame.raw_size);
  put_u32(out, frame.payload_size);
  put_u64(out, frame.raw_check);
  put_u64(out, frame.payload_check);
  if (frame.codec == Codec::kNeural) {
    put_u32(out, static_cast<uint32_t>(frame.windows.size()));
    put_u32(out, frame.window_size);
    for (const WindowEntry& w : frame.windows) {
      put_u32(out, w.raw_len);
      put_u32(out, w.coded_len);
      put_u32(out, w.raw_check);
    }
  }
  put_check(out);
  return out;
}

FrameHeader parse_frame_fixed(ByteView fixed, uint32_t block_size, const std::string& where) {
  const uint8_t* p = fixed.data();
  if (!known_codec(p[0])) {
    throw CorruptInput(fmt::format("{}: unknown codec tag {}", where, p[0]));
  }
  if (!known_content(p[1]) || get_u16(p + 2) != 0) {
    throw CorruptInput(fmt::format("{}: bad frame header (content tag {}, reserved {})", where,
                                   p[1], get_u16(p + 2)));
  }
  FrameHeader f;
  f.codec = static_cast<Codec>(p[0]);
  f.content = static_cast<Content>(p[1]);
  f.raw_size = get_u32(p + 4);
  f.payload_size = get_u32(p + 8);
  f.raw_check = get_u64(p + 12);
  f.payload_check = get_u64(p + 20);
  check_block_sizes(f.codec, f.raw_size, f.payload_size, block_size, where);
  return f;
}

uint32_t parse_window_count(ByteView four, const FrameHeader& frame, const std::string& where) {
  uint32_t count = get_u32(four.data());
  if (count == 0 || count > kMaxWindowsPerBlock || count > frame.raw_size) {
    throw CorruptInput(fmt::format("{}: window count {} out of range (1 .. {})", where, count,
                                   std::min(kMaxWindowsPerBlock, frame.raw_size)));
  }
  return count;
}

void parse_frame_rest(ByteView bytes, FrameHeader& frame, uint32_t block_size,
                      const std::string& where) {
  if (!check_ok(bytes)) {
    throw CorruptInput(fmt::format("{}: frame header checksum mismatch", where));
  }
  if (frame.codec != Codec::kNeural) return;
  const uint8_t* p = bytes.data() + kFrameFixedSize;
  uint32_t count = get_u32(p);
  frame.window_size = get_u32(p + 4);
  check_window_shape(count, frame.window_size, frame.raw_size, block_size, where);
  if (bytes.size() != FrameHeader::frame_header_size(Codec::kNeural, count)) {
    throw std::logic_error("parse_frame_rest: wrong size");
  }
  frame.windows.resize(count);
  uint64_t raw_total = 0;
  uint64_t coded_total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = p + kWindowTableFixedSize + kWindowEntrySize * i;
    WindowEntry& w = frame.windows[i];
    w.raw_len = get_u32(e);
    w.coded_len = get_u32(e + 4);
    w.raw_check = get_u32(e + 8);
    if (w.raw_len == 0 || w.raw_len > frame.window_size) {
      throw CorruptInput(fmt::format("{}: window {} raw length {} out of range (1 .. {})", where, i,
                                     w.raw_len, frame.window_size));
    }
    raw_total += w.raw_len;
    coded_total += w.coded_len;
  }
  if (raw_total != frame.raw_size || coded_total != frame.payload_size) {
    throw CorruptInput(fmt::format(
        "{}: window table sums ({} raw, {} coded bytes) differ from the block ({} raw, {} coded)",
        where, raw_total, coded_total, frame.raw_size, frame.payload_size));
  }
}

Bytes encode_end_marker(uint32_t block_count) {
  Bytes out;
  out.push_back(kEndOfBlocksTag);
  out.insert(out.end(), 3, 0);
  put_u32(out, block_count);
  return out;
}

uint32_t parse_end_marker(ByteView bytes, uint64_t at) {
  const uint8_t* p = bytes.data();
  if (p[0] != kEndOfBlocksTag || p[1] != 0 || p[2] != 0 || p[3] != 0) {
    throw CorruptInput(fmt::format("bad end-of-blocks marker at offset {}", at));
  }
  return get_u32(p + 4);
}

IndexEntry index_entry_for(const FrameHeader& frame, uint64_t raw_offset, uint64_t frame_offset) {
  IndexEntry e;
  e.raw_offset = raw_offset;
  e.frame_offset = frame_offset;
  e.raw_size = frame.raw_size;
  e.frame_size = static_cast<uint32_t>(frame.frame_size());
  e.codec = frame.codec;
  e.content = frame.content;
  if (frame.codec == Codec::kNeural) {
    e.window_count = static_cast<uint32_t>(frame.windows.size());
    e.window_size = frame.window_size;
  }
  return e;
}

Bytes encode_index(const std::vector<IndexEntry>& entries, uint64_t raw_size) {
  Bytes out;
  out.reserve(index_size(entries.size()));
  put_magic(out, kIndexMagic);
  put_u32(out, static_cast<uint32_t>(entries.size()));
  put_u64(out, raw_size);
  for (const IndexEntry& e : entries) {
    put_u64(out, e.raw_offset);
    put_u64(out, e.frame_offset);
    put_u32(out, e.raw_size);
    put_u32(out, e.frame_size);
    out.push_back(static_cast<uint8_t>(e.codec));
    out.push_back(static_cast<uint8_t>(e.content));
    put_u16(out, 0);
    put_u32(out, e.window_count);
    put_u32(out, e.window_size);
  }
  put_check(out);
  return out;
}

std::vector<IndexEntry> parse_index(ByteView bytes, uint32_t block_count, uint64_t raw_size,
                                    uint64_t header_size, uint64_t frames_end, uint32_t block_size,
                                    uint64_t at) {
  const uint8_t* p = bytes.data();
  if (bytes.size() != index_size(block_count)) throw std::logic_error("parse_index: wrong size");
  if (!has_magic(p, kIndexMagic)) {
    throw CorruptInput(fmt::format("bad index magic at offset {}", at));
  }
  if (!check_ok(bytes)) {
    throw CorruptInput(fmt::format("index at offset {}: index checksum mismatch", at));
  }
  if (get_u32(p + 4) != block_count || get_u64(p + 8) != raw_size) {
    throw CorruptInput(
        fmt::format("index at offset {}: block count or raw size differs from the footer", at));
  }
  std::vector<IndexEntry> entries(block_count);
  uint64_t raw_offset = 0;
  uint64_t frame_offset = header_size;
  for (uint32_t k = 0; k < block_count; ++k) {
    const uint8_t* e = p + kIndexFixedSize + kIndexEntrySize * k;
    std::string where = fmt::format("index at offset {}, entry {}", at, k);
    IndexEntry& x = entries[k];
    x.raw_offset = get_u64(e);
    x.frame_offset = get_u64(e + 8);
    x.raw_size = get_u32(e + 16);
    x.frame_size = get_u32(e + 20);
    if (!known_codec(e[24]) || !known_content(e[25]) || get_u16(e + 26) != 0) {
      throw CorruptInput(fmt::format("{}: bad codec or content tag", where));
    }
    x.codec = static_cast<Codec>(e[24]);
    x.content = static_cast<Content>(e[25]);
    x.window_count = get_u32(e + 28);
    x.window_size = get_u32(e + 32);
    if (x.raw_offset != raw_offset || x.frame_offset != frame_offset) {
      throw CorruptInput(fmt::format("{}: offsets are not contiguous", where));
    }
    if (x.codec == Codec::kNeural) {
      check_window_shape(x.window_count, x.window_size, x.raw_size, block_size, where);
    } else if (x.window_count != 0 || x.window_size != 0) {
      throw CorruptInput(fmt::format("{}: window table on a {} block", where, codec_name(x.codec)));
    }
    uint64_t header = FrameHeader::frame_header_size(x.codec, x.window_count);
    if (x.frame_size < header) {
      throw CorruptInput(fmt::format("{}: frame size {} too small", where, x.frame_size));
    }
    check_block_sizes(x.codec, x.raw_size, static_cast<uint32_t>(x.frame_size - header), block_size,
                      where);
    raw_offset += x.raw_size;
    frame_offset += x.frame_size;
  }
  if (raw_offset != raw_size || frame_offset != frames_end) {
    throw CorruptInput(
        fmt::format("index at offset {}: blocks do not add up to the member's sizes", at));
  }
  return entries;
}

Bytes encode_footer(const Footer& footer) {
  Bytes out;
  out.reserve(kFooterSize);
  put_u64(out, footer.member_size);
  put_u64(out, footer.raw_size);
  put_u64(out, footer.index_offset);
  put_u32(out, footer.block_count);
  put_u16(out, 0);
  put_u16(out, kFormatVersion);
  put_magic(out, kFooterMagic);
  put_check(out);
  return out;
}

Footer parse_footer(ByteView bytes, uint64_t at) {
  const uint8_t* p = bytes.data();
  if (!has_magic(p + 32, kFooterMagic)) {
    throw CorruptInput(
        fmt::format("not an lmz archive or truncated (no footer magic at offset {})", at + 32));
  }
  uint16_t version = get_u16(p + 30);
  if (version != kFormatVersion) {
    throw CorruptInput(
        fmt::format("unsupported format version {} (this lmz reads version {}) at offset {}",
                    version, kFormatVersion, at));
  }
  if (!check_ok(bytes)) {
    throw CorruptInput(fmt::format("footer at offset {}: footer checksum mismatch", at));
  }
  Footer f;
  f.member_size = get_u64(p);
  f.raw_size = get_u64(p + 8);
  f.index_offset = get_u64(p + 16);
  f.block_count = get_u32(p + 24);
  if (get_u16(p + 28) != 0) {
    throw CorruptInput(fmt::format("footer at offset {}: reserved field is not zero", at));
  }
  if (f.block_count > kMaxBlocksPerMember) {
    throw CorruptInput(fmt::format("footer at offset {}: block count {} exceeds {}", at,
                                   f.block_count, kMaxBlocksPerMember));
  }
  // member = header (>= 44) + frames + end marker + index + footer.
  uint64_t tail = kEndMarkerSize + index_size(f.block_count) + kFooterSize;
  if (f.member_size < kHeaderFixedSize + kCheckSize + tail ||
      f.index_offset != f.member_size - index_size(f.block_count) - kFooterSize) {
    throw CorruptInput(
        fmt::format("footer at offset {}: member size {} and index offset {} are inconsistent", at,
                    f.member_size, f.index_offset));
  }
  return f;
}

}  // namespace lmz::format
