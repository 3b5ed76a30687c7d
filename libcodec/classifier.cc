#include "libcodec/classifier.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace lmz {
namespace {

// Length of the UTF-8 sequence that starts with `lead`, or 0 if `lead`
// cannot start one.
size_t utf8_length(uint8_t lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

bool is_text_control(uint8_t c) {
  return c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x1B;
}

// Merges neighbouring runs of the same kind in place.
void merge_runs(std::vector<ContentRun>& runs) {
  std::vector<ContentRun> merged;
  for (const ContentRun& r : runs) {
    if (!merged.empty() && merged.back().text == r.text) {
      merged.back().size += r.size;
    } else {
      merged.push_back(r);
    }
  }
  runs = std::move(merged);
}

// The shape of a line's start: digits become '0', letters 'a', other bytes
// stay. Log lines share it (timestamps, levels); prose lines rarely do.
std::array<uint8_t, 8> line_shape(ByteView line) {
  std::array<uint8_t, 8> shape{};
  for (size_t i = 0; i < shape.size() && i < line.size(); ++i) {
    uint8_t c = line[i];
    if (c >= '0' && c <= '9') {
      c = '0';
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      c = 'a';
    }
    shape[i] = c;
  }
  return shape;
}

}  // namespace

bool looks_like_text(ByteView chunk) {
  size_t bad = 0;
  size_t i = 0;
  while (i < chunk.size()) {
    uint8_t c = chunk[i];
    if ((c >= 0x20 && c < 0x7F) || is_text_control(c)) {
      ++i;
      continue;
    }
    if (c < 0x80) {  // other control bytes and DEL
      ++bad;
      ++i;
      continue;
    }
    size_t n = utf8_length(c);
    if (n == 0) {
      ++bad;
      ++i;
      continue;
    }
    size_t k = 1;
    while (k < n && i + k < chunk.size() && (chunk[i + k] & 0xC0) == 0x80) ++k;
    // A sequence cut by the end of the chunk is not held against it.
    if (k < n && i + k < chunk.size()) ++bad;
    i += k;
  }
  return bad * 10 <= chunk.size();
}

std::vector<ContentRun> split_into_runs(ByteView data, const ClassifierOptions& options) {
  std::vector<ContentRun> runs;
  size_t chunk = std::max<size_t>(options.chunk_size, 1);
  for (size_t off = 0; off < data.size(); off += chunk) {
    size_t n = std::min(chunk, data.size() - off);
    runs.push_back(ContentRun{off, n, looks_like_text(data.subspan(off, n))});
  }
  merge_runs(runs);
  // Short binary islands inside text join the text when they are shorter
  // than the text around them (tar headers between text members). Decided
  // on the runs as found, so alternating short stretches of both kinds (a
  // binary file with text-like chunks) stay binary.
  std::vector<bool> flip(runs.size(), false);
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].text || runs[i].size >= options.min_binary_run || runs.size() == 1) continue;
    size_t left = i > 0 ? runs[i - 1].size : SIZE_MAX;
    size_t right = i + 1 < runs.size() ? runs[i + 1].size : SIZE_MAX;
    flip[i] = runs[i].size < std::min(left, right);
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    if (flip[i]) runs[i].text = true;
  }
  merge_runs(runs);
  // Text stretches too short to be worth a block of their own join the
  // binary around them (the strings of an executable).
  for (ContentRun& r : runs) {
    if (r.text && r.size < options.min_text_run && runs.size() > 1) r.text = false;
  }
  merge_runs(runs);
  return runs;
}

TextKind classify_text(ByteView text) {
  size_t lines = 0;
  size_t same_shape = 0;
  std::array<uint8_t, 8> previous{};
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') continue;
    auto shape = line_shape(text.subspan(start, i - start));
    if (lines > 0 && shape == previous) ++same_shape;
    previous = shape;
    ++lines;
    start = i + 1;
  }
  // Log-like: at least 8 lines, short on average (< 400 bytes), and most
  // consecutive lines start with the same shape.
  if (lines < 8 || text.size() / lines >= 400) return TextKind::kProse;
  return same_shape * 2 >= lines - 1 ? TextKind::kLog : TextKind::kProse;
}

}  // namespace lmz
