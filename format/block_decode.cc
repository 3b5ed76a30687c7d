#include "format/block_decode.h"

#include <fmt/format.h>

#include <vector>

#include "libcodec/errors.h"
#include "libcodec/hash.h"
#include "libcodec/window_codec.h"
#include "libcodec/zstd_codec.h"

namespace lmz::format {

WindowCodec& MemberCodec::get() {
  if (codec_ != nullptr) return *codec_;
  WindowCodec& codec = resolve_(header_.model_hash, header_.model_name, header_.stage);
  if (codec.model().hash != header_.model_hash || codec.stage() != header_.stage) {
    throw ModelMismatch(fmt::format(
        "the archive needs model '{}' ({}) with stage {}, but the codec found is model '{}' ({}) "
        "with stage {}",
        header_.model_name, header_.model_hash.hex(), header_.stage, codec.model().name,
        codec.model().hash.hex(), codec.stage()));
  }
  codec_ = &codec;
  return codec;
}

void decode_windows(WindowCodec& codec, const FrameHeader& frame, size_t first, size_t count,
                    ByteView coded, MutableByteView out, const std::string& where) {
  std::vector<EncodedWindowView> in(count);
  std::vector<MutableByteView> outs(count);
  size_t coded_pos = 0;
  size_t raw_pos = 0;
  for (size_t k = 0; k < count; ++k) {
    const WindowEntry& w = frame.windows[first + k];
    if (coded_pos + w.coded_len > coded.size() || raw_pos + w.raw_len > out.size()) {
      throw std::logic_error("decode_windows: buffers do not match the window table");
    }
    in[k] = EncodedWindowView{coded.subspan(coded_pos, w.coded_len), w.raw_len};
    outs[k] = out.subspan(raw_pos, w.raw_len);
    coded_pos += w.coded_len;
    raw_pos += w.raw_len;
  }
  try {
    codec.decode(in, outs);
  } catch (const CorruptInput& e) {
    throw CorruptInput(fmt::format("{}: {}", where, e.what()));
  }
  for (size_t k = 0; k < count; ++k) {
    if (xxh3_32(outs[k]) != frame.windows[first + k].raw_check) {
      throw CorruptInput(
          fmt::format("{}: window {}: raw checksum mismatch (the model decoded different bytes "
                      "than it encoded)",
                      where, first + k));
    }
  }
}

void verify_neural_block(const FrameHeader& frame, ByteView raw, const std::string& where) {
  size_t pos = 0;
  for (size_t i = 0; i < frame.windows.size(); ++i) {
    const WindowEntry& w = frame.windows[i];
    if (xxh3_32(raw.subspan(pos, w.raw_len)) != w.raw_check) {
      throw CorruptInput(
          fmt::format("{}: window {}: raw checksum mismatch (the model decoded different bytes "
                      "than it encoded)",
                      where, i));
    }
    pos += w.raw_len;
  }
  if (xxh3_64(raw) != frame.raw_check) {
    throw CorruptInput(fmt::format("{}: raw checksum mismatch", where));
  }
}

Bytes decode_block(const FrameHeader& frame, ByteView payload, MemberCodec& codec,
                   const std::string& where) {
  Bytes raw;
  switch (frame.codec) {
    case Codec::kStored:
      raw.assign(payload.begin(), payload.end());
      break;
    case Codec::kZstd:
      try {
        raw = zstd::decompress(payload, frame.raw_size);
      } catch (const CorruptInput& e) {
        throw CorruptInput(fmt::format("{}: {}", where, e.what()));
      }
      break;
    case Codec::kNeural: {
      WindowCodec& c = codec.get();
      raw.resize(frame.raw_size);
      decode_windows(c, frame, 0, frame.windows.size(), payload, raw, where);
      break;
    }
  }
  if (xxh3_64(raw) != frame.raw_check) {
    throw CorruptInput(fmt::format("{}: raw checksum mismatch", where));
  }
  return raw;
}

}  // namespace lmz::format
