// RandomAccessReader: finds the members through their footers, keeps their
// indexes, and decodes only the windows a read needs (spec/FORMAT.md,
// "Readers / Random access").
#include <fmt/format.h>

#include <algorithm>

#include "format/archive_reader.h"
#include "format/block_decode.h"
#include "format/layout.h"
#include "libcodec/errors.h"
#include "libcodec/hash.h"

namespace lmz {

using format::Codec;
using format::FrameHeader;

namespace {

struct Member {
  uint64_t offset = 0;      // of its first byte in the archive
  uint64_t raw_offset = 0;  // of its first raw byte in the decoded stream
  uint64_t raw_size = 0;
  format::Header header;
  std::vector<format::IndexEntry> index;
  std::unique_ptr<format::MemberCodec> codec;
};

Bytes read_bytes(const RandomAccessSource& source, uint64_t offset, uint64_t size) {
  // Checked before allocating: a size the file cannot hold costs no memory.
  if (offset > source.size() || size > source.size() - offset) {
    throw CorruptInput(fmt::format("truncated archive: expected {} bytes at offset {}, got {}",
                                   size, offset,
                                   offset > source.size() ? 0 : source.size() - offset));
  }
  Bytes out(size);
  source.read_at(offset, out);
  return out;
}

// Reads the member that ends at `end` (the byte after its footer).
Member read_member(const RandomAccessSource& source, uint64_t end) {
  if (end < format::kFooterSize) {
    throw CorruptInput(fmt::format(
        "not an lmz archive or truncated: {} bytes before offset {} cannot hold a footer", end,
        end));
  }
  uint64_t footer_at = end - format::kFooterSize;
  format::Footer footer =
      format::parse_footer(read_bytes(source, footer_at, format::kFooterSize), footer_at);
  if (footer.member_size > end) {
    throw CorruptInput(fmt::format(
        "footer at offset {}: member size {} exceeds the {} bytes before the footer's end",
        footer_at, footer.member_size, end));
  }
  Member m;
  m.offset = end - footer.member_size;
  m.raw_size = footer.raw_size;

  Bytes header = read_bytes(source, m.offset, format::kHeaderFixedSize);
  size_t header_size = format::parse_header_prefix(header, m.offset);
  uint64_t end_marker = footer.index_offset - format::kEndMarkerSize;  // from m.offset
  if (header_size > end_marker) {
    throw CorruptInput(fmt::format("member at offset {}: header of {} bytes overlaps its index",
                                   m.offset, header_size));
  }
  header = read_bytes(source, m.offset, header_size);
  m.header = format::parse_header(header, m.offset);

  uint32_t count = format::parse_end_marker(
      read_bytes(source, m.offset + end_marker, format::kEndMarkerSize), m.offset + end_marker);
  if (count != footer.block_count) {
    throw CorruptInput(
        fmt::format("member at offset {}: end-of-blocks marker counts {} blocks, the footer {}",
                    m.offset, count, footer.block_count));
  }
  uint64_t index_at = m.offset + footer.index_offset;
  m.index =
      format::parse_index(read_bytes(source, index_at, format::index_size(count)), count,
                          footer.raw_size, header_size, end_marker, m.header.block_size, index_at);
  return m;
}

BlockInfo block_info(const Member& m, const format::IndexEntry& e) {
  BlockInfo b;
  b.raw_offset = m.raw_offset + e.raw_offset;
  b.archive_offset = m.offset + e.frame_offset;
  b.raw_size = e.raw_size;
  b.frame_size = e.frame_size;
  b.codec = format::codec_name(e.codec);
  b.content = format::content_name(e.content);
  b.windows = e.window_count;
  b.window_size = e.window_size;
  return b;
}

}  // namespace

struct RandomAccessReader::State {
  State(const RandomAccessSource& s, CodecResolver r) : source(s), resolve(std::move(r)) {}

  // Appends raw bytes [begin, begin + size) of block k of member m to `out`.
  void read_block(Member& m, size_t k, uint64_t begin, uint64_t size, Bytes& out);

  const RandomAccessSource& source;
  CodecResolver resolve;
  std::vector<Member> members;
  ArchiveInfo info;
};

RandomAccessReader::RandomAccessReader(const RandomAccessSource& source, CodecResolver resolve)
    : state_(std::make_unique<State>(source, std::move(resolve))) {
  State& st = *state_;
  uint64_t end = source.size();
  if (end == 0) throw CorruptInput("not an lmz archive (empty input)");
  while (end > 0) {
    st.members.push_back(read_member(source, end));
    end = st.members.back().offset;
  }
  std::reverse(st.members.begin(), st.members.end());
  st.info.archive_size = source.size();
  uint64_t raw = 0;
  uint64_t member_end = source.size();
  for (size_t i = 0; i < st.members.size(); ++i) {
    Member& m = st.members[i];
    m.raw_offset = raw;
    m.codec = std::make_unique<format::MemberCodec>(m.header, st.resolve);
    member_end = i + 1 < st.members.size() ? st.members[i + 1].offset : source.size();
    MemberInfo mi;
    mi.archive_offset = m.offset;
    mi.archive_size = member_end - m.offset;
    mi.raw_offset = raw;
    mi.raw_size = m.raw_size;
    mi.format_version = format::kFormatVersion;
    mi.model_name = m.header.model_name;
    mi.model_hash = m.header.model_hash;
    mi.stage = m.header.stage;
    for (const format::IndexEntry& e : m.index) mi.blocks.push_back(block_info(m, e));
    st.info.members.push_back(std::move(mi));
    if (m.raw_size > UINT64_MAX - raw) throw CorruptInput("archive raw size overflows 64 bits");
    raw += m.raw_size;
  }
  st.info.raw_size = raw;
}

RandomAccessReader::~RandomAccessReader() = default;

const ArchiveInfo& RandomAccessReader::info() const {
  return state_->info;
}

uint64_t RandomAccessReader::raw_size() const {
  return state_->info.raw_size;
}

Bytes RandomAccessReader::read(uint64_t offset, uint64_t length) {
  State& st = *state_;
  Bytes out;
  uint64_t total = st.info.raw_size;
  if (offset >= total || length == 0) return out;
  uint64_t end = offset + std::min(length, total - offset);
  // The first member whose raw range holds `offset`.
  auto mit = std::upper_bound(st.members.begin(), st.members.end(), offset,
                              [](uint64_t v, const Member& m) { return v < m.raw_offset; });
  size_t mi = static_cast<size_t>(mit - st.members.begin()) - 1;
  uint64_t pos = offset;
  while (pos < end) {
    Member& m = st.members[mi];
    if (pos >= m.raw_offset + m.raw_size) {  // also skips empty members
      ++mi;
      continue;
    }
    uint64_t local = pos - m.raw_offset;
    auto bit =
        std::upper_bound(m.index.begin(), m.index.end(), local,
                         [](uint64_t v, const format::IndexEntry& e) { return v < e.raw_offset; });
    size_t k = static_cast<size_t>(bit - m.index.begin()) - 1;
    const format::IndexEntry& e = m.index[k];
    uint64_t begin = local - e.raw_offset;
    uint64_t size = std::min<uint64_t>(e.raw_size - begin, end - pos);
    st.read_block(m, k, begin, size, out);
    pos += size;
  }
  return out;
}

void RandomAccessReader::State::read_block(Member& m, size_t k, uint64_t begin, uint64_t size,
                                           Bytes& out) {
  const format::IndexEntry& e = m.index[k];
  uint64_t at = m.offset + e.frame_offset;
  std::string where = fmt::format("block {} at archive offset {}", k, at);
  uint32_t block_size = m.header.block_size;

  size_t header_size = FrameHeader::frame_header_size(e.codec, e.window_count);
  Bytes head = read_bytes(source, at, header_size);
  FrameHeader frame = format::parse_frame_fixed(head, block_size, where);
  if (frame.codec == Codec::kNeural &&
      format::parse_window_count(ByteView(head).subspan(format::kFrameFixedSize), frame, where) !=
          e.window_count) {
    throw CorruptInput(fmt::format("{}: window count differs from the index", where));
  }
  if (frame.codec != e.codec) {
    throw CorruptInput(fmt::format("{}: codec differs from the index", where));
  }
  format::parse_frame_rest(head, frame, block_size, where);
  if (frame.content != e.content || frame.raw_size != e.raw_size ||
      frame.frame_size() != e.frame_size || frame.window_size != e.window_size) {
    throw CorruptInput(fmt::format("{}: frame header does not match its index entry", where));
  }
  uint64_t payload_at = at + header_size;

  bool whole = true;
  size_t first = 0;
  size_t last = 0;  // windows [first, last] cover the range
  uint64_t first_raw = 0;
  uint64_t first_coded = 0;
  if (frame.codec == Codec::kNeural) {
    uint64_t raw_pos = 0;
    uint64_t coded_pos = 0;
    bool found = false;
    for (size_t i = 0; i < frame.windows.size(); ++i) {
      const format::WindowEntry& w = frame.windows[i];
      uint64_t w_end = raw_pos + w.raw_len;
      if (!found && w_end > begin) {
        found = true;
        first = i;
        first_raw = raw_pos;
        first_coded = coded_pos;
      }
      if (raw_pos < begin + size) last = i;
      raw_pos = w_end;
      coded_pos += w.coded_len;
    }
    whole = first == 0 && last + 1 == frame.windows.size();
  }

  if (whole) {
    Bytes payload = read_bytes(source, payload_at, frame.payload_size);
    if (xxh3_64(payload) != frame.payload_check) {
      throw CorruptInput(fmt::format("{}: payload checksum mismatch", where));
    }
    Bytes raw = format::decode_block(frame, payload, *m.codec, where);
    out.insert(out.end(), raw.begin() + static_cast<ptrdiff_t>(begin),
               raw.begin() + static_cast<ptrdiff_t>(begin + size));
    return;
  }
  // Only the windows that cover the range; each one's raw check is verified.
  uint64_t coded_size = 0;
  uint64_t raw_size = 0;
  for (size_t i = first; i <= last; ++i) {
    coded_size += frame.windows[i].coded_len;
    raw_size += frame.windows[i].raw_len;
  }
  Bytes coded = read_bytes(source, payload_at + first_coded, coded_size);
  Bytes raw(raw_size);
  format::decode_windows(m.codec->get(), frame, first, last - first + 1, coded, raw, where);
  uint64_t skip = begin - first_raw;
  out.insert(out.end(), raw.begin() + static_cast<ptrdiff_t>(skip),
             raw.begin() + static_cast<ptrdiff_t>(skip + size));
}

}  // namespace lmz
