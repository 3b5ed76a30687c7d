#include "libcodec/range_coder.h"

#include <fmt/format.h>

#include "libcodec/errors.h"

namespace lmz {

namespace {

// Distance from `low` up to the next multiple of 2^bits (0 if `low` is one),
// for bits in [0, 64].
uint64_t distance_to_multiple(uint64_t low, int bits) {
  if (bits == 0) return 0;
  const uint64_t up = uint64_t{0} - low;  // 2^64 - low, modulo 2^64
  if (bits == 64) return up;
  return up & ((uint64_t{1} << bits) - 1);
}

}  // namespace

bool is_valid_cdf(const Cdf& cdf) {
  if (cdf[0] != 0 || cdf[256] != kCdfTotal) return false;
  for (size_t s = 0; s < 256; ++s) {
    if (cdf[s + 1] <= cdf[s]) return false;
  }
  return true;
}

void RangeEncoder::invalid_frequency(uint32_t cum, uint32_t freq) {
  throw UsageError(fmt::format(
      "range coder: invalid symbol interval [{}, {}+{}) (need freq >= 1 and cum + freq <= {})", cum,
      cum, freq, kCdfTotal));
}

void RangeEncoder::flush_held() {
  // A carry can never reach past the held bytes (the interval only
  // shrinks), so cache_ + carry_ <= 0xFF and nothing already written changes.
  if (has_cache_) {
    out_.push_back(static_cast<uint8_t>(cache_ + carry_));
  } else {
    assert(carry_ == 0);
  }
  const uint8_t ff = static_cast<uint8_t>(0xFF + carry_);  // 0xFF, or 0x00 after a carry
  for (; pending_ff_ > 0; --pending_ff_) out_.push_back(ff);
  carry_ = 0;
}

void RangeEncoder::shift_low() {
  const uint8_t top = static_cast<uint8_t>(low_ >> 56);
  if (top != 0xFF || carry_ != 0) {
    // No later carry can reach the held bytes (or one already has): emit them.
    flush_held();
    cache_ = top;
    has_cache_ = true;
  } else {
    // A later carry would turn this 0xFF into 0x00 and increment cache_.
    ++pending_ff_;
  }
  low_ <<= 8;
}

void RangeEncoder::finish() {
  assert(!finished_);
  finished_ = true;
  // Pick the value in [low, low + range) with the most trailing zero bytes
  // (the smallest one if several): round low up to a multiple of 2^(8j) for
  // the largest j whose rounding stays inside the interval. j == 0 always
  // works. The decoder's finished_exactly() checks this same choice.
  for (int j = 8; j >= 0; --j) {
    const uint64_t d = distance_to_multiple(low_, 8 * j);
    if (d < range_) {
      add_low(d);
      break;
    }
  }
  for (int i = 0; i < 8; ++i) shift_low();
  flush_held();
  // The decoder reads zeros past the end, so trailing zero bytes carry no
  // information. Only bytes this encoder wrote are trimmed.
  while (out_.size() > start_ && out_.back() == 0) out_.pop_back();
}

RangeDecoder::RangeDecoder(ByteView bytes) : data_(bytes.data()), size_(bytes.size()) {
  for (int i = 0; i < 8; ++i) code_ = (code_ << 8) | next_byte();
  if (code_ >= range_) failed_ = true;
}

bool RangeDecoder::finished_exactly() const {
  if (failed_ || code_ >= range_) return false;
  if (size_ > pos_) return false;                        // bytes left unread
  if (size_ > 0 && data_[size_ - 1] == 0) return false;  // finish() trims trailing zeros
  const uint64_t trailing_zeros = pos_ - size_;
  // The coded value's last nonzero byte lies beyond the 8 bytes in code_'s
  // window: the value is a multiple of 2^64, the only one in the interval
  // (range < 2^64), which is what finish() picks.
  if (trailing_zeros >= 8) return true;
  const int t = static_cast<int>(trailing_zeros);
  // The value is a multiple of 2^(8t) but not of 2^(8t+8). finish() would
  // have written it iff it is the smallest multiple of 2^(8t) in the final
  // interval and no multiple of 2^(8t+8) lies in it.
  if (t > 0 ? code_ >= (uint64_t{1} << (8 * t)) : code_ != 0) return false;
  uint64_t window = 0;  // the 8 bytes code_ was read from (virtual zeros included)
  for (uint64_t p = pos_ - 8; p < pos_; ++p) window = (window << 8) | (p < size_ ? data_[p] : 0);
  const uint64_t low = window - code_;  // interval's low end, modulo 2^64
  return distance_to_multiple(low, 8 * t + 8) >= range_;
}

}  // namespace lmz
