// The checksums and content hashes lmz stores: XXH3-64 and XXH3-128 (seed 0).
#pragma once

#include <cstdint>

#include "libcodec/types.h"

namespace lmz {

uint64_t xxh3_64(ByteView bytes);
Hash128 xxh3_128(ByteView bytes);

// Incremental XXH3-128, for hashing a model file as it is read.
class Xxh3_128Stream {
 public:
  Xxh3_128Stream();
  ~Xxh3_128Stream();
  Xxh3_128Stream(const Xxh3_128Stream&) = delete;
  Xxh3_128Stream& operator=(const Xxh3_128Stream&) = delete;
  void update(ByteView bytes);
  Hash128 digest() const;

 private:
  void* state_;  // XXH3_state_t, kept out of this header
};

}  // namespace lmz
