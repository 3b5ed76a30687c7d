// The bitwise context-mixing model of one window (spec/MIXING.md): predicts
// each bit of the window's bytes, most significant first, from the
// predictor's CDF, in-window context models and a match model, mixed by an
// integer logistic mixer and refined by adaptive probability maps.
//
// Integer arithmetic only; the encoder and the decoder drive identical
// instances with identical bits, so they make identical predictions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "libcodec/cm/apm.h"
#include "libcodec/cm/counter.h"
#include "libcodec/cm/mixer.h"
#include "libcodec/cm/tables.h"
#include "libcodec/types.h"

namespace lmz::cm {

// Which parts of the model are on. Each stage id (cm_stage.h) names one
// configuration; the ablation tool builds others.
struct CmConfig {
  bool prior = true;   // the predictor's CDF as a mixer input
  bool orders = true;  // order-0..6 context models
  bool word = true;    // word-prefix and word-bigram contexts
  bool column = true;  // line-structure contexts (byte above, column)
  bool match = true;   // the match model
  bool apm = true;     // the two APM stages after the mixer
  // log2 of the hashed-table size relative to the window: each hashed
  // context table has 2^(ceil_log2(window_size) + table_shift) counters,
  // clamped to [2^12, 2^22].
  int table_shift = 0;
  // Minimum match length the match model looks up.
  int match_min = 6;
};

class CmModel {
 public:
  // `window_size` is the number of bytes the window holds (sizes the tables).
  CmModel(const CmConfig& config, size_t window_size);

  // Sets the predictor's CDF for the next byte; call before its first bit.
  void set_prior(const Cdf& prior) { prior_ = &prior; }

  // Probability that the next bit is a 1, in 1/65536 units, in [16, 65520].
  int p16() { return predict() << 4; }

  // Learns the coded bit (must follow p16()).
  void update(int bit);

  // Bytes of adaptive state this model holds.
  size_t memory_bytes() const;

 private:
  static constexpr int kMaxInputs = 20;

  int predict();
  void end_byte(uint8_t byte);
  void compute_contexts();
  void update_match();
  int prior_input() const;

  const Tables& t_;
  CmConfig config_;
  const Cdf* prior_ = nullptr;

  // Byte history of the window.
  std::vector<uint8_t> buf_;
  uint32_t c0_ = 1;  // 1 followed by the bits of the current byte so far
  int bit_ = 0;      // index of the next bit in its byte, 0 = most significant

  // Order-0 counters (by c0) and hashed context tables.
  std::array<uint32_t, 256> order0_{};
  std::vector<CounterTable> tables_;
  std::vector<uint32_t> contexts_;  // one byte-context hash per table
  std::vector<uint32_t*> slots_;    // counters used for the current bit

  // Word and line state.
  uint32_t word_ = 0;
  uint32_t word1_ = 0;
  size_t line_start_ = 0;
  size_t prev_line_start_ = 0;

  // Match model.
  std::vector<uint32_t> match_table_;
  int match_bits_ = 0;
  size_t match_ptr_ = 0;     // index in buf_ of the predicted byte
  int match_len_ = 0;        // 0: no match
  bool match_live_ = false;  // the current byte still agrees with the prediction
  int match_bit_ = 0;        // expected bit
  std::array<uint32_t, 64> match_counters_{};
  uint32_t* match_slot_ = nullptr;

  // Mixing.
  std::array<int, kMaxInputs> x_{};
  size_t n_inputs_ = 0;
  std::unique_ptr<Mixer> mixer_;
  std::unique_ptr<Mixer> mixer2_;
  std::unique_ptr<Mixer> final_;
  std::array<int, 3> y_{};
  std::unique_ptr<Apm> apm0_;
  std::unique_ptr<Apm> apm1_;
  int apm1_bits_ = 0;
  int p_mix_ = 2048;
};

}  // namespace lmz::cm
