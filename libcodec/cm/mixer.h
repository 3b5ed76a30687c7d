// The integer logistic mixer (spec/MIXING.md, "Mixers"): combines inputs in
// the stretch domain with weights chosen by a small context and learned
// online by gradient descent on coding cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "libcodec/cm/tables.h"

namespace lmz::cm {

class Mixer {
 public:
  // `inputs` inputs, `sets` weight sets; every set starts as `init`
  // (one weight per input, 65536 = 1.0). `rate` scales the learning step.
  Mixer(size_t inputs, size_t sets, const std::vector<int32_t>& init, int rate)
      : inputs_(inputs), rate_(rate), weights_(inputs * sets) {
    for (size_t s = 0; s < sets; ++s) {
      for (size_t i = 0; i < inputs; ++i) weights_[s * inputs + i] = init[i];
    }
  }

  // Mixes x[0..inputs) with weight set `set`; returns the output in the
  // stretch domain (clamped to +-2047) and remembers it for update().
  int mix(const int* x, size_t set) {
    const int32_t* w = &weights_[set * inputs_];
    int64_t dot = 0;
    for (size_t i = 0; i < inputs_; ++i) dot += static_cast<int64_t>(x[i]) * w[i];
    int d = static_cast<int>(dot >> 16);
    if (d > kStretchMax) d = kStretchMax;
    if (d < -kStretchMax) d = -kStretchMax;
    set_ = set;
    out_ = d;
    return d;
  }

  int last() const { return out_; }
  void set_rate(int rate) { rate_ = rate; }

  // Learns from the coded bit: err = (bit << 12) - squash(out), and
  // w[i] += (x[i] * err * rate + 2^13) >> 14, saturated to +-2^24.
  void update(const int* x, int bit, const Tables& t) {
    const int err = (bit << kProbBits) - t.squash(out_);
    if (err == 0) return;
    int32_t* w = &weights_[set_ * inputs_];
    const int64_t scaled = static_cast<int64_t>(err) * rate_;
    for (size_t i = 0; i < inputs_; ++i) {
      int64_t v = w[i] + ((x[i] * scaled + (1 << 13)) >> 14);
      if (v > (1 << 24)) v = 1 << 24;
      if (v < -(1 << 24)) v = -(1 << 24);
      w[i] = static_cast<int32_t>(v);
    }
  }

  size_t memory_bytes() const { return weights_.size() * sizeof(int32_t); }

 private:
  size_t inputs_;
  int rate_;
  std::vector<int32_t> weights_;
  size_t set_ = 0;
  int out_ = 0;
};

}  // namespace lmz::cm
