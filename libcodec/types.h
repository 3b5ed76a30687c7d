// Basic vocabulary shared by every part of lmz: byte buffers, the 128-bit
// model hash, and the fixed total of every integer frequency table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmz {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

// Every frequency table in lmz sums to exactly kCdfTotal and gives every
// symbol a frequency of at least 1 (see spec/MODEL.md).
inline constexpr int kCdfBits = 16;
inline constexpr uint32_t kCdfTotal = uint32_t{1} << kCdfBits;

// Cumulative frequency table over the 256 byte values:
// cdf[0] == 0, cdf[256] == kCdfTotal, cdf[s + 1] - cdf[s] >= 1 for every s.
// The frequency of byte s is cdf[s + 1] - cdf[s].
using Cdf = std::array<uint32_t, 257>;

// A 128-bit content hash (XXH3-128). Identifies a model exactly.
struct Hash128 {
  uint64_t high = 0;
  uint64_t low = 0;

  friend bool operator==(const Hash128&, const Hash128&) = default;
  // 32 lowercase hex digits, high word first.
  std::string hex() const;
};

// Identifies the model that drives the neural codec: a human-readable name
// (for messages) and the hash that an archive records.
struct ModelId {
  std::string name;
  Hash128 hash;
};

}  // namespace lmz
