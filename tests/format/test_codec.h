// Test-only window codec and helpers for the container tests.
//
// DictWindowCodec is a trivially correct WindowCodec: each window is one
// zstd frame compressed against a fixed dictionary (its "model"). Because
// the dictionary is the text the tests draw from, it beats zstd on a whole
// block without it, so the writer picks the neural path, which is what the
// format tests need to cover. It can also be told to decode wrong bytes, to
// stand for a model that breaks the exactness contract.
#pragma once

#include <zstd.h>

#include <random>
#include <string>

#include "format/archive_reader.h"
#include "libcodec/errors.h"
#include "libcodec/hash.h"
#include "libcodec/window_codec.h"

namespace lmz::test {

// Deterministic pseudo-English made of a few hundred pseudo-words.
inline Bytes dictionary_text(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> words;
  for (int i = 0; i < 300; ++i) {
    std::string w;
    size_t len = 2 + rng() % 8;
    for (size_t k = 0; k < len; ++k) w += static_cast<char>('a' + rng() % 26);
    words.push_back(w);
  }
  Bytes out;
  while (out.size() < size) {
    const std::string& w = words[rng() % words.size()];
    out.insert(out.end(), w.begin(), w.end());
    out.push_back(rng() % 11 == 0 ? '\n' : ' ');
  }
  out.resize(size);
  return out;
}

// The dictionary: 16 KiB of the text above with seed 1.
inline const Bytes& test_dictionary() {
  static const Bytes dict = dictionary_text(16 << 10, 1);
  return dict;
}

// Text the dictionary codec compresses well: slices of the dictionary.
inline Bytes text_from_dictionary(size_t size, uint64_t seed) {
  const Bytes& dict = test_dictionary();
  std::mt19937_64 rng(seed);
  Bytes out;
  while (out.size() < size) {
    size_t len = 50 + rng() % 400;
    size_t start = rng() % (dict.size() - len);
    out.insert(out.end(), dict.begin() + start, dict.begin() + start + len);
  }
  out.resize(size);
  return out;
}

inline Bytes random_bytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

class DictWindowCodec final : public WindowCodec {
 public:
  DictWindowCodec() {
    id_.name = "test-dict";
    id_.hash = xxh3_128(test_dictionary());
    cdict_ = ZSTD_createCDict(test_dictionary().data(), test_dictionary().size(), 9);
    ddict_ = ZSTD_createDDict(test_dictionary().data(), test_dictionary().size());
  }
  ~DictWindowCodec() override {
    ZSTD_freeCDict(cdict_);
    ZSTD_freeDDict(ddict_);
  }
  DictWindowCodec(const DictWindowCodec&) = delete;
  DictWindowCodec& operator=(const DictWindowCodec&) = delete;

  const ModelId& model() const override { return id_; }
  StageId stage() const override { return kDirectStage; }

  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    std::vector<Bytes> out;
    ZSTD_CCtx* ctx = ZSTD_createCCtx();
    for (ByteView w : windows) {
      Bytes coded(ZSTD_compressBound(w.size()));
      size_t n =
          ZSTD_compress_usingCDict(ctx, coded.data(), coded.size(), w.data(), w.size(), cdict_);
      if (ZSTD_isError(n)) throw Error("test codec: zstd failed");
      coded.resize(n);
      out.push_back(std::move(coded));
    }
    ZSTD_freeCCtx(ctx);
    return out;
  }

  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override {
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    for (size_t i = 0; i < windows.size(); ++i) {
      size_t n =
          ZSTD_decompress_usingDDict(ctx, out[i].data(), out[i].size(), windows[i].coded.data(),
                                     windows[i].coded.size(), ddict_);
      if (ZSTD_isError(n) || n != windows[i].raw_size) {
        ZSTD_freeDCtx(ctx);
        throw CorruptInput("window " + std::to_string(i) + ": not a valid coding");
      }
      if (corrupt_decode_ && !out[i].empty()) out[i][0] ^= 1;
    }
    ZSTD_freeDCtx(ctx);
  }

  // Makes decode() return wrong bytes (a model that breaks exactness).
  void set_corrupt_decode(bool corrupt) { corrupt_decode_ = corrupt; }

 private:
  ModelId id_;
  ZSTD_CDict* cdict_ = nullptr;
  ZSTD_DDict* ddict_ = nullptr;
  bool corrupt_decode_ = false;
};

// A resolver that knows one codec and refuses every other model.
inline CodecResolver resolver_for(WindowCodec& codec) {
  return [&codec](const Hash128& hash, const std::string& name, StageId stage) -> WindowCodec& {
    if (hash != codec.model().hash || stage != codec.stage()) {
      throw ModelMismatch("archive needs model '" + name + "' (" + hash.hex() + "), only '" +
                          codec.model().name + "' is available");
    }
    return codec;
  };
}

}  // namespace lmz::test
