// The range coder: arithmetic coding over integer frequency tables with a
// fixed total of kCdfTotal (2^16), and over binary decisions whose
// probability is given in 16-bit fixed point.
//
// Design (spec/FORMAT.md, "Range coder", describes the bytes it writes):
// - 64-bit range and low registers. After every coded symbol the range is
//   renormalised to [2^56, 2^64), so `range >> 16` keeps at least 40 bits and
//   the probability actually coded differs from the one asked for by less
//   than 2^-40 relative: the coded length is within a hair of the ideal
//   sum of -log2 p even for very skewed tables or binary decisions.
// - Carries are handled as in LZMA: the byte at the top of `low` is held
//   back (the "cache", followed by a run of 0xFF bytes) until no later carry
//   can reach it.
// - Bytes come out most significant first. The coded value is the output
//   followed by infinitely many zero bytes, so the decoder reads zeros past
//   the end of its input and finish() drops every trailing zero byte.
// - finish() writes the shortest output: of all the values in the final
//   interval it picks the one with the most trailing zero bytes (the smallest
//   such). That choice is unique, so every symbol sequence has exactly one
//   coding, and RangeDecoder::finished_exactly() accepts exactly that coding:
//   any other byte string (garbage, a flipped bit, extra or missing bytes)
//   is either rejected or is itself the exact coding of what it decodes to.
//
// Both sides must call the same coding functions with the same arguments in
// the same order (encode/get_freq+consume, encode_bit/decode_bit).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "libcodec/range_coder_core.h"
#include "libcodec/types.h"

namespace lmz {

// True when `cdf` is a valid table: cdf[0] == 0, cdf[256] == kCdfTotal and
// every symbol has frequency >= 1.
bool is_valid_cdf(const Cdf& cdf);

class RangeEncoder {
 public:
  // Appends the coded bytes to `out` (which must outlive the encoder).
  // Bytes already in `out` are left alone.
  explicit RangeEncoder(Bytes& out) : sink_{out, out.size()} {}
  RangeEncoder(const RangeEncoder&) = delete;
  RangeEncoder& operator=(const RangeEncoder&) = delete;

  // Codes a symbol occupying [cum, cum + freq) of the total kCdfTotal.
  // Requires freq >= 1 and cum + freq <= kCdfTotal (throws UsageError
  // otherwise, rather than writing a stream that cannot be decoded).
  void encode(uint32_t cum, uint32_t freq) {
    if (cum >= kCdfTotal || freq == 0 || freq > kCdfTotal - cum) invalid_frequency(cum, freq);
    rc::encode(state_, sink_, cum, freq);
  }

  // Codes byte `symbol` with the frequency table `cdf`.
  void encode_symbol(const Cdf& cdf, uint8_t symbol) {
    assert(is_valid_cdf(cdf));
    encode(cdf[symbol], cdf[symbol + 1] - cdf[symbol]);
  }

  // Codes one binary decision. `p1` is the probability that bit == 1 in
  // units of 2^-16 and must be in [1, 65535] (checked only by assert: the
  // caller's probabilities are clamped by construction). Exact: the
  // decision splits the range at (range >> 16) * p1; bit 1 takes the lower
  // part, bit 0 the upper part.
  void encode_bit(uint32_t p1, int bit) {
    assert(p1 >= 1 && p1 < kCdfTotal);
    rc::encode_bit(state_, sink_, p1, bit);
  }

  // Writes the final bytes (the shortest output that decodes correctly, see
  // above). No coding call is allowed afterwards. Coding nothing at all
  // writes nothing.
  void finish() {
    assert(!finished_);
    finished_ = true;
    rc::finish(state_, sink_);
  }

  // Bytes appended to `out` so far (complete after finish()).
  size_t bytes_written() const { return sink_.out.size() - sink_.start; }

 private:
  // Appends to the caller's buffer; trims only bytes this encoder wrote.
  struct VectorSink {
    Bytes& out;
    size_t start;
    void put(uint8_t b) { out.push_back(b); }
    void trim_trailing_zeros() {
      while (out.size() > start && out.back() == 0) out.pop_back();
    }
  };
  [[noreturn]] static void invalid_frequency(uint32_t cum, uint32_t freq);

  VectorSink sink_;
  rc::EncoderState state_;
  bool finished_ = false;
};

class RangeDecoder {
 public:
  // Decodes `bytes` (which must outlive the decoder). Reads only inside
  // `bytes`; positions past the end read as zero.
  explicit RangeDecoder(ByteView bytes) : data_(bytes.data()), size_(bytes.size()) {
    rc::start_decoder(state_, data_, size_);
  }
  RangeDecoder(const RangeDecoder&) = delete;
  RangeDecoder& operator=(const RangeDecoder&) = delete;

  // First half of decoding a symbol: returns the target in [0, kCdfTotal);
  // the caller finds the symbol with cum <= target < cum + freq and calls
  // consume(cum, freq). On invalid input the target is clamped into range
  // and failed() becomes true.
  uint32_t get_freq() { return rc::get_freq(state_); }

  // Second half: removes the symbol [cum, cum + freq) that get_freq()'s
  // target fell in. An impossible (cum, freq) marks the stream failed and
  // never makes the decoder loop or read out of bounds.
  void consume(uint32_t cum, uint32_t freq) { rc::consume(state_, data_, size_, cum, freq); }

  // Decodes a byte coded with RangeEncoder::encode_symbol(cdf, ...). Never
  // indexes outside `cdf`; an invalid table marks the stream failed (the
  // decoder is robust to it, so the caller may validate tables or not).
  uint8_t decode_symbol(const Cdf& cdf) {
    return rc::decode_symbol(state_, data_, size_, cdf.data());
  }

  // Decodes one binary decision coded by RangeEncoder::encode_bit(p1, ...).
  int decode_bit(uint32_t p1) {
    assert(p1 >= 1 && p1 < kCdfTotal);
    return rc::decode_bit(state_, data_, size_, p1);
  }

  // True once the input has shown itself to be invalid. Decoding may go on
  // (it stays in bounds and terminates) but the result is meaningless.
  bool failed() const { return state_.failed != 0; }

  // Call after the last symbol. True iff the input is exactly the coding
  // RangeEncoder::finish() would have written for the decoded symbols: no
  // failure, no bytes left unread, no trailing zero byte, and the coded value
  // is the one finish() picks in the final interval.
  bool finished_exactly() const { return rc::finished_exactly(state_, data_, size_); }

 private:
  const uint8_t* data_;
  size_t size_;
  rc::DecoderState state_;
};

}  // namespace lmz
