// The range coder's arithmetic (spec/FORMAT.md, "Range coder"), written
// once for the CPU coder (range_coder.h) and the device-resident window
// codec (libcodec/engine/resident_*): the encoder and decoder states are
// plain structs and every step is an LMZ_HD function, so CPU tests check the
// integers the GPU computes.
//
// The encoder writes through a sink with put(byte) and trim_trailing_zeros()
// (the CPU sink appends to a vector, the device sink fills a bounded
// buffer); the decoder reads a window's coded bytes from a pointer and a
// size and reads zeros past the end. Nothing here throws or allocates:
// callers validate frequencies (the CPU coder throws UsageError first) and
// probabilities are in range by construction.
#pragma once

#include <cstddef>
#include <cstdint>

#include "libcodec/host_device.h"

namespace lmz::rc {

inline constexpr int kTotalBits = 16;                // every table sums to 2^16
inline constexpr uint64_t kTop = uint64_t{1} << 56;  // renormalise below this

// Distance from `low` up to the next multiple of 2^bits (0 if `low` is one),
// for bits in [0, 64].
LMZ_HD uint64_t distance_to_multiple(uint64_t low, int bits) {
  if (bits == 0) return 0;
  const uint64_t up = uint64_t{0} - low;  // 2^64 - low, modulo 2^64
  if (bits == 64) return up;
  return up & ((uint64_t{1} << bits) - 1);
}

struct EncoderState {
  uint64_t low = 0;               // low end of the interval, below the held bytes
  uint64_t range = ~uint64_t{0};  // width of the interval
  uint64_t pending_ff = 0;        // 0xFF bytes held back after cache
  uint32_t carry = 0;             // 1 when low overflowed since the last shift
  uint8_t has_cache = 0;          // whether cache holds a byte
  uint8_t cache = 0;              // held-back byte that a carry may still increment
};

LMZ_HD void add_low(EncoderState& s, uint64_t x) {
  const uint64_t sum = s.low + x;
  s.carry |= static_cast<uint32_t>(sum < s.low);
  s.low = sum;
}

// Emits the held-back bytes with the pending carry applied. A carry can
// never reach past the held bytes (the interval only shrinks), so
// cache + carry <= 0xFF and nothing already written changes.
template <class Sink>
LMZ_HD void flush_held(EncoderState& s, Sink& out) {
  if (s.has_cache) out.put(static_cast<uint8_t>(s.cache + s.carry));
  const uint8_t ff = static_cast<uint8_t>(0xFF + s.carry);  // 0xFF, or 0x00 after a carry
  for (; s.pending_ff > 0; --s.pending_ff) out.put(ff);
  s.carry = 0;
}

// Moves the top byte of low into the held-back bytes, emitting those that no
// later carry can change.
template <class Sink>
LMZ_HD void shift_low(EncoderState& s, Sink& out) {
  const uint8_t top = static_cast<uint8_t>(s.low >> 56);
  if (top != 0xFF || s.carry != 0) {
    flush_held(s, out);
    s.cache = top;
    s.has_cache = 1;
  } else {
    ++s.pending_ff;  // a later carry would turn it into 0x00 and increment cache
  }
  s.low <<= 8;
}

template <class Sink>
LMZ_HD void normalize(EncoderState& s, Sink& out) {
  while (s.range < kTop) {
    s.range <<= 8;
    shift_low(s, out);
  }
}

// Codes the symbol [cum, cum + freq) of 2^16. Requires freq >= 1 and
// cum + freq <= 2^16.
template <class Sink>
LMZ_HD void encode(EncoderState& s, Sink& out, uint32_t cum, uint32_t freq) {
  const uint64_t r = s.range >> kTotalBits;
  add_low(s, r * cum);
  s.range = r * freq;
  normalize(s, out);
}

// Codes a binary decision; p1 = P(bit == 1) in [1, 65535] units of 2^-16.
// Bit 1 takes the lower part of the range, bit 0 the upper part.
template <class Sink>
LMZ_HD void encode_bit(EncoderState& s, Sink& out, uint32_t p1, int bit) {
  const uint64_t bound = (s.range >> kTotalBits) * p1;
  if (bit) {
    s.range = bound;
  } else {
    add_low(s, bound);
    s.range -= bound;
  }
  normalize(s, out);
}

// Writes the final bytes: of the values in [low, low + range) the one with
// the most trailing zero bytes (the smallest if several), then drops every
// trailing zero byte of this window's output (the decoder reads zeros past
// the end). No coding call is allowed afterwards; coding nothing writes
// nothing.
template <class Sink>
LMZ_HD void finish(EncoderState& s, Sink& out) {
  for (int j = 8; j >= 0; --j) {
    const uint64_t d = distance_to_multiple(s.low, 8 * j);
    if (d < s.range) {
      add_low(s, d);
      break;
    }
  }
  for (int i = 0; i < 8; ++i) shift_low(s, out);
  flush_held(s, out);
  out.trim_trailing_zeros();
}

// A sink that fills a fixed buffer; writes past its capacity are dropped
// and set `overflow` (the coding is then unusable and must be redone with a
// larger buffer).
struct BoundedSink {
  uint8_t* data = nullptr;
  uint32_t size = 0;
  uint32_t capacity = 0;
  uint32_t overflow = 0;

  LMZ_HD void put(uint8_t b) {
    if (size < capacity) {
      data[size++] = b;
    } else {
      overflow = 1;
    }
  }
  LMZ_HD void trim_trailing_zeros() {
    if (overflow) return;
    while (size > 0 && data[size - 1] == 0) --size;
  }
};

// The decoder of one window's coded bytes `data[0, size)`.
struct DecoderState {
  uint64_t pos = 0;   // bytes shifted into code so far, including virtual zeros
  uint64_t code = 0;  // coded value minus the interval's low end
  uint64_t range = ~uint64_t{0};
  uint64_t r = 0;       // range >> 16, from the last get_freq()
  uint32_t failed = 0;  // the input has shown itself to be invalid
};

LMZ_HD uint8_t next_byte(DecoderState& s, const uint8_t* data, uint64_t size) {
  const uint8_t b = s.pos < size ? data[s.pos] : 0;
  ++s.pos;
  return b;
}

LMZ_HD void start_decoder(DecoderState& s, const uint8_t* data, uint64_t size) {
  s = DecoderState{};
  for (int i = 0; i < 8; ++i) s.code = (s.code << 8) | next_byte(s, data, size);
  if (s.code >= s.range) s.failed = 1;
}

LMZ_HD void normalize(DecoderState& s, const uint8_t* data, uint64_t size) {
  while (s.range < kTop) {
    s.range <<= 8;
    s.code = (s.code << 8) | next_byte(s, data, size);
  }
}

// First half of decoding a symbol: the target in [0, 2^16); on invalid input
// it is clamped into range and `failed` is set.
LMZ_HD uint32_t get_freq(DecoderState& s) {
  s.r = s.range >> kTotalBits;
  const uint64_t target = s.code / s.r;
  if (target >= (uint64_t{1} << kTotalBits)) {
    s.failed = 1;
    return (uint32_t{1} << kTotalBits) - 1;
  }
  return static_cast<uint32_t>(target);
}

// Second half: removes the symbol [cum, cum + freq) the target fell in. An
// impossible interval marks the stream failed and never makes the decoder
// loop or read out of bounds.
LMZ_HD void consume(DecoderState& s, const uint8_t* data, uint64_t size, uint32_t cum,
                    uint32_t freq) {
  constexpr uint32_t total = uint32_t{1} << kTotalBits;
  if (cum >= total || freq == 0 || freq > total - cum) {
    s.failed = 1;
    cum = 0;
    freq = 1;
  }
  s.code -= s.r * cum;
  s.range = s.r * freq;
  if (s.code >= s.range) s.failed = 1;  // target was not in [cum, cum + freq)
  normalize(s, data, size);
}

// Decodes a byte coded with the table cdf[0..256]. Never indexes outside the
// table; an invalid table marks the stream failed.
LMZ_HD uint8_t decode_symbol(DecoderState& s, const uint8_t* data, uint64_t size,
                             const uint32_t* cdf) {
  const uint32_t target = get_freq(s);
  uint32_t lo = 0;  // largest s in [0, 255] with cdf[s] <= target (binary search)
  uint32_t n = 256;
  while (n > 1) {
    const uint32_t half = n / 2;
    if (cdf[lo + half] <= target) lo += half;
    n -= half;
  }
  consume(s, data, size, cdf[lo], cdf[lo + 1] - cdf[lo]);
  return static_cast<uint8_t>(lo);
}

LMZ_HD int decode_bit(DecoderState& s, const uint8_t* data, uint64_t size, uint32_t p1) {
  const uint64_t bound = (s.range >> kTotalBits) * p1;
  int bit;
  if (s.code < bound) {
    s.range = bound;
    bit = 1;
  } else {
    s.code -= bound;
    s.range -= bound;
    bit = 0;
  }
  normalize(s, data, size);
  return bit;
}

// Call after the last symbol: true iff the input is exactly the coding
// finish() writes for the decoded symbols (no failure, no byte left unread,
// no trailing zero byte, and the value finish() picks in the final
// interval).
LMZ_HD bool finished_exactly(const DecoderState& s, const uint8_t* data, uint64_t size) {
  if (s.failed || s.code >= s.range) return false;
  if (size > s.pos) return false;                     // bytes left unread
  if (size > 0 && data[size - 1] == 0) return false;  // finish() trims trailing zeros
  const uint64_t trailing_zeros = s.pos - size;
  // The coded value's last nonzero byte lies beyond the 8 bytes in code's
  // window: the value is a multiple of 2^64, the only one in the interval
  // (range < 2^64), which is what finish() picks.
  if (trailing_zeros >= 8) return true;
  const int t = static_cast<int>(trailing_zeros);
  // The value is a multiple of 2^(8t) but not of 2^(8t+8). finish() would
  // have written it iff it is the smallest multiple of 2^(8t) in the final
  // interval and no multiple of 2^(8t+8) lies in it.
  if (t > 0 ? s.code >= (uint64_t{1} << (8 * t)) : s.code != 0) return false;
  uint64_t window = 0;  // the 8 bytes code was read from (virtual zeros included)
  for (uint64_t p = s.pos - 8; p < s.pos; ++p) window = (window << 8) | (p < size ? data[p] : 0);
  const uint64_t low = window - s.code;  // interval's low end, modulo 2^64
  return distance_to_multiple(low, 8 * t + 8) >= s.range;
}

}  // namespace lmz::rc
