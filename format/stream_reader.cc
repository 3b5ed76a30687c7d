// decompress_stream and decompress_buffer: front-to-back decoding of one or
// more members without seeking (spec/FORMAT.md, "Readers / Streaming").
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "format/archive_reader.h"
#include "format/block_decode.h"
#include "format/layout.h"
#include "libcodec/errors.h"
#include "libcodec/hash.h"
#include "libcodec/window_codec.h"

namespace lmz {
namespace {

using format::FrameHeader;

// A ByteSource read through a buffer, counting the bytes consumed so that
// every message can name an archive offset.
class Input {
 public:
  explicit Input(ByteSource& source) : source_(source), buffer_(kBufferSize) {}

  uint64_t offset() const { return consumed_; }

  // True when the source has no more bytes.
  bool at_end() { return pos_ == len_ && !fill(); }

  // Reads exactly out.size() bytes, or throws CorruptInput saying that the
  // archive is truncated in `what`.
  void read_exact(MutableByteView out, const std::string& what) {
    uint64_t start = consumed_;
    size_t got = read_some(out.data(), out.size());
    if (got < out.size()) throw truncated(out.size(), what, start, got);
  }

  // Reads `n` bytes into a buffer that grows only as the bytes arrive (at
  // most twice the bytes received plus 64 KiB), so a declared length that
  // the input does not back costs no memory.
  Bytes read_growing(size_t n, const std::string& what) {
    uint64_t start = consumed_;
    Bytes out;
    size_t have = 0;
    while (have < n) {
      size_t want = std::min(n - have, std::max(kBufferSize, have));
      out.resize(have + want);
      size_t got = read_some(out.data() + have, want);
      have += got;
      if (got < want) throw truncated(n, what, start, have);
    }
    return out;
  }

 private:
  static constexpr size_t kBufferSize = 64 << 10;

  bool fill() {
    if (eof_) return false;
    pos_ = 0;
    len_ = source_.read(buffer_);
    if (len_ == 0) eof_ = true;
    return len_ > 0;
  }

  size_t read_some(uint8_t* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      if (pos_ == len_ && !fill()) break;
      size_t k = std::min(n - done, len_ - pos_);
      std::memcpy(dst + done, buffer_.data() + pos_, k);
      pos_ += k;
      done += k;
    }
    consumed_ += done;
    return done;
  }

  static CorruptInput truncated(size_t n, const std::string& what, uint64_t at, size_t got) {
    return CorruptInput(fmt::format(
        "truncated archive: expected {} bytes at offset {} ({}); the input ends {} bytes short, "
        "at offset {}",
        n, at, what, n - got, at + got));
  }

  ByteSource& source_;
  Bytes buffer_;
  size_t pos_ = 0;
  size_t len_ = 0;
  uint64_t consumed_ = 0;
  bool eof_ = false;
};

// Offset of the first byte where a and b differ (they have the same size).
size_t first_difference(ByteView a, ByteView b) {
  return static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin());
}

format::Header read_header(Input& in) {
  uint64_t at = in.offset();
  // The magic first, so that trailing garbage is named as such.
  Bytes bytes(format::kHeaderFixedSize);
  in.read_exact(MutableByteView(bytes).first(format::kHeaderMagic.size()), "header");
  if (!std::equal(format::kHeaderMagic.begin(), format::kHeaderMagic.end(), bytes.begin())) {
    throw CorruptInput(fmt::format("not an lmz archive (bad magic at offset {})", at));
  }
  in.read_exact(MutableByteView(bytes).subspan(format::kHeaderMagic.size()), "header");
  size_t size = format::parse_header_prefix(bytes, at);
  bytes.resize(size);
  in.read_exact(MutableByteView(bytes).subspan(format::kHeaderFixedSize), "header");
  return format::parse_header(bytes, at);
}

// A block frame read and checked up to its payload, waiting to be decoded.
struct PendingBlock {
  FrameHeader frame;
  Bytes payload;
  std::string where;
};

// Reads one block frame whose first 8 bytes are `first`, checking its header,
// window table and payload checksum.
PendingBlock read_block(Input& in, const uint8_t* first, const format::Header& header,
                        const std::string& where) {
  Bytes head(first, first + 8);
  head.resize(format::kFrameFixedSize);
  in.read_exact(MutableByteView(head).subspan(8), "the frame header of " + where);
  FrameHeader frame = format::parse_frame_fixed(head, header.block_size, where);
  size_t window_count = 0;
  if (frame.codec == format::Codec::kNeural) {
    head.resize(format::kFrameFixedSize + 4);
    in.read_exact(MutableByteView(head).subspan(format::kFrameFixedSize),
                  "the window table of " + where);
    window_count =
        format::parse_window_count(ByteView(head).subspan(format::kFrameFixedSize), frame, where);
  }
  size_t rest = FrameHeader::frame_header_size(frame.codec, window_count) - head.size();
  Bytes tail = in.read_growing(rest, "the frame header of " + where);
  head.insert(head.end(), tail.begin(), tail.end());
  format::parse_frame_rest(head, frame, header.block_size, where);

  Bytes payload = in.read_growing(frame.payload_size, "the payload of " + where);
  if (xxh3_64(payload) != frame.payload_check) {
    throw CorruptInput(fmt::format("{}: payload checksum mismatch", where));
  }
  return PendingBlock{std::move(frame), std::move(payload), where};
}

// Decodes the pending blocks, the windows of all neural ones in one codec
// call, and releases each block's bytes in order once its checks passed.
void release(std::vector<PendingBlock>& pending, format::MemberCodec& codec, ByteSink& out,
             ReadProgress& done, const std::function<void(const ReadProgress&)>& progress) {
  std::vector<Bytes> raws(pending.size());
  std::vector<EncodedWindowView> views;
  std::vector<MutableByteView> outs;
  size_t neural_blocks = 0;
  for (size_t i = 0; i < pending.size(); ++i) {
    const FrameHeader& f = pending[i].frame;
    if (f.codec != format::Codec::kNeural) continue;
    ++neural_blocks;
    raws[i].resize(f.raw_size);
    size_t coded = 0;
    size_t raw = 0;
    for (const format::WindowEntry& w : f.windows) {
      views.push_back(
          EncodedWindowView{ByteView(pending[i].payload).subspan(coded, w.coded_len), w.raw_len});
      outs.push_back(MutableByteView(raws[i]).subspan(raw, w.raw_len));
      coded += w.coded_len;
      raw += w.raw_len;
    }
  }
  bool batched = false;
  if (neural_blocks > 1) {
    WindowCodec& c = codec.get();
    try {
      c.decode(views, outs);
      batched = true;
    } catch (const CorruptInput&) {
      // Decoded again block by block below, for a message naming the block.
    }
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    const PendingBlock& p = pending[i];
    Bytes raw;
    if (batched && p.frame.codec == format::Codec::kNeural) {
      format::verify_neural_block(p.frame, raws[i], p.where);
      raw = std::move(raws[i]);
    } else {
      raw = format::decode_block(p.frame, p.payload, codec, p.where);
    }
    out.write(raw);
    done.raw_bytes += raw.size();
    if (progress) progress(done);
  }
  pending.clear();
}

}  // namespace

void decompress_stream(ByteSource& source, ByteSink& out, const CodecResolver& resolve,
                       const std::function<void(const ReadProgress&)>& progress,
                       uint64_t batch_bytes) {
  Input in(source);
  if (in.at_end()) throw CorruptInput("not an lmz archive (empty input)");
  ReadProgress done;
  uint32_t member_number = 0;
  do {
    uint64_t member_start = in.offset();
    std::string member_prefix =
        member_number == 0 ? ""
                           : fmt::format("member {} at offset {}, ", member_number, member_start);
    format::Header header = read_header(in);
    format::MemberCodec codec(header, resolve);
    std::vector<format::IndexEntry> index;
    uint64_t member_raw = 0;
    uint64_t frame_offset = header.size();
    std::vector<PendingBlock> pending;
    uint64_t pending_raw = 0;
    for (;;) {
      uint64_t at = in.offset();
      std::string where =
          fmt::format("{}block {} at archive offset {}", member_prefix, index.size(), at);
      uint8_t first[format::kEndMarkerSize];
      in.read_exact(first, where + " frame or end-of-blocks marker");
      if (first[0] == format::kEndOfBlocksTag) {
        uint32_t count = format::parse_end_marker(first, at);
        if (count != index.size()) {
          throw CorruptInput(
              fmt::format("{}end-of-blocks marker at offset {} counts {} blocks, "
                          "the member has {}",
                          member_prefix, at, count, index.size()));
        }
        break;
      }
      if (index.size() == format::kMaxBlocksPerMember) {
        throw CorruptInput(fmt::format("{}: more than {} blocks in one member", where,
                                       format::kMaxBlocksPerMember));
      }
      PendingBlock block = read_block(in, first, header, where);
      const FrameHeader& frame = block.frame;
      index.push_back(format::index_entry_for(frame, member_raw, frame_offset));
      member_raw += frame.raw_size;
      frame_offset += frame.frame_size();
      pending_raw += frame.raw_size;
      // The member's codec is resolved at its first neural block (it is
      // needed to decode it anyway), so that its preferred batch counts
      // from the first batch on.
      if (frame.codec == format::Codec::kNeural) codec.get();
      pending.push_back(std::move(block));
      if (pending_raw >= std::max(batch_bytes, codec.preferred_batch_bytes())) {
        done.archive_bytes = in.offset();
        release(pending, codec, out, done, progress);
        pending_raw = 0;
      }
    }
    done.archive_bytes = in.offset();
    release(pending, codec, out, done, progress);

    // The index and footer must be exactly what these frames imply.
    uint64_t index_at = in.offset();
    Bytes expected_index = format::encode_index(index, member_raw);
    Bytes index_bytes = in.read_growing(expected_index.size(), member_prefix + "index");
    if (index_bytes != expected_index) {
      throw CorruptInput(fmt::format(
          "{}index at offset {} does not match the block frames (first difference at offset {})",
          member_prefix, index_at, index_at + first_difference(index_bytes, expected_index)));
    }
    format::Footer footer;
    footer.index_offset = index_at - member_start;
    footer.member_size = footer.index_offset + expected_index.size() + format::kFooterSize;
    footer.raw_size = member_raw;
    footer.block_count = static_cast<uint32_t>(index.size());
    Bytes expected_footer = format::encode_footer(footer);
    uint64_t footer_at = in.offset();
    Bytes footer_bytes(format::kFooterSize);
    in.read_exact(footer_bytes, member_prefix + "footer");
    if (footer_bytes != expected_footer) {
      // Name a version the reader does not know, else the first bad byte.
      format::parse_footer(footer_bytes, footer_at);
      throw CorruptInput(fmt::format(
          "{}footer at offset {} does not match the member (first difference at offset {})",
          member_prefix, footer_at, footer_at + first_difference(footer_bytes, expected_footer)));
    }
    done.archive_bytes = in.offset();
    if (progress) progress(done);
    ++member_number;
  } while (!in.at_end());
}

Bytes decompress_buffer(ByteView archive, const CodecResolver& resolve) {
  MemorySource source(archive);
  MemorySink sink;
  decompress_stream(source, sink, resolve);
  return std::move(sink.data);
}

}  // namespace lmz
