// The direct coding stage (stage id 0): codes each byte with the
// predictor's CDF exactly as given, no in-window adaptation on top.
#pragma once

#include <memory>

#include "libcodec/coding_stage.h"

namespace lmz {

// A fresh direct stage (it has no state, so any number of windows could
// share one; make_coding_stage still makes one per window for uniformity).
std::unique_ptr<CodingStage> make_direct_stage();

}  // namespace lmz
