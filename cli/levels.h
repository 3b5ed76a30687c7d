// Compression levels: -1 .. -19 name presets of the settings lmz already has
// (model, coding stage, window sizes, zstd level); a level never changes the
// archive format, and an archive made at any level decodes with plain
// `lmz -d`. The table is documented in the man page (man/lmz.md), measured
// in bench/levels.sh, and explicit options (--model, --window-size, ...)
// override the level's values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "format/archive_writer.h"
#include "libcodec/coding_stage.h"

namespace lmz::cli {

struct Options;

inline constexpr int kMinLevel = 1;
inline constexpr int kMaxLevel = 19;

struct LevelPreset {
  int level = 0;
  // "" for no neural coding (zstd or stored blocks only), else the model
  // name: "order2" (built in), "small" or "large" (installed model files).
  std::string_view model;
  bool mixing_stage = true;  // the default mixing stage, else the direct stage
  uint32_t window_size = 16u << 10;
  uint32_t log_window_size = 256u << 10;
  int zstd_level = 19;
  uint32_t block_size = 1u << 20;
};

// The preset of `level` (kMinLevel .. kMaxLevel); throws UsageError otherwise.
const LevelPreset& level_preset(int level);

// What one run compresses with: the explicit options, else the level's
// values, else lmz's defaults (no level: the default model rule of
// spec/MODEL.md, the default stage, 16 KiB / 256 KiB windows, zstd 19).
struct CodecSettings {
  std::string model;                 // empty: the default model rule
  std::string log_model = "order2";  // "same": the model codes logs too (-e)
  StageId stage = 0;
  StageId log_stage = 0;  // always the mixing stage (BackendOptions::log_stage)
  WriterOptions writer;
};

// Resolves the settings of `opts` (levels, -e, --model, --window-size, ...).
CodecSettings resolve_settings(const Options& opts);

// One line per level for --help and the man page.
std::string level_table_text();

}  // namespace lmz::cli
