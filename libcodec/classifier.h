// The content classifier: decides which bytes are text (coded by the neural
// codec) and which are binary (zstd or stored), and whether a text block is
// prose or line-structured, log-like text (which may get longer windows).
//
// Heuristics only: a wrong guess costs compression, never correctness,
// because the writer still compares codecs on the result and falls back to
// zstd or stored (spec/FORMAT.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "libcodec/types.h"

namespace lmz {

enum class TextKind : uint8_t {
  kProse,  // running text, markup, source code
  kLog,    // many short lines that share a shape (timestamps, fields)
};

struct ClassifierOptions {
  // Data is judged in chunks of this many bytes; runs start and end on
  // chunk boundaries.
  size_t chunk_size = 512;
  // Binary stretches shorter than this, and shorter than the text on each
  // side, stay with the text (a tar header between two text members costs
  // the neural codec little).
  size_t min_binary_run = 2048;
  // Text stretches shorter than this inside binary data stay binary (the
  // strings of an executable are not worth a block of their own).
  size_t min_text_run = 8192;
};

// A maximal stretch of one kind of data.
struct ContentRun {
  size_t offset = 0;
  size_t size = 0;
  bool text = false;
};

// True when `chunk` looks like text: printable ASCII, whitespace, ESC and
// well-formed UTF-8, with at most 1/10 of its bytes outside that (so text
// in Latin-1 or with a few control bytes still counts).
bool looks_like_text(ByteView chunk);

// Splits `data` into alternating text and binary runs that cover it in
// order (empty data gives no runs). Neighbouring runs always differ in kind.
std::vector<ContentRun> split_into_runs(ByteView data, const ClassifierOptions& options = {});

// Prose or log-like, for text already judged to be text.
TextKind classify_text(ByteView text);

}  // namespace lmz
