// Fuzz entry of the range decoder (libcodec/range_coder.h) and of the window
// codec that drives it. Besides staying in bounds, the decoder promises that
// every symbol sequence has exactly one coding and that finished_exactly()
// accepts exactly that coding: this entry checks both directions by
// re-encoding what was decoded.
#include <algorithm>
#include <span>
#include <vector>

#include "libcodec/cm/cm_stage.h"
#include "libcodec/errors.h"
#include "libcodec/range_coder.h"
#include "libcodec/window_codec.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace lmz::fuzz {
namespace {

// A valid table from 32 input bytes (fuzz_support.h).
Cdf table_from(const uint8_t*& data, size_t& size) {
  uint8_t weights[32];
  for (auto& w : weights) w = take_u8(data, size);
  return table_from_weights(weights);
}

// Any 257 values: decode_symbol must stay in bounds even with these.
Cdf arbitrary_table(const uint8_t*& data, size_t& size) {
  Cdf cdf{};
  for (auto& c : cdf) c = take_u8(data, size) * 257u;
  return cdf;
}

struct Step {
  bool is_bit;
  uint32_t p1;    // bits
  uint8_t value;  // the decoded symbol or bit
};

void coder_roundtrip(const uint8_t* data, size_t size, uint8_t mode) {
  const bool valid_table = (mode & 2) == 0;
  const Cdf cdf = valid_table ? table_from(data, size) : arbitrary_table(data, size);
  const size_t steps = take_u8(data, size) * 4u;
  const uint32_t bits_mask = take_u32(data, size);   // which steps are binary decisions
  const uint32_t p_seed = take_u32(data, size) | 1;  // spreads the bit probabilities
  const ByteView coded(data, size);

  RangeDecoder decoder(coded);
  std::vector<Step> done;
  for (size_t i = 0; i < steps; ++i) {
    Step s{};
    s.is_bit = (bits_mask >> (i % 32)) & 1;
    if (s.is_bit) {
      s.p1 = 1 + static_cast<uint32_t>((uint64_t{p_seed} * (i + 1) * 2654435761u) % 65535);
      s.value = static_cast<uint8_t>(decoder.decode_bit(s.p1));
    } else {
      s.value = decoder.decode_symbol(cdf);
    }
    done.push_back(s);
  }
  if (!valid_table) return;  // only bounds and termination are promised

  Bytes again;
  RangeEncoder encoder(again);
  for (const Step& s : done) {
    if (s.is_bit) {
      encoder.encode_bit(s.p1, s.value);
    } else {
      encoder.encode_symbol(cdf, s.value);
    }
  }
  encoder.finish();
  const bool same = std::equal(again.begin(), again.end(), coded.begin(), coded.end());
  require(decoder.finished_exactly() == same,
          decoder.finished_exactly()
              ? "range coder: accepted bytes that are not the coding of what they decode to"
              : "range coder: refused the exact coding of what it decoded");
}

// The coded bytes as one window of the stand-in codec: a window that
// decodes must be the exact coding of its bytes.
void window_roundtrip(const uint8_t* data, size_t size, uint8_t mode) {
  const StageId stage = (mode & 2) ? kMixStageV1 : kDirectStage;
  // Up to 511 bytes: a window of garbage decodes to its full raw size before
  // its end is found invalid, and longer windows only slow the fuzzer.
  const size_t high = take_u8(data, size);  // separate statements: a fixed order
  const size_t raw_size = high * 2 + take_u8(data, size) % 2;
  WindowCodec& codec = order2_codec(stage);
  const ByteView coded(data, size);
  Bytes raw(raw_size);
  const EncodedWindowView window{coded, raw_size};
  const MutableByteView out(raw);
  try {
    codec.decode(std::span(&window, 1), std::span(&out, 1));
  } catch (const CorruptInput&) {
    return;
  }
  const ByteView raw_view(raw);
  const std::vector<Bytes> again = codec.encode(std::span(&raw_view, 1));
  require(
      again.size() == 1 && std::equal(again[0].begin(), again[0].end(), coded.begin(), coded.end()),
      "window codec: accepted bytes that are not the coding of what they decode to");
}

}  // namespace

void range_decoder(const uint8_t* data, size_t size) {
  const uint8_t mode = take_u8(data, size);
  if (mode & 1) {
    window_roundtrip(data, size, mode);
  } else {
    coder_roundtrip(data, size, mode);
  }
}

}  // namespace lmz::fuzz
