#include "cli/levels.h"

#include <fmt/format.h>

#include <array>

#include "cli/options.h"
#include "libcodec/errors.h"

namespace lmz::cli {
namespace {

constexpr uint32_t K = 1024;

// Ordered by ratio and by cost: zstd only (1-3), the built-in order-2 model
// with the mixing stage (4-7: logs nearly at the neural models' size at a
// fraction of their cost; on prose it needs windows of 64 KiB and more to
// beat zstd -19, bench/results/mixing-ablation.md), the CPU model `small`
// (8-14), the GPU model `large` (15-19). Longer prose windows compress better and make --range
// coarser. Blocks the classifier finds log-like are coded with order2 and
// the mixing stage at every neural level unless -e.
// clang-format off
constexpr std::array<LevelPreset, kMaxLevel> kLevels = {{
    // level, model, mixing stage, prose window, log window, zstd level, block
    {1, "", true, 16 * K, 256 * K, 3},
    {2, "", true, 16 * K, 256 * K, 9},
    {3, "", true, 16 * K, 256 * K, 19},
    {4, "order2", true, 64 * K, 256 * K, 19},
    {5, "order2", true, 256 * K, 256 * K, 19},
    {6, "order2", true, 1024 * K, 1024 * K, 19},
    {7, "order2", true, 4096 * K, 4096 * K, 19, 4096 * K},
    {8, "small", false, 16 * K, 256 * K, 19},
    {9, "small", false, 64 * K, 256 * K, 19},
    {10, "small", true, 16 * K, 256 * K, 19},
    {11, "small", true, 32 * K, 256 * K, 19},
    {12, "small", true, 64 * K, 256 * K, 19},
    {13, "small", true, 256 * K, 256 * K, 19},
    {14, "small", true, 1024 * K, 1024 * K, 19},
    {15, "large", false, 16 * K, 256 * K, 19},
    {16, "large", true, 16 * K, 256 * K, 19},
    {17, "large", true, 64 * K, 256 * K, 19},
    {18, "large", true, 256 * K, 256 * K, 19},
    {19, "large", true, 1024 * K, 1024 * K, 19},
}};
// clang-format on

std::string size_text(uint32_t bytes) {
  return bytes % (1024 * K) == 0 ? fmt::format("{}M", bytes / (1024 * K))
                                 : fmt::format("{}K", bytes / K);
}

}  // namespace

const LevelPreset& level_preset(int level) {
  if (level < kMinLevel || level > kMaxLevel) {
    throw UsageError(
        fmt::format("compression levels are -{} to -{}, got -{}", kMinLevel, kMaxLevel, level));
  }
  return kLevels[static_cast<size_t>(level - kMinLevel)];
}

CodecSettings resolve_settings(const Options& opts) {
  CodecSettings s;
  s.stage = default_stage();
  s.log_stage = default_stage();
  if (opts.level) {
    const LevelPreset& p = level_preset(*opts.level);
    if (p.model.empty()) {
      s.writer.allow_neural = false;
    } else {
      s.model = std::string(p.model);
    }
    s.stage = p.mixing_stage ? default_stage() : kDirectStage;
    s.writer.window_size = p.window_size;
    s.writer.log_window_size = p.log_window_size;
    s.writer.zstd_level = p.zstd_level;
    s.writer.block_size = p.block_size;
  }
  if (opts.extreme) s.log_model = "same";
  if (!opts.model.empty()) s.model = opts.model;
  if (opts.log_model) s.log_model = *opts.log_model;
  if (opts.no_neural) s.writer.allow_neural = false;
  if (opts.block_size) s.writer.block_size = *opts.block_size;
  if (opts.window_size) s.writer.window_size = *opts.window_size;
  if (opts.log_window_size) s.writer.log_window_size = *opts.log_window_size;
  if (opts.zstd_level) s.writer.zstd_level = *opts.zstd_level;
  // A window never exceeds its block (the writer clamps it too); a level's
  // 1 MiB windows with a smaller --block-size are simply whole blocks.
  s.writer.window_size = std::min(s.writer.window_size, s.writer.block_size);
  s.writer.log_window_size = std::min(s.writer.log_window_size, s.writer.block_size);
  // With -T the writer runs zstd and the log codec after the main codec
  // instead of beside it, so that no more than N threads code at once.
  s.writer.parallel_codecs = opts.threads == 0;
  return s;
}

std::string level_table_text() {
  std::string out;
  for (const LevelPreset& p : kLevels) {
    std::string what = p.model.empty()
                           ? fmt::format("zstd -{} for every block (no model)", p.zstd_level)
                           : fmt::format("model {}, {} stage, windows {} (prose) / {} (logs)",
                                         p.model, p.mixing_stage ? "mixing" : "direct",
                                         size_text(p.window_size), size_text(p.log_window_size));
    out += fmt::format("  -{:<3} {}\n", p.level, what);
  }
  return out;
}

}  // namespace lmz::cli
