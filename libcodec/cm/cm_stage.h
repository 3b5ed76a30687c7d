// The context-mixing coding stages (spec/MIXING.md): code each byte as eight
// binary decisions whose probabilities mix the predictor's CDF with the
// window's own adaptive context models and match model. The per-bit code is
// the host/device cores (stage_core.h); this is the CPU's CodingStage
// around them, which keeps the window's history and its arena.
#pragma once

#include <cstddef>
#include <memory>

#include "libcodec/cm/mix1_core.h"
#include "libcodec/cm/stage_core.h"
#include "libcodec/coding_stage.h"

namespace lmz {

// Stage ids of the context-mixing stages as recorded in an archive. Id 1 is
// the model of spec/MIXING.md, version 1; its definition is frozen: any
// change to what it computes needs a new id.
inline constexpr StageId kMixStageV1 = cm::kStageMix1;

// True for the ids make_cm_stage() accepts.
bool is_cm_stage(StageId id);

// Creates a fresh stage of kind `id` for one window that holds exactly
// `window_size` bytes (the tables are sized from it, so the encoder and the
// decoder must pass the same value: the window's raw size).
// Throws UsageError for an id that is not a context-mixing stage.
std::unique_ptr<CodingStage> make_cm_stage(StageId id, size_t window_size);

// Creates a stage-1 variant with an arbitrary configuration (ablation and
// tests; such a configuration has no stage id and must not be written to an
// archive).
std::unique_ptr<CodingStage> make_cm_stage(const cm::Mix1Config& config, size_t window_size);

// Bytes of state a stage of kind `id` holds for a window of `window_size`
// bytes (its arena and the history it reserves).
size_t cm_stage_memory_bytes(StageId id, size_t window_size);

}  // namespace lmz
