// Decoding of one block's payload, shared by the streaming and the
// random-access readers. The caller has read and checked the frame header;
// these functions check what the decoded bytes must be.
#pragma once

#include <cstddef>
#include <string>

#include "format/archive_reader.h"
#include "format/layout.h"
#include "libcodec/window_codec.h"

namespace lmz::format {

// The codec of one member, resolved on first use (archives without neural
// blocks decode without their model).
class MemberCodec {
 public:
  MemberCodec(const Header& header, const CodecResolver& resolve)
      : header_(header), resolve_(resolve) {}

  // Throws ModelMismatch when the resolver finds no model, or gives a codec
  // whose model hash or stage is not the header's.
  WindowCodec& get();

  // The resolved codec's preferred batch (WindowCodec::preferred_batch_bytes),
  // 0 before the first neural block resolved it.
  uint64_t preferred_batch_bytes() const {
    return codec_ != nullptr ? codec_->preferred_batch_bytes() : 0;
  }

 private:
  Header header_;
  const CodecResolver& resolve_;
  WindowCodec* codec_ = nullptr;
};

// Decodes windows [first, first + count) of neural block `frame`. `coded`
// holds exactly those windows' coded bytes back to back, `out` receives
// their raw bytes (its size is the sum of their raw lengths). Verifies each
// window's raw check. Throws CorruptInput whose message starts with `where`.
void decode_windows(WindowCodec& codec, const FrameHeader& frame, size_t first, size_t count,
                    ByteView coded, MutableByteView out, const std::string& where);

// Checks the raw bytes a neural block's windows decoded to: each window's
// raw check, then the block's raw check.
void verify_neural_block(const FrameHeader& frame, ByteView raw, const std::string& where);

// Decodes a whole block whose payload already matched its payload check,
// and verifies the block's raw check.
Bytes decode_block(const FrameHeader& frame, ByteView payload, MemberCodec& codec,
                   const std::string& where);

}  // namespace lmz::format
