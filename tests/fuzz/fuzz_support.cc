#include "tests/fuzz/fuzz_support.h"

#include <algorithm>
#include <memory>
#include <string>

#include "format/layout.h"
#include "libcodec/cm/cm_stage.h"
#include "libcodec/errors.h"
#include "libcodec/hash.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace lmz::fuzz {
namespace {

struct Order2Codecs {
  std::unique_ptr<Predictor> model = make_order2_model();
  // One thread: the helper threads of a wider codec would only add noise to
  // the coverage libFuzzer sees, and an execution decodes a few KiB at most.
  std::unique_ptr<WindowCodec> direct = make_local_window_codec(*model, kDirectStage, 1);
  std::unique_ptr<WindowCodec> mixing = make_local_window_codec(*model, kMixStageV1, 1);
};

Order2Codecs& codecs() {
  static Order2Codecs* c = new Order2Codecs;  // never destroyed: used until exit
  return *c;
}

void put32(Bytes& a, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) a[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(Bytes& a, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) a[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t check_of(const Bytes& a, size_t from, size_t to) {
  return xxh3_64(ByteView(a).subspan(from, to - from));
}
bool has_magic(const Bytes& a, size_t at, const std::array<uint8_t, 4>& magic) {
  return a.size() - at >= 4 &&
         std::equal(magic.begin(), magic.end(), a.begin() + static_cast<ptrdiff_t>(at));
}

// Fixes one member's checks starting at `at`; returns where the next member
// starts, or 0 when the structure did not fit (nothing more to fix).
size_t fix_member(Bytes& a, size_t at) {
  using namespace format;
  if (!has_magic(a, at, kHeaderMagic) || a.size() - at < kHeaderFixedSize) return 0;
  const size_t header_size = kHeaderFixedSize + get_u16(&a[at + 32]) + kCheckSize;
  if (a.size() - at < header_size) return 0;
  const uint32_t block_size = get_u32(&a[at + 24]);
  if (block_size > kFuzzMaxBlockSize) put32(a, at + 24, block_size % kFuzzMaxBlockSize + 1);
  put64(a, at + header_size - kCheckSize, check_of(a, at, at + header_size - kCheckSize));

  size_t p = at + header_size;
  while (p < a.size() && a[p] != kEndOfBlocksTag) {
    if (a.size() - p < kFrameFixedSize + kCheckSize) return 0;
    const uint32_t payload_size = get_u32(&a[p + 8]);
    size_t table = 0;
    if (a[p] == static_cast<uint8_t>(Codec::kNeural)) {
      if (a.size() - p < kFrameFixedSize + 4) return 0;
      table = kWindowTableFixedSize + kWindowEntrySize * uint64_t{get_u32(&a[p + kFrameFixedSize])};
    }
    const size_t check_at = p + kFrameFixedSize + table;
    if (table > a.size() || a.size() - p < kFrameFixedSize + table + kCheckSize + payload_size) {
      return 0;
    }
    const size_t payload_at = check_at + kCheckSize;
    ByteView payload = ByteView(a).subspan(payload_at, payload_size);
    if (a[p] == static_cast<uint8_t>(Codec::kStored)) put64(a, p + 12, xxh3_64(payload));
    put64(a, p + 20, xxh3_64(payload));
    put64(a, check_at, check_of(a, p, check_at));
    p = payload_at + payload_size;
  }
  if (a.size() - p < kEndMarkerSize) return 0;
  p += kEndMarkerSize;
  if (!has_magic(a, p, kIndexMagic) || a.size() - p < kIndexFixedSize) return 0;
  const uint64_t index_bytes = index_size(get_u32(&a[p + 4]));
  if (a.size() - p < index_bytes) return 0;
  put64(a, p + index_bytes - kCheckSize, check_of(a, p, p + index_bytes - kCheckSize));
  p += index_bytes;
  if (a.size() - p < kFooterSize) return 0;
  put64(a, p + kFooterSize - kCheckSize, check_of(a, p, p + kFooterSize - kCheckSize));
  return p + kFooterSize;
}

}  // namespace

WindowCodec& order2_codec(StageId stage) {
  if (stage == kDirectStage) return *codecs().direct;
  if (stage == kMixStageV1) return *codecs().mixing;
  throw UsageError("fuzz: no order2 codec for stage " + std::to_string(stage));
}

const CodecResolver& order2_resolver() {
  static const CodecResolver resolve = [](const Hash128& hash, const std::string& name,
                                          StageId stage) -> WindowCodec& {
    WindowCodec& codec = *codecs().direct;
    if (hash != codec.model().hash || (stage != kDirectStage && stage != kMixStageV1)) {
      throw ModelMismatch("fuzz: archive needs model '" + name + "' (" + hash.hex() +
                          ") with stage " + std::to_string(stage));
    }
    return order2_codec(stage);
  };
  return resolve;
}

void fix_archive_checks(Bytes& archive) {
  size_t at = 0;
  while (at < archive.size()) {
    at = fix_member(archive, at);
    if (at == 0) return;
  }
}

Cdf table_from_weights(const uint8_t weights[32]) {
  uint64_t weight[32];
  uint64_t total = 0;
  for (int i = 0; i < 32; ++i) {
    const uint8_t b = weights[i];
    weight[i] = b <= 200 ? b : uint64_t{1} << std::min(b - 200 + 8, 38);
    total += weight[i];
  }
  Cdf cdf{};
  const uint32_t spare = kCdfTotal - 256;
  uint32_t given = 0;
  for (size_t s = 0; s < 256; ++s) {
    const uint32_t extra =
        total == 0 ? 0 : static_cast<uint32_t>(spare * weight[s / 8] / (8 * total));
    given += extra;
    cdf[s + 1] = cdf[s] + 1 + extra;
  }
  cdf[256] += spare - given;  // rounding leftovers go to the last symbol
  return cdf;
}

uint32_t take_u32(const uint8_t*& data, size_t& size) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{take_u8(data, size)} << (8 * i);
  return v;
}

uint8_t take_u8(const uint8_t*& data, size_t& size) {
  if (size == 0) return 0;
  --size;
  return *data++;
}

}  // namespace lmz::fuzz
