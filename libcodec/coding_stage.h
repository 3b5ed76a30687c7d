// The per-window stage between a predictor's CDF and the range coder.
//
// The direct stage codes each byte with the predictor's CDF as it is. The
// context-mixing stage (libcodec/cm, spec/MIXING.md) mixes the predictor's
// CDF with in-window adaptive models before coding. A stage object holds one
// window's adaptive state: it is created fresh for every window, so windows
// stay independent. Everything in a stage is integer arithmetic: the encoder
// and the decoder must make identical decisions on every machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "libcodec/types.h"

namespace lmz {

class RangeEncoder;
class RangeDecoder;

class CodingStage {
 public:
  virtual ~CodingStage() = default;

  // Codes `byte`, the window's next byte, whose model prediction is `prior`.
  virtual void encode(const Cdf& prior, uint8_t byte, RangeEncoder& encoder) = 0;

  // Decodes the window's next byte, whose model prediction is `prior`.
  // Throws CorruptInput when the coded bytes cannot be valid.
  virtual uint8_t decode(const Cdf& prior, RangeDecoder& decoder) = 0;
};

// Identifies a stage configuration as recorded in an archive (spec/FORMAT.md,
// "stage id"). 0 is the direct stage; other values are defined in
// spec/MIXING.md. An archive whose stage id a reader does not know is refused.
using StageId = uint16_t;
inline constexpr StageId kDirectStage = 0;

// The stage compression uses unless told otherwise, the same for the CLI and
// the daemon: context mixing (spec/MIXING.md), which is what makes logs and
// other repetitive text small.
StageId default_stage();

// Creates a fresh stage for one window of `window_size` raw bytes (a stage
// may size its tables from it, so the encoder and the decoder must pass the
// same value: the window's raw size). Throws UsageError for an unknown id.
std::unique_ptr<CodingStage> make_coding_stage(StageId id, size_t window_size = 0);

}  // namespace lmz
