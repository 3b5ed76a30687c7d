// The one place that maps stage ids (spec/FORMAT.md) to implementations.
// Add a case per stage; keep this a plain switch.

#include "libcodec/coding_stage.h"

#include <fmt/format.h>

#include "libcodec/cm/cm_stage.h"
#include "libcodec/direct_stage.h"
#include "libcodec/errors.h"

namespace lmz {

StageId default_stage() {
  return kMixStageV1;
}

std::unique_ptr<CodingStage> make_coding_stage(StageId id, size_t window_size) {
  switch (id) {
    case kDirectStage:
      return make_direct_stage();
    case kMixStageV1:
      return make_cm_stage(id, window_size);
    default:
      break;
  }
  throw UsageError(fmt::format(
      "unknown coding stage id {} (this lmz knows {} = direct, {} = context mixing v1); "
      "the archive may need a newer lmz",
      id, kDirectStage, kMixStageV1));
}

}  // namespace lmz
