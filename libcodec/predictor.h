// The predictor interface: a model that gives, for a batch of independent
// windows advanced in lockstep, the integer CDF of each window's next byte.
//
// The neural engine (libcodec/engine) and the stand-in order-2 model
// (order2_model.h) implement it. The window coder (window_codec.h) drives it.
//
// Exactness contract (DESIGN.md): the CDF a window gets depends only on the
// model and on that window's own earlier bytes; never on the batch size, on
// which other windows share the batch, on padding, on thread count or on the
// device. Tests hold every implementation to this.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "libcodec/coding_stage.h"
#include "libcodec/types.h"
#include "libcodec/window_codec.h"

namespace lmz {

// The state of `size()` independent windows. Every window starts in the
// model's initial state (no bytes seen). Windows are addressed by their slot
// index in [0, size()).
class PredictorBatch {
 public:
  virtual ~PredictorBatch() = default;

  virtual size_t size() const = 0;

  // Writes the CDF of the next byte of window slots[k] into out[k].
  // Requires out.size() == slots.size(); slots distinct and < size().
  // Does not change any state: calling it twice gives the same answer.
  virtual void predict(std::span<const uint32_t> slots, std::span<Cdf> out) = 0;

  // Appends bytes[k] to the history of window slots[k].
  // Requires bytes.size() == slots.size(); slots distinct and < size().
  virtual void observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) = 0;

  // Teacher forcing, for encoding, where every byte is known in advance:
  // `steps` rounds of predict() then observe() for windows slots[k], in one
  // call. Round t writes window slots[k]'s CDF to out[t * slots.size() + k]
  // and then appends bytes[t * slots.size() + k] to its history. Requires
  // bytes.size() == out.size() == steps * slots.size(). The results are
  // exactly those of the alternating calls (which is what this default
  // does); an implementation on a GPU overrides it to run all the rounds
  // on the device and transfer once, instead of once per byte.
  virtual void predict_and_observe(std::span<const uint32_t> slots, size_t steps,
                                   std::span<const uint8_t> bytes, std::span<Cdf> out) {
    const size_t n = slots.size();
    for (size_t t = 0; t < steps; ++t) {
      predict(slots, out.subspan(t * n, n));
      observe(slots, bytes.subspan(t * n, n));
    }
  }
};

// A loaded model. Thread-safe: several threads may each own a batch.
class Predictor {
 public:
  virtual ~Predictor() = default;

  // Name and content hash; the hash is what an archive records.
  virtual const ModelId& id() const = 0;

  // Creates `windows` fresh windows.
  virtual std::unique_ptr<PredictorBatch> start_batch(size_t windows) = 0;

  // How many windows one batch should hold for good throughput on this
  // model's device (e.g. a few thousand on a GPU, a few on a CPU).
  virtual size_t preferred_batch_size() const = 0;

  // A window codec that runs the whole per-byte loop (model step, coding
  // stage, range coder) on this model's device, with the same coded bytes
  // as make_local_window_codec's loop over this predictor's batches; null
  // when the predictor has none for `stage` (the default). The codec keeps
  // a reference to the predictor, which must outlive it.
  virtual std::unique_ptr<WindowCodec> make_resident_codec(StageId /*stage*/) { return nullptr; }
};

}  // namespace lmz
