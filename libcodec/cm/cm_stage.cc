#include "libcodec/cm/cm_stage.h"

#include <string>

#include "libcodec/errors.h"
#include "libcodec/range_coder.h"

namespace lmz {
namespace {

class CmStage final : public CodingStage {
 public:
  CmStage(const cm::CmConfig& config, size_t window_size) : model_(config, window_size) {}

  void encode(const Cdf& prior, uint8_t byte, RangeEncoder& encoder) override {
    model_.set_prior(prior);
    for (int k = 7; k >= 0; --k) {
      const int bit = (byte >> k) & 1;
      encoder.encode_bit(static_cast<uint32_t>(model_.p16()), bit);
      model_.update(bit);
    }
  }

  uint8_t decode(const Cdf& prior, RangeDecoder& decoder) override {
    model_.set_prior(prior);
    uint32_t c = 0;
    for (int k = 0; k < 8; ++k) {
      const int bit = decoder.decode_bit(static_cast<uint32_t>(model_.p16()));
      model_.update(bit);
      c = (c << 1) | static_cast<uint32_t>(bit);
    }
    return static_cast<uint8_t>(c);
  }

  size_t memory_bytes() const { return model_.memory_bytes(); }

 private:
  cm::CmModel model_;
};

cm::CmConfig config_for(StageId id) {
  if (id == kMixStageV1) return cm::CmConfig{};
  throw UsageError("unknown context-mixing stage id " + std::to_string(id) +
                   " (this lmz knows stage " + std::to_string(kMixStageV1) + ")");
}

}  // namespace

bool is_cm_stage(StageId id) {
  return id == kMixStageV1;
}

std::unique_ptr<CodingStage> make_cm_stage(StageId id, size_t window_size) {
  return std::make_unique<CmStage>(config_for(id), window_size);
}

std::unique_ptr<CodingStage> make_cm_stage(const cm::CmConfig& config, size_t window_size) {
  return std::make_unique<CmStage>(config, window_size);
}

size_t cm_stage_memory_bytes(StageId id, size_t window_size) {
  return CmStage(config_for(id), window_size).memory_bytes();
}

}  // namespace lmz
