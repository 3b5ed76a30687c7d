#include "libcodec/cm/cm_stage.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "libcodec/errors.h"
#include "libcodec/range_coder.h"

namespace lmz {
namespace {

struct FreeArena {
  void operator()(uint8_t* p) const { std::free(p); }
};
using Arena = std::unique_ptr<uint8_t[], FreeArena>;

// 64-byte aligned (the cores need 16), uninitialised.
Arena allocate_arena(size_t bytes) {
  const size_t rounded = (std::max<size_t>(bytes, 1) + 63) & ~size_t{63};
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  return Arena(static_cast<uint8_t*>(p));
}

// The per-bit functions of one stage's core (stage_core.h), bound at
// compile time so the CPU's loop calls them directly.
struct Mix1Core {
  static void set_prior(uint8_t* arena, const uint32_t* cdf) { cm::mix1_set_prior(arena, cdf); }
  static uint32_t p16(uint8_t* arena, const cm::StageTables& t, const uint8_t* history) {
    return cm::mix1_p16(arena, t, history);
  }
  static void update(uint8_t* arena, const cm::StageTables& t, const uint8_t* history, int bit) {
    cm::mix1_update(arena, t, history, bit);
  }
};

// One window's stage on the CPU: a stage's core over an arena, and the
// window's bytes so far (the core's history).
template <typename Core>
class CmStage final : public CodingStage {
 public:
  // A fresh stage of `arena_bytes` bytes of arena, which `init` writes.
  template <typename Init>
  CmStage(size_t window_size, size_t arena_bytes, Init init)
      : arena_bytes_(arena_bytes), arena_(allocate_arena(arena_bytes_)) {
    init(arena_.get());
    // The history grows as bytes arrive; reserve at most 16 MiB up front so
    // a bogus size cannot allocate without bound before any byte is decoded.
    history_.reserve(std::min<size_t>(window_size, size_t{1} << 24));
  }

  void encode(const Cdf& prior, uint8_t byte, RangeEncoder& encoder) override {
    // The byte goes into the history first: the core reads it only in the
    // update of its last bit (mix1_core.h, "history contract").
    history_.push_back(byte);
    const uint8_t* history = history_.data();
    uint8_t* arena = arena_.get();
    Core::set_prior(arena, prior.data());
    for (int k = 7; k >= 0; --k) {
      const int bit = (byte >> k) & 1;
      encoder.encode_bit(Core::p16(arena, t_, history), bit);
      Core::update(arena, t_, history, bit);
    }
  }

  uint8_t decode(const Cdf& prior, RangeDecoder& decoder) override {
    uint8_t* arena = arena_.get();
    Core::set_prior(arena, prior.data());
    uint32_t c = 0;
    for (int k = 0; k < 8; ++k) {
      const int bit = decoder.decode_bit(Core::p16(arena, t_, history_.data()));
      c = (c << 1) | static_cast<uint32_t>(bit);
      if (k == 7) history_.push_back(static_cast<uint8_t>(c));  // before the last update
      Core::update(arena, t_, history_.data(), bit);
    }
    return static_cast<uint8_t>(c);
  }

  size_t memory_bytes() const { return arena_bytes_ + history_.capacity() + sizeof(*this); }

 private:
  const cm::StageTables& t_ = cm::stage_tables();
  size_t arena_bytes_;
  Arena arena_;
  std::vector<uint8_t> history_;
};

void check_id(StageId id) {
  if (!is_cm_stage(id)) {
    throw UsageError("unknown context-mixing stage id " + std::to_string(id) +
                     " (this lmz knows stage " + std::to_string(kMixStageV1) + ")");
  }
}

}  // namespace

bool is_cm_stage(StageId id) {
  return cm::stage_core_known(id);
}

std::unique_ptr<CodingStage> make_cm_stage(StageId id, size_t window_size) {
  check_id(id);
  return make_cm_stage(cm::Mix1Config{}, window_size);
}

std::unique_ptr<CodingStage> make_cm_stage(const cm::Mix1Config& config, size_t window_size) {
  return std::make_unique<CmStage<Mix1Core>>(
      window_size, cm::mix1_arena_bytes(window_size, config),
      [&](uint8_t* arena) { cm::mix1_init_part(arena, window_size, config, 0, 1); });
}

size_t cm_stage_memory_bytes(StageId id, size_t window_size) {
  check_id(id);
  return CmStage<Mix1Core>(window_size, cm::mix1_arena_bytes(window_size),
                           [&](uint8_t* arena) { cm::mix1_init_part(arena, window_size, 0, 1); })
      .memory_bytes();
}

}  // namespace lmz
