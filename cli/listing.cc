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
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, escape_for_terminal(codec));
  }
  return out.empty() ? "none" : out;
}

// A finite JSON number, or null when the divisor is 0.
std::string json_ratio(double numerator, double denominator) {
  if (denominator == 0) return "null";
  return fmt::format("{:.6f}", numerator / denominator);
}

// The length of the valid UTF-8 sequence at text[i], or 0 when the bytes
// there are not one (overlong forms, surrogates and values past U+10FFFF
// are invalid).
size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

}  // namespace

std::string plural(uint64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string escape_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = utf8_sequence_length(text, i);
    bool c1 = n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if (n == 0 || c1) {
      // An invalid byte, or a C1 control: each byte shown.
      size_t bytes = n == 0 ? 1 : n;
      for (size_t k = 0; k < bytes; ++k) {
        out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i + k]));
      }
      i += bytes;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else if (c == '\\') {
      out += "\\\\";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
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
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out + "\"";
}

std::string info_text(const std::string& name, const ArchiveInfo& info, int verbosity) {
  std::vector<BlockInfo> all_blocks;
  for (const auto& m : info.members)
    all_blocks.insert(all_blocks.end(), m.blocks.begin(), m.blocks.end());
  std::string out = fmt::format("{}\n", escape_for_terminal(name));
  std::string ratio =
      info.raw_size > 0
          ? fmt::format(
                "{:.2f}% of the original, {:.3f} bits per byte",
                100.0 * static_cast<double>(info.archive_size) / static_cast<double>(info.raw_size),
                8.0 * static_cast<double>(info.archive_size) / static_cast<double>(info.raw_size))
          : std::string("empty data");
  out += fmt::format("  archive:      {} ({})\n", human_size(info.archive_size),
                     plural(info.archive_size, "byte", "bytes"));
  out += fmt::format("  data:         {} ({})\n", human_size(info.raw_size),
                     plural(info.raw_size, "byte", "bytes"));
  out += fmt::format("  ratio:        {}\n", ratio);
  out += fmt::format("  members:      {}\n", info.members.size());
  out += fmt::format("  blocks:       {} ({})\n", all_blocks.size(),
                     codecs_text(count_codecs(all_blocks)));
  for (size_t i = 0; i < info.members.size(); ++i) {
    const MemberInfo& m = info.members[i];
    out += fmt::format("  member {}: offset {}, {} -> {}, format v{}, model {} ({}), stage {}\n", i,
                       m.archive_offset, plural(m.archive_size, "byte", "bytes"),
                       plural(m.raw_size, "byte", "bytes"), m.format_version,
                       escape_for_terminal(m.model_name), m.model_hash.hex(), m.stage);
    if (verbosity >= 2) {
      std::map<std::string, uint64_t> content;
      uint64_t windows = 0;
      for (const BlockInfo& block : m.blocks) {
        ++content[block.content.empty() ? std::string("unknown") : block.content];
        windows += block.windows;
      }
      std::string kinds;
      for (const auto& [kind, n] : content) {
        kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", n, escape_for_terminal(kind));
      }
      out += fmt::format("    {} ({}; {}), {}\n", plural(m.blocks.size(), "block", "blocks"),
                         codecs_text(count_codecs(m.blocks)), kinds.empty() ? "none" : kinds,
                         plural(windows, "neural window", "neural windows"));
    }
    if (verbosity < 3) continue;
    for (size_t b = 0; b < m.blocks.size(); ++b) {
      const BlockInfo& block = m.blocks[b];
      out += fmt::format("    block {}: data offset {}, {}, {} {} at archive offset {}, {}", b,
                         block.raw_offset, plural(block.raw_size, "byte", "bytes"),
                         escape_for_terminal(block.content), escape_for_terminal(block.codec),
                         block.archive_offset, plural(block.frame_size, "byte", "bytes"));
      if (block.codec == "neural") {
        out += fmt::format(", {} of {}", plural(block.windows, "window", "windows"),
                           plural(block.window_size, "byte", "bytes"));
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
          "\"codec\": {}, \"content\": {}, \"windows\": {}, \"window_size\": {}}}",
          blocks.empty() ? "" : ", ", b.raw_offset, b.archive_offset, b.raw_size, b.frame_size,
          json_string(b.codec), json_string(b.content), b.windows, b.window_size);
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
      "{{\"schema\": {}, \"file\": {}, \"archive_size\": {}, \"raw_size\": {}, \"ratio\": {}, "
      "\"bits_per_byte\": {}, \"blocks\": {}, \"codecs\": {}, \"members\": [{}]}}",
      kInfoJsonSchema, json_string(name), info.archive_size, info.raw_size,
      json_ratio(static_cast<double>(info.raw_size), static_cast<double>(info.archive_size)),
      json_ratio(8.0 * static_cast<double>(info.archive_size), static_cast<double>(info.raw_size)),
      all_blocks.size(), codecs_json(count_codecs(all_blocks)), members);
}

}  // namespace lmz::cli
