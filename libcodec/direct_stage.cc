#include "libcodec/direct_stage.h"

#include "libcodec/range_coder.h"

namespace lmz {

namespace {

class DirectStage : public CodingStage {
 public:
  void encode(const Cdf& prior, uint8_t byte, RangeEncoder& encoder) override {
    encoder.encode_symbol(prior, byte);
  }

  // Invalid input shows in decoder.failed() and finished_exactly(), which
  // the window codec checks; decoding itself always stays in bounds.
  uint8_t decode(const Cdf& prior, RangeDecoder& decoder) override {
    return decoder.decode_symbol(prior);
  }
};

}  // namespace

std::unique_ptr<CodingStage> make_direct_stage() {
  return std::make_unique<DirectStage>();
}

}  // namespace lmz
