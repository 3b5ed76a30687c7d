// The stand-in predictor: an adaptive order-2 context model over integer
// counts. Small and exact; used by tests and fuzzers, and as the model of
// last resort when no neural model is installed.
#pragma once

#include <memory>

#include "libcodec/predictor.h"

namespace lmz {

// Name under which the stand-in is known (--model order2).
inline constexpr const char* kOrder2ModelName = "order2";

// Creates the stand-in model. Its hash is fixed by its definition (see
// spec/MODEL.md, "The stand-in model"), so archives made with it stay
// decodable by every lmz that ships it.
std::unique_ptr<Predictor> make_order2_model();

}  // namespace lmz
