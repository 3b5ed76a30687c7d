// Helpers shared by the codec tests: sample text from the held-out corpora.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>

#include "libcodec/types.h"

namespace lmz::test {

// The corpora folder: $LMZ_CORPORA_DIR, else the one next to the source tree.
inline std::string corpora_dir() {
  const char* env = std::getenv("LMZ_CORPORA_DIR");
  return env != nullptr ? env : LMZ_CORPORA_DIR;
}

// Up to `max_bytes` of heldout/<name>.xz, decompressed with xz; empty when
// the corpus is not available (the caller falls back to generated text).
inline Bytes read_heldout(const std::string& name, size_t max_bytes) {
  const std::string path = corpora_dir() + "/heldout/" + name + ".xz";
  const std::string cmd = "xz -dc '" + path + "' 2>/dev/null";
  Bytes out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  out.resize(max_bytes);
  size_t got = 0;
  while (got < max_bytes) {
    const size_t n = std::fread(out.data() + got, 1, max_bytes - got, pipe);
    if (n == 0) break;
    got += n;
  }
  out.resize(got);
  // Reading stops early on purpose; xz then dies of SIGPIPE, which is fine.
  pclose(pipe);
  return out;
}

// English-like text made of a small vocabulary, deterministic in `seed`.
inline Bytes generated_text(size_t size, uint64_t seed) {
  static const char* const kWords[] = {
      "the",    "of",    "and",      "to",      "in",     "a",     "is",    "that", "for",
      "it",     "as",    "was",      "with",    "be",     "by",    "on",    "not",  "he",
      "this",   "are",   "or",       "his",     "from",   "at",    "which", "but",  "have",
      "an",     "had",   "they",     "you",     "were",   "their", "one",   "all",  "we",
      "window", "model", "compress", "archive", "stream", "byte",  "range", "coder"};
  std::mt19937_64 rng(seed);
  Bytes out;
  while (out.size() < size) {
    std::string w = kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
    if (rng() % 12 == 0) w += ".";
    if (rng() % 15 == 0) w += ",";
    w += (rng() % 20 == 0) ? "\n" : " ";
    out.insert(out.end(), w.begin(), w.end());
  }
  out.resize(size);
  return out;
}

// The first `size` bytes of a file of this source tree (real prose that
// every clone has, for tests whose figures must not depend on whether the
// shared corpora are present).
inline Bytes source_text(const std::string& relative_path, size_t size) {
  std::FILE* f = std::fopen((std::string(LMZ_SOURCE_DIR) + "/" + relative_path).c_str(), "rb");
  Bytes out(size);
  const size_t got = f != nullptr ? std::fread(out.data(), 1, size, f) : 0;
  if (f != nullptr) std::fclose(f);
  if (got != size) throw std::runtime_error("test input " + relative_path + " is too short");
  return out;
}

// Held-out text if available, else generated text.
inline Bytes sample_text(const std::string& name, size_t size, uint64_t seed = 1) {
  Bytes text = read_heldout(name, size);
  if (text.size() < size) text = generated_text(size, seed);
  return text;
}

}  // namespace lmz::test
