#include "cli/listing.h"

#include <fmt/format.h>

#include <map>

#include "cli/progress.h"

namespace lmz::cli {
namespace {

// Counts blocks per codec, always listing the three codecs of format v1.
std::map<std::string, uint64_t> count_codecs(const std::vector<BlockInfo>& blocks) {
  std::map<std::string, uint64_t> counts = {{"neural", 0}, {"stored", 0}, {"zstd", 0}};
  for (const auto& block : blocks) ++counts[block.codec];
  return counts;
}

std::string codecs_json(const std::map<std::string, uint64_t>& counts) {
  std::string out = "{";
  bool first = true;
  for (const auto& [codec, n] : counts) {
    out += fmt::format("{}{}: {}", first ? "" : ", ", json_string(codec), n);
    first = false;
  }
  return out + "}";
}

std::string codecs_text(const std::map<std::string, uint64_t>& counts) {
  std::string out;
  for (const auto& [codec, n] : counts) {
    if (n == 0) continue;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, codec);
  }
  return out.empty() ? "none" : out;
}

// A finite JSON number, or null when the divisor is 0.
std::string json_ratio(double numerator, double denominator) {
  if (denominator == 0) return "null";
  return fmt::format("{:.6f}", numerator / denominator);
}

}  // namespace

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        // Control characters are escaped; bytes >= 0x80 are passed through
        // (file names are UTF-8 on any sane system) except that invalid
        // UTF-8 is not checked: JSON consumers may reject such names.
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string info_text(const std::string& name, const ArchiveInfo& info, int verbosity) {
  std::vector<BlockInfo> all_blocks;
  for (const auto& m : info.members)
    all_blocks.insert(all_blocks.end(), m.blocks.begin(), m.blocks.end());
  std::string out = fmt::format("{}\n", name);
  std::string ratio =
      info.raw_size > 0
          ? fmt::format(
                "{:.2f}% of the original, {:.3f} bits per byte",
                100.0 * static_cast<double>(info.archive_size) / static_cast<double>(info.raw_size),
                8.0 * static_cast<double>(info.archive_size) / static_cast<double>(info.raw_size))
          : std::string("empty data");
  out += fmt::format("  archive:      {} ({} bytes)\n", human_size(info.archive_size),
                     info.archive_size);
  out += fmt::format("  data:         {} ({} bytes)\n", human_size(info.raw_size), info.raw_size);
  out += fmt::format("  ratio:        {}\n", ratio);
  out += fmt::format("  members:      {}\n", info.members.size());
  out += fmt::format("  blocks:       {} ({})\n", all_blocks.size(),
                     codecs_text(count_codecs(all_blocks)));
  for (size_t i = 0; i < info.members.size(); ++i) {
    const MemberInfo& m = info.members[i];
    out += fmt::format(
        "  member {}: offset {}, {} bytes -> {} bytes, format v{}, model {} ({}), stage {}\n", i,
        m.archive_offset, m.archive_size, m.raw_size, m.format_version, m.model_name,
        m.model_hash.hex(), m.stage);
    if (verbosity < 2) continue;
    for (size_t b = 0; b < m.blocks.size(); ++b) {
      const BlockInfo& block = m.blocks[b];
      out += fmt::format(
          "    block {}: data offset {}, {} bytes, {} at archive offset {}, {} "
          "bytes",
          b, block.raw_offset, block.raw_size, block.codec, block.archive_offset, block.frame_size);
      if (block.codec == "neural") {
        out += fmt::format(", {} windows of {} bytes", block.windows, block.window_size);
      }
      out += "\n";
    }
  }
  return out;
}

std::string info_json(const std::string& name, const ArchiveInfo& info) {
  std::vector<BlockInfo> all_blocks;
  std::string members;
  for (const auto& m : info.members) {
    all_blocks.insert(all_blocks.end(), m.blocks.begin(), m.blocks.end());
    std::string blocks;
    for (const auto& b : m.blocks) {
      blocks += fmt::format(
          "{}{{\"raw_offset\": {}, \"archive_offset\": {}, \"raw_size\": {}, \"frame_size\": {}, "
          "\"codec\": {}, \"windows\": {}, \"window_size\": {}}}",
          blocks.empty() ? "" : ", ", b.raw_offset, b.archive_offset, b.raw_size, b.frame_size,
          json_string(b.codec), b.windows, b.window_size);
    }
    members += fmt::format(
        "{}{{\"archive_offset\": {}, \"archive_size\": {}, \"raw_offset\": {}, \"raw_size\": {}, "
        "\"format_version\": {}, \"model\": {{\"name\": {}, \"hash\": {}}}, \"stage\": {}, "
        "\"codecs\": {}, \"blocks\": [{}]}}",
        members.empty() ? "" : ", ", m.archive_offset, m.archive_size, m.raw_offset, m.raw_size,
        m.format_version, json_string(m.model_name), json_string(m.model_hash.hex()), m.stage,
        codecs_json(count_codecs(m.blocks)), blocks);
  }
  return fmt::format(
      "{{\"file\": {}, \"archive_size\": {}, \"raw_size\": {}, \"ratio\": {}, "
      "\"bits_per_byte\": {}, \"blocks\": {}, \"codecs\": {}, \"members\": [{}]}}",
      json_string(name), info.archive_size, info.raw_size,
      json_ratio(static_cast<double>(info.raw_size), static_cast<double>(info.archive_size)),
      json_ratio(8.0 * static_cast<double>(info.archive_size), static_cast<double>(info.raw_size)),
      all_blocks.size(), codecs_json(count_codecs(all_blocks)), members);
}

}  // namespace lmz::cli
